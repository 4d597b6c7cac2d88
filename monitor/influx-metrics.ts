// The InfluxDB 1.x metric store, through the `influx` package. On start it
// creates the database and a retention policy (the database's default);
// writes go in batches of up to 5,000 points, millisecond precision; queries
// are InfluxQL over the measurement, field and tag names of MEASUREMENTS.

import { createRequire } from 'node:module';
import type { InfluxDB as InfluxClient, IPoint } from 'influx';
import { EgovError, redactUrlPassword as redact } from '../core/index.js';
import { MEASUREMENTS, type MeasurementName, type MetricPoint } from './records.js';
import {
  byTags,
  checkMeasurement,
  checkSeriesCount,
  type Downsampled,
  checkPoints,
  checkSeriesQuery,
  checkTagFilter,
  DEFAULT_METRIC_RETENTION_DAYS,
  MAX_INFLUX_BATCH,
  type InfluxOptions,
  type MetricStore,
  type Series,
  type SeriesPoint,
  type TagFilter,
  type WriteResult,
  withinRetention,
} from './metric-store.js';

// Loaded only when InfluxDB is configured.
const require = createRequire(import.meta.url);
type InfluxModule = typeof import('influx');
let influxModule: InfluxModule | undefined;
const loadInflux = (): InfluxModule => (influxModule ??= require('influx') as InfluxModule);

const DATABASE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

interface RawSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values: Array<Array<number | null>>;
}
interface RawResponse {
  results: Array<{ statement_id?: number; series?: RawSeries[]; error?: string }>;
}

/** Tags InfluxDB returns for GROUP BY *: keys the series lacks come back as "". */
function presentTags(tags: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(tags ?? {}).filter(([, v]) => v !== ''));
}

export class InfluxMetricStore implements MetricStore {
  readonly backend = 'influxdb' as const;

  private constructor(
    private readonly client: InfluxClient,
    private readonly options: Required<Pick<InfluxOptions, 'url' | 'database' | 'retentionPolicy' | 'batchSize'>> & { retentionDays: number },
    private readonly now: () => number = Date.now,
  ) {}

  /** Connects, then makes sure the database and its retention policy exist (idempotent: safe on every start). */
  static async open(options: InfluxOptions, retentionDays = DEFAULT_METRIC_RETENTION_DAYS, now: () => number = Date.now): Promise<InfluxMetricStore> {
    if (!DATABASE_NAME.test(options.database)) throw new EgovError('bad-config', `metrics.influx.database must be 1-63 letters, digits, _ . - (got ${JSON.stringify(options.database)})`);
    const retentionPolicy = options.retentionPolicy ?? 'egov_ops';
    if (!DATABASE_NAME.test(retentionPolicy)) throw new EgovError('bad-config', `metrics.influx.retentionPolicy must be 1-63 letters, digits, _ . - (got ${JSON.stringify(retentionPolicy)})`);
    const batchSize = options.batchSize ?? MAX_INFLUX_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_INFLUX_BATCH) throw new EgovError('bad-config', `metrics.influx.batchSize must be 1-${MAX_INFLUX_BATCH} (got ${batchSize})`);
    if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new EgovError('bad-config', `metrics.retentionDays must be a whole number of days, at least 1 (got ${retentionDays})`);
    let url: URL;
    try {
      url = new URL(options.url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    } catch {
      throw new EgovError('bad-config', `metrics.influx.url must be an http:// or https:// URL (got ${JSON.stringify(redact(options.url))})`);
    }
    const { InfluxDB } = loadInflux();
    const client = new InfluxDB({
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 8086,
      protocol: url.protocol === 'https:' ? 'https' : 'http',
      ...(url.pathname && url.pathname !== '/' ? { path: url.pathname.replace(/\/$/, '') } : {}),
      database: options.database,
      ...(options.username ? { username: options.username, password: options.password ?? '' } : {}),
      pool: { maxRetries: 1, requestTimeout: 30_000 },
    });
    const store = new InfluxMetricStore(client, { url: redact(options.url), database: options.database, retentionPolicy, batchSize, retentionDays }, now);
    await store.provision();
    return store;
  }

  private unavailable(what: string, error: unknown): EgovError {
    return new EgovError('unavailable', `InfluxDB at ${this.options.url}: ${what} failed: ${(error as Error).message}`);
  }

  private async provision(): Promise<void> {
    const { database, retentionPolicy, retentionDays } = this.options;
    try {
      await this.client.createDatabase(database);
      const policies = await this.client.showRetentionPolicies(database);
      const rp = { database, duration: `${retentionDays}d`, replication: 1, isDefault: true };
      if (policies.some((p) => p.name === retentionPolicy)) await this.client.alterRetentionPolicy(retentionPolicy, rp);
      else await this.client.createRetentionPolicy(retentionPolicy, rp);
    } catch (error) {
      throw this.unavailable(`creating database ${database} and retention policy ${retentionPolicy}`, error);
    }
  }

  async write(all: readonly MetricPoint[]): Promise<WriteResult> {
    checkPoints(all);
    const { kept: points, expired } = withinRetention(all, this.options.retentionDays, this.now());
    let dropped = 0;
    for (let i = 0; i < points.length; i += this.options.batchSize) {
      const batch: IPoint[] = points.slice(i, i + this.options.batchSize).map((p) => ({ measurement: p.measurement, tags: p.tags, fields: p.fields, timestamp: p.time }));
      try {
        await this.client.writePoints(batch, { precision: 'ms', retentionPolicy: this.options.retentionPolicy });
      } catch (error) {
        // InfluxDB stored the rest and says how many it dropped as too old (its clock ran ahead of ours).
        const beyond = /points beyond retention policy dropped=(\d+)/.exec((error as Error).message);
        if (beyond && !/unable to parse|field type conflict/.test((error as Error).message)) {
          dropped += Number(beyond[1]);
          continue;
        }
        throw this.unavailable(`writing ${batch.length} points`, error);
      }
    }
    return { written: points.length - dropped, expired: expired + dropped };
  }

  private from(measurement: MeasurementName): string {
    const { escape } = loadInflux();
    return `${escape.quoted(this.options.retentionPolicy)}.${escape.quoted(measurement)}`;
  }

  private where(tags: TagFilter, extra: string[] = []): string {
    const { escape } = loadInflux();
    const conditions = [...Object.entries(tags).map(([k, v]) => `${escape.quoted(k)} = ${escape.stringLit(v)}`), ...extra];
    return conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  }

  private async query(influxql: string): Promise<RawSeries[]> {
    let response: RawResponse;
    try {
      response = (await this.client.queryRaw(influxql, { precision: 'ms', database: this.options.database })) as RawResponse;
    } catch (error) {
      throw this.unavailable('a query', error);
    }
    const [result] = response.results;
    if (result?.error) throw new EgovError('internal', `InfluxDB refused the query ${influxql}: ${result.error}`);
    return result?.series ?? [];
  }

  async latest(measurement: MeasurementName, tags: TagFilter = {}): Promise<MetricPoint[]> {
    checkMeasurement(measurement);
    checkTagFilter(measurement, tags);
    const fields = MEASUREMENTS[measurement].fields.map((f) => loadInflux().escape.quoted(f)).join(', ');
    // One row per series: its newest point, every field as written then.
    const series = await this.query(`SELECT ${fields} FROM ${this.from(measurement)}${this.where(tags)} GROUP BY * ORDER BY time DESC LIMIT 1`);
    return series
      .flatMap((s) =>
        s.values.map((row): MetricPoint => {
          const point: MetricPoint = { measurement, tags: presentTags(s.tags), fields: {}, time: Number(row[0]) };
          s.columns.forEach((column, i) => {
            const value = row[i];
            if (i > 0 && typeof value === 'number') point.fields[column] = value;
          });
          return point;
        }),
      )
      .sort(byTags);
  }

  async series(measurement: MeasurementName, field: string, tags: TagFilter, from: number, to: number, stepMs?: number): Promise<Series[]> {
    checkMeasurement(measurement);
    checkSeriesQuery(measurement, field, tags, from, to, stepMs);
    const { escape } = loadInflux();
    const range = [`time >= ${from}ms`, `time < ${to}ms`];
    const select = stepMs ? `mean(${escape.quoted(field)})` : escape.quoted(field);
    const groupBy = stepMs ? `time(${stepMs}ms), * fill(none)` : '*';
    const series = await this.query(`SELECT ${select} FROM ${this.from(measurement)}${this.where(tags, range)} GROUP BY ${groupBy}`);
    return series
      .map((s) => ({
        tags: presentTags(s.tags),
        points: s.values.filter((row) => typeof row[1] === 'number').map((row): SeriesPoint => ({ time: Number(row[0]), value: row[1] as number })),
      }))
      .filter((s) => s.points.length > 0)
      .sort(byTags);
  }

  async downsample(measurement: MeasurementName, fieldOrFields: string | readonly string[], tags: TagFilter, from: number, to: number, stepMs: number): Promise<Downsampled> {
    checkMeasurement(measurement);
    const fields = typeof fieldOrFields === 'string' ? [fieldOrFields] : [...fieldOrFields];
    for (const field of fields) checkSeriesQuery(measurement, field, tags, from, to, stepMs);
    const { escape } = loadInflux();
    const range = [`time >= ${from}ms`, `time < ${to}ms`];
    // The series count first (SHOW SERIES reads the index, not the points): more than a graph can take is refused before the query runs.
    const keys = await this.query(`SHOW SERIES FROM ${escape.quoted(measurement)}${this.where(tags)}`);
    checkSeriesCount(keys[0]?.values.length ?? 0, measurement, tags);
    const select = fields.map((field) => ['mean', 'min', 'max'].map((fn) => `${fn}(${escape.quoted(field)})`).join(', ')).join(', ');
    const rows = await this.query(`SELECT ${select} FROM ${this.from(measurement)}${this.where(tags, range)} GROUP BY time(${stepMs}ms), * fill(none)`);
    const series = rows.map((s) => ({ ...s, tags: presentTags(s.tags) })).sort(byTags).flatMap((s) =>
      fields.map((field, k) => ({
        tags: s.tags,
        field,
        points: s.values.filter((row) => typeof row[1 + 3 * k] === 'number').map((row) => ({ time: Number(row[0]), mean: row[1 + 3 * k] as number, min: row[2 + 3 * k] as number, max: row[3 + 3 * k] as number })),
      })),
    );
    return { source: 'raw', series: series.filter((s) => s.points.length > 0) };
  }

  async close(): Promise<void> {
    // HTTP keep-alive sockets belong to node's global agent; nothing of ours stays open.
  }
}
