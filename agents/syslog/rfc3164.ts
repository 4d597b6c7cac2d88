// RFC 3164 (BSD syslog) as devices really send it:
//   <34>Oct 11 22:14:15 mymachine su: 'su root' failed          the RFC's form
//   <13>Oct 11 22:14:15 app[42]: text                           no hostname
//   <189>123: *Mar  1 00:00:01.123: %SYS-5-CONFIG_I: text       Cisco (sequence number, * = clock not set)
//   <189>52: R1: Mar  1 00:00:01.123 UTC: %LINK-3-UPDOWN: ...   Cisco with origin-id
//   <187>Mar  1 2024 00:00:01+08:00 HUAWEI %%01IFNET/4/...     Huawei (year, offset)
//   <188>Mar  1 00:00:01:123 2024 H3C %%10SHELL/5/...          H3C (year after the time)
//   <13>2024-03-01T00:00:01.5+08:00 host app: text              RFC 3339 timestamp in BSD form
//   <13>just text                                               no header at all
// Year-less timestamps resolve to the nearest past time (see timestamps.ts).

import type { Severity } from '../../monitor/index.js';
import { MONTHS, fractionToMs, isValidWallClock, parseRfc3339, resolveYearless, wallClockToEpoch, type WallClock } from './timestamps.js';
import { reject, type Rejection, type SyslogFields } from './types.js';

export interface Rfc3164Context {
  receivedAt: number;
  /** The sender's UTC offset in minutes; undefined = this machine's zone. */
  offsetMinutes: number | undefined;
}

/** Groups: 1 marker (* or .), 2 year first, 3 month, 4 day, 5 year before the time, 6-8 h:m:s, 9 fraction, 10 numeric offset, 11 zone name, 12 year after, 13 Cisco colon. */
const BSD_TIMESTAMP =
  /([*.])?(?:(\d{4}) )?(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) {1,2}(\d{1,2}) (?:(\d{4}) )?(\d{2}):(\d{2}):(\d{2})(?:[.:](\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?(?: (UTC|GMT|CST|CET|CEST|EET|EEST|WET|BST|EST|EDT|CDT|MST|MDT|PST|PDT|JST|KST|HKT|SGT|TZ[+-]\d{1,2}))?(?: (\d{4}))?(:)?(?= |$)/y;
const ISO_TIMESTAMP = /(\d{4}-\d{2}-\d{2}T[^ ]+)(?= |$)/y;
const CISCO_SEQUENCE = /(\d{1,10}): /y;
const CISCO_ORIGIN_HOST = /([^\s:]{1,255}): (?=[*.]?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) )/y;
/** TAG[PID]: or TAG: (the colon may be missing after [PID]). */
const TAG = /([^\s[\]:]{1,64})(?:\[([^\]\s]{1,128})\])?(:)?(?: |$)/y;
const CISCO_MNEMONIC = /%([A-Z][A-Z0-9_]*(?:-[A-Z0-9_]+)*-[0-7]-[A-Z0-9_]+):/y;
const HUAWEI_MNEMONIC = /%%\d{2}([A-Z0-9_]+\/\d\/[A-Z0-9_]+)/y;

/** Zone names that mean one thing everywhere; other abbreviations (CST!) use the configured offset. */
const UNAMBIGUOUS_ZONES: Readonly<Record<string, number>> = { UTC: 0, GMT: 0 };

interface Cursor {
  text: string;
  at: number;
}

function matchAt(pattern: RegExp, cursor: Cursor): RegExpExecArray | null {
  pattern.lastIndex = cursor.at;
  return pattern.exec(cursor.text);
}

/** Parses from just after `<PRI>`; `text` is the whole decoded message. */
export function parseRfc3164(text: string, afterPri: number, facility: number, severity: Severity, context: Rfc3164Context): SyslogFields | Rejection {
  const cursor: Cursor = { text, at: afterPri };
  const structuredData: Record<string, Record<string, string>> = {};
  const cisco = readCiscoPrefix(cursor);
  // RFC 5424's registered "meta" SD-ID has the place for a sequence number.
  if (cisco.sequence !== null) structuredData.meta = { sequenceId: cisco.sequence };
  let host = cisco.originHost;

  const timestamp = readTimestamp(cursor, context);
  if (timestamp !== null && 'reason' in timestamp) return timestamp;
  const time = timestamp?.time ?? null;

  // RFC 3164: HOSTNAME follows the TIMESTAMP. Cisco's "...: %MNEMONIC" form has none there, and a token that is a TAG is not a host.
  if (timestamp && !timestamp.ciscoColon && host === null) host = readHostname(cursor);

  let app: string | null = null;
  let procId: string | null = null;
  // A vendor mnemonic first: "%SYS-5-CONFIG_I:" would otherwise pass for a TAG.
  const msgId = readVendorMnemonic(cursor);
  const tag = msgId === null ? matchAt(TAG, cursor) : null;
  if (tag && (tag[3] === ':' || tag[2] !== undefined)) {
    app = tag[1]!;
    procId = tag[2] ?? null;
    cursor.at = TAG.lastIndex;
  }
  return { format: 'rfc3164', facility, severity, time, host, app, procId, msgId, message: text.slice(cursor.at), structuredData };
}

/** Cisco's "SEQ: " and "ORIGIN-HOST: " before the timestamp, taken only when a timestamp or a mnemonic follows them. */
function readCiscoPrefix(cursor: Cursor): { sequence: string | null; originHost: string | null } {
  const none = { sequence: null, originHost: null };
  const sequence = matchAt(CISCO_SEQUENCE, cursor);
  if (!sequence) return none;
  const probe: Cursor = { text: cursor.text, at: CISCO_SEQUENCE.lastIndex };
  const origin = matchAt(CISCO_ORIGIN_HOST, probe);
  if (origin) probe.at = CISCO_ORIGIN_HOST.lastIndex;
  const next = probe.text.slice(probe.at, probe.at + 1);
  if (!(matchAt(BSD_TIMESTAMP, probe) || next === '%')) return none;
  cursor.at = probe.at;
  return { sequence: sequence[1]!, originHost: origin ? origin[1]! : null };
}

interface Timestamp {
  time: number;
  /** The Cisco form "TIMESTAMP: %MNEMONIC": no hostname follows. */
  ciscoColon: boolean;
}

/** A BSD or RFC 3339 timestamp and the space after it; null when there is none; a rejection when it is there but impossible. */
function readTimestamp(cursor: Cursor, context: Rfc3164Context): Timestamp | Rejection | null {
  const bsd = matchAt(BSD_TIMESTAMP, cursor);
  if (bsd) {
    const time = bsdTime(bsd, context);
    if (time === null) return reject('bad-timestamp', `"${bsd[0]}" is not a valid date and time`);
    cursor.at = skipSpace(cursor.text, BSD_TIMESTAMP.lastIndex);
    return { time, ciscoColon: bsd[13] === ':' };
  }
  const iso = matchAt(ISO_TIMESTAMP, cursor);
  if (iso) {
    const time = parseRfc3339(iso[1]!);
    if (time === null) return reject('bad-timestamp', `"${iso[1]!.slice(0, 40)}" is not an RFC 3339 timestamp`);
    cursor.at = skipSpace(cursor.text, ISO_TIMESTAMP.lastIndex);
    return { time, ciscoColon: false };
  }
  return null;
}

function skipSpace(text: string, at: number): number {
  return text.charCodeAt(at) === 0x20 ? at + 1 : at;
}

function bsdTime(m: RegExpExecArray, context: Rfc3164Context): number | null {
  const year = m[2] ?? m[5] ?? m[12];
  const clock = {
    month: MONTHS[m[3]!]!,
    day: Number(m[4]),
    hour: Number(m[6]),
    minute: Number(m[7]),
    second: Number(m[8]),
    millisecond: fractionToMs(m[9]),
  };
  const offset = m[10] !== undefined ? numericOffset(m[10]) : m[11] !== undefined ? zoneOffset(m[11], context.offsetMinutes) : context.offsetMinutes;
  if (offset === null) return null;
  if (year === undefined) return resolveYearless(clock, context.receivedAt, offset);
  const withYear: WallClock = { ...clock, year: Number(year) };
  return isValidWallClock(withYear) ? wallClockToEpoch(withYear, offset) : null;
}

/** "+08:00" or "+0800" -> 480. */
function numericOffset(text: string): number | null {
  const digits = text.slice(1).replace(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4));
  if (hours > 23 || minutes > 59) return null;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** "UTC" -> 0, "TZ-6" -> -360 (RFC 3164's example 4), ambiguous names -> the configured offset. */
function zoneOffset(zone: string, configured: number | undefined): number | undefined | null {
  if (zone.startsWith('TZ')) {
    const hours = Number(zone.slice(2));
    return Math.abs(hours) <= 14 ? hours * 60 : null;
  }
  return UNAMBIGUOUS_ZONES[zone] ?? configured;
}

/** The token after the timestamp, unless it is a TAG ("su:", "app[42]:"), which means the sender left the hostname out. */
function readHostname(cursor: Cursor): string | null {
  const { text, at } = cursor;
  if (at >= text.length) return null;
  const space = text.indexOf(' ', at);
  const end = space === -1 ? text.length : space;
  const token = text.slice(at, end);
  if (token === '' || token.endsWith(':') || /\[[^\]]*\]:?$/.test(token) || token.startsWith('%')) return null;
  cursor.at = space === -1 ? end : end + 1;
  return token;
}

/** Cisco "%FACILITY-SEVERITY-MNEMONIC:" or Huawei/H3C "%%01MODULE/4/MNEMONIC": the message's identity, kept in msgId; the text keeps it too. */
function readVendorMnemonic(cursor: Cursor): string | null {
  const cisco = matchAt(CISCO_MNEMONIC, cursor);
  if (cisco) return cisco[1]!;
  const huawei = matchAt(HUAWEI_MNEMONIC, cursor);
  return huawei ? huawei[1]! : null;
}
