// The records that travel from an agent to the monitor, defined once here:
// agents/ builds them, monitor/ validates and stores them, dashboards/ and
// the alert rules (a later issue) read them by these names.

/** Measurement names and their fields: the one place they are spelled. */
export const MEASUREMENTS = {
  /** Per node: reachability and system group. Tags: node. */
  system: { name: 'system', fields: ['reachable', 'rttMs', 'sysUpTime'] as const },
  /** Per interface. Tags: node, ifIndex, ifName. Rates are per second over the poll interval. */
  interface: {
    name: 'interface',
    fields: [
      'inOctetsPerSec', 'outOctetsPerSec', 'inBitsPerSec', 'outBitsPerSec',
      'inErrorsPerSec', 'outErrorsPerSec', 'inDiscardsPerSec', 'outDiscardsPerSec',
      'operStatus', 'adminStatus', 'highSpeedMbps', 'inUtilisationPct', 'outUtilisationPct',
    ] as const,
  },
  /** Per node (HOST-RESOURCES). Tags: node. */
  host: { name: 'host', fields: ['cpuLoadPct', 'memoryUsedPct', 'memoryTotalBytes'] as const },
  /** Per storage entry (HOST-RESOURCES hrStorage). Tags: node, storage. */
  storage: { name: 'storage', fields: ['usedPct', 'sizeBytes', 'usedBytes'] as const },
} as const;

export type MeasurementName = (typeof MEASUREMENTS)[keyof typeof MEASUREMENTS]['name'];

/** One sample: a measurement at a time, with tags (identity) and numeric fields. */
export interface MetricPoint {
  measurement: MeasurementName;
  /** Always includes `node` (the inventory node name). */
  tags: Record<string, string>;
  fields: Record<string, number>;
  /** Milliseconds since the epoch. */
  time: number;
}

export type Severity = 'emergency' | 'alert' | 'critical' | 'error' | 'warning' | 'notice' | 'info' | 'debug';
export const SEVERITIES: readonly Severity[] = ['emergency', 'alert', 'critical', 'error', 'warning', 'notice', 'info', 'debug'];

/** A syslog message, parsed (RFC 3164 or RFC 5424). */
export interface LogRecord {
  /** Milliseconds since the epoch: the message's own timestamp, else the time received. */
  time: number;
  receivedAt: number;
  /** Inventory node the source address maps to; null when no node has that address. */
  node: string | null;
  sourceAddress: string;
  facility: number;
  severity: Severity;
  host: string | null;
  app: string | null;
  procId: string | null;
  msgId: string | null;
  message: string;
  /** RFC 5424 structured data: SD-ID -> param -> value. */
  structuredData: Record<string, Record<string, string>>;
  format: 'rfc3164' | 'rfc5424';
  transport: 'udp' | 'tcp' | 'tls';
}

/** Something that happened on a device: an SNMP trap or inform, a reachability change, a counter reset. */
export interface EventRecord {
  time: number;
  node: string | null;
  sourceAddress: string;
  kind: 'trap' | 'inform' | 'reachability' | 'counter-reset';
  /** snmpTrapOID (dotted) for traps; a short name otherwise, e.g. `linkDown`. */
  name: string;
  severity: Severity;
  /** Varbinds or other detail, as strings (Counter64 and large numbers stay exact). */
  detail: Record<string, string>;
}

/** What an agent ships: one record with the agent's sequence number, delivered at least once, stored exactly once. */
export type OutboxItem =
  | { seq: number; kind: 'metric'; record: MetricPoint }
  | { seq: number; kind: 'log'; record: LogRecord }
  | { seq: number; kind: 'event'; record: EventRecord };

/** Tag keys of each measurement (the series identity), in one place like the fields. */
export const MEASUREMENT_TAGS = {
  system: ['node'],
  interface: ['node', 'ifIndex', 'ifName'],
  host: ['node'],
  storage: ['node', 'storage'],
} as const satisfies Record<MeasurementName, readonly string[]>;

export type FieldName<M extends MeasurementName> = (typeof MEASUREMENTS)[M]['fields'][number];
export type TagName<M extends MeasurementName> = (typeof MEASUREMENT_TAGS)[M][number];
export const MEASUREMENT_NAMES = Object.values(MEASUREMENTS).map((m) => m.name) as MeasurementName[];

/** Where a field sits in its measurement's list (the embedded store packs fields in this order); -1 if unknown. */
export function fieldIndex(measurement: MeasurementName, field: string): number {
  return (MEASUREMENTS[measurement].fields as readonly string[]).indexOf(field);
}
