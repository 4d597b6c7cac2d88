// What the poller asks each kind of device for, as data: groups of OIDs
// (scalars or table columns), each field saying what it becomes (a rate, a
// gauge, a tag, or information kept for a derived figure) and which
// measurement of monitor/records.ts it feeds. A config object adds groups
// and assigns them to device kinds (mergeOidSets).

import { EgovError } from '../../core/errors.js';
import { MEASUREMENTS, type MeasurementName } from '../../monitor/records.js';
import { parseOid, type Oid } from './oid.js';

export const DEVICE_KINDS = ['router', 'switch', 'firewall', 'gateway', 'server', 'other'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

/** An OID to read, in order of preference, with a factor to the field's unit (ifSpeed bit/s -> Mbit/s is 1e-6). */
export interface Source {
  oid: Oid;
  scale?: number;
}

/** What one polled object becomes. Sources are alternatives: the first the device has wins. */
export type FieldSpec =
  /** Counter32/Counter64: a per-second rate between consecutive polls, under `field`. */
  | { role: 'rate'; field: string; sources: Source[] }
  /** Integer, Gauge32, TimeTicks: the value (times scale), under `field`. */
  | { role: 'gauge'; field: string; sources: Source[] }
  /** Text: a tag on the point. */
  | { role: 'tag'; tag: string; sources: Source[] }
  /** Kept for a derived figure or the node summary, not emitted (hrStorageType, sysName). */
  | { role: 'info'; sources: Source[] };

export interface ScalarGroup {
  kind: 'scalar';
  measurement: MeasurementName;
  /** Instance OIDs (…0). */
  objects: Record<string, FieldSpec>;
}

export interface TableGroup {
  kind: 'table';
  measurement: MeasurementName;
  /** Tag carrying the row index, e.g. ifIndex. */
  indexTag: string;
  /** Column OIDs (without the index). */
  columns: Record<string, FieldSpec>;
}

export type OidGroup = ScalarGroup | TableGroup;

export interface OidSets {
  groups: Readonly<Record<string, OidGroup>>;
  /** Group names polled for each kind of device; `system` is always polled first. */
  kinds: Readonly<Record<DeviceKind, readonly string[]>>;
}

const src = (...oids: Oid[]): Source[] => oids.map((oid) => ({ oid }));
const rate = (field: string, ...oids: Oid[]): FieldSpec => ({ role: 'rate', field, sources: src(...oids) });
const gauge = (field: string, ...sources: Source[]): FieldSpec => ({ role: 'gauge', field, sources });
const tag = (name: string, ...oids: Oid[]): FieldSpec => ({ role: 'tag', tag: name, sources: src(...oids) });
const info = (...oids: Oid[]): FieldSpec => ({ role: 'info', sources: src(...oids) });

/** The OIDs behind the built-in groups, by MIB name. */
export const MIB = {
  sysDescr: '1.3.6.1.2.1.1.1.0',
  sysObjectID: '1.3.6.1.2.1.1.2.0',
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  sysName: '1.3.6.1.2.1.1.5.0',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifSpeed: '1.3.6.1.2.1.2.2.1.5',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifInOctets: '1.3.6.1.2.1.2.2.1.10',
  ifInDiscards: '1.3.6.1.2.1.2.2.1.13',
  ifInErrors: '1.3.6.1.2.1.2.2.1.14',
  ifOutOctets: '1.3.6.1.2.1.2.2.1.16',
  ifOutDiscards: '1.3.6.1.2.1.2.2.1.19',
  ifOutErrors: '1.3.6.1.2.1.2.2.1.20',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15',
  hrStorageType: '1.3.6.1.2.1.25.2.3.1.2',
  hrStorageDescr: '1.3.6.1.2.1.25.2.3.1.3',
  hrStorageAllocationUnits: '1.3.6.1.2.1.25.2.3.1.4',
  hrStorageSize: '1.3.6.1.2.1.25.2.3.1.5',
  hrStorageUsed: '1.3.6.1.2.1.25.2.3.1.6',
  hrProcessorLoad: '1.3.6.1.2.1.25.3.3.1.2',
  /** hrStorageType values (HOST-RESOURCES-TYPES). */
  hrStorageRam: '1.3.6.1.2.1.25.2.1.2',
  hrStorageFixedDisk: '1.3.6.1.2.1.25.2.1.4',
  hrStorageRemovableDisk: '1.3.6.1.2.1.25.2.1.5',
  hrStorageFlashMemory: '1.3.6.1.2.1.25.2.1.9',
  hrStorageNetworkDisk: '1.3.6.1.2.1.25.2.1.10',
} as const;

/** Groups whose rows are shaped by code in the poller (derived figures); config may not redefine them. */
export const BUILT_IN_GROUPS = ['system', 'interfaces', 'processors', 'storage'] as const;
export type BuiltInGroup = (typeof BUILT_IN_GROUPS)[number];

export const DEFAULT_OID_SETS: OidSets = {
  groups: {
    system: {
      kind: 'scalar',
      measurement: 'system',
      objects: {
        // TimeTicks are hundredths of a second; the field is in seconds.
        sysUpTime: gauge('sysUpTime', { oid: MIB.sysUpTime, scale: 0.01 }),
        sysName: info(MIB.sysName),
        sysDescr: info(MIB.sysDescr),
        sysObjectID: info(MIB.sysObjectID),
      },
    },
    interfaces: {
      kind: 'table',
      measurement: 'interface',
      indexTag: 'ifIndex',
      columns: {
        // 64-bit counters first; a v1 agent (or one without IF-MIB's ifXTable) falls back to the 32-bit ones.
        inOctets: rate('inOctetsPerSec', MIB.ifHCInOctets, MIB.ifInOctets),
        outOctets: rate('outOctetsPerSec', MIB.ifHCOutOctets, MIB.ifOutOctets),
        inErrors: rate('inErrorsPerSec', MIB.ifInErrors),
        outErrors: rate('outErrorsPerSec', MIB.ifOutErrors),
        inDiscards: rate('inDiscardsPerSec', MIB.ifInDiscards),
        outDiscards: rate('outDiscardsPerSec', MIB.ifOutDiscards),
        operStatus: gauge('operStatus', { oid: MIB.ifOperStatus }),
        adminStatus: gauge('adminStatus', { oid: MIB.ifAdminStatus }),
        highSpeed: gauge('highSpeedMbps', { oid: MIB.ifHighSpeed }, { oid: MIB.ifSpeed, scale: 1e-6 }),
        ifName: tag('ifName', MIB.ifName, MIB.ifDescr),
      },
    },
    processors: {
      kind: 'table',
      measurement: 'host',
      indexTag: 'hrDeviceIndex',
      columns: { load: gauge('cpuLoadPct', { oid: MIB.hrProcessorLoad }) },
    },
    storage: {
      kind: 'table',
      measurement: 'storage',
      indexTag: 'hrStorageIndex',
      columns: {
        type: info(MIB.hrStorageType),
        descr: tag('storage', MIB.hrStorageDescr),
        units: info(MIB.hrStorageAllocationUnits),
        size: info(MIB.hrStorageSize),
        used: info(MIB.hrStorageUsed),
      },
    },
  },
  kinds: {
    router: ['system', 'interfaces'],
    switch: ['system', 'interfaces'],
    firewall: ['system', 'interfaces'],
    gateway: ['system', 'interfaces'],
    server: ['system', 'interfaces', 'processors', 'storage'],
    other: ['system'],
  },
};

// ------------------------------------------------------------ merging a config object

/**
 * The config's extra groups added to `base`, and assigned to kinds. Shape
 * (YAML or JSON):
 *
 *   groups:
 *     ciscoCpu:
 *       kind: scalar
 *       measurement: host
 *       objects:
 *         cpu5min: { role: gauge, field: cpuLoadPct, oids: [1.3.6.1.4.1.9.9.109.1.1.1.1.8.1] }
 *     ifAlias:
 *       kind: table
 *       measurement: interface
 *       indexTag: ifIndex
 *       columns:
 *         alias: { role: tag, tag: ifAlias, oids: [1.3.6.1.2.1.31.1.1.1.18] }
 *   kinds:
 *     router: [ciscoCpu, ifAlias]
 *
 * Table rows merge into the built-in points with the same index tag (an
 * extra interface column lands on that interface's point). Mistakes are a
 * bad-config error naming the group and key.
 */
export function mergeOidSets(base: OidSets, config: unknown): OidSets {
  if (config === undefined || config === null) return base;
  const root = asRecord(config, 'OID sets');
  for (const key of Object.keys(root)) if (key !== 'groups' && key !== 'kinds') fail(`OID sets: unknown key "${key}" (expected groups, kinds)`);
  const groups: Record<string, OidGroup> = { ...base.groups };
  for (const [name, raw] of Object.entries(asRecord(root.groups ?? {}, 'OID sets groups'))) {
    if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(name)) fail(`OID group "${name}": a name is letters, digits, - and _`);
    if ((BUILT_IN_GROUPS as readonly string[]).includes(name)) fail(`OID group "${name}" is built in; give the extra group another name`);
    groups[name] = parseGroup(name, raw);
  }
  const kinds: Record<DeviceKind, string[]> = Object.fromEntries(DEVICE_KINDS.map((k) => [k, [...base.kinds[k]]])) as Record<DeviceKind, string[]>;
  for (const [kind, raw] of Object.entries(asRecord(root.kinds ?? {}, 'OID sets kinds'))) {
    if (!(DEVICE_KINDS as readonly string[]).includes(kind)) fail(`OID sets kinds: "${kind}" is not a device kind (${DEVICE_KINDS.join(', ')})`);
    if (!Array.isArray(raw)) fail(`OID sets kinds.${kind}: a list of group names`);
    for (const groupName of raw as unknown[]) {
      if (typeof groupName !== 'string' || !groups[groupName]) fail(`OID sets kinds.${kind}: no group "${String(groupName)}"`);
      if (!kinds[kind as DeviceKind].includes(groupName as string)) kinds[kind as DeviceKind].push(groupName as string);
    }
  }
  return { groups, kinds };
}

function parseGroup(name: string, raw: unknown): OidGroup {
  const group = asRecord(raw, `OID group "${name}"`);
  const measurement = group.measurement;
  const measurements = Object.values(MEASUREMENTS).map((m) => m.name) as string[];
  if (typeof measurement !== 'string' || !measurements.includes(measurement)) fail(`OID group "${name}": measurement must be one of ${measurements.join(', ')}`);
  if (group.kind === 'scalar') {
    allowOnly(group, ['kind', 'measurement', 'objects'], name);
    return { kind: 'scalar', measurement: measurement as MeasurementName, objects: parseFields(name, 'objects', group.objects) };
  }
  if (group.kind === 'table') {
    allowOnly(group, ['kind', 'measurement', 'indexTag', 'columns'], name);
    if (typeof group.indexTag !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(group.indexTag)) fail(`OID group "${name}": indexTag names the tag holding the row index, e.g. ifIndex`);
    return { kind: 'table', measurement: measurement as MeasurementName, indexTag: group.indexTag, columns: parseFields(name, 'columns', group.columns) };
  }
  return fail(`OID group "${name}": kind must be scalar or table`);
}

function parseFields(group: string, key: string, raw: unknown): Record<string, FieldSpec> {
  const fields = asRecord(raw, `OID group "${group}" ${key}`);
  if (Object.keys(fields).length === 0) fail(`OID group "${group}": ${key} is empty`);
  const out: Record<string, FieldSpec> = {};
  for (const [fieldKey, value] of Object.entries(fields)) {
    const where = `OID group "${group}" ${key}.${fieldKey}`;
    const spec = asRecord(value, where);
    const oids = spec.oids;
    if (!Array.isArray(oids) || oids.length === 0) fail(`${where}: oids is a non-empty list of OIDs (alternatives, preferred first)`);
    const sources = (oids as unknown[]).map((oid) => {
      if (typeof oid !== 'string') fail(`${where}: OIDs are strings`);
      try {
        return { oid: parseOid(oid as string) };
      } catch (error) {
        return fail(`${where}: ${(error as Error).message}`);
      }
    });
    const scale = spec.scale;
    if (scale !== undefined && (typeof scale !== 'number' || !Number.isFinite(scale) || scale === 0)) fail(`${where}: scale is a non-zero number`);
    const scaled = scale === undefined ? sources : sources.map((s) => ({ ...s, scale: scale as number }));
    const identifier = (v: unknown, what: string): string => {
      if (typeof v !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(v)) fail(`${where}: ${what} is a name of letters, digits and _`);
      return v as string;
    };
    switch (spec.role) {
      case 'rate':
        out[fieldKey] = { role: 'rate', field: identifier(spec.field, 'field'), sources: scaled };
        break;
      case 'gauge':
        out[fieldKey] = { role: 'gauge', field: identifier(spec.field, 'field'), sources: scaled };
        break;
      case 'tag':
        out[fieldKey] = { role: 'tag', tag: identifier(spec.tag, 'tag'), sources };
        break;
      case 'info':
        out[fieldKey] = { role: 'info', sources };
        break;
      default:
        fail(`${where}: role must be rate, gauge, tag or info`);
    }
  }
  return out;
}

function allowOnly(record: Record<string, unknown>, keys: string[], group: string): void {
  for (const key of Object.keys(record)) if (!keys.includes(key)) fail(`OID group "${group}": unknown key "${key}" (expected ${keys.join(', ')})`);
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be a mapping`);
  return value as Record<string, unknown>;
}

function fail(message: string): never {
  throw new EgovError('bad-config', message);
}

/** The groups polled for `kind`, `system` first (reachability and sysUpTime come from it). */
export function groupsFor(sets: OidSets, kind: DeviceKind): Array<[string, OidGroup]> {
  const names = ['system', ...sets.kinds[kind].filter((n) => n !== 'system')];
  return names.map((name) => {
    const group = sets.groups[name];
    if (!group) throw new EgovError('bad-config', `device kind ${kind} lists OID group "${name}", which does not exist`);
    return [name, group];
  });
}
