// One query layer (Kysely) over two real engines: SQLite (embedded default,
// WAL) and PostgreSQL (selected by database.url). Writes go through
// `write()`, which takes the engine's write lock up front so the audit chain
// and serial checks never race another process.

import { mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { EgovError } from '../errors.js';
import { migrateToLatest } from './migrations.js';
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
  close(): Promise<void>;
}

// int8 (bigint, count(*)) comes back as text from pg by default; our values fit in 2^53.
pg.types.setTypeParser(20, (value: string) => Number(value));

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
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
      else await migrateToLatest(database);
    } catch (error) {
      await database.close();
      throw error;
    }
  }
  return database;
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

function openSqlite(dataDir: string): Database {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(realpathSync(dataDir), 'egov-ops.sqlite');
  let handle: SqliteDatabase.Database;
  try {
    handle = new SqliteDatabase(file);
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = NORMAL');
    handle.pragma('busy_timeout = 10000');
    handle.pragma('foreign_keys = ON');
  } catch (error) {
    throw new EgovError('unavailable', `cannot open SQLite database ${file}: ${(error as Error).message}`);
  }
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: handle }) });
  return {
    dialect: 'sqlite',
    db,
    location: file,
    // BEGIN IMMEDIATE: take the write lock before reading, so two processes
    // appending to the audit chain cannot both read the same head.
    write: (work) =>
      withFileLock(file, () =>
        db.connection().execute(async (connection) => {
          await sql`begin immediate`.execute(connection);
          try {
            const result = await work(connection);
            await sql`commit`.execute(connection);
            return result;
          } catch (error) {
            // SQLite may already have rolled back by itself (SQLITE_FULL, IOERR,
            // a failed COMMIT): then ROLLBACK fails too, and must not hide `error`.
            if (handle.inTransaction) {
              try {
                await sql`rollback`.execute(connection);
              } catch {
                /* the original error is the one that matters */
              }
            }
            throw error;
          }
        }),
      ),
    close: () => db.destroy(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle pooled client whose server goes away (restart, failover,
  // pg_terminate_backend) emits 'error' on the pool; unhandled, that kills the
  // process. The pool drops that client and the next query reconnects.
  pool.on('error', () => undefined);
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
      db.transaction().execute(async (tx) => {
        // One writer at a time for state that is chained or checked (audit log, serials).
        await sql`select pg_advisory_xact_lock(7270361)`.execute(tx);
        return work(tx);
      }),
    close: () => db.destroy(),
  };
}
