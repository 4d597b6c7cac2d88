// Revocation, CRLs and the audit trail against the real `openssl`:
// `openssl verify -crl_check` before and after a revoke, `openssl crl
// -verify` on every full and delta CRL, CRL numbering, delta CRLs
// (deltaCRLIndicator, removeFromCRL after a released hold), the refusals
// (already-revoked, not-found), a 5,000-entry CRL, and the audit log.
//
// SM2: OpenSSL 3.0 has no way to pass the GM/T 0009 distinguishing ID when
// it checks a CRL signature (`openssl crl` has no -vfyopt, and `openssl
// verify -vfyopt` applies the ID to the certificate only), so it verifies
// SM2 CRLs with the EMPTY ID and reports "verify failure" / "CRL signature
// failure" on a correct CRL. For SM2 we therefore verify each CRL's
// signature with the independent sm-crypto-v2 (GM/T 0009 ID, and a negative
// control with the empty ID) and read its contents with `openssl crl -text`.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sm2 as smCrypto } from 'sm-crypto-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, CrlService, fixedPassphrase, readCertificate, toPem, type BuiltCrl, type KeyAlgorithm } from '../ca/index.js';
import * as der from '../ca/asn1/der.js';
import { openssl, opensslOk } from './support/openssl.js';
import { EgovError, listAudit, openDatabase, verifyAuditLog, type Database } from '../core/index.js';

const PASSPHRASE = 'revocation test passphrase';
const DISTID = '1234567812345678';
const BY = { actor: 'test:revocation', source: '192.0.2.10' };

let workDir = '';
const openDatabases: Database[] = [];

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'egov-ca-revocation-'));
});
afterAll(async () => {
  for (const database of openDatabases.splice(0)) await database.close().catch(() => undefined);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ------------------------------------------------------------ helpers



let fileCounter = 0;
function file(name: string, content: string | Buffer): string {
  const target = path.join(workDir, `${++fileCounter}-${name}`);
  writeFileSync(target, content);
  return target;
}

const crlFile = (crl: BuiltCrl) => file(`${crl.kind}-${crl.number}.crl.pem`, toPem('X509 CRL', crl.der));

interface CrlText {
  number: number;
  deltaBase?: number;
  hasFreshest: boolean;
  entries: Map<string, { reason: string; date: string }>;
  text: string;
}

/** What `openssl crl -text` says about a CRL. */
function readCrl(pemFile: string): CrlText {
  const text = opensslOk('crl', '-in', pemFile, '-noout', '-text');
  const number = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text);
  expect(number, 'CRL Number extension').not.toBeNull();
  const delta = /X509v3 Delta CRL Indicator: critical\s*\n\s*(\d+)/.exec(text);
  const entries = new Map<string, { reason: string; date: string }>();
  const revoked = text.split('Revoked Certificates:')[1];
  if (revoked) {
    for (const chunk of revoked.split('Serial Number: ').slice(1)) {
      const serial = chunk.split(/\s/)[0]!.toLowerCase();
      const reason = /X509v3 CRL Reason Code:\s*\n\s*(.+)/.exec(chunk)?.[1]?.trim() ?? 'Unspecified';
      const date = /Revocation Date: (.+)/.exec(chunk)![1]!.trim();
      entries.set(serial, { reason, date });
    }
  }
  return { number: Number(number![1]), ...(delta ? { deltaBase: Number(delta[1]) } : {}), hasFreshest: /X509v3 Freshest CRL/.test(text), entries, text };
}

function smCryptoVerify(tbs: Buffer, signature: Buffer, publicHex: string, userId = DISTID): boolean {
  return smCrypto.doVerifySignature(new Uint8Array(tbs), signature.toString('hex'), publicHex, { der: true, hash: true, userId });
}

/** `openssl crl -verify` (which exits 0 even on failure, so read what it says); SM2 with sm-crypto-v2, see the top. */
function verifyCrlSignature(algorithm: KeyAlgorithm, crl: BuiltCrl, crlPem: string, issuingPem: string, issuingDer: Buffer): void {
  if (algorithm !== 'sm2') {
    const result = opensslOk('crl', '-in', crlPem, '-noout', '-verify', '-CAfile', issuingPem);
    expect(result).toContain('verify OK');
    expect(result).not.toContain('verify failure');
    return;
  }
  const [tbs, algorithmId, bits] = der.children(der.readWhole(crl.der));
  expect(der.readOid(der.children(algorithmId!)[0]!)).toBe('1.2.156.10197.1.501');
  const signature = der.content(bits!).subarray(1);
  const publicHex = readCertificate(issuingDer).spki.subarray(-65).toString('hex');
  expect(smCryptoVerify(der.raw(tbs!), signature, publicHex), 'SM2 CRL under the GM/T 0009 ID').toBe(true);
  expect(smCryptoVerify(der.raw(tbs!), signature, publicHex, ''), 'SM2 CRL under the empty ID').toBe(false);
}

/** `openssl verify -crl_check` of a leaf against CRLs: 'OK' or openssl's error text. */
function crlCheck(rootPem: string, issuingPem: string, leafPem: string, crls: string[], useDeltas = false): string {
  const args = ['verify', '-crl_check', ...(useDeltas ? ['-use_deltas'] : []), ...crls.flatMap((c) => ['-CRLfile', c]), '-CAfile', rootPem, '-untrusted', issuingPem, leafPem];
  const result = openssl(...args);
  if (result.status === 0) {
    expect(result.output).toContain(`${leafPem}: OK`);
    return 'OK';
  }
  return result.output;
}

async function refusal(promise: Promise<unknown>): Promise<EgovError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgovError);
  return error as EgovError;
}

// ------------------------------------------------------------ every algorithm

const ALGORITHMS = ['rsa-2048', 'ecdsa-p256', 'ecdsa-p384', 'ed25519', 'sm2'] as const satisfies readonly KeyAlgorithm[];

describe.each(ALGORITHMS)('revocation on a %s hierarchy', (algorithm) => {
  const name = `rev-${algorithm}`;
  let database: Database;
  let authority: Authority;
  let crls: CrlService;
  let rootPem = '';
  let issuingPem = '';
  let issuingDer: Buffer;
  const leaves: Record<'a' | 'b' | 'c' | 'd' | 'e', { serial: string; pem: string }> = {} as never;
  const numbers: number[] = [];
  /** Every state change we make, to find in the audit log at the end. */
  const expectedAudit: Array<{ action: string; object: string }> = [];

  const build = async (kind: 'full' | 'delta') => {
    const crl = await crls.build(name, kind);
    numbers.push(crl.number);
    expectedAudit.push({ action: 'ca.crl', object: `ca:${name}/crl:${crl.number}` });
    const pem = crlFile(crl);
    verifyCrlSignature(algorithm, crl, pem, issuingPem, issuingDer);
    return { crl, pem, text: readCrl(pem) };
  };
  const revoke = async (leaf: 'a' | 'b' | 'c' | 'd' | 'e', reason: Parameters<Authority['revoke']>[0]['reason']) => {
    const record = await authority.revoke({ ca: name, serial: leaves[leaf].serial, reason }, BY);
    expectedAudit.push({ action: reason === 'certificateHold' ? 'ca.suspend' : 'ca.revoke', object: `ca:${name}/serial:${leaves[leaf].serial}` });
    return record;
  };

  beforeAll(async () => {
    database = await openDatabase({ dataDir: mkdtempSync(path.join(workDir, `${name}-`)) });
    openDatabases.push(database);
    authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE) });
    crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600 });
    await authority.initHierarchy({ name, algorithm, subject: `/C=CN/O=City E-Gov/CN=Revocation ${algorithm} Root CA` }, BY);
    const [issuing, root] = await authority.chain(name);
    issuingDer = issuing!;
    rootPem = file('root.pem', toPem('CERTIFICATE', root!));
    issuingPem = file('issuing.pem', toPem('CERTIFICATE', issuing!));
    for (const leaf of ['a', 'b', 'c', 'd', 'e'] as const) {
      const { certificate } = await authority.issueWithKeygen(
        { ca: name, profile: 'server', subject: `CN=${leaf}.city.example`, sans: [`DNS:${leaf}.city.example`], p12Password: 'p12 password here' },
        BY,
      );
      leaves[leaf] = { serial: certificate.serial, pem: file(`${leaf}.pem`, certificate.certificatePem) };
      expectedAudit.push({ action: 'ca.issue', object: `ca:${name}/serial:${certificate.serial}` });
    }
  });

  it('openssl verify -crl_check passes with the full CRL before a revoke and fails "certificate revoked" after', async () => {
    const first = await build('full');
    expect(first.text.entries.size).toBe(0);
    expect(first.text.text).toContain('No Revoked Certificates.');
    expect(first.text.hasFreshest).toBe(true);
    expect(first.text.text).toMatch(/Next Update: \w{3} +\d+ [\d:]+ \d{4} GMT/);
    if (algorithm !== 'sm2') expect(crlCheck(rootPem, issuingPem, leaves.a.pem, [first.pem])).toBe('OK');

    const record = await revoke('a', 'keyCompromise');
    expect(record).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    const second = await build('full');
    expect(second.crl.number).toBeGreaterThan(first.crl.number);
    expect(second.text.entries.get(leaves.a.serial)).toMatchObject({ reason: 'Key Compromise' });
    expect(second.text.entries.size).toBe(1);
    if (algorithm !== 'sm2') {
      const after = crlCheck(rootPem, issuingPem, leaves.a.pem, [second.pem]);
      expect(after).toMatch(/error 23 at 0 depth lookup: certificate revoked/);
      // The other certificates stay good under the same CRL.
      expect(crlCheck(rootPem, issuingPem, leaves.b.pem, [second.pem])).toBe('OK');
      // And the old CRL still says good (nothing cached in the certificate).
      expect(crlCheck(rootPem, issuingPem, leaves.a.pem, [first.pem])).toBe('OK');
      // Negative control for `openssl crl -verify`: a corrupted signature is reported.
      const corrupted = Buffer.from(second.crl.der);
      corrupted[corrupted.length - 1]! ^= 0x01;
      const corruptedPem = file('corrupted.crl.pem', toPem('X509 CRL', corrupted));
      expect(openssl('crl', '-in', corruptedPem, '-noout', '-verify', '-CAfile', issuingPem).output).toContain('verify failure');
    }
  });

  it('delta CRLs: deltaCRLIndicator names the base, they list only what changed after it, numbers keep increasing', async () => {
    const base = await build('full');
    expect(base.text.entries.has(leaves.a.serial)).toBe(true);
    await revoke('b', 'superseded');
    const delta = await build('delta');
    expect(delta.crl.kind).toBe('delta');
    expect(delta.crl.baseNumber).toBe(base.crl.number);
    expect(delta.text.deltaBase).toBe(base.crl.number);
    expect(delta.text.number).toBe(delta.crl.number);
    expect(delta.crl.number).toBeGreaterThan(base.crl.number);
    expect(delta.text.hasFreshest).toBe(false);
    expect([...delta.text.entries.keys()]).toEqual([leaves.b.serial]);
    expect(delta.text.entries.get(leaves.b.serial)!.reason).toBe('Superseded');
    if (algorithm !== 'sm2') {
      // OpenSSL's own delta processing: base (without b) + delta (with b) = b revoked.
      expect(crlCheck(rootPem, issuingPem, leaves.b.pem, [base.pem])).toBe('OK');
      expect(crlCheck(rootPem, issuingPem, leaves.b.pem, [base.pem, delta.pem], true)).toMatch(/certificate revoked/);
    }
    const full = await build('full');
    expect(full.crl.number).toBeGreaterThan(delta.crl.number);
    expect(new Set(full.text.entries.keys())).toEqual(new Set([leaves.a.serial, leaves.b.serial]));
    // A delta right after a full CRL, with no change since: empty, pointing at the new base.
    const emptyDelta = await build('delta');
    expect(emptyDelta.text.deltaBase).toBe(full.crl.number);
    expect(emptyDelta.text.entries.size).toBe(0);
  });

  it('certificateHold then unsuspend: the hold is listed, the delta lists removeFromCRL, the next full CRL drops it', async () => {
    const held = await revoke('c', 'certificateHold');
    expect(held).toMatchObject({ status: 'hold', revocationReason: 'certificateHold' });
    const withHold = await build('full');
    expect(withHold.text.entries.get(leaves.c.serial)?.reason).toBe('Certificate Hold');
    if (algorithm !== 'sm2') expect(crlCheck(rootPem, issuingPem, leaves.c.pem, [withHold.pem])).toMatch(/certificate revoked/);
    // Suspending twice is refused.
    expect((await refusal(authority.revoke({ ca: name, serial: leaves.c.serial, reason: 'certificateHold' }, BY))).code).toBe('already-revoked');

    const released = await authority.unsuspend({ ca: name, serial: leaves.c.serial }, BY);
    expectedAudit.push({ action: 'ca.unsuspend', object: `ca:${name}/serial:${leaves.c.serial}` });
    expect(released.status).toBe('good');
    expect(released.revocationReason).toBeUndefined();
    const delta = await build('delta');
    expect(delta.text.deltaBase).toBe(withHold.crl.number);
    expect(delta.text.entries.get(leaves.c.serial)?.reason).toBe('Remove From CRL');
    expect(delta.text.entries.size).toBe(1);
    if (algorithm !== 'sm2') {
      // OpenSSL applies removeFromCRL: base says held, delta releases it.
      expect(crlCheck(rootPem, issuingPem, leaves.c.pem, [withHold.pem, delta.pem], true)).toBe('OK');
    }
    const after = await build('full');
    expect(after.text.entries.has(leaves.c.serial)).toBe(false);
    expect(after.text.entries.size).toBe(2);
    if (algorithm !== 'sm2') expect(crlCheck(rootPem, issuingPem, leaves.c.pem, [after.pem])).toBe('OK');
    // Releasing a certificate that is not held is refused.
    const notHeld = await refusal(authority.unsuspend({ ca: name, serial: leaves.c.serial }, BY));
    expect(notHeld.code).toBe('conflict');
    expect(notHeld.message).toMatch(/not suspended/);
  });

  it('a held certificate can be revoked for keyCompromise and keeps its original revocation date', async () => {
    const held = await revoke('d', 'certificateHold');
    const holdList = await build('full');
    const holdDate = holdList.text.entries.get(leaves.d.serial)!.date;
    await new Promise((resolve) => setTimeout(resolve, 1100)); // so a new date would show
    const revoked = await revoke('d', 'keyCompromise');
    expect(revoked).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise', revokedAt: held.revokedAt });
    const full = await build('full');
    expect(full.text.entries.get(leaves.d.serial)).toEqual({ reason: 'Key Compromise', date: holdDate });
    const unsuspend = await refusal(authority.unsuspend({ ca: name, serial: leaves.d.serial }, BY));
    expect(unsuspend.code).toBe('conflict');
    expect(unsuspend.message).toMatch(/revoked for good/);
    if (algorithm !== 'sm2') expect(crlCheck(rootPem, issuingPem, leaves.d.pem, [full.pem])).toMatch(/certificate revoked/);
  });

  it('refuses a second revoke (already-revoked) and an unknown serial (not-found), with audit records', async () => {
    const again = await refusal(authority.revoke({ ca: name, serial: leaves.a.serial, reason: 'superseded' }, BY));
    expect(again.code).toBe('already-revoked');
    expect(again.message).toContain(leaves.a.serial);
    const [lastA] = await listAudit(database, { limit: 1 });
    expect(lastA).toMatchObject({ action: 'ca.revoke', outcome: 'refused', object: `ca:${name}/serial:${leaves.a.serial}`, detail: { code: 'already-revoked' } });

    const unknown = await refusal(authority.revoke({ ca: name, serial: '0x0123456789abcdef01', reason: 'keyCompromise' }, BY));
    expect(unknown.code).toBe('not-found');
    expect(unknown.message).toContain('123456789abcdef01');
    const [lastB] = await listAudit(database, { limit: 1 });
    expect(lastB).toMatchObject({ outcome: 'refused', detail: { code: 'not-found' } });
    // The record of `a` is unchanged by the refused second revoke.
    expect(await authority.getCertificate(name, leaves.a.serial)).toMatchObject({ status: 'revoked', revocationReason: 'keyCompromise' });
    // e was never touched.
    expect((await authority.getCertificate(name, leaves.e.serial)).status).toBe('good');
  });

  it('numbers every CRL, full and delta, from one increasing sequence', () => {
    expect(numbers.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < numbers.length; i++) expect(numbers[i]!).toBeGreaterThan(numbers[i - 1]!);
  });

  it('has an audit record for every issue, revoke, suspend, unsuspend and CRL, and the chain verifies', async () => {
    const records = await listAudit(database, { limit: 10_000 });
    for (const wanted of expectedAudit) {
      const found = records.find((r) => r.action === wanted.action && r.object === wanted.object && r.outcome === 'success');
      expect(found, `${wanted.action} ${wanted.object}`).toBeDefined();
    }
    expect(records.filter((r) => r.action === 'ca.issue' && r.outcome === 'success')).toHaveLength(5);
    expect(records.filter((r) => r.action === 'ca.crl')).toHaveLength(numbers.length);
    const verified = await verifyAuditLog(database);
    expect(verified).toMatchObject({ ok: true });
    expect(verified.records).toBe(records.length);
  });
});

// ------------------------------------------------------------ a big CRL

describe('a CRL with 5,000 entries', () => {
  it('is built, signed, parsed by openssl crl -text and verified by openssl crl -verify', async () => {
    const database = await openDatabase({ dataDir: mkdtempSync(path.join(workDir, 'big-')) });
    openDatabases.push(database);
    const authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE) });
    await authority.initHierarchy({ name: 'big', algorithm: 'ecdsa-p256', subject: 'CN=Big CRL Root CA' }, BY);
    const [issuing] = await authority.chain('big');
    const issuingPem = file('big-issuing.pem', toPem('CERTIFICATE', issuing!));
    const { certificate } = await authority.issueWithKeygen({ ca: 'big', profile: 'agent', subject: 'CN=agent-0', p12Password: 'p12 password here' }, BY);

    // 4,999 revoked rows written straight into the table (issuing them one by one is the benchmark's job), plus one real revoke.
    const reasons = [0, 1, 3, 4, 5, 6, 9];
    const base = Date.parse('2026-01-01T00:00:00Z');
    await database.write(async (tx) => {
      for (let start = 0; start < 4999; start += 500) {
        const rows = [];
        for (let i = start; i < Math.min(start + 500, 4999); i++) {
          rows.push({
            ca_name: 'big',
            serial: (0x10_0000_0000_0000_0000n + BigInt(i)).toString(16),
            profile: 'agent',
            subject: `CN=agent-${i + 1}`,
            sans: '[]',
            key_algorithm: 'ecdsa-p256',
            not_before: certificate.notBefore,
            not_after: certificate.notAfter,
            issued_at: certificate.issuedAt,
            fingerprint_sha256: i.toString(16).padStart(64, '0'),
            der: certificate.der,
            status: reasons[i % reasons.length] === 6 ? ('hold' as const) : ('revoked' as const),
            revoked_at: new Date(base + i * 1000).toISOString(),
            revocation_reason: reasons[i % reasons.length]!,
            status_changed_seq: 1,
          });
        }
        await tx.insertInto('certificate').values(rows).execute();
      }
    });
    await authority.revoke({ ca: 'big', serial: certificate.serial, reason: 'cessationOfOperation' }, BY);
    const crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600 });
    const started = performance.now();
    const crl = await crls.build('big', 'full');
    const buildMs = performance.now() - started;
    expect(crl.entries).toBe(5000);
    expect(buildMs).toBeLessThan(5000);
    const pem = file('big.crl.pem', toPem('X509 CRL', crl.der));
    const parsed = readCrl(pem);
    expect(parsed.entries.size).toBe(5000);
    expect(parsed.entries.get(certificate.serial)?.reason).toBe('Cessation Of Operation');
    expect(parsed.entries.get('100000000000000000')?.reason).toBe('Unspecified');
    expect(parsed.entries.get('100000000000000001')?.reason).toBe('Key Compromise');
    expect(parsed.entries.get('100000000000000005')?.reason).toBe('Certificate Hold');
    expect(parsed.text.match(/Serial Number: /g)).toHaveLength(5000);
    expect(opensslOk('crl', '-in', pem, '-noout', '-verify', '-CAfile', issuingPem)).toContain('verify OK');
    // And the DER form parses too.
    const derFile = file('big.crl', crl.der);
    expect(opensslOk('crl', '-inform', 'DER', '-in', derFile, '-noout', '-crlnumber')).toMatch(/crlNumber=0?1\b|crlNumber=0x0?1\b/);
  });
});
