// The OCSP responder (RFC 6960) over real HTTP, asked by the real
// `openssl ocsp`: good / revoked (with reason) / unknown, nonces, the
// delegated responder certificate and the issuer-signed mode, GET and POST,
// the cache following status changes at once, malformed and unauthorised
// requests, and an SM2 hierarchy. The last describe runs the CA end to end
// (init, issue, revoke, CRL, OCSP) on PostgreSQL.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { sm2 as smCrypto } from 'sm-crypto-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, caRoutes, CrlService, fixedPassphrase, OcspResponder, readCertificate, toPem, type KeyAlgorithm } from '../ca/index.js';
import * as der from '../ca/asn1/der.js';
import { createLogger, createServer, listAudit, openDatabase, verifyAuditLog, type Database } from '../core/index.js';
import { usePostgres } from './support/postgres.js';

const PASSPHRASE = 'ocsp test passphrase 2026';
const DISTID = '1234567812345678';
const BY = { actor: 'test:ocsp', source: '127.0.0.1' };

let workDir = '';
const cleanups: Array<() => Promise<unknown>> = [];

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'egov-ca-ocsp-'));
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ------------------------------------------------------------ helpers

/** openssl, asynchronously: the server under test runs in this process and must keep answering. */
function openssl(...args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, output }));
  });
}

async function opensslOk(...args: string[]): Promise<string> {
  const result = await openssl(...args);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${result.status}:\n${result.output}`);
  return result.output;
}

let fileCounter = 0;
function file(name: string, content?: string | Buffer): string {
  const target = path.join(workDir, `${++fileCounter}-${name}`);
  if (content !== undefined) writeFileSync(target, content);
  return target;
}

interface Hierarchy {
  name: string;
  rootPem: string;
  issuingPem: string;
  issuingDer: Buffer;
  leaf(label: string): Promise<{ serial: string; pem: string }>;
}

async function hierarchy(authority: Authority, name: string, algorithm: KeyAlgorithm): Promise<Hierarchy> {
  await authority.initHierarchy({ name, algorithm, subject: `/C=CN/O=City E-Gov/CN=${name} Root CA` }, BY);
  const [issuing, root] = await authority.chain(name);
  return {
    name,
    rootPem: file(`${name}-root.pem`, toPem('CERTIFICATE', root!)),
    issuingPem: file(`${name}-issuing.pem`, toPem('CERTIFICATE', issuing!)),
    issuingDer: issuing!,
    async leaf(label) {
      const { certificate } = await authority.issueWithKeygen(
        { ca: name, profile: 'server', subject: `CN=${label}.city.example`, sans: [`DNS:${label}.city.example`], p12Password: 'p12 password here' },
        BY,
      );
      return { serial: certificate.serial, pem: file(`${name}-${label}.pem`, certificate.certificatePem) };
    },
  };
}

interface Served {
  app: FastifyInstance;
  base: string;
  crls: CrlService;
}

/** The real HTTP server: core's fastify with the CA routes, on a free loopback port. */
async function serve(authority: Authority): Promise<Served> {
  const app = createServer({ logger: createLogger('silent') });
  const crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600 });
  const ocsp = new OcspResponder(authority, { validitySeconds: 3600 });
  await app.register(caRoutes, { authority, crls, ocsp });
  await app.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => app.close());
  return { app, base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, crls };
}

/** `openssl ocsp` against our responder (POST), returning everything it printed. */
function ask(served: Served, h: Hierarchy, target: { cert?: string; serial?: string }, ...extra: string[]) {
  return openssl(
    'ocsp',
    '-issuer',
    h.issuingPem,
    ...(target.cert ? ['-cert', target.cert] : []),
    ...(target.serial ? ['-serial', target.serial] : []),
    '-url',
    `${served.base}/ocsp/${h.name}`,
    '-CAfile',
    h.rootPem,
    '-resp_text',
    ...extra,
  );
}

/** The status line openssl prints for one certificate, with its indented details. */
function statusOf(output: string, label: string): string {
  const start = output.indexOf(`${label}: `);
  if (start === -1) return '';
  const lines = output.slice(start).split('\n');
  const body = [lines[0]!];
  for (const line of lines.slice(1)) {
    if (!/^\s/.test(line)) break;
    body.push(line.trim());
  }
  return body.join('\n');
}

/** A date as openssl prints it: "Nov  3 14:31:10 2026 GMT". */
function opensslDate(date: Date): string {
  const month = date.toUTCString().slice(8, 11);
  return `${month} ${String(date.getUTCDate()).padStart(2, ' ')} ${date.toISOString().slice(11, 19)} ${date.getUTCFullYear()} GMT`;
}

const hexOf = (buffer: Buffer) => buffer.toString('hex').toUpperCase();

/** The nonce openssl shows in -req_text / -resp_text output, as hex. */
function nonceIn(text: string): string | undefined {
  const m = /OCSP Nonce:\s*\n\s*([0-9A-Fa-f]+)/.exec(text);
  return m?.[1]?.toUpperCase();
}

/** The parts of a DER OCSPResponse we check by hand. */
function parseResponse(response: Buffer): { status: number; tbs?: Buffer; signatureAlgorithm?: string; signature?: Buffer; certs: Buffer[] } {
  const [statusNode, bytesNode] = der.children(der.readWhole(response));
  const status = der.content(statusNode!)[0]!;
  if (!bytesNode) return { status, certs: [] };
  const [, octets] = der.children(der.children(bytesNode)[0]!);
  const [tbs, algorithm, bits, certsNode] = der.children(der.readWhole(der.content(octets!)));
  const certs = certsNode ? der.children(der.children(certsNode)[0]!).map((c) => der.raw(c)) : [];
  return { status, tbs: der.raw(tbs!), signatureAlgorithm: der.readOid(der.children(algorithm!)[0]!), signature: der.content(bits!).subarray(1), certs };
}

function smCryptoVerify(tbs: Buffer, signature: Buffer, spki: Buffer, userId = DISTID): boolean {
  return smCrypto.doVerifySignature(new Uint8Array(tbs), signature.toString('hex'), spki.subarray(-65).toString('hex'), { der: true, hash: true, userId });
}

// ------------------------------------------------------------ the responder

describe('OCSP responder over HTTP, asked by openssl ocsp', () => {
  let database: Database;
  let delegated: Authority;
  let byIssuer: Authority;
  let server: Served;
  let issuerServer: Served;
  let ec: Hierarchy;
  let sm2: Hierarchy;
  let other: Hierarchy;
  let good: { serial: string; pem: string };
  let revoked: { serial: string; pem: string };
  let held: { serial: string; pem: string };

  beforeAll(async () => {
    database = await openDatabase({ dataDir: mkdtempSync(path.join(workDir, 'db-')) });
    cleanups.push(() => database.close());
    delegated = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE) });
    ec = await hierarchy(delegated, 'ocsp-ec', 'ecdsa-p256');
    sm2 = await hierarchy(delegated, 'ocsp-sm2', 'sm2');
    other = await hierarchy(delegated, 'ocsp-other', 'ecdsa-p256');
    good = await ec.leaf('good');
    revoked = await ec.leaf('revoked');
    held = await ec.leaf('held');
    await delegated.revoke({ ca: 'ocsp-ec', serial: revoked.serial, reason: 'keyCompromise' }, BY);
    await delegated.revoke({ ca: 'ocsp-ec', serial: held.serial, reason: 'certificateHold' }, BY);
    server = await serve(delegated);
    // The same data served by an Authority whose responses the issuing CA key signs.
    byIssuer = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE), ocspSigner: 'issuer' });
    issuerServer = await serve(byIssuer);
  });

  it('answers good, revoked (with reason and time) and certificateHold; openssl verifies the delegated responder', async () => {
    const goodAnswer = await ask(server, ec, { cert: good.pem });
    expect(goodAnswer.status).toBe(0);
    expect(goodAnswer.output).toContain('Response verify OK');
    expect(goodAnswer.output).not.toMatch(/WARNING/);
    expect(statusOf(goodAnswer.output, good.pem)).toMatch(/^.*: good\nThis Update: .+ GMT\nNext Update: .+ GMT$/);

    const revokedAnswer = await ask(server, ec, { cert: revoked.pem });
    expect(revokedAnswer.output).toContain('Response verify OK');
    const revokedStatus = statusOf(revokedAnswer.output, revoked.pem);
    expect(revokedStatus).toMatch(/: revoked\n/);
    expect(revokedStatus).toContain('Reason: keyCompromise');
    const record = await delegated.getCertificate('ocsp-ec', revoked.serial);
    const when = new Date(record.revokedAt!);
    expect(revokedStatus).toContain(`Revocation Time: ${opensslDate(when)}`);

    const heldAnswer = await ask(server, ec, { cert: held.pem });
    expect(statusOf(heldAnswer.output, held.pem)).toMatch(/: revoked\n[\s\S]*Reason: certificateHold/);

    // Delegated mode: the responder certificate rides along, issued by the issuing CA for OCSP signing,
    // and the Responder Id is its key hash.
    const context = await delegated.signingContext('ocsp-ec');
    const responder = context.ocsp!.certificate;
    expect(goodAnswer.output).toContain(`Responder Id: ${hexOf(responder.subjectKeyId!)}`);
    expect(goodAnswer.output).toContain('OCSP Responder');
    const responderPem = file('responder.pem', toPem('CERTIFICATE', responder.der));
    const responderText = await opensslOk('x509', '-in', responderPem, '-noout', '-text');
    expect(responderText).toMatch(/X509v3 Extended Key Usage:\s*\n\s*OCSP Signing/);
    expect(responderText).toContain('OCSP No Check');
    expect(await opensslOk('verify', '-CAfile', ec.rootPem, '-untrusted', ec.issuingPem, '-purpose', 'ocsphelper', responderPem)).toContain(': OK');
  });

  it('answers unknown for a serial this CA never issued', async () => {
    const answer = await ask(server, ec, { serial: '0x1234' });
    expect(answer.output).toContain('Response verify OK');
    expect(statusOf(answer.output, '0x1234')).toMatch(/^0x1234: unknown\n/);
    // A real serial of ANOTHER hierarchy, asked with this issuer, is unknown here too.
    const foreign = await other.leaf('foreign');
    const asked = await ask(server, ec, { serial: `0x${foreign.serial}` });
    expect(statusOf(asked.output, `0x${foreign.serial}`)).toContain(': unknown');
  });

  it('echoes the nonce openssl sends, and answers without one under -no_nonce', async () => {
    const requestFile = file('nonce-req.der');
    const responseFile = file('nonce-resp.der');
    const withNonce = await ask(server, ec, { cert: good.pem }, '-reqout', requestFile, '-respout', responseFile);
    expect(withNonce.output).toContain('Response verify OK');
    expect(withNonce.output).not.toContain('WARNING: no nonce in response');
    const requestText = await opensslOk('ocsp', '-reqin', requestFile, '-req_text');
    const sent = nonceIn(requestText);
    expect(sent).toMatch(/^[0-9A-F]{20,}$/);
    expect(nonceIn(withNonce.output)).toBe(sent);
    // Two requests, two nonces, two fresh answers.
    const again = await ask(server, ec, { cert: good.pem });
    expect(nonceIn(again.output)).toBeDefined();
    expect(nonceIn(again.output)).not.toBe(sent);

    const withoutNonce = await ask(server, ec, { cert: good.pem }, '-no_nonce');
    expect(withoutNonce.output).toContain('Response verify OK');
    expect(withoutNonce.output).not.toContain('OCSP Nonce');
    expect(withoutNonce.output).not.toMatch(/WARNING/);
    expect(statusOf(withoutNonce.output, good.pem)).toContain(': good');
  });

  it('signs with the issuing CA key in ocspSigner: "issuer" mode, which openssl also verifies', async () => {
    const answer = await ask(issuerServer, ec, { cert: revoked.pem });
    expect(answer.status).toBe(0);
    expect(answer.output).toContain('Response verify OK');
    expect(statusOf(answer.output, revoked.pem)).toContain('Reason: keyCompromise');
    const issuing = readCertificate(ec.issuingDer);
    expect(answer.output).toContain(`Responder Id: ${hexOf(issuing.subjectKeyId!)}`);
    // No responder certificate is included: the issuer is already known.
    expect(answer.output).not.toContain('OCSP Responder');
    const responseFile = file('issuer-mode.der');
    await ask(issuerServer, ec, { cert: good.pem }, '-no_nonce', '-respout', responseFile);
    expect(parseResponse(readFileSync(responseFile)).certs).toHaveLength(0);
  });

  it('answers GET requests (base64 DER in the URL), which openssl reads from -respin', async () => {
    const requestFile = file('get-req.der');
    await opensslOk('ocsp', '-issuer', ec.issuingPem, '-cert', revoked.pem, '-no_nonce', '-reqout', requestFile);
    const request = readFileSync(requestFile);
    const response = await fetch(`${server.base}/ocsp/ocsp-ec/${encodeURIComponent(request.toString('base64'))}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/ocsp-response');
    const responseFile = file('get-resp.der', Buffer.from(await response.arrayBuffer()));
    const text = await opensslOk('ocsp', '-respin', responseFile, '-issuer', ec.issuingPem, '-cert', revoked.pem, '-CAfile', ec.rootPem, '-no_nonce', '-resp_text');
    expect(text).toContain('Response verify OK');
    expect(statusOf(text, revoked.pem)).toContain('Reason: keyCompromise');
    // The same request as POST gives the same answer (both come from the same cache entry).
    const post = await fetch(`${server.base}/ocsp/ocsp-ec`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: request });
    expect(Buffer.from(await post.arrayBuffer()).equals(readFileSync(responseFile))).toBe(true);
  });

  it('caches an answer, and a revoke changes it at once rather than after the cache expires', async () => {
    const victim = await ec.leaf('cached');
    const first = file('cache-1.der');
    const second = file('cache-2.der');
    const third = file('cache-3.der');
    expect(statusOf((await ask(server, ec, { cert: victim.pem }, '-no_nonce', '-respout', first)).output, victim.pem)).toContain(': good');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(statusOf((await ask(server, ec, { cert: victim.pem }, '-no_nonce', '-respout', second)).output, victim.pem)).toContain(': good');
    // Served from the cache: the very same bytes, producedAt and all, a second later.
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true);

    await delegated.revoke({ ca: 'ocsp-ec', serial: victim.serial, reason: 'affiliationChanged' }, BY);
    const after = await ask(server, ec, { cert: victim.pem }, '-no_nonce', '-respout', third);
    expect(after.output).toContain('Response verify OK');
    expect(statusOf(after.output, victim.pem)).toMatch(/: revoked\n[\s\S]*Reason: affiliationChanged/);
    expect(readFileSync(third).equals(readFileSync(first))).toBe(false);

    // And a release goes back to good at once too.
    const hold = await ec.leaf('cached-hold');
    expect(statusOf((await ask(server, ec, { cert: hold.pem }, '-no_nonce')).output, hold.pem)).toContain(': good');
    await delegated.revoke({ ca: 'ocsp-ec', serial: hold.serial, reason: 'certificateHold' }, BY);
    expect(statusOf((await ask(server, ec, { cert: hold.pem }, '-no_nonce')).output, hold.pem)).toContain('Reason: certificateHold');
    await delegated.unsuspend({ ca: 'ocsp-ec', serial: hold.serial }, BY);
    expect(statusOf((await ask(server, ec, { cert: hold.pem }, '-no_nonce')).output, hold.pem)).toMatch(/: good\n/);
  });

  it('answers garbage with malformedRequest (not a 500) and keeps serving', async () => {
    for (const body of [randomBytes(200), Buffer.from('not DER at all'), Buffer.from([0x30, 0x82, 0xff, 0xff, 0x30])]) {
      const response = await fetch(`${server.base}/ocsp/ocsp-ec`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body });
      expect(response.status).toBe(200);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.toString('hex')).toBe('30030a0101');
      const text = await openssl('ocsp', '-respin', file('malformed.der', bytes), '-resp_text', '-noverify');
      expect(text.output).toContain('Responder Error: malformedrequest (1)');
    }
    const getGarbage = await fetch(`${server.base}/ocsp/ocsp-ec/${encodeURIComponent(randomBytes(40).toString('base64'))}`);
    expect(getGarbage.status).toBeLessThan(500);
    expect(Buffer.from(await getGarbage.arrayBuffer()).toString('hex')).toBe('30030a0101');
    // Still up, still answering.
    expect(await (await fetch(`${server.base}/health`)).json()).toEqual({ status: 'ok' });
    expect(statusOf((await ask(server, ec, { cert: good.pem })).output, good.pem)).toContain(': good');
  });

  it('answers unauthorized for an issuer that is not this CA, and 404 for a CA it does not have', async () => {
    const foreign = await other.leaf('stranger');
    // Issuer and certificate of hierarchy "ocsp-other", sent to the "ocsp-ec" responder.
    const answer = await openssl('ocsp', '-issuer', other.issuingPem, '-cert', foreign.pem, '-url', `${server.base}/ocsp/ocsp-ec`, '-CAfile', other.rootPem, '-resp_text');
    expect(answer.output).toContain('Responder Error: unauthorized (6)');
    // The right responder answers it.
    const right = await openssl('ocsp', '-issuer', other.issuingPem, '-cert', foreign.pem, '-url', `${server.base}/ocsp/ocsp-other`, '-CAfile', other.rootPem, '-resp_text');
    expect(right.output).toContain('Response verify OK');
    expect(statusOf(right.output, foreign.pem)).toContain(': good');
    const requestFile = file('nowhere-req.der');
    await opensslOk('ocsp', '-issuer', ec.issuingPem, '-cert', good.pem, '-no_nonce', '-reqout', requestFile);
    const missing = await fetch(`${server.base}/ocsp/no-such-ca`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body: readFileSync(requestFile) });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'unknown-ca' });
  });

  it('SM2: answers are signed SM3withSM2 with the GM/T 0009 ID, checked with sm-crypto-v2 (openssl ocsp cannot pass the ID)', async () => {
    const leaf = await sm2.leaf('sm2-host');
    await delegated.revoke({ ca: 'ocsp-sm2', serial: leaf.serial, reason: 'superseded' }, BY);
    const responseFile = file('sm2-resp.der');
    const requestFile = file('sm2-req.der');
    // `openssl ocsp` has no -vfyopt: OpenSSL 3.0 checks SM2 response signatures with the
    // empty ID, so it cannot verify a GM/T 0009 response. Read the status with -noverify,
    // and verify the signatures with the independent sm-crypto-v2.
    const answer = await openssl('ocsp', '-issuer', sm2.issuingPem, '-cert', leaf.pem, '-url', `${server.base}/ocsp/ocsp-sm2`, '-noverify', '-resp_text', '-reqout', requestFile, '-respout', responseFile);
    expect(answer.status).toBe(0);
    expect(answer.output).not.toMatch(/WARNING|Verify Failure/i);
    // When openssl does verify, it checks the SM2 signature under the empty ID and
    // reports "Response Verify Failure ... ocsp_verify:signature failure" (OpenSSL 3.0.x).
    // Only that failure is tolerated, so a different breakage would still show here.
    const tried = await openssl('ocsp', '-respin', responseFile, '-issuer', sm2.issuingPem, '-cert', leaf.pem, '-CAfile', sm2.rootPem, '-no_nonce');
    if (!tried.output.includes('Response verify OK')) expect(tried.output).toMatch(/Response Verify Failure[\s\S]*ocsp_verify:signature failure/);
    expect(answer.output).toContain('Signature Algorithm: SM2-with-SM3');
    expect(statusOf(answer.output, leaf.pem)).toMatch(/: revoked\n[\s\S]*Reason: superseded/);
    expect(nonceIn(answer.output)).toBe(nonceIn(await opensslOk('ocsp', '-reqin', requestFile, '-req_text')));

    const parsed = parseResponse(readFileSync(responseFile));
    expect(parsed.status).toBe(0);
    expect(parsed.signatureAlgorithm).toBe('1.2.156.10197.1.501');
    expect(parsed.certs).toHaveLength(1);
    const responder = readCertificate(parsed.certs[0]!);
    const issuing = readCertificate(sm2.issuingDer);
    expect(smCryptoVerify(parsed.tbs!, parsed.signature!, responder.spki), 'response under the GM/T 0009 ID').toBe(true);
    expect(smCryptoVerify(parsed.tbs!, parsed.signature!, responder.spki, ''), 'response under the empty ID').toBe(false);
    expect(smCryptoVerify(parsed.tbs!, parsed.signature!, issuing.spki), 'response with the wrong key').toBe(false);
    expect(smCryptoVerify(responder.tbs, responder.signature, issuing.spki), 'responder certificate').toBe(true);
    // And the responder certificate chains up, link by link, in openssl with the distid.
    const responderPem = file('sm2-responder.pem', toPem('CERTIFICATE', responder.der));
    expect(await opensslOk('verify', '-vfyopt', `distid:${DISTID}`, '-partial_chain', '-CAfile', sm2.issuingPem, responderPem)).toContain(': OK');

    // Issuer-signed SM2 answers verify under the issuing CA key.
    const issuerFile = file('sm2-issuer-resp.der');
    await openssl('ocsp', '-issuer', sm2.issuingPem, '-cert', leaf.pem, '-url', `${issuerServer.base}/ocsp/ocsp-sm2`, '-noverify', '-no_nonce', '-respout', issuerFile);
    const byIssuerKey = parseResponse(readFileSync(issuerFile));
    expect(byIssuerKey.certs).toHaveLength(0);
    expect(smCryptoVerify(byIssuerKey.tbs!, byIssuerKey.signature!, issuing.spki)).toBe(true);
  });
});

// ------------------------------------------------------------ PostgreSQL

describe('the CA on PostgreSQL: init, issue, revoke, CRL, OCSP', () => {
  const postgres = usePostgres();

  it('runs end to end on the second engine, checked by openssl', async () => {
    const database = await openDatabase({ dataDir: '/nonexistent-not-used', url: await postgres.createDatabase('ca_end_to_end') });
    cleanups.push(() => database.close());
    expect(database.dialect).toBe('postgres');
    const authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase(PASSPHRASE) });
    const h = await hierarchy(authority, 'pg-ca', 'ecdsa-p256');
    const keep = await h.leaf('keep');
    const lose = await h.leaf('lose');
    // From an openssl CSR as well.
    const key = file('pg.key');
    await opensslOk('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', key);
    const csr = file('pg.csr');
    await opensslOk('req', '-new', '-key', key, '-subj', '/CN=pg-host.city.example', '-addext', 'subjectAltName=DNS:pg-host.city.example', '-out', csr);
    const fromCsr = await authority.issueFromCsr({ ca: 'pg-ca', profile: 'server', csr: readFileSync(csr) }, BY);
    const fromCsrPem = file('pg-csr-leaf.pem', fromCsr.certificatePem);
    expect(await opensslOk('verify', '-CAfile', h.rootPem, '-untrusted', h.issuingPem, fromCsrPem)).toContain(': OK');

    const served = await serve(authority);
    expect(statusOf((await ask(served, h, { cert: lose.pem })).output, lose.pem)).toContain(': good');
    await authority.revoke({ ca: 'pg-ca', serial: lose.serial, reason: 'keyCompromise' }, BY);
    await expect(authority.revoke({ ca: 'pg-ca', serial: lose.serial, reason: 'keyCompromise' }, BY)).rejects.toMatchObject({ code: 'already-revoked' });

    const crl = await served.crls.build('pg-ca', 'full');
    const crlPem = file('pg.crl.pem', toPem('X509 CRL', crl.der));
    expect(await opensslOk('crl', '-in', crlPem, '-noout', '-verify', '-CAfile', h.issuingPem)).toContain('verify OK');
    const revokedCheck = await openssl('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', h.rootPem, '-untrusted', h.issuingPem, lose.pem);
    expect(revokedCheck.output).toContain('certificate revoked');
    expect((await opensslOk('verify', '-crl_check', '-CRLfile', crlPem, '-CAfile', h.rootPem, '-untrusted', h.issuingPem, keep.pem))).toContain(': OK');
    // The published CRL over HTTP is a CRL openssl reads, with the revoked serial.
    const published = await fetch(`${served.base}/crl/pg-ca.crl`);
    expect(published.headers.get('content-type')).toBe('application/pkix-crl');
    const publishedText = await opensslOk('crl', '-inform', 'DER', '-in', file('pg-published.crl', Buffer.from(await published.arrayBuffer())), '-noout', '-text');
    expect(publishedText).toContain(`Serial Number: ${lose.serial.toUpperCase()}`);
    const delta = await served.crls.build('pg-ca', 'delta');
    expect(delta.baseNumber).toBe(crl.number);
    expect(delta.number).toBeGreaterThan(crl.number);

    const revokedAnswer = await ask(served, h, { cert: lose.pem });
    expect(revokedAnswer.output).toContain('Response verify OK');
    expect(statusOf(revokedAnswer.output, lose.pem)).toMatch(/: revoked\n[\s\S]*Reason: keyCompromise/);
    expect(statusOf((await ask(served, h, { cert: keep.pem })).output, keep.pem)).toContain(': good');
    expect(statusOf((await ask(served, h, { serial: '0xabcdef' })).output, '0xabcdef')).toContain(': unknown');

    const audit = await listAudit(database, { limit: 100 });
    expect(audit.filter((r) => r.action === 'ca.issue' && r.outcome === 'success')).toHaveLength(3);
    expect(audit.some((r) => r.action === 'ca.revoke' && r.outcome === 'success' && r.object.endsWith(lose.serial))).toBe(true);
    expect(audit.some((r) => r.action === 'ca.revoke' && r.outcome === 'refused')).toBe(true);
    expect(audit.filter((r) => r.action === 'ca.crl')).toHaveLength(2);
    expect(await verifyAuditLog(database)).toMatchObject({ ok: true });
  });
});
