// The loop that empties the outbox towards the monitor. It peeks the oldest
// batch, hands it to `deliver`, and acknowledges it only once `deliver`
// resolved. On failure it waits (exponential backoff, capped, with jitter so
// that a hundred agents do not hammer a recovering monitor in step) and
// retries the *same* batch: delivery is in seq order and at least once. A
// crash between a successful deliver and the ack re-delivers those seqs on
// restart; the monitor stores on (agent, seq), so it keeps each once.
//
// Memory: one batch at a time, bounded by maxBatchItems and maxBatchBytes;
// the queue itself stays on disk.

import type { OutboxItem } from '../../monitor/index.js';
import type { Outbox } from './outbox.js';

export type Deliver = (items: OutboxItem[]) => Promise<void>;

export interface BackoffOptions {
  /** First retry delay. Default 500 ms. */
  initialMs?: number;
  /** Cap. Default 60 s. */
  maxMs?: number;
  /** Share of the delay taken off at random (0..1). Default 0.5: a delay d becomes d/2..d. */
  jitter?: number;
}

export interface ShipperOptions {
  outbox: Outbox;
  deliver: Deliver;
  /** Default 500. */
  maxBatchItems?: number;
  /** Payload bytes per batch. Default 1 MiB (a single larger item still goes alone). */
  maxBatchBytes?: number;
  /** How long to sleep when the queue is empty (an enqueue wakes the shipper sooner). Default 1 s. */
  idleMs?: number;
  backoff?: BackoffOptions;
  /** Told about each failed delivery, before the wait. */
  onDeliveryError?: (error: unknown, details: { attempt: number; retryInMs: number; firstSeq: number; lastSeq: number }) => void;
}

export interface ShipperStats {
  deliveredItems: number;
  deliveredBatches: number;
  failedAttempts: number;
  /** Failures since the last success (0 when healthy). */
  consecutiveFailures: number;
  lastError: string | null;
  /** The highest seq acknowledged by this shipper. */
  lastAckedSeq: number | null;
}

/** Exponential backoff: initial * 2^(attempt-1), capped, minus up to `jitter` of it at random. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialMs ?? 500;
  const max = options.maxMs ?? 60_000;
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const base = Math.min(max, initial * 2 ** Math.min(attempt - 1, 52));
  return Math.round(base * (1 - jitter * random()));
}

export class Shipper {
  readonly stats: ShipperStats = { deliveredItems: 0, deliveredBatches: 0, failedAttempts: 0, consecutiveFailures: 0, lastError: null, lastAckedSeq: null };
  private running = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;
  private idleWait = false;
  private unsubscribe: (() => void) | null = null;
  private readonly maxBatchItems: number;
  private readonly maxBatchBytes: number;
  private readonly idleMs: number;

  constructor(private readonly options: ShipperOptions) {
    this.maxBatchItems = options.maxBatchItems ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 1024 * 1024;
    this.idleMs = options.idleMs ?? 1000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.options.outbox.onEnqueued(() => this.wake());
    this.loop = this.run();
  }

  /**
   * Stops after the delivery in flight (if any) settles, acknowledging it if
   * it succeeded. `deliver` should time out on its own: stop waits for it.
   */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.interruptWait();
    await this.loop;
  }

  /** New items: an idle shipper ships now instead of at its next poll (a backoff wait is not cut short). */
  wake(): void {
    if (this.idleWait) this.interruptWait();
  }

  /** Resolves when the queue is empty (or the shipper stopped): for tests and orderly shutdown. */
  async drained(pollMs = 20): Promise<void> {
    while (this.running && this.options.outbox.stats.items > 0) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }

  private async run(): Promise<void> {
    let pending: OutboxItem[] = [];
    let attempt = 0;
    while (this.running) {
      try {
        if (pending.length === 0) pending = this.options.outbox.peekBatch(this.maxBatchItems, this.maxBatchBytes);
        if (pending.length === 0) {
          await this.sleep(this.idleMs, true);
          continue;
        }
        await this.options.deliver(pending);
        this.options.outbox.ack(pending[pending.length - 1]!.seq);
      } catch (error) {
        // deliver failed (or the queue file did): wait, then the same batch again, so order is kept.
        attempt++;
        const retryInMs = backoffDelay(attempt, this.options.backoff);
        this.recordFailure(error);
        this.notifyFailure(error, { attempt, retryInMs, firstSeq: pending[0]?.seq ?? 0, lastSeq: pending[pending.length - 1]?.seq ?? 0 });
        await this.sleep(retryInMs, false);
        continue;
      }
      attempt = 0;
      this.stats.consecutiveFailures = 0;
      this.stats.deliveredItems += pending.length;
      this.stats.deliveredBatches++;
      this.stats.lastAckedSeq = pending[pending.length - 1]!.seq;
      pending = [];
    }
  }

  private recordFailure(error: unknown): void {
    this.stats.failedAttempts++;
    this.stats.consecutiveFailures++;
    this.stats.lastError = error instanceof Error ? error.message : String(error);
  }

  private notifyFailure(error: unknown, details: { attempt: number; retryInMs: number; firstSeq: number; lastSeq: number }): void {
    try {
      this.options.onDeliveryError?.(error, details);
    } catch {
      /* a failing listener must not stop shipping */
    }
  }

  private sleep(ms: number, idle: boolean): Promise<void> {
    if (!this.running) return Promise.resolve();
    this.idleWait = idle;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        self.idleWait = false;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private interruptWait(): void {
    this.wakeUp?.();
  }
}
