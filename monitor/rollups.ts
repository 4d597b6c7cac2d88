// Rollups of the embedded metric store: per series, 5-minute and 1-hour
// buckets holding each field's sum, count, min and max, kept longer than raw
// points. Long ranges read them instead of raw points (a 7-day series is
// 2,016 five-minute rows, not 10,080 raw ones; 30 days is 720 hourly rows).
//
// Incremental: the job reads only the raw rows inserted since its last run,
// in insertion order (SQLite's rowid, PostgreSQL's seq), notes which
// (series, bucket) pairs they touch, and recomputes just those buckets from
// the raw points of that series (read off the (series, time) index), then the
// hours above them from the 5-minute rows. A late point (an agent's backlog)
// is a new row like any other, so its bucket is recomputed too. The mark and
// the rows it covers are written in one transaction.

import { sql } from 'kysely';
import type { Database } from '../core/index.js';
import { MEASUREMENTS, type MeasurementName } from './records.js';

export const FIVE_MINUTES_MS = 300_000;
export const ONE_HOUR_MS = 3_600_000;
export const ROLLUP_STEPS = [FIVE_MINUTES_MS, ONE_HOUR_MS] as const;
export type RollupStep = (typeof ROLLUP_STEPS)[number];

/** How long each rollup is kept by default (raw points: metrics.retentionDays, 90 by default). */
export const DEFAULT_ROLLUP_RETENTION_DAYS: Record<RollupStep, number> = { [FIVE_MINUTES_MS]: 400, [ONE_HOUR_MS]: 1830 };

/** Raw rows read per batch of the job; a run goes on until it has caught up (or is aborted). */
const BATCH_ROWS = 500_000;
/**
 * PostgreSQL hands out seq values at insert, not at commit: a transaction
 * that commits after a later one may carry lower numbers. Each run looks
 * this far back again (recomputing a bucket twice is harmless).
 */
const PG_SEQ_LOOKBACK = 20_000;
const MARK = 'rollup.raw-position';

/** One field's aggregate in a bucket. */
export interface FieldStats {
  sum: number;
  count: number;
  min: number;
  max: number;
}

const SLOTS = 4;

export function packStats(measurement: MeasurementName, stats: ReadonlyArray<FieldStats | undefined>): Buffer {
  const names = MEASUREMENTS[measurement].fields;
  const buffer = Buffer.alloc(names.length * SLOTS * 8);
  names.forEach((_, i) => {
    const s = stats[i];
    const at = i * SLOTS * 8;
    buffer.writeDoubleLE(s ? s.sum : Number.NaN, at);
    buffer.writeDoubleLE(s ? s.count : 0, at + 8);
    buffer.writeDoubleLE(s ? s.min : Number.NaN, at + 16);
    buffer.writeDoubleLE(s ? s.max : Number.NaN, at + 24);
  });
  return buffer;
}

/** The stats of field `index` in a packed rollup row; undefined when the bucket has no value of it. */
export function statsAt(packed: Uint8Array, index: number): FieldStats | undefined {
  const at = index * SLOTS * 8;
  if (index < 0 || at + SLOTS * 8 > packed.byteLength) return undefined;
  const buffer = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const count = buffer.readDoubleLE(at + 8);
  if (!(count > 0)) return undefined;
  return { sum: buffer.readDoubleLE(at), count, min: buffer.readDoubleLE(at + 16), max: buffer.readDoubleLE(at + 24) };
}

export function mergeStats(into: FieldStats | undefined, add: FieldStats): FieldStats {
  if (!into) return { ...add };
  into.sum += add.sum;
  into.count += add.count;
  if (add.min < into.min) into.min = add.min;
  if (add.max > into.max) into.max = add.max;
  return into;
}

const single = (value: number): FieldStats => ({ sum: value, count: 1, min: value, max: value });

/** Reads every packed float64 field of a raw point (NaN where absent). */
function rawValues(measurement: MeasurementName, packed: Uint8Array): number[] {
  const n = MEASUREMENTS[measurement].fields.length;
  const buffer = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const values: number[] = [];
  for (let i = 0; i < n; i++) values.push(i * 8 + 8 <= buffer.length ? buffer.readDoubleLE(i * 8) : Number.NaN);
  return values;
}

export interface RollupRunResult {
  /** Raw rows new since the last run (PostgreSQL also re-reads the lookback window; those are not counted). */
  rawRows: number;
  /** Buckets recomputed, per step. */
  fiveMinute: number;
  hourly: number;
}

export class MetricRollups {
  private readonly measurementOf = new Map<number, MeasurementName>();

  constructor(private readonly database: Database) {}

  private position() {
    return sql.raw(this.database.dialect === 'sqlite' ? 'rowid' : 'seq');
  }

  private async mark(): Promise<number> {
    const row = await this.database.db.selectFrom('monitor_metric_rollup_state').select('value').where('name', '=', MARK).executeTakeFirst();
    return row ? Number(row.value) : 0;
  }

  private async measurements(ids: Iterable<number>): Promise<void> {
    const missing = [...ids].filter((id) => !this.measurementOf.has(id));
    for (let i = 0; i < missing.length; i += 500) {
      const rows = await this.database.db.selectFrom('monitor_metric_series').select(['id', 'measurement']).where('id', 'in', missing.slice(i, i + 500)).execute();
      for (const row of rows) if (row.measurement in MEASUREMENTS) this.measurementOf.set(Number(row.id), row.measurement as MeasurementName);
    }
  }

  /** Rolls up everything inserted since the last run, in batches; stops early when `signal` aborts (the mark keeps what was done). */
  async run(signal?: AbortSignal): Promise<RollupRunResult> {
    const result: RollupRunResult = { rawRows: 0, fiveMinute: 0, hourly: 0 };
    for (;;) {
      if (signal?.aborted) return result;
      const batch = await this.batch();
      result.rawRows += batch.rawRows;
      result.fiveMinute += batch.fiveMinute;
      result.hourly += batch.hourly;
      if (!batch.more) return result;
    }
  }

  private async batch(): Promise<RollupRunResult & { more: boolean }> {
    const mark = await this.mark();
    const from = this.database.dialect === 'postgres' ? Math.max(0, mark - PG_SEQ_LOOKBACK) : mark;
    const position = this.position();
    const rows = await sql<{ position: number | string; series_id: number | string; time: number | string }>`select ${position} as position, series_id, time from monitor_metric_point where ${position} > ${from} order by ${position} limit ${BATCH_ROWS}`.execute(
      this.database.db,
    );
    if (!rows.rows.length) return { rawRows: 0, fiveMinute: 0, hourly: 0, more: false };
    let last = mark;
    let fresh = 0;
    const dirty = new Map<number, Set<number>>();
    for (const row of rows.rows) {
      if (Number(row.position) > mark) fresh++;
      const id = Number(row.series_id);
      const bucket = Math.floor(Number(row.time) / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
      let set = dirty.get(id);
      if (!set) dirty.set(id, (set = new Set()));
      set.add(bucket);
      last = Math.max(last, Number(row.position));
    }
    await this.measurements(dirty.keys());
    const fiveMinute: Array<{ series_id: number; step_ms: number; time: number; fields: Buffer }> = [];
    const hoursDirty = new Map<number, Set<number>>();
    for (const [id, buckets] of dirty) {
      const measurement = this.measurementOf.get(id);
      if (!measurement) continue;
      fiveMinute.push(...(await this.fiveMinuteRows(id, measurement, [...buckets].sort((a, b) => a - b))));
      hoursDirty.set(id, new Set([...buckets].map((b) => Math.floor(b / ONE_HOUR_MS) * ONE_HOUR_MS)));
    }
    let hourly = 0;
    await this.database.write(async (tx) => {
      await this.upsert(tx, fiveMinute);
      // The hours from the 5-minute rows just written (read inside the transaction).
      const hourRows: typeof fiveMinute = [];
      for (const [id, hours] of hoursDirty) {
        const measurement = this.measurementOf.get(id)!;
        for (const hour of hours) {
          const parts = await tx.selectFrom('monitor_metric_rollup').select(['fields']).where('series_id', '=', id).where('step_ms', '=', FIVE_MINUTES_MS).where('time', '>=', hour).where('time', '<', hour + ONE_HOUR_MS).execute();
          const n = MEASUREMENTS[measurement].fields.length;
          const stats: Array<FieldStats | undefined> = new Array(n).fill(undefined);
          for (const part of parts) for (let i = 0; i < n; i++) {
            const s = statsAt(part.fields, i);
            if (s) stats[i] = mergeStats(stats[i], s);
          }
          hourRows.push({ series_id: id, step_ms: ONE_HOUR_MS, time: hour, fields: packStats(measurement, stats) });
        }
      }
      await this.upsert(tx, hourRows);
      hourly = hourRows.length;
      await tx
        .insertInto('monitor_metric_rollup_state')
        .values({ name: MARK, value: last })
        .onConflict((oc) => oc.column('name').doUpdateSet({ value: last }))
        .execute();
    });
    return { rawRows: fresh, fiveMinute: fiveMinute.length, hourly, more: rows.rows.length === BATCH_ROWS && fresh > 0 };
  }

  /** Recomputes the given 5-minute buckets of one series from its raw points: one index range per run of adjacent buckets. */
  private async fiveMinuteRows(id: number, measurement: MeasurementName, buckets: number[]): Promise<Array<{ series_id: number; step_ms: number; time: number; fields: Buffer }>> {
    const out: Array<{ series_id: number; step_ms: number; time: number; fields: Buffer }> = [];
    const wanted = new Set(buckets);
    let i = 0;
    while (i < buckets.length) {
      let j = i;
      // Gaps of up to an hour are read through: one range beats many small ones.
      while (j + 1 < buckets.length && buckets[j + 1]! - buckets[j]! <= ONE_HOUR_MS) j++;
      const from = buckets[i]!;
      const to = buckets[j]! + FIVE_MINUTES_MS;
      const points = await this.database.db.selectFrom('monitor_metric_point').select(['time', 'fields']).where('series_id', '=', id).where('time', '>=', from).where('time', '<', to).orderBy('time').execute();
      const byBucket = new Map<number, Array<FieldStats | undefined>>();
      for (const point of points) {
        const bucket = Math.floor(Number(point.time) / FIVE_MINUTES_MS) * FIVE_MINUTES_MS;
        if (!wanted.has(bucket)) continue;
        let stats = byBucket.get(bucket);
        if (!stats) byBucket.set(bucket, (stats = new Array(MEASUREMENTS[measurement].fields.length).fill(undefined)));
        rawValues(measurement, point.fields).forEach((value, k) => {
          if (!Number.isNaN(value)) stats![k] = mergeStats(stats![k], single(value));
        });
      }
      for (const [bucket, stats] of byBucket) out.push({ series_id: id, step_ms: FIVE_MINUTES_MS, time: bucket, fields: packStats(measurement, stats) });
      i = j + 1;
    }
    return out;
  }

  private async upsert(tx: Parameters<Parameters<Database['write']>[0]>[0], rows: Array<{ series_id: number; step_ms: number; time: number; fields: Buffer }>): Promise<void> {
    for (let i = 0; i < rows.length; i += 1000) {
      await tx
        .insertInto('monitor_metric_rollup')
        .values(rows.slice(i, i + 1000))
        .onConflict((oc) => oc.columns(['series_id', 'step_ms', 'time']).doUpdateSet((eb) => ({ fields: eb.ref('excluded.fields') })))
        .execute();
    }
  }

  /** Deletes rollup rows past their retention, a series at a time off the primary key. */
  async prune(now: number, retentionDays: Record<RollupStep, number>): Promise<number> {
    const ids = (await this.database.db.selectFrom('monitor_metric_series').select('id').execute()).map((r) => Number(r.id));
    let removed = 0;
    for (let i = 0; i < ids.length; i += 200) {
      const chunk = ids.slice(i, i + 200);
      removed += await this.database.write(async (tx) => {
        let n = 0;
        for (const id of chunk) {
          for (const step of ROLLUP_STEPS) {
            const cutoff = now - retentionDays[step] * 86_400_000;
            const result = await tx.deleteFrom('monitor_metric_rollup').where('series_id', '=', id).where('step_ms', '=', step).where('time', '<', cutoff).executeTakeFirst();
            n += Number(result.numDeletedRows);
          }
        }
        return n;
      });
    }
    return removed;
  }
}
