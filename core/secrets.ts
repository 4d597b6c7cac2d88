// Secrets the suite must keep but never in clear at rest (SNMP community
// strings and v3 passwords, repository passwords given through the API):
// AES-256-GCM with a key from EGOV_OPS_SECRET_KEY (base64, 32 bytes) or a key
// file in the data directory readable only by its owner.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from './errors.js';

const VERSION = 1;

export interface SecretBox {
  seal(plaintext: string): Buffer;
  open(sealed: Buffer, what: string): string;
}

export function secretBoxFromKey(key: Buffer): SecretBox {
  if (key.length !== 32) throw new EgovError('bad-config', `the secret key is ${key.length} bytes; 32 are required`);
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([Buffer.of(VERSION), iv, cipher.getAuthTag(), body]);
    },
    open(sealed, what) {
      if (sealed.length < 29 || sealed[0] !== VERSION) throw new EgovError('bad-encoding', `${what} is not a sealed secret`);
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(1, 13));
        decipher.setAuthTag(sealed.subarray(13, 29));
        return Buffer.concat([decipher.update(sealed.subarray(29)), decipher.final()]).toString('utf8');
      } catch {
        throw new EgovError('wrong-passphrase', `${what} does not open with this suite's secret key (EGOV_OPS_SECRET_KEY or DATA_DIR/secret.key changed?)`);
      }
    },
  };
}

/** The suite's secret box: EGOV_OPS_SECRET_KEY, else DATA_DIR/secret.key (made on first use, mode 0600). */
export function openSecretBox(dataDir: string, env: NodeJS.ProcessEnv = process.env): SecretBox {
  const fromEnv = env.EGOV_OPS_SECRET_KEY;
  if (fromEnv) return secretBoxFromKey(Buffer.from(fromEnv, 'base64'));
  const file = path.join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return secretBoxFromKey(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'));
}
