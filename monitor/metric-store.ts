// One query API over two metric backends: the embedded store (tables in the
// suite's own database) and InfluxDB 1.x. Both take the same points and
// answer the same questions the same way, so the status page, the alert
// rules and the tests do not care which one is configured.

import { EgovError } from '../core/index.js';
import { MEASUREMENT_TAGS, MEASUREMENTS, type MeasurementName, type MetricPoint } from './records.js';
import { metricPointProblem } from './schemas.js';

/** Exact matches on tag values; keys must be tags of the measurement. */
export type TagFilter = Readonly<Record<string, string>>;

export interface SeriesPoint {
  time: number;
  value: number;
}

/** One series (a tag set) of one field over a time range. */
export interface Series {
  tags: Record<string, string>;
  points: SeriesPoint[];
}

export interface MetricStore {
  readonly backend: 'embedded' | 'influxdb';
  /**
   * Stores the points; a point with the same measurement, tags and time as
   * one stored replaces its fields (as InfluxDB does). Points already older
   * than the retention are dropped and counted, on both backends (InfluxDB
   * refuses them; an agent's backlog must not be refused for ever).
   */
  write(points: readonly MetricPoint[]): Promise<WriteResult>;
  /** The newest point of each series of the measurement that matches the filter, ordered by tags. */
  latest(measurement: MeasurementName, tags?: TagFilter): Promise<MetricPoint[]>;
  /**
   * One field over [from, to) (epoch ms), per series, ordered by tags then
   * time. With `stepMs`, the mean over each step, buckets aligned to the
   * epoch and stamped with their start; empty buckets are left out.
   */
  series(measurement: MeasurementName, field: string, tags: TagFilter, from: number, to: number, stepMs?: number): Promise<Series[]>;
  /**
   * One or more fields over [from, to) per series in buckets of `stepMs` (aligned to
   * the epoch, stamped with their start, empty ones left out), each with its
   * mean, min and max: what graphs draw. The embedded store reads its
   * 5-minute or hourly rollups when the step is a multiple of theirs;
   * InfluxDB groups by time(). At most MAX_DOWNSAMPLE_SERIES series match.
   */
  downsample(measurement: MeasurementName, fields: string | readonly string[], tags: TagFilter, from: number, to: number, stepMs: number): Promise<Downsampled>;
  close(): Promise<void>;
}

/** A bucket of a downsampled series. */
export interface Bucket {
  time: number;
  mean: number;
  min: number;
  max: number;
}

export interface DownsampledSeries {
  tags: Record<string, string>;
  field: string;
  points: Bucket[];
}

export interface Downsampled {
  /** Where the buckets came from: raw points, or the embedded store's rollups (InfluxDB: always raw, grouped by time()). */
  source: 'raw' | '5m' | '1h';
  /** Per series (ordered by tags), each field asked for in the order asked; empty ones left out. */
  series: DownsampledSeries[];
}

/** A graph asks for a handful of series; more than this is refused, not cut. */
export const MAX_DOWNSAMPLE_SERIES = 64;

export function checkSeriesCount(count: number, measurement: string, tags: TagFilter): void {
  if (count > MAX_DOWNSAMPLE_SERIES) {
    throw new EgovError('bad-request', `${count} series of ${measurement} match ${JSON.stringify(tags)}: at most ${MAX_DOWNSAMPLE_SERIES} a query; name the interfaces (or storage entries) wanted`);
  }
}

/** Mean, min and max per bucket of `stepMs`, buckets aligned to the epoch (points in time order). */
export function bucketStats(points: readonly SeriesPoint[], stepMs: number): Bucket[] {
  const out: Bucket[] = [];
  let bucket = Number.NaN;
  let sum = 0;
  let count = 0;
  let min = Infinity;
  let max = -Infinity;
  const flush = () => {
    if (count) out.push({ time: bucket, mean: sum / count, min, max });
  };
  for (const point of points) {
    const start = Math.floor(point.time / stepMs) * stepMs;
    if (start !== bucket) {
      flush();
      bucket = start;
      sum = 0;
      count = 0;
      min = Infinity;
      max = -Infinity;
    }
    sum += point.value;
    count++;
    if (point.value < min) min = point.value;
    if (point.value > max) max = point.value;
  }
  flush();
  return out;
}

export interface WriteResult {
  written: number;
  /** Older than the retention: dropped. */
  expired: number;
}

/** `metrics.influx` in the config: InfluxDB 1.x replaces the embedded store. */
export interface InfluxOptions {
  /** http://host:8086 (https too). */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Created (or altered) as the database's default on start. Default egov_ops. */
  retentionPolicy?: string;
  /** Points per write request, 1-5000 (default 5000). */
  batchSize?: number;
}

export interface MetricsOptions {
  influx?: InfluxOptions;
  /** How long points are kept: InfluxDB's retention policy, or the embedded store's pruning. Default 90 days. */
  retentionDays?: number;
}

export const DEFAULT_METRIC_RETENTION_DAYS = 90;
const DAY_MS = 86_400_000;
/** Points this close to the retention edge are dropped too: InfluxDB's own clock decides, and it may run ahead of ours. */
const RETENTION_MARGIN_MS = 60_000;

/** Splits points into those inside the retention window and the count of those before it. */
export function withinRetention(points: readonly MetricPoint[], retentionDays: number, now: number): { kept: MetricPoint[]; expired: number } {
  const cutoff = now - retentionDays * DAY_MS + RETENTION_MARGIN_MS;
  const kept = points.filter((p) => p.time >= cutoff);
  return { kept, expired: points.length - kept.length };
}
export const MAX_INFLUX_BATCH = 5000;
/** A series query may ask for at most this many buckets per series. */
const MAX_BUCKETS = 100_000;

export function checkPoints(points: readonly MetricPoint[]): void {
  points.forEach((point, i) => {
    const problem = metricPointProblem(point);
    if (problem) throw new EgovError('bad-request', `point ${i}: ${problem}`);
  });
}

export function checkMeasurement(measurement: string): MeasurementName {
  if (measurement in MEASUREMENTS) return measurement as MeasurementName;
  throw new EgovError('bad-request', `measurement must be one of ${Object.keys(MEASUREMENTS).join(', ')} (got ${JSON.stringify(measurement)})`);
}

export function checkTagFilter(measurement: MeasurementName, tags: TagFilter): void {
  const allowed: readonly string[] = MEASUREMENT_TAGS[measurement];
  for (const [key, value] of Object.entries(tags)) {
    if (!allowed.includes(key)) throw new EgovError('bad-request', `tag ${key} is not a tag of ${measurement} (its tags: ${allowed.join(', ')})`);
    if (typeof value !== 'string' || value === '') throw new EgovError('bad-request', `tag ${key} must be a non-empty value`);
  }
}

export function checkSeriesQuery(measurement: MeasurementName, field: string, tags: TagFilter, from: number, to: number, stepMs?: number): void {
  const fields: readonly string[] = MEASUREMENTS[measurement].fields;
  if (!fields.includes(field)) throw new EgovError('bad-request', `field must be one of ${measurement}'s fields: ${fields.join(', ')} (got ${JSON.stringify(field)})`);
  checkTagFilter(measurement, tags);
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from >= to) throw new EgovError('bad-request', `from must be before to (epoch milliseconds; got ${from} and ${to})`);
  if (stepMs !== undefined) {
    if (!Number.isSafeInteger(stepMs) || stepMs < 1000) throw new EgovError('bad-request', `step must be at least 1000 ms (got ${stepMs})`);
    if ((to - from) / stepMs > MAX_BUCKETS) throw new EgovError('bad-request', `step ${stepMs} ms gives more than ${MAX_BUCKETS} buckets over that range; take a larger step`);
  }
}

/** Canonical identity of a tag set: keys sorted, as JSON. */
export function seriesKey(tags: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export function matchesTags(tags: Readonly<Record<string, string>>, filter: TagFilter): boolean {
  for (const key in filter) if (tags[key] !== filter[key]) return false;
  return true;
}

export const byTags = (a: { tags: Record<string, string> }, b: { tags: Record<string, string> }) => {
  const x = seriesKey(a.tags);
  const y = seriesKey(b.tags);
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Mean per bucket of `stepMs`, buckets aligned to the epoch (InfluxDB's GROUP BY time()). */
export function bucketMeans(points: readonly SeriesPoint[], stepMs: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  let bucket = Number.NaN;
  let sum = 0;
  let count = 0;
  for (const point of points) {
    const start = Math.floor(point.time / stepMs) * stepMs;
    if (start !== bucket) {
      if (count) out.push({ time: bucket, value: sum / count });
      bucket = start;
      sum = 0;
      count = 0;
    }
    sum += point.value;
    count++;
  }
  if (count) out.push({ time: bucket, value: sum / count });
  return out;
}
