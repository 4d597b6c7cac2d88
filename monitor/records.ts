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

  // The suite's own figures, written every minute by the suite-metrics job
  // in `serve` (dashboards/suite-metrics.ts) or, for agent_outbox, shipped by
  // each agent like its SNMP samples. Grafana's dashboards read them.

  /** Per node, from the status service. Tags: node, zone, site. state: 0 up, 1 down, 2 unreachable, 3 unknown (NODE_STATE_CODES). */
  node_state: { name: 'node_state', fields: ['state', 'up'] as const },
  /** Syslog messages stored in the minute before the sample. Tags: node (`unmapped` for sources no node has), severity. */
  syslog_volume: { name: 'syslog_volume', fields: ['messages'] as const },
  /** The monitor's counters of each agent's deliveries (running totals). Tags: agent. */
  agent_delivery: { name: 'agent_delivery', fields: ['accepted', 'rejected', 'duplicates', 'highWater', 'secondsSinceSeen'] as const },
  /** What an agent's outbox holds and has dropped (Agent.status()), shipped by the agent itself. Tags: agent. */
  agent_outbox: { name: 'agent_outbox', fields: ['items', 'bytes', 'maxBytes', 'droppedMetrics', 'refused'] as const },
  /** Per hierarchy: issued and revoked in the minute before the sample, valid ones expiring within 30 days, valid in all. Tags: ca. */
  ca_certificates: { name: 'ca_certificates', fields: ['issued', 'revoked', 'expiringSoon', 'valid'] as const },
  /** Per backup target: the last run and drill, the recovery point now. Tags: target. ok fields are 1/0. */
  backup_status: { name: 'backup_status', fields: ['lastRunOk', 'lastRunAgeSeconds', 'lastDrillOk', 'lastDrillAgeSeconds', 'rpoSeconds', 'rpoObjectiveSeconds', 'rpoMet'] as const },
  /** Alerts firing now, per severity (written by the alerts module's provider once it lands). Tags: severity. */
  alerts: { name: 'alerts', fields: ['firing'] as const },
} as const;

/** node_state.state: the status service's states as numbers (Grafana maps them back with value mappings). */
export const NODE_STATE_CODES = { up: 0, down: 1, unreachable: 2, unknown: 3 } as const;

export type MeasurementName = (typeof MEASUREMENTS)[keyof typeof MEASUREMENTS]['name'];

/** One sample: a measurement at a time, with tags (identity) and numeric fields. */
export interface MetricPoint {
  measurement: MeasurementName;
  /** Exactly the measurement's MEASUREMENT_TAGS; device measurements always have `node` (the inventory node name). */
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
  node_state: ['node', 'zone', 'site'],
  syslog_volume: ['node', 'severity'],
  agent_delivery: ['agent'],
  agent_outbox: ['agent'],
  ca_certificates: ['ca'],
  backup_status: ['target'],
  alerts: ['severity'],
} as const satisfies Record<MeasurementName, readonly string[]>;

export type FieldName<M extends MeasurementName> = (typeof MEASUREMENTS)[M]['fields'][number];
export type TagName<M extends MeasurementName> = (typeof MEASUREMENT_TAGS)[M][number];
export const MEASUREMENT_NAMES = Object.values(MEASUREMENTS).map((m) => m.name) as MeasurementName[];

/** Where a field sits in its measurement's list (the embedded store packs fields in this order); -1 if unknown. */
export function fieldIndex(measurement: MeasurementName, field: string): number {
  return (MEASUREMENTS[measurement].fields as readonly string[]).indexOf(field);
}
