// audit-evidence-pack against a served suite, through the built bin: a system
// set up with `audit systems add`, an attestation with a text attachment; a
// dry run records no audit run and writes no archive; a real run writes one
// tar.gz whose manifest passes `sha256sum -c` once extracted, with the PDF
// report (read back by pdftotext) and the run with its evidence; a failure
// after the archive was written removes it (rollback).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineRunbook, findRunbook, runRunbook } from '../playbooks/index.js';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';

let s: PlaybookSuite;
let outDir: string;
const auditRuns = async () => (await s.desk.suite.database.db.selectFrom('mlps_run').select('id').execute()).length;

beforeAll(async () => {
  s = await startPlaybookSuite();
  outDir = path.join(s.desk.dir, 'packs');
  mkdirSync(outDir);
  const add = await s.cli(['--json', 'audit', 'systems', 'add', 'portal', '--level', '3']);
  expect(add.code, add.stderr).toBe(0);
  const note = path.join(s.desk.dir, 'machine-room-check.txt');
  writeFileSync(note, 'Machine room access log checked on site, 2026-12-01.\n');
  const attest = await s.cli(['--json', 'audit', 'attest', 'L3-PES1-01', '--result', 'pass', '--note', 'visited the machine room', '--file', note, '--until', '2099-01-01', '--system', 'portal']);
  expect(attest.code, attest.stderr).toBe(0);
}, 180_000);
afterAll(async () => s?.close());

describe('audit-evidence-pack', () => {
  it('in a dry run records no audit run and writes no archive', async () => {
    const runs = await auditRuns();
    const out = path.join(outDir, 'dry.tar.gz');
    const run = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=portal', '--param', 'level=3', '--param', `out=${out}`, '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('dry-run');
    expect(result.steps.find((st: { name: string }) => st.name === 'run-audit').dryRun).toBe('egov-ops audit run --system portal --level 3 --json');
    expect(await auditRuns()).toBe(runs);
    expect(existsSync(out)).toBe(false);
  }, 120_000);

  it("refuses an unknown system, a level other than the system's and an existing archive before running anything", async () => {
    const runs = await auditRuns();
    const unknown = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=nope', '--param', `out=${path.join(outDir, 'x.tar.gz')}`]);
    expect(unknown.code).toBe(3);
    expect(unknown.json().error.message).toContain('no system under evaluation nope (there are: portal');
    const wrongLevel = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=portal', '--param', 'level=2', '--param', `out=${path.join(outDir, 'x.tar.gz')}`]);
    expect(wrongLevel.code).toBe(2);
    expect(wrongLevel.json().error).toMatchObject({ step: 'check', message: 'system portal is graded level 3: give level=3 (an audit evaluates a system at its own level)' });
    const taken = path.join(outDir, 'taken.tar.gz');
    writeFileSync(taken, 'not mine');
    const exists = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=portal', '--param', `out=${taken}`]);
    expect(exists.code).not.toBe(0);
    expect(exists.json().error.message).toContain('exists');
    expect(readFileSync(taken, 'utf8')).toBe('not mine');
    expect(await auditRuns()).toBe(runs);
  }, 120_000);

  it('runs a level-3 audit and writes one archive whose manifest passes sha256sum -c', async () => {
    const runs = await auditRuns();
    const out = path.join(outDir, 'portal-l3.tar.gz');
    const run = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=portal', '--param', 'level=3', '--param', `out=${out}`]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('succeeded');
    expect(await auditRuns()).toBe(runs + 1);
    expect(result.results.verify).toEqual({ out, verified: 4 });
    expect(existsSync(`${out}.partial`)).toBe(false);
    const listed = execFileSync('tar', ['-tzf', out], { encoding: 'utf8' }).trim().split('\n').sort();
    expect(listed).toEqual(['attachments.json', 'manifest.sha256', 'report.json', 'report.pdf', 'run.json']);
    const x = path.join(outDir, 'x');
    mkdirSync(x);
    execFileSync('tar', ['-xzf', out, '-C', x]);
    const check = execFileSync('sha256sum', ['-c', 'manifest.sha256'], { cwd: x, encoding: 'utf8' });
    expect(check.trim().split('\n').sort()).toEqual(['attachments.json: OK', 'report.json: OK', 'report.pdf: OK', 'run.json: OK']);
    // The run with its evidence is the one the audit recorded, at level 3.
    const audited = JSON.parse(readFileSync(path.join(x, 'run.json'), 'utf8'));
    expect(audited).toMatchObject({ id: result.results['run-audit'].run, system: 'portal', level: 3 });
    expect(audited.results.length).toBe(211);
    expect(audited.results.some((r: { checks: Array<{ evidence: unknown[] }> }) => r.checks.some((c) => c.evidence.length > 0))).toBe(true);
    const pes = audited.results.find((r: { code: string }) => r.code === 'L3-PES1-01');
    expect(pes.attestation.attachments).toHaveLength(1);
    const attachments = JSON.parse(readFileSync(path.join(x, 'attachments.json'), 'utf8'));
    expect(attachments).toEqual([{ sha256: pes.attestation.attachments[0], item: 'L3-PES1-01', attestation: pes.attestation.id }]);
    expect(JSON.parse(readFileSync(path.join(x, 'report.json'), 'utf8'))).toBeTruthy();
    expect(readFileSync(path.join(x, 'report.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    expect(execFileSync('pdftotext', [path.join(x, 'report.pdf'), '-'], { encoding: 'utf8' })).toContain('portal');
    // A tampered file fails the manifest.
    writeFileSync(path.join(x, 'run.json'), '{}\n');
    expect(() => execFileSync('sha256sum', ['-c', '--quiet', 'manifest.sha256'], { cwd: x, stdio: 'pipe' })).toThrow();
  }, 600_000);

  it('packs a level-2 system at level 2', async () => {
    const add = await s.cli(['--json', 'audit', 'systems', 'add', 'kiosk', '--level', '2']);
    expect(add.code, add.stderr).toBe(0);
    const out = path.join(outDir, 'kiosk-l2.tgz');
    const run = await s.cli(['--json', 'playbook', 'run', 'audit-evidence-pack', '--param', 'system=kiosk', '--param', 'level=2', '--param', `out=${out}`]);
    expect(run.code, run.stderr).toBe(0);
    const x = path.join(outDir, 'x2');
    mkdirSync(x);
    execFileSync('tar', ['-xzf', out, '-C', x]);
    execFileSync('sha256sum', ['-c', '--quiet', 'manifest.sha256'], { cwd: x });
    const audited = JSON.parse(readFileSync(path.join(x, 'run.json'), 'utf8'));
    expect(audited).toMatchObject({ system: 'kiosk', level: 2 });
    expect(audited.results.length).toBe(135);
    expect(JSON.parse(readFileSync(path.join(x, 'attachments.json'), 'utf8'))).toEqual([]);
  }, 600_000);

  it('a failure after the archive was written removes it again (the rollback)', async () => {
    const pack = findRunbook('audit-evidence-pack');
    const failing = defineRunbook({
      ...pack,
      name: 'audit-evidence-pack-failing',
      steps: [...pack.steps.filter((st) => st.name !== 'verify'), { name: 'fail', description: 'fails after the archive', changes: false, run: async () => { throw new Error('failed on purpose'); } }],
    });
    const out = path.join(outDir, 'rolled-back.tar.gz');
    const result = await runRunbook({ runbook: failing, params: { system: 'portal', level: '3', out }, operator: { dataDir: s.desk.dir, passphraseFile: s.passphraseFile }, who: 'test' });
    expect(result.status, JSON.stringify(result.error)).toBe('rolled-back');
    expect(result.results.archive).toEqual({ out });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 600_000);
});
