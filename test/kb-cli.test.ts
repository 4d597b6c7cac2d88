// `egov-ops kb ...` from the built CLI: add, show, list, search (with --json),
// import (a directory, the starter set), export, the review steps, and the
// refusals with their exit codes (2 bad input, 3 not found, 4 refused).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const cli = path.resolve('dist/egov-ops/main.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-kb-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [cli, '--data-dir', path.join(dir, 'data'), ...args], { encoding: 'utf8' });

describe('egov-ops kb', () => {
  it('adds, shows, searches, imports, exports, reviews and refuses clearly', () => {
    const file = path.join(dir, 'ntp.md');
    writeFileSync(
      file,
      ['---', 'id: county-ntp', 'title: { en: County clock drift, zh: 县级时钟漂移 }', 'appliesTo: { rules: [syslog-pattern], logPatterns: ["NTP.*unsynchroni[sz]ed"] }', 'tags: [ntp]', '---', '## Symptoms', 'Log times are off.', '## 现象', '日志时间不准。', '## Resolution', '1. Check the NTP server.', ''].join('\n'),
    );
    const added = run('--json', 'kb', 'add', '--file', file);
    expect(added.status, added.stderr).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ id: 'county-ntp', state: 'draft', revision: 1, steps: { en: ['Check the NTP server.'] } });
    writeFileSync(file, readFileSync(file, 'utf8').replace('Log times are off.', 'Log times are off by minutes.'));
    expect(run('kb', 'add', '--file', file, '--comment', 'more precise').stdout).toMatch(/saved county-ntp \(revision 2, draft\)/);

    const shown = run('kb', 'show', 'county-ntp');
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/County clock drift {2}县级时钟漂移/);
    expect(shown.stdout).toMatch(/2 {2}\S+ {2}cli:\S+ {2}draft {2}symptoms {2}"more precise"/);
    expect(JSON.parse(run('--json', 'kb', 'show', 'county-ntp').stdout).revisions).toHaveLength(2);

    const imported = run('--json', 'kb', 'import', '--starter');
    expect(imported.status, imported.stderr).toBe(0);
    expect(JSON.parse(imported.stdout).created.length).toBeGreaterThanOrEqual(30);

    const search = run('--json', 'kb', 'search', '光衰');
    expect(search.status).toBe(0);
    expect(JSON.parse(search.stdout).map((h: { id: string }) => h.id)).toContain('low-optical-power');
    expect(run('kb', 'search', 'clock', 'drift').stdout).toMatch(/^county-ntp {2}\[draft\]/);
    expect(run('kb', 'search', 'zzzzqqq').stdout).toMatch(/nothing found/);

    // Another administrator's draft, imported: this user may publish it; not their own.
    const other = path.join(dir, 'other');
    run('kb', 'export', '--out', other);
    writeFileSync(path.join(dir, 'alice.yaml'), 'id: alice-draft\ntitle: { en: Alice draft }\nappliesTo: { rules: [node-down] }\nauthor: alice\nstate: review\n');
    expect(run('kb', 'import', path.join(dir, 'alice.yaml')).status).toBe(0);
    const published = run('kb', 'publish', 'alice-draft', '--comment', 'ok');
    expect(published.status, published.stderr).toBe(0);
    expect(published.stdout).toMatch(/alice-draft is published/);
    const own = run('kb', 'publish', 'county-ntp');
    expect(own.status).toBe(4);
    expect(own.stderr).toMatch(/another network administrator publishes it/);
    expect(run('kb', 'submit', 'county-ntp').stdout).toMatch(/county-ntp is review/);

    const exported = path.join(dir, 'export-md');
    const exp = run('--json', 'kb', 'export', '--out', exported, '--format', 'md');
    expect(exp.status).toBe(0);
    expect(readdirSync(exported)).toContain('county-ntp.md');
    expect(readdirSync(exported).length).toBe(JSON.parse(exp.stdout).files.length);
    expect(readdirSync(other).length).toBeGreaterThanOrEqual(31);

    // Refusals.
    const long = run('kb', 'search', 'x'.repeat(10_240));
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(/search query is 10240 characters long; at most 200/);
    writeFileSync(path.join(dir, 'untitled.yaml'), 'id: untitled\nsymptoms: { en: nothing }\n');
    const untitled = run('kb', 'add', '--file', path.join(dir, 'untitled.yaml'));
    expect(untitled.status).toBe(2);
    expect(untitled.stderr).toMatch(/article title: is missing/);
    expect(run('kb', 'show', 'nope').status).toBe(3);
    expect(run('kb', 'import', path.join(dir, 'missing-dir')).status).toBe(3);
    expect(run('kb', 'export', '--out', exported, '--format', 'pdf').stderr).toMatch(/--format must be yaml or md/);
    expect(run('kb', 'list', '--state', 'gone').status).toBe(2);
    expect(run('kb', 'list', '--state', 'review').stdout).toMatch(/county-ntp/);
  });
});
