// `npm run bench` runs the compiled benchmarks in plain node, outside
// vitest. A bench module that pulls in a vitest-only test helper dies at
// import ("Vitest failed to access its internal state"), so every module the
// bench runner imports is loaded here the way the runner loads it.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const benchDir = path.resolve('dist/bench');
// run.js starts the benchmarks when imported; the worker script expects workerData.
const entryScripts = new Set(['run.js', 'syslog-store-worker.js']);
const modules = readdirSync(benchDir).filter((name) => name.endsWith('.js') && !entryScripts.has(name));

describe('npm run bench', () => {
  it('finds the compiled bench modules (npm test builds them first)', () => {
    expect(modules).toContain('monitor.js');
    expect(modules).toContain('influx.js');
  });

  it.each(modules)('loads dist/bench/%s in plain node, without vitest', (name) => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(pathToFileURL(path.join(benchDir, name)).href)})`], { encoding: 'utf8', env: { ...process.env, VITEST: '', VITEST_WORKER_ID: '' } });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
