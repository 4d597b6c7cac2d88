// `egov-ops dashboards export` from the built CLI: what it writes, --json,
// and its refusals with their exit codes (2 bad input, 4 conflict).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = path.resolve('dist/egov-ops/main.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-dash-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [cli, '--data-dir', path.join(dir, 'data'), ...args], { encoding: 'utf8' });

describe('egov-ops dashboards export', () => {
  it('writes the dashboards and provisioning files, and refuses a bad language or a non-empty directory clearly', () => {
    const out = path.join(dir, 'grafana');
    const first = run('--json', 'dashboards', 'export', '--out', out, '--lang', 'zh');
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ lang: 'zh', datasourceUid: 'egov-ops-influxdb' });
    expect(readdirSync(path.join(out, 'dashboards')).sort()).toEqual(['agent-health.json', 'backups.json', 'certificate-authority.json', 'device-detail.json', 'link-utilisation.json', 'network-overview.json', 'syslog-volume.json']);
    const again = run('dashboards', 'export', '--out', out);
    expect(again.status).toBe(4);
    expect(again.stderr).toMatch(/is not empty.*--force/);
    expect(run('dashboards', 'export', '--out', out, '--force').status).toBe(0);
    const lang = run('dashboards', 'export', '--out', path.join(dir, 'other'), '--lang', 'fr');
    expect(lang.status).toBe(2);
    expect(lang.stderr).toMatch(/--lang must be zh or en \(got "fr"\)/);
    const uid = run('dashboards', 'export', '--out', path.join(dir, 'other'), '--datasource-uid', 'bad uid!');
    expect(uid.status).toBe(2);
    expect(uid.stderr).toMatch(/--datasource-uid must be/);
  });
});
