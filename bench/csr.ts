// PKCS#10 requests for the issuance figures, made the way a client would:
// a key pair, a subject, a DNS SAN in the extensionRequest, self-signed.

import { generateKeyPair, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { sm2Sign } from '../ca/sm2/index.js';
import { bits, oid, OIDS, octets, printable, seq, set, tlv, toPem, utf8, int, NULL } from './der.js';

export type CsrFamily = 'ecdsa-p256' | 'sm2' | 'rsa-2048';

const generate = promisify(generateKeyPair) as unknown as (type: string, options: object) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;

function subject(host: string): Buffer {
  const rdn = (type: string, value: Buffer) => set(seq(oid(type), value));
  return seq(rdn(OIDS.country, printable('CN')), rdn(OIDS.organization, utf8('City E-Government')), rdn(OIDS.organizationalUnit, utf8('Bench')), rdn(OIDS.commonName, utf8(host)));
}

function requestInfo(spki: Buffer, host: string): Buffer {
  const san = seq(tlv(0x82, Buffer.from(host, 'latin1')));
  const extensions = seq(seq(oid(OIDS.subjectAltName), octets(san)));
  const attribute = seq(oid(OIDS.extensionRequest), set(extensions));
  return seq(int(0), subject(host), spki, tlv(0xa0, attribute));
}

function signInfo(family: CsrFamily, info: Buffer, key: KeyObject): Buffer {
  switch (family) {
    case 'ecdsa-p256':
      return seq(info, seq(oid(OIDS.ecdsaWithSHA256)), bits(sign('sha256', info, key)));
    case 'rsa-2048':
      return seq(info, seq(oid(OIDS.sha256WithRSA), NULL), bits(sign('sha256', info, key)));
    case 'sm2':
      // SM3withSM2 with the GM/T 0009 default ID, as a conforming client signs.
      return seq(info, seq(oid(OIDS.sm3WithSM2)), bits(sm2Sign(key, info)));
  }
}

export interface CsrSet {
  family: CsrFamily;
  pems: string[];
  distinctKeys: number;
}

/**
 * `count` CSRs with distinct subjects; `keys` distinct key pairs cycled
 * among them (RSA key generation is slow, and distinct keys do not change the rate).
 */
export async function makeCsrs(family: CsrFamily, count: number, keys = count, label: string = family): Promise<CsrSet> {
  const pairs: Array<{ publicKey: KeyObject; privateKey: KeyObject }> = [];
  if (family === 'rsa-2048') {
    const jobs = Array.from({ length: keys }, () => generate('rsa', { modulusLength: 2048, publicExponent: 0x10001 }));
    pairs.push(...(await Promise.all(jobs)));
  } else {
    for (let i = 0; i < keys; i++) pairs.push(generateKeyPairSync('ec', { namedCurve: family === 'sm2' ? 'SM2' : 'prime256v1' }));
  }
  const spkis = pairs.map((p) => p.publicKey.export({ type: 'spki', format: 'der' }));
  const pems: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = i % keys;
    const host = `${label}-${i}.bench.egov.example.cn`;
    pems.push(toPem('CERTIFICATE REQUEST', signInfo(family, requestInfo(spkis[k]!, host), pairs[k]!.privateKey)));
  }
  return { family, pems, distinctKeys: keys };
}
