// The agent's disk-backed queue to the monitor: a FIFO of OutboxItems in its
// own SQLite file (WAL), so that a monitor outage or an agent restart loses
// nothing that was queued.
//
// - seq: assigned on enqueue, persisted with the item in one transaction,
//   strictly increasing across restarts and never reused (even after the
//   queue empties). The monitor stores on (agent, seq), which turns the
//   shipper's at-least-once delivery into exactly-once storage.
// - Bound: `maxBytes` of payload (the items' JSON). When an item does not
//   fit, the oldest *metrics* are dropped to make room and counted in
//   `droppedMetrics` (a gap in a graph is acceptable). Logs and events are
//   never dropped: when only they remain and the bound is reached, enqueue
//   of a log or event throws EgovError('unavailable') and counts it in
//   `refused`; the caller must log that loudly (it means the monitor has
//   been unreachable long enough to fill the queue). A metric that cannot
//   fit is itself the oldest droppable metric: it is dropped, counted, and
//   enqueue returns null.
// - Durability: synchronous=NORMAL in WAL mode, so a committed item survives
//   the agent being killed; a power cut may lose the last transactions
//   (`synchronous: 'full'` if that matters more than throughput).

import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { EgovError } from '../../core/errors.js';
import type { OutboxItem } from '../../monitor/index.js';

export type OutboxKind = OutboxItem['kind'];
export type OutboxRecord<K extends OutboxKind> = Extract<OutboxItem, { kind: K }>['record'];

export type OutboxEntry = { [K in OutboxKind]: { kind: K; record: OutboxRecord<K> } }[OutboxKind];
export type EnqueueResult = number | 'dropped' | 'refused';

export interface OutboxOptions {
  /** Directory of the queue file; created if missing. */
  directory: string;
  /** Payload bytes the queue may hold. Default 256 MiB. */
  maxBytes?: number;
  /** Default 'outbox.sqlite'. */
  fileName?: string;
  /** 'normal' (default): survives the process being killed. 'full': also a power cut, at the cost of an fsync per enqueue. */
  synchronous?: 'normal' | 'full';
}

export interface OutboxStats {
  items: number;
  /** Payload bytes queued (what maxBytes bounds). */
  bytes: number;
  maxBytes: number;
  /** The seq the next item will get. */
  nextSeq: number;
  /** Metrics dropped to make room, since the queue was created (persisted). */
  droppedMetrics: number;
  /** Logs and events refused because the queue was full of them, since the queue was created (persisted). */
  refused: number;
}

export const DEFAULT_OUTBOX_MAX_BYTES = 256 * 1024 * 1024;
const SCHEMA_VERSION = 1;
const KINDS: ReadonlySet<string> = new Set<OutboxKind>(['metric', 'log', 'event']);

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS outbox_item (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('metric', 'log', 'event')),
    bytes INTEGER NOT NULL,
    body TEXT NOT NULL
  );
  -- The oldest metrics, found without scanning logs and events.
  CREATE INDEX IF NOT EXISTS outbox_item_metric ON outbox_item (seq) WHERE kind = 'metric';
  CREATE TABLE IF NOT EXISTS outbox_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT OR IGNORE INTO outbox_state (name, value) VALUES ('next_seq', 1), ('dropped_metrics', 0), ('refused', 0);
`;

type Statement = SqliteDatabase.Statement;

export class Outbox {
  readonly file: string;
  readonly maxBytes: number;
  private readonly db: SqliteDatabase.Database;
  private readonly statements: Record<'insert' | 'setState' | 'oldestMetrics' | 'deleteOne' | 'peek' | 'ackSums' | 'ack', Statement>;
  private readonly listeners = new Set<() => void>();
  // Mirrors of what is on disk, so that enqueue decides without a query.
  private nextSeq: number;
  private items: number;
  private bytes: number;
  private metricBytes: number;
  private droppedMetrics: number;
  private refused: number;
  private closed = false;

  constructor(options: OutboxOptions) {
    this.maxBytes = options.maxBytes ?? DEFAULT_OUTBOX_MAX_BYTES;
    if (!Number.isSafeInteger(this.maxBytes) || this.maxBytes < 1024) throw new EgovError('bad-config', `outbox maxBytes must be an integer of at least 1024, got ${options.maxBytes}`);
    this.file = path.join(ensureDirectory(options.directory), options.fileName ?? 'outbox.sqlite');
    this.db = openQueueFile(this.file, options.synchronous ?? 'normal');
    try {
      this.statements = {
        insert: this.db.prepare('INSERT INTO outbox_item (seq, kind, bytes, body) VALUES (?, ?, ?, ?)'),
        setState: this.db.prepare('UPDATE outbox_state SET value = ? WHERE name = ?'),
        oldestMetrics: this.db.prepare("SELECT seq, bytes FROM outbox_item WHERE kind = 'metric' ORDER BY seq LIMIT ?"),
        deleteOne: this.db.prepare('DELETE FROM outbox_item WHERE seq = ?'),
        peek: this.db.prepare('SELECT seq, kind, bytes, body FROM outbox_item ORDER BY seq LIMIT ?'),
        ackSums: this.db.prepare("SELECT count(*) AS items, coalesce(sum(bytes), 0) AS bytes, coalesce(sum(CASE WHEN kind = 'metric' THEN bytes ELSE 0 END), 0) AS metricBytes FROM outbox_item WHERE seq <= ?"),
        ack: this.db.prepare('DELETE FROM outbox_item WHERE seq <= ?'),
      };
      const state = this.readState();
      this.nextSeq = state.nextSeq;
      this.droppedMetrics = state.droppedMetrics;
      this.refused = state.refused;
      const sums = this.statements.ackSums.get(Number.MAX_SAFE_INTEGER) as { items: number; bytes: number; metricBytes: number };
      this.items = sums.items;
      this.bytes = sums.bytes;
      this.metricBytes = sums.metricBytes;
    } catch (error) {
      this.db.close();
      throw unusableFile(this.file, error);
    }
  }

  /**
   * Queues one record and returns its seq; null when it is a metric dropped
   * for lack of room. Throws OutboxFullError (EgovError 'unavailable') when a
   * log or event does not fit because the queue is full of logs and events:
   * nothing was queued.
   */
  enqueue<K extends OutboxKind>(kind: K, record: OutboxRecord<K>): number | null {
    return this.enqueueMany([{ kind, record } as OutboxEntry])[0] ?? null;
  }

  /**
   * Several records in one transaction (far faster than one at a time under
   * load). All or nothing: if one log or event does not fit, none is queued
   * and it throws as enqueue does. Returns each seq (null: a dropped metric).
   */
  enqueueMany(entries: ReadonlyArray<OutboxEntry>): (number | null)[] {
    const prepared = this.prepare(entries);
    const seqs = this.inTransaction(() => prepared.map(({ kind, body, bytes }) => this.enqueueInTransaction(kind, body, bytes)), (error) => {
      if (error instanceof OutboxFull) return this.refuse(prepared.filter((entry) => entry.kind !== 'metric').length, error.kind);
      return error;
    });
    this.notify(seqs.some((seq) => seq !== null));
    return seqs;
  }

  /**
   * Several records in one transaction, keeping what fits: a log or event
   * that does not fit is refused (and counted) while the rest still go in.
   * Returns, per record, its seq, 'dropped' (a metric with no room) or
   * 'refused' (a log or event: lost unless the caller keeps it; say so loudly).
   */
  enqueueWhatFits(entries: ReadonlyArray<OutboxEntry>): EnqueueResult[] {
    const prepared = this.prepare(entries);
    const results = this.inTransaction(() => {
      const out = prepared.map(({ kind, body, bytes }): EnqueueResult => {
        try {
          return this.enqueueInTransaction(kind, body, bytes) ?? 'dropped';
        } catch (error) {
          if (error instanceof OutboxFull) return 'refused'; // thrown before anything of this record was written
          throw error;
        }
      });
      const refused = out.filter((result) => result === 'refused').length;
      if (refused > 0) {
        this.refused += refused;
        this.statements.setState.run(this.refused, 'refused');
      }
      return out;
    });
    this.notify(results.some((result) => typeof result === 'number'));
    return results;
  }

  /** The oldest items, in seq order: at most maxItems, and at most maxBytes of payload (but always at least one item if any is queued). */
  peekBatch(maxItems: number, maxBytes: number): OutboxItem[] {
    this.assertOpen();
    const batch: OutboxItem[] = [];
    let total = 0;
    for (const row of this.statements.peek.iterate(maxItems) as IterableIterator<{ seq: number; kind: OutboxKind; bytes: number; body: string }>) {
      total += row.bytes;
      if (batch.length > 0 && total > maxBytes) break;
      batch.push({ seq: row.seq, kind: row.kind, record: JSON.parse(row.body) } as OutboxItem);
    }
    return batch;
  }

  /** Removes every item with seq <= uptoSeq (delivered); returns how many. */
  ack(uptoSeq: number): number {
    this.assertOpen();
    if (!Number.isSafeInteger(uptoSeq) || uptoSeq >= this.nextSeq) throw new EgovError('bad-request', `cannot acknowledge seq ${uptoSeq}: the last seq given out is ${this.nextSeq - 1}`);
    return this.db.transaction(() => {
      const removed = this.statements.ackSums.get(uptoSeq) as { items: number; bytes: number; metricBytes: number };
      if (removed.items === 0) return 0;
      this.statements.ack.run(uptoSeq);
      this.items -= removed.items;
      this.bytes -= removed.bytes;
      this.metricBytes -= removed.metricBytes;
      return removed.items;
    })();
  }

  get stats(): OutboxStats {
    return { items: this.items, bytes: this.bytes, maxBytes: this.maxBytes, nextSeq: this.nextSeq, droppedMetrics: this.droppedMetrics, refused: this.refused };
  }

  /** Called after each enqueue that queued something (the shipper wakes up); returns an unsubscribe function. */
  onEnqueued(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.db.close();
  }

  private enqueueInTransaction(kind: OutboxKind, body: string, bytes: number): number | null {
    const over = this.bytes + bytes - this.maxBytes;
    if (over > 0 && !this.makeRoom(kind, over)) return null;
    const seq = this.nextSeq;
    this.statements.insert.run(seq, kind, bytes, body);
    this.statements.setState.run(seq + 1, 'next_seq');
    // The mirrors change only after the statements succeeded (a failed statement aborts the transaction).
    this.nextSeq = seq + 1;
    this.items++;
    this.bytes += bytes;
    if (kind === 'metric') this.metricBytes += bytes;
    return seq;
  }

  /** Drops the oldest metrics until `needed` bytes are free; false when even dropping all would not do for a metric (it is dropped itself), a throw for a log or event. */
  private makeRoom(kind: OutboxKind, needed: number): boolean {
    if (this.metricBytes < needed) {
      if (kind !== 'metric') throw new OutboxFull(kind);
      this.droppedMetrics++;
      this.statements.setState.run(this.droppedMetrics, 'dropped_metrics');
      return false;
    }
    let freed = 0;
    let dropped = 0;
    while (freed < needed) {
      const oldest = this.statements.oldestMetrics.all(64) as { seq: number; bytes: number }[];
      if (oldest.length === 0) throw new EgovError('internal', `outbox ${this.file}: metric bytes on disk disagree with the count kept in memory`);
      for (const metric of oldest) {
        this.statements.deleteOne.run(metric.seq);
        freed += metric.bytes;
        dropped++;
        if (freed >= needed) break;
      }
    }
    this.items -= dropped;
    this.bytes -= freed;
    this.metricBytes -= freed;
    this.droppedMetrics += dropped;
    this.statements.setState.run(this.droppedMetrics, 'dropped_metrics');
    return true;
  }

  private readState(): { nextSeq: number; droppedMetrics: number; refused: number } {
    const rows = this.db.prepare('SELECT name, value FROM outbox_state').all() as { name: string; value: number }[];
    const value = (name: string) => rows.find((row) => row.name === name)?.value ?? 0;
    // next_seq is written with every insert; max(seq)+1 guards against a state row edited by hand.
    const maxSeq = (this.db.prepare('SELECT max(seq) AS seq FROM outbox_item').get() as { seq: number | null }).seq ?? 0;
    return { nextSeq: Math.max(value('next_seq'), maxSeq + 1, 1), droppedMetrics: value('dropped_metrics'), refused: value('refused') };
  }

  /** Counts refused logs and events on disk (outside the rolled-back transaction) and builds the error for the caller. */
  private refuse(count: number, kind: OutboxKind): OutboxFullError {
    this.refused += count;
    try {
      this.statements.setState.run(this.refused, 'refused');
    } catch {
      /* the counter in memory is still right; the queue's own state is what must not be lost */
    }
    return new OutboxFullError(kind, this.bytes, this.maxBytes, this.refused);
  }

  private prepare(entries: ReadonlyArray<OutboxEntry>): { kind: OutboxKind; body: string; bytes: number }[] {
    this.assertOpen();
    return entries.map(({ kind, record }) => {
      if (!KINDS.has(kind)) throw new EgovError('bad-request', `an outbox item is a metric, a log or an event, not "${String(kind)}"`);
      const body = JSON.stringify(record);
      const bytes = Buffer.byteLength(body);
      if (bytes > this.maxBytes) throw new EgovError('bad-request', `a ${kind} of ${bytes} bytes is larger than the whole outbox (${this.maxBytes} bytes)`);
      return { kind, body, bytes };
    });
  }

  /** Runs `work` in a transaction; if it throws, the mirrors go back with the rolled-back data and `mapError` may replace the error. */
  private inTransaction<T>(work: () => T, mapError: (error: unknown) => unknown = (error) => error): T {
    const before = this.mirrors();
    try {
      return this.db.transaction(work)();
    } catch (error) {
      this.restoreMirrors(before);
      throw mapError(error);
    }
  }

  private notify(queuedSomething: boolean): void {
    if (queuedSomething) for (const listener of this.listeners) listener();
  }

  private mirrors() {
    return { nextSeq: this.nextSeq, items: this.items, bytes: this.bytes, metricBytes: this.metricBytes, droppedMetrics: this.droppedMetrics, refused: this.refused };
  }

  private restoreMirrors(saved: ReturnType<Outbox['mirrors']>): void {
    ({ nextSeq: this.nextSeq, items: this.items, bytes: this.bytes, metricBytes: this.metricBytes, droppedMetrics: this.droppedMetrics, refused: this.refused } = saved);
  }

  private assertOpen(): void {
    if (this.closed) throw new EgovError('unavailable', `the outbox ${this.file} is closed`);
  }
}

/** Inside the transaction: a log or event does not fit (rolls the transaction back). */
class OutboxFull extends Error {
  constructor(readonly kind: OutboxKind) {
    super(`no room for a ${kind}`);
  }
}

/** Thrown by enqueue when a log or event does not fit. */
export class OutboxFullError extends EgovError {
  constructor(kind: OutboxKind, bytes: number, maxBytes: number, refusedSoFar: number) {
    super(
      'unavailable',
      `outbox full: ${bytes} of ${maxBytes} bytes are logs and events waiting for the monitor; this ${kind} was NOT queued (${refusedSoFar} refused so far). Is the monitor reachable?`,
      { kind, bytes, maxBytes, refused: refusedSoFar },
    );
  }
}

function ensureDirectory(directory: string): string {
  if (existsSync(directory)) {
    if (!statSync(directory).isDirectory()) throw new EgovError('unavailable', `the outbox directory ${directory} is not a directory`, { directory });
    return directory;
  }
  try {
    mkdirSync(directory, { recursive: true });
  } catch (error) {
    throw new EgovError('unavailable', `the outbox directory ${directory} cannot be created: ${(error as Error).message}`, { directory });
  }
  return directory;
}

function openQueueFile(file: string, synchronous: 'normal' | 'full'): SqliteDatabase.Database {
  let db: SqliteDatabase.Database | undefined;
  try {
    db = new SqliteDatabase(file);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new Error(`it was written by a newer version (schema ${version}, this one knows ${SCHEMA_VERSION})`);
    db.exec(SCHEMA);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
    return db;
  } catch (error) {
    db?.close();
    throw unusableFile(file, error);
  }
}

function unusableFile(file: string, error: unknown): EgovError {
  const cause = (error as Error).message;
  const code = (error as { code?: string }).code ?? '';
  const hint =
    code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT'
      ? ' It is corrupt: move it aside to start an empty queue (what it held is lost).'
      : code === 'SQLITE_CANTOPEN' || code === 'SQLITE_READONLY' || code === 'SQLITE_PERM'
        ? ' Check that the directory exists and the agent user may write to it.'
        : '';
  return new EgovError('unavailable', `the outbox file ${file} cannot be used: ${cause}.${hint}`, { file, sqliteCode: code });
}
