// renew-device-certificates and ca-key-ceremony against a served suite, with
// openssl checking what they make: dry runs change nothing; renewals with
// keys made here (PKCS#12) and from CSRs, delivered with a manifest, the old
// certificates revoked only after the grace period (`--from` finishes it);
// a ceremony approved by a second operator through the API, and one refused.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../core/index.js';
import { call, signIn, ADMIN_PASSWORD } from './support/desk.js';
import { opensslOk } from './support/openssl.js';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';
import { removeTempDirs, tempDir } from './support/restic.js';

let s: PlaybookSuite;
let tmp: string;
const actor = { actor: 'test', source: 'test' };

const issueDevice = async (cn: string, days: number) => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }) as { publicKey: KeyObject };
  return s.desk.suite.authority.issueForPublicKey({ ca: 'city-ecdsa', profile: 'device', subject: `CN=${cn}`, sans: [`DNS:${cn}`], publicKey, validityDays: days } as never, actor);
};
const statusOf = async (serial: string) => (await s.desk.suite.database.db.selectFrom('certificate').select('status').where('serial', '=', serial).executeTakeFirstOrThrow()).status;

beforeAll(async () => {
  s = await startPlaybookSuite();
  tmp = tempDir('egov-pb-ca-');
}, 120_000);
afterAll(async () => {
  await s?.close();
  removeTempDirs();
});

describe('renew-device-certificates', () => {
  let soon: Array<{ serial: string }>;
  let later: { serial: string };
  const pw = () => path.join(tmp, 'p12.password');

  beforeAll(async () => {
    soon = [await issueDevice('sw1.county.gov.cn', 10), await issueDevice('sw2.county.gov.cn', 12)];
    later = await issueDevice('core.city.gov.cn', 300);
    writeFileSync(pw(), 'renewal-p12-password-1\n', { mode: 0o600 });
  });

  it('in a dry run lists what expires and renews nothing', async () => {
    const before = await s.desk.suite.database.db.selectFrom('certificate').select('serial').execute();
    const run = await s.cli(['--json', 'playbook', 'run', 'renew-device-certificates', '--param', 'ca=city-ecdsa', '--param', `deliverDir=${path.join(tmp, 'out')}`, '--param', `p12PasswordFile=${pw()}`, '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    const shown = run.json().steps[0].dryRun as string;
    expect(shown).toContain('CN=sw1.county.gov.cn');
    expect(shown).toContain('CN=sw2.county.gov.cn');
    expect(shown).not.toContain('core.city.gov.cn');
    expect((await s.desk.suite.database.db.selectFrom('certificate').select('serial').execute()).length).toBe(before.length);
    expect(existsSync(path.join(tmp, 'out'))).toBe(false);
  });

  it('renews with keys made here, delivers PKCS#12 files with a manifest, and revokes the old ones only after the grace period', async () => {
    const out = path.join(tmp, 'out');
    const run = await s.cli(['--json', 'playbook', 'run', 'renew-device-certificates', '--param', 'ca=city-ecdsa', '--param', `deliverDir=${out}`, '--param', `p12PasswordFile=${pw()}`, '--param', 'graceHours=1', ...s.alice.apiArgs]);
    expect(run.code).toBe(4);
    const result = run.json();
    // The grace period stops the run at the revocation, keeping what was done (policy stop, no rollback).
    expect(result.status).toBe('failed');
    expect(result.error.step).toBe('revoke-superseded');
    expect(result.error.message).toContain('the grace period runs until');
    expect(result.rolledBack).toEqual([]);
    const renewed = result.results.renew.renewed as Array<{ old: string; serial: string }>;
    expect(renewed.map((r) => r.old).sort()).toEqual(soon.map((c) => c.serial).sort());
    for (const c of soon) expect(await statusOf(c.serial)).toBe('good');
    // Delivered files: PKCS#12 that openssl opens, with the names of the old certificates, listed in the manifest.
    const manifest = readFileSync(path.join(out, 'MANIFEST.sha256'), 'utf8').trim().split('\n');
    expect(manifest).toHaveLength(2);
    for (const line of manifest) {
      const [sha, name] = line.split(/\s+/);
      const file = path.join(out, name!);
      expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(sha);
      const pem = opensslOk('pkcs12', '-in', file, '-passin', 'pass:renewal-p12-password-1', '-nokeys');
      expect(pem).toMatch(/subject=CN\s?=\s?sw[12]\.county\.gov\.cn/);
    }
    // The grace period is over (the operator shortens it): the resumed run revokes the superseded certificates.
    const resumed = await s.cli(['--json', 'playbook', 'run', 'renew-device-certificates', '--from', 'revoke-superseded', '--param', 'graceHours=0', ...s.alice.apiArgs]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json().steps.map((st: { status: string }) => st.status)).toEqual(['carried', 'carried', 'carried', 'ok']);
    for (const c of soon) expect(await statusOf(c.serial)).toBe('revoked');
    for (const r of renewed) expect(await statusOf(r.serial)).toBe('good');
    expect(await statusOf(later.serial)).toBe('good');
  }, 180_000);

  it('renews from the devices\' CSRs', async () => {
    const device = await issueDevice('fw1.county.gov.cn', 5);
    const csrDir = path.join(tmp, 'csrs');
    mkdirSync(csrDir);
    opensslOk('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(tmp, 'fw1.key'), '-out', path.join(csrDir, 'fw1.county.gov.cn.csr'), '-subj', '/CN=fw1.county.gov.cn', '-addext', 'subjectAltName=DNS:fw1.county.gov.cn');
    const out = path.join(tmp, 'out-csr');
    const run = await s.cli(['--json', 'playbook', 'run', 'renew-device-certificates', '--param', 'ca=city-ecdsa', '--param', 'days=7', '--param', 'method=csr', '--param', `csrDir=${csrDir}`, '--param', `deliverDir=${out}`, '--param', 'graceHours=0', ...s.alice.apiArgs]);
    expect(run.code, run.stderr).toBe(0);
    const [renewed] = run.json().results.renew.renewed;
    expect(renewed.old).toBe(device.serial);
    expect(await statusOf(device.serial)).toBe('revoked');
    const delivered = readdirSync(out).find((f) => f.endsWith('.pem'))!;
    writeFileSync(path.join(tmp, 'chain.pem'), s.desk.caPem);
    expect(opensslOk('verify', '-CAfile', path.join(tmp, 'chain.pem'), path.join(out, delivered))).toContain(': OK');
    // The delivered certificate carries the device's own key.
    expect(opensslOk('x509', '-in', path.join(out, delivered), '-noout', '-pubkey')).toBe(opensslOk('pkey', '-in', path.join(tmp, 'fw1.key'), '-pubout'));
  }, 120_000);
});

describe('ca-key-ceremony', () => {
  const runCeremony = (ca: string, exportDir: string) =>
    s.cli(['--json', 'playbook', 'run', 'ca-key-ceremony', '--param', `ca=${ca}`, '--param', 'algorithm=ecdsa-p384', '--param', `subject=/C=CN/O=Test City/CN=${ca} Root`, '--param', 'witness=Wang Wu (audit office)', '--param', `exportDir=${exportDir}`, ...s.alice.apiArgs]);

  const decideWhenAsked = async (verb: 'approve' | 'reject', runbookCa: string) => {
    await signIn(s.desk, s.bob.person, ADMIN_PASSWORD);
    for (let i = 0; i < 600; i++) {
      const waiting = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/api/playbooks/approvals?state=waiting')).json().approvals.find((a: { runbook: string }) => a.runbook === 'ca-key-ceremony');
      if (waiting) {
        const decided = await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'POST', `/api/playbooks/approvals/${waiting.id}/${verb}`, { json: { reason: `${verb} ${runbookCa}` } });
        expect(decided.status).toBe(200);
        return waiting.id as number;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('no approval was asked for');
  };

  it('in a dry run makes no hierarchy', async () => {
    const run = await s.cli(['--json', 'playbook', 'run', 'ca-key-ceremony', '--param', 'ca=city-2027', '--param', 'algorithm=ecdsa-p384', '--param', 'subject=/CN=x', '--param', 'witness=w', '--param', `exportDir=${path.join(tmp, 'dry')}`, '--dry-run', ...s.alice.apiArgs]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().steps.find((st: { name: string }) => st.name === 'second-operator').dryRun).toContain('second operator');
    expect((await s.desk.suite.authority.listHierarchies()).map((h) => h.name)).not.toContain('city-2027');
  });

  it('refused by the second operator: no key is made, and the witness log says the ceremony was aborted', async () => {
    const exportDir = path.join(tmp, 'ceremony-refused');
    const [run] = await Promise.all([runCeremony('city-refused', exportDir), decideWhenAsked('reject', 'city-refused')]);
    expect(run.code).toBe(4);
    expect(run.json().error.message).toMatch(/was rejected by Bob Operator.*: reject city-refused/);
    expect((await s.desk.suite.authority.listHierarchies()).map((h) => h.name)).not.toContain('city-refused');
    expect(readFileSync(path.join(exportDir, 'witness-log.txt'), 'utf8')).toMatch(/opened[\s\S]*ceremony ABORTED/);
  }, 120_000);

  it('with a second operator\'s approval makes the hierarchy, exports its public parts, backs up and drills the encrypted keys, and issues a test certificate', async () => {
    const exportDir = path.join(tmp, 'ceremony');
    const [run] = await Promise.all([runCeremony('city-2027', exportDir), decideWhenAsked('approve', 'city-2027')]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('succeeded');
    const made = (await s.desk.suite.authority.listHierarchies()).find((h) => h.name === 'city-2027');
    expect(made).toBeDefined();
    // Public parts: openssl verifies the issuing CA against the exported root.
    expect(opensslOk('verify', '-CAfile', path.join(exportDir, 'city-2027-root.pem'), path.join(exportDir, 'city-2027-issuing.pem'))).toContain(': OK');
    expect(readdirSync(exportDir).sort()).toEqual(['city-2027-chain.pem', 'city-2027-issuing.pem', 'city-2027-root.pem', 'witness-log.txt', 'witness-log.txt.sha256']);
    const log = readFileSync(path.join(exportDir, 'witness-log.txt'), 'utf8');
    expect(log).toContain('Alice Operator');
    expect(log).toMatch(/Bob Operator.*approved the ceremony as the second operator/);
    expect(log).toContain('witness Wang Wu (audit office)');
    expect(log).toMatch(/encrypted keys backed up: same-city snapshot [0-9a-f]{8}; drill of same-city passed/);
    expect(readFileSync(path.join(exportDir, 'witness-log.txt.sha256'), 'utf8').split(' ')[0]).toBe(createHash('sha256').update(log).digest('hex'));
    // The test certificate was issued by the new CA and revoked.
    expect(await s.desk.suite.database.db.selectFrom('certificate').select(['status', 'ca_name']).where('serial', '=', result.results['test-issuance'].serial).executeTakeFirstOrThrow()).toEqual({ status: 'revoked', ca_name: 'city-2027' });
    const audit = await listAudit(s.desk.suite.database, { limit: 200 });
    expect(audit.some((r) => r.action === 'playbook.approve' && r.actor.includes('Bob Operator') && r.object.includes(result.runId))).toBe(true);
  }, 300_000);
});

describe('a run that holds its lock, then dies', () => {
  it('keeps a second run of the runbook out; once killed it shows as interrupted, its lock is taken over, and --from resumes it', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./support/playbooks.js');
    const exportDir = path.join(tmp, 'ceremony-2028');
    const args = ['--data-dir', s.desk.dir, '--passphrase-file', s.passphraseFile, 'playbook', 'run', 'ca-key-ceremony', '--param', 'ca=city-2028', '--param', 'algorithm=ecdsa-p256', '--param', 'subject=/CN=City 2028 Root', '--param', 'witness=Zhao Liu', '--param', `exportDir=${exportDir}`, ...s.alice.apiArgs];
    const first = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    first.stderr.on('data', (c) => (stderr += c));
    await signIn(s.desk, s.bob.person, ADMIN_PASSWORD);
    let waiting: { id: number; runId: string } | undefined;
    for (let i = 0; i < 600 && !waiting; i++) {
      waiting = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/api/playbooks/approvals?state=waiting')).json().approvals.find((a: { runbook: string; step: string }) => a.runbook === 'ca-key-ceremony');
      if (!waiting) await new Promise((r) => setTimeout(r, 200));
    }
    expect(waiting, stderr).toBeDefined();
    // While it waits at its gate, it holds the lock.
    const second = await s.cli(['playbook', 'run', 'ca-key-ceremony', '--param', 'ca=city-other', '--param', 'algorithm=ecdsa-p256', '--param', 'subject=/CN=x', '--param', 'witness=w', '--param', `exportDir=${path.join(tmp, 'other')}`, ...s.alice.apiArgs]);
    expect(second.code).toBe(4);
    expect(second.stderr).toContain(`runbook ca-key-ceremony is locked by run ${waiting!.runId}`);
    expect(existsSync(path.join(tmp, 'other'))).toBe(false);

    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const runs = (await s.cli(['--json', 'playbook', 'runs', 'ca-key-ceremony'])).json();
    expect(runs[0]).toMatchObject({ runId: waiting!.runId, status: 'interrupted', endedAt: null });
    // Resumed at the gate: preflight is carried, a new approval is asked for, the second operator gives it.
    const decide = (async () => {
      for (let i = 0; i < 600; i++) {
        const next = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/api/playbooks/approvals?state=waiting')).json().approvals.find((a: { runbook: string; id: number }) => a.runbook === 'ca-key-ceremony' && a.id !== waiting!.id);
        if (next) return call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'POST', `/api/playbooks/approvals/${next.id}/approve`, { json: {} });
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error('no new approval was asked for');
    })();
    const [resumed] = await Promise.all([s.cli(['--json', 'playbook', 'run', 'ca-key-ceremony', '--from', 'second-operator', ...s.alice.apiArgs]), decide]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json().steps.map((st: { status: string }) => st.status)).toEqual(['carried', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect((await s.desk.suite.authority.listHierarchies()).map((h) => h.name)).toContain('city-2028');
    expect(readFileSync(path.join(exportDir, 'witness-log.txt'), 'utf8')).toMatch(/opened[\s\S]*approved the ceremony[\s\S]*ceremony closed/);
    // The request the killed run left waiting was withdrawn by the resumed run.
    expect((await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', `/api/playbooks/approvals/${waiting!.id}`)).json()).toMatchObject({ state: 'withdrawn' });
  }, 300_000);

  it('Ctrl-C at a four-eyes gate withdraws the request, rolls back the done steps and releases the lock', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./support/playbooks.js');
    const exportDir = path.join(tmp, 'ceremony-interrupted');
    const child = spawn(process.execPath, [BIN, '--data-dir', s.desk.dir, '--passphrase-file', s.passphraseFile, '--json', 'playbook', 'run', 'ca-key-ceremony', '--param', 'ca=city-int', '--param', 'algorithm=ecdsa-p256', '--param', 'subject=/CN=Int Root', '--param', 'witness=w', '--param', `exportDir=${exportDir}`, ...s.alice.apiArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    let waiting: { id: number } | undefined;
    for (let i = 0; i < 600 && !waiting; i++) {
      waiting = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/api/playbooks/approvals?state=waiting')).json().approvals.find((a: { runbook: string; runId: string }) => a.runbook === 'ca-key-ceremony');
      if (!waiting) await new Promise((r) => setTimeout(r, 200));
    }
    expect(waiting, stderr).toBeDefined();
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code, stderr).toBe(7);
    const result = JSON.parse(stdout);
    expect(result.status).toBe('rolled-back');
    expect(result.error).toMatchObject({ step: 'second-operator', message: expect.stringContaining('interrupted') });
    expect((await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', `/api/playbooks/approvals/${waiting!.id}`)).json()).toMatchObject({ state: 'withdrawn' });
    expect(readFileSync(path.join(exportDir, 'witness-log.txt'), 'utf8')).toContain('ceremony ABORTED');
    expect(existsSync(path.join(s.desk.dir, 'playbooks', 'locks', 'ca-key-ceremony.lock'))).toBe(false);
    expect((await s.desk.suite.authority.listHierarchies()).map((h) => h.name)).not.toContain('city-int');
  }, 120_000);
});
