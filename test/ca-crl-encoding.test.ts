// The CRL entry encoder writes DER by hand into one buffer (a million
// entries in a few seconds): each edge of INTEGER and Time encoding, read
// back by openssl.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as der from '../ca/asn1/der.js';
import { encodeCrl, type CrlEntry } from '../ca/crl.js';
import { OID } from '../ca/oids.js';
import { opensslOk } from './support/openssl.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-crl-encoding-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A CRL openssl can print: our TBS, an ECDSA algorithm identifier and a dummy signature (printing does not verify). */
function printed(entries: CrlEntry[]): string {
  const algorithmIdentifier = der.sequence(der.oid(OID.ecdsaWithSHA256));
  const issuer = der.sequence(der.setOf(der.sequence(der.oid('2.5.4.3'), der.utf8String('Encoding Test CA'))));
  const tbs = encodeCrl(
    { issuing: { subjectName: issuer } as never, issuingKeyId: Buffer.alloc(20, 7), signer: { algorithmIdentifier } as never, urls: {} as never },
    { kind: 'full', number: 42, thisUpdate: new Date('2026-12-05T00:00:00Z'), nextUpdate: new Date('2026-12-06T00:00:00Z'), entries },
  );
  const crl = der.sequence(tbs, algorithmIdentifier, der.bitString(der.sequence(der.integer(1), der.integer(1))));
  const file = path.join(dir, `crl-${entries.length}.der`);
  writeFileSync(file, crl);
  return opensslOk('crl', '-inform', 'DER', '-in', file, '-noout', '-text');
}

describe('CRL entries, read back by openssl', () => {
  it('serials: leading zeros dropped, a 0x00 in front of a set top bit, zero itself, the longest (20 bytes)', () => {
    const at = '2026-12-05T13:57:00.000Z';
    const text = printed(['0000ab', '80', 'ff01', '00', '7f' + '11'.repeat(19)].map((serial) => ({ serial, revokedAt: at, reason: null })));
    const serials = [...text.matchAll(/Serial Number: (\w+)/g)].map((m) => m[1]);
    expect(serials).toEqual(['AB', '80', 'FF01', '00', '7F' + '11'.repeat(19)]);
  });

  it('revocation times: stored ISO copied as UTCTime, 2050 and later as GeneralizedTime, other spellings converted', () => {
    const text = printed(
      ['2026-12-05T13:57:09.000Z', '2049-12-31T23:59:59.999Z', '2051-01-01T00:00:00.000Z', '1949-12-31T23:59:59.000Z', '2026-12-05T13:57:00.123+08:00', '2026-12-05T13:57:00Z'].map((revokedAt, i) => ({
        serial: (i + 1).toString(16).padStart(2, '0'),
        revokedAt,
        reason: null,
      })),
    );
    const dates = [...text.matchAll(/Revocation Date: (.+)/g)].map((m) => m[1]!.trim());
    expect(dates).toEqual(['Dec  5 13:57:09 2026 GMT', 'Dec 31 23:59:59 2049 GMT', 'Jan  1 00:00:00 2051 GMT', 'Dec 31 23:59:59 1949 GMT', 'Dec  5 05:57:00 2026 GMT', 'Dec  5 13:57:00 2026 GMT']);
  });

  it('reasons: unspecified and none leave the extension out; the others are named', () => {
    const at = '2026-12-05T13:57:00.000Z';
    const text = printed([null, 0, 1, 6, 8].map((reason, i) => ({ serial: `0${i + 1}`, revokedAt: at, reason })));
    expect([...text.matchAll(/X509v3 CRL Reason Code:\s*\n\s*(.+)/g)].map((m) => m[1]!.trim())).toEqual(['Key Compromise', 'Certificate Hold', 'Remove From CRL']);
  });
});
