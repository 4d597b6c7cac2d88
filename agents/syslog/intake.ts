// What every receiver does with one message once it has its bytes: parse,
// count, complete the LogRecord with where and when it came from, and hand
// it to the sink. Shared by UDP, TCP and TLS.

import type { LogRecord } from '../../monitor/index.js';
import { parseSyslog } from './parse.js';
import { DEFAULT_MAX_MESSAGE_BYTES, type RejectReason } from './types.js';

/** Rejections found by the stream framing rather than the parser. */
export type FramingRejectReason = 'octet-count-too-large' | 'incomplete-frame';

/** Why a connection ended. */
export type CloseReason =
  | 'peer-closed'
  | 'octet-count-too-large'
  | 'slow-frame'
  | 'idle-timeout'
  | 'too-many-connections'
  | 'too-many-from-address'
  | 'tls-handshake-failed'
  | 'tls-handshake-timeout'
  | 'client-certificate-rejected'
  | 'socket-error'
  | 'receiver-closed';

export interface SyslogCounters {
  /** Messages seen (datagrams, or frames on a stream): always parsed + the sum of rejected. */
  received: number;
  parsed: number;
  rejected: Partial<Record<RejectReason | FramingRejectReason, number>>;
  /** Parsed messages that were longer than maxMessageBytes and were cut. */
  truncated: number;
  /** Parsed messages that had invalid UTF-8 (decoded with U+FFFD). */
  invalidUtf8: number;
  /** The sink threw: the record was parsed but may not have been kept. */
  sinkErrors: number;
  /** UDP only: datagrams read from the socket but dropped because JavaScript was behind (the batched engine's bounded queue). */
  overflow: number;
  /** Streams only (TCP, TLS). */
  connections: { accepted: number; open: number; closed: Partial<Record<CloseReason, number>> };
}

export function newCounters(): SyslogCounters {
  return { received: 0, parsed: 0, rejected: {}, truncated: 0, invalidUtf8: 0, sinkErrors: 0, overflow: 0, connections: { accepted: 0, open: 0, closed: {} } };
}

export function countReason<K extends string>(table: Partial<Record<K, number>>, reason: K): void {
  table[reason] = (table[reason] ?? 0) + 1;
}

/** How a message arrived, handed to the sink beside the record. */
export interface Receipt {
  truncated: boolean;
  /** Length on the wire in bytes. */
  originalBytes: number;
  invalidUtf8Sequences: number;
  framing: 'datagram' | 'octet-counting' | 'lf';
  /** TLS with a verified client certificate: its subject. */
  peerSubject?: string;
}

/**
 * Where a truncation or an invalid-UTF-8 repair is noted in the record
 * itself, so that it travels to the monitor: a private SD-ID that no device
 * sends.
 */
export const RECEIVER_SD_ID = 'receiver@egov-ops';

export type LogSink = (record: LogRecord, receipt: Receipt) => void;
export type NodeForAddress = (address: string) => string | null;
export type RejectionListener = (rejection: { reason: RejectReason | FramingRejectReason; detail: string }, sourceAddress: string) => void;

export interface IntakeOptions {
  sink: LogSink;
  /** Maps a source address to an inventory node; default: no node. */
  nodeForAddress?: NodeForAddress;
  /** Told about each rejection (for a rate-limited log line); counters are kept either way. */
  onReject?: RejectionListener;
  /** Default 64 KiB: longer messages are truncated and flagged. */
  maxMessageBytes?: number;
  /** UTC offset of BSD (RFC 3164) timestamps in minutes; default: this machine's zone. */
  rfc3164OffsetMinutes?: number;
}

export interface Origin {
  sourceAddress: string;
  node: string | null;
  transport: LogRecord['transport'];
  peerSubject?: string;
}

export class MessageIntake {
  readonly counters = newCounters();
  readonly maxMessageBytes: number;

  constructor(private readonly options: IntakeOptions) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 64) throw new RangeError(`maxMessageBytes must be an integer of at least 64, got ${options.maxMessageBytes}`);
  }

  nodeFor(address: string): string | null {
    return this.options.nodeForAddress ? this.options.nodeForAddress(address) : null;
  }

  /** One message: at most maxMessageBytes of it, and its length on the wire. */
  accept(bytes: Buffer, receivedBytes: number, origin: Origin, framing: Receipt['framing']): void {
    const counters = this.counters;
    counters.received++;
    const receivedAt = Date.now();
    const outcome = parseSyslog(bytes, { maxMessageBytes: this.maxMessageBytes, receivedAt, rfc3164OffsetMinutes: this.options.rfc3164OffsetMinutes }, receivedBytes);
    if (!outcome.ok) {
      this.rejectMessage(outcome.reason, outcome.detail, origin.sourceAddress);
      return;
    }
    counters.parsed++;
    const { fields } = outcome;
    if (outcome.truncated) counters.truncated++;
    if (outcome.invalidUtf8Sequences > 0) counters.invalidUtf8++;
    const structuredData = outcome.truncated || outcome.invalidUtf8Sequences > 0 ? annotate(fields.structuredData, outcome) : fields.structuredData;
    const record: LogRecord = {
      time: fields.time ?? receivedAt,
      receivedAt,
      node: origin.node,
      sourceAddress: origin.sourceAddress,
      facility: fields.facility,
      severity: fields.severity,
      host: fields.host,
      app: fields.app,
      procId: fields.procId,
      msgId: fields.msgId,
      message: fields.message,
      structuredData,
      format: fields.format,
      transport: origin.transport,
    };
    const receipt: Receipt = { truncated: outcome.truncated, originalBytes: outcome.originalBytes, invalidUtf8Sequences: outcome.invalidUtf8Sequences, framing };
    if (origin.peerSubject !== undefined) receipt.peerSubject = origin.peerSubject;
    try {
      this.options.sink(record, receipt);
    } catch {
      counters.sinkErrors++; // one bad record must not stop the receiver
    }
  }

  /** A message refused before parsing (by the stream framing). */
  rejectFrame(reason: FramingRejectReason, detail: string, sourceAddress: string): void {
    this.counters.received++;
    this.rejectMessage(reason, detail, sourceAddress);
  }

  private rejectMessage(reason: RejectReason | FramingRejectReason, detail: string, sourceAddress: string): void {
    countReason(this.counters.rejected, reason);
    if (!this.options.onReject) return;
    try {
      this.options.onReject({ reason, detail }, sourceAddress);
    } catch {
      /* a listener's failure is not the message's */
    }
  }
}

function annotate(structuredData: Record<string, Record<string, string>>, outcome: { truncated: boolean; originalBytes: number; invalidUtf8Sequences: number }): Record<string, Record<string, string>> {
  const note: Record<string, string> = {};
  if (outcome.truncated) {
    note.truncated = 'true';
    note.originalBytes = String(outcome.originalBytes);
  }
  if (outcome.invalidUtf8Sequences > 0) note.invalidUtf8Sequences = String(outcome.invalidUtf8Sequences);
  structuredData[RECEIVER_SD_ID] = note;
  return structuredData;
}

/** "::ffff:10.0.0.1" (an IPv4 peer on a dual-stack socket) is 10.0.0.1 in the inventory. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
