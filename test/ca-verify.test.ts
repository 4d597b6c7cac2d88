// Signature checks of CSRs run on the thread pool with keys imported from
// their parts (EC point, RSA n/e) or from the SPKI (SM2, Ed25519): every
// family verifies what node signed, refuses what was altered, and treats a
// key that is not a valid point as a failed check, never a crash.

import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyWithSpki } from '../ca/algorithms.js';
import { OID } from '../ca/oids.js';
import { sm2Sign } from '../ca/sm2/index.js';

const message = Buffer.from('certification request info');

const cases: Array<{ name: string; keys: { publicKey: KeyObject; privateKey: KeyObject }; algorithm: string; sign: (key: KeyObject, data: Buffer) => Buffer }> = [
  { name: 'ECDSA P-256', keys: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }), algorithm: OID.ecdsaWithSHA256, sign: (k, d) => sign('sha256', d, k) },
  { name: 'ECDSA P-384', keys: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }), algorithm: OID.ecdsaWithSHA384, sign: (k, d) => sign('sha384', d, k) },
  { name: 'RSA-2048', keys: generateKeyPairSync('rsa', { modulusLength: 2048 }), algorithm: OID.sha256WithRSA, sign: (k, d) => sign('sha256', d, k) },
  { name: 'Ed25519', keys: generateKeyPairSync('ed25519'), algorithm: OID.ed25519, sign: (k, d) => sign(null, d, k) },
  { name: 'SM2', keys: generateKeyPairSync('ec', { namedCurve: 'SM2' }), algorithm: OID.sm3WithSM2, sign: (k, d) => sm2Sign(k, d) },
];

describe.each(cases)('$name', ({ keys, algorithm, sign: signWith }) => {
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' });
  const signature = signWith(keys.privateKey, message);

  it('verifies a good signature', async () => {
    expect(await verifyWithSpki(algorithm, spki, message, signature)).toBe(true);
  });

  it('refuses an altered message or signature', async () => {
    expect(await verifyWithSpki(algorithm, spki, Buffer.from('certification request infO'), signature)).toBe(false);
    const bad = Buffer.from(signature);
    bad[bad.length - 2]! ^= 0x01;
    expect(await verifyWithSpki(algorithm, spki, message, bad)).toBe(false);
  });
});

it('a key that is not a point on its curve fails the check instead of crashing', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = Buffer.from(publicKey.export({ type: 'spki', format: 'der' }));
  spki[spki.length - 1]! ^= 0xff; // y no longer matches x
  expect(await verifyWithSpki(OID.ecdsaWithSHA256, spki, message, sign('sha256', message, privateKey))).toBe(false);
});

it('a signature algorithm that does not fit the key is refused', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  expect(await verifyWithSpki(OID.sha256WithRSA, spki, message, sign('sha256', message, privateKey))).toBe(false);
  await expect(verifyWithSpki('1.2.840.113549.1.1.5', spki, message, Buffer.alloc(8))).rejects.toThrow(/not supported/);
});
