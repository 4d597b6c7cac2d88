// What the syslog parsers return: the fields of one message, or a typed
// rejection with a reason a counter can be keyed on.

import type { LogRecord } from '../../monitor/index.js';

/** Why a message was refused. Stable strings: they are counter keys. */
export type RejectReason =
  | 'empty'
  | 'missing-pri'
  | 'bad-pri'
  | 'unsupported-version'
  | 'bad-timestamp'
  | 'bad-header'
  | 'bad-structured-data';

export const REJECT_REASONS: readonly RejectReason[] = [
  'empty',
  'missing-pri',
  'bad-pri',
  'unsupported-version',
  'bad-timestamp',
  'bad-header',
  'bad-structured-data',
];

/** The parts of a LogRecord that come from the message itself. */
export type SyslogFields = Pick<
  LogRecord,
  'facility' | 'severity' | 'host' | 'app' | 'procId' | 'msgId' | 'message' | 'structuredData' | 'format'
> & {
  /** Milliseconds since the epoch, or null when the message carries no timestamp (NILVALUE, or none in BSD form). */
  time: number | null;
};

export interface Rejection {
  ok: false;
  reason: RejectReason;
  /** A human explanation, e.g. `PRI 999 is above 191`. */
  detail: string;
}

export interface Parsed {
  ok: true;
  fields: SyslogFields;
  /** The message was longer than the configured maximum and was cut (at a character boundary). */
  truncated: boolean;
  /** Length of the message as received, in bytes (before any truncation). */
  originalBytes: number;
  /** Invalid UTF-8 sequences replaced by U+FFFD (0 for clean input). */
  invalidUtf8Sequences: number;
}

export type ParseOutcome = Parsed | Rejection;

export interface ParseOptions {
  /** Messages longer than this many bytes are truncated and flagged. Default 64 KiB. */
  maxMessageBytes?: number;
  /** The time the message arrived (ms since the epoch): resolves year-less BSD timestamps. Default Date.now(). */
  receivedAt?: number;
  /**
   * BSD (RFC 3164) timestamps carry no zone: the sender's offset from UTC in
   * minutes (e.g. 480 for China Standard Time). Default: this machine's zone.
   */
  rfc3164OffsetMinutes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024;

export const reject = (reason: RejectReason, detail: string): Rejection => ({ ok: false, reason, detail });
