// PKCS#12 (RFC 7292) for keys generated on the server: the key in a shrouded
// key bag and the certificates in an encrypted safe, both PBES2 with
// PBKDF2-HMAC-SHA256 and AES-256-CBC, and a SHA-256 MAC: what OpenSSL 3
// writes and reads by default.

import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes, type KeyObject } from 'node:crypto';
import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';
import { OID } from './oids.js';

export const PKCS12_ITERATIONS = 100_000;
/** OpenSSL's default MAC iteration count. */
const MAC_ITERATIONS = 2048;
export const MIN_PKCS12_PASSWORD_LENGTH = 8;

/** RFC 7292 appendix B.2 key derivation, used for the MAC key (ID 3) with SHA-256. */
function pkcs12Kdf(password: string, salt: Buffer, id: number, iterations: number, length: number): Buffer {
  const u = 32; // SHA-256 output
  const v = 64; // SHA-256 block
  const bmp = Buffer.alloc((password.length + 1) * 2);
  for (let i = 0; i < password.length; i++) bmp.writeUInt16BE(password.charCodeAt(i), i * 2);
  const fill = (source: Buffer) => {
    if (source.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(source.length / v));
    for (let i = 0; i < out.length; i++) out[i] = source[i % source.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  let I = Buffer.concat([fill(salt), fill(bmp)]);
  const result: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let i = 1; i < iterations; i++) A = createHash('sha256').update(A).digest();
    result.push(A);
    const B = fill(A);
    const next = Buffer.alloc(I.length);
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        next[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
    I = next;
  }
  return Buffer.concat(result).subarray(0, length);
}

function pbes2Encrypt(plain: Buffer, password: string): { algorithm: Buffer; encrypted: Buffer } {
  const salt = randomBytes(16);
  const iv = randomBytes(16);
  // PBES2 passwords are the UTF-8 bytes (as OpenSSL 3 does).
  const derived = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, PKCS12_ITERATIONS, 32, 'sha256');
  const cipher = createCipheriv('aes-256-cbc', derived, iv);
  const encrypted = Buffer.concat([cipher.update(plain), cipher.final()]);
  const algorithm = der.sequence(
    der.oid(OID.pbes2),
    der.sequence(
      der.sequence(der.oid(OID.pbkdf2), der.sequence(der.octetString(salt), der.integer(PKCS12_ITERATIONS), der.sequence(der.oid(OID.hmacWithSHA256), der.NULL))),
      der.sequence(der.oid(OID.aes256Cbc), der.octetString(iv)),
    ),
  );
  return { algorithm, encrypted };
}

const bagAttributes = (friendlyName: string, localKeyId: Buffer) =>
  der.setOf(
    der.sequence(der.oid(OID.friendlyName), der.setOf(der.tlv(der.Tag.BMP_STRING, Buffer.from(friendlyName, 'utf16le').swap16()))),
    der.sequence(der.oid(OID.localKeyId), der.setOf(der.octetString(localKeyId))),
  );

const dataContentInfo = (content: Buffer) => der.sequence(der.oid(OID.pkcs7Data), der.explicit(0, der.octetString(content)));

export interface Pkcs12Input {
  privateKey: KeyObject;
  /** Leaf first, then the chain. */
  certificates: Buffer[];
  password: string;
  friendlyName: string;
}

export function checkPkcs12Password(password: string): void {
  if (typeof password !== 'string' || password.length < MIN_PKCS12_PASSWORD_LENGTH) {
    throw new EgovError('bad-request', `the PKCS#12 password must be at least ${MIN_PKCS12_PASSWORD_LENGTH} characters`);
  }
}

export function buildPkcs12(input: Pkcs12Input): Buffer {
  checkPkcs12Password(input.password);
  const [leaf] = input.certificates;
  if (!leaf) throw new EgovError('bad-request', 'PKCS#12 needs at least the certificate');
  const localKeyId = createHash('sha1').update(leaf).digest();
  // Shrouded key bag: our own PBES2 wrapping of the plain PKCS#8.
  const plainKey = input.privateKey.export({ type: 'pkcs8', format: 'der' });
  const keyEnc = pbes2Encrypt(plainKey, input.password);
  plainKey.fill(0);
  const keyBag = der.sequence(
    der.oid(OID.pkcs12ShroudedKeyBag),
    der.explicit(0, der.sequence(keyEnc.algorithm, der.octetString(keyEnc.encrypted))),
    bagAttributes(input.friendlyName, localKeyId),
  );
  const certBags = input.certificates.map((certificate, index) =>
    der.sequence(
      der.oid(OID.pkcs12CertBag),
      der.explicit(0, der.sequence(der.oid(OID.x509Certificate), der.explicit(0, der.octetString(certificate)))),
      ...(index === 0 ? [bagAttributes(input.friendlyName, localKeyId)] : []),
    ),
  );
  const certEnc = pbes2Encrypt(der.sequence(...certBags), input.password);
  const encryptedCerts = der.sequence(
    der.oid(OID.pkcs7EncryptedData),
    der.explicit(0, der.sequence(der.integer(0), der.sequence(der.oid(OID.pkcs7Data), certEnc.algorithm, der.implicitPrimitive(0, certEnc.encrypted)))),
  );
  const authenticatedSafe = der.sequence(encryptedCerts, dataContentInfo(der.sequence(keyBag)));
  const macSalt = randomBytes(16);
  const macKey = pkcs12Kdf(input.password, macSalt, 3, MAC_ITERATIONS, 32);
  const mac = createHmac('sha256', macKey).update(authenticatedSafe).digest();
  const macData = der.sequence(der.sequence(der.sequence(der.oid(OID.sha256), der.NULL), der.octetString(mac)), der.octetString(macSalt), der.integer(MAC_ITERATIONS));
  return der.sequence(der.integer(3), dataContentInfo(authenticatedSafe), macData);
}
