// Polls a list of devices every interval, a bounded number at a time, and
// turns what they answer into MetricPoints (system, interface, host,
// storage) and EventRecords (reachability changes, counter resets). Rates
// come from the previous sample of each device, the only history kept.

import { performance } from 'node:perf_hooks';
import type { EventRecord, MeasurementName, MetricPoint, Severity } from '../../monitor/index.js';
import { EgovError } from '../../core/errors.js';
import { SnmpSession } from './client.js';
import { classifyUptime, counterStep, maxOctetsForSpeed, ratePerSecond, type CounterSample, type UptimeChange } from './counters.js';
import { instanceOf, type Oid } from './oid.js';
import { DEFAULT_OID_SETS, groupsFor, MIB, type DeviceKind, type FieldSpec, type OidGroup, type OidSets, type Source, type TableGroup } from './oid-sets.js';
import { describeEndpoint, parseEndpoint, type Credentials, type Endpoint, type Timing } from './target.js';
import { isException, octetsAsText, valueAsDetail, type SnmpValue, type Varbind } from './values.js';

export interface PollTarget {
  /** Inventory node name: the `node` tag of every record. */
  name: string;
  /** Host name or IP address. */
  address: string;
  port?: number;
  credentials: Credentials;
  kind: DeviceKind;
}

/** What the poller hands on: an OutboxItem without its sequence number (the outbox assigns it). */
export type AgentRecord = { kind: 'metric'; record: MetricPoint } | { kind: 'event'; record: EventRecord };

/** pino's shape, so the agent's logger can be passed as is. */
export interface SnmpLogger {
  warn(object: Record<string, unknown>, message: string): void;
  info(object: Record<string, unknown>, message: string): void;
}

export interface PollerOptions {
  targets: PollTarget[];
  intervalMs: number;
  onRecord: (record: AgentRecord) => void;
  /** Devices polled at once; default 64. */
  concurrency?: number;
  /** Per request; default 2 s, 1 retry. */
  timing?: Timing;
  oidSets?: OidSets;
  maxRepetitions?: number;
  logger?: SnmpLogger;
  /** Wall clock for record times (milliseconds since the epoch); default Date.now. */
  clock?: () => number;
  /** Monotonic milliseconds for the interval between samples (rates); default performance.now. */
  monotonic?: () => number;
}

export interface PollerStats {
  targets: number;
  cycles: number;
  pollsOk: number;
  pollsFailed: number;
  timeouts: number;
  authFailures: number;
  malformedResponses: number;
  /** A device still being polled when its next turn came: that turn was skipped. */
  overruns: number;
  inFlight: number;
  /** Values received in good polls (scalars and table cells). */
  varbindsReceived: number;
  counterWraps: number;
  counterResets: number;
  metricsEmitted: number;
  eventsEmitted: number;
  lastCycleMs: number | null;
}

/** What a device says about itself (sysName …), from its last good poll. */
export interface NodeInfo {
  sysName?: string;
  sysDescr?: string;
  sysObjectID?: string;
}

const DEFAULT_POLL_TIMING: Timing = { timeoutMs: 2000, retries: 1 };
/** Good polls between looks at which column alternatives a device has. */
const REDISCOVER_EVERY = 60;

/** The previous poll of a device: the only history the poller keeps. */
interface Sample {
  atMs: number;
  sysUpTimeTicks: number | null;
  counters: Map<string, CounterSample>;
}

interface TargetState {
  target: PollTarget;
  endpoint: Endpoint;
  session: SnmpSession | null;
  reachability: 'unknown' | 'up' | 'down';
  previous: Sample | null;
  inFlight: boolean;
  /** Per table field, the column sources this device has (alternatives it lacks are not asked again); null until discovered. */
  columnSources: Map<string, Source[]> | null;
  /** Rows each table had last time: the next GETBULK asks for that many (plus one). */
  rowsSeen: Map<string, number>;
  pollsSinceDiscovery: number;
  info: NodeInfo;
}

/** One row of values, by field key: the value and the scale of the source it came from. */
type Row = Map<string, { value: SnmpValue; scale: number }>;

/** Points under construction, merged by measurement and row identity. */
interface PointDraft {
  measurement: MeasurementName;
  tags: Record<string, string>;
  fields: Record<string, number>;
}

type AddDraft = (key: string, measurement: MeasurementName, tags: Record<string, string>, fields: Record<string, number>) => void;

/** What turning counters into rates needs for one poll of one device; `sample` and `resets` are filled in on the way. */
interface RateContext {
  state: TargetState;
  uptime: UptimeChange;
  elapsedMs: number;
  sample: Sample;
  resets: string[];
}

export class SnmpPoller {
  private readonly options: Required<Omit<PollerOptions, 'logger' | 'targets'>> & { logger?: SnmpLogger };
  private states = new Map<string, TargetState>();
  private timer: NodeJS.Timeout | null = null;
  private cycleRunning: Promise<void> | null = null;
  private readonly counters: Omit<PollerStats, 'targets' | 'inFlight'> = {
    cycles: 0,
    pollsOk: 0,
    pollsFailed: 0,
    timeouts: 0,
    authFailures: 0,
    malformedResponses: 0,
    overruns: 0,
    varbindsReceived: 0,
    counterWraps: 0,
    counterResets: 0,
    metricsEmitted: 0,
    eventsEmitted: 0,
    lastCycleMs: null,
  };

  constructor(options: PollerOptions) {
    if (!(options.intervalMs > 0)) throw new EgovError('bad-config', `poll interval must be positive, got ${options.intervalMs} ms`);
    this.options = {
      intervalMs: options.intervalMs,
      onRecord: options.onRecord,
      concurrency: options.concurrency ?? 64,
      timing: options.timing ?? DEFAULT_POLL_TIMING,
      oidSets: options.oidSets ?? DEFAULT_OID_SETS,
      maxRepetitions: options.maxRepetitions ?? 25,
      clock: options.clock ?? Date.now,
      monotonic: options.monotonic ?? (() => performance.now()),
      ...(options.logger ? { logger: options.logger } : {}),
    };
    this.setTargets(options.targets);
  }

  /** Replaces the target list; devices that stay keep their previous sample and session. */
  setTargets(targets: PollTarget[]): void {
    const next = new Map<string, TargetState>();
    for (const target of targets) {
      if (next.has(target.name)) throw new EgovError('bad-config', `poll target "${target.name}" is listed twice`);
      groupsFor(this.options.oidSets, target.kind); // fails early on a kind that lists a missing group
      const endpoint = parseEndpoint(target.port ? `${target.address.includes(':') ? `[${target.address}]` : target.address}:${target.port}` : target.address);
      const existing = this.states.get(target.name);
      if (existing && sameTarget(existing.target, target)) next.set(target.name, existing);
      else {
        existing?.session?.close();
        next.set(target.name, { target, endpoint, session: null, reachability: 'unknown', previous: null, inFlight: false, columnSources: null, rowsSeen: new Map(), pollsSinceDiscovery: 0, info: {} });
      }
    }
    for (const [name, state] of this.states) if (!next.has(name)) state.session?.close();
    this.states = next;
  }

  /** Polls now, then every interval until stop(). */
  start(): void {
    if (this.timer) return;
    const cycle = () => void this.pollOnce().catch((error: Error) => this.options.logger?.warn({}, `SNMP poll cycle failed: ${error.stack ?? error.message}`));
    cycle();
    this.timer = setInterval(cycle, this.options.intervalMs);
  }

  /** Stops the schedule, waits for polls in flight, closes the sessions. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.cycleRunning;
    for (const state of this.states.values()) {
      state.session?.close();
      state.session = null;
    }
  }

  /** One cycle over every device (those still in flight from the last cycle are skipped and counted). */
  async pollOnce(): Promise<void> {
    const started = performance.now();
    const due: TargetState[] = [];
    for (const state of this.states.values()) {
      if (state.inFlight) this.counters.overruns++;
      else due.push(state);
    }
    let next = 0;
    const worker = async () => {
      while (next < due.length) await this.pollTarget(due[next++]!);
    };
    const cycle = Promise.all(Array.from({ length: Math.min(this.options.concurrency, due.length) }, worker)).then(() => undefined);
    const previousCycle = this.cycleRunning;
    this.cycleRunning = Promise.all([previousCycle, cycle]).then(() => undefined);
    await cycle;
    this.counters.cycles++;
    this.counters.lastCycleMs = performance.now() - started;
  }

  stats(): PollerStats {
    let inFlight = 0;
    for (const state of this.states.values()) if (state.inFlight) inFlight++;
    return { ...this.counters, targets: this.states.size, inFlight };
  }

  /** sysName, sysDescr, sysObjectID of a device, from its last good poll. */
  nodeInfo(name: string): NodeInfo | undefined {
    return this.states.get(name)?.info;
  }

  // ------------------------------------------------------------ one device

  private async pollTarget(state: TargetState): Promise<void> {
    state.inFlight = true;
    try {
      await this.pollDevice(state);
    } catch (error) {
      // Not an SNMP failure (those are handled in pollDevice): a consumer that threw, or a bug. One device's turn is lost, not the poller.
      this.counters.pollsFailed++;
      this.options.logger?.warn({ node: state.target.name }, `SNMP poll of ${state.target.name} stopped: ${(error as Error)?.stack ?? String(error)}`);
    } finally {
      state.inFlight = false;
    }
  }

  private async pollDevice(state: TargetState): Promise<void> {
    const groups = groupsFor(this.options.oidSets, state.target.kind);
    const answer = await this.fetch(state, groups);
    if (!answer) return;
    const { scalars, columns, rttMs } = answer;
    const atMs = this.options.monotonic();
    const time = this.options.clock();
    this.setReachability(state, 'up', time, { rttMs: rttMs.toFixed(1) });
    if (state.columnSources === null) {
      state.columnSources = this.discoverColumnSources(groups, columns);
      state.pollsSinceDiscovery = 0;
    } else state.pollsSinceDiscovery++;

    const scalarValues = new Map(scalars.map((v) => [v.oid, v.value]));
    const sysUpTimeTicks = ticksOf(scalarValues.get(MIB.sysUpTime));
    const elapsedMs = state.previous ? atMs - state.previous.atMs : 0;
    const context: RateContext = {
      state,
      uptime: classifyUptime(state.previous?.sysUpTimeTicks ?? null, sysUpTimeTicks, elapsedMs),
      elapsedMs,
      sample: { atMs, sysUpTimeTicks, counters: new Map() },
      resets: [],
    };
    const drafts = this.draftPoints(groups, scalarValues, indexColumns(columns), rttMs, context);
    this.reportResets(state, time, context, sysUpTimeTicks);
    state.previous = context.sample; // the only history kept
    if (context.uptime === 'restarted') state.columnSources = null; // a reboot may bring new firmware: look again

    for (const draft of drafts.values()) {
      if (draft.measurement === 'interface') deriveInterfaceFields(draft);
      if (Object.keys(draft.fields).length === 0) continue;
      this.emitMetric({ measurement: draft.measurement, tags: { node: state.target.name, ...draft.tags }, fields: draft.fields, time });
    }
    this.counters.pollsOk++;
  }

  /** One GET for the scalars (its round trip is the node's rttMs), then the tables; null when the device failed (already reported). */
  private async fetch(state: TargetState, groups: Array<[string, OidGroup]>): Promise<{ scalars: Varbind[]; columns: Map<Oid, Varbind[]>; rttMs: number } | null> {
    state.session ??= SnmpSession.open(state.endpoint, state.target.credentials, { timing: this.options.timing, maxRepetitions: this.options.maxRepetitions });
    // Ask for every alternative now and then: a module added to a chassis may bring columns the device lacked.
    if (state.pollsSinceDiscovery >= REDISCOVER_EVERY) state.columnSources = null;
    const scalarOids = unique(groups.flatMap(([, g]) => (g.kind === 'scalar' ? Object.values(g.objects).flatMap((f) => f.sources.map((s) => s.oid)) : [])));
    const tables = groups.filter((entry): entry is [string, TableGroup] => entry[1].kind === 'table');
    try {
      const t0 = performance.now();
      const scalars = await state.session.getExisting(scalarOids);
      const rttMs = performance.now() - t0;
      const columns = await this.walkTables(state, state.session, tables);
      this.counters.varbindsReceived += scalars.length;
      for (const cells of columns.values()) this.counters.varbindsReceived += cells.length;
      return { scalars, columns, rttMs };
    } catch (error) {
      this.pollFailed(state, error);
      return null;
    }
  }

  /** Every group's values as point drafts, merged by measurement and row (extra groups land on the built-in points). */
  private draftPoints(groups: Array<[string, OidGroup]>, scalarValues: Map<Oid, SnmpValue>, columnRows: Map<Oid, Map<string, SnmpValue>>, rttMs: number, context: RateContext): Map<string, PointDraft> {
    const drafts = new Map<string, PointDraft>();
    const add: AddDraft = (key, measurement, tags, fields) => {
      const existing = drafts.get(`${measurement}|${key}`);
      if (existing) {
        Object.assign(existing.tags, tags);
        Object.assign(existing.fields, fields);
      } else drafts.set(`${measurement}|${key}`, { measurement, tags: { ...tags }, fields: { ...fields } });
    };
    for (const [groupName, group] of groups) {
      if (group.kind === 'scalar') {
        const row: Row = new Map();
        for (const [key, spec] of Object.entries(group.objects)) {
          const cell = firstPresent(spec.sources, (oid) => scalarValues.get(oid));
          if (cell) row.set(key, cell);
        }
        const { tags, fields } = this.rowToFields(groupName, '0', group.objects, row, context);
        if (groupName === 'system') {
          context.state.info = systemInfo(row);
          Object.assign(fields, { reachable: 1, rttMs: round(rttMs, 3) });
        }
        add('', group.measurement, tags, fields);
        continue;
      }
      const rows = this.tableRows(context.state, groupName, group, columnRows);
      if (groupName === 'processors') shapeProcessors(rows, add);
      else if (groupName === 'storage') shapeStorage(rows, add);
      else {
        for (const [index, row] of rows) {
          const { tags, fields } = this.rowToFields(groupName, index, group.columns, row, context);
          add(`${group.indexTag}=${index}`, group.measurement, { [group.indexTag]: index, ...tags }, fields);
        }
      }
    }
    return drafts;
  }

  /** One counter-reset event per poll at most: the agent restarted, or named counters were cleared. */
  private reportResets(state: TargetState, time: number, context: RateContext, sysUpTimeTicks: number | null): void {
    if (context.uptime === 'restarted' && state.previous) {
      this.emitEvent(state, time, 'counter-reset', 'counter-reset', 'warning', {
        reason: 'agent restarted (sysUpTime went backwards): no rates for this interval',
        previousSysUpTime: String(state.previous.sysUpTimeTicks),
        sysUpTime: String(sysUpTimeTicks),
      });
    } else if (context.resets.length > 0) {
      const { resets } = context;
      this.emitEvent(state, time, 'counter-reset', 'counter-reset', 'notice', {
        reason: 'counters went backwards by more than a wrap allows (cleared on the device): no rates for them this interval',
        counters: resets.slice(0, 20).join(', ') + (resets.length > 20 ? ` and ${resets.length - 20} more` : ''),
      });
    }
  }

  /**
   * Each table in one GETBULK stream of its own, all at once: max-repetitions
   * is the row count seen last time plus one (the extra cell shows the end),
   * so a 4-interface router answers in one datagram without 20 wasted cells
   * per column.
   */
  private async walkTables(state: TargetState, session: SnmpSession, tables: Array<[string, TableGroup]>): Promise<Map<Oid, Varbind[]>> {
    const walks = tables.map(async ([name, group]) => {
      const oids = unique(Object.entries(group.columns).flatMap(([key, spec]) => this.sourcesToAsk(state, name, key, spec).map((s) => s.oid)));
      if (oids.length === 0) return new Map<Oid, Varbind[]>();
      const seen = state.rowsSeen.get(name);
      const repetitions = seen === undefined ? this.options.maxRepetitions : Math.min(Math.max(seen + 1, 2), this.options.maxRepetitions);
      const cells = await session.walkColumns(oids, repetitions);
      state.rowsSeen.set(name, Math.max(0, ...[...cells.values()].map((c) => c.length)));
      return cells;
    });
    const merged = new Map<Oid, Varbind[]>();
    for (const cells of await Promise.all(walks)) for (const [oid, list] of cells) merged.set(oid, list);
    return merged;
  }

  /** Rates, gauges and tags of one row; counters go into the new sample and are compared with the previous one. */
  private rowToFields(
    groupName: string,
    index: string,
    specs: Record<string, FieldSpec>,
    row: Row,
    context: RateContext,
  ): { tags: Record<string, string>; fields: Record<string, number> } {
    const tags: Record<string, string> = {};
    const fields: Record<string, number> = {};
    const speedMbps = gaugeOf(row.get('highSpeed'));
    for (const [key, spec] of Object.entries(specs)) {
      const cell = row.get(key);
      if (!cell) continue;
      if (spec.role === 'tag') tags[spec.tag] = textOf(cell.value);
      else if (spec.role === 'gauge') {
        const n = gaugeOf(cell);
        if (n !== undefined) fields[spec.field] = n;
      } else if (spec.role === 'rate') {
        const counter = counterOf(cell.value);
        if (!counter) continue;
        const counterKey = `${groupName}\u0000${index}\u0000${key}`;
        context.sample.counters.set(counterKey, counter);
        const previous = context.state.previous?.counters.get(counterKey);
        if (!previous || !(context.elapsedMs > 0)) continue;
        const limit = groupName === 'interfaces' && /Octets$/.test(key) ? maxOctetsForSpeed(speedMbps, context.elapsedMs) : undefined;
        const step = counterStep(previous, counter, context.uptime, limit);
        if (step.kind === 'reset') {
          this.counters.counterResets++;
          if (step.reason === 'implausible-wrap') context.resets.push(`${groupName} ${index} ${key} ${previous.value} -> ${counter.value}`);
          continue;
        }
        if (step.wrapped) this.counters.counterWraps++;
        fields[spec.field] = ratePerSecond(step.delta, context.elapsedMs) * (cell.scale ?? 1);
      }
    }
    return { tags, fields };
  }

  /** Rows of a table group by index; each field from the first of its sources the row has. */
  private tableRows(state: TargetState, groupName: string, group: TableGroup, columnRows: Map<Oid, Map<string, SnmpValue>>): Map<string, Row> {
    const rows = new Map<string, Row>();
    for (const [key, spec] of Object.entries(group.columns)) {
      for (const source of this.sourcesToAsk(state, groupName, key, spec)) {
        for (const [index, value] of columnRows.get(source.oid) ?? []) {
          let row = rows.get(index);
          if (!row) rows.set(index, (row = new Map()));
          if (!row.has(key)) row.set(key, { value, scale: source.scale ?? 1 });
        }
      }
    }
    return rows;
  }

  private sourcesToAsk(state: TargetState, groupName: string, key: string, spec: FieldSpec): Source[] {
    return state.columnSources?.get(`${groupName}.${key}`) ?? spec.sources;
  }

  /**
   * After the first good poll, per table field: the preferred source the
   * device has, and a fallback only for rows the preferred one lacks (a
   * device with ifHCInOctets everywhere is not asked for ifInOctets again).
   */
  private discoverColumnSources(groups: Array<[string, OidGroup]>, columns: Map<Oid, Varbind[]>): Map<string, Source[]> {
    const found = new Map<string, Source[]>();
    for (const [groupName, group] of groups) {
      if (group.kind !== 'table') continue;
      for (const [key, spec] of Object.entries(group.columns)) {
        const covered = new Set<string>();
        const kept: Source[] = [];
        for (const source of spec.sources) {
          const indexes = (columns.get(source.oid) ?? []).filter((v) => !isException(v.value)).map((v) => instanceOf(v.oid, source.oid));
          if (indexes.some((index) => !covered.has(index))) kept.push(source);
          for (const index of indexes) covered.add(index);
        }
        found.set(`${groupName}.${key}`, kept);
      }
    }
    return found;
  }

  private pollFailed(state: TargetState, error: unknown): void {
    const egov = error instanceof EgovError ? error : new EgovError('internal', (error as Error)?.message ?? String(error));
    const reason = String(egov.details?.reason ?? egov.code);
    this.counters.pollsFailed++;
    if (reason === 'timeout') this.counters.timeouts++;
    else if (egov.code === 'unauthorized' || egov.code === 'forbidden') this.counters.authFailures++;
    else if (reason === 'malformed-response') this.counters.malformedResponses++;
    // A fresh session next time: v3 engine discovery again (the device may have been replaced or rebooted).
    state.session?.close();
    state.session = null;
    const time = this.options.clock();
    const answered = reason !== 'timeout' && egov.code !== 'internal' && reason !== 'dns';
    this.setReachability(state, answered ? 'up' : 'down', time, { error: egov.message });
    this.emitMetric({ measurement: 'system', tags: { node: state.target.name }, fields: { reachable: answered ? 1 : 0 }, time });
    this.options.logger?.warn({ node: state.target.name, target: describeEndpoint(state.endpoint), code: egov.code, reason }, `SNMP poll of ${state.target.name} failed: ${egov.message}`);
  }

  private setReachability(state: TargetState, now: 'up' | 'down', time: number, detail: Record<string, string>): void {
    const before = state.reachability;
    state.reachability = now;
    if (before === now || (before === 'unknown' && now === 'up')) return;
    const down = now === 'down';
    this.emitEvent(state, time, 'reachability', down ? 'unreachable' : 'reachable', down ? 'error' : 'notice', {
      target: describeEndpoint(state.endpoint),
      ...(before !== 'unknown' ? { previously: before === 'up' ? 'reachable' : 'unreachable' } : {}),
      ...detail,
    });
  }

  private emitMetric(point: MetricPoint): void {
    this.counters.metricsEmitted++;
    this.options.onRecord({ kind: 'metric', record: point });
  }

  private emitEvent(state: TargetState, time: number, kind: EventRecord['kind'], name: string, severity: Severity, detail: Record<string, string>): void {
    this.counters.eventsEmitted++;
    this.options.onRecord({ kind: 'event', record: { time, node: state.target.name, sourceAddress: state.endpoint.host, kind, name, severity, detail } });
  }
}

// ------------------------------------------------------------ shaping helpers

function sameTarget(a: PollTarget, b: PollTarget): boolean {
  return a.address === b.address && a.port === b.port && a.kind === b.kind && JSON.stringify(a.credentials) === JSON.stringify(b.credentials);
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Column OID -> (row index -> value), exceptions left out. */
function indexColumns(columns: Map<Oid, Varbind[]>): Map<Oid, Map<string, SnmpValue>> {
  const out = new Map<Oid, Map<string, SnmpValue>>();
  for (const [column, cells] of columns) {
    const byIndex = new Map<string, SnmpValue>();
    for (const cell of cells) if (!isException(cell.value)) byIndex.set(instanceOf(cell.oid, column), cell.value);
    out.set(column, byIndex);
  }
  return out;
}

function firstPresent(sources: Source[], lookup: (oid: Oid) => SnmpValue | undefined): { value: SnmpValue; scale: number } | undefined {
  for (const source of sources) {
    const value = lookup(source.oid);
    if (value && !isException(value)) return { value, scale: source.scale ?? 1 };
  }
  return undefined;
}

function ticksOf(value: SnmpValue | undefined): number | null {
  return value?.type === 'TimeTicks' ? value.value : null;
}

function gaugeOf(cell: { value: SnmpValue; scale: number } | undefined): number | undefined {
  if (!cell) return undefined;
  const v = cell.value;
  switch (v.type) {
    case 'Integer':
    case 'Gauge32':
    case 'Counter32':
    case 'TimeTicks':
      return v.value * cell.scale;
    case 'Counter64':
      return Number(v.value) * cell.scale;
    default:
      return undefined;
  }
}

function counterOf(value: SnmpValue): CounterSample | undefined {
  if (value.type === 'Counter64') return { value: value.value, width: 64 };
  if (value.type === 'Counter32') return { value: BigInt(value.value), width: 32 };
  return undefined;
}

function textOf(value: SnmpValue): string {
  return value.type === 'OctetString' ? (octetsAsText(value.value) ?? value.value.toString('hex')) : valueAsDetail(value);
}

function systemInfo(row: Row): NodeInfo {
  const text = (key: string) => {
    const cell = row.get(key);
    return cell ? textOf(cell.value) : undefined;
  };
  const info: NodeInfo = {};
  const sysName = text('sysName');
  const sysDescr = text('sysDescr');
  const sysObjectID = text('sysObjectID');
  if (sysName !== undefined) info.sysName = sysName;
  if (sysDescr !== undefined) info.sysDescr = sysDescr;
  if (sysObjectID !== undefined) info.sysObjectID = sysObjectID;
  return info;
}

/** bits/s from octets/s, and utilisation of ifHighSpeed (Mbit/s) in each direction. */
function deriveInterfaceFields(draft: PointDraft): void {
  const f = draft.fields;
  if (f.inOctetsPerSec !== undefined) f.inBitsPerSec = f.inOctetsPerSec * 8;
  if (f.outOctetsPerSec !== undefined) f.outBitsPerSec = f.outOctetsPerSec * 8;
  const speedBps = f.highSpeedMbps !== undefined && f.highSpeedMbps > 0 ? f.highSpeedMbps * 1e6 : undefined;
  if (speedBps !== undefined && f.inBitsPerSec !== undefined) f.inUtilisationPct = (f.inBitsPerSec / speedBps) * 100;
  if (speedBps !== undefined && f.outBitsPerSec !== undefined) f.outUtilisationPct = (f.outBitsPerSec / speedBps) * 100;
  if (draft.tags.ifName === undefined && draft.tags.ifIndex !== undefined) draft.tags.ifName = `ifIndex ${draft.tags.ifIndex}`;
}

/** hrProcessorLoad per CPU -> host.cpuLoadPct, the mean over CPUs. */
function shapeProcessors(rows: Map<string, Row>, add: AddDraft): void {
  const loads = [...rows.values()].map((row) => gaugeOf(row.get('load'))).filter((n): n is number => n !== undefined);
  if (loads.length) add('', 'host', {}, { cpuLoadPct: loads.reduce((a, b) => a + b, 0) / loads.length });
}

const DISK_TYPES: ReadonlySet<string> = new Set([MIB.hrStorageFixedDisk, MIB.hrStorageRemovableDisk, MIB.hrStorageFlashMemory, MIB.hrStorageNetworkDisk]);

/** hrStorage: RAM -> host memory fields; disks -> one storage point each (sizes in bytes via allocation units). */
function shapeStorage(rows: Map<string, Row>, add: AddDraft): void {
  for (const [index, row] of rows) {
    const type = row.get('type')?.value;
    const units = gaugeOf(row.get('units'));
    const size = gaugeOf(row.get('size'));
    const used = gaugeOf(row.get('used'));
    if (type?.type !== 'OID' || units === undefined || size === undefined || used === undefined) continue;
    const sizeBytes = size * units;
    const usedBytes = used * units;
    const usedPct = size > 0 ? (used / size) * 100 : 0;
    if (type.value === MIB.hrStorageRam) add('', 'host', {}, { memoryUsedPct: usedPct, memoryTotalBytes: sizeBytes });
    else if (DISK_TYPES.has(type.value)) {
      const descr = row.get('descr');
      add(`hrStorageIndex=${index}`, 'storage', { storage: descr ? textOf(descr.value) : `hrStorageIndex ${index}` }, { usedPct, sizeBytes, usedBytes });
    }
  }
}
