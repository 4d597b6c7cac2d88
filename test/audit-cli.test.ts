// `egov-ops audit …` on a program with the suite's global options (as
// cli/main.ts builds it), against a real sshd serving prepared roots:
// items, hosts, systems, run (with --fail-under), attest, waive, show,
// report in every format (the PDF read back by pdftotext), and bad input.

import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerAuditCommands } from '../cli/audit.js';
import { openDatabase } from '../core/index.js';
import { prepareRoots, type PreparedRoots } from './support/audit-roots.js';
import { CA_PASSPHRASE, makeSuite, removeTempDirs, tempDir } from './support/restic.js';
import { startSshd, type SshServer } from './support/sshd.js';

async function egov(args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number | undefined }> {
  const program = new Command().exitOverride().option('--data-dir <dir>').option('--config <file>').option('--passphrase-file <file>').option('--json');
  registerAuditCommands(program);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'egov-ops', ...args]);
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}

let sshd: SshServer;
let roots: PreparedRoots;
let dataDir: string;
const d = () => ['--data-dir', dataDir];

beforeAll(async () => {
  sshd = await startSshd();
  roots = prepareRoots();
  const suite = await makeSuite();
  await suite.close();
  dataDir = suite.config.dataDir;
  process.env.EGOV_OPS_CA_PASSPHRASE = CA_PASSPHRASE;
});
afterAll(async () => {
  delete process.env.EGOV_OPS_CA_PASSPHRASE;
  await sshd?.dispose();
  if (roots) rmSync(roots.base, { recursive: true, force: true });
  removeTempDirs();
});

const sshArgs = (root: string) => ['--ssh', `${sshd.user}@127.0.0.1`, '--port', String(sshd.port), '--identity', sshd.identityFile, '--known-hosts', sshd.knownHostsFile, '--root', root];

describe('egov-ops audit', () => {
  it('items lists the checklist by level and category', async () => {
    expect(JSON.parse((await egov([...d(), '--json', 'audit', 'items'])).stdout)).toHaveLength(211);
    expect(JSON.parse((await egov([...d(), '--json', 'audit', 'items', '--level', '2'])).stdout)).toHaveLength(135);
    const ces = JSON.parse((await egov([...d(), '--json', 'audit', 'items', '--category', 'CES'])).stdout);
    expect(ces).toHaveLength(34);
    expect((await egov([...d(), 'audit', 'items', '--category', 'SMC'])).stdout).toContain('L3-SMC1-12');
    await expect(egov([...d(), 'audit', 'items', '--level', '4'])).rejects.toThrow('level must be 2 or 3');
    await expect(egov([...d(), 'audit', 'items', '--category', 'XYZ'])).rejects.toThrow('--category must be one of');
  });

  it('hosts add probes first: a wrong key or a closed port leaves nothing', async () => {
    const otherKey = path.join(sshd.dir, 'cli_other_key');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    const bad = sshArgs(roots.compliant).map((a) => (a === sshd.identityFile ? otherKey : a));
    await expect(egov([...d(), 'audit', 'hosts', 'add', 'wrong-key', ...bad])).rejects.toThrow(/refused the key/);
    await expect(egov([...d(), 'audit', 'hosts', 'add', 'closed', ...sshArgs(roots.compliant).map((a) => (a === String(sshd.port) ? '1' : a))])).rejects.toThrow(/was refused/);
    await expect(egov([...d(), 'audit', 'hosts', 'add', 'neither'])).rejects.toThrow('give --ssh USER@HOST or --local');
    const good = JSON.parse((await egov([...d(), '--json', 'audit', 'hosts', 'add', 'web-1', ...sshArgs(roots.compliant)])).stdout);
    expect(good).toMatchObject({ name: 'web-1', kind: 'ssh', port: sshd.port, root: roots.compliant });
    await egov([...d(), 'audit', 'hosts', 'add', 'old-1', ...sshArgs(roots.nonCompliant)]);
    await egov([...d(), 'audit', 'hosts', 'add', 'here', '--local', '--root', roots.nonCompliant]);
    const list = JSON.parse((await egov([...d(), '--json', 'audit', 'hosts', 'list'])).stdout);
    expect(list.map((h: { name: string }) => h.name)).toEqual(['here', 'old-1', 'web-1']);
  });

  it('systems add checks level, hosts and not-applicable codes', async () => {
    await expect(egov([...d(), 'audit', 'systems', 'add', 'x', '--level', '4'])).rejects.toThrow('level must be 2 or 3');
    await expect(egov([...d(), 'audit', 'systems', 'add', 'x', '--level', '3', '--host', 'nope'])).rejects.toThrow('no audited host nope');
    await expect(egov([...d(), 'audit', 'systems', 'add', 'x', '--level', '3', '--na', 'L2-PES1-01=no room'])).rejects.toThrow('is not a level-3 item');
    const view = JSON.parse((await egov([...d(), '--json', 'audit', 'systems', 'add', 'city-portal', '--level', '3', '--host', 'web-1', '--na', 'L3-PES1-02=the room is on the ground floor of a leased data centre'])).stdout);
    expect(view).toMatchObject({ name: 'city-portal', level: 3, hosts: ['web-1'], suite: true });
    await egov([...d(), 'audit', 'systems', 'add', 'legacy', '--level', '2', '--host', 'old-1']);
    expect((await egov([...d(), 'audit', 'systems', 'list'])).stdout).toMatch(/city-portal\s+level 3/);
  });

  it('run, attest, waive, show and reports', async () => {
    const first = await egov([...d(), '--json', 'audit', 'run', '--system', 'city-portal']);
    expect(first.exitCode).toBeUndefined();
    expect(first.stderr).toMatch(/\[hosts 1\/1\] host web-1/);
    const run = JSON.parse(first.stdout);
    expect(run.results).toHaveLength(211);
    const by = (r: { results: Array<{ code: string }> }, code: string) => r.results.find((x) => x.code === code) as any;
    expect(by(run, 'L3-CES1-01').status).toBe('pass');
    expect(by(run, 'L3-CES1-01').checks.map((c: { collector: string }) => c.collector)).toEqual(['host.password-ageing', 'host.password-quality', 'host.empty-passwords', 'host.uid0-accounts']);
    expect(by(run, 'L3-PES1-02')).toMatchObject({ status: 'na', basis: 'not applicable: the room is on the ground floor of a leased data centre' });
    expect(by(run, 'L3-PES1-01').status).toBe('manual-pending');
    // ECDSA P-256 hierarchy, unexpired, the OCSP responder answers; but no CRL has been built (serve is not running).
    expect(by(run, 'L3-CNS1-06').status).toBe('partial');
    expect(Object.fromEntries(by(run, 'L3-CNS1-06').checks.map((c: { collector: string; status: string }) => [c.collector, c.status]))).toEqual({ 'ca.algorithms': 'pass', 'ca.expiry': 'pass', 'ca.crl-fresh': 'fail', 'ca.ocsp': 'pass' });
    expect(by(run, 'L3-CES1-27').status).toBe('partial'); // strong algorithms, but no SM2 hierarchy
    expect(by(run, 'L3-MMS1-29').status).toBe('partial'); // ca.algorithms pass, ca.sm2-hierarchy fail
    expect(by(run, 'L3-MMS1-30').status).toBe('fail'); // ca.sm2-hierarchy alone
    expect(by(run, 'L3-CES1-29').status).toBe('fail'); // no backup ever ran
    expect(run.summary.highRisks.map((h: { id: string }) => h.id)).toContain('no-local-backup');
    expect(run.conclusion).toBe('差');
    expect(typeof run.score).toBe('number');
    expect(run.summary.scoring.template).toBe('2021');

    const gated = await egov([...d(), 'audit', 'run', '--system', 'city-portal', '--fail-under', '99']);
    expect(gated.exitCode).toBe(4);
    expect(gated.stderr).toContain('below --fail-under 99');
    await expect(egov([...d(), 'audit', 'run', '--system', 'city-portal', '--level', '2'])).rejects.toThrow('contradicts');
    await expect(egov([...d(), 'audit', 'run', '--level', '5'])).rejects.toThrow('level must be 2 or 3');

    // Bad findings: nothing half-written.
    const scratch = tempDir();
    const pdf = path.join(scratch, 'room-photo.pdf');
    writeFileSync(pdf, '%PDF-1.4\n% a scanned inspection sheet\n');
    const big = path.join(scratch, 'big.txt');
    writeFileSync(big, Buffer.alloc(10 * 1024 * 1024 + 1, 0x41));
    const binary = path.join(scratch, 'tool.exe');
    writeFileSync(binary, Buffer.from([0x4d, 0x5a, 0x00, 0x01, 0x02]));
    await expect(egov([...d(), 'audit', 'attest', 'L3-XYZ1-01', '--result', 'pass', '--note', 'n', '--until', '2099-01-01'])).rejects.toThrow('no checklist item "L3-XYZ1-01"');
    await expect(egov([...d(), 'audit', 'attest', 'L3-CES1-16', '--result', 'pass', '--note', 'n', '--until', '2099-01-01'])).rejects.toThrow('no checklist item');
    await expect(egov([...d(), 'audit', 'attest', 'L3-PES1-01', '--result', 'pass', '--note', 'n', '--until', '2020-01-01'])).rejects.toThrow('is in the past');
    await expect(egov([...d(), 'audit', 'attest', 'L3-PES1-01', '--result', 'maybe', '--note', 'n', '--until', '2099-01-01'])).rejects.toThrow('--result must be');
    await expect(egov([...d(), 'audit', 'attest', 'L3-PES1-01', '--result', 'pass', '--note', 'n', '--file', pdf, '--file', big, '--until', '2099-01-01'])).rejects.toThrow('over the 10 MiB limit');
    await expect(egov([...d(), 'audit', 'attest', 'L3-PES1-01', '--result', 'pass', '--note', 'n', '--file', binary, '--until', '2099-01-01'])).rejects.toThrow('not of an allowed type');
    const database = await openDatabase({ dataDir });
    expect(await database.db.selectFrom('mlps_finding').select('id').execute()).toHaveLength(0);
    expect(await database.db.selectFrom('mlps_attachment').select('sha256').execute()).toHaveLength(0);

    const attested = JSON.parse((await egov([...d(), '--json', 'audit', 'attest', 'L3-PES1-01', '--result', 'pass', '--note', 'building certificate seen, seismic class 8', '--file', pdf, '--until', '2099-01-01'])).stdout);
    const sha = execFileSync('sha256sum', [pdf], { encoding: 'utf8' }).split(' ')[0];
    expect(attested).toMatchObject({ kind: 'attestation', code: 'L3-PES1-01', result: 'pass', attachments: [sha] });
    const stored = await database.db.selectFrom('mlps_attachment').selectAll().execute();
    expect(stored).toMatchObject([{ sha256: sha, name: 'room-photo.pdf', media_type: 'application/pdf', size: statSync(pdf).size }]);
    await expect(egov([...d(), 'audit', 'waive', 'L3-CES1-29', '--reason', '', '--until', '2099-01-01'])).rejects.toThrow('needs a reason');
    await egov([...d(), 'audit', 'waive', 'L3-CES1-29', '--reason', 'remote backup contract signed, local disk arrives in January', '--until', '2099-01-01']);
    const audited = await database.db.selectFrom('audit_log').select(['action', 'outcome']).where('action', 'like', 'audit.%').execute();
    expect(audited.map((a) => `${a.action}:${a.outcome}`)).toEqual(expect.arrayContaining(['audit.host-add:refused', 'audit.host-add:success', 'audit.system-add:success', 'audit.run:success', 'audit.attest:success', 'audit.waive:success']));
    await database.close();

    const second = JSON.parse((await egov([...d(), '--json', 'audit', 'run', '--system', 'city-portal'])).stdout);
    expect(by(second, 'L3-PES1-01')).toMatchObject({ status: 'pass', attestation: { note: 'building certificate seen, seismic class 8' } });
    expect(by(second, 'L3-CES1-29')).toMatchObject({ status: 'fail', waiver: { note: 'remote backup contract signed, local disk arrives in January' } });
    // The same risk is revealed by L3-MMS1-34, which is not waived: the risk stays open.
    expect(second.summary.highRisks.find((h: { id: string }) => h.id === 'no-local-backup')).toMatchObject({ items: ['L3-CES1-29', 'L3-MMS1-34'], waived: false });
    expect(second.score).toBeGreaterThan(run.score);

    // show keeps the first run as it was.
    const shown = JSON.parse((await egov([...d(), '--json', 'audit', 'show', String(run.id)])).stdout);
    expect(by(shown, 'L3-PES1-01').status).toBe('manual-pending');
    expect(shown.score).toBe(run.score);
    await expect(egov([...d(), 'audit', 'show', '999'])).rejects.toThrow('no audit run 999');
    expect((await egov([...d(), 'audit', 'show', String(second.id)])).stdout).toMatch(/L3-CES1-01 PASS/);

    const file = (ext: string) => path.join(scratch, `report.${ext}`);
    await egov([...d(), 'audit', 'report', String(second.id), '--format', 'json', '--out', file('json')]);
    const json = JSON.parse(readFileSync(file('json'), 'utf8'));
    expect(json.trend.map((t: { id: number }) => t.id)).toEqual([run.id, gated.exitCode === 4 ? run.id + 1 : run.id + 1, second.id]);
    await egov([...d(), 'audit', 'report', String(second.id), '--format', 'csv', '--out', file('csv')]);
    const csv = readFileSync(file('csv'), 'utf8').split('\r\n');
    expect(csv[0]).toMatch(/^run,system,level,code,category/);
    expect(csv).toHaveLength(213);
    expect(csv.find((l) => l.includes(',L3-CES1-01,'))).toContain('/etc/login.defs:2 PASS_MAX_DAYS');
    await egov([...d(), 'audit', 'report', String(second.id), '--format', 'html', '--out', file('html'), '--lang', 'en']);
    const html = readFileSync(file('html'), 'utf8');
    expect(html).toContain('Grade-protection (MLPS 2.0) self-assessment report');
    expect(html).toContain('not an evaluation body');
    await egov([...d(), 'audit', 'report', String(second.id), '--format', 'pdf', '--out', file('pdf')]);
    expect(readFileSync(file('pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    const text = execFileSync('pdftotext', ['-layout', file('pdf'), '-'], { encoding: 'utf8' });
    expect(text).toContain('网络安全等级保护自评估报告');
    expect(text).toContain('city-portal');
    expect(text).toContain('L3-CES1-01');
    expect(text).toContain('自评估结果');
    await expect(egov([...d(), 'audit', 'report', String(second.id), '--format', 'docx', '--out', file('docx')])).rejects.toThrow('--format must be one of');
  });

  it('attachment exports a stored evidence file by its SHA-256, audited; refuses a bad or unknown one and an existing file', async () => {
    const database = await openDatabase({ dataDir });
    const [stored] = await database.db.selectFrom('mlps_attachment').select(['sha256', 'content']).execute();
    await database.close();
    const scratch = tempDir();
    const target = path.join(scratch, 'exported.pdf');
    const done = JSON.parse((await egov([...d(), '--json', 'audit', 'attachment', stored!.sha256, '--out', target])).stdout);
    expect(done).toMatchObject({ sha256: stored!.sha256, name: 'room-photo.pdf', mediaType: 'application/pdf', out: target });
    expect(readFileSync(target).equals(Buffer.from(stored!.content))).toBe(true);
    expect(execFileSync('sha256sum', [target], { encoding: 'utf8' }).split(' ')[0]).toBe(stored!.sha256);
    await expect(egov([...d(), 'audit', 'attachment', stored!.sha256, '--out', target])).rejects.toThrow('exists already');
    expect((await egov([...d(), 'audit', 'attachment', stored!.sha256.toUpperCase(), '--out', target, '--force'])).stdout).toContain('room-photo.pdf, application/pdf');
    await expect(egov([...d(), 'audit', 'attachment', 'abc', '--out', path.join(scratch, 'x')])).rejects.toThrow('is not a SHA-256');
    await expect(egov([...d(), 'audit', 'attachment', 'f'.repeat(64), '--out', path.join(scratch, 'y')])).rejects.toThrow('no attachment');
    expect(statSync(path.join(scratch, 'y'), { throwIfNoEntry: false })).toBeUndefined();
    const again = await openDatabase({ dataDir });
    const log = await again.db.selectFrom('audit_log').select(['outcome', 'object']).where('action', '=', 'audit.attachment-download').execute();
    await again.close();
    expect(log.map((l) => l.outcome)).toEqual(['success', 'success', 'failure']);
  });

  it('a level-2 system on a non-compliant host names the high risks', async () => {
    const run = JSON.parse((await egov([...d(), '--json', 'audit', 'run', '--system', 'legacy'])).stdout);
    expect(run.level).toBe(2);
    expect(run.results).toHaveLength(135);
    const ids = run.summary.highRisks.map((h: { id: string }) => h.id);
    expect(ids).toEqual(expect.arrayContaining(['weak-password', 'high-risk-port', 'default-account']));
    const weak = run.summary.highRisks.find((h: { id: string }) => h.id === 'weak-password');
    expect(weak.targets).toEqual(['host:old-1']);
    expect(run.results.find((r: { code: string }) => r.code === 'L2-CES1-01').status).toBe('fail');
  });
});
