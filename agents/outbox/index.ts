// agents/outbox: the agent's disk-backed queue to the monitor (Outbox, one
// SQLite file) and the loop that ships it (Shipper): in order, at least
// once, with capped exponential backoff. Metrics may be dropped (oldest
// first, counted) when the queue is full; logs and events never are: enqueue
// then throws OutboxFullError (EgovError 'unavailable'), which the caller
// must log loudly. OutboxBatcher groups enqueues into one transaction each
// few milliseconds for high-rate sources (syslog).
//
//   const outbox = new Outbox({ directory: path.join(dataDir, 'outbox'), maxBytes: 256 * 2 ** 20 });
//   const shipper = new Shipper({ outbox, deliver: (items) => postToMonitor(items) });
//   shipper.start();
//   outbox.enqueue('log', record);

export {
  DEFAULT_OUTBOX_MAX_BYTES,
  Outbox,
  OutboxFullError,
  type EnqueueResult,
  type OutboxEntry,
  type OutboxKind,
  type OutboxOptions,
  type OutboxRecord,
  type OutboxStats,
} from './outbox.js';
export { OutboxBatcher, type OutboxBatcherOptions, type OutboxBatcherStats } from './batcher.js';
export { Shipper, backoffDelay, type BackoffOptions, type Deliver, type ShipperOptions, type ShipperStats } from './shipper.js';
