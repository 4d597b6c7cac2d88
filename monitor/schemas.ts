// TypeBox schemas of the records in records.ts: what ingest accepts from an
// agent, and what the HTTP routes declare. Built from MEASUREMENTS and
// MEASUREMENT_TAGS, so a new field or tag is named in one place only.

import { Type, type TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import {
  MEASUREMENT_TAGS,
  MEASUREMENTS,
  SEVERITIES,
  type EventRecord,
  type LogRecord,
  type MeasurementName,
  type MetricPoint,
  type OutboxItem,
} from './records.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Epoch milliseconds from 2000-01-01 to 2100-01-01: anything else is a broken clock or a unit mistake (seconds, ns). */
export const EpochMs = Type.Integer({ minimum: 946_684_800_000, maximum: 4_102_444_800_000 });
/** A tag value: what InfluxDB can hold as a tag (never empty), short enough for an index. */
const TagValue = Type.String({ minLength: 1, maxLength: 256 });
const ShortText = (maxLength: number) => Type.String({ maxLength });
/** An inventory node name: a hostname-like label (it is the `node` tag of every metric). */
export const NODE_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$';
export const NodeName = Type.String({ pattern: NODE_NAME_PATTERN });

function metricSchema(measurement: MeasurementName): TSchema {
  const tags = Object.fromEntries(MEASUREMENT_TAGS[measurement].map((tag) => [tag, tag === 'node' ? NodeName : TagValue]));
  const fields = Object.fromEntries(MEASUREMENTS[measurement].fields.map((field) => [field, Type.Optional(Type.Number())]));
  return Type.Object(
    {
      measurement: Type.Literal(measurement),
      tags: Type.Object(tags, { additionalProperties: false }),
      fields: Type.Object(fields, { additionalProperties: false, minProperties: 1 }),
      time: EpochMs,
    },
    { additionalProperties: false },
  );
}

export const MetricPointSchema = Type.Union(
  (Object.keys(MEASUREMENTS) as MeasurementName[]).map(metricSchema),
  { description: 'one sample of a measurement in MEASUREMENTS, with exactly its tags and some of its fields' },
);

const NullableText = (maxLength: number) => Type.Union([ShortText(maxLength), Type.Null()]);

export const LogRecordSchema = Type.Object(
  {
    time: EpochMs,
    receivedAt: EpochMs,
    node: Type.Union([NodeName, Type.Null()]),
    sourceAddress: Type.String({ minLength: 1, maxLength: 64 }),
    facility: Type.Integer({ minimum: 0, maximum: 23 }),
    severity: literals(SEVERITIES),
    host: NullableText(255),
    app: NullableText(48),
    procId: NullableText(128),
    msgId: NullableText(32),
    message: ShortText(65_536),
    structuredData: Type.Record(Type.String({ maxLength: 32 }), Type.Record(Type.String({ maxLength: 32 }), ShortText(8192))),
    format: literals(['rfc3164', 'rfc5424'] as const),
    transport: literals(['udp', 'tcp', 'tls'] as const),
  },
  { additionalProperties: false },
);

export const EventRecordSchema = Type.Object(
  {
    time: EpochMs,
    node: Type.Union([NodeName, Type.Null()]),
    sourceAddress: Type.String({ minLength: 1, maxLength: 64 }),
    kind: literals(['trap', 'inform', 'reachability', 'counter-reset'] as const),
    name: Type.String({ minLength: 1, maxLength: 256 }),
    severity: literals(SEVERITIES),
    detail: Type.Record(Type.String({ maxLength: 256 }), ShortText(8192)),
  },
  { additionalProperties: false },
);

const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const OutboxItemSchema = Type.Union([
  Type.Object({ seq: Seq, kind: Type.Literal('metric'), record: MetricPointSchema }, { additionalProperties: false }),
  Type.Object({ seq: Seq, kind: Type.Literal('log'), record: LogRecordSchema }, { additionalProperties: false }),
  Type.Object({ seq: Seq, kind: Type.Literal('event'), record: EventRecordSchema }, { additionalProperties: false }),
]);

// Compiled once: ingest checks every item of every batch.
const checkers = {
  metric: TypeCompiler.Compile(MetricPointSchema),
  log: TypeCompiler.Compile(LogRecordSchema),
  event: TypeCompiler.Compile(EventRecordSchema),
};

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

function firstError(checker: (typeof checkers)[keyof typeof checkers], value: unknown, what: string): string {
  const error = checker.Errors(value).First();
  if (!error) return `${what} is not valid`;
  const where = error.path ? `${what}${error.path.replace(/\//g, '.')}` : what;
  return `${where}: ${error.message}`;
}

const singleMetricCheckers = Object.fromEntries(
  (Object.keys(MEASUREMENTS) as MeasurementName[]).map((m) => [m, TypeCompiler.Compile(metricSchema(m))]),
) as Record<MeasurementName, ReturnType<typeof TypeCompiler.Compile>>;

/** The measurement named in a point, when it is one we know: a union's first error says little, so check against that one schema. */
function metricReason(record: unknown): string {
  const measurement = (record as { measurement?: unknown } | null)?.measurement;
  if (typeof measurement !== 'string' || !(measurement in MEASUREMENTS)) {
    return `record.measurement: expected one of ${Object.keys(MEASUREMENTS).join(', ')} (got ${JSON.stringify(measurement)})`;
  }
  return firstError(singleMetricCheckers[measurement as MeasurementName] as never, record, 'record');
}

/** Checks one outbox item against the records' schemas; the reason names the field. */
export function checkOutboxItem(item: unknown): Checked<OutboxItem> {
  if (typeof item !== 'object' || item === null) return { ok: false, reason: 'item: expected an object {seq, kind, record}' };
  const { seq, kind, record } = item as Record<string, unknown>;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return { ok: false, reason: `seq: expected a non-negative integer (got ${JSON.stringify(seq)})` };
  const extra = Object.keys(item).filter((key) => !['seq', 'kind', 'record'].includes(key));
  if (extra.length) return { ok: false, reason: `item: unexpected propert${extra.length > 1 ? 'ies' : 'y'} ${extra.join(', ')}` };
  if (kind !== 'metric' && kind !== 'log' && kind !== 'event') return { ok: false, reason: `kind: expected metric, log or event (got ${JSON.stringify(kind)})` };
  if (checkers[kind].Check(record)) return { ok: true, value: item as OutboxItem };
  return { ok: false, reason: kind === 'metric' ? metricReason(record) : firstError(checkers[kind], record, 'record') };
}

export function isMetricPoint(value: unknown): value is MetricPoint {
  return checkers.metric.Check(value);
}
export function isLogRecord(value: unknown): value is LogRecord {
  return checkers.log.Check(value);
}
export function isEventRecord(value: unknown): value is EventRecord {
  return checkers.event.Check(value);
}

/** Why a point is not valid, naming the field; null when it is. */
export function metricPointProblem(value: unknown): string | null {
  return checkers.metric.Check(value) ? null : metricReason(value);
}
