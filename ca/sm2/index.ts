/**
 * SM2 signatures (SM3withSM2) with a GM/T 0009 distinguishing ID.
 *
 * Why this exists: node's `crypto.sign('sm3', data, sm2Key)` is NOT an SM2
 * signature. Node 20 treats an SM2-curve key as a plain EC key, so it produces
 * ECDSA-with-SM3 over the SM2 curve (no Z_A at all). Real SM2 signatures hash
 *   e = SM3(Z_A || M),  Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA)
 * and GM/T 0009 fixes the default ID to "1234567812345678".
 *
 * The work is done by a small N-API addon (ca/sm2/native) that calls the
 * OpenSSL 3 linked into the node binary, with EVP_PKEY_CTX_set1_id(). Build it
 * with `npm run build:sm2`.
 *
 * KeyObjects are mapped to parsed native key handles through WeakMaps, so
 * signing repeatedly with the same CA key parses it only once.
 */
import { KeyObject, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** GM/T 0009 default distinguishing ID (16 bytes, ENTL = 0x0080). */
export const SM2_DEFAULT_ID: Buffer = Buffer.from('1234567812345678', 'latin1');

/** OID of the SM2 curve (sm2p256v1), as used in SPKI/PKCS#8 algorithm parameters. */
export const SM2_CURVE_OID = '1.2.156.10197.1.301';

// DER of OBJECT IDENTIFIER 1.2.156.10197.1.301
const SM2_CURVE_OID_DER = Buffer.from('06082a811ccf5501822d', 'hex');
// Private copy so a caller mutating the exported SM2_DEFAULT_ID cannot change our default.
const DEFAULT_ID = Buffer.from(SM2_DEFAULT_ID);
const MAX_ID_LEN = 8191; // ENTL is a 16-bit count of bits

// ---------------------------------------------------------------------------
// Native addon loading

declare const nativeKeyBrand: unique symbol;
type NativeKey = { readonly [nativeKeyBrand]: true };

interface Sm2Native {
  loadPrivateKey(pkcs8Der: Uint8Array): NativeKey;
  loadPublicKey(spkiDer: Uint8Array): NativeKey;
  keyInfo(handle: NativeKey): { private: boolean; bits: number };
  sign(key: NativeKey | Uint8Array, message: Uint8Array, id: Uint8Array): Buffer;
  signAsync(key: NativeKey | Uint8Array, message: Uint8Array, id: Uint8Array): Promise<Buffer>;
  verify(key: NativeKey | Uint8Array, message: Uint8Array, signature: Uint8Array, id: Uint8Array): boolean;
  verifyAsync(
    key: NativeKey | Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
    id: Uint8Array,
  ): Promise<boolean>;
  verifySpkiAsync(spki: Uint8Array, digest: string, message: Uint8Array, signature: Uint8Array, id: Uint8Array): Promise<boolean>;
  verifyPartsAsync(ecGroup: string, a: Uint8Array, b: Uint8Array, digest: string, message: Uint8Array, signature: Uint8Array, id: Uint8Array): Promise<boolean>;
  readonly opensslVersion: string;
}

const ADDON_CANDIDATES = [
  // from the source tree: ca/sm2/index.ts (vitest, tsx)
  './native/build/Release/sm2.node',
  // from the compiled tree: dist/ca/sm2/index.js
  '../../../ca/sm2/native/build/Release/sm2.node',
  // from the bundled CLI: dist/egov-ops/*.js
  '../../ca/sm2/native/build/Release/sm2.node',
];

let native: Sm2Native | null | undefined; // undefined = not tried yet
let loadError: string | undefined;

function loadNative(): Sm2Native | null {
  if (native !== undefined) return native;
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const rel of ADDON_CANDIDATES) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (!existsSync(file)) continue;
    try {
      native = require(file) as Sm2Native;
      return native;
    } catch (err) {
      problems.push(`${file}: ${(err as Error).message}`);
    }
  }
  native = null;
  loadError =
    problems.length > 0
      ? `SM2 native addon failed to load (${problems.join('; ')}); rebuild it with \`npm run build:sm2\``
      : 'SM2 signing needs the native addon (ca/sm2/native); build it with `npm run build:sm2`';
  return null;
}

function addon(): Sm2Native {
  const n = loadNative();
  if (n === null) throw new Error(loadError);
  return n;
}

/** True when the native addon is built and loads. */
export function sm2NativeAvailable(): boolean {
  return loadNative() !== null;
}

/** OpenSSL version the addon runs against (node's own), or null if unavailable. */
export function sm2OpenSslVersion(): string | null {
  return loadNative()?.opensslVersion ?? null;
}

// ---------------------------------------------------------------------------
// Key handling

/**
 * True if `key` is an EC key on the SM2 curve (OID 1.2.156.10197.1.301).
 *
 * Node reports SM2 keys two ways: generateKeyPairSync('ec', {namedCurve:'SM2'})
 * gives asymmetricKeyType 'ec' / namedCurve 'SM2', but a key parsed from
 * PEM/DER (OpenSSL 3 decodes it as an "SM2" key) has asymmetricKeyType
 * undefined and empty details. So when in doubt, read the curve OID out of
 * the SPKI AlgorithmIdentifier.
 */
export function isSm2Key(key: KeyObject): boolean {
  if (!(key instanceof KeyObject) || key.type === 'secret') return false;
  const type = key.asymmetricKeyType as string | undefined;
  if (type === 'sm2') return true;
  if (type === 'ec') {
    // Node names the curve of keys it generated; only keys it parsed on the SM2 curve come without one.
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== undefined) return curve === 'SM2';
  }
  if (type !== undefined && type !== 'ec') return false;
  try {
    const pub = key.type === 'private' ? createPublicKey(key) : key;
    return spkiIsSm2(pub.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

/** Reads one DER TLV header at `pos`; returns [tag, contentStart, contentEnd]. */
function derTlv(buf: Buffer, pos: number): [number, number, number] | null {
  if (pos + 2 > buf.length) return null;
  const tag = buf[pos]!;
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > buf.length) return null;
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i]!;
    start += n;
  }
  if (start + len > buf.length) return null;
  return [tag, start, start + len];
}

/**
 * SPKI ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }.
 * SM2 when the algorithm is id-ecPublicKey with the SM2 curve as parameter, or
 * (some encoders) the SM2 OID itself as the algorithm.
 */
function spkiIsSm2(spki: Buffer): boolean {
  const outer = derTlv(spki, 0);
  if (!outer || outer[0] !== 0x30) return false;
  const alg = derTlv(spki, outer[1]);
  if (!alg || alg[0] !== 0x30) return false;
  for (let pos = alg[1]; pos < alg[2]; ) {
    const el = derTlv(spki, pos);
    if (!el || el[2] > alg[2]) return false;
    if (el[0] === 0x06 && spki.subarray(pos, el[2]).equals(SM2_CURVE_OID_DER)) return true;
    pos = el[2];
  }
  return false;
}

const privateHandles = new WeakMap<KeyObject, NativeKey>();
const publicHandles = new WeakMap<KeyObject, NativeKey>();

function describeKey(key: KeyObject): string {
  if (key.type === 'secret') return 'secret key';
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return `${key.type} ${key.asymmetricKeyType ?? 'unknown-type'}${curve ? ` (${curve})` : ''} key`;
}

function privateHandle(fn: string, key: KeyObject): NativeKey {
  if (!(key instanceof KeyObject)) throw new TypeError(`${fn}: privateKey must be a KeyObject`);
  const n = addon();
  const cached = privateHandles.get(key);
  if (cached !== undefined) return cached;
  if (key.type !== 'private') throw new TypeError(`${fn}: needs an SM2 private key, got a ${describeKey(key)}`);
  if (!isSm2Key(key)) throw new TypeError(`${fn}: not an SM2 key: ${describeKey(key)}`);
  const handle = n.loadPrivateKey(key.export({ type: 'pkcs8', format: 'der' }));
  privateHandles.set(key, handle);
  return handle;
}

function verifyHandle(fn: string, key: KeyObject): NativeKey {
  if (!(key instanceof KeyObject)) throw new TypeError(`${fn}: publicKey must be a KeyObject`);
  const n = addon();
  // A private key can verify too; reuse its handle if we already have one.
  const cached = publicHandles.get(key) ?? privateHandles.get(key);
  if (cached !== undefined) return cached;
  if (key.type === 'secret') throw new TypeError(`${fn}: needs an SM2 public key, got a secret key`);
  if (!isSm2Key(key)) throw new TypeError(`${fn}: not an SM2 key: ${describeKey(key)}`);
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  const handle = n.loadPublicKey(pub.export({ type: 'spki', format: 'der' }));
  publicHandles.set(key, handle);
  return handle;
}

function checkBytes(fn: string, name: string, v: unknown): asserts v is Uint8Array {
  if (!(v instanceof Uint8Array)) throw new TypeError(`${fn}: ${name} must be a Buffer or Uint8Array`);
}

function resolveId(fn: string, id: Uint8Array | undefined): Uint8Array {
  if (id === undefined) return DEFAULT_ID;
  checkBytes(fn, 'id', id);
  if (id.length > MAX_ID_LEN) throw new RangeError(`${fn}: distinguishing ID is longer than ${MAX_ID_LEN} bytes`);
  return id;
}

// ---------------------------------------------------------------------------
// Public API

/**
 * SM3withSM2 signature of `message` (the message itself, not a digest) with
 * distinguishing ID `id` (default GM/T 0009 "1234567812345678"). Returns the
 * DER encoding SEQUENCE { r INTEGER, s INTEGER }, as used in X.509/CMS.
 */
export function sm2Sign(privateKey: KeyObject, message: Buffer, id?: Buffer): Buffer {
  checkBytes('sm2Sign', 'message', message);
  const theId = resolveId('sm2Sign', id);
  return addon().sign(privateHandle('sm2Sign', privateKey), message, theId);
}

/** Like sm2Sign, but signs on the libuv thread pool (cores sign in parallel). */
export async function sm2SignAsync(privateKey: KeyObject, message: Buffer, id?: Buffer): Promise<Buffer> {
  checkBytes('sm2SignAsync', 'message', message);
  const theId = resolveId('sm2SignAsync', id);
  return addon().signAsync(privateHandle('sm2SignAsync', privateKey), message, theId);
}

/**
 * Verifies a DER SM2 signature over `message` with distinguishing ID `id`
 * (default "1234567812345678"). A malformed, empty or truncated signature is
 * simply invalid (false); a wrong key type throws.
 */
export function sm2Verify(publicKey: KeyObject, message: Buffer, signature: Buffer, id?: Buffer): boolean {
  checkBytes('sm2Verify', 'message', message);
  checkBytes('sm2Verify', 'signature', signature);
  const theId = resolveId('sm2Verify', id);
  return addon().verify(verifyHandle('sm2Verify', publicKey), message, signature, theId);
}

/** Like sm2Verify, but runs on the libuv thread pool. */
export async function sm2VerifyAsync(
  publicKey: KeyObject,
  message: Buffer,
  signature: Buffer,
  id?: Buffer,
): Promise<boolean> {
  checkBytes('sm2VerifyAsync', 'message', message);
  checkBytes('sm2VerifyAsync', 'signature', signature);
  const theId = resolveId('sm2VerifyAsync', id);
  return addon().verifyAsync(verifyHandle('sm2VerifyAsync', publicKey), message, signature, theId);
}

/**
 * Verifies a signature by any key OpenSSL knows, given as SubjectPublicKeyInfo
 * DER, entirely on the libuv thread pool: parsing the key there too keeps
 * OpenSSL 3's slow key decoder (~150 us) off the JavaScript thread, which is
 * what bounds CSR issuance. `digest` is an OpenSSL digest name ("SHA256"),
 * "" for Ed25519, or "SM3" for SM2 (then `id` is the distinguishing ID,
 * default "1234567812345678"). Resolves false for a signature that does not
 * verify; rejects for a key OpenSSL cannot read.
 */
export async function verifyWithSpkiAsync(spki: Buffer, digest: string, message: Buffer, signature: Buffer, id?: Buffer): Promise<boolean> {
  checkBytes('verifyWithSpkiAsync', 'message', message);
  checkBytes('verifyWithSpkiAsync', 'signature', signature);
  const theId = digest === 'SM3' ? resolveId('verifyWithSpkiAsync', id) : Buffer.alloc(0);
  return addon().verifySpkiAsync(spki, digest, message, signature, theId);
}

/**
 * The public key given as its parts, built without OpenSSL's decoder (the
 * fastest import there is): `{ ecGroup: 'prime256v1', point }` or
 * `{ rsaModulus, rsaExponent }`. Otherwise as verifyWithSpkiAsync.
 */
export type PublicKeyParts = { ecGroup: 'prime256v1' | 'secp384r1' | 'SM2'; point: Buffer } | { rsaModulus: Buffer; rsaExponent: Buffer };

export async function verifyWithPartsAsync(parts: PublicKeyParts, digest: string, message: Buffer, signature: Buffer): Promise<boolean> {
  checkBytes('verifyWithPartsAsync', 'message', message);
  checkBytes('verifyWithPartsAsync', 'signature', signature);
  const n = addon();
  const empty = Buffer.alloc(0);
  // SM2 signs Z_A || M: the distinguishing ID is part of what is verified.
  const id = digest === 'SM3' ? DEFAULT_ID : empty;
  return 'ecGroup' in parts
    ? n.verifyPartsAsync(parts.ecGroup, parts.point, empty, digest, message, signature, id)
    : n.verifyPartsAsync('', parts.rsaModulus, parts.rsaExponent, digest, message, signature, empty);
}
