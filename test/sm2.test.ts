import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sm2 as smCrypto } from 'sm-crypto-v2';
import {
  SM2_DEFAULT_ID,
  isSm2Key,
  sm2NativeAvailable,
  sm2Sign,
  sm2SignAsync,
  sm2Verify,
  sm2VerifyAsync,
} from '../ca/sm2/index.js';

const EMPTY_ID = Buffer.alloc(0);
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');

/** SPKI KeyObject from an uncompressed public key (04 || x || y) in hex. */
function publicKeyFromHex(hex: string): KeyObject {
  const point = Buffer.from(hex, 'hex');
  if (point.length !== 65 || point[0] !== 4) throw new Error('expected an uncompressed SM2 point');
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, point]), format: 'der', type: 'spki' });
}

/** PKCS#8 KeyObject from the private scalar and public point (hex). */
function privateKeyFromHex(dHex: string, pubHex: string): KeyObject {
  const d = Buffer.from(dHex.padStart(64, '0'), 'hex');
  const pub = Buffer.from(pubHex, 'hex');
  const sec1 = Buffer.concat([Buffer.from('306b0201010420', 'hex'), d, Buffer.from('a144034200', 'hex'), pub]);
  const pkcs8 = Buffer.concat([
    Buffer.from('308187020100301306072a8648ce3d020106082a811ccf5501822d046d', 'hex'),
    sec1,
  ]);
  return createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
}

function publicKeyHex(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' }).subarray(-65).toString('hex');
}

function smCryptoVerify(msg: Buffer, sig: Buffer, pubHex: string, userId: string): boolean {
  return smCrypto.doVerifySignature(new Uint8Array(msg), sig.toString('hex'), pubHex, {
    der: true,
    hash: true,
    userId,
  });
}


function opensslVerify(dir: string, pubPem: string, msg: Buffer, sig: Buffer, distid?: string): boolean {
  writeFileSync(join(dir, 'pub.pem'), pubPem);
  writeFileSync(join(dir, 'msg.bin'), msg);
  writeFileSync(join(dir, 'sig.der'), sig);
  const args = ['pkeyutl', '-verify', '-rawin', '-digest', 'sm3'];
  if (distid !== undefined) args.push('-pkeyopt', `distid:${distid}`);
  args.push('-pubin', '-inkey', join(dir, 'pub.pem'), '-in', join(dir, 'msg.bin'), '-sigfile', join(dir, 'sig.der'));
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status === 0 && /Verified Successfully/.test(r.stdout)) return true;
  if (r.status === 1 && /Verification Failure/.test(r.stdout + r.stderr)) return false;
  throw new Error(`openssl pkeyutl failed unexpectedly (status ${r.status}): ${r.stdout}${r.stderr}`);
}

const nativeOk = sm2NativeAvailable();

describe('sm2 native addon', () => {
  it('is built (run `npm run build:sm2`)', () => {
    expect(nativeOk, 'SM2 addon missing: run `npm run build:sm2`').toBe(true);
  });
});

describe('SM2 signatures with the GM/T 0009 distinguishing ID', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'SM2' });
  const pubHex = publicKeyHex(publicKey);
  const pubPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const message = Buffer.from('TBSCertificate stand-in: CN=egov.example.gov.cn, serial 0x1f2e3d');
  let dir = '';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sm2-test-'));
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exposes the GM/T 0009 default ID', () => {
    expect(SM2_DEFAULT_ID.toString('latin1')).toBe('1234567812345678');
    expect(SM2_DEFAULT_ID.length).toBe(16);
  });

  it('recognises SM2 keys', () => {
    expect(isSm2Key(privateKey)).toBe(true);
    expect(isSm2Key(publicKey)).toBe(true);
    // Keys parsed from PEM/DER come back from node with asymmetricKeyType undefined.
    const parsedPriv = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const parsedPub = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
    expect(isSm2Key(parsedPriv)).toBe(true);
    expect(isSm2Key(parsedPub)).toBe(true);
    expect(isSm2Key(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey)).toBe(false);
    expect(isSm2Key(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toBe(false);
    expect(isSm2Key(generateKeyPairSync('ed25519').publicKey)).toBe(false);
  });

  it('signs DER SEQUENCE{r,s} and sm-crypto-v2 verifies under the default ID only', () => {
    const sig = sm2Sign(privateKey, message);
    expect(sig[0]).toBe(0x30);
    expect(sig.length).toBeGreaterThanOrEqual(8);
    expect(sig.length).toBeLessThanOrEqual(72);
    expect(smCryptoVerify(message, sig, pubHex, '1234567812345678')).toBe(true);
    // Negative controls: the same signature under the empty ID or another ID
    // must fail, or this test could not detect a wrong ID.
    expect(smCryptoVerify(message, sig, pubHex, '')).toBe(false);
    expect(smCryptoVerify(message, sig, pubHex, '1234567812345679')).toBe(false);
    // And our own verifier agrees.
    expect(sm2Verify(publicKey, message, sig)).toBe(true);
    expect(sm2Verify(publicKey, message, sig, EMPTY_ID)).toBe(false);
  });

  it('openssl pkeyutl verifies with distid:1234567812345678, not with the empty ID', () => {
    const sig = sm2Sign(privateKey, message);
    expect(opensslVerify(dir, pubPem, message, sig, '1234567812345678')).toBe(true);
    expect(opensslVerify(dir, pubPem, message, sig)).toBe(false); // OpenSSL 3 default: empty ID
    const tampered = Buffer.from(message);
    tampered[0] = tampered[0]! ^ 1;
    expect(opensslVerify(dir, pubPem, tampered, sig, '1234567812345678')).toBe(false);
  });

  it('verifies signatures made by openssl pkeyutl with the default ID', () => {
    writeFileSync(join(dir, 'priv.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'msg.bin'), message);
    execFileSync('openssl', [
      'pkeyutl', '-sign', '-rawin', '-digest', 'sm3', '-pkeyopt', 'distid:1234567812345678',
      '-inkey', join(dir, 'priv.pem'), '-in', join(dir, 'msg.bin'), '-out', join(dir, 'osig.der'),
    ]);
    const sig = readFileSync(join(dir, 'osig.der'));
    expect(sm2Verify(publicKey, message, sig)).toBe(true);
    expect(sm2Verify(publicKey, message, sig, EMPTY_ID)).toBe(false);
  });

  it('supports custom IDs and the empty ID', () => {
    const alice = Buffer.from('ALICE123@YAHOO.COM');
    const sig = sm2Sign(privateKey, message, alice);
    expect(smCryptoVerify(message, sig, pubHex, 'ALICE123@YAHOO.COM')).toBe(true);
    expect(smCryptoVerify(message, sig, pubHex, '1234567812345678')).toBe(false);
    expect(sm2Verify(publicKey, message, sig, alice)).toBe(true);
    expect(sm2Verify(publicKey, message, sig)).toBe(false);

    const sig0 = sm2Sign(privateKey, message, EMPTY_ID);
    expect(smCryptoVerify(message, sig0, pubHex, '')).toBe(true);
    expect(sm2Verify(publicKey, message, sig0, EMPTY_ID)).toBe(true);
    expect(sm2Verify(publicKey, message, sig0)).toBe(false);
  });

  it('accepts signatures made by sm-crypto-v2 (default ID) and rejects a tampered message', () => {
    const kp = smCrypto.generateKeyPairHex();
    const pub = publicKeyFromHex(kp.publicKey);
    expect(isSm2Key(pub)).toBe(true);
    for (const msg of [message, Buffer.alloc(0), randomBytes(3000)]) {
      const sigHex = smCrypto.doSignature(new Uint8Array(msg), kp.privateKey, { der: true, hash: true });
      const sig = Buffer.from(sigHex, 'hex');
      expect(sm2Verify(pub, msg, sig)).toBe(true);
      expect(sm2Verify(pub, msg, sig, EMPTY_ID)).toBe(false);
      const tampered = Buffer.concat([msg, Buffer.from([0])]);
      expect(sm2Verify(pub, tampered, sig)).toBe(false);
    }
  });

  it('passes the GB/T 32918.5 (GM/T 0003.5) example signature', () => {
    // Recommended-curve example: d, P, message "message digest", ID 1234567812345678.
    const d = '3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8';
    const P =
      '0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020' +
      'ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13';
    const r = 'f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3';
    const s = 'b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa';
    expect(r.length + s.length).toBe(128);
    // DER: both r and s have the high bit set, so each gets a leading 0x00.
    const der = Buffer.from(`3046022100${r}022100${s}`, 'hex');
    const msg = Buffer.from('message digest');
    const pub = publicKeyFromHex(P);
    expect(sm2Verify(pub, msg, der)).toBe(true);
    expect(sm2Verify(pub, msg, der, EMPTY_ID)).toBe(false);

    // The private key round-trips: our signature with it verifies in sm-crypto-v2.
    const priv = privateKeyFromHex(d, P);
    expect(publicKeyHex(priv)).toBe(P);
    expect(smCryptoVerify(msg, sm2Sign(priv, msg), P, '1234567812345678')).toBe(true);
  });

  it('signs the empty message and large messages', () => {
    for (const msg of [Buffer.alloc(0), randomBytes(1 << 20)]) {
      const sig = sm2Sign(privateKey, msg);
      expect(sm2Verify(publicKey, msg, sig)).toBe(true);
    }
    const empty = Buffer.alloc(0);
    expect(smCryptoVerify(empty, sm2Sign(privateKey, empty), pubHex, '1234567812345678')).toBe(true);
  });

  it('works with keys parsed from PEM (as a CA key loaded from disk would be)', async () => {
    const parsedPriv = createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const parsedPub = createPublicKey(publicKey.export({ type: 'spki', format: 'pem' }));
    const sig = sm2Sign(parsedPriv, message);
    expect(smCryptoVerify(message, sig, pubHex, '1234567812345678')).toBe(true);
    expect(sm2Verify(parsedPub, message, sig)).toBe(true);
    expect(sm2Verify(publicKey, message, await sm2SignAsync(parsedPriv, message))).toBe(true);
  });

  it('verifies with the private KeyObject as well', () => {
    const sig = sm2Sign(privateKey, message);
    expect(sm2Verify(privateKey, message, sig)).toBe(true);
  });

  describe('bad input never crashes', () => {
    const require = createRequire(import.meta.url);
    const addonPath = fileURLToPath(new URL('../ca/sm2/native/build/Release/sm2.node', import.meta.url));
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

    it('rejects garbage / empty / wrong-type key DER with clear errors', () => {
      // The raw addon, to feed it DER that could never become a KeyObject.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const native = require(addonPath) as any;
      expect(() => native.loadPrivateKey(Buffer.from('not a key at all'))).toThrow(/cannot parse SM2 private key/);
      expect(() => native.loadPrivateKey(Buffer.alloc(0))).toThrow(/empty/);
      expect(() => native.loadPublicKey(randomBytes(91))).toThrow(/cannot parse SM2 public key/);
      expect(() => native.loadPublicKey(Buffer.alloc(0))).toThrow(/empty/);
      expect(() => native.loadPrivateKey(rsa.privateKey.export({ type: 'pkcs8', format: 'der' }))).toThrow(
        /not an SM2 private key \(key type RSA\)/,
      );
      expect(() => native.loadPublicKey(p256.publicKey.export({ type: 'spki', format: 'der' }))).toThrow(
        /not an SM2 public key/,
      );
      // Truncated PKCS#8 of a real SM2 key.
      const der = privateKey.export({ type: 'pkcs8', format: 'der' });
      expect(() => native.loadPrivateKey(der.subarray(0, der.length - 10))).toThrow(/cannot parse/);
      // DER buffers passed straight to sign/verify are parsed and checked too.
      expect(() => native.sign(Buffer.from('junk'), message, SM2_DEFAULT_ID)).toThrow(/cannot parse/);
      expect(() => native.verify(Buffer.from('junk'), message, Buffer.from('00', 'hex'), SM2_DEFAULT_ID)).toThrow(
        /cannot parse/,
      );
      // Wrong argument types.
      expect(() => native.sign({}, message, SM2_DEFAULT_ID)).toThrow(TypeError);
      expect(() => native.sign(native.loadPrivateKey(der), 'text', SM2_DEFAULT_ID)).toThrow(TypeError);
      expect(() => native.sign(native.loadPublicKey(publicKey.export({ type: 'spki', format: 'der' })), message, SM2_DEFAULT_ID)).toThrow(
        /needs a private key/,
      );
      expect(() => native.sign()).toThrow(TypeError);
    });

    it('rejects RSA / P-256 / public keys in the TypeScript API', async () => {
      expect(() => sm2Sign(rsa.privateKey, message)).toThrow(/not an SM2 key/);
      expect(() => sm2Sign(p256.privateKey, message)).toThrow(/not an SM2 key/);
      expect(() => sm2Sign(publicKey, message)).toThrow(/private key/);
      expect(() => sm2Verify(rsa.publicKey, message, Buffer.alloc(64))).toThrow(/not an SM2 key/);
      expect(() => sm2Sign(privateKey, 'text' as unknown as Buffer)).toThrow(TypeError);
      expect(() => sm2Sign(privateKey, message, Buffer.alloc(9000))).toThrow(RangeError);
      await expect(sm2SignAsync(rsa.privateKey, message)).rejects.toThrow(/not an SM2 key/);
      await expect(sm2VerifyAsync(rsa.publicKey, message, Buffer.alloc(64))).rejects.toThrow(/not an SM2 key/);
    });

    it('treats empty, truncated and malformed signatures as invalid', async () => {
      const sig = sm2Sign(privateKey, message);
      const bad: Buffer[] = [
        Buffer.alloc(0),
        sig.subarray(0, sig.length - 1),
        sig.subarray(0, 10),
        Buffer.concat([sig, Buffer.from([0])]), // trailing garbage
        Buffer.from('3000', 'hex'),
        Buffer.from('3006020100020100', 'hex'), // r = s = 0
        randomBytes(72),
        Buffer.from([0x30]),
      ];
      for (const b of bad) {
        expect(sm2Verify(publicKey, message, b)).toBe(false);
        await expect(sm2VerifyAsync(publicKey, message, b)).resolves.toBe(false);
      }
      const flipped = Buffer.from(sig);
      flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
      expect(sm2Verify(publicKey, message, flipped)).toBe(false);
    });
  });

  describe('async variants', () => {
    it('give the same results as the sync ones', async () => {
      const sig = await sm2SignAsync(privateKey, message);
      expect(smCryptoVerify(message, sig, pubHex, '1234567812345678')).toBe(true);
      expect(smCryptoVerify(message, sig, pubHex, '')).toBe(false);
      expect(sm2Verify(publicKey, message, sig)).toBe(true);
      await expect(sm2VerifyAsync(publicKey, message, sig)).resolves.toBe(true);
      await expect(sm2VerifyAsync(publicKey, message, sig, EMPTY_ID)).resolves.toBe(false);
      await expect(sm2VerifyAsync(publicKey, Buffer.from('other'), sig)).resolves.toBe(false);

      const alice = Buffer.from('ALICE123@YAHOO.COM');
      const sigA = await sm2SignAsync(privateKey, message, alice);
      await expect(sm2VerifyAsync(publicKey, message, sigA, alice)).resolves.toBe(true);
      expect(sm2Verify(publicKey, message, sigA)).toBe(false);
    });

    it('sign in parallel on the thread pool, copying inputs', async () => {
      const msgs = Array.from({ length: 64 }, (_, i) => Buffer.from(`certificate #${i}`));
      const pending = msgs.map((m) => sm2SignAsync(privateKey, m));
      // Mutating the inputs after the call must not affect the signatures.
      for (const m of msgs) m.fill(0);
      const sigs = await Promise.all(pending);
      const results = await Promise.all(
        sigs.map((s, i) => sm2VerifyAsync(publicKey, Buffer.from(`certificate #${i}`), s)),
      );
      expect(results.every((r) => r)).toBe(true);
      expect(sigs.every((s, i) => smCryptoVerify(Buffer.from(`certificate #${i}`), s, pubHex, '1234567812345678'))).toBe(
        true,
      );
    });
  });
});
