// The metric store's one query API, with the same assertions on every
// backend: embedded on SQLite, embedded on PostgreSQL, and a real influxd.

import { beforeAll, describe, expect, it } from 'vitest';
import { EgovError, openDatabase, type Database } from '../core/index.js';
import { EmbeddedMetricStore, InfluxMetricStore, openMetricStore, type MetricPoint, type MetricStore } from '../monitor/index.js';
import { useInfluxd } from './support/influxd-suite.js';
import { usePostgres } from './support/postgres.js';

const postgres = usePostgres();
const { influxd, tempDataDir, keep } = useInfluxd();

let influxDatabases = 0;
const backends: Array<{ name: string; open(): Promise<MetricStore> }> = [
  {
    name: 'embedded on sqlite',
    async open() {
      const dataDir = tempDataDir('monitor-metrics');
      const database = await openDatabase({ dataDir });
      keep(database);
      return openMetricStore(database);
    },
  },
  {
    name: 'embedded on postgres',
    async open() {
      const database = await openDatabase({ dataDir: '/nonexistent-not-used', url: await postgres.createDatabase('metrics') });
      keep(database);
      return openMetricStore(database);
    },
  },
  {
    name: 'influxdb',
    async open() {
      const dataDir = tempDataDir('monitor-unused');
      const database = await openDatabase({ dataDir });
      keep(database);
      return openMetricStore(database, { influx: { url: influxd.url, database: `egov_test_${++influxDatabases}` } });
    },
  },
];

// Two days ago, on the hour (aligned to every step used below), well inside the retention.
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / 3_600_000) * 3_600_000;
const MINUTE = 60_000;

/** Two nodes' reachability every minute for 10 minutes, and two interfaces of one of them. */
function samples(): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let i = 0; i < 10; i++) {
    const time = T0 + i * MINUTE;
    points.push({ measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: 1 + i / 4 }, time });
    points.push({ measurement: 'system', tags: { node: 'town-a1' }, fields: { reachable: i < 7 ? 1 : 0, ...(i < 7 ? { rttMs: 20 + i } : {}) }, time });
    points.push({ measurement: 'interface', tags: { node: 'core-1', ifIndex: '1', ifName: 'GigabitEthernet0/0/1' }, fields: { inBitsPerSec: 1e6 * i, outBitsPerSec: 2e6 * i, operStatus: 1 }, time });
    // Tag values with a space, a quote, a comma and an equals sign: escaping on the way in and out.
    points.push({ measurement: 'interface', tags: { node: 'core-1', ifIndex: '2', ifName: `Eth 2/1 "it's", a=b` }, fields: { inBitsPerSec: 5e5, operStatus: i < 5 ? 1 : 2 }, time });
  }
  return points;
}

describe.each(backends)('metric store: $name', (backend) => {
  let store: MetricStore;
  beforeAll(async () => {
    store = await backend.open();
    await store.write(samples());
  });

  it('latest: the newest point of each matching series, all its fields', async () => {
    const latest = await store.latest('system');
    expect(latest).toEqual([
      { measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: 3.25 }, time: T0 + 9 * MINUTE },
      { measurement: 'system', tags: { node: 'town-a1' }, fields: { reachable: 0 }, time: T0 + 9 * MINUTE },
    ]);
    expect(await store.latest('system', { node: 'town-a1' })).toHaveLength(1);
    expect(await store.latest('system', { node: 'nowhere' })).toEqual([]);
    const quoted = await store.latest('interface', { node: 'core-1', ifName: `Eth 2/1 "it's", a=b` });
    expect(quoted).toEqual([{ measurement: 'interface', tags: { node: 'core-1', ifIndex: '2', ifName: `Eth 2/1 "it's", a=b` }, fields: { inBitsPerSec: 5e5, operStatus: 2 }, time: T0 + 9 * MINUTE }]);
    expect((await store.latest('interface', { ifIndex: '1' })).map((p) => p.fields.outBitsPerSec)).toEqual([18e6]);
    expect(await store.latest('host')).toEqual([]);
  });

  it('series: raw points of one field over [from, to), per series, in time order', async () => {
    const raw = await store.series('interface', 'inBitsPerSec', { node: 'core-1' }, T0 + 2 * MINUTE, T0 + 5 * MINUTE);
    expect(raw).toEqual([
      { tags: { node: 'core-1', ifIndex: '1', ifName: 'GigabitEthernet0/0/1' }, points: [2, 3, 4].map((i) => ({ time: T0 + i * MINUTE, value: 1e6 * i })) },
      { tags: { node: 'core-1', ifIndex: '2', ifName: `Eth 2/1 "it's", a=b` }, points: [2, 3, 4].map((i) => ({ time: T0 + i * MINUTE, value: 5e5 })) },
    ]);
    // Points without that field are left out, not returned as gaps.
    const rtt = await store.series('system', 'rttMs', { node: 'town-a1' }, T0, T0 + 10 * MINUTE);
    expect(rtt).toEqual([{ tags: { node: 'town-a1' }, points: [0, 1, 2, 3, 4, 5, 6].map((i) => ({ time: T0 + i * MINUTE, value: 20 + i })) }]);
    expect(await store.series('system', 'rttMs', { node: 'town-a1' }, T0 + 20 * MINUTE, T0 + 30 * MINUTE)).toEqual([]);
  });

  it('series with a step: the mean of each bucket, aligned to the epoch, empty buckets left out', async () => {
    const stepped = await store.series('system', 'reachable', { node: 'town-a1' }, T0, T0 + 10 * MINUTE, 5 * MINUTE);
    expect(stepped).toEqual([{ tags: { node: 'town-a1' }, points: [{ time: T0, value: 1 }, { time: T0 + 5 * MINUTE, value: 0.4 }] }]);
    const wide = await store.series('interface', 'inBitsPerSec', { ifIndex: '1' }, T0 - 60 * MINUTE, T0 + 60 * MINUTE, 30 * MINUTE);
    expect(wide).toEqual([{ tags: { node: 'core-1', ifIndex: '1', ifName: 'GigabitEthernet0/0/1' }, points: [{ time: T0, value: 4.5e6 }] }]);
  });

  it('a point written again at the same time replaces the stored one', async () => {
    const time = T0 + 3 * MINUTE;
    await store.write([{ measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: 99 }, time }]);
    const series = await store.series('system', 'rttMs', { node: 'core-1' }, time, time + 1);
    expect(series).toEqual([{ tags: { node: 'core-1' }, points: [{ time, value: 99 }] }]);
  });

  it('writes large deliveries (more than one InfluxDB batch) whole', async () => {
    const base = T0 + 24 * 60 * MINUTE;
    const points: MetricPoint[] = [];
    for (let i = 0; i < 12_001; i++) points.push({ measurement: 'host', tags: { node: `srv-${i % 3}` }, fields: { cpuLoadPct: i % 100, memoryUsedPct: 50 }, time: base + Math.floor(i / 3) * 1000 });
    expect(await store.write(points)).toEqual({ written: 12_001, expired: 0 });
    const series = await store.series('host', 'cpuLoadPct', {}, base, base + 86_400_000);
    expect(series.map((s) => [s.tags.node, s.points.length])).toEqual([
      ['srv-0', 4001],
      ['srv-1', 4000],
      ['srv-2', 4000],
    ]);
    expect(series[0]!.points.at(-1)).toEqual({ time: base + 4000 * 1000, value: 12_000 % 100 });
  });

  it('drops points older than the retention (90 days) and says how many', async () => {
    const old = Date.now() - 100 * 86_400_000;
    const result = await store.write([
      { measurement: 'system', tags: { node: 'old-1' }, fields: { reachable: 1, rttMs: 7 }, time: old },
      { measurement: 'system', tags: { node: 'old-1' }, fields: { reachable: 1, rttMs: 8 }, time: T0 + 30 * MINUTE },
    ]);
    expect(result).toEqual({ written: 1, expired: 1 });
    expect(await store.series('system', 'rttMs', { node: 'old-1' }, old - 1, Date.now())).toEqual([{ tags: { node: 'old-1' }, points: [{ time: T0 + 30 * MINUTE, value: 8 }] }]);
  });

  it('refuses what it cannot answer, naming the problem', async () => {
    const refusal = async (work: Promise<unknown>) => {
      const error = await work.then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(EgovError);
      return (error as EgovError).message;
    };
    expect(await refusal(store.series('system', 'cpuLoadPct', {}, T0, T0 + MINUTE))).toMatch(/^field must be one of system's fields: reachable, rttMs, sysUpTime/);
    expect(await refusal(store.series('system', 'reachable', { ifName: 'x' }, T0, T0 + MINUTE))).toMatch(/^tag ifName is not a tag of system/);
    expect(await refusal(store.series('system', 'reachable', {}, T0 + MINUTE, T0))).toMatch(/^from must be before to/);
    expect(await refusal(store.series('system', 'reachable', {}, T0, T0 + MINUTE, 10))).toMatch(/^step must be at least 1000 ms/);
    expect(await refusal(store.latest('disk' as never))).toMatch(/^measurement must be one of system, interface, host, storage/);
    expect(await refusal(store.write([{ measurement: 'system', tags: { node: 'x' }, fields: { reachable: Number.NaN }, time: T0 }]))).toMatch(/^point 0: record\.fields\.reachable/);
    expect(await refusal(store.write([{ measurement: 'system', tags: { node: 'x' }, fields: { temperature: 1 }, time: T0 }]))).toMatch(/^point 0: record\.fields/);
    expect(await refusal(store.write([{ measurement: 'system', tags: { node: 'x' }, fields: { reachable: 1 }, time: T0 / 1000 }]))).toMatch(/^point 0: record\.time/);
    // Nothing of a refused write was stored.
    expect(await store.latest('system', { node: 'x' })).toEqual([]);
  });
});

describe('retention', () => {
  it('the embedded store prunes points older than its retention', async () => {
    const dataDir = tempDataDir('monitor-prune');
    const database = await openDatabase({ dataDir });
    keep(database);
    const store = new EmbeddedMetricStore(database, { retentionDays: 30 });
    const now = T0 + 100 * 86_400_000;
    await store.write(
      [0, 29, 31, 60].map((daysAgo) => ({ measurement: 'system' as const, tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: daysAgo }, time: now - daysAgo * 86_400_000 })),
    );
    expect(await store.prune(now)).toEqual({ removedPoints: 2, removedRollups: 0, cutoff: now - 30 * 86_400_000 });
    const left = await store.series('system', 'rttMs', {}, now - 365 * 86_400_000, now + 1);
    expect(left[0]!.points.map((p) => p.value)).toEqual([29, 0]);
    expect(await store.prune(now)).toEqual({ removedPoints: 0, removedRollups: 0, cutoff: now - 30 * 86_400_000 });
  });

  it('InfluxDB: the database and a default retention policy are made on start, and a restart keeps them', async () => {
    const options = { url: influxd.url, database: 'egov_retention' };
    await InfluxMetricStore.open(options, 45);
    await InfluxMetricStore.open(options, 45);
    const response = await fetch(`${influxd.url}/query?q=${encodeURIComponent('SHOW RETENTION POLICIES ON "egov_retention"')}`);
    const body = (await response.json()) as { results: Array<{ series: Array<{ columns: string[]; values: unknown[][] }> }> };
    const { columns, values } = body.results[0]!.series[0]!;
    const policies = values.map((row) => Object.fromEntries(columns.map((c, i) => [c, row[i]])));
    expect(policies.find((p) => p.name === 'egov_ops')).toMatchObject({ duration: '1080h0m0s', default: true, replicaN: 1 });
  });

  it('InfluxDB unreachable: a clear error naming the URL', async () => {
    const error = await InfluxMetricStore.open({ url: 'http://127.0.0.1:1', database: 'x' }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('unavailable');
    expect((error as EgovError).message).toMatch(/^InfluxDB at http:\/\/127\.0\.0\.1:1: creating database x and retention policy egov_ops failed/);
  });
});
