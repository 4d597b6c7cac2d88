// Log search and events on both engines: by node, severity at or above,
// time range, text (case-insensitive, wildcards literal), paging; retention
// pruning at 180 days by default, counted from when a record was received;
// logs pruned in id order without a received_at index (migration 0007).

import { Migrator, sql, type Migration } from 'kysely';
import { describe, expect, it } from 'vitest';
import { EgovError, migrateToLatest, migrations, openDatabase, type Database } from '../core/index.js';
import { EventStore, LogStore, type EventRecord, type LogRecord, type Severity } from '../monitor/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('logs');

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

function logRecord(n: number, node: string | null, severity: Severity, message: string, receivedDaysAgo = 0): LogRecord {
  const receivedAt = NOW - receivedDaysAgo * DAY + n;
  return {
    time: receivedAt - 2,
    receivedAt,
    node,
    sourceAddress: node ? `10.0.0.${n}` : '192.0.2.77',
    facility: 23,
    severity,
    host: node,
    app: 'sshd',
    procId: String(1000 + n),
    msgId: null,
    message,
    structuredData: {},
    format: 'rfc3164',
    transport: 'udp',
  };
}

/** A log received exactly `receivedAt` (epoch ms), for building id/receipt orders by hand. */
const receivedLog = (receivedAt: number, message: string): LogRecord => ({ ...logRecord(0, 'core-1', 'info', message), time: receivedAt - 2, receivedAt });

/** Index names on a table, from the engine's own catalogue. */
async function indexNames(database: Database, table: string): Promise<string[]> {
  const rows =
    database.dialect === 'sqlite'
      ? await sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table}`.execute(database.db)
      : await sql<{ name: string }>`select indexname as name from pg_indexes where schemaname = current_schema() and tablename = ${table}`.execute(database.db);
  return rows.rows.map((r) => r.name).sort();
}

/** Every stored log's (id, received_at), in id order (search() stops at 10,000). */
async function allLogs(database: Database): Promise<Array<{ id: number; receivedAt: number; message: string }>> {
  const rows = await database.db.selectFrom('monitor_log').select(['id', 'received_at', 'message']).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), receivedAt: Number(r.received_at), message: r.message }));
}

/** Prunes at `now` and checks that nothing received at or after the cutoff went. */
async function pruneKeepingFresh(database: Database, logs: LogStore, now: number): Promise<number> {
  const cutoff = now - logs.retentionDays * DAY;
  const fresh = (await allLogs(database)).filter((r) => r.receivedAt >= cutoff);
  const result = await logs.prune(now);
  expect(result.cutoff).toBe(cutoff);
  const after = await allLogs(database);
  expect(after.filter((r) => r.receivedAt >= cutoff)).toEqual(fresh);
  return result.removed;
}

const LOGS: LogRecord[] = [
  logRecord(1, 'core-1', 'info', 'Accepted publickey for admin'),
  logRecord(2, 'core-1', 'warning', 'Interface GigabitEthernet0/0/1 changed state to DOWN'),
  logRecord(3, 'fw-1', 'critical', 'Policy 100% matched: DENY tcp from 203.0.113.9'),
  logRecord(4, 'fw-1', 'error', 'session table 80_percent full'),
  logRecord(5, 'core-1', 'emergency', 'power supply 2 FAILED'),
  logRecord(6, null, 'debug', 'unmapped source says hello'),
  logRecord(7, 'core-1', 'notice', 'interface gigabitethernet0/0/1 changed state to up'),
];

describe.each(engines)('logs and events on $name', (engine) => {
  const open = async () => {
    const database = await openDatabase(await engine.location());
    keep(database);
    return { database, logs: new LogStore(database), events: new EventStore(database) };
  };

  it('searches by node, severity at or above, time range and text, newest first, with paging', async () => {
    const { database, logs } = await open();
    await database.write((tx) => logs.insertWithin(tx, LOGS, 'agent-internal'));
    const messages = async (query: Parameters<LogStore['search']>[0]) => (await logs.search(query)).map((l) => l.message);

    expect((await logs.search()).map((l) => l.procId)).toEqual(['1007', '1006', '1005', '1004', '1003', '1002', '1001']);
    expect(await messages({ node: 'fw-1' })).toEqual([LOGS[3]!.message, LOGS[2]!.message]);
    expect((await logs.search({ severity: 'error' })).map((l) => l.severity)).toEqual(['emergency', 'error', 'critical']);
    expect((await logs.search({ severity: 'warning', node: 'core-1' })).map((l) => l.severity)).toEqual(['emergency', 'warning']);
    expect((await logs.search({ from: LOGS[1]!.time, to: LOGS[3]!.time })).map((l) => l.procId)).toEqual(['1003', '1002']);
    // Case-insensitive on both engines; % and _ are the characters, not wildcards.
    expect(await messages({ text: 'GIGABITETHERNET0/0/1' })).toEqual([LOGS[6]!.message, LOGS[1]!.message]);
    expect(await messages({ text: '100%' })).toEqual([LOGS[2]!.message]);
    expect(await messages({ text: '0%' })).toEqual([LOGS[2]!.message]);
    expect(await messages({ text: '80_p' })).toEqual([LOGS[3]!.message]);
    expect(await messages({ text: '0_' })).toEqual([LOGS[3]!.message]);
    expect(await messages({ text: 'no such words' })).toEqual([]);

    const page1 = await logs.search({ limit: 3 });
    const page2 = await logs.search({ limit: 3, beforeId: page1.at(-1)!.id });
    expect([...page1, ...page2].map((l) => l.procId)).toEqual(['1007', '1006', '1005', '1004', '1003', '1002']);

    const [stored] = await logs.search({ node: 'core-1', limit: 1 });
    expect(stored).toEqual({ ...LOGS[6], id: stored!.id, agent: 'agent-internal' });
    await expect(logs.search({ severity: 'loud' as Severity })).rejects.toThrow(/^severity must be one of emergency, alert/);
    await expect(logs.search({ limit: 0 })).rejects.toThrow(EgovError);
  });

  it('keeps 180 days of logs and events by default, counted from receipt', async () => {
    const { database, logs, events } = await open();
    expect(logs.retentionDays).toBe(180);
    const aged = [logRecord(1, 'core-1', 'info', 'kept: 179 days', 179), logRecord(2, 'core-1', 'info', 'gone: 181 days', 181), logRecord(3, 'core-1', 'info', 'gone: 400 days', 400)];
    // A device clock years off does not age a fresh record out: its own time is old, its receipt is not.
    aged.push({ ...logRecord(4, 'core-1', 'info', 'kept: bad clock'), time: Date.UTC(2009, 0, 1) });
    await database.write((tx) => logs.insertWithin(tx, aged, 'agent-internal'));
    expect(await logs.prune(NOW)).toEqual({ removed: 2, cutoff: NOW - 180 * DAY });
    expect((await logs.search()).map((l) => l.message).sort()).toEqual(['kept: 179 days', 'kept: bad clock']);
    expect((await logs.prune(NOW)).removed).toBe(0);

    const trap = (n: number, kind: EventRecord['kind'], node: string): EventRecord => ({
      time: NOW - n * 1000,
      node,
      sourceAddress: '10.0.0.1',
      kind,
      name: kind === 'trap' ? '1.3.6.1.6.3.1.1.5.3' : 'down',
      severity: 'error',
      detail: { ifIndex: String(n) },
    });
    await database.write((tx) => events.insertWithin(tx, [trap(5, 'trap', 'core-1'), trap(4, 'reachability', 'fw-1')], 'agent-internal', NOW - 200 * DAY));
    await database.write((tx) => events.insertWithin(tx, [trap(3, 'trap', 'fw-1'), trap(2, 'reachability', 'core-1')], 'agent-internal', NOW));
    expect((await events.list()).map((e) => e.detail.ifIndex)).toEqual(['2', '3', '4', '5']);
    expect((await events.list({ node: 'fw-1' })).map((e) => e.detail.ifIndex)).toEqual(['3', '4']);
    expect((await events.list({ kind: 'trap', from: NOW - 4000 })).map((e) => e.detail.ifIndex)).toEqual(['3']);
    expect(await events.prune(NOW)).toEqual({ removed: 2, cutoff: NOW - 180 * DAY });
    expect((await events.list()).map((e) => e.detail.ifIndex)).toEqual(['2', '3']);

    const shortLogs = new LogStore(database, { retentionDays: 1 });
    expect((await shortLogs.prune(NOW)).removed).toBe(1);
    expect(() => new LogStore(database, { retentionDays: 0 })).toThrow(/whole number of days/);
  });

  it('prunes in slices: more than one slice of old records goes, the new ones stay', async () => {
    const { database, logs } = await open();
    const old = Array.from({ length: 12_345 }, (_, i) => logRecord(i, 'core-1', 'debug', `old ${i}`, 200));
    const fresh = Array.from({ length: 10 }, (_, i) => logRecord(i, 'core-1', 'info', `new ${i}`, 1));
    await database.write((tx) => logs.insertWithin(tx, [...old, ...fresh], 'agent-internal'));
    expect((await logs.prune(NOW)).removed).toBe(12_345);
    expect((await logs.search({ limit: 10_000 })).map((l) => l.message).sort()).toEqual(fresh.map((l) => l.message).sort());
  });

  it('prunes logs in id order across windows: the old go, nothing newer than the cutoff goes, a late backlog waits for the rows before it', async () => {
    const { database, logs } = await open();
    const cutoff = NOW - 180 * DAY;
    // 12,000 expired rows (over two windows of 5,000 and into a third), then
    // 8,000 received 179 days ago (kept; they fill the rest of the third
    // window and all of the fourth), then an agent's backlog delivered late:
    // received 181 days ago (expired) but stored after them, at higher ids.
    const old = Array.from({ length: 12_000 }, (_, i) => receivedLog(cutoff - 20 * DAY + i, `old ${i}`));
    const recent = Array.from({ length: 8_000 }, (_, i) => receivedLog(cutoff + DAY + i, `recent ${i}`));
    const backlog = [receivedLog(cutoff - DAY, 'backlog 0'), receivedLog(cutoff - DAY + 1, 'backlog 1')];
    await database.write((tx) => logs.insertWithin(tx, [...old, ...recent, ...backlog], 'agent-internal'));

    expect(await pruneKeepingFresh(database, logs, NOW)).toBe(12_000);
    // The walk stopped at the first window with nothing expired (8,000 recent
    // rows, from id 12,001): the backlog behind it is kept for now, not scanned for.
    const afterFirst = await allLogs(database);
    expect(afterFirst.map((r) => r.message)).toEqual([...recent, ...backlog].map((r) => r.message));
    expect(await pruneKeepingFresh(database, logs, NOW)).toBe(0);

    // Two days on, the recent rows (now 181 days old) expire and the backlog goes with them.
    expect(await pruneKeepingFresh(database, logs, NOW + 2 * DAY)).toBe(8_002);
    expect(await allLogs(database)).toEqual([]);
    expect(await logs.prune(NOW + 2 * DAY)).toEqual({ removed: 0, cutoff: NOW + 2 * DAY - 180 * DAY });
  });

  it('never deletes a late-delivered log before its time, in the same window as expired ones', async () => {
    const { database, logs } = await open();
    const cutoff = NOW - 180 * DAY;
    const rows = [
      receivedLog(cutoff - 3 * DAY, 'expired'),
      receivedLog(NOW - DAY, 'fresh'),
      // Late: stored after a fresh row, received earlier, but not yet 180 days ago.
      receivedLog(cutoff + 60_000, 'late, 179.99 days'),
      // Late and expired, in the same window as expired rows: goes now.
      receivedLog(cutoff - 1, 'late, expired'),
      receivedLog(cutoff, 'exactly at the cutoff'),
      receivedLog(NOW, 'newest'),
    ];
    await database.write((tx) => logs.insertWithin(tx, rows, 'agent-internal'));
    expect(await pruneKeepingFresh(database, logs, NOW)).toBe(2);
    expect((await allLogs(database)).map((r) => r.message)).toEqual(['fresh', 'late, 179.99 days', 'exactly at the cutoff', 'newest']);
    // A minute and a millisecond on, the late row and the one at the old cutoff go.
    expect(await pruneKeepingFresh(database, logs, NOW + 60_001)).toBe(2);
    expect((await allLogs(database)).map((r) => r.message)).toEqual(['fresh', 'newest']);
  });

  it('migration 0007 drops monitor_log_received (events keep theirs); a database migrated from 0006 keeps its logs and prunes them', async () => {
    const location = await engine.location();
    const database = keep(await openDatabase({ ...location, migrate: false }));
    const provider = {
      getMigrations: async (): Promise<Record<string, Migration>> => Object.fromEntries(Object.entries(migrations).map(([name, make]) => [name, make(database.dialect)])),
    };
    const upTo0006 = await new Migrator({ db: database.db, provider }).migrateTo('0006-backup-prune-counts');
    expect(upTo0006.error).toBeUndefined();
    expect(await indexNames(database, 'monitor_log')).toEqual(expect.arrayContaining(['monitor_log_node', 'monitor_log_received', 'monitor_log_time']));

    const logs = new LogStore(database);
    const cutoff = NOW - 180 * DAY;
    const stored = [receivedLog(cutoff - DAY, 'expired'), receivedLog(NOW - DAY, 'fresh'), receivedLog(cutoff - 1, 'expired too')];
    await database.write((tx) => logs.insertWithin(tx, stored, 'agent-internal'));

    expect((await migrateToLatest(database)).slice(0, 1)).toEqual(['0007-monitor-log-prune-by-id']);
    const logIndexes = await indexNames(database, 'monitor_log');
    expect(logIndexes).not.toContain('monitor_log_received');
    expect(logIndexes).toEqual(expect.arrayContaining(['monitor_log_node', 'monitor_log_time']));
    expect(await indexNames(database, 'monitor_event')).toEqual(expect.arrayContaining(['monitor_event_node', 'monitor_event_received', 'monitor_event_time']));

    expect((await logs.search()).map((l) => l.message)).toEqual(['fresh', 'expired too', 'expired']);
    expect(await pruneKeepingFresh(database, logs, NOW)).toBe(2);
    await database.write((tx) => logs.insertWithin(tx, [receivedLog(NOW, 'after 0007')], 'agent-internal'));
    expect((await logs.search()).map((l) => l.message)).toEqual(['after 0007', 'fresh']);
    await database.close();

    // Reopening migrates nothing more; a fresh database never has the index either.
    const reopened = keep(await openDatabase(location));
    expect(await migrateToLatest(reopened)).toEqual([]);
    expect(await indexNames(reopened, 'monitor_log')).not.toContain('monitor_log_received');
    const fresh = (await open()).database;
    expect(await indexNames(fresh, 'monitor_log')).not.toContain('monitor_log_received');
    expect(await indexNames(fresh, 'monitor_event')).toContain('monitor_event_received');
  });
});
