// agents/syslog: syslog receivers (UDP, TCP with octet counting and LF
// framing, TLS) and the parsers behind them (RFC 5424 and RFC 3164 with its
// real-world variants, detected per message). Each receiver turns messages
// into LogRecords for a sink and keeps counters of what it received,
// parsed, rejected (by reason), truncated and repaired.
//
//   const receiver = new UdpSyslogReceiver({ port: 514, sink: (record) => outbox.enqueue('log', record), nodeForAddress });
//   await receiver.listen();
//
// Oversized messages (default above 64 KiB) are truncated, flagged in the
// receipt and in the record's structured data under RECEIVER_SD_ID, and
// counted; never rejected, never buffered whole (see parse.ts for why).

export { parseSyslog } from './parse.js';
export { SyslogStreamFramer, type FramerLimits, type FrameHandler, type FramingFailure } from './framing.js';
export {
  RECEIVER_SD_ID,
  type CloseReason,
  type FramingRejectReason,
  type IntakeOptions,
  type LogSink,
  type NodeForAddress,
  type Receipt,
  type RejectionListener,
  type SyslogCounters,
} from './intake.js';
export { UdpSyslogReceiver, type UdpEngine, type UdpReceiverOptions } from './udp.js';
export { batchedUdpUnavailable, loadBatchedUdp } from './native-udp.js';
export { TcpSyslogReceiver, TlsSyslogReceiver, type StreamReceiverOptions, type TlsReceiverOptions } from './stream.js';
export {
  DEFAULT_MAX_MESSAGE_BYTES,
  REJECT_REASONS,
  type ParseOptions,
  type ParseOutcome,
  type Parsed,
  type Rejection,
  type RejectReason,
  type SyslogFields,
} from './types.js';
