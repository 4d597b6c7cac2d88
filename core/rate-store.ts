// Where the HTTP servers count requests against their named limits
// (core/limits.ts). In memory for one instance; in the database when
// several instances share one PostgreSQL, so a client behind a balancer
// gets the limit once, not once per instance.
import { sql } from 'kysely';
import type { Database } from './storage/database.js';
import type { RateLimit } from './limits.js';

export interface RateStore {
  /** Counts one request under `key`; returns the seconds to wait when over the limit, else 0. */
  take(key: string, limit: RateLimit): Promise<number>;
}

const waitSeconds = (startedAt: number, count: number, limit: RateLimit, now: number): number =>
  count <= limit.max ? 0 : Math.max(1, Math.ceil((startedAt + limit.windowSeconds * 1000 - now) / 1000));

/** Fixed-window counters in this process; old windows are dropped as they pass. */
export class MemoryRateStore implements RateStore {
  private readonly windows = new Map<string, { startedAt: number; count: number }>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async take(key: string, limit: RateLimit): Promise<number> {
    const now = this.now();
    const windowMs = limit.windowSeconds * 1000;
    if (now - this.lastSweep > windowMs) {
      for (const [k, w] of this.windows) if (now - w.startedAt >= windowMs) this.windows.delete(k);
      this.lastSweep = now;
    }
    let window = this.windows.get(key);
    if (!window || now - window.startedAt >= windowMs) {
      window = { startedAt: now, count: 0 };
      this.windows.set(key, window);
    }
    window.count++;
    return waitSeconds(window.startedAt, window.count, limit, now);
  }
}

/** Windows older than this are deleted now and then (longer than any named limit's window). */
const SWEEP_AFTER_MS = 3600_000;
const SWEEP_EVERY = 500;

/**
 * Fixed-window counters in the database (table rate_window): one atomic
 * upsert per request, so instances counting the same client at the same
 * moment never both see a fresh window.
 */
export class DatabaseRateStore implements RateStore {
  private takes = 0;

  constructor(
    private readonly database: Database,
    private readonly now: () => number = Date.now,
  ) {}

  async take(key: string, limit: RateLimit): Promise<number> {
    const now = this.now();
    const expired = now - limit.windowSeconds * 1000;
    const row = (
      await sql<{ started_at: number | string; count: number }>`
        insert into rate_window as w (key, started_at, count) values (${key}, ${now}, 1)
        on conflict (key) do update set
          started_at = case when w.started_at <= ${expired} then excluded.started_at else w.started_at end,
          count = case when w.started_at <= ${expired} then 1 else w.count + 1 end
        returning started_at, count`.execute(this.database.db)
    ).rows[0]!;
    if (++this.takes % SWEEP_EVERY === 0) await this.database.db.deleteFrom('rate_window').where('started_at', '<', now - SWEEP_AFTER_MS).execute();
    return waitSeconds(Number(row.started_at), Number(row.count), limit, now);
  }
}
