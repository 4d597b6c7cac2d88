// Property tests of the CA's parsers of untrusted input: certificates (ca
// import, chains), CSRs (every issuance request), OCSP requests (anyone on
// the plain listener), private keys on import. Samples are made by the real
// openssl; inputs are random bytes and mutations of them (test/support/fuzz.ts).
// Only EgovError may escape, every input in bounded time.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgovError } from '../core/index.js';
import { readCertificate, readCsr, readPemBundle, toPem } from '../ca/index.js';
import { parseOcspRequest } from '../ca/ocsp.js';
import { readPrivateKey } from '../ca/keys.js';
import { fuzzParser, fuzzRuns, untrustedBytes } from './support/fuzz.js';
import { GENPKEY_ARGS, opensslOk } from './support/openssl.js';

let dir: string;
const certificates: Buffer[] = [];
const csrs: Buffer[] = [];
const ocspRequests: Buffer[] = [];
const keys: Buffer[] = [];

const file = (name: string) => path.join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-fuzz-ca-'));
  for (const algorithm of ['ecdsa-p256', 'rsa-2048', 'ed25519', 'sm2'] as const) {
    opensslOk('genpkey', ...GENPKEY_ARGS[algorithm], '-out', file(`${algorithm}.key`));
    opensslOk('pkcs8', '-topk8', '-nocrypt', '-in', file(`${algorithm}.key`), '-outform', 'DER', '-out', file(`${algorithm}.p8`));
    keys.push(readFileSync(file(`${algorithm}.p8`)));
    opensslOk('req', '-new', '-key', file(`${algorithm}.key`), '-subj', `/C=CN/O=Test City/CN=${algorithm}.city.gov.cn`, '-addext', `subjectAltName=DNS:${algorithm}.city.gov.cn,IP:10.1.2.3,email:ops@city.gov.cn`, ...(algorithm === 'sm2' ? ['-sm3', '-sigopt', 'distid:1234567812345678'] : []), '-outform', 'DER', '-out', file(`${algorithm}.csr`));
    csrs.push(readFileSync(file(`${algorithm}.csr`)));
    if (algorithm === 'sm2') continue;
    opensslOk('req', '-x509', '-key', file(`${algorithm}.key`), '-subj', `/C=CN/O=Test City/CN=${algorithm} CA`, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'subjectAltName=DNS:ca.city.gov.cn', '-outform', 'DER', '-out', file(`${algorithm}.crt`));
    certificates.push(readFileSync(file(`${algorithm}.crt`)));
  }
  // An encrypted key (what `ca import --issuing-key-passphrase-file` reads).
  opensslOk('pkcs8', '-topk8', '-in', file('ecdsa-p256.key'), '-v2', 'aes-256-cbc', '-passout', 'pass:import-passphrase', '-outform', 'DER', '-out', file('encrypted.p8'));
  keys.push(readFileSync(file('encrypted.p8')));
  // A leaf issued by the ECDSA CA, and OCSP requests for it with and without a nonce, SHA-1 and SHA-256 CertIDs.
  opensslOk('x509', '-req', '-in', file('rsa-2048.csr'), '-inform', 'DER', '-CA', file('ecdsa-p256.crt'), '-CAform', 'DER', '-CAkey', file('ecdsa-p256.key'), '-days', '10', '-outform', 'DER', '-out', file('leaf.crt'), '-copy_extensions', 'copy');
  certificates.push(readFileSync(file('leaf.crt')));
  opensslOk('x509', '-in', file('ecdsa-p256.crt'), '-inform', 'DER', '-out', file('ca.pem'));
  opensslOk('x509', '-in', file('leaf.crt'), '-inform', 'DER', '-out', file('leaf.pem'));
  for (const [name, extra] of [['nonce', ['-nonce']], ['no-nonce', ['-no_nonce']], ['sha256', ['-sha256', '-nonce']]] as const) {
    const digest = name === 'sha256' ? ['-sha256'] : [];
    opensslOk('ocsp', '-issuer', file('ca.pem'), ...digest, '-cert', file('leaf.pem'), '-serial', '0x1234abcd', ...extra.filter((a) => a !== '-sha256'), '-reqout', file(`${name}.ocsp`));
    ocspRequests.push(readFileSync(file(`${name}.ocsp`)));
  }
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the samples are valid (so mutations start from something that parses)', () => {
  it('each sample parses', async () => {
    for (const c of certificates) expect(readCertificate(c).serial).toBeTruthy();
    for (const c of csrs) expect((await readCsr(c)).spki.length).toBeGreaterThan(0);
    for (const r of ocspRequests) expect(parseOcspRequest(r).requests).toHaveLength(2);
    for (const k of keys.slice(0, -1)) expect(readPrivateKey(k, undefined, 'key').type).toBe('private');
    expect(readPrivateKey(keys.at(-1)!, 'import-passphrase', 'key').type).toBe('private');
  });
});

/** DER, or the same bytes in PEM armour (the text form every upload and file takes), or mutated armour. */
const asDerOrPem = (bytes: fc.Arbitrary<Buffer>, label: string) =>
  fc.oneof(
    { arbitrary: bytes, weight: 3 },
    { arbitrary: bytes.map((b) => toPem(label, b)), weight: 1 },
    { arbitrary: fc.tuple(bytes, fc.nat(200), fc.string({ maxLength: 40 })).map(([b, at, junk]) => { const pem = toPem(label, b); return pem.slice(0, at % pem.length) + junk + pem.slice(at % pem.length); }), weight: 1 },
  );

describe('parsers of untrusted input: only EgovError escapes, in bounded time', () => {
  it('certificates (readCertificate: DER and PEM)', async () => {
    const tally = await fuzzParser('certificate', asDerOrPem(untrustedBytes(certificates), 'CERTIFICATE'), (input) => readCertificate(input), {
      runs: fuzzRuns(1500),
      check: (info) => expect(info.der.length).toBeGreaterThan(0),
    });
    expect(tally.refused).toBeGreaterThan(0);
  });

  it('certificate bundles (readPemBundle)', async () => {
    const bundle = (bytes: Buffer) => bytes.toString('latin1');
    const texts = fc.oneof(
      untrustedBytes(certificates).map((b) => toPem('CERTIFICATE', b) + toPem('CERTIFICATE', certificates[0]!)),
      untrustedBytes([Buffer.from(certificates.map((c) => toPem('CERTIFICATE', c)).join(''))]).map(bundle),
    );
    await fuzzParser('certificate bundle', texts, (text) => readPemBundle(text).map((d) => readCertificate(d)), { runs: fuzzRuns(500) });
  });

  it('CSRs (readCsr: parsed and the self-signature checked)', async () => {
    const tally = await fuzzParser('csr', asDerOrPem(untrustedBytes(csrs), 'CERTIFICATE REQUEST'), (input) => readCsr(input), {
      runs: fuzzRuns(1500),
      check: (csr) => expect(csr.spki.length).toBeGreaterThan(0),
    });
    expect(tally.refused).toBeGreaterThan(0);
  });

  it('OCSP requests (parseOcspRequest: what the public listener reads)', async () => {
    const tally = await fuzzParser('ocsp request', untrustedBytes(ocspRequests), (input) => parseOcspRequest(input), {
      runs: fuzzRuns(2000),
      check: (parsed) => {
        expect(parsed.requests.length).toBeGreaterThan(0);
        for (const r of parsed.requests) expect(Buffer.isBuffer(r.serialNumber)).toBe(true);
      },
    });
    expect(tally.refused).toBeGreaterThan(0);
  });

  it('private keys on import (readPrivateKey: PKCS#8 DER and PEM, clear and encrypted)', async () => {
    const inputs = fc.tuple(asDerOrPem(untrustedBytes(keys), 'PRIVATE KEY'), fc.constantFrom(undefined, 'import-passphrase', 'wrong'));
    await fuzzParser('private key import', inputs, ([input, passphrase]) => readPrivateKey(input, passphrase, 'issuing CA key'), { runs: fuzzRuns(600) });
  });
});


describe('regressions found by the fuzzer', () => {
  // A request list with no entry, or over the limit (the structural mutation doubles the Request element):
  // a plain Error escaped parseOcspRequest (the responder caught it, but the parser's contract is EgovError).
  it('an OCSP request with no request, or with too many, is refused as bad-encoding', () => {
    const empty = Buffer.from('300430023000', 'hex'); // OCSPRequest { TBSRequest { requestList {} } }
    expect(() => parseOcspRequest(empty)).toThrow(expect.objectContaining({ name: 'EgovError', code: 'bad-encoding', message: expect.stringContaining('0 requests') }));
    const [outer] = [ocspRequests[1]!]; // no nonce: SEQ { SEQ { SEQ { Request, Request } } }
    const parsed = parseOcspRequest(outer);
    const one = parsed.requests[0]!.certId;
    const request = Buffer.concat([Buffer.from([0x30, one.length]), one]); // Request ::= SEQUENCE { reqCert CertID }
    const wrap = (content: Buffer) => Buffer.concat([Buffer.from([0x30, 0x82, content.length >> 8, content.length & 0xff]), content]);
    const many = wrap(wrap(wrap(Buffer.concat(Array.from({ length: 31 }, () => request)))));
    expect(() => parseOcspRequest(many)).toThrow(EgovError);
    expect(() => parseOcspRequest(many)).toThrow(/31 requests/);
  });
});

describe('regressions found by the fuzz campaign', () => {
  // Seed 993966312, run 3858: a validity SEQUENCE holding one time; der.readTime(undefined) threw a TypeError.
  it('a certificate whose validity lacks notAfter (or both times) is refused as bad-encoding', () => {
    const sample = certificates[0]!;
    expect(readCertificate(sample).notAfter.getTime()).toBeGreaterThan(Date.now());
    // Find the validity SEQUENCE (two times, UTCTime 0x17 or GeneralizedTime 0x18) and drop its second time, fixing the lengths around it.
    const hex = sample.toString('hex');
    const validity = /30(1e|22|20)(17|18)/.exec(hex);
    expect(validity, 'the sample has a validity').not.toBeNull();
    const at = validity!.index / 2;
    const length = sample[at + 1]!;
    const first = sample[at + 3]! + 2;
    const shortened = Buffer.concat([sample.subarray(0, at), Buffer.from([0x30, first]), sample.subarray(at + 2, at + 2 + first), sample.subarray(at + 2 + length)]);
    const removed = length - first;
    // Outer lengths: the certificate and the TBS are long-form (0x82 LL LL); both shrink by what was removed.
    shortened.writeUInt16BE(shortened.readUInt16BE(2) - removed, 2);
    shortened.writeUInt16BE(shortened.readUInt16BE(6) - removed, 6);
    expect(() => readCertificate(shortened)).toThrow(expect.objectContaining({ name: 'EgovError', code: 'bad-encoding' }));
  });
});
