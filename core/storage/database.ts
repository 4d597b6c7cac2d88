// One query layer (Kysely) over two real engines: SQLite (embedded default,
// WAL) and PostgreSQL (selected by database.url). Writes go through
// `write()`, which takes the engine's write lock up front so the audit chain
// and serial checks never race another process.

import { mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';
import { EgovError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
import { redactUrlPassword as redactUrl } from '../logging.js';
import { PrimarySelector, clientToPrimary, isReadOnlyError, splitPostgresHosts } from './pg-hosts.js';
import type { Tables } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';
export type Db = Kysely<Tables>;
// A transaction, or on SQLite the locked connection: both query the same way.
export type WriteTx = Kysely<Tables>;

export interface Database {
  readonly dialect: Dialect;
  readonly db: Db;
  /** Where the data lives, for messages (file path or URL without password). */
  readonly location: string;
  /** Runs `work` in one write transaction holding the engine's write lock. */
  write<T>(work: (tx: WriteTx) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only: calls `onMessage` for each NOTIFY on `channel`, on a
   * connection of its own that is opened again after it breaks. Returns the
   * function that stops listening.
   */
  listen?(channel: string, onMessage: (payload: string) => void): () => Promise<void>;
  close(): Promise<void>;
}

// The pg driver is loaded only when a PostgreSQL URL is configured.
const require = createRequire(import.meta.url);
// better-sqlite3 is CommonJS: required, not imported, so that node does not
// first scan its source for exports (an ESM import of a CommonJS package
// does), which every one-shot command would pay at start-up.
const SqliteDatabase = require('better-sqlite3') as typeof BetterSqlite3;
let pgModule: typeof pg | undefined;
function loadPg(): typeof pg {
  if (!pgModule) {
    pgModule = require('pg') as typeof pg;
    // int8 (bigint, count(*)) comes back as text from pg by default; our values fit in 2^53.
    pgModule.types.setTypeParser(20, (value: string) => Number(value));
  }
  return pgModule;
}

export interface OpenOptions {
  dataDir: string;
  url?: string | undefined;
  /** Run migrations on open (default true). */
  migrate?: boolean;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const database = options.url ? await openPostgres(options.url) : openSqlite(options.dataDir);
  if (options.migrate !== false) {
    try {
      // On SQLite, migrate under the in-process file lock too (see fileLocks).
      if (database.dialect === 'sqlite') await withFileLock(database.location, () => migrateToLatest(database));
      else await withMigrationLease(database, () => migrateToLatest(database));
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
}

// Several instances starting together on one PostgreSQL: migrations run
// once, by whoever holds this session-level advisory lock; the others wait
// for it, then find nothing left to do.
const MIGRATION_LOCK = 7270362;

async function withMigrationLease<T>(database: Database, work: () => Promise<T>): Promise<T> {
  return database.db.connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(connection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(connection).catch(() => undefined);
    }
  });
}

// better-sqlite3 is synchronous: when a second handle on the same file in
// this process runs BEGIN IMMEDIATE while the first is between statements of
// its write (awaiting), SQLite's busy handler blocks the whole thread, so the
// first can never finish; the second gives up after busy_timeout with
// SQLITE_BUSY. Handles on one file in one process therefore queue their
// writes here; other processes are kept out by the file lock itself.
const fileLocks = new Map<string, Promise<void>>();

async function withFileLock<T>(file: string, work: () => Promise<T>): Promise<T> {
  const previous = fileLocks.get(file) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => current);
  fileLocks.set(file, tail);
  await previous;
  try {
    return await work();
  } finally {
    release();
    if (fileLocks.get(file) === tail) fileLocks.delete(file);
  }
}

/**
 * better-sqlite3 behind Kysely, with prepared statements kept: Kysely asks
 * for a new statement per query, and preparing costs as much as running.
 */
function withStatementCache(handle: BetterSqlite3.Database) {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => handle.close(),
    prepare(query: string) {
      let statement = statements.get(query);
      if (!statement) {
        if (statements.size >= 1000) statements.clear();
        statement = handle.prepare(query);
        statements.set(query, statement);
      }
      return statement;
    },
  };
}

// Facts a write transaction may keep between its statements (the audit
// chain's head, say). When a savepoint rolls back, the memo goes back to what
// it was when that savepoint began (its values are replaced, never mutated),
// and it is dropped with the transaction, so a remembered value never
// outlives the rows it came from.
const transactionMemos = new WeakMap<object, Map<string, unknown>>();

export function transactionMemo(tx: WriteTx): Map<string, unknown> {
  let memo = transactionMemos.get(tx);
  if (!memo) transactionMemos.set(tx, (memo = new Map()));
  return memo;
}

// Transactions opened by write(): only these run work registered with atCommit.
const writeTransactions = new WeakSet<object>();
const COMMIT_PREFIX = '\0at-commit:';

/**
 * Registers `work` to run once at the end of this write transaction, just
 * before it commits (a later registration under the same key replaces an
 * earlier one). The registration lives in the transaction memo, so a write
 * rolled back to its savepoint also drops what it registered. Returns false
 * (nothing registered) when `tx` is not a write() transaction: the caller
 * then does the work at once.
 */
export function atCommit(tx: WriteTx, key: string, work: (tx: WriteTx) => Promise<void>): boolean {
  if (!writeTransactions.has(tx)) return false;
  transactionMemo(tx).set(COMMIT_PREFIX + key, work);
  return true;
}

async function runCommitWork(tx: WriteTx): Promise<void> {
  const memo = transactionMemos.get(tx);
  if (!memo) return;
  for (const [key, work] of memo) {
    if (key.startsWith(COMMIT_PREFIX)) await (work as (tx: WriteTx) => Promise<void>)(tx);
  }
}

// On SQLite, a statement compiled once (reusable.ts) runs on the locked
// connection straight through the statement cache, without Kysely's
// executor and its connection queue around every call.
export interface DirectRunner {
  run(sqlText: string, parameters: readonly unknown[]): void;
  /** One statement, prepared once, run for each parameter list in turn. */
  runEach(sqlText: string, parameterLists: Iterable<readonly unknown[]>): void;
  all(sqlText: string, parameters: readonly unknown[]): unknown[];
}
const directRunners = new WeakMap<object, DirectRunner>();

export function directRunner(tx: WriteTx): DirectRunner | undefined {
  return directRunners.get(tx);
}

interface PendingWrite {
  work: (tx: WriteTx) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const MAX_GROUP = 256;

function openSqlite(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(realpathSync(dataDir), 'egov-ops.sqlite');
  let handle: BetterSqlite3.Database;
  try {
    handle = new SqliteDatabase(file);
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    handle.pragma('busy_timeout = 10000');
    handle.pragma('foreign_keys = ON');
  } catch (error) {
    throw new EgovError('unavailable', `cannot open SQLite database ${file}: ${(error as Error).message}`);
  }
  const statementCache = withStatementCache(handle);
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: statementCache as never }) });
  const runDirect: DirectRunner = {
    run: (sqlText, parameters) => void statementCache.prepare(sqlText).run(parameters as unknown[]),
    runEach: (sqlText, parameterLists) => {
      const statement = statementCache.prepare(sqlText);
      for (const parameters of parameterLists) statement.run(parameters as unknown[]);
    },
    all: (sqlText, parameters) => statementCache.prepare(sqlText).all(parameters as unknown[]),
  };

  // Group commit: writes that arrive while one transaction runs wait, then
  // go together in the next one, each inside its own SAVEPOINT. Each write
  // stays atomic on its own (a failing one is rolled back alone) and is
  // committed before its promise resolves; the commit cost is shared.
  const pending: PendingWrite[] = [];
  let draining = false;
  // Transaction control runs thousands of times a second: prepare it once.
  const control = {
    begin: handle.prepare('BEGIN IMMEDIATE'),
    savepoint: handle.prepare('SAVEPOINT egov_write'),
    release: handle.prepare('RELEASE egov_write'),
    rollbackTo: handle.prepare('ROLLBACK TO egov_write'),
    commit: handle.prepare('COMMIT'),
  };

  const runGroup = (group: PendingWrite[]) =>
    withFileLock(file, () =>
      db.connection().execute(async (connection) => {
        // BEGIN IMMEDIATE: take the write lock before reading, so two processes
        // appending to the audit chain cannot both read the same head.
        control.begin.run();
        transactionMemos.delete(connection);
        writeTransactions.add(connection);
        directRunners.set(connection, runDirect);
        const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
        try {
          for (const item of group) {
            const before = transactionMemos.get(connection);
            const saved = before ? new Map(before) : undefined;
            control.savepoint.run();
            try {
              const value = await item.work(connection);
              control.release.run();
              outcomes.push({ ok: true, value });
            } catch (error) {
              // SQLite may have rolled the whole transaction back by itself
              // (SQLITE_FULL, IOERR): then every write of the group is lost.
              if (!handle.inTransaction) throw error;
              if (saved) transactionMemos.set(connection, saved);
              else transactionMemos.delete(connection);
              control.rollbackTo.run();
              control.release.run();
              outcomes.push({ ok: false, error });
            }
          }
          await runCommitWork(connection);
          control.commit.run();
        } catch (error) {
          if (handle.inTransaction) {
            try {
              handle.exec('ROLLBACK');
            } catch {
              /* the original error is the one that matters */
            }
          }
          for (const item of group) item.reject(error);
          return;
        }
        outcomes.forEach((outcome, i) => (outcome.ok ? group[i]!.resolve(outcome.value) : group[i]!.reject(outcome.error)));
      }),
    );

  const drain = async () => {
    try {
      while (pending.length) await runGroup(pending.splice(0, MAX_GROUP));
    } finally {
      draining = false;
    }
  };

  return {
    dialect: 'sqlite',
    db,
    location: file,
    write: <T>(work: (tx: WriteTx) => Promise<T>) =>
      new Promise<T>((resolve, reject) => {
        pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
        // Start on the next turn of the event loop: a group runs entirely in
        // microtasks (better-sqlite3 is synchronous), so started now it would
        // finish before any concurrent writer could join it.
        if (!draining) {
          draining = true;
          setImmediate(() => void drain());
        }
      }),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const driver = loadPg();
  const hosts = splitPostgresHosts(url);
  // Several hosts: connections go to whichever is the primary (core/storage/pg-hosts.ts).
  const selector = hosts.length > 1 ? new PrimarySelector(hosts, driver.Client) : undefined;
  if (selector) {
    try {
      await selector.find();
    } catch (error) {
      throw new EgovError('unavailable', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`);
    }
  }
  // With a standby to go to, a connection to a host that has gone silent gives up after 10 s (pg waits forever by default) and sends the selector looking.
  const pool = new driver.Pool({ connectionString: hosts[0], max: 10, ...(selector ? { Client: clientToPrimary(driver.Client, selector), connectionTimeoutMillis: 10_000 } : {}) });
  // An idle pooled client whose server goes away (restart, failover,
  // pg_terminate_backend) emits 'error' on the pool; unhandled, that kills the
  // process. The pool drops that client and the next query reconnects.
  pool.on('error', () => selector?.stale());
  // A connection that was busy when the primary moved is let go as it comes back, not reused on the old host.
  if (selector) pool.on('release', (_error: Error | undefined, client: pg.PoolClient) => void (selector.isOld(client) && client.end().catch(() => undefined)));
  // A client checked out (in a transaction between two statements, awaiting
  // the CA's signature, say) is not the pool's to watch: when the server goes
  // away then, the client emits 'error' with nobody listening and the whole
  // process dies (found by killing PostgreSQL during issuance, issue 15).
  // The transaction's next statement fails instead, and the pool drops the client.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new EgovError('unavailable', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`);
  }
  const db = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    dialect: 'postgres',
    db,
    location: redactUrl(url),
    write: (work) =>
      db
        .transaction()
        .execute(async (tx) => {
          // One writer at a time for state that is chained or checked (audit log, serials).
          await sql`select pg_advisory_xact_lock(7270361)`.execute(tx);
          writeTransactions.add(tx);
          const value = await work(tx);
          await runCommitWork(tx);
          return value;
        })
        .catch((error: unknown) => {
          // A standby (or an old primary come back as one) refuses writes: look for the primary again.
          if (selector && isReadOnlyError(error)) selector.stale();
          throw error;
        }),
    listen: (channel, onMessage) => listenOn(() => selector?.current ?? url, channel, onMessage),
    close: () => db.destroy(),
  };
}

// A LISTEN connection apart from the pool (a pooled client would be handed to
// queries); when it breaks (server restart, failover) it is opened again
// after a second, and a notification missed meanwhile is the poller's to find.
function listenOn(urlNow: () => string, channel: string, onMessage: (payload: string) => void): () => Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  let stopped = false;
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (stopped) return;
    const next = new (loadPg().Client)({ connectionString: urlNow() });
    const again = () => {
      next.removeAllListeners('notification');
      next.end().catch(() => undefined);
      if (client === next) client = undefined;
      if (!stopped && !retry) retry = setTimeout(() => ((retry = undefined), void connect()), 1000).unref();
    };
    next.on('error', again);
    next.on('end', again);
    next.on('notification', (message) => {
      if (message.channel === channel) onMessage(message.payload ?? '');
    });
    try {
      await next.connect();
      await next.query(`listen ${channel}`);
      client = next;
      if (stopped) await next.end().catch(() => undefined);
    } catch {
      again();
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(retry);
    await client?.end().catch(() => undefined);
  };
}
