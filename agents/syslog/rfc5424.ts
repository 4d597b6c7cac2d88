// RFC 5424: HEADER = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
// PROCID SP MSGID, then SP STRUCTURED-DATA, then optionally SP MSG (which may
// start with a UTF-8 BOM). `-` is NILVALUE everywhere it is allowed.

import type { Severity } from '../../monitor/index.js';
import { parseRfc3339 } from './timestamps.js';
import { reject, type Rejection, type SyslogFields } from './types.js';

const NIL = '-';
const BOM = '\uFEFF';

/** Field limits from RFC 5424 section 6 (in characters: the header is US-ASCII). */
const HEADER_FIELDS = [
  { name: 'HOSTNAME', max: 255 },
  { name: 'APP-NAME', max: 48 },
  { name: 'PROCID', max: 128 },
  { name: 'MSGID', max: 32 },
] as const;
const SD_NAME_MAX = 32;

interface Cursor {
  text: string;
  at: number;
}

/**
 * Whether the text after PRI starts like RFC 5424: VERSION 1, SP, then a
 * NILVALUE or a date. ("<13>1 packet dropped" is a BSD message whose text
 * starts with "1", not a broken RFC 5424 one.)
 */
export function looksLikeRfc5424(text: string, afterPri: number): boolean {
  if (text.charCodeAt(afterPri) !== 0x31 /* 1 */ || text.charCodeAt(afterPri + 1) !== 0x20) return false;
  const next = afterPri + 2;
  if (text.charCodeAt(next) === 0x2d /* - */) return true;
  for (let i = next; i < next + 4; i++) {
    const code = text.charCodeAt(i);
    if (!(code >= 0x30 && code <= 0x39)) return false;
  }
  return text.charCodeAt(next + 4) === 0x2d;
}

/**
 * A VERSION other than 1 (e.g. `<13>2 2024-...`) is RFC 5424 from the future,
 * not a BSD message: refuse it rather than misread the header as text.
 */
export function futureVersion(text: string, afterPri: number): string | null {
  const m = /^([1-9]\d{0,2}) (?:-|\d{4}-\d{2}-\d{2}T)/.exec(text.slice(afterPri, afterPri + 16));
  return m && m[1] !== '1' ? m[1]! : null;
}

/** Parses from just after `<PRI>`; `text` is the whole decoded message. */
export function parseRfc5424(text: string, afterPri: number, facility: number, severity: Severity): SyslogFields | Rejection {
  const cursor: Cursor = { text, at: afterPri + 2 }; // past "1 "
  const timestampToken = nextToken(cursor, 'TIMESTAMP');
  if (typeof timestampToken !== 'string') return timestampToken;
  let time: number | null = null;
  if (timestampToken !== NIL) {
    time = parseRfc3339(timestampToken);
    if (time === null) return reject('bad-timestamp', `"${timestampToken.slice(0, 40)}" is not an RFC 5424 timestamp`);
  }
  const header: (string | null)[] = [];
  for (const field of HEADER_FIELDS) {
    const token = nextToken(cursor, field.name);
    if (typeof token !== 'string') return token;
    if (token.length > field.max) return reject('bad-header', `${field.name} is ${token.length} characters, more than ${field.max}`);
    header.push(token === NIL ? null : token);
  }
  const sd = parseStructuredData(cursor);
  if (!sd.ok) return sd;
  const message = readMessage(cursor);
  if (typeof message !== 'string') return message;
  const [host, app, procId, msgId] = header as [string | null, string | null, string | null, string | null];
  return { format: 'rfc5424', facility, severity, time, host, app, procId, msgId, message, structuredData: sd.data };
}

/** The next SP-terminated header field; a missing SP means the header was cut short. One pass finds the SP and any control character. */
function nextToken(cursor: Cursor, field: string): string | Rejection {
  const { text } = cursor;
  let end = cursor.at;
  let control = false;
  for (; end < text.length; end++) {
    const code = text.charCodeAt(end);
    if (code === 0x20) break;
    if (code < 0x20 || code === 0x7f) control = true;
  }
  if (end >= text.length) {
    const reason = field === 'TIMESTAMP' ? 'bad-timestamp' : 'bad-header';
    return reject(reason, `the header ends in ${field}, with no space after it: message truncated?`);
  }
  if (end === cursor.at) return reject('bad-header', `${field} is empty (two spaces in the header)`);
  if (control) return reject('bad-header', `${field} contains a control character`);
  const token = text.slice(cursor.at, end);
  cursor.at = end + 1;
  return token;
}

/** After STRUCTURED-DATA: end of message, or SP then MSG (a leading BOM marks it UTF-8 and is dropped). */
function readMessage(cursor: Cursor): string | Rejection {
  const { text, at } = cursor;
  if (at >= text.length) return '';
  if (text.charCodeAt(at) !== 0x20) return reject('bad-structured-data', `unexpected "${text[at]}" after the structured data`);
  const message = text.slice(at + 1);
  return message.startsWith(BOM) ? message.slice(1) : message;
}

type StructuredData = Record<string, Record<string, string>>;

/** `-`, or one or more `[SD-ID *(SP PARAM-NAME="VALUE")]` with no space between them. */
function parseStructuredData(cursor: Cursor): { ok: true; data: StructuredData } | Rejection {
  const { text } = cursor;
  const data: StructuredData = {};
  if (cursor.at >= text.length) return reject('bad-header', 'the message ends before STRUCTURED-DATA');
  if (text[cursor.at] === NIL) {
    cursor.at++;
    return { ok: true, data };
  }
  if (text[cursor.at] !== '[') return reject('bad-structured-data', `structured data must be "-" or start with "[", found "${text[cursor.at]}"`);
  while (text[cursor.at] === '[') {
    cursor.at++;
    const id = readSdName(cursor, 'SD-ID');
    if (typeof id !== 'string') return id;
    if (Object.hasOwn(data, id)) return reject('bad-structured-data', `SD-ID "${id}" appears twice`);
    const params: Record<string, string> = {};
    while (text[cursor.at] === ' ') {
      cursor.at++;
      const param = readSdParam(cursor, id);
      if ('reason' in param) return param;
      // RFC 5424 lets a PARAM-NAME repeat within an element: keep every value, comma-separated.
      setOwn(params, param.name, Object.hasOwn(params, param.name) ? `${params[param.name]},${param.value}` : param.value);
    }
    if (text[cursor.at] !== ']') return reject('bad-structured-data', `element "${id}" is not closed by "]"`);
    cursor.at++;
    setOwn(data, id, params);
  }
  return { ok: true, data };
}

/** An SD-ID or PARAM-NAME of "__proto__" is just a name: define it rather than set the prototype. */
function setOwn<T>(target: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** SD-NAME: 1-32 printable US-ASCII characters except `=`, SP, `]` and `"`. */
function readSdName(cursor: Cursor, what: string): string | Rejection {
  const { text } = cursor;
  const start = cursor.at;
  while (cursor.at < text.length) {
    const code = text.charCodeAt(cursor.at);
    if (code === 0x3d || code === 0x20 || code === 0x5d || code === 0x22) break;
    if (code < 33 || code > 126) return reject('bad-structured-data', `${what} contains a character that is not printable US-ASCII`);
    cursor.at++;
  }
  const name = text.slice(start, cursor.at);
  if (name === '') return reject('bad-structured-data', `empty ${what}`);
  if (name.length > SD_NAME_MAX) return reject('bad-structured-data', `${what} "${name.slice(0, 40)}" is longer than ${SD_NAME_MAX} characters`);
  if (cursor.at >= text.length) return reject('bad-structured-data', `structured data ends inside ${what} "${name}"`);
  return name;
}

/** PARAM-NAME="PARAM-VALUE", where `\"`, `\\` and `\]` are escapes and any other backslash is literal. */
function readSdParam(cursor: Cursor, id: string): { name: string; value: string } | Rejection {
  const name = readSdName(cursor, 'PARAM-NAME');
  if (typeof name !== 'string') return name;
  const { text } = cursor;
  if (text[cursor.at] !== '=' || text[cursor.at + 1] !== '"') return reject('bad-structured-data', `parameter "${name}" of "${id}" is not followed by ="`);
  cursor.at += 2;
  let value = '';
  let chunkStart = cursor.at;
  while (cursor.at < text.length) {
    const code = text.charCodeAt(cursor.at);
    if (code === 0x22 /* " */) {
      value += text.slice(chunkStart, cursor.at);
      cursor.at++;
      return { name, value };
    }
    if (code === 0x5c /* \ */) {
      const next = text.charCodeAt(cursor.at + 1);
      if (next === 0x22 || next === 0x5c || next === 0x5d) {
        value += text.slice(chunkStart, cursor.at);
        chunkStart = cursor.at + 1; // keep the escaped character, drop the backslash
        cursor.at += 2;
        continue;
      }
    }
    cursor.at++;
  }
  return reject('bad-structured-data', `the value of "${name}" in "${id}" has no closing quote`);
}
