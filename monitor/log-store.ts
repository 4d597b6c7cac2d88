// Device logs (syslog) and events (traps, reachability changes) in the
// suite's own database. Both keep 180 days by default: MLPS 2.0 asks for
// network logs to be kept at least six months. Retention counts from when a
// record was received, so a device with a wrong clock cannot age its own
// records out early. Retention is a minimum: logs are pruned walking the
// table in id order (no received_at index: at syslog rates it cost every
// insert), which may keep a late-delivered record a little past 180 days but
// never drops one before; events are few and keep their received_at index.

import { sql } from 'kysely';
import { EgovError, runReusableEach, type Database, type MonitorEventTable, type MonitorLogTable, type WriteTx } from '../core/index.js';
import type { Insertable, Selectable } from 'kysely';
import { SEVERITIES, type EventRecord, type LogRecord, type Severity } from './records.js';

const DAY_MS = 86_400_000;
export const DEFAULT_LOG_RETENTION_DAYS = 180;
const MAX_LIMIT = 10_000;
/** PostgreSQL allows 65535 parameters in a statement; logs have 16 columns. */
const INSERT_CHUNK = 1000;
/** Rows per prune step; each step is its own short write transaction, so pruning months of records never holds ingest up long. */
const PRUNE_WINDOW = 5000;

/** A stored log record, with its id (the cursor for the next page). */
export interface StoredLog extends LogRecord {
  id: number;
  agent: string;
}

export interface StoredEvent extends EventRecord {
  id: number;
  receivedAt: number;
  agent: string;
}

export interface LogSearch {
  node?: string;
  /** At or above this severity (`warning` finds warning, error, critical, alert, emergency). */
  severity?: Severity;
  /** Epoch ms, inclusive. */
  from?: number;
  /** Epoch ms, exclusive. */
  to?: number;
  /** The message contains this text (case-insensitive). */
  text?: string;
  /** Newest first; default 100, at most 10,000. */
  limit?: number;
  /** Only records older than this id (the last id of the previous page). */
  beforeId?: number;
}

export interface EventSearch {
  node?: string;
  kind?: EventRecord['kind'];
  from?: number;
  to?: number;
  limit?: number;
  beforeId?: number;
}

export const severityNumber = (severity: Severity): number => SEVERITIES.indexOf(severity);
const severityName = (n: number): Severity => SEVERITIES[n] ?? 'debug';

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new EgovError('bad-request', `limit must be 1-${MAX_LIMIT} (got ${limit})`);
  return limit;
}

function checkSeverity(severity: string | undefined): Severity | undefined {
  if (severity === undefined) return undefined;
  if ((SEVERITIES as readonly string[]).includes(severity)) return severity as Severity;
  throw new EgovError('bad-request', `severity must be one of ${SEVERITIES.join(', ')} (got ${JSON.stringify(severity)})`);
}

/** `%`, `_` and `\` in the searched text are matched literally. */
const likePattern = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function checkRetention(days: number): number {
  if (!Number.isInteger(days) || days < 1) throw new EgovError('bad-config', `log retention must be a whole number of days, at least 1 (got ${days})`);
  return days;
}

function logRow(r: LogRecord, agent: string): Insertable<MonitorLogTable> {
  return {
    time: r.time,
    received_at: r.receivedAt,
    node: r.node,
    source_address: r.sourceAddress,
    facility: r.facility,
    severity: severityNumber(r.severity),
    host: r.host,
    app: r.app,
    proc_id: r.procId,
    msg_id: r.msgId,
    message: r.message,
    structured_data: JSON.stringify(r.structuredData),
    format: r.format,
    transport: r.transport,
    agent,
  };
}

/** logRow's values, in its column order (runReusable checks the order against the compiled statement once). */
function logParameters(r: LogRecord, agent: string): unknown[] {
  return [r.time, r.receivedAt, r.node ?? null, r.sourceAddress, r.facility, severityNumber(r.severity), r.host ?? null, r.app ?? null, r.procId ?? null, r.msgId ?? null, r.message, JSON.stringify(r.structuredData), r.format, r.transport, agent];
}

export class LogStore {
  readonly retentionDays: number;

  constructor(
    private readonly database: Database,
    options: { retentionDays?: number } = {},
  ) {
    this.retentionDays = checkRetention(options.retentionDays ?? DEFAULT_LOG_RETENTION_DAYS);
  }

  /** Messages with a time in [from, to), counted per node and severity (off the time index): the syslog-volume figures. */
  async volume(from: number, to: number): Promise<Array<{ node: string | null; severity: Severity; messages: number }>> {
    const rows = await this.database.db
      .selectFrom('monitor_log')
      .select((eb) => ['node', 'severity', eb.fn.countAll<number | string>().as('n')])
      .where('time', '>=', from)
      .where('time', '<', to)
      .groupBy(['node', 'severity'])
      .execute();
    return rows.map((r) => ({ node: r.node, severity: severityName(Number(r.severity)), messages: Number(r.n) }));
  }

  /** Inside the caller's write transaction (ingest stores logs with the agent's high-water mark). */
  async insertWithin(tx: WriteTx, records: readonly LogRecord[], agent: string): Promise<void> {
    if (this.database.dialect === 'sqlite') {
      // SQLite runs in this process: one statement compiled once and run per
      // row beats compiling a 1,000-row insert (at syslog rates the compiling
      // cost more than the inserting), and the parameters go straight from
      // the record (no row object in between: at 50,000 logs a second the
      // garbage counts). PostgreSQL keeps multi-row inserts: a round trip per
      // row would cost more there.
      await runReusableEach(
        tx,
        'monitor_log.insert',
        records,
        (record) => tx.insertInto('monitor_log').values(logRow(record, agent)),
        (record) => logParameters(record, agent),
      );
      return;
    }
    const rows = records.map((r) => logRow(r, agent));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.insertInto('monitor_log').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }

  async search(query: LogSearch = {}): Promise<StoredLog[]> {
    const limit = checkLimit(query.limit);
    const severity = checkSeverity(query.severity);
    let q = this.database.db.selectFrom('monitor_log').selectAll().orderBy('time', 'desc').orderBy('id', 'desc').limit(limit);
    if (query.node) q = q.where('node', '=', query.node);
    if (severity) q = q.where('severity', '<=', severityNumber(severity));
    if (query.from !== undefined) q = q.where('time', '>=', query.from);
    if (query.to !== undefined) q = q.where('time', '<', query.to);
    if (query.beforeId !== undefined) {
      // The page is ordered by (time, id): continue after the cursor row in that order, not by id alone
      // (an agent's backlog or a device clock puts ids and times out of step).
      const cursor = await this.database.db.selectFrom('monitor_log').select('time').where('id', '=', query.beforeId).executeTakeFirst();
      const before = query.beforeId;
      q = cursor ? q.where((eb) => eb.or([eb('time', '<', cursor.time), eb.and([eb('time', '=', cursor.time), eb('id', '<', before)])])) : q.where('id', '<', before);
    }
    if (query.text) {
      // ILIKE on PostgreSQL; SQLite's LIKE is already case-insensitive (for ASCII).
      const operator = this.database.dialect === 'postgres' ? sql`ilike` : sql`like`;
      q = q.where(sql<boolean>`${sql.ref('message')} ${operator} ${likePattern(query.text)} escape '\\'`);
    }
    return (await q.execute()).map(toStoredLog);
  }

  /**
   * Deletes logs received before the retention window; returns how many.
   *
   * monitor_log has no index on received_at (migration 0007: at syslog rates
   * it cost every insert), so this walks the table by id, its primary key,
   * from the lowest upwards, 5,000 rows at a time, and in each window deletes
   * the rows received before the cutoff (one write transaction per window).
   * It stops at the first window with nothing expired, or at the end of the
   * table: ids follow insertion order and received_at nearly does, so it
   * reads no further than one window past the expired records, never the
   * whole table (an index-less `received_at < cutoff` would).
   * Only an agent's backlog, delivered after an outage, puts older receipt
   * times at higher ids: such a record may stay past the retention until the
   * records stored before it expire too. Retention is a minimum (MLPS 2.0:
   * at least 180 days), so keeping a record a little longer is allowed, and
   * no record is ever deleted before its time.
   */
  async prune(now: number = Date.now()): Promise<{ removed: number; cutoff: number }> {
    const cutoff = now - this.retentionDays * DAY_MS;
    const db = this.database.db;
    let removed = 0;
    let after: number | undefined;
    for (;;) {
      const start = after;
      const window = await db
        .selectFrom('monitor_log')
        .select(['id', 'received_at'])
        .$if(start !== undefined, (q) => q.where('id', '>', start!))
        .orderBy('id')
        .limit(PRUNE_WINDOW)
        .execute();
      // Stop at the first window with nothing expired: retention is a minimum,
      // so an expired record further on (a late-delivered backlog) may wait
      // until the records before it expire too; none is ever deleted early.
      if (!window.some((row) => Number(row.received_at) < cutoff)) break;
      const first = Number(window[0]!.id);
      const last = Number(window[window.length - 1]!.id);
      const result = await this.database.write((tx) =>
        tx.deleteFrom('monitor_log').where('id', '>=', first).where('id', '<=', last).where('received_at', '<', cutoff).executeTakeFirst(),
      );
      removed += Number(result.numDeletedRows);
      if (window.length < PRUNE_WINDOW) break;
      after = last;
    }
    return { removed, cutoff };
  }
}

/** Events keep their received_at index (they are few): in slices of 5,000 rows, each its own transaction. */
async function deleteEventsBefore(database: Database, cutoff: number): Promise<number> {
  let removed = 0;
  for (;;) {
    const result = await database.write((tx) =>
      tx
        .deleteFrom('monitor_event')
        .where('id', 'in', (eb) => eb.selectFrom('monitor_event').select('id').where('received_at', '<', cutoff).limit(PRUNE_WINDOW))
        .executeTakeFirst(),
    );
    const count = Number(result.numDeletedRows);
    removed += count;
    if (count < PRUNE_WINDOW) return removed;
  }
}

function toStoredLog(row: Selectable<MonitorLogTable>): StoredLog {
  return {
    id: Number(row.id),
    time: Number(row.time),
    receivedAt: Number(row.received_at),
    node: row.node,
    sourceAddress: row.source_address,
    facility: Number(row.facility),
    severity: severityName(Number(row.severity)),
    host: row.host,
    app: row.app,
    procId: row.proc_id,
    msgId: row.msg_id,
    message: row.message,
    structuredData: JSON.parse(row.structured_data) as LogRecord['structuredData'],
    format: row.format,
    transport: row.transport,
    agent: row.agent,
  };
}

export class EventStore {
  readonly retentionDays: number;

  constructor(
    private readonly database: Database,
    options: { retentionDays?: number } = {},
  ) {
    this.retentionDays = checkRetention(options.retentionDays ?? DEFAULT_LOG_RETENTION_DAYS);
  }

  async insertWithin(tx: WriteTx, records: readonly EventRecord[], agent: string, receivedAt: number): Promise<void> {
    const rows: Array<Insertable<MonitorEventTable>> = records.map((r) => ({
      time: r.time,
      received_at: receivedAt,
      node: r.node,
      source_address: r.sourceAddress,
      kind: r.kind,
      name: r.name,
      severity: severityNumber(r.severity),
      detail: JSON.stringify(r.detail),
      agent,
    }));
    for (let i = 0; i < rows.length; i += INSERT_CHUNK) await tx.insertInto('monitor_event').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }

  async list(query: EventSearch = {}): Promise<StoredEvent[]> {
    const limit = checkLimit(query.limit);
    let q = this.database.db.selectFrom('monitor_event').selectAll().orderBy('time', 'desc').orderBy('id', 'desc').limit(limit);
    if (query.node) q = q.where('node', '=', query.node);
    if (query.kind) q = q.where('kind', '=', query.kind);
    if (query.from !== undefined) q = q.where('time', '>=', query.from);
    if (query.to !== undefined) q = q.where('time', '<', query.to);
    if (query.beforeId !== undefined) {
      // Keyset on (time, id), as for logs.
      const cursor = await this.database.db.selectFrom('monitor_event').select('time').where('id', '=', query.beforeId).executeTakeFirst();
      const before = query.beforeId;
      q = cursor ? q.where((eb) => eb.or([eb('time', '<', cursor.time), eb.and([eb('time', '=', cursor.time), eb('id', '<', before)])])) : q.where('id', '<', before);
    }
    return (await q.execute()).map(toStoredEvent);
  }

  async prune(now: number = Date.now()): Promise<{ removed: number; cutoff: number }> {
    const cutoff = now - this.retentionDays * DAY_MS;
    return { removed: await deleteEventsBefore(this.database, cutoff), cutoff };
  }
}

function toStoredEvent(row: Selectable<MonitorEventTable>): StoredEvent {
  return {
    id: Number(row.id),
    time: Number(row.time),
    receivedAt: Number(row.received_at),
    node: row.node,
    sourceAddress: row.source_address,
    kind: row.kind,
    name: row.name,
    severity: severityName(Number(row.severity)),
    detail: JSON.parse(row.detail) as Record<string, string>,
    agent: row.agent,
  };
}
