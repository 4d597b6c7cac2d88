// One syslog message in, its fields or a typed rejection out; the format
// (RFC 5424 or RFC 3164) is detected per message. Never throws on input.
//
// Oversized messages are truncated and flagged, not rejected: the first
// 64 KiB of a runaway stack trace or a misconfigured device's dump still
// tell the operator what happened, the header (host, app, severity) is
// intact, and rsyslog and syslog-ng do the same, so devices are used to it.

// The record contract itself, not the monitor's front door: the agent must not load the monitor's stores to name a severity.
import { SEVERITIES } from '../../monitor/index.js';
import { decodeUtf8, wholeCharacterLength } from './decode.js';
import { parseRfc3164 } from './rfc3164.js';
import { futureVersion, looksLikeRfc5424, parseRfc5424 } from './rfc5424.js';
import { DEFAULT_MAX_MESSAGE_BYTES, reject, type ParseOptions, type ParseOutcome, type Rejection } from './types.js';

const MAX_PRI = 191; // facility 23 (local7) * 8 + severity 7

/**
 * Parses one message. `receivedBytes` is its length on the wire when the
 * framing already cut it (TCP keeps at most the maximum in memory); by
 * default the length of `bytes`.
 */
export function parseSyslog(bytes: Buffer, options: ParseOptions = {}, receivedBytes = bytes.length): ParseOutcome {
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  let body = bytes.subarray(0, trailingFramingStart(bytes));
  if (body.length === 0) return reject('empty', 'the message is empty');
  let truncated = receivedBytes > bytes.length;
  if (body.length > maxBytes) {
    body = body.subarray(0, maxBytes);
    truncated = true;
  }
  if (truncated) body = body.subarray(0, wholeCharacterLength(body));
  const { text, invalidSequences } = decodeUtf8(body);

  const pri = readPri(text);
  if ('reason' in pri) return pri;
  const facility = pri.value >> 3;
  const severity = SEVERITIES[pri.value & 7]!;
  const receivedAt = options.receivedAt ?? Date.now();

  let fields;
  if (looksLikeRfc5424(text, pri.end)) {
    fields = parseRfc5424(text, pri.end, facility, severity);
  } else {
    const version = futureVersion(text, pri.end);
    if (version !== null) return reject('unsupported-version', `syslog VERSION ${version} (only 1 is defined)`);
    fields = parseRfc3164(text, pri.end, facility, severity, { receivedAt, offsetMinutes: options.rfc3164OffsetMinutes });
  }
  if ('reason' in fields) return fields;
  return { ok: true, fields, truncated, originalBytes: receivedBytes, invalidUtf8Sequences: invalidSequences };
}

/** Senders end messages with LF, CR LF or NUL (UDP and LF-framed TCP alike): not part of the message. */
function trailingFramingStart(bytes: Buffer): number {
  let end = bytes.length;
  while (end > 0) {
    const last = bytes[end - 1];
    if (last !== 0x0a && last !== 0x0d && last !== 0x00) break;
    end--;
  }
  return end;
}

/** `<PRIVAL>` with 1-3 digits and a value of at most 191. */
function readPri(text: string): { value: number; end: number } | Rejection {
  if (text.charCodeAt(0) !== 0x3c /* < */) return reject('missing-pri', `a syslog message starts with "<PRI>", this one with "${printable(text.slice(0, 12))}"`);
  let value = 0;
  let at = 1;
  for (; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === 0x3e /* > */) break;
    if (code < 0x30 || code > 0x39) return reject('bad-pri', `PRI contains "${printable(text[at]!)}", not a digit`);
    if (at === 4) return reject('bad-pri', 'PRI has more than 3 digits');
    value = value * 10 + (code - 0x30);
  }
  if (at >= text.length) return reject('bad-pri', 'PRI is not closed by ">"');
  if (at === 1) return reject('bad-pri', 'PRI is empty ("<>")');
  if (value > MAX_PRI) return reject('bad-pri', `PRI ${value} is above ${MAX_PRI}`);
  return { value, end: at + 1 };
}

/** Rejection details quote the input: control characters shown as escapes. */
function printable(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
