// Group commit in front of the Outbox. A transaction per record costs a WAL
// write per record (about 6 000 a second on a modest VM disk); a syslog
// burst is tens of thousands a second. The batcher keeps at most maxItems
// records in memory and writes them in one transaction when that many have
// gathered or maxDelayMs after the first, whichever comes first.
//
// The price: a crash loses what has not been flushed yet (at most maxDelayMs
// worth). For syslog over UDP that is no worse than the network; callers
// that must not lose a record on a crash use Outbox.enqueue directly.

import { OutboxFullError, type Outbox, type OutboxEntry, type OutboxKind, type OutboxRecord } from './outbox.js';

export interface OutboxBatcherOptions {
  /** Records kept in memory before a flush is forced. Default 500. */
  maxItems?: number;
  /** Longest a record waits in memory. Default 20 ms. */
  maxDelayMs?: number;
  /**
   * Logs or events the outbox refused because it is full of them (see
   * Outbox.enqueue): they are lost, so log this loudly. Called once per
   * flush that refused any, with an error describing it and how many.
   */
  onRefused?: (error: OutboxFullError, refused: number) => void;
  /** Any other failure of a flush (the disk): the records of that flush are lost. */
  onError?: (error: unknown, lost: number) => void;
}

export interface OutboxBatcherStats {
  pending: number;
  flushes: number;
  /** Records written (or dropped as metrics by the outbox's bound). */
  written: number;
  refused: number;
  lost: number;
}


export class OutboxBatcher {
  readonly stats: OutboxBatcherStats = { pending: 0, flushes: 0, written: 0, refused: 0, lost: 0 };
  private pending: OutboxEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly maxItems: number;
  private readonly maxDelayMs: number;

  constructor(
    private readonly outbox: Outbox,
    private readonly options: OutboxBatcherOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 20;
  }

  add<K extends OutboxKind>(kind: K, record: OutboxRecord<K>): void {
    this.pending.push({ kind, record } as OutboxEntry);
    this.stats.pending = this.pending.length;
    if (this.pending.length >= this.maxItems) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.maxDelayMs);
  }

  /** Writes what is pending now, in one transaction. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    this.stats.pending = 0;
    this.stats.flushes++;
    let results;
    try {
      results = this.outbox.enqueueWhatFits(batch);
    } catch (error) {
      this.stats.lost += batch.length;
      this.options.onError?.(error, batch.length);
      return;
    }
    const refused = results.filter((result) => result === 'refused').length;
    this.stats.written += batch.length - refused;
    if (refused === 0) return;
    this.stats.refused += refused;
    const first = batch[results.indexOf('refused')]!;
    this.options.onRefused?.(new OutboxFullError(first.kind, this.outbox.stats.bytes, this.outbox.maxBytes, this.outbox.stats.refused), refused);
  }

  /** Flushes and stops the timer. */
  close(): void {
    this.flush();
  }
}
