// Certificate serial numbers: 72 bits, 64 or more of them from the CSPRNG,
// always positive and always nine bytes (fixed size keeps CRL entries small).

import { randomBytes } from 'node:crypto';
import { EgovError } from '../core/index.js';

declare const serialBrand: unique symbol;
/** Lower-case hex of the serial's unsigned magnitude. */
export type Serial = string & { readonly [serialBrand]: true };

export const SERIAL_BYTES = 9;

export function newSerial(): Serial {
  const bytes = randomBytes(SERIAL_BYTES);
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
