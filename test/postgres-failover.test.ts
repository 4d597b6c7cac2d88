// PostgreSQL failover: a real primary with a streaming standby
// (pg_basebackup -R, synchronous replication), the suite's database opened
// on a URL naming both hosts, the standby first. The suite finds the primary
// (the standby is in recovery) and writes there; the primary is stopped as a
// power cut would (pg_ctl stop -m immediate) in the middle of writes, and
// the standby promoted. Then: the same open Database writes again without a
// restart, every write it was told succeeded is on the new primary, and the
// audit chain verifies. A backup (pg_dump, through libpq, of the same
// several-host URL) and its drill (a scratch database made on the new
// primary) pass with the old primary still down. And when the old primary
// comes back as a standby on its own address, the first write that meets it
// (read-only) sends the suite to the new primary.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupService } from '../backup/index.js';
import { loadConfig, openDatabase, recordAudit, verifyAuditLog, type Database } from '../core/index.js';
import { splitPostgresHosts } from '../core/storage/pg-hosts.js';
import { startPostgres, type PostgresServer, queryOnce as query } from './support/postgres.js';
import { removeTempDirs, tempDir } from './support/restic.js';

let primary: PostgresServer;
let standby: PostgresServer;
let database: Database | undefined;

beforeAll(async () => {
  // Commits wait for the primary's disk and the standby's (synchronous_standby_names, set once the standby streams).
  primary = await startPostgres({ settings: { synchronous_commit: 'on', fsync: 'on', wal_level: 'replica', max_wal_senders: '5' } });
  standby = await startPostgres({ standbyOf: primary, settings: { synchronous_commit: 'on', fsync: 'on', hot_standby: 'on' } });
}, 120_000);

afterAll(async () => {
  removeTempDirs();
  await database?.close().catch(() => undefined);
  await standby?.stop();
  await primary?.stop();
});


const write = (db: Database, n: number) => recordAudit(db, { actor: 'failover-test', source: 'test', action: 'test.write', object: `write:${n}`, outcome: 'success' });

describe('PostgreSQL failover with several hosts in the URL', () => {
  it('splits a libpq-style URL into one URL per host', () => {
    expect(splitPostgresHosts('postgres://egov:secret@db1:5432,db2:5433/egov?sslmode=require')).toEqual(['postgres://egov:secret@db1:5432/egov?sslmode=require', 'postgres://egov:secret@db2:5433/egov?sslmode=require']);
    expect(splitPostgresHosts('postgres://egov@db1/egov')).toEqual(['postgres://egov@db1/egov']);
  });

  it('writes on the primary, and after the primary dies and the standby is promoted, goes on writing there; nothing acknowledged is lost', async () => {
    const name = (await primary.createDatabase('failover')).split('/').pop()!;
    await query(primary.url, "alter system set synchronous_standby_names = '*'");
    await query(primary.url, 'select pg_reload_conf()');
    // The standby streams, synchronously.
    for (let i = 0; i < 100; i++) {
      const rows = await query<{ sync_state: string }>(primary.url, 'select sync_state from pg_stat_replication');
      if (rows[0]?.sync_state === 'sync') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await query<{ sync_state: string }>(primary.url, 'select sync_state from pg_stat_replication')).map((r) => r.sync_state)).toEqual(['sync']);

    // The standby first in the URL: the suite must pass it by (it is in recovery) for the primary.
    const url = `postgres://postgres@127.0.0.1:${standby.port},127.0.0.1:${primary.port}/${name}`;
    const config = loadConfig({ env: {}, flags: { dataDir: tempDir(), database: { url } } });
    database = await openDatabase({ dataDir: config.dataDir, url });
    expect(database.location).toBe(url);
    const acknowledged: number[] = [];
    for (let n = 1; n <= 50; n++) {
      await write(database, n);
      acknowledged.push(n);
    }

    // Writes keep coming while the primary is cut off.
    let n = 50;
    let failures = 0;
    let stop = false;
    const writer = (async () => {
      while (!stop) {
        n++;
        try {
          await write(database!, n);
          acknowledged.push(n);
        } catch {
          failures++;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await primary.crash();
    const crashedAt = Date.now();
    const cutAt = acknowledged.length;
    await standby.promote();
    const promotedAt = Date.now();
    // Until writes on the new primary are acknowledged (the selector looks again once a connection fails).
    let firstAfterMs: number | undefined;
    while (acknowledged.length <= cutAt + 20 && Date.now() - promotedAt < 60_000) {
      if (firstAfterMs === undefined && acknowledged.length > cutAt) firstAfterMs = Date.now() - promotedAt;
      await new Promise((r) => setTimeout(r, 10));
    }
    console.log(`failover: primary stopped, standby promoted ${promotedAt - crashedAt} ms later; first write acknowledged on it ${firstAfterMs ?? '-'} ms after the promotion; ${failures} write(s) failed meanwhile; ${acknowledged.length} acknowledged in all`);
    stop = true;
    await writer;
    expect(acknowledged.length, `writes after the failover (failures meanwhile: ${failures})`).toBeGreaterThan(cutAt + 20);

    // Every acknowledged write is on the new primary, once; the chain verifies.
    const rows = await query<{ object: string }>(`postgres://postgres@127.0.0.1:${standby.port}/${name}`, "select object from audit_log where action = 'test.write' order by id");
    const stored = rows.map((r) => Number(r.object.split(':')[1]));
    for (const a of acknowledged) expect(stored, `write ${a} acknowledged but not on the new primary`).toContain(a);
    expect(new Set(stored).size).toBe(stored.length);
    const verified = await verifyAuditLog(database);
    expect(verified.ok, JSON.stringify(verified.firstBreak)).toBe(true);
    expect(verified.records).toBe(stored.length);

    // A backup and a drill of the same URL, the old primary still down.
    const backups = new BackupService({ config, database, actor: { actor: 'failover-test', source: 'test' } });
    const [run] = await backups.run();
    expect(run!.ok, run!.message).toBe(true);
    const drill = await backups.drill({});
    const integrity = drill.checks.find((c) => c.name === 'database-integrity');
    expect(integrity?.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
    expect(drill.checks.find((c) => c.name === 'audit-chain')?.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
  }, 180_000);

  it('a write that meets a standby (the old primary brought back as one, where the suite still points) sends it to the new primary', async () => {
    const settings = { synchronous_commit: 'on', fsync: 'on', wal_level: 'replica', max_wal_senders: '5', hot_standby: 'on' };
    const first = await startPostgres({ settings });
    const second = await startPostgres({ standbyOf: first, settings });
    let db: Database | undefined;
    try {
      const name = (await first.createDatabase('readonly')).split('/').pop()!;
      // Primary first in the URL, this time.
      db = await openDatabase({ dataDir: tempDir(), url: `postgres://postgres@127.0.0.1:${first.port},127.0.0.1:${second.port}/${name}` });
      for (let n = 1; n <= 20; n++) await write(db, n);
      // The pool's idle connections close after 10 s: no connection then fails when the primary stops, so nothing sends the suite looking early.
      await new Promise((r) => setTimeout(r, 11_000));
      await first.stopClean();
      await second.promote();
      await first.followAsStandby(second);
      expect((await query<{ recovery: boolean }>(first.url, 'select pg_is_in_recovery() as recovery'))[0]!.recovery).toBe(true);

      const refusals: string[] = [];
      let written = false;
      for (let attempt = 0; attempt < 100 && !written; attempt++) {
        try {
          await write(db, 21);
          written = true;
        } catch (error) {
          refusals.push(`${(error as { code?: string }).code}: ${(error as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      console.log(`read-only path: ${refusals.length} refusal(s) before the write went to the new primary: ${refusals.slice(0, 2).join(' | ')}`);
      expect(written, refusals.join('\n')).toBe(true);
      expect(refusals.length, 'the first write met the standby').toBeGreaterThan(0);
      expect(refusals[0]).toMatch(/^25006: /);
      const rows = await query<{ n: number }>(`postgres://postgres@127.0.0.1:${second.port}/${name}`, "select count(*)::int as n from audit_log where action = 'test.write'");
      expect(rows[0]!.n).toBe(21);
      expect((await verifyAuditLog(db)).ok).toBe(true);
    } finally {
      await db?.close().catch(() => undefined);
      await second.stop();
      await first.stop();
    }
  }, 180_000);
});
