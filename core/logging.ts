// Structured logs (pino). Secrets are redacted by key wherever they appear.
import pino from 'pino';

export type Logger = pino.Logger;

export const redactedKeys = ['passphrase', 'password', 'token', 'authorization', 'privateKey', 'p12Password', 'key'];

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      redact: { paths: [...redactedKeys, ...redactedKeys.map((k) => `*.${k}`), 'req.headers.authorization'], censor: '[redacted]' },
    },
    destination as pino.DestinationStream,
  );
}
