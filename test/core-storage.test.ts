// Storage and the audit log on both real engines: SQLite (a temp data dir)
// and PostgreSQL (a throwaway cluster from test/support/postgres.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EgovError,
  GENESIS_HASH,
  appendAudit,
  assertChainIntact,
  listAudit,
  migrateToLatest,
  migrations,
  openDatabase,
  recordAudit,
  runReusableEach,
  verifyAuditLog,
  type AuditEvent,
  type Database,
  type OpenOptions,
} from '../core/index.js';
import { usePostgres } from './support/postgres.js';

const postgres = usePostgres();

interface Engine {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty place to open a database: a new data dir or a new PostgreSQL database. */
  freshLocation(label: string): Promise<OpenOptions>;
}

const tempDirs: string[] = [];
const openHandles: Database[] = [];

const engines: Engine[] = [
  {
    name: 'sqlite',
    async freshLocation() {
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-ops-sqlite-'));
      tempDirs.push(dataDir);
      return { dataDir };
    },
  },
  {
    name: 'postgres',
    async freshLocation(label) {
      return { dataDir: '/nonexistent-not-used', url: await postgres.createDatabase(label) };
    },
  },
];

async function open(options: OpenOptions): Promise<Database> {
  const database = await openDatabase(options);
  openHandles.push(database);
  return database;
}

afterEach(async () => {
  for (const database of openHandles.splice(0)) await database.close().catch(() => undefined);
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const event = (n: number, extra: Partial<AuditEvent> = {}): AuditEvent => ({
  actor: `operator-${n % 3}`,
  action: n % 2 ? 'ca.issue' : 'ca.revoke',
  object: `ca:city-rsa/serial:${n.toString(16).padStart(4, '0')}`,
  source: '127.0.0.1',
  outcome: 'success',
  detail: { n, note: '办公业务资源网' },
  ...extra,
});

async function appendMany(database: Database, count: number): Promise<void> {
  for (let n = 1; n <= count; n++) await recordAudit(database, event(n));
}

async function count(database: Database, table: 'audit_log' | 'ca_authority' | 'counter'): Promise<number> {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

function authority(name: string) {
  return {
    name,
    algorithm: 'rsa-2048',
    created_at: new Date('2026-01-02T03:04:05.000Z').toISOString(),
    root_cert: allBytes,
    root_key: Buffer.from([0, 0, 0, 1, 0]),
    issuing_cert: Buffer.concat([allBytes, Buffer.from(allBytes).reverse()]),
    issuing_key: Buffer.from('-----BEGIN PRIVATE KEY-----\n\0\n'),
    ocsp_cert: null,
    ocsp_key: Buffer.alloc(0),
    crl_number: 0,
  };
}

describe.each(engines)('storage on $name', (engine) => {
  it('applies every migration once, and reopening is a no-op that keeps the data', async () => {
    const location = await engine.freshLocation('migrations');
    const first = await open({ ...location, migrate: false });
    expect(first.dialect).toBe(engine.name);
    expect(await migrateToLatest(first)).toEqual(Object.keys(migrations));
    expect(await migrateToLatest(first)).toEqual([]);
    await recordAudit(first, event(1));
    await first.close();

    const second = await open(location);
    expect(await migrateToLatest(second)).toEqual([]);
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(second.db);
    expect(applied.rows.map((r) => r.name)).toEqual(Object.keys(migrations));
    expect(await count(second, 'audit_log')).toBe(1);
    expect((await verifyAuditLog(second)).ok).toBe(true);
  });

  it('runs one reusable statement for each of many rows, in order, and refuses parameters that do not line up', async () => {
    const database = await open(await engine.freshLocation('reusable-each'));
    const rows = Array.from({ length: 25 }, (_, i) => ({ name: `counter-${String(i).padStart(2, '0')}`, value: i * 10 }));
    await database.write((tx) =>
      runReusableEach(tx, 'test.counter.insert', rows, (row) => tx.insertInto('counter').values(row), (row) => [row.name, row.value]),
    );
    const stored = await database.db.selectFrom('counter').selectAll().where('name', 'like', 'counter-%').orderBy('name').execute();
    expect(stored.map((r) => [r.name, Number(r.value)])).toEqual(rows.map((r) => [r.name, r.value]));
    // Columns swapped against the compiled statement: refused before anything is written.
    await expect(
      database.write((tx) => runReusableEach(tx, 'test.counter.swapped', [{ name: 'swapped', value: 1 }], (row) => tx.insertInto('counter').values(row), (row) => [row.value, row.name])),
    ).rejects.toThrow(/do not line up/);
    expect(await database.db.selectFrom('counter').select('name').where('name', '=', 'swapped').execute()).toEqual([]);
    await database.close();
  });

  it('rolls a write back completely when the work throws, and stays usable', async () => {
    const database = await open(await engine.freshLocation('rollback'));
    const failure = new Error('issuance failed half-way');
    await expect(
      database.write(async (tx) => {
        await tx.insertInto('ca_authority').values(authority('city-rsa')).execute();
        await appendAudit(tx, event(1, { action: 'ca.create' }));
        await tx.insertInto('counter').values({ name: 'serial', value: 42 }).execute();
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await count(database, 'ca_authority')).toBe(0);
    expect(await count(database, 'audit_log')).toBe(0);
    expect(await count(database, 'counter')).toBe(0);

    // A failing statement (duplicate primary key) rolls back what came before it too.
    await database.write((tx) => tx.insertInto('ca_authority').values(authority('city-rsa')).execute());
    await expect(
      database.write(async (tx) => {
        await appendAudit(tx, event(2));
        await tx.insertInto('ca_authority').values(authority('city-rsa')).execute();
      }),
    ).rejects.toThrow();
    expect(await count(database, 'audit_log')).toBe(0);

    // The lock was released: the next write goes through and returns its value.
    const record = await database.write(async (tx) => {
      await tx.updateTable('ca_authority').set({ crl_number: 7 }).where('name', '=', 'city-rsa').execute();
      return appendAudit(tx, event(3));
    });
    expect(record.id).toBe(1);
    const row = await database.db.selectFrom('ca_authority').select('crl_number').where('name', '=', 'city-rsa').executeTakeFirstOrThrow();
    expect(row.crl_number).toBe(7);
    expect(await verifyAuditLog(database)).toEqual({ ok: true, records: 1, headId: 1 });
  });

  it('round-trips binary values as Buffers, byte for byte', async () => {
    const database = await open(await engine.freshLocation('blobs'));
    const written = authority('county-sm2');
    await database.write((tx) => tx.insertInto('ca_authority').values(written).execute());
    const read = await database.db.selectFrom('ca_authority').selectAll().where('name', '=', 'county-sm2').executeTakeFirstOrThrow();
    for (const column of ['root_cert', 'root_key', 'issuing_cert', 'issuing_key', 'ocsp_key'] as const) {
      expect(Buffer.isBuffer(read[column]), column).toBe(true);
      expect(Buffer.compare(read[column]!, written[column]), column).toBe(0);
    }
    expect(read.root_cert.length).toBe(256);
    expect(read.ocsp_key!.length).toBe(0);
    expect(read.ocsp_cert).toBeNull();
    expect(read.crl_number).toBe(0);
    expect(typeof read.crl_number).toBe('number');
  });

  it('appends a hash chain that verifies and lists newest first', async () => {
    const database = await open(await engine.freshLocation('audit'));
    expect(await verifyAuditLog(database)).toEqual({ ok: true, records: 0, headId: 0 });
    const first = await recordAudit(database, event(1));
    expect(first.id).toBe(1);
    expect(first.prevHash).toBe(GENESIS_HASH);
    expect(first.hash).toMatch(/^[0-9a-f]{64}$/);
    await appendMany(database, 4);
    const progress: number[] = [];
    expect(await verifyAuditLog(database, (n) => progress.push(n))).toEqual({ ok: true, records: 5, headId: 5 });
    expect(progress.at(-1)).toBe(5);

    const records = await listAudit(database);
    expect(records.map((r) => r.id)).toEqual([5, 4, 3, 2, 1]);
    for (let i = 0; i < records.length - 1; i++) expect(records[i]!.prevHash).toBe(records[i + 1]!.hash);
    expect(records.at(-1)).toEqual(first);
    expect(records[0]!.detail).toEqual({ n: 4, note: '办公业务资源网' });
    expect((await listAudit(database, { action: 'ca.revoke' })).map((r) => r.id)).toEqual([5, 3]);
    expect((await listAudit(database, { actor: 'operator-1', limit: 1 })).map((r) => r.id)).toEqual([5]);
    expect(() => assertChainIntact({ ok: true, records: 5, headId: 5 })).not.toThrow();
  });

  it('reports the first broken link when a field of a row is changed', async () => {
    const database = await open(await engine.freshLocation('tamper_field'));
    await appendMany(database, 6);
    await sql`update audit_log set actor = ${'mallory'} where id = 3`.execute(database.db);
    const result = await verifyAuditLog(database);
    expect(result.ok).toBe(false);
    expect(result.firstBreak?.id).toBe(3);
    expect(result.firstBreak?.reason).toMatch(/record 3 was changed/);
    expect(result.records).toBe(2);
    let thrown: unknown;
    try {
      assertChainIntact(result);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EgovError);
    expect((thrown as EgovError).code).toBe('chain-broken');
    expect((thrown as EgovError).details).toMatchObject({ id: 3 });
  });

  it('reports a changed detail and a re-pointed prev_hash', async () => {
    const database = await open(await engine.freshLocation('tamper_detail'));
    await appendMany(database, 4);
    await sql`update audit_log set detail = ${'{"n":99}'} where id = 4`.execute(database.db);
    expect((await verifyAuditLog(database)).firstBreak?.id).toBe(4);

    const other = await open(await engine.freshLocation('tamper_prev'));
    await appendMany(other, 4);
    await sql`update audit_log set prev_hash = ${GENESIS_HASH} where id = 2`.execute(other.db);
    const result = await verifyAuditLog(other);
    expect(result.firstBreak?.id).toBe(2);
    expect(result.firstBreak?.reason).toMatch(/does not point at the hash of record 1/);
  });

  it('reports a row deleted from the middle', async () => {
    const database = await open(await engine.freshLocation('tamper_middle'));
    await appendMany(database, 5);
    await sql`delete from audit_log where id = 3`.execute(database.db);
    const result = await verifyAuditLog(database);
    expect(result.ok).toBe(false);
    expect(result.firstBreak).toEqual({ id: 3, reason: 'record 3 is missing (next present is 4)' });
  });

  it('reports rows cut off the end through the head counter, even after later appends', async () => {
    const database = await open(await engine.freshLocation('tamper_tail'));
    await appendMany(database, 5);
    await sql`delete from audit_log where id >= 4`.execute(database.db);
    const result = await verifyAuditLog(database);
    expect(result.ok).toBe(false);
    expect(result.records).toBe(3);
    expect(result.firstBreak?.id).toBe(4);
    expect(result.firstBreak?.reason).toMatch(/records 4\.\.5 were removed from the end/);

    // A new record must not take the removed ids and paper over the cut.
    const next = await recordAudit(database, event(6));
    expect(next.id).toBe(6);
    const after = await verifyAuditLog(database);
    expect(after.ok).toBe(false);
    expect(after.firstBreak?.id).toBe(4);
  });

  it('reports a head counter that was wound back', async () => {
    const database = await open(await engine.freshLocation('tamper_head'));
    await appendMany(database, 3);
    await sql`update counter set value = 1 where name = 'audit_head_id'`.execute(database.db);
    const result = await verifyAuditLog(database);
    expect(result.ok).toBe(false);
    expect(result.firstBreak?.id).toBe(2);
  });

  it('keeps the chain intact under 200 concurrent appends', async () => {
    const database = await open(await engine.freshLocation('concurrent'));
    const records = await Promise.all(Array.from({ length: 200 }, (_, i) => recordAudit(database, event(i + 1))));
    expect(new Set(records.map((r) => r.id)).size).toBe(200);
    expect(records.map((r) => r.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await verifyAuditLog(database)).toEqual({ ok: true, records: 200, headId: 200 });
  });

  it('keeps the chain intact with two handles on the same database appending interleaved', async () => {
    const location = await engine.freshLocation('two_handles');
    const a = await open(location);
    const b = await open(location);
    // Strictly alternating...
    for (let n = 1; n <= 20; n++) await recordAudit(n % 2 ? a : b, event(n, { source: n % 2 ? 'handle-a' : 'handle-b' }));
    // ...and all at once, each handle mixing its own writes with the other's.
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? a : b).write(async (tx) => {
          const record = await appendAudit(tx, event(100 + i, { source: i % 2 ? 'handle-a' : 'handle-b' }));
          await tx.insertInto('counter').values({ name: `c${i}`, value: record.id }).execute();
          return record;
        }),
      ),
    );
    expect(await verifyAuditLog(a)).toEqual({ ok: true, records: 120, headId: 120 });
    expect(await verifyAuditLog(b)).toEqual({ ok: true, records: 120, headId: 120 });
    const sources = new Set((await listAudit(a, { limit: 1000 })).map((r) => r.source));
    expect(sources).toEqual(new Set(['handle-a', 'handle-b']));
  });
});

describe('storage on sqlite only', () => {
  it('runs in WAL mode with the file in the data dir', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-ops-sqlite-'));
    tempDirs.push(dataDir);
    const database = await open({ dataDir });
    expect(database.location.endsWith(path.join(path.basename(dataDir), 'egov-ops.sqlite'))).toBe(true);
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(database.db);
    expect(mode.rows[0]?.journal_mode).toBe('wal');
  });
});

describe('storage on postgres only', () => {
  it('refuses an unreachable server with an EgovError that hides the password', async () => {
    const error = await openDatabase({ dataDir: '/nonexistent', url: 'postgres://egov:s3cret@127.0.0.1:1/egov' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('unavailable');
    expect((error as EgovError).message).toContain('postgres://egov:***@127.0.0.1:1/egov');
    expect((error as EgovError).message).not.toContain('s3cret');
  });

  it('started a cluster on loopback and reports how long it took', () => {
    expect(postgres.server.host).toBe('127.0.0.1');
    expect(postgres.server.startupMs).toBeGreaterThan(0);
    console.info(`PostgreSQL harness started in ${postgres.server.startupMs} ms (${postgres.server.url})`);
  });
});
