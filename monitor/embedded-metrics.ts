// The embedded metric store: two tables in the suite's own database. A
// series row per (measurement, tags); a point row per sample, keyed by
// (series, time), its fields packed as float64s in the measurement's field
// order (13 interface fields are 104 bytes, not 13 rows). Writes go in one
// transaction per call, statements prepared once; queries read one series'
// time range off the primary key.

import type { Database, WriteTx } from '../core/index.js';
import { runReusable } from '../core/index.js';
import { MEASUREMENT_TAGS, MEASUREMENTS, type MeasurementName, type MetricPoint } from './records.js';
import { DEFAULT_ROLLUP_RETENTION_DAYS, FIVE_MINUTES_MS, MetricRollups, mergeStats, ONE_HOUR_MS, statsAt, type FieldStats, type RollupRunResult, type RollupStep } from './rollups.js';
import {
  bucketMeans,
  bucketStats,
  byTags,
  checkSeriesCount,
  type Bucket,
  type Downsampled,
  type DownsampledSeries,
  checkMeasurement,
  checkPoints,
  checkSeriesQuery,
  checkTagFilter,
  DEFAULT_METRIC_RETENTION_DAYS,
  matchesTags,
  seriesKey,
  type MetricStore,
  type Series,
  type SeriesPoint,
  type TagFilter,
  type WriteResult,
  withinRetention,
} from './metric-store.js';

const DAY_MS = 86_400_000;
/** PostgreSQL: rows per multi-row INSERT (3 parameters each, well under the 65535 limit). */
const PG_INSERT_ROWS = 2000;

export interface EmbeddedMetricOptions {
  retentionDays?: number;
  /** Days the 5-minute and hourly rollups are kept (defaults 400 and 1830; never less than the raw points). */
  rollupRetentionDays?: Partial<Record<RollupStep, number>>;
  /** Epoch ms; for tests. */
  now?: () => number;
}

/** Points whose series rows exist: ready to go into a write transaction. */
export interface PreparedPoints {
  readonly rows: ReadonlyArray<{ seriesId: number; time: number; fields: Buffer }>;
  /** Points dropped as older than the retention. */
  readonly expired: number;
}

/** The cache's key for a series: the tag values in MEASUREMENT_TAGS order (points carry exactly those tags), cheaper than canonical JSON. */
function cacheKey(measurement: string, tags: Readonly<Record<string, string>>): string {
  let key = measurement;
  for (const tag of MEASUREMENT_TAGS[measurement as MeasurementName] ?? []) key += '\0' + (tags[tag] ?? '');
  return key;
}

function packFields(measurement: MeasurementName, fields: Readonly<Record<string, number>>): Buffer {
  const names = MEASUREMENTS[measurement].fields;
  const packed = Buffer.allocUnsafe(names.length * 8);
  names.forEach((name, i) => packed.writeDoubleLE(fields[name] ?? Number.NaN, i * 8));
  return packed;
}

function unpackFields(measurement: MeasurementName, packed: Uint8Array): Record<string, number> {
  const names = MEASUREMENTS[measurement].fields;
  const buffer = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const fields: Record<string, number> = {};
  names.forEach((name, i) => {
    if (i * 8 + 8 > buffer.length) return;
    const value = buffer.readDoubleLE(i * 8);
    if (!Number.isNaN(value)) fields[name] = value;
  });
  return fields;
}

function fieldAt(measurement: MeasurementName, packed: Uint8Array, field: string): number {
  return valueAt(packed, (MEASUREMENTS[measurement].fields as readonly string[]).indexOf(field));
}

/** The float64 at field position `index` of a packed point; NaN when absent. */
function valueAt(packed: Uint8Array, index: number): number {
  if (index < 0 || (index + 1) * 8 > packed.byteLength) return Number.NaN;
  return Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).readDoubleLE(index * 8);
}

export class EmbeddedMetricStore implements MetricStore {
  readonly backend = 'embedded' as const;
  readonly retentionDays: number;
  readonly rollupRetentionDays: Record<RollupStep, number>;
  readonly rollups: MetricRollups;
  private readonly now: () => number;
  /** cacheKey -> series id; ids never change, so the cache never goes stale. */
  private readonly seriesCache = new Map<string, number>();
  private loaded: Promise<void> | undefined;

  constructor(
    readonly database: Database,
    options: EmbeddedMetricOptions = {},
  ) {
    this.retentionDays = options.retentionDays ?? DEFAULT_METRIC_RETENTION_DAYS;
    const keep = (step: RollupStep) => Math.max(this.retentionDays, options.rollupRetentionDays?.[step] ?? DEFAULT_ROLLUP_RETENTION_DAYS[step]);
    this.rollupRetentionDays = { [FIVE_MINUTES_MS]: keep(FIVE_MINUTES_MS), [ONE_HOUR_MS]: keep(ONE_HOUR_MS) };
    this.rollups = new MetricRollups(database);
    this.now = options.now ?? Date.now;
  }

  private loadSeries(): Promise<void> {
    return (this.loaded ??= (async () => {
      const rows = await this.database.db.selectFrom('monitor_metric_series').select(['id', 'measurement', 'tags']).execute();
      for (const row of rows) this.seriesCache.set(cacheKey(row.measurement, JSON.parse(row.tags) as Record<string, string>), Number(row.id));
    })());
  }

  /**
   * Makes sure every point's series exists, in a write of its own: a series
   * row is harmless if the points' transaction then rolls back, and so the
   * cache only ever holds committed ids.
   */
  async prepare(all: readonly MetricPoint[]): Promise<PreparedPoints> {
    checkPoints(all);
    const { kept: points, expired } = withinRetention(all, this.retentionDays, this.now());
    await this.loadSeries();
    const missing = new Map<string, { measurement: string; node: string; tags: string }>();
    const keys = points.map((point) => cacheKey(point.measurement, point.tags));
    points.forEach((point, i) => {
      const key = keys[i]!;
      if (!this.seriesCache.has(key) && !missing.has(key)) missing.set(key, { measurement: point.measurement, node: point.tags.node ?? '', tags: seriesKey(point.tags) });
    });
    if (missing.size) await this.createSeries([...missing.values()]);
    return {
      expired,
      rows: points.map((point, i) => ({ seriesId: this.seriesCache.get(keys[i]!)!, time: point.time, fields: packFields(point.measurement, point.fields) })),
    };
  }

  private async createSeries(series: Array<{ measurement: string; node: string; tags: string }>): Promise<void> {
    const created = await this.database.write(async (tx) => {
      for (let i = 0; i < series.length; i += 500) {
        await tx
          .insertInto('monitor_metric_series')
          .values(series.slice(i, i + 500))
          .onConflict((oc) => oc.columns(['measurement', 'tags']).doNothing())
          .execute();
      }
      // Another process may have made some of them: read every id back.
      const measurements = [...new Set(series.map((s) => s.measurement))];
      const found: Array<{ id: number; measurement: string; tags: string }> = [];
      for (let i = 0; i < series.length; i += 500) {
        const tagSets = [...new Set(series.slice(i, i + 500).map((s) => s.tags))];
        found.push(...(await tx.selectFrom('monitor_metric_series').select(['id', 'measurement', 'tags']).where('measurement', 'in', measurements).where('tags', 'in', tagSets).execute()));
      }
      return found;
    });
    for (const row of created) this.seriesCache.set(cacheKey(row.measurement, JSON.parse(row.tags) as Record<string, string>), Number(row.id));
  }

  /** Inserts prepared points inside the caller's write transaction (ingest stores them with the logs, events and high-water mark). */
  async writePrepared(tx: WriteTx, prepared: PreparedPoints): Promise<void> {
    if (this.database.dialect === 'sqlite') {
      // One prepared statement, run per row on the locked connection: faster than building multi-row SQL.
      for (const row of prepared.rows) {
        const values = { series_id: row.seriesId, time: row.time, fields: row.fields };
        await runReusable(
          tx,
          'monitor_metric_point.upsert',
          () =>
            tx
              .insertInto('monitor_metric_point')
              .values(values)
              .onConflict((oc) => oc.columns(['series_id', 'time']).doUpdateSet((eb) => ({ fields: eb.ref('excluded.fields') }))),
          [row.seriesId, row.time, row.fields],
        );
      }
      return;
    }
    // PostgreSQL: a round trip per row would dominate, so multi-row inserts;
    // one statement may not touch a row twice, so the last of duplicates wins.
    const unique = new Map<string, PreparedPoints['rows'][number]>();
    for (const row of prepared.rows) unique.set(`${row.seriesId}:${row.time}`, row);
    const rows = [...unique.values()];
    for (let i = 0; i < rows.length; i += PG_INSERT_ROWS) {
      await tx
        .insertInto('monitor_metric_point')
        .values(rows.slice(i, i + PG_INSERT_ROWS).map((r) => ({ series_id: r.seriesId, time: r.time, fields: r.fields })))
        .onConflict((oc) => oc.columns(['series_id', 'time']).doUpdateSet((eb) => ({ fields: eb.ref('excluded.fields') })))
        .execute();
    }
  }

  async write(points: readonly MetricPoint[]): Promise<WriteResult> {
    const prepared = await this.prepare(points);
    if (prepared.rows.length) await this.database.write((tx) => this.writePrepared(tx, prepared));
    return { written: prepared.rows.length, expired: prepared.expired };
  }

  private async matchingSeries(measurement: MeasurementName, tags: TagFilter): Promise<Array<{ id: number; tags: Record<string, string> }>> {
    let query = this.database.db.selectFrom('monitor_metric_series').select(['id', 'tags']).where('measurement', '=', measurement);
    if (tags.node) query = query.where('node', '=', tags.node);
    const rows = await query.execute();
    return rows
      .map((row) => ({ id: Number(row.id), tags: JSON.parse(row.tags) as Record<string, string> }))
      .filter((s) => matchesTags(s.tags, tags));
  }

  async latest(measurement: MeasurementName, tags: TagFilter = {}): Promise<MetricPoint[]> {
    checkMeasurement(measurement);
    checkTagFilter(measurement, tags);
    let query = this.database.db
      .selectFrom('monitor_metric_series as s')
      .innerJoin('monitor_metric_point as p', 'p.series_id', 's.id')
      .select(['s.tags', 'p.time', 'p.fields'])
      .where('s.measurement', '=', measurement)
      .where('p.time', '=', (eb) => eb.selectFrom('monitor_metric_point as q').select((q) => q.fn.max('q.time').as('t')).whereRef('q.series_id', '=', 's.id'));
    if (tags.node) query = query.where('s.node', '=', tags.node);
    const rows = await query.execute();
    return rows
      .map((row) => ({ measurement, tags: JSON.parse(row.tags) as Record<string, string>, fields: unpackFields(measurement, row.fields), time: Number(row.time) }))
      .filter((point) => matchesTags(point.tags, tags))
      .sort(byTags);
  }

  async series(measurement: MeasurementName, field: string, tags: TagFilter, from: number, to: number, stepMs?: number): Promise<Series[]> {
    checkMeasurement(measurement);
    checkSeriesQuery(measurement, field, tags, from, to, stepMs);
    const matching = (await this.matchingSeries(measurement, tags)).sort(byTags);
    const pointsById = new Map<number, SeriesPoint[]>(matching.map((m) => [m.id, []]));
    // A few hundred series a query, read off the (series, time) index in order.
    for (let i = 0; i < matching.length; i += 500) {
      const rows = await this.database.db
        .selectFrom('monitor_metric_point')
        .select(['series_id', 'time', 'fields'])
        .where('series_id', 'in', matching.slice(i, i + 500).map((m) => m.id))
        .where('time', '>=', from)
        .where('time', '<', to)
        .orderBy('series_id')
        .orderBy('time')
        .execute();
      for (const row of rows) {
        const value = fieldAt(measurement, row.fields, field);
        if (!Number.isNaN(value)) pointsById.get(Number(row.series_id))!.push({ time: Number(row.time), value });
      }
    }
    return matching
      .map((m) => ({ tags: m.tags, points: pointsById.get(m.id)! }))
      .filter((s) => s.points.length > 0)
      .map((s) => (stepMs ? { tags: s.tags, points: bucketMeans(s.points, stepMs) } : s));
  }

  async downsample(measurement: MeasurementName, fieldOrFields: string | readonly string[], tags: TagFilter, from: number, to: number, stepMs: number): Promise<Downsampled> {
    checkMeasurement(measurement);
    const fields = typeof fieldOrFields === 'string' ? [fieldOrFields] : [...fieldOrFields];
    for (const field of fields) checkSeriesQuery(measurement, field, tags, from, to, stepMs);
    const matching = (await this.matchingSeries(measurement, tags)).sort(byTags);
    checkSeriesCount(matching.length, measurement, tags);
    const indexes = fields.map((f) => (MEASUREMENTS[measurement].fields as readonly string[]).indexOf(f));
    // The coarsest rollup whose step divides the asked step; raw points otherwise.
    const rollup: RollupStep | null = stepMs % ONE_HOUR_MS === 0 ? ONE_HOUR_MS : stepMs % FIVE_MINUTES_MS === 0 ? FIVE_MINUTES_MS : null;
    const series: DownsampledSeries[] = [];
    for (const m of matching) {
      // One read of the series for every field asked: the rows hold them all.
      const perField = rollup ? await this.fromRollup(m.id, measurement, indexes, rollup, from, to, stepMs) : await this.fromRaw(m.id, measurement, indexes, from, to, stepMs);
      perField.forEach((points, k) => {
        if (points.length) series.push({ tags: m.tags, field: fields[k]!, points });
      });
    }
    return { source: rollup === ONE_HOUR_MS ? '1h' : rollup === FIVE_MINUTES_MS ? '5m' : 'raw', series };
  }

  private rawRows(id: number, from: number, to: number) {
    return this.database.db.selectFrom('monitor_metric_point').select(['time', 'fields']).where('series_id', '=', id).where('time', '>=', from).where('time', '<', to).orderBy('time').execute();
  }

  private async fromRaw(id: number, measurement: MeasurementName, indexes: readonly number[], from: number, to: number, stepMs: number): Promise<Bucket[][]> {
    const perField: SeriesPoint[][] = indexes.map(() => []);
    for (const row of await this.rawRows(id, from, to)) {
      indexes.forEach((index, k) => {
        const value = valueAt(row.fields, index);
        if (!Number.isNaN(value)) perField[k]!.push({ time: Number(row.time), value });
      });
    }
    return perField.map((points) => bucketStats(points, stepMs));
  }

  /**
   * Buckets from the rollup rows in range; what lies after the newest rollup
   * row (points the job has not reached yet) from raw points. The first and
   * last buckets are whole rollup buckets: a range does not cut one.
   */
  private async fromRollup(id: number, measurement: MeasurementName, indexes: readonly number[], rollup: RollupStep, from: number, to: number, stepMs: number): Promise<Bucket[][]> {
    const start = Math.floor(from / rollup) * rollup;
    const rows = await this.database.db.selectFrom('monitor_metric_rollup').select(['time', 'fields']).where('series_id', '=', id).where('step_ms', '=', rollup).where('time', '>=', start).where('time', '<', to).orderBy('time').execute();
    const buckets = indexes.map(() => new Map<number, FieldStats>());
    let covered = start;
    for (const row of rows) {
      const time = Number(row.time);
      covered = time + rollup;
      const bucket = Math.floor(time / stepMs) * stepMs;
      indexes.forEach((index, k) => {
        const stats = statsAt(row.fields, index);
        if (stats) buckets[k]!.set(bucket, mergeStats(buckets[k]!.get(bucket), stats));
      });
    }
    if (covered < to) {
      for (const row of await this.rawRows(id, covered, to)) {
        const bucket = Math.floor(Number(row.time) / stepMs) * stepMs;
        indexes.forEach((index, k) => {
          const value = valueAt(row.fields, index);
          if (!Number.isNaN(value)) buckets[k]!.set(bucket, mergeStats(buckets[k]!.get(bucket), { sum: value, count: 1, min: value, max: value }));
        });
      }
    }
    return buckets.map((map) => [...map.entries()].sort(([x], [y]) => x - y).map(([time, st]) => ({ time, mean: st.sum / st.count, min: st.min, max: st.max })));
  }

  /** Rolls up what was written since the last run (the `metrics.rollup` job in serve). */
  rollUp(signal?: AbortSignal): Promise<RollupRunResult> {
    return this.rollups.run(signal);
  }

  /** Deletes points older than the retention; a series at a time, off the primary key, so ingest is never held up long. */
  async prune(now: number = Date.now()): Promise<{ removedPoints: number; removedRollups: number; cutoff: number }> {
    const cutoff = now - this.retentionDays * DAY_MS;
    const ids = (await this.database.db.selectFrom('monitor_metric_series').select('id').execute()).map((r) => Number(r.id));
    let removedPoints = 0;
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      removedPoints += await this.database.write(async (tx) => {
        let removed = 0;
        for (const id of chunk) {
          const result = await tx.deleteFrom('monitor_metric_point').where('series_id', '=', id).where('time', '<', cutoff).executeTakeFirst();
          removed += Number(result.numDeletedRows);
        }
        return removed;
      });
    }
    const removedRollups = await this.rollups.prune(now, this.rollupRetentionDays);
    return { removedPoints, removedRollups, cutoff };
  }

  async close(): Promise<void> {
    // The database belongs to the suite; nothing of ours to release.
  }
}
