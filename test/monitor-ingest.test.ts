// Ingest: delivered at least once, stored exactly once, on the embedded
// store (one transaction with the logs, events and mark) and on a real
// influxd (metrics first, idempotent). Rejects are counted, logged, explained.

import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, EgovError, openDatabase, secretBoxFromKey, type Database } from '../core/index.js';
import { MEASUREMENT_NAMES, openMonitor, type Monitor, type OutboxItem } from '../monitor/index.js';
import { useInfluxd } from './support/influxd-suite.js';

const { influxd, tempDataDir, keep } = useInfluxd();

const T0 = Math.floor((Date.now() - 86_400_000) / 60_000) * 60_000;

function metric(seq: number): OutboxItem {
  return { seq, kind: 'metric', record: { measurement: 'interface', tags: { node: 'core-1', ifIndex: '1', ifName: 'Gi0/0/1' }, fields: { inBitsPerSec: seq * 1000, operStatus: 1 }, time: T0 + seq * 1000 } };
}
function log(seq: number): OutboxItem {
  return {
    seq,
    kind: 'log',
    record: {
      time: T0 + seq * 1000,
      receivedAt: T0 + seq * 1000 + 5,
      node: 'core-1',
      sourceAddress: '10.0.0.1',
      facility: 23,
      severity: 'warning',
      host: 'core-1',
      app: 'IFNET',
      procId: null,
      msgId: 'LINK',
      message: `interface flap ${seq}`,
      structuredData: { 'origin@2021': { ip: '10.0.0.1' } },
      format: 'rfc5424',
      transport: 'tls',
    },
  };
}
function event(seq: number): OutboxItem {
  return { seq, kind: 'event', record: { time: T0 + seq * 1000, node: 'core-1', sourceAddress: '10.0.0.1', kind: 'trap', name: '1.3.6.1.6.3.1.1.5.3', severity: 'error', detail: { ifIndex: '1', ifHCInOctets: '18446744073709551615' } } };
}
/** Seqs from..to, cycling metric, log, event. */
const batch = (from: number, to: number): OutboxItem[] => Array.from({ length: to - from + 1 }, (_, i) => [metric, log, event][(from + i) % 3]!(from + i));

class Captured extends Writable {
  lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    for (const line of chunk.toString().split('\n').filter(Boolean)) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

let influxDatabases = 0;
const backends = [
  { name: 'embedded store (one transaction)', influx: false },
  { name: 'influxdb (metrics first, idempotent)', influx: true },
];

describe.each(backends)('ingest with $name', (backend) => {
  const open = async () => {
    const dataDir = tempDataDir('monitor-ingest');
    const database = await openDatabase({ dataDir });
    keep(database);
    const captured = new Captured();
    const monitor = await openMonitor({
      database,
      secrets: secretBoxFromKey(randomBytes(32)),
      logger: createLogger('warn', captured),
      ...(backend.influx ? { metrics: { influx: { url: influxd.url, database: `egov_ingest_${++influxDatabases}` } } } : {}),
    });
    return { monitor, captured };
  };

  async function stored(monitor: Monitor) {
    const series = await monitor.metrics.series('interface', 'inBitsPerSec', { node: 'core-1' }, T0, T0 + 3_600_000);
    return {
      points: series.flatMap((s) => s.points),
      logs: (await monitor.logs.search({ limit: 10_000 })).map((l) => l.message).sort(),
      events: (await monitor.events.list({ limit: 10_000 })).length,
    };
  }

  it('stores a delivery once; a re-delivery, whole or overlapping, adds nothing twice', async () => {
    const { monitor } = await open();
    const first = await monitor.ingestor.accept('agent-internal', batch(1, 30));
    expect(first).toEqual({ accepted: 30, duplicates: 0, rejected: [], expired: 0, highWater: 30 });
    const once = await stored(monitor);
    expect(once.points).toHaveLength(10);
    expect(once.logs).toHaveLength(10);
    expect(once.events).toBe(10);

    expect(await monitor.ingestor.accept('agent-internal', batch(1, 30))).toEqual({ accepted: 0, duplicates: 30, rejected: [], expired: 0, highWater: 30 });
    expect(await stored(monitor)).toEqual(once);

    // The agent lost our answer halfway: it re-sends from 21 and adds 31..45.
    expect(await monitor.ingestor.accept('agent-internal', batch(21, 45))).toEqual({ accepted: 15, duplicates: 10, rejected: [], expired: 0, highWater: 45 });
    const after = await stored(monitor);
    expect(after.points).toHaveLength(15);
    expect(after.logs).toHaveLength(15);
    expect(after.events).toBe(15);
    expect(new Set(after.logs).size).toBe(15);

    // Another agent has its own sequence.
    expect((await monitor.ingestor.accept('agent-external', batch(1, 3))).accepted).toBe(3);
    // Log items are the seqs 1, 4, 7 … : "flap 1" matches 1, 10, 13, 16 and 19 of one agent and 1 of the other.
    const logs = await monitor.logs.search({ text: 'flap 1' });
    expect(logs.map((l) => `${l.agent} ${l.message}`).sort()).toEqual([
      'agent-external interface flap 1',
      'agent-internal interface flap 1',
      'agent-internal interface flap 10',
      'agent-internal interface flap 13',
      'agent-internal interface flap 16',
      'agent-internal interface flap 19',
    ]);
  });

  it('two deliveries of the same items at once store them once', async () => {
    const { monitor } = await open();
    const items: unknown[] = [...batch(1, 60), { seq: 61, kind: 'log', record: { ...log(61).record, facility: 99 } }];
    const results = await Promise.all([monitor.ingestor.accept('agent-a', items), monitor.ingestor.accept('agent-a', items)]);
    expect(results.map((r) => r.accepted).sort()).toEqual([0, 60]);
    expect(results.map((r) => r.duplicates).sort()).toEqual([0, 61]);
    expect(results.map((r) => r.rejected.length).sort()).toEqual([0, 1]);
    expect(await monitor.ingestor.agents()).toMatchObject([{ agent: 'agent-a', highWater: 61, accepted: 60, rejected: 1, duplicates: 61 }]);
    const now = await stored(monitor);
    expect(now.points).toHaveLength(20);
    expect(now.logs).toHaveLength(20);
    expect(now.events).toBe(20);
  });

  it('rejects invalid items with the field that is wrong, counts and logs them, and stores the rest', async () => {
    const { monitor, captured } = await open();
    const bad: unknown[] = [
      metric(1),
      { seq: 2, kind: 'metric', record: { ...metric(2).record, measurement: 'disk' } },
      { seq: 3, kind: 'metric', record: { ...metric(3).record, fields: { inBitsPerSec: 1, temperature: 40 } } },
      { seq: 4, kind: 'log', record: { ...log(4).record, severity: 'loud' } },
      { seq: 5, kind: 'event', record: { ...event(5).record, node: 'bad node name' } },
      { kind: 'log', record: log(6).record },
      { seq: 7, kind: 'metric', record: { ...metric(7).record, tags: { node: 'core-1' } } },
      { seq: 8, kind: 'alarm', record: {} },
      log(9),
    ];
    const result = await monitor.ingestor.accept('agent-dmz', bad);
    expect(result.accepted).toBe(2);
    expect(result.highWater).toBe(9);
    expect(result.rejected.map((r) => [r.index, r.seq])).toEqual([[1, 2], [2, 3], [3, 4], [4, 5], [5, null], [6, 7], [7, 8]]);
    const reasons = result.rejected.map((r) => r.reason);
    expect(reasons[0]).toBe(`record.measurement: expected one of ${MEASUREMENT_NAMES.join(', ')} (got "disk")`);
    expect(reasons[1]).toMatch(/^record\.fields/);
    expect(reasons[2]).toMatch(/^record\.severity/);
    expect(reasons[3]).toMatch(/^record\.node/);
    expect(reasons[4]).toBe('seq: expected a non-negative integer (got undefined)');
    expect(reasons[5]).toMatch(/^record\.tags/);
    expect(reasons[6]).toBe('kind: expected metric, log or event (got "alarm")');

    // A rejected item sent again is a re-delivery, not a second reject.
    const again = await monitor.ingestor.accept('agent-dmz', bad.slice(0, 5));
    expect(again).toMatchObject({ accepted: 0, duplicates: 5, rejected: [] });

    const [agent] = await monitor.ingestor.agents();
    expect(agent).toMatchObject({ agent: 'agent-dmz', highWater: 9, accepted: 2, rejected: 7, duplicates: 5, lastRejectReason: reasons[6] });
    await new Promise((resolve) => setImmediate(resolve));
    const warnings = captured.lines.filter((l) => l.msg === 'ingest rejected an item');
    expect(warnings.map((w) => [w.agent, w.seq, w.reason])).toEqual(result.rejected.map((r) => ['agent-dmz', r.seq, r.reason]));
    expect(await stored(monitor)).toMatchObject({ points: [{ time: T0 + 1000, value: 1000 }], logs: ['interface flap 9'] });
  });

  it('refuses a delivery it cannot take at all', async () => {
    const { monitor } = await open();
    await expect(monitor.ingestor.accept('bad\nagent', [])).rejects.toThrow(/^agent name must be/);
    await expect(monitor.ingestor.accept(' padded', [])).rejects.toThrow(/^agent name must be/);
    await expect(monitor.ingestor.accept('agent-a', batch(1, 50_001))).rejects.toThrow(EgovError);
    expect(await monitor.ingestor.agents()).toEqual([]);
  });
});
