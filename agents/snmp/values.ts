// SNMP values, typed: what net-snmp decodes, turned into a union that says
// what each value is (Counter64 as an exact bigint, never a float), and
// printed the way net-snmp's own tools print them with -On, byte for byte.

import * as snmp from 'net-snmp';
import type { RawVarbind } from 'net-snmp';
import type { Oid } from './oid.js';

export type SnmpValue =
  | { type: 'Integer'; value: number }
  | { type: 'OctetString'; value: Buffer }
  | { type: 'Null' }
  | { type: 'OID'; value: Oid }
  | { type: 'IpAddress'; value: string }
  | { type: 'Counter32'; value: number }
  | { type: 'Gauge32'; value: number }
  | { type: 'TimeTicks'; value: number }
  | { type: 'Opaque'; value: Buffer }
  | { type: 'Counter64'; value: bigint }
  | { type: 'NoSuchObject' }
  | { type: 'NoSuchInstance' }
  | { type: 'EndOfMibView' };

export type SnmpValueType = SnmpValue['type'];

export interface Varbind {
  oid: Oid;
  value: SnmpValue;
}

/** The three "no value here" answers of SNMPv2 (RFC 3416 section 4.2.1). */
export type ExceptionValue = Extract<SnmpValue, { type: 'NoSuchObject' | 'NoSuchInstance' | 'EndOfMibView' }>;

export function isException(value: SnmpValue): value is ExceptionValue {
  return value.type === 'NoSuchObject' || value.type === 'NoSuchInstance' || value.type === 'EndOfMibView';
}

/** A value the agent sent that cannot be what its type says (e.g. a 10-byte Counter64). */
export class MalformedValueError extends Error {
  override readonly name = 'MalformedValueError';
}

const TWO_64 = 1n << 64n;

/**
 * Counter64 as net-snmp hands it over: the BER content octets, big-endian,
 * 1 to 9 bytes (a leading 0x00 keeps the top bit clear). Agents that omit
 * that 0x00 are read as unsigned too, as net-snmp's C library does.
 */
export function decodeCounter64(content: Buffer): bigint {
  if (content.length === 0) throw new MalformedValueError('Counter64 with no content octets');
  if (content.length > 9 || (content.length === 9 && content[0] !== 0)) throw new MalformedValueError(`Counter64 of ${content.length} octets (${content.toString('hex')}) does not fit in 64 bits`);
  const value = BigInt('0x' + content.toString('hex'));
  if (value >= TWO_64) throw new MalformedValueError(`Counter64 ${value} is above 2^64-1`);
  return value;
}

const T = snmp.ObjectType;

/** One varbind from net-snmp, typed. Throws MalformedValueError for values that break their type. */
export function decodeVarbind(raw: RawVarbind): Varbind {
  return { oid: raw.oid, value: decodeValue(raw) };
}

function decodeValue(raw: RawVarbind): SnmpValue {
  const { type, value } = raw;
  switch (type) {
    case T.Integer:
      return { type: 'Integer', value: asNumber(value, raw) };
    case T.OctetString:
      return { type: 'OctetString', value: asBuffer(value, raw) };
    case T.Null:
      return { type: 'Null' };
    case T.OID:
      if (typeof value !== 'string') throw new MalformedValueError(`OID value at ${raw.oid} is not an OID`);
      return { type: 'OID', value };
    case T.IpAddress:
      if (typeof value !== 'string') throw new MalformedValueError(`IpAddress value at ${raw.oid} is not 4 octets`);
      return { type: 'IpAddress', value };
    case T.Counter32:
      return { type: 'Counter32', value: asNumber(value, raw) };
    case T.Gauge32:
      return { type: 'Gauge32', value: asNumber(value, raw) };
    case T.TimeTicks:
      return { type: 'TimeTicks', value: asNumber(value, raw) };
    case T.Opaque:
      return { type: 'Opaque', value: asBuffer(value, raw) };
    case T.Counter64:
      return { type: 'Counter64', value: decodeCounter64(asBuffer(value, raw)) };
    case T.NoSuchObject:
      return { type: 'NoSuchObject' };
    case T.NoSuchInstance:
      return { type: 'NoSuchInstance' };
    case T.EndOfMibView:
      return { type: 'EndOfMibView' };
    default:
      throw new MalformedValueError(`value of ASN.1 type 0x${type.toString(16)} at ${raw.oid} is not an SNMP type`);
  }
}

function asNumber(value: unknown, raw: RawVarbind): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new MalformedValueError(`value at ${raw.oid} is not an integer`);
  return value;
}

function asBuffer(value: unknown, raw: RawVarbind): Buffer {
  if (!Buffer.isBuffer(value)) throw new MalformedValueError(`value at ${raw.oid} is not an octet string`);
  return value;
}

// ------------------------------------------------------------ net-snmp tools text (-On)

/** C's isprint() || isspace() in the C locale: what net-snmp prints as a STRING rather than hex. */
function isPrintableByte(byte: number): boolean {
  return (byte >= 0x20 && byte <= 0x7e) || (byte >= 0x09 && byte <= 0x0d);
}

export function isPrintableOctets(octets: Buffer): boolean {
  for (const byte of octets) if (!isPrintableByte(byte)) return false;
  return true;
}

/** net-snmp's hex dump: `XX ` per byte, 16 bytes a line (its hexOutputLength), lines joined by a newline. */
export function hexDump(octets: Buffer, perLine = 16): string {
  const lines: string[] = [];
  for (let i = 0; i < octets.length; i += perLine) {
    let line = '';
    for (const byte of octets.subarray(i, i + perLine)) line += byte.toString(16).toUpperCase().padStart(2, '0') + ' ';
    lines.push(line);
  }
  return lines.join('\n');
}

/** `0:02:03.45`, `1 day, 0:00:00.00`, `2 days, …`: net-snmp's uptime_string. */
export function formatTimeTicks(ticks: number): string {
  const centis = ticks % 100;
  let seconds = Math.floor(ticks / 100);
  const days = Math.floor(seconds / 86400);
  seconds %= 86400;
  const hours = Math.floor(seconds / 3600);
  seconds %= 3600;
  const minutes = Math.floor(seconds / 60);
  seconds %= 60;
  const clock = `${hours}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}.${String(centis).padStart(2, '0')}`;
  if (days === 0) return clock;
  return `${days} ${days === 1 ? 'day' : 'days'}, ${clock}`;
}

/** The value part of a net-snmp tools line: `STRING: "x"`, `Counter64: 5`, `Timeticks: (1) 0:00:00.01` … */
export function formatValue(value: SnmpValue): string {
  switch (value.type) {
    case 'Integer':
      return `INTEGER: ${value.value}`;
    case 'OctetString':
      if (value.value.length === 0) return '""';
      if (!isPrintableOctets(value.value)) return `Hex-STRING: ${hexDump(value.value)}`;
      return `STRING: "${value.value.toString('latin1').replace(/[\\"]/g, (c) => '\\' + c)}"`;
    case 'Null':
      return 'NULL';
    case 'OID':
      return `OID: .${value.value}`;
    case 'IpAddress':
      return `IpAddress: ${value.value}`;
    case 'Counter32':
      return `Counter32: ${value.value}`;
    case 'Gauge32':
      return `Gauge32: ${value.value}`;
    case 'TimeTicks':
      return `Timeticks: (${value.value}) ${formatTimeTicks(value.value)}`;
    case 'Opaque':
      return value.value.length === 0 ? 'OPAQUE: ' : `OPAQUE: ${hexDump(value.value)}`;
    case 'Counter64':
      return `Counter64: ${value.value}`;
    case 'NoSuchObject':
      return 'No Such Object available on this agent at this OID';
    case 'NoSuchInstance':
      return 'No Such Instance currently exists at this OID';
    case 'EndOfMibView':
      return 'No more variables left in this MIB View (It is past the end of the MIB tree)';
  }
}

/** One line as `snmpget -On` / `snmpbulkwalk -On` print it. */
export function formatVarbind(varbind: Varbind): string {
  return `.${varbind.oid} = ${formatValue(varbind.value)}`;
}

// ------------------------------------------------------------ JSON and event detail

export interface VarbindJson {
  oid: Oid;
  type: SnmpValueType;
  /** Numbers as numbers; Counter64 as a decimal string (exact); text for printable UTF-8 strings, else null; absent for exceptions. */
  value?: number | string | null;
  /** Octet strings and Opaque: the bytes, hex. */
  hex?: string;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Octet string as text when it is valid UTF-8 without control characters (Chinese device names included), else null. */
export function octetsAsText(octets: Buffer): string | null {
  let text: string;
  try {
    text = UTF8.decode(octets);
  } catch {
    return null;
  }
  return /[\u0000-\u0008\u000e-\u001f\u007f]/.test(text) ? null : text;
}

export function varbindToJson(varbind: Varbind): VarbindJson {
  const { oid, value } = varbind;
  switch (value.type) {
    case 'OctetString':
    case 'Opaque':
      return { oid, type: value.type, value: value.type === 'OctetString' ? octetsAsText(value.value) : null, hex: value.value.toString('hex') };
    case 'Counter64':
      return { oid, type: value.type, value: value.value.toString() };
    case 'Null':
      return { oid, type: value.type, value: null };
    case 'NoSuchObject':
    case 'NoSuchInstance':
    case 'EndOfMibView':
      return { oid, type: value.type };
    default:
      return { oid, type: value.type, value: value.value };
  }
}

/** A value as one exact string for event details: text or hex for octets, decimal for numbers (Counter64 included). */
export function valueAsDetail(value: SnmpValue): string {
  switch (value.type) {
    case 'OctetString':
      return octetsAsText(value.value) ?? hexDump(value.value).trimEnd().replace(/\n/g, ' ');
    case 'Opaque':
      return hexDump(value.value).trimEnd().replace(/\n/g, ' ');
    case 'Counter64':
      return value.value.toString();
    case 'Null':
      return 'NULL';
    case 'NoSuchObject':
    case 'NoSuchInstance':
    case 'EndOfMibView':
      return value.type;
    default:
      return String(value.value);
  }
}
