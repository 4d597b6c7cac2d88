// Bad input to the CA (issue 2, section 5): every kind of broken or
// forbidden request gets an EgovError with a stable code and a message that
// names the problem, an audit record with outcome `refused`, and no
// certificate row. Then the same through the real CLI (compiled,
// `node dist/egov-ops/main.js`): exit codes per `--help` and `--json` errors.

import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, fixedPassphrase, type KeyAlgorithm } from '../ca/index.js';
import * as der from '../ca/asn1/der.js';
import { GENPKEY_ARGS, opensslOk } from './support/openssl.js';
import { EgovError, listAudit, openDatabase, verifyAuditLog, type Database, type ErrorCode } from '../core/index.js';

const PASSPHRASE = 'bad input test passphrase';
const BY = { actor: 'test:bad-input', source: '203.0.113.7' };
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'dist/egov-ops/main.js');

let workDir = '';
const openDatabases: Database[] = [];

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'egov-ca-bad-input-'));
});
afterAll(async () => {
  for (const database of openDatabases.splice(0)) await database.close().catch(() => undefined);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ------------------------------------------------------------ helpers


let fileCounter = 0;
function file(name: string, content?: string | Buffer): string {
  const target = path.join(workDir, `${++fileCounter}-${name}`);
  if (content !== undefined) writeFileSync(target, content);
  return target;
}

function opensslKey(algorithm: KeyAlgorithm | 'rsa-1024'): string {
  const out = file(`${algorithm}.key`);
  opensslOk('genpkey', ...GENPKEY_ARGS[algorithm], '-out', out);
  return out;
}

/** A CSR made by `openssl req` (DER); SM2 ones signed with the GM/T 0009 ID. */
function opensslCsr(algorithm: KeyAlgorithm | 'rsa-1024', subject: string, san?: string): Buffer {
  const out = file('request.der');
  const args = ['req', '-new', '-key', opensslKey(algorithm), '-subj', subject, '-outform', 'DER', '-out', out];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  if (algorithm === 'sm2') args.push('-sm3', '-sigopt', 'distid:1234567812345678');
  opensslOk(...args);
  return readFileSync(out);
}

const nameDer = (attributes: Array<[string, string]>) =>
  der.sequence(...attributes.map(([oid, value]) => der.setOf(der.sequence(der.oid(oid), der.utf8String(value)))));
const CN = '2.5.4.3';
const OU = '2.5.4.11';

/**
 * A CSR built by hand (P-256, correctly signed) for what `openssl req` refuses
 * to write: over-long names, a malformed IP SAN. openssl still checks its
 * self-signature, so a refusal is about the content, not the encoding.
 */
function handMadeCsr(subject: Buffer, sanGeneralNames?: Buffer): Buffer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const attributes = sanGeneralNames
    ? der.implicitConstructed(
        0,
        der.sequence(der.oid('1.2.840.113549.1.9.14'), der.setOf(der.sequence(der.sequence(der.oid('2.5.29.17'), der.octetString(sanGeneralNames))))),
      )
    : der.implicitConstructed(0, Buffer.alloc(0));
  const info = der.sequence(der.integer(0), subject, publicKey.export({ type: 'spki', format: 'der' }), attributes);
  const csr = der.sequence(info, der.sequence(der.oid('1.2.840.10045.4.3.2')), der.bitString(sign('sha256', info, privateKey)));
  const csrFile = file('handmade.der', csr);
  expect(opensslOk('req', '-inform', 'DER', '-in', csrFile, '-noout', '-verify')).toMatch(/verify OK/);
  return csr;
}

async function countCertificates(database: Database): Promise<number> {
  const row = await database.db.selectFrom('certificate').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

// ------------------------------------------------------------ the library

describe('bad input to the Authority', () => {
  let database: Database;
  let authority: Authority;
  let goodCsr: Buffer;
  let refusalCount = 0;

  /**
   * Runs `attempt`, which must fail with `code` and a message matching
   * `message`; checks the refusal was audited and no certificate was stored.
   */
  async function refused(attempt: () => Promise<unknown>, code: ErrorCode, message: RegExp, action = 'ca.issue'): Promise<EgovError> {
    const rowsBefore = await countCertificates(database);
    const [lastBefore] = await listAudit(database, { limit: 1 });
    const error = await attempt().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'it must throw').toBeInstanceOf(EgovError);
    const egov = error as EgovError;
    if (process.env.SHOW_MESSAGES) console.log(`${egov.code} | ${egov.message}`);
    expect({ code: egov.code, message: egov.message }).toEqual({ code, message: expect.stringMatching(message) });
    refusalCount++;
    expect(egov.httpStatus).toBeGreaterThanOrEqual(400);
    expect(egov.httpStatus).toBeLessThan(500);
    expect(await countCertificates(database)).toBe(rowsBefore);
    const [last] = await listAudit(database, { limit: 1 });
    expect(last!.id).toBe((lastBefore?.id ?? 0) + 1);
    expect(last).toMatchObject({ action, outcome: 'refused', actor: BY.actor, source: BY.source, detail: { code, reason: egov.message } });
    return egov;
  }

  beforeAll(async () => {
    database = await openDatabase({ dataDir: mkdtempSync(path.join(workDir, 'library-')) });
    openDatabases.push(database);
    authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE) });
    await authority.initHierarchy({ name: 'city-rsa', algorithm: 'rsa-2048', subject: 'CN=City RSA Root CA,O=City E-Gov,C=CN' }, BY);
    await authority.initHierarchy({ name: 'city-sm2', algorithm: 'sm2', subject: 'CN=City SM2 Root CA,O=City E-Gov,C=CN' }, BY);
    goodCsr = opensslCsr('ecdsa-p256', '/O=City E-Gov/CN=www.city.example', 'DNS:www.city.example');
    // The good CSR is good: the refusals below are about what was changed.
    await authority.issueFromCsr({ ca: 'city-rsa', profile: 'server', csr: goodCsr }, BY);
    expect(await countCertificates(database)).toBe(1);
  });

  const issue = (csr: Buffer | string, profile = 'server', ca = 'city-rsa', sans?: string[]) => () =>
    authority.issueFromCsr({ ca, profile, csr, ...(sans ? { sans } : {}) }, BY);

  it('refuses truncated DER, random bytes, empty input and PEM with a garbage body', async () => {
    await refused(issue(goodCsr.subarray(0, goodCsr.length - 25)), 'bad-encoding', /^CSR is not valid DER: element at byte 0 claims \d+ bytes, \d+ remain/);
    await refused(issue(goodCsr.subarray(0, 10)), 'bad-encoding', /^CSR is not valid DER: element at byte 0 claims \d+ bytes, 6 remain/);
    await refused(issue(randomBytes(300)), 'bad-encoding', /^CSR\b/);
    await refused(issue(Buffer.alloc(0)), 'bad-encoding', /CSR: empty input/);
    await refused(issue('-----BEGIN CERTIFICATE REQUEST-----\n@@@ this is not base64 at all !!! @@@\n-----END CERTIFICATE REQUEST-----\n'), 'bad-encoding', /^CSR is not valid DER/);
    await refused(issue(`-----BEGIN CERTIFICATE REQUEST-----\n${randomBytes(180).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`), 'bad-encoding', /^CSR\b/);
    await refused(issue('-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n'), 'bad-encoding', /PEM armour is incomplete/);
    await refused(issue(`-----BEGIN CERTIFICATE-----\n${goodCsr.toString('base64')}\n-----END CERTIFICATE-----\n`), 'bad-encoding', /expected PEM "CERTIFICATE REQUEST".*found "CERTIFICATE"/);
    await refused(issue(Buffer.concat([goodCsr, Buffer.from([0, 0])])), 'bad-encoding', /^CSR is not valid DER: 2 trailing bytes/);
  });

  it('refuses a CSR whose signature does not verify (one byte flipped inside the signed part)', async () => {
    const tampered = Buffer.from(goodCsr);
    const at = tampered.indexOf('www.city.example', 0, 'latin1');
    expect(at).toBeGreaterThan(0);
    tampered[at] = 'v'.charCodeAt(0); // CN and SAN now read vww.city.example: still well-formed DER
    // openssl agrees that it is well-formed but badly signed.
    const check = spawnSync('openssl', ['req', '-inform', 'DER', '-in', file('tampered.der', tampered), '-noout', '-verify', '-subject'], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toMatch(/verify failure/i);
    expect(check.stdout).toContain('vww.city.example');
    await refused(issue(tampered), 'bad-signature', /CSR signature does not verify/);
  });

  it('refuses keys a profile forbids: RSA-1024, Ed25519 for person, SM2 on an RSA CA and RSA on an SM2 CA', async () => {
    await refused(issue(opensslCsr('rsa-1024', '/CN=old.city.example', 'DNS:old.city.example')), 'policy-violation', /profile server: RSA key of 1024 bits is not allowed/);
    const person = '/OU=Civil Affairs/serialNumber=110101199001011234/CN=Li Si';
    await refused(issue(opensslCsr('ed25519', person), 'person'), 'policy-violation', /profile person: Ed25519 keys are not allowed/);
    await refused(issue(opensslCsr('sm2', '/CN=sm2.city.example', 'DNS:sm2.city.example')), 'policy-violation', /CA "city-rsa" is not an SM2 hierarchy/);
    await refused(issue(opensslCsr('rsa-2048', '/CN=rsa.city.example', 'DNS:rsa.city.example'), 'server', 'city-sm2'), 'policy-violation', /CA "city-sm2" is an SM2 hierarchy and issues only SM2 keys/);
    // Server-side key generation is held to the same rules.
    await refused(
      () => authority.issueWithKeygen({ ca: 'city-rsa', profile: 'person', subject: person, keyAlgorithm: 'ed25519', p12Password: 'p12 password here' }, BY),
      'policy-violation',
      /Ed25519 keys are not allowed/,
    );
  });

  it('refuses an oversized CN and a subject over 1 KB, from a CSR and from a keygen request', async () => {
    const cn65 = 'a'.repeat(61) + '.com';
    expect(cn65).toHaveLength(65);
    await refused(issue(handMadeCsr(nameDer([[CN, cn65]]), der.sequence(der.implicitPrimitive(2, Buffer.from('ok.city.example'))))), 'bad-request', /subject: CN is 65 characters, the limit is 64/);
    const bigName = nameDer([...Array.from({ length: 18 }, (_, i): [string, string] => [OU, `Department number ${i} of the municipal e-government office`]), [CN, 'big.city.example']]);
    expect(bigName.length).toBeGreaterThan(1024);
    await refused(issue(handMadeCsr(bigName, der.sequence(der.implicitPrimitive(2, Buffer.from('big.city.example'))))), 'bad-request', /subject: longer than 1024 bytes/);
    const keygen = (subject: string) => () => authority.issueWithKeygen({ ca: 'city-rsa', profile: 'server', subject, sans: ['DNS:k.city.example'], p12Password: 'p12 password here' }, BY);
    await refused(keygen(`CN=${cn65}`), 'bad-request', /CN is 65 characters/);
    await refused(keygen(`CN=x,${Array.from({ length: 20 }, (_, i) => `OU=Department number ${i} of the municipal e-government`).join(',')}`), 'bad-request', /longer than 1024 bytes/);
    // And a missing required attribute, for completeness.
    await refused(issue(opensslCsr('ecdsa-p256', '/CN=Wang Wu/OU=Finance'), 'person'), 'policy-violation', /profile person: subject must carry serialNumber/);
  });

  it('refuses SANs that are not valid DNS names or IP addresses, and an IP in a DNS field', async () => {
    await refused(issue(opensslCsr('ecdsa-p256', '/CN=x.city.example', 'DNS:-bad-.example')), 'bad-request', /"DNS:-bad-\.example" is not a valid DNS name/);
    await refused(issue(opensslCsr('ecdsa-p256', '/CN=x.city.example', 'DNS:exa mple.com')), 'bad-request', /"DNS:exa mple\.com" is not a valid DNS name/);
    await refused(issue(opensslCsr('ecdsa-p256', '/CN=x.city.example', 'DNS:10.1.2.3')), 'bad-request', /"DNS:10\.1\.2\.3" is an IP address, not a DNS name/);
    // openssl will not write IP:999.1.1.1; a 5-byte iPAddress is the DER form of nonsense.
    await refused(issue(handMadeCsr(nameDer([[CN, 'x.city.example']]), der.sequence(der.implicitPrimitive(7, Buffer.from([999 & 0xff, 1, 1, 1, 1]))))), 'bad-request', /IP address of 5 bytes/);
    // SANs given by the RA (replacing the CSR's) and for keygen are checked the same way.
    await refused(issue(goodCsr, 'server', 'city-rsa', ['IP:999.1.1.1']), 'bad-request', /"IP:999\.1\.1\.1" is not a valid IPv4 or IPv6 address/);
    await refused(issue(goodCsr, 'server', 'city-rsa', ['DNS:192.168.1.1']), 'bad-request', /is an IP address, not a DNS name/);
    await refused(
      () => authority.issueWithKeygen({ ca: 'city-rsa', profile: 'server', subject: 'CN=k.city.example', sans: ['DNS:exa mple.com'], p12Password: 'p12 password here' }, BY),
      'bad-request',
      /not a valid DNS name/,
    );
    // No SAN at all for a profile that needs one.
    await refused(issue(opensslCsr('ecdsa-p256', '/CN=nosan.city.example')), 'policy-violation', /profile server: at least one subject alternative name/);
  });

  it('refuses an unknown CA and an unknown profile, naming them', async () => {
    const unknownCa = await refused(issue(goodCsr, 'server', 'no-such-ca'), 'unknown-ca', /unknown CA "no-such-ca"; known: city-rsa, city-sm2/);
    expect(unknownCa.httpStatus).toBe(404);
    await refused(issue(goodCsr, 'webmaster'), 'unknown-profile', /unknown profile "webmaster"; known: person, device, software, server, agent/);
    await refused(() => authority.revoke({ ca: 'no-such-ca', serial: '01', reason: 'keyCompromise' }, BY), 'unknown-ca', /unknown CA "no-such-ca"/, 'ca.revoke');
  });

  it('refuses a second revoke of the same serial and a serial never issued', async () => {
    const issued = await authority.issueFromCsr({ ca: 'city-rsa', profile: 'server', csr: goodCsr }, BY);
    await authority.revoke({ ca: 'city-rsa', serial: issued.serial, reason: 'keyCompromise' }, BY);
    const again = await refused(() => authority.revoke({ ca: 'city-rsa', serial: issued.serial, reason: 'superseded' }, BY), 'already-revoked', new RegExp(`certificate ${issued.serial} was already revoked`), 'ca.revoke');
    expect(again.httpStatus).toBe(409);
    await refused(() => authority.revoke({ ca: 'city-rsa', serial: 'ff00ff00ff00ff00ff', reason: 'keyCompromise' }, BY), 'not-found', /no certificate with serial ff00ff00ff00ff00ff/, 'ca.revoke');
    await refused(() => authority.revoke({ ca: 'city-rsa', serial: 'not-hex!', reason: 'keyCompromise' }, BY), 'bad-request', /serial "not-hex!" is not a hexadecimal serial/, 'ca.revoke');
    expect((await authority.getCertificate('city-rsa', issued.serial)).revocationReason).toBe('keyCompromise');
  });

  it('kept the audit chain intact through all of it', async () => {
    const refusals = (await listAudit(database, { limit: 1000 })).filter((r) => r.outcome === 'refused');
    expect(refusals.length).toBe(refusalCount);
    expect(refusalCount).toBe(34);
    expect(await verifyAuditLog(database)).toMatchObject({ ok: true });
    // Only the two good issuances left rows.
    expect(await countCertificates(database)).toBe(2);
  });
});

// ------------------------------------------------------------ the CLI

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json?: { error?: { code: string; message: string } } & Record<string, unknown>;
}

describe('bad input through the CLI (exit codes and --json errors)', () => {
  let dataDir = '';

  function cli(args: string[], passphrase = PASSPHRASE): Promise<CliResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, EGOV_OPS_CA_PASSPHRASE: passphrase };
    for (const key of ['EGOV_OPS_DATA_DIR', 'EGOV_OPS_CONFIG', 'EGOV_OPS_DATABASE_URL']) delete env[key];
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => {
        let json: CliResult['json'];
        try {
          json = JSON.parse(stdout);
        } catch {
          /* not JSON */
        }
        resolve({ code, stdout, stderr, ...(json ? { json } : {}) });
      });
    });
  }

  /** A --json run that must exit `exit` with error `code` and a message matching `message`. */
  async function fails(args: string[], exit: number, code: ErrorCode, message: RegExp, passphrase?: string): Promise<void> {
    const result = await cli(['--json', ...args], passphrase);
    expect({ exit: result.code, error: result.json?.error }, `${args.join(' ')}\n${result.stderr}`).toEqual({ exit, error: { code, message: expect.stringMatching(message) } });
    expect(result.stderr).toContain(`egov-ops: ${result.json!.error!.message}`);
  }

  beforeAll(async () => {
    expect(existsSync(CLI), 'dist/egov-ops/main.js is missing: run `node scripts/build.mjs` (npm test does it in pretest)').toBe(true);
    dataDir = mkdtempSync(path.join(workDir, 'cli-'));
    const init = await cli(['--json', 'ca', 'init', '--ca', 'cli-rsa', '--algorithm', 'rsa-2048', '--subject', '/C=CN/O=City E-Gov/CN=CLI RSA Root CA']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.json).toMatchObject({ name: 'cli-rsa', algorithm: 'rsa-2048' });
  });

  it('documents the exit codes in --help', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    const text = help.stdout.replace(/\s+/g, ' ');
    expect(text).toContain('2 bad input or usage, 3 not found, 4 refused by policy or conflict, 5 authentication (e.g. wrong passphrase)');
  });

  it('gives each refusal its exit code and a JSON error, and stores no certificate', async () => {
    const good = file('good.csr', opensslCsr('ecdsa-p256', '/CN=cli.city.example', 'DNS:cli.city.example'));
    const ok = await cli(['--json', 'ca', 'issue', '--ca', 'cli-rsa', '--profile', 'server', '--csr', good]);
    expect(ok.code, ok.stderr).toBe(0);
    const serial = String(ok.json!.serial);
    expect(serial).toMatch(/^[0-9a-f]{18}$/);

    const csr = readFileSync(good);
    const truncated = file('truncated.der', csr.subarray(0, csr.length - 30));
    const random = file('random.der', randomBytes(256));
    const tampered = Buffer.from(csr);
    tampered[tampered.indexOf('cli.city.example', 0, 'latin1')] = 'x'.charCodeAt(0);
    const badSignature = file('bad-signature.der', tampered);
    const rsa1024 = file('rsa1024.der', opensslCsr('rsa-1024', '/CN=old.city.example', 'DNS:old.city.example'));
    const sm2 = file('sm2.der', opensslCsr('sm2', '/CN=sm2.city.example', 'DNS:sm2.city.example'));
    const longCn = file('long-cn.der', handMadeCsr(nameDer([[CN, 'c'.repeat(65)]]), der.sequence(der.implicitPrimitive(2, Buffer.from('ok.city.example')))));
    const issue = (csrFile: string, ...extra: string[]) => ['ca', 'issue', '--ca', 'cli-rsa', '--profile', 'server', '--csr', csrFile, ...extra];

    // Independent refusals, run a few at a time (each is a node process; SQLite serialises their audit writes).
    const cases: Array<Parameters<typeof fails>> = [
      [issue(truncated), 2, 'bad-encoding', /^CSR is not valid DER/],
      [issue(random), 2, 'bad-encoding', /^CSR\b/],
      [issue(longCn), 2, 'bad-request', /CN is 65 characters/],
      [issue(good, '--san', 'IP:999.1.1.1'), 2, 'bad-request', /"IP:999\.1\.1\.1" is not a valid IPv4 or IPv6 address/],
      [issue(good, '--san', 'DNS:-bad-.example'), 2, 'bad-request', /not a valid DNS name/],
      [issue(badSignature), 4, 'bad-signature', /CSR signature does not verify/],
      [issue(rsa1024), 4, 'policy-violation', /RSA key of 1024 bits is not allowed/],
      [issue(sm2), 4, 'policy-violation', /not an SM2 hierarchy/],
      [['ca', 'issue', '--ca', 'no-such-ca', '--profile', 'server', '--csr', good], 3, 'unknown-ca', /unknown CA "no-such-ca"/],
      [['ca', 'issue', '--ca', 'cli-rsa', '--profile', 'webmaster', '--csr', good], 3, 'unknown-profile', /unknown profile "webmaster"/],
      [issue(good), 5, 'wrong-passphrase', /passphrase/, 'not the right passphrase'],
      [['ca', 'revoke', '--ca', 'cli-rsa', '--serial', 'ab'.repeat(9), '--reason', 'keyCompromise'], 3, 'not-found', /no certificate with serial/],
      [['ca', 'revoke', '--ca', 'cli-rsa', '--serial', serial, '--reason', 'lostIt'], 2, 'bad-request', /unknown revocation reason "lostIt"/],
      [['ca', 'show', '--ca', 'cli-rsa', '--serial', 'ab'.repeat(9)], 3, 'not-found', /no certificate with serial/],
    ];
    for (let i = 0; i < cases.length; i += 3) await Promise.all(cases.slice(i, i + 3).map((c) => fails(...c)));

    // Revoke, then revoke again.
    const revoked = await cli(['--json', 'ca', 'revoke', '--ca', 'cli-rsa', '--serial', serial, '--reason', 'keyCompromise']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.json).toMatchObject({ serial, status: 'revoked', revocationReason: 'keyCompromise' });
    await fails(['ca', 'revoke', '--ca', 'cli-rsa', '--serial', serial, '--reason', 'keyCompromise'], 4, 'already-revoked', /already revoked/);

    // Only the one good certificate exists; every refusal is in the audit log and the chain holds.
    const list = await cli(['--json', 'ca', 'list', '--ca', 'cli-rsa']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(1);
    const database = await openDatabase({ dataDir });
    openDatabases.push(database);
    expect(await countCertificates(database)).toBe(1);
    const refusals = (await listAudit(database, { limit: 1000 })).filter((r) => r.outcome === 'refused');
    expect(refusals.map((r) => r.detail.code)).toEqual(
      expect.arrayContaining(['bad-encoding', 'bad-request', 'bad-signature', 'policy-violation', 'unknown-ca', 'unknown-profile', 'wrong-passphrase', 'not-found', 'already-revoked']),
    );
    expect(refusals.every((r) => r.actor.startsWith('cli:') && r.source === 'cli')).toBe(true);
    const verify = await cli(['--json', 'audit-log', 'verify']);
    expect(verify.code).toBe(0);
    expect(verify.json).toMatchObject({ ok: true });
  });
});
