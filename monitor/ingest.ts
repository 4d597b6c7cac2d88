// Ingest: what an agent ships from its outbox, delivered at least once,
// stored exactly once.
//
// Each agent numbers its items (seq) and ships its outbox in order, oldest
// first, re-sending from the oldest item not acknowledged. The monitor keeps
// the agent's high-water mark: the highest seq it has taken. An item at or
// below it is a re-delivery and is skipped; an invalid item is rejected,
// counted and logged once, and moves the mark too (re-sending it would not
// make it valid, so the agent may drop it).
//
// Consistency: logs, events and the high-water mark are written in one
// transaction of the suite's database. With the embedded metric store the
// metrics go into that same transaction, so a batch lands whole or not at
// all. With InfluxDB they cannot: metrics are written to InfluxDB first,
// then the transaction commits. If it fails after InfluxDB took the points,
// the agent re-sends the batch and InfluxDB receives the same points again;
// a point with the same measurement, tags and timestamp replaces the stored
// one, so the re-write changes nothing. Metrics are thus exactly-once by
// idempotence, logs and events by the mark.

import { EgovError, type Database, type Logger } from '../core/index.js';
import { EmbeddedMetricStore } from './embedded-metrics.js';
import type { EventStore, LogStore } from './log-store.js';
import type { MetricStore } from './metric-store.js';
import type { EventRecord, LogRecord, MetricPoint, OutboxItem } from './records.js';
import { checkOutboxItem } from './schemas.js';

/** An agent's name: its certificate's CN, as the access layer names principals (letters of any script, spaces). */
export const AGENT_NAME_PATTERN = /^[^\u0000-\u001f\u007f]{1,200}$/u;
/** Items in one delivery: an outbox ships in batches far smaller than this. */
export const MAX_ITEMS_PER_DELIVERY = 50_000;
/** Rejects logged one by one per delivery; the rest are summed up. */
const LOGGED_REJECTS = 20;

export interface IngestRejection {
  /** Position in the delivered list. */
  index: number;
  seq: number | null;
  reason: string;
}

export interface IngestResult {
  accepted: number;
  /** Items at or below the high-water mark (or twice in this delivery): already stored. */
  duplicates: number;
  rejected: IngestRejection[];
  /** Of the accepted metric points, those already older than the retention: dropped, not stored. */
  expired: number;
  /** The agent's mark after this delivery: it may drop every item up to it. */
  highWater: number;
}

export interface AgentDelivery {
  agent: string;
  highWater: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  lastSeenAt: string;
  lastRejectReason: string | null;
}

export interface IngestorOptions {
  database: Database;
  metrics: MetricStore;
  logs: LogStore;
  events: EventStore;
  logger?: Logger;
  now?: () => Date;
}

interface Sorted {
  fresh: OutboxItem[];
  duplicates: number;
  rejected: IngestRejection[];
  /** Highest seq in the delivery that moves the mark (valid or rejected). */
  topSeq: number;
}

/** What one delivery stored (after its transaction committed): the alert rules read it. */
export interface StoredDelivery {
  agent: string;
  metrics: MetricPoint[];
  logs: LogRecord[];
  events: EventRecord[];
}
export type StoredListener = (delivery: StoredDelivery) => void | Promise<void>;

export class Ingestor {
  private readonly now: () => Date;
  private readonly storedListeners: StoredListener[] = [];

  /** Called after each delivery commits, with what it stored; a listener's failure is logged, never the agent's problem. */
  onStored(listener: StoredListener): void {
    this.storedListeners.push(listener);
  }

  constructor(private readonly options: IngestorOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async accept(agentName: string, items: readonly unknown[]): Promise<IngestResult> {
    if (!AGENT_NAME_PATTERN.test(agentName) || agentName.trim() !== agentName) {
      throw new EgovError('bad-request', `agent name must be 1-200 characters, no control characters or outer spaces (got ${JSON.stringify(agentName)})`);
    }
    if (!Array.isArray(items)) throw new EgovError('bad-request', 'items must be a list of outbox items');
    if (items.length > MAX_ITEMS_PER_DELIVERY) throw new EgovError('bad-request', `a delivery holds at most ${MAX_ITEMS_PER_DELIVERY} items (got ${items.length}); send smaller batches`);
    const { database, metrics, logs, events } = this.options;
    const markBefore = await this.highWater(database.db, agentName);
    const sorted = sortDelivery(items, markBefore);

    // InfluxDB first (idempotent, see above); the embedded store joins the transaction.
    const embedded = metrics instanceof EmbeddedMetricStore && metrics.database === database ? metrics : undefined;
    const metricItems = sorted.fresh.filter((i) => i.kind === 'metric');
    const points = metricItems.map((i) => i.record as MetricPoint);
    const prepared = embedded && points.length ? await embedded.prepare(points) : undefined;
    const written = !embedded && points.length ? await metrics.write(points) : undefined;

    const receivedAt = this.now();
    let stored: OutboxItem[] = [];
    const result = await database.write(async (tx) => {
      // Another delivery from the same agent may have committed meanwhile: keep only what is still above its mark.
      const mark = await this.highWater(tx, agentName);
      const fresh = mark === markBefore ? sorted.fresh : sorted.fresh.filter((i) => i.seq > mark);
      const rejected = mark === markBefore ? sorted.rejected : sorted.rejected.filter((r) => r.seq === null || r.seq > mark);
      const duplicates = sorted.duplicates + (sorted.fresh.length - fresh.length) + (sorted.rejected.length - rejected.length);
      if (prepared) {
        // prepared.rows[n] is metricItems[n]'s point.
        const rows = mark === markBefore ? prepared.rows : prepared.rows.filter((_, n) => metricItems[n]!.seq > mark);
        await embedded!.writePrepared(tx, { rows, expired: prepared.expired });
      }
      stored = fresh;
      const logRecords = fresh.filter((i) => i.kind === 'log').map((i) => i.record as LogRecord);
      const eventRecords = fresh.filter((i) => i.kind === 'event').map((i) => i.record as EventRecord);
      if (logRecords.length) await logs.insertWithin(tx, logRecords, agentName);
      if (eventRecords.length) await events.insertWithin(tx, eventRecords, agentName, receivedAt.getTime());
      const highWater = Math.max(mark, sorted.topSeq);
      const lastReject = rejected.at(-1)?.reason ?? null;
      await tx
        .insertInto('monitor_agent')
        .values({
          name: agentName,
          high_water_seq: highWater,
          accepted: fresh.length,
          rejected: rejected.length,
          duplicates,
          last_seen_at: receivedAt.toISOString(),
          last_reject_reason: lastReject,
        })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet((eb) => ({
            high_water_seq: highWater,
            accepted: eb('monitor_agent.accepted', '+', fresh.length),
            rejected: eb('monitor_agent.rejected', '+', rejected.length),
            duplicates: eb('monitor_agent.duplicates', '+', duplicates),
            last_seen_at: receivedAt.toISOString(),
            last_reject_reason: lastReject ?? eb.ref('monitor_agent.last_reject_reason'),
          })),
        )
        .execute();
      return { accepted: fresh.length, duplicates, rejected, expired: prepared?.expired ?? written?.expired ?? 0, highWater };
    });
    this.logRejects(agentName, result.rejected);
    if (this.storedListeners.length && stored.length) this.tellStored(agentName, stored);
    return result;
  }

  private tellStored(agent: string, items: readonly OutboxItem[]): void {
    const delivery: StoredDelivery = { agent, metrics: [], logs: [], events: [] };
    for (const item of items) {
      if (item.kind === 'metric') delivery.metrics.push(item.record);
      else if (item.kind === 'log') delivery.logs.push(item.record);
      else delivery.events.push(item.record);
    }
    for (const listener of this.storedListeners) {
      Promise.resolve()
        .then(() => listener(delivery))
        .catch((error: Error) => this.options.logger?.error({ err: error, agent }, 'a listener of stored deliveries failed'));
    }
  }

  private logRejects(agent: string, rejected: readonly IngestRejection[]): void {
    const logger = this.options.logger;
    if (!logger || rejected.length === 0) return;
    for (const reject of rejected.slice(0, LOGGED_REJECTS)) logger.warn({ agent, seq: reject.seq, index: reject.index, reason: reject.reason }, 'ingest rejected an item');
    if (rejected.length > LOGGED_REJECTS) logger.warn({ agent, more: rejected.length - LOGGED_REJECTS }, 'ingest rejected more items in the same delivery');
  }

  private async highWater(db: Database['db'], agent: string): Promise<number> {
    const row = await db.selectFrom('monitor_agent').select('high_water_seq').where('name', '=', agent).executeTakeFirst();
    return row ? Number(row.high_water_seq) : -1;
  }

  /** Per agent: the mark and what was accepted, rejected and skipped as re-delivered. */
  async agents(): Promise<AgentDelivery[]> {
    const rows = await this.options.database.db.selectFrom('monitor_agent').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      agent: r.name,
      highWater: Number(r.high_water_seq),
      accepted: Number(r.accepted),
      rejected: Number(r.rejected),
      duplicates: Number(r.duplicates),
      lastSeenAt: r.last_seen_at,
      lastRejectReason: r.last_reject_reason,
    }));
  }
}

/** Splits a delivery into new valid items, re-deliveries and rejects, against the mark. */
function sortDelivery(items: readonly unknown[], mark: number): Sorted {
  const sorted: Sorted = { fresh: [], duplicates: 0, rejected: [], topSeq: mark };
  const seen = new Set<number>();
  items.forEach((item, index) => {
    const seq = (item as { seq?: unknown } | null)?.seq;
    const knownSeq = typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : null;
    if (knownSeq !== null && (knownSeq <= mark || seen.has(knownSeq))) {
      sorted.duplicates++;
      return;
    }
    if (knownSeq !== null) {
      seen.add(knownSeq);
      sorted.topSeq = Math.max(sorted.topSeq, knownSeq);
    }
    const checked = checkOutboxItem(item);
    if (checked.ok) sorted.fresh.push(checked.value);
    else sorted.rejected.push({ index, seq: knownSeq, reason: checked.reason });
  });
  return sorted;
}
