// `egov-ops agent --config FILE`: the file reaches the agent command (the
// program's global --config, the suite's config file, used to take it and
// the command refused with "required option '--config <file>' not specified").

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const cli = path.resolve('dist/egov-ops/main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, EGOV_OPS_CONFIG: '' } });

describe('egov-ops agent --config', () => {
  it('reads the agent config named after the command', () => {
    const result = run('agent', '--config', '/nonexistent-egov/agent.yaml');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('agent config /nonexistent-egov/agent.yaml cannot be read');
    expect(result.stderr).not.toContain('required option');
  });

  it('still says so when no config is given', () => {
    const result = run('agent');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("required option '--config <file>' not specified");
  });
});
