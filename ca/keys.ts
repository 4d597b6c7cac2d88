// CA private keys at rest: encrypted PKCS#8 (PBES2, PBKDF2-HMAC-SHA256,
// AES-256-CBC), never in clear. The passphrase comes from a file, an
// environment variable or a prompt, in that order (see cli/).

import { createPrivateKey, type KeyObject } from 'node:crypto';
import { EgovError } from '../core/index.js';

export const MIN_PASSPHRASE_LENGTH = 12;

/** Where the CA key passphrase comes from; resolved only when a key is needed. */
export type PassphraseSource = () => Promise<string>;

export function fixedPassphrase(passphrase: string): PassphraseSource {
  return async () => passphrase;
}

export function checkPassphraseStrength(passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE_LENGTH) {
    throw new EgovError('bad-request', `CA key passphrase is ${passphrase.length} characters; at least ${MIN_PASSPHRASE_LENGTH} are required`);
  }
}

export function encryptPrivateKey(key: KeyObject, passphrase: string): Buffer {
  return key.export({ type: 'pkcs8', format: 'der', cipher: 'aes-256-cbc', passphrase });
}

export function decryptPrivateKey(encrypted: Buffer, passphrase: string, what: string): KeyObject {
  try {
    return createPrivateKey({ key: encrypted, format: 'der', type: 'pkcs8', passphrase });
  } catch (error) {
    const message = (error as Error).message;
    if (/bad decrypt|decrypt|passphrase|wrong|unsupported/i.test(message)) {
      throw new EgovError('wrong-passphrase', `the passphrase does not open ${what} (wrong CA key passphrase)`);
    }
    throw new EgovError('bad-encoding', `${what} cannot be read: ${message}`);
  }
}

/** A private key from PEM or DER, encrypted (with the passphrase) or not; for import. */
export function readPrivateKey(input: Buffer | string, passphrase: string | undefined, what: string): KeyObject {
  try {
    const text = typeof input === 'string' ? input : input.toString('latin1');
    if (text.includes('-----BEGIN')) return createPrivateKey({ key: text, format: 'pem', ...(passphrase ? { passphrase } : {}) });
    return createPrivateKey({ key: input as Buffer, format: 'der', type: 'pkcs8', ...(passphrase ? { passphrase } : {}) });
  } catch (error) {
    const message = (error as Error).message;
    if (/bad decrypt|passphrase/i.test(message)) throw new EgovError('wrong-passphrase', `the passphrase does not open ${what}`);
    throw new EgovError('bad-encoding', `${what} is not a readable private key: ${message}`);
  }
}
