// Log search and events on both engines: by node, severity at or above,
// time range, text (case-insensitive, wildcards literal), paging; retention
// pruning at 180 days by default, counted from when a record was received.

import { describe, expect, it } from 'vitest';
import { EgovError, openDatabase, type Database } from '../core/index.js';
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
});
