// A small, fast DER encoder and reader. Certificates, CRLs and OCSP
// responses are built here byte by byte: a generic ASN.1 object model costs
// 10-50x more per certificate, and a CRL of 1,000,000 entries must build in seconds.

import { EgovError } from '../../core/index.js';

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

// ---------------------------------------------------------------- encoding


/** Bytes a DER header (tag + length) takes for content of `length` bytes. */
export function headerSize(length: number): number {
  return length < 0x80 ? 2 : length < 0x100 ? 3 : length < 0x10000 ? 4 : length < 0x1000000 ? 5 : 6;
}

/** Writes a tag and DER length at `offset`; returns the offset just past them. */
export function writeHeader(out: Buffer, offset: number, tag: number, length: number): number {
  out[offset++] = tag;
  if (length < 0x80) {
    out[offset++] = length;
    return offset;
  }
  const count = headerSize(length) - 2;
  out[offset++] = 0x80 | count;
  for (let i = count - 1; i >= 0; i--) out[offset++] = Math.floor(length / 2 ** (8 * i)) & 0xff;
  return offset;
}

/** One TLV around several pieces, written in one pass (no intermediate concatenation). */
export function tlvOf(tag: number, items: readonly Buffer[]): Buffer {
  let length = 0;
  for (const item of items) length += item.length;
  const out = Buffer.allocUnsafe(headerSize(length) + length);
  let offset = writeHeader(out, 0, tag, length);
  for (const item of items) offset += item.copy(out, offset);
  return out;
}

/** One TLV with the given tag byte around the content. */
export function tlv(tag: number, content: Buffer): Buffer {
  const len = content.length;
  if (len < 0x80) {
    const out = Buffer.allocUnsafe(2 + len);
    out[0] = tag;
    out[1] = len;
    content.copy(out, 2);
    return out;
  }
  return tlvOf(tag, [content]);
}

export function sequence(...items: Buffer[]): Buffer {
  return tlvOf(Tag.SEQUENCE, items);
}

/** SET OF, with its elements sorted as DER requires. */
export function setOf(...items: Buffer[]): Buffer {
  return tlv(Tag.SET, Buffer.concat([...items].sort(Buffer.compare)));
}

/** Context-specific constructed [n] EXPLICIT. */
export function explicit(tagNumber: number, content: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, content);
}

/** Context-specific [n] IMPLICIT over a primitive value (content only). */
export function implicitPrimitive(tagNumber: number, content: Buffer): Buffer {
  return tlv(0x80 | tagNumber, content);
}

/** Context-specific [n] IMPLICIT over a constructed value (content only). */
export function implicitConstructed(tagNumber: number, content: Buffer): Buffer {
  return tlv(0xa0 | tagNumber, content);
}

/** INTEGER from unsigned big-endian magnitude bytes (adds the sign byte when needed). */
export function unsignedInteger(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  let body = magnitude.subarray(start);
  if (body.length === 0) body = Buffer.from([0]);
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return tlv(Tag.INTEGER, body);
}

export function integer(value: number | bigint): Buffer {
  let n = BigInt(value);
  if (n < 0n) throw new RangeError('negative INTEGER not supported');
  const bytes: number[] = [];
  do {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  } while (n > 0n);
  return unsignedInteger(Buffer.from(bytes));
}

export function enumerated(value: number): Buffer {
  return tlv(Tag.ENUMERATED, integer(value).subarray(2));
}

export function boolean(value: boolean): Buffer {
  return Buffer.from([Tag.BOOLEAN, 1, value ? 0xff : 0]);
}

export const NULL = Buffer.from([Tag.NULL, 0]);

export function octetString(content: Buffer): Buffer {
  return tlv(Tag.OCTET_STRING, content);
}

/** BIT STRING with no unused bits. */
const NO_UNUSED_BITS = Buffer.from([0]);

export function bitString(content: Buffer): Buffer {
  return tlvOf(Tag.BIT_STRING, [NO_UNUSED_BITS, content]);
}

/** BIT STRING holding named bits (bit 0 = most significant bit of the first byte), DER-trimmed. */
export function namedBits(bits: number[]): Buffer {
  if (bits.length === 0) return Buffer.from([Tag.BIT_STRING, 1, 0]);
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const bit of bits) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  const unused = 7 - (highest & 7);
  return tlv(Tag.BIT_STRING, Buffer.concat([Buffer.from([unused]), bytes]));
}

export function utf8String(text: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(text, 'utf8'));
}

export function printableString(text: string): Buffer {
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(text, 'latin1'));
}

export function ia5String(text: string): Buffer {
  return tlv(Tag.IA5_STRING, Buffer.from(text, 'latin1'));
}

const oidCache = new Map<string, Buffer>();

export function oid(dotted: string): Buffer {
  const cached = oidCache.get(dotted);
  if (cached) return cached;
  const arcs = dotted.split('.').map((arc) => BigInt(arc));
  if (arcs.length < 2) throw new RangeError(`bad OID ${dotted}`);
  const body: number[] = [];
  const encodeArc = (arc: bigint) => {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) chunk.unshift(Number(rest & 0x7fn) | 0x80);
    body.push(...chunk);
  };
  encodeArc(arcs[0]! * 40n + arcs[1]!);
  for (const arc of arcs.slice(2)) encodeArc(arc);
  const encoded = tlv(Tag.OID, Buffer.from(body));
  oidCache.set(dotted, encoded);
  return encoded;
}

const pad2 = (n: number) => (n < 10 ? '0' + n : String(n));

/** MMDDhhmmssZ, the part UTCTime and GeneralizedTime share. */
const monthToSecond = (date: Date) =>
  pad2(date.getUTCMonth() + 1) + pad2(date.getUTCDate()) + pad2(date.getUTCHours()) + pad2(date.getUTCMinutes()) + pad2(date.getUTCSeconds()) + 'Z';

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime after. Seconds precision, Zulu. */
export function time(date: Date): Buffer {
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(Tag.UTC_TIME, Buffer.from(pad2(year % 100) + monthToSecond(date), 'latin1'));
  return generalizedTime(date);
}

export function generalizedTime(date: Date): Buffer {
  return tlv(Tag.GENERALIZED_TIME, Buffer.from(String(date.getUTCFullYear()).padStart(4, '0') + monthToSecond(date), 'latin1'));
}

// ---------------------------------------------------------------- reading

/** A decoded TLV: positions refer to the buffer it was read from. */
export interface Node {
  readonly tag: number;
  readonly buffer: Buffer;
  /** offset of the tag byte */
  readonly start: number;
  /** offset of the first content byte */
  readonly contentStart: number;
  /** offset just past the content */
  readonly end: number;
}

function malformed(what: string, detail: string): EgovError {
  return new EgovError('bad-encoding', `${what} is not valid DER: ${detail}`);
}

/** Reads one TLV at `offset`; `what` names the thing being parsed in errors. */
export function read(buffer: Buffer, offset = 0, limit = buffer.length, what = 'input'): Node {
  if (offset + 2 > limit) throw malformed(what, `truncated at byte ${offset}`);
  const tag = buffer[offset]!;
  if ((tag & 0x1f) === 0x1f) throw malformed(what, `multi-byte tag at byte ${offset}`);
  let cursor = offset + 1;
  let length = buffer[cursor++]!;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw malformed(what, `indefinite length at byte ${offset}`);
    if (count > 4) throw malformed(what, `length of ${count} bytes at byte ${offset}`);
    if (cursor + count > limit) throw malformed(what, `truncated length at byte ${offset}`);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[cursor++]!;
  }
  const end = cursor + length;
  if (end > limit) throw malformed(what, `element at byte ${offset} claims ${length} bytes, ${limit - cursor} remain`);
  return { tag, buffer, start: offset, contentStart: cursor, end };
}

/** Reads a whole buffer as exactly one TLV. */
export function readWhole(buffer: Buffer, what = 'input'): Node {
  const node = read(buffer, 0, buffer.length, what);
  if (node.end !== buffer.length) throw malformed(what, `${buffer.length - node.end} trailing bytes`);
  return node;
}

export function children(node: Node, what = 'input'): Node[] {
  const items: Node[] = [];
  for (let offset = node.contentStart; offset < node.end; ) {
    const child = read(node.buffer, offset, node.end, what);
    items.push(child);
    offset = child.end;
  }
  return items;
}

export function content(node: Node): Buffer {
  return node.buffer.subarray(node.contentStart, node.end);
}

export function raw(node: Node): Buffer {
  return node.buffer.subarray(node.start, node.end);
}

export function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node) throw malformed(what, `missing element (expected tag 0x${tag.toString(16)})`);
  if (node.tag !== tag) throw malformed(what, `expected tag 0x${tag.toString(16)}, found 0x${node.tag.toString(16)}`);
  return node;
}

export function readOid(node: Node): string {
  const buffer = node.buffer;
  const end = node.end;
  if (node.contentStart === end) throw malformed('OID', 'empty');
  // Arcs as plain numbers while they stay well inside 2^53; BigInt only for huge arcs (2.25.<uuid>).
  let text = '';
  let value = 0;
  let first = true;
  for (let i = node.contentStart; i < end; i++) {
    const byte = buffer[i]!;
    if (value >= 2 ** 45) return readOidBig(node);
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      if (first) {
        text = value < 40 ? '0.' + value : value < 80 ? '1.' + (value - 40) : '2.' + (value - 80);
        first = false;
      } else text += '.' + value;
      value = 0;
    }
  }
  return first ? readOidBig(node) : text;
}

function readOidBig(node: Node): string {
  const body = content(node);
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of body) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift()!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/** INTEGER content as unsigned magnitude (leading sign byte removed). */
export function readUnsignedInteger(node: Node): Buffer {
  const body = content(node);
  return body.length > 1 && body[0] === 0 ? body.subarray(1) : body;
}

export function readSmallInteger(node: Node): number {
  const body = content(node);
  if (body.length > 6) throw malformed('INTEGER', 'too large');
  let n = 0;
  for (const byte of body) n = n * 256 + byte;
  return n;
}

export function readTime(node: Node | undefined): Date {
  // A validity with one time or none (found by the fuzzer: a TypeError escaped readCertificate).
  if (!node) throw malformed('Time', 'missing');
  const text = content(node).toString('latin1');
  const m =
    node.tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(text);
  if (!m) throw malformed('Time', `unreadable time "${text}"`);
  let year = Number(m[1]);
  if (node.tag === Tag.UTC_TIME) year += year < 50 ? 2000 : 1900;
  return new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

/** PEM armour and unarmour. */
export function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Accepts PEM (any of `labels`) or raw DER; returns DER. */
export function fromPemOrDer(input: Buffer | string, labels: string[], what: string): Buffer {
  const text = typeof input === 'string' ? input : input.subarray(0, 64).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const full = typeof input === 'string' ? input : input.toString('latin1');
    const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(full);
    if (!m) throw new EgovError('bad-encoding', `${what}: PEM armour is incomplete`);
    if (!labels.includes(m[1]!)) throw new EgovError('bad-encoding', `${what}: expected PEM "${labels.join('" or "')}", found "${m[1]}"`);
    const der = Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64');
    if (der.length === 0) throw new EgovError('bad-encoding', `${what}: PEM body is empty`);
    return der;
  }
  if (typeof input === 'string') throw new EgovError('bad-encoding', `${what}: neither PEM nor DER`);
  return input;
}
