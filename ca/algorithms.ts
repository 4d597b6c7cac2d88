// Key algorithms a hierarchy or a subject may use, and signing with each.
// Signing runs on libuv's thread pool (crypto.sign with a callback, or the
// SM2 addon's async path) so both cores sign at once.

import { createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';
import { NULL, oid, sequence } from './asn1/der.js';
import { OID } from './oids.js';
import { isSm2Key, sm2SignAsync, sm2Verify, verifyWithPartsAsync, verifyWithSpkiAsync, type PublicKeyParts } from './sm2/index.js';

export const KEY_ALGORITHMS = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384', 'sm2', 'ed25519'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];

export function parseKeyAlgorithm(value: string): KeyAlgorithm {
  if ((KEY_ALGORITHMS as readonly string[]).includes(value)) return value as KeyAlgorithm;
  throw new EgovError('bad-request', `unknown key algorithm "${value}"; expected one of ${KEY_ALGORITHMS.join(', ')}`);
}

/** What a public key is, in the terms profiles speak. */
export type KeyDescription =
  | { type: 'rsa'; bits: number }
  | { type: 'ec'; curve: 'P-256' | 'P-384' | 'P-521' | 'SM2' | string }
  | { type: 'ed25519' };

export function describeKey(key: KeyObject): KeyDescription {
  // Node reports keys it parsed on the SM2 curve with no type at all.
  if (key.asymmetricKeyType === undefined || key.asymmetricKeyType === 'ec') {
    if (isSm2Key(key)) return { type: 'ec', curve: 'SM2' };
  }
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { type: 'rsa', bits: key.asymmetricKeyDetails?.modulusLength ?? 0 };
    case 'ed25519':
      return { type: 'ed25519' };
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown';
      const names: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
      return { type: 'ec', curve: names[curve] ?? curve };
    }
    default:
      throw new EgovError('policy-violation', `key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (RSA, ECDSA, SM2 or Ed25519)`);
  }
}

export function keyLabel(description: KeyDescription): string {
  if (description.type === 'rsa') return `rsa-${description.bits}`;
  if (description.type === 'ed25519') return 'ed25519';
  if (description.curve === 'SM2') return 'sm2';
  return `ecdsa-${description.curve.toLowerCase().replace('-', '')}`;
}

export function algorithmOfKey(key: KeyObject): KeyAlgorithm | undefined {
  const label = keyLabel(describeKey(key));
  return (KEY_ALGORITHMS as readonly string[]).includes(label) ? (label as KeyAlgorithm) : undefined;
}

const generate = promisify(generateKeyPair) as unknown as (type: string, options: object) => Promise<{ publicKey: KeyObject; privateKey: KeyObject }>;

export async function generateKeyPairFor(algorithm: KeyAlgorithm): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  switch (algorithm) {
    case 'rsa-2048':
    case 'rsa-3072':
    case 'rsa-4096':
      return generate('rsa', { modulusLength: Number(algorithm.slice(4)), publicExponent: 0x10001 });
    case 'ecdsa-p256':
      return generate('ec', { namedCurve: 'prime256v1' });
    case 'ecdsa-p384':
      return generate('ec', { namedCurve: 'secp384r1' });
    case 'sm2':
      return generate('ec', { namedCurve: 'SM2' });
    case 'ed25519':
      return generate('ed25519', {});
  }
}

/** How a CA key signs: the AlgorithmIdentifier it writes and the function that signs. */
export interface Signer {
  readonly algorithmIdentifier: Buffer;
  readonly description: string;
  sign(data: Buffer): Promise<Buffer>;
}

const nodeSign = (hash: string | null, data: Buffer, key: KeyObject) =>
  new Promise<Buffer>((resolve, reject) => sign(hash, data, key, (error, signature) => (error ? reject(error) : resolve(signature))));

export function signerFor(privateKey: KeyObject): Signer {
  const description = describeKey(privateKey);
  if (description.type === 'rsa') {
    return { algorithmIdentifier: sequence(oid(OID.sha256WithRSA), NULL), description: 'sha256WithRSAEncryption', sign: (d) => nodeSign('sha256', d, privateKey) };
  }
  if (description.type === 'ed25519') {
    return { algorithmIdentifier: sequence(oid(OID.ed25519)), description: 'Ed25519', sign: (d) => nodeSign(null, d, privateKey) };
  }
  if (description.curve === 'SM2') {
    return { algorithmIdentifier: sequence(oid(OID.sm3WithSM2)), description: 'SM3withSM2', sign: (d) => sm2SignAsync(privateKey, d) };
  }
  if (description.curve === 'P-384') {
    return { algorithmIdentifier: sequence(oid(OID.ecdsaWithSHA384)), description: 'ecdsa-with-SHA384', sign: (d) => nodeSign('sha384', d, privateKey) };
  }
  return { algorithmIdentifier: sequence(oid(OID.ecdsaWithSHA256)), description: 'ecdsa-with-SHA256', sign: (d) => nodeSign('sha256', d, privateKey) };
}

/** The OpenSSL digest for each signature algorithm we accept ("" = none, Ed25519), and the key family it needs. */
const VERIFY_BY_OID: Record<string, { digest: string; family: 'rsa' | 'ecdsa' | 'ed25519' | 'sm2' }> = {
  [OID.sha256WithRSA]: { digest: 'SHA256', family: 'rsa' },
  [OID.sha384WithRSA]: { digest: 'SHA384', family: 'rsa' },
  [OID.sha512WithRSA]: { digest: 'SHA512', family: 'rsa' },
  [OID.ecdsaWithSHA256]: { digest: 'SHA256', family: 'ecdsa' },
  [OID.ecdsaWithSHA384]: { digest: 'SHA384', family: 'ecdsa' },
  [OID.ecdsaWithSHA512]: { digest: 'SHA512', family: 'ecdsa' },
  [OID.ed25519]: { digest: '', family: 'ed25519' },
  [OID.sm3WithSM2]: { digest: 'SM3', family: 'sm2' },
};

export function isSupportedSignatureAlgorithm(algorithmOid: string): boolean {
  return algorithmOid in VERIFY_BY_OID;
}

function familyOf(key: KeyDescription): 'rsa' | 'ecdsa' | 'ed25519' | 'sm2' {
  if (key.type === 'ec') return key.curve === 'SM2' ? 'sm2' : 'ecdsa';
  return key.type;
}

/**
 * Verifies a signature by the key in `spki` (DER) made with algorithm
 * `algorithmOid`: false when it does not verify or the key does not fit the
 * algorithm. Runs on the thread pool, key parsing included.
 */
export async function verifyWithSpki(algorithmOid: string, spki: Buffer, data: Buffer, signature: Buffer): Promise<boolean> {
  const method = VERIFY_BY_OID[algorithmOid];
  if (!method) {
    throw new EgovError('bad-request', `signature algorithm ${algorithmOid} is not supported (use SHA-256 or stronger with RSA or ECDSA, Ed25519, or SM3withSM2)`);
  }
  if (familyOf(describeSpki(spki)) !== method.family) return false;
  const parts = keyParts(spki);
  const verified = parts ? verifyWithPartsAsync(parts, method.digest, data, signature) : verifyWithSpkiAsync(spki, method.digest, data, signature);
  return verified.catch(() => false);
}

const EC_GROUPS: Record<string, 'prime256v1' | 'secp384r1' | 'SM2'> = { [OID.prime256v1]: 'prime256v1', [OID.secp384r1]: 'secp384r1', [OID.sm2Curve]: 'SM2' };

/** EC (NIST or SM2 curve) and RSA keys as their parts, for the fast import; undefined for the rest (Ed25519). */
function keyParts(spki: Buffer): PublicKeyParts | undefined {
  const [algorithm, bits] = der.children(der.readWhole(spki, 'public key'), 'public key');
  const [algorithmOid, parameters] = der.children(algorithm!, 'public key');
  const keyOid = der.readOid(algorithmOid!);
  const keyBits = der.content(bits!).subarray(1);
  if (keyOid === OID.ecPublicKey && parameters?.tag === der.Tag.OID) {
    const group = EC_GROUPS[der.readOid(parameters)];
    return group ? { ecGroup: group, point: keyBits } : undefined;
  }
  if (keyOid === OID.rsaEncryption) {
    const [modulus, exponent] = der.children(der.readWhole(keyBits, 'RSA public key'), 'RSA public key');
    return { rsaModulus: der.readUnsignedInteger(der.expectTag(modulus, der.Tag.INTEGER, 'RSA modulus')), rsaExponent: der.readUnsignedInteger(der.expectTag(exponent, der.Tag.INTEGER, 'RSA exponent')) };
  }
  return undefined;
}

const CURVE_NAMES: Record<string, string> = { [OID.prime256v1]: 'P-256', [OID.secp384r1]: 'P-384', '1.3.132.0.35': 'P-521', [OID.sm2Curve]: 'SM2' };

/** What a SubjectPublicKeyInfo holds, read from its DER without OpenSSL (fast, and safe on hostile input). */
export function describeSpki(spki: Buffer): KeyDescription {
  const what = 'public key';
  const [algorithm, bits] = der.children(der.expectTag(der.readWhole(spki, what), der.Tag.SEQUENCE, what), what);
  const [algorithmOid, parameters] = der.children(der.expectTag(algorithm, der.Tag.SEQUENCE, what), what);
  const keyOid = der.readOid(der.expectTag(algorithmOid, der.Tag.OID, what));
  const keyBits = der.content(der.expectTag(bits, der.Tag.BIT_STRING, what)).subarray(1);
  if (keyOid === OID.rsaEncryption) {
    const [modulus] = der.children(der.readWhole(keyBits, 'RSA public key'), 'RSA public key');
    const magnitude = der.readUnsignedInteger(der.expectTag(modulus, der.Tag.INTEGER, 'RSA modulus'));
    const leading = magnitude[0] ?? 0;
    return { type: 'rsa', bits: magnitude.length * 8 - (leading === 0 ? 8 : Math.clz32(leading) - 24) };
  }
  if (keyOid === OID.ed25519) return { type: 'ed25519' };
  if (keyOid === OID.sm2Curve) return { type: 'ec', curve: 'SM2' };
  if (keyOid === OID.ecPublicKey) {
    const curveOid = parameters?.tag === der.Tag.OID ? der.readOid(parameters) : 'explicit parameters';
    return { type: 'ec', curve: CURVE_NAMES[curveOid] ?? curveOid };
  }
  throw new EgovError('policy-violation', `public key algorithm ${keyOid} is not supported (RSA, ECDSA, SM2 or Ed25519)`);
}

/** Verifies with a KeyObject on this thread (CA certificates at import: rare, so simple). */
export function verifySignatureSync(algorithmOid: string, publicKey: KeyObject, data: Buffer, signature: Buffer): boolean {
  const method = VERIFY_BY_OID[algorithmOid];
  if (!method) return false;
  if (method.family === 'sm2') return isSm2Key(publicKey) && sm2Verify(publicKey, data, signature);
  try {
    return verify(method.digest ? method.digest.toLowerCase() : null, data, publicKey, signature);
  } catch {
    return false;
  }
}

/** The public key of an SubjectPublicKeyInfo (DER). */
export function publicKeyFromSpki(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (error) {
    throw new EgovError('bad-encoding', `public key cannot be read: ${(error as Error).message}`);
  }
}
