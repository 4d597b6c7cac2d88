// Structured logs (pino). Secrets are redacted by key wherever they appear.
import { createRequire } from 'node:module';
import type pino from 'pino';

// Loaded on first use: most commands print to the terminal and never log.
const require = createRequire(import.meta.url);

export type Logger = pino.Logger;

/** A URL with its password shown as *** (postgres://, http:// and the like), for messages and logs. */
export function redactUrlPassword(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

export const redactedKeys = ['passphrase', 'password', 'token', 'authorization', 'privateKey', 'p12Password', 'key'];

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  const pinoFactory = require('pino') as typeof import('pino');
  return pinoFactory.pino(
    {
      level,
      redact: { paths: [...redactedKeys, ...redactedKeys.map((k) => `*.${k}`), 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream,
  );
}
