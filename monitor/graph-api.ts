// The graphs' query API: GET /api/metrics/series. A named range (1h, 6h,
// 24h, 7d, 30d) picks the step, so no answer holds more than about 1,000
// points a series, and long ranges read the rollups. The console's graphs
// fetch it (same origin, the page's own session); scripts may too.

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { EgovError } from '../core/index.js';
import { checkMeasurement, MAX_DOWNSAMPLE_SERIES, type Downsampled, type MetricStore, type TagFilter } from './metric-store.js';
import { MEASUREMENT_TAGS, MEASUREMENTS, type MeasurementName } from './records.js';
import { FIVE_MINUTES_MS, ONE_HOUR_MS } from './rollups.js';

/** Each range and its step: raw points up to 6 h, the 5-minute rollups for a day and a week, the hourly ones for a month. */
export const GRAPH_RANGES = {
  '1h': { spanMs: 3_600_000, stepMs: 10_000 },
  '6h': { spanMs: 6 * 3_600_000, stepMs: 60_000 },
  '24h': { spanMs: 24 * 3_600_000, stepMs: FIVE_MINUTES_MS },
  '7d': { spanMs: 7 * 86_400_000, stepMs: 3 * FIVE_MINUTES_MS },
  '30d': { spanMs: 30 * 86_400_000, stepMs: ONE_HOUR_MS },
} as const;
export type GraphRange = keyof typeof GRAPH_RANGES;
export const GRAPH_RANGE_NAMES = Object.keys(GRAPH_RANGES) as GraphRange[];

/** Fields one request may ask for (a graph draws two to four). */
export const MAX_GRAPH_FIELDS = 8;
/** Measurements that belong to one device: a query names the node. */
const DEVICE_MEASUREMENTS = new Set<string>(Object.entries(MEASUREMENT_TAGS).filter(([, tags]) => (tags as readonly string[]).includes('node')).map(([m]) => m));

export interface GraphQuery {
  measurement: MeasurementName;
  fields: string[];
  tags: TagFilter;
  /** Values of the measurement's second identity tag (ifName, storage), each a series; empty for all of the node's. */
  keys: { tag: string; values: string[] } | null;
  range: GraphRange;
  /** End of the range (epoch ms). */
  to: number;
}

export interface GraphAnswer {
  measurement: string;
  range: GraphRange;
  from: number;
  to: number;
  stepMs: number;
  source: Downsampled['source'];
  /** One entry per field and series; points as [time, mean, min, max]. */
  series: Array<{ field: string; tags: Record<string, string>; points: Array<[number, number, number, number]> }>;
}

const bad = (message: string) => new EgovError('bad-request', message);

export function parseGraphQuery(query: Record<string, string | undefined>, now: number): GraphQuery {
  const measurement = checkMeasurement(query.measurement ?? '');
  const range = query.range ?? '';
  if (!(range in GRAPH_RANGES)) throw bad(`range must be one of ${GRAPH_RANGE_NAMES.join(', ')} (got ${JSON.stringify(range.slice(0, 40))})`);
  const fields = (query.fields ?? '').split(',').filter(Boolean);
  if (!fields.length) throw bad(`fields: name one or more of ${measurement}'s fields, comma-separated (${MEASUREMENTS[measurement].fields.join(', ')})`);
  if (fields.length > MAX_GRAPH_FIELDS) throw bad(`fields: at most ${MAX_GRAPH_FIELDS} a query (got ${fields.length})`);
  const known: readonly string[] = MEASUREMENTS[measurement].fields;
  for (const f of fields) if (!known.includes(f)) throw bad(`field ${JSON.stringify(f.slice(0, 64))} is not a field of ${measurement} (its fields: ${known.join(', ')})`);
  const allowed: readonly string[] = MEASUREMENT_TAGS[measurement];
  const tags: Record<string, string> = {};
  let keys: GraphQuery['keys'] = null;
  for (const [key, value] of Object.entries(query)) {
    if (['measurement', 'range', 'fields', 'to'].includes(key) || value === undefined) continue;
    if (!allowed.includes(key)) throw bad(`${key} is not a tag of ${measurement} (its tags: ${allowed.join(', ')})`);
    const values = value.split(',').filter(Boolean);
    if (!values.length) throw bad(`${key} must not be empty`);
    if (values.length === 1) tags[key] = values[0]!;
    else {
      if (keys) throw bad('only one tag may list several values');
      if (values.length > MAX_DOWNSAMPLE_SERIES) throw bad(`${key}: at most ${MAX_DOWNSAMPLE_SERIES} values a query (got ${values.length})`);
      keys = { tag: key, values };
    }
  }
  if (DEVICE_MEASUREMENTS.has(measurement) && !tags.node) throw bad(`a series query of ${measurement} needs node (one node name)`);
  const to = query.to === undefined ? now : /^\d{1,15}$/.test(query.to) ? Number(query.to) : Number.NaN;
  if (!Number.isSafeInteger(to)) throw bad(`to must be epoch milliseconds (got ${JSON.stringify(String(query.to).slice(0, 40))})`);
  return { measurement, fields, tags, keys, range: range as GraphRange, to };
}

export async function graphSeries(metrics: MetricStore, q: GraphQuery): Promise<GraphAnswer> {
  const { spanMs, stepMs } = GRAPH_RANGES[q.range];
  // The range ends with the bucket that holds `to`, so the newest bucket is drawn.
  const to = (Math.floor(q.to / stepMs) + 1) * stepMs;
  const from = to - spanMs;
  const answer: GraphAnswer = { measurement: q.measurement, range: q.range, from, to, stepMs, source: 'raw', series: [] };
  const filters = q.keys ? q.keys.values.map((v) => ({ ...q.tags, [q.keys!.tag]: v })) : [q.tags];
  const byField: Array<GraphAnswer['series']> = q.fields.map(() => []);
  for (const tags of filters) {
    const result = await metrics.downsample(q.measurement, q.fields, tags, from, to, stepMs);
    answer.source = result.source;
    for (const s of result.series) byField[q.fields.indexOf(s.field)]!.push({ field: s.field, tags: s.tags, points: s.points.map((p) => [p.time, p.mean, p.min, p.max]) });
  }
  answer.series = byField.flat();
  return answer;
}

const GRAPH_ROLES = { roles: ['network-admin', 'security-officer', 'auditor', 'ca-admin'] as const };
const Str = Type.Optional(Type.String({ maxLength: 65_536 }));

export async function graphApiRoutes(app: FastifyInstance, options: { metrics: MetricStore; now?: () => number }): Promise<void> {
  const now = options.now ?? Date.now;
  const tagNames = [...new Set(Object.values(MEASUREMENT_TAGS).flat())];
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/api/metrics/series',
    {
      config: GRAPH_ROLES,
      schema: {
        querystring: Type.Object(
          {
            measurement: Type.String({ minLength: 1, maxLength: 64 }),
            range: Type.String({ minLength: 1, maxLength: 8, description: GRAPH_RANGE_NAMES.join(', ') }),
            fields: Type.String({ minLength: 1, maxLength: 1024, description: 'comma-separated field names' }),
            to: Type.Optional(Type.String({ maxLength: 20, description: 'epoch milliseconds; default now' })),
            ...Object.fromEntries(tagNames.map((t) => [t, Str])),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const started = process.hrtime.bigint();
      const answer = await graphSeries(options.metrics, parseGraphQuery(request.query, now()));
      reply.header('server-timing', `db;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}`);
      reply.header('cache-control', 'no-store');
      return answer;
    },
  );
}
