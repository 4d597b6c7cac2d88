// Downsampling on every backend (embedded on SQLite and PostgreSQL, a real
// influxd): the same buckets with mean, min and max; the embedded store's
// rollups made incrementally (only rows since the last run, late points
// included), read for long ranges, pruned by their own retention; and the
// graph API's answers and refusals.

import { describe, expect, it } from 'vitest';
import { EgovError, openDatabase } from '../core/index.js';
import {
  EmbeddedMetricStore,
  FIVE_MINUTES_MS,
  graphSeries,
  ONE_HOUR_MS,
  openMetricStore,
  parseGraphQuery,
  type MetricPoint,
  type MetricStore,
} from '../monitor/index.js';
import { useInfluxd } from './support/influxd-suite.js';
import { usePostgres } from './support/postgres.js';

const postgres = usePostgres();
const { influxd, tempDataDir, keep } = useInfluxd();
let influxDatabases = 0;

const embedded = [
  { name: 'embedded on sqlite', open: async () => keep(await openDatabase({ dataDir: tempDataDir('rollups') })) },
  { name: 'embedded on postgres', open: async () => keep(await openDatabase({ dataDir: '/nonexistent-not-used', url: await postgres.createDatabase('rollups') })) },
];
const backends: Array<{ name: string; open(): Promise<MetricStore> }> = [
  ...embedded.map((e) => ({ name: e.name, open: async () => openMetricStore(await e.open()) })),
  { name: 'influxdb', open: async () => openMetricStore(keep(await openDatabase({ dataDir: tempDataDir('unused') })), { influx: { url: influxd.url, database: `egov_rollup_${++influxDatabases}` } }) },
];

const MINUTE = 60_000;
// Three days ago on the hour: every step below divides it.
const T0 = Math.floor((Date.now() - 3 * 86_400_000) / ONE_HOUR_MS) * ONE_HOUR_MS;
const iface = (ifName: string) => ({ node: 'core-1', ifIndex: ifName.slice(-1), ifName });

/** Two hours of one-minute samples on two interfaces: inBitsPerSec = minute index (0..119), outBitsPerSec twice that. */
function twoHours(): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let i = 0; i < 120; i++) {
    for (const name of ['ge-0/0/1', 'ge-0/0/2']) points.push({ measurement: 'interface', tags: iface(name), fields: { inBitsPerSec: i, outBitsPerSec: 2 * i }, time: T0 + i * MINUTE });
  }
  return points;
}

describe.each(backends)('downsampling: $name', (backend) => {
  it('gives mean, min and max per aligned bucket, for raw steps and rollup steps alike', async () => {
    const store = await backend.open();
    await store.write(twoHours());
    if (store instanceof EmbeddedMetricStore) await store.rollUp();
    const tags = { node: 'core-1', ifName: 'ge-0/0/1' };
    // 2 minutes: raw points on every backend; 10 minutes and 1 hour: the embedded store's rollups.
    for (const stepMs of [2 * MINUTE, 10 * MINUTE, ONE_HOUR_MS]) {
      const result = await store.downsample('interface', 'inBitsPerSec', tags, T0, T0 + 2 * ONE_HOUR_MS, stepMs);
      expect(result.series).toHaveLength(1);
      const per = stepMs / MINUTE;
      expect(result.series[0]!.points).toHaveLength(120 / per);
      result.series[0]!.points.forEach((bucket, k) => {
        expect(bucket.time).toBe(T0 + k * stepMs);
        expect(bucket.min).toBe(k * per);
        expect(bucket.max).toBe(k * per + per - 1);
        expect(bucket.mean).toBeCloseTo(k * per + (per - 1) / 2, 9);
      });
    }
    // Several fields in one read: the same buckets as one field at a time.
    for (const stepMs of [2 * MINUTE, 15 * MINUTE]) {
      const both = await store.downsample('interface', ['inBitsPerSec', 'outBitsPerSec'], tags, T0, T0 + 2 * ONE_HOUR_MS, stepMs);
      expect(both.series.map((s) => s.field)).toEqual(['inBitsPerSec', 'outBitsPerSec']);
      expect(both.series[1]!.points).toEqual((await store.downsample('interface', 'outBitsPerSec', tags, T0, T0 + 2 * ONE_HOUR_MS, stepMs)).series[0]!.points);
    }
    if (store instanceof EmbeddedMetricStore) {
      expect((await store.downsample('interface', 'inBitsPerSec', tags, T0, T0 + ONE_HOUR_MS, 2 * MINUTE)).source).toBe('raw');
      expect((await store.downsample('interface', 'inBitsPerSec', tags, T0, T0 + ONE_HOUR_MS, 15 * MINUTE)).source).toBe('5m');
      expect((await store.downsample('interface', 'inBitsPerSec', tags, T0, T0 + ONE_HOUR_MS, ONE_HOUR_MS)).source).toBe('1h');
    }
  });

  it('refuses more series than a graph takes, with the reason', async () => {
    const store = await backend.open();
    const many: MetricPoint[] = [];
    for (let i = 0; i < 70; i++) many.push({ measurement: 'interface', tags: { node: 'big-switch', ifIndex: String(i), ifName: `port${i}` }, fields: { inBitsPerSec: i }, time: T0 });
    await store.write(many);
    const error = await store.downsample('interface', 'inBitsPerSec', { node: 'big-switch' }, T0, T0 + ONE_HOUR_MS, MINUTE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EgovError);
    expect((error as EgovError).code).toBe('bad-request');
    expect((error as EgovError).message).toMatch(/70 series of interface .* at most 64/);
  });
});

describe.each(embedded)('rollups: $name', (engine) => {
  it('rolls up only what arrived since the last run, recomputes the buckets late points fall in, and prunes by their own retention', async () => {
    const database = await engine.open();
    const store = new EmbeddedMetricStore(database, { retentionDays: 90 });
    await store.write(twoHours());
    const first = await store.rollUp();
    expect(first.rawRows).toBe(240);
    expect(first.fiveMinute).toBe(2 * 24);
    expect(first.hourly).toBe(2 * 2);
    // Nothing new: nothing read (PostgreSQL recomputes its lookback window again, harmlessly; see rollups.ts).
    const idle = await store.rollUp();
    expect(idle.rawRows).toBe(0);
    if (database.dialect === 'sqlite') expect(idle).toEqual({ rawRows: 0, fiveMinute: 0, hourly: 0 });
    // A late point inside the first bucket of ge-0/0/1 (an agent's backlog): that bucket and its hour only.
    await store.write([{ measurement: 'interface', tags: iface('ge-0/0/1'), fields: { inBitsPerSec: 1000 }, time: T0 + 30_000 }]);
    const late = await store.rollUp();
    expect(late.rawRows).toBe(1);
    if (database.dialect === 'sqlite') expect(late).toEqual({ rawRows: 1, fiveMinute: 1, hourly: 1 });
    const [bucket] = (await store.downsample('interface', 'inBitsPerSec', { node: 'core-1', ifName: 'ge-0/0/1' }, T0, T0 + FIVE_MINUTES_MS, FIVE_MINUTES_MS)).series[0]!.points;
    expect(bucket).toEqual({ time: T0, mean: (0 + 1 + 2 + 3 + 4 + 1000) / 6, min: 0, max: 1000 });
    // Points the job has not reached yet are read raw after the newest rollup row.
    await store.write([{ measurement: 'interface', tags: iface('ge-0/0/1'), fields: { inBitsPerSec: 7 }, time: T0 + 2 * ONE_HOUR_MS + MINUTE }]);
    const tail = await store.downsample('interface', 'inBitsPerSec', { node: 'core-1', ifName: 'ge-0/0/1' }, T0, T0 + 3 * ONE_HOUR_MS, ONE_HOUR_MS);
    expect(tail.series[0]!.points.map((p) => p.time)).toEqual([T0, T0 + ONE_HOUR_MS, T0 + 2 * ONE_HOUR_MS]);
    expect(tail.series[0]!.points[2]).toMatchObject({ mean: 7, min: 7, max: 7 });
    // Rollups outlive raw points: a prune at 100 days drops the raw rows, keeps the rollups.
    const pruned = await store.prune(T0 + 100 * 86_400_000);
    expect(pruned.removedPoints).toBe(242);
    expect(pruned.removedRollups).toBe(0);
    const after = await store.downsample('interface', 'outBitsPerSec', { node: 'core-1', ifName: 'ge-0/0/2' }, T0, T0 + 2 * ONE_HOUR_MS, ONE_HOUR_MS);
    expect(after.series[0]!.points.map((p) => p.max)).toEqual([118, 238]);
    const gone = await store.prune(T0 + 2000 * 86_400_000);
    // 48 five-minute and 4 hourly rows (the late point recomputed two of them; the tail point was never rolled up).
    expect(gone.removedRollups).toBe(2 * 24 + 4);
  });
});

describe('the graph API', () => {
  it('answers each range with at most about 1,000 points a series, and refuses bad input clearly', async () => {
    const database = await embedded[0]!.open();
    const store = new EmbeddedMetricStore(database);
    await store.write(twoHours());
    await store.rollUp();
    const now = T0 + 2 * ONE_HOUR_MS;
    for (const range of ['1h', '6h', '24h', '7d', '30d']) {
      const answer = await graphSeries(store, parseGraphQuery({ measurement: 'interface', range, fields: 'inBitsPerSec,outBitsPerSec', node: 'core-1', ifName: 'ge-0/0/1,ge-0/0/2' }, now));
      expect(answer.series).toHaveLength(4);
      expect((answer.to - answer.from) / answer.stepMs).toBeLessThanOrEqual(1008);
      for (const s of answer.series) expect(s.points.length).toBeGreaterThan(0);
    }
    const refusals: Array<[Record<string, string>, RegExp]> = [
      [{ measurement: 'interface', range: '2w', fields: 'inBitsPerSec', node: 'core-1' }, /range must be one of 1h, 6h, 24h, 7d, 30d/],
      [{ measurement: 'interface', range: '7d', fields: 'inBitsPerSec' }, /needs node/],
      [{ measurement: 'interface', range: '7d', fields: 'nope', node: 'core-1' }, /not a field of interface/],
      [{ measurement: 'widgets', range: '7d', fields: 'x', node: 'core-1' }, /measurement must be one of/],
      [{ measurement: 'interface', range: '7d', fields: 'inBitsPerSec', node: 'core-1', ifName: Array.from({ length: 10_000 }, (_, i) => `p${i}`).join(',') }, /at most 64 values/],
    ];
    for (const [query, message] of refusals) {
      expect(() => parseGraphQuery(query, now)).toThrow(message);
    }
  });
});
