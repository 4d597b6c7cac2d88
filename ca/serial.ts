// Certificate serial numbers: 72 bits, 64 or more of them from the CSPRNG,
// always positive and always nine bytes (fixed size keeps CRL entries small).

import { randomFillSync } from 'node:crypto';
import { EgovError } from '../core/index.js';

declare const serialBrand: unique symbol;
/** Lower-case hex of the serial's unsigned magnitude. */
export type Serial = string & { readonly [serialBrand]: true };

export const SERIAL_BYTES = 9;

// CSPRNG bytes drawn 4 KiB at a time (as crypto.randomUUID does): one call
// into OpenSSL per 455 serials instead of one per serial. Each byte is used once.
const POOL_SIZE = SERIAL_BYTES * 455;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

export function newSerial(): Serial {
  if (poolOffset + SERIAL_BYTES > POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + SERIAL_BYTES));
  pool.fill(0, poolOffset, poolOffset + SERIAL_BYTES);
  poolOffset += SERIAL_BYTES;
  // First byte 0x01..0x7f: positive, no leading zero, so the DER INTEGER stays nine bytes.
  bytes[0] = (bytes[0]! % 0x7f) + 1;
  return bytes.toString('hex') as Serial;
}

/** Accepts hex with optional 0x, colons or spaces, any case; leading zero bytes dropped. */
export function parseSerial(text: string): Serial {
  const hex = text.trim().replace(/^0x/i, '').replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(hex) || hex.length > 40) throw new EgovError('bad-request', `serial "${text}" is not a hexadecimal serial number of at most 20 bytes`);
  const even = hex.length % 2 ? '0' + hex : hex;
  return (even.replace(/^(00)+(?=..)/, '') || '00') as Serial;
}

export function serialFromBytes(bytes: Buffer): Serial {
  return parseSerial(bytes.toString('hex'));
}

export function serialBytes(serial: Serial): Buffer {
  return Buffer.from(serial, 'hex');
}
