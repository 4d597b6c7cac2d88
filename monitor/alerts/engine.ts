// The life of an alert, in the database: pending -> firing -> acknowledged
// -> resolved, one live alert per (rule, object) fingerprint, a timeline of
// every change. Observations come from ingest (metric points, logs, traps)
// and from the timer (absences); this file turns them into state changes and
// hands what must be told to the notifier.
//
// What is kept in memory is rebuilt from the database on start (live alerts,
// flap histories), so a restart neither notifies again nor forgets.

import { EgovError, appendAudit, parseSchedule, type Database, type WriteTx } from '../../core/index.js';
import type { EventRecord, LogRecord, MetricPoint } from '../records.js';
import { SEVERITIES as SYSLOG_SEVERITIES } from '../records.js';
import type { Rule, RuleSet } from './rules.js';
import { ALERT_SEVERITIES, type AlertSeverity } from './rules.js';

export type AlertState = 'pending' | 'firing' | 'acknowledged' | 'resolved';
export const ALERT_STATES: readonly AlertState[] = ['pending', 'firing', 'acknowledged', 'resolved'];

export interface NodeInfo {
  name: string;
  kind: string;
  zone: string;
  site: string;
  level: string;
  parents: readonly string[];
}

export interface Alert {
  id: number;
  fingerprint: string;
  rule: string;
  severity: AlertSeverity;
  state: AlertState;
  node: string | null;
  site: string | null;
  zone: string | null;
  labels: Record<string, string>;
  summary: string;
  value: number | null;
  startedAt: string;
  firedAt: string | null;
  resolvedAt: string | null;
  ackBy: string | null;
  ackComment: string | null;
  ackAt: string | null;
  foldedInto: number | null;
  held: boolean;
  notified: boolean;
  mutedBy: string | null;
  flapping: boolean;
  escalated: number;
  updatedAt: string;
}

export interface TimelineEntry {
  at: string;
  kind: string;
  actor: string;
  text: string;
}

/** One look at one object under one rule. raised null: between the thresholds (keep the state). */
export interface Observation {
  rule: Rule;
  object: string;
  node?: string | undefined;
  raised: boolean | null;
  value?: number | undefined;
  at: number;
  summary: string;
  labels?: Record<string, string>;
  /** Traps, logs, reboots: no "clear" sample; resolved after rule.resolveAfterMs without another. */
  event?: boolean;
  /** A node-down observation from staleness rather than a failed poll. */
  stale?: boolean;
}

/** Timeline entries after which an alert's receivers were (or would have been) told it fires: the repeat interval counts from the last. */
const TOLD_KINDS = ['firing', 'unfolded', 'unmuted', 'repeated', 'flapping-stopped'];

export type NotifyKind = 'firing' | 'resolved' | 'flapping' | 'escalation' | 'repeat';

export interface Notifier {
  /** Queue what must be told about these alerts (the notifier routes, groups, rate-limits). */
  enqueue(tx: WriteTx, alerts: readonly Alert[], kind: NotifyKind, now: number, options?: { receivers?: string[]; settleMs?: number }): Promise<void>;
}

export interface Actor {
  actor: string;
  source: string;
}

export interface Matcher {
  name: string;
  value: string;
  regex?: boolean;
}

export interface Silence {
  id: number;
  matchers: Matcher[];
  startsAt: string;
  endsAt: string;
  reason: string;
  createdBy: string;
  createdAt: string;
}

export interface MaintenanceWindow {
  id: number;
  scope: 'node' | 'site' | 'zone';
  target: string;
  startsAt: string | null;
  endsAt: string | null;
  cron: string | null;
  durationMs: number | null;
  reason: string;
  createdBy: string;
  createdAt: string;
}

export interface EngineOptions {
  database: Database;
  rules: RuleSet;
  nodes: () => Promise<NodeInfo[]>;
  notifier?: Notifier;
  now?: () => number;
  /** Nagios-style flap thresholds, in percent (defaults 30 and 25, Icinga's). */
  flapHigh?: number;
  flapLow?: number;
  /** Node and interface alerts wait this long before being told, so a parent that fails in the same poll folds them (default 1 s). */
  dependencySettleMs?: number;
  /** A folded child whose parent came back and that is not polled again within this long is told as it stands (default 10 min). */
  holdTimeoutMs?: number;
}

const FLAP_CHECKS = 21;
const NODE_RULE_KINDS = new Set(['node-down', 'interface-down']);
/** What folds behind a down parent: node and interface alerts, and events raised about a node (AlertService.raiseEvent with a node). */
const FOLDING_KINDS = new Set(['node-down', 'interface-down', 'event']);

/** Nagios: the last 21 states; each change weighted from 0.75 (oldest) to 1.25 (newest); percent = sum x 100 / 20. */
export function flapPercent(history: string): number {
  const h = history.slice(-FLAP_CHECKS);
  let sum = 0;
  const transitions = FLAP_CHECKS - 1;
  const offset = transitions - (h.length - 1);
  for (let i = 1; i < h.length; i++) {
    if (h[i] !== h[i - 1]) {
      const position = offset + i - 1; // 0 = oldest transition slot
      sum += 0.75 + (0.5 * position) / (transitions - 1);
    }
  }
  return (sum * 100) / transitions;
}

export function fingerprintOf(rule: string, object: string): string {
  return `${rule}|${object}`;
}

export const toAlert = (r: Record<string, any>): Alert => ({
  id: Number(r.id),
  fingerprint: r.fingerprint,
  rule: r.rule,
  severity: r.severity,
  state: r.state,
  node: r.node,
  site: r.site,
  zone: r.zone,
  labels: JSON.parse(r.labels),
  summary: r.summary,
  value: r.value === null || r.value === undefined ? null : Number(r.value),
  startedAt: r.started_at,
  firedAt: r.fired_at,
  resolvedAt: r.resolved_at,
  ackBy: r.ack_by,
  ackComment: r.ack_comment,
  ackAt: r.ack_at,
  foldedInto: r.folded_into === null ? null : Number(r.folded_into),
  held: Number(r.held) > 0,
  notified: Number(r.notified) === 1,
  mutedBy: r.muted_by,
  flapping: Number(r.flapping) === 1,
  escalated: Number(r.escalated),
  updatedAt: r.updated_at,
});

interface Live {
  alert: Alert;
  /** Last observation that raised it (events: the last event). */
  lastRaisedAt: number;
  heldSince: number;
  rule: Rule;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class AlertEngine {
  private readonly database: Database;
  private readonly now: () => number;
  private rules: Map<string, Rule>;
  private ruleSet: RuleSet;
  private readonly live = new Map<string, Live>();
  private readonly history = new Map<string, string>();
  private readonly flapping = new Set<string>();
  private readonly lastUptime = new Map<string, number>();
  private nodeInfo = new Map<string, NodeInfo>();
  private nodesLoadedAt = 0;
  private loaded: Promise<void> | undefined;
  /** One change at a time: observations, the timer and operators' actions are serialised. */
  private chain: Promise<unknown> = Promise.resolve();
  private readonly flapHigh: number;
  private readonly flapLow: number;
  readonly settleMs: number;
  private readonly holdTimeoutMs: number;
  notifier: Notifier | undefined;
  /** Observations evaluated (the benchmark reads it). */
  evaluated = 0;

  constructor(private readonly options: EngineOptions) {
    this.database = options.database;
    this.now = options.now ?? Date.now;
    this.ruleSet = options.rules;
    this.rules = new Map(options.rules.rules.map((r) => [r.name, r]));
    this.flapHigh = options.flapHigh ?? 30;
    this.flapLow = options.flapLow ?? 25;
    this.settleMs = options.dependencySettleMs ?? 1000;
    this.holdTimeoutMs = options.holdTimeoutMs ?? 10 * 60_000;
    this.notifier = options.notifier;
  }

  get ruleList(): readonly Rule[] {
    return this.ruleSet.rules;
  }

  get routes(): RuleSet {
    return this.ruleSet;
  }

  rule(name: string): Rule | undefined {
    return this.rules.get(name);
  }

  /** Loads live alerts and flap histories from the database (once). */
  ready(): Promise<void> {
    this.loaded ??= (async () => {
      const rows = await this.database.db.selectFrom('alert_alert').selectAll().where('state', '!=', 'resolved').execute();
      for (const row of rows) {
        const alert = toAlert(row);
        const rule = this.rules.get(alert.rule);
        if (!rule) continue; // a rule removed from the file: its alerts are resolved by sweep()
        this.live.set(alert.fingerprint, { alert, lastRaisedAt: Date.parse(alert.updatedAt), heldSince: alert.held ? Date.parse(alert.updatedAt) : 0, rule });
      }
      const checks = await this.database.db.selectFrom('alert_check').selectAll().execute();
      for (const c of checks) {
        this.history.set(c.fingerprint, c.history);
        if (Number(c.flapping) === 1) this.flapping.add(c.fingerprint);
      }
    })();
    return this.loaded;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.chain.then(work, work);
    this.chain = run.catch(() => undefined);
    return run;
  }

  async nodes(): Promise<Map<string, NodeInfo>> {
    if (this.now() - this.nodesLoadedAt > 30_000 || this.nodeInfo.size === 0) {
      this.nodeInfo = new Map((await this.options.nodes()).map((n) => [n.name, n]));
      this.depths.clear();
      this.nodesLoadedAt = this.now();
    }
    return this.nodeInfo;
  }

  /** Forget the cached inventory (after an import, in tests). */
  invalidateNodes(): void {
    this.nodesLoadedAt = 0;
  }

  private inScope(rule: Rule, node: NodeInfo | undefined, nodeName: string | undefined): boolean {
    const s = rule.scope;
    if (s.node && (!nodeName || !s.node.includes(nodeName))) return false;
    if (!s.zone && !s.site && !s.level && !s.kind) return true;
    if (!node) return false;
    return (!s.zone || s.zone.includes(node.zone)) && (!s.site || s.site.includes(node.site)) && (!s.level || s.level.includes(node.level)) && (!s.kind || s.kind.includes(node.kind));
  }

  // ------------------------------------------------------------ from ingest

  /** What a delivery stored, turned into observations of every rule that reads it. */
  async ingest(batch: { metrics: readonly MetricPoint[]; logs: readonly LogRecord[]; events: readonly EventRecord[] }): Promise<void> {
    await this.ready();
    const nodes = await this.nodes();
    const observations: Observation[] = [];
    for (const point of batch.metrics) this.observePoint(point, nodes, observations);
    for (const log of batch.logs) this.observeLog(log, nodes, observations);
    for (const event of batch.events) this.observeEvent(event, nodes, observations);
    if (observations.length) await this.apply(observations);
  }

  private observePoint(point: MetricPoint, nodes: Map<string, NodeInfo>, out: Observation[]): void {
    const nodeName = point.tags.node;
    const node = nodeName ? nodes.get(nodeName) : undefined;
    for (const rule of this.ruleSet.rules) {
      if (!rule.enabled) continue;
      switch (rule.kind) {
        case 'node-down': {
          if (point.measurement !== 'system' || !nodeName) break;
          const reachable = point.fields.reachable;
          if (reachable === undefined || !this.inScope(rule, node, nodeName)) break;
          out.push({ rule, object: nodeName, node: nodeName, raised: reachable < 1, at: point.time, summary: reachable < 1 ? 'not answering SNMP' : 'answering again' });
          break;
        }
        case 'rebooted': {
          if (point.measurement !== 'system' || !nodeName) break;
          const up = point.fields.sysUpTime;
          if (up === undefined) break;
          const before = this.lastUptime.get(nodeName);
          this.lastUptime.set(nodeName, up);
          if (before !== undefined && up < before && this.inScope(rule, node, nodeName)) out.push({ rule, object: nodeName, node: nodeName, raised: true, event: true, at: point.time, value: up, summary: `sysUpTime went back from ${before} to ${up}` });
          break;
        }
        case 'interface-down': {
          if (point.measurement !== 'interface' || !nodeName) break;
          const oper = point.fields.operStatus;
          const admin = point.fields.adminStatus;
          if (oper === undefined || !this.inScope(rule, node, nodeName)) break;
          const name = point.tags.ifName ?? point.tags.ifIndex ?? '?';
          const raised = admin === 1 && (oper === 2 || oper === 7);
          out.push({ rule, object: `${nodeName}/${name}`, node: nodeName, raised, at: point.time, summary: raised ? `interface ${name} down (admin up)` : `interface ${name} up`, labels: { interface: name } });
          break;
        }
        case 'threshold': {
          const metric = rule.metric!;
          if (point.measurement !== metric.measurement) break;
          const value = point.fields[metric.field];
          if (value === undefined || !this.inScope(rule, node, nodeName)) break;
          const extra = point.tags.ifName ?? point.tags.storage ?? point.tags.agent ?? point.tags.target;
          const object = [nodeName ?? '', extra ?? ''].filter(Boolean).join('/') || metric.measurement;
          let raised: boolean | null;
          if (rule.above !== undefined) raised = value >= rule.above ? true : value <= rule.clear! ? false : null;
          else raised = value <= rule.below! ? true : value >= rule.clear! ? false : null;
          if (raised === null && rule.clear === (rule.above ?? rule.below)) raised = false;
          out.push({ rule, object, node: nodeName, raised, value, at: point.time, summary: `${metric.measurement}.${metric.field} ${extra ? `(${extra}) ` : ''}= ${Math.round(value * 100) / 100} (raise ${rule.above !== undefined ? '>=' : '<='} ${rule.above ?? rule.below}, clear ${rule.clear})`, ...(extra ? { labels: { object: extra } } : {}) });
          break;
        }
        default:
          break;
      }
    }
  }

  private observeLog(log: LogRecord, nodes: Map<string, NodeInfo>, out: Observation[]): void {
    const nodeName = log.node ?? undefined;
    const node = nodeName ? nodes.get(nodeName) : undefined;
    for (const rule of this.ruleSet.rules) {
      if (!rule.enabled || rule.kind !== 'syslog') continue;
      if (rule.minSeverity && SYSLOG_SEVERITIES.indexOf(log.severity) > SYSLOG_SEVERITIES.indexOf(rule.minSeverity)) continue;
      if (rule.pattern && !rule.pattern.test(log.message)) continue;
      if (!this.inScope(rule, node, nodeName)) continue;
      out.push({ rule, object: nodeName ?? log.sourceAddress, node: nodeName, raised: true, event: true, at: log.time, summary: log.message.slice(0, 300), labels: { severity_syslog: log.severity } });
    }
  }

  private observeEvent(event: EventRecord, nodes: Map<string, NodeInfo>, out: Observation[]): void {
    if (event.kind !== 'trap' && event.kind !== 'inform') return;
    const nodeName = event.node ?? undefined;
    const node = nodeName ? nodes.get(nodeName) : undefined;
    const oid = event.name.replace(/^\./, '');
    for (const rule of this.ruleSet.rules) {
      if (!rule.enabled || rule.kind !== 'trap' || rule.trapOid !== oid) continue;
      if (!this.inScope(rule, node, nodeName)) continue;
      const ifName = event.detail['1.3.6.1.2.1.31.1.1.1.1'] ?? Object.entries(event.detail).find(([k]) => k.startsWith('1.3.6.1.2.1.2.2.1.2') || k.startsWith('1.3.6.1.2.1.31.1.1.1.1'))?.[1];
      out.push({ rule, object: `${nodeName ?? event.sourceAddress}${ifName ? `/${ifName}` : ''}`, node: nodeName, raised: true, event: true, at: event.time, summary: `trap ${oid}${ifName ? ` (${ifName})` : ''}`, labels: { trapOid: oid } });
    }
  }

  // ------------------------------------------------------------ applying

  /** Applies observations (from ingest or from the timer's checks), in order. */
  apply(observations: readonly Observation[]): Promise<void> {
    return this.serial(() => this.applyNow(observations));
  }

  private async applyNow(observations: readonly Observation[]): Promise<void> {
    await this.ready();
    const nodes = await this.nodes();
    const changes: Array<(tx: WriteTx) => Promise<void>> = [];
    // Parents before children: a child polled (and failed) before its parent in the same delivery
    // then folds at once instead of firing, being queued and folded afterwards.
    const ordered = observations.some((o) => o.rule.kind === 'node-down' && o.node) ? [...observations].sort((a, b) => this.depth(a, nodes) - this.depth(b, nodes)) : observations;
    for (const o of ordered) {
      this.evaluated++;
      const fp = fingerprintOf(o.rule.name, o.object);
      const live = this.live.get(fp);
      // Flap history: state checks only (events have no clear sample).
      if (!o.event && o.raised !== null) {
        const before = this.history.get(fp) ?? '';
        const bit = o.raised ? '1' : '0';
        const next = (before + bit).slice(-FLAP_CHECKS);
        this.history.set(fp, next);
        const changed = before.at(-1) !== bit;
        const percent = flapPercent(next);
        const wasFlapping = this.flapping.has(fp);
        const nowFlapping = wasFlapping ? percent > this.flapLow : percent > this.flapHigh;
        if (nowFlapping !== wasFlapping) {
          if (nowFlapping) this.flapping.add(fp);
          else this.flapping.delete(fp);
          changes.push((tx) => this.flapChanged(tx, fp, o, nowFlapping, percent));
        }
        if (changed || nowFlapping !== wasFlapping) changes.push((tx) => this.saveHistory(tx, fp, next));
      }
      if (o.raised === true) {
        if (!live) changes.push((tx) => this.open(tx, fp, o, nodes));
        else {
          live.lastRaisedAt = Math.max(live.lastRaisedAt, o.at);
          if (live.alert.held && o.at >= live.heldSince) changes.push((tx) => this.release(tx, live, true, o.at));
          else if (live.alert.state === 'pending' && o.at - Date.parse(live.alert.startedAt) >= o.rule.forMs) changes.push((tx) => this.fire(tx, live, o.at, nodes));
        }
      } else if (o.raised === false && live) {
        if (live.alert.held && o.at >= live.heldSince) changes.push((tx) => this.release(tx, live, false, o.at));
        else if (!live.alert.held) changes.push((tx) => this.resolve(tx, live, o.at, { actor: 'system', source: 'rules' }, o.summary));
      }
    }
    if (!changes.length) return;
    await this.database.write(async (tx) => {
      this.muteCache = {};
      try {
        for (const change of changes) await change(tx);
      } finally {
        this.muteCache = undefined;
      }
    });
  }

  private readonly depths = new Map<string, number>();

  /** How far a node-down observation's node is from the core (others: 0, kept in their order by the stable sort). */
  private depth(o: Observation, nodes: Map<string, NodeInfo>): number {
    if (o.rule.kind !== 'node-down' || !o.node) return 0;
    const walk = (name: string, seen: number): number => {
      const known = this.depths.get(name);
      if (known !== undefined) return known;
      const parents = nodes.get(name)?.parents ?? [];
      const d = parents.length === 0 || seen > 64 ? 0 : 1 + Math.min(...parents.map((p) => walk(p, seen + 1)));
      this.depths.set(name, d);
      return d;
    };
    return walk(o.node, 0);
  }

  private async saveHistory(tx: WriteTx, fp: string, history: string): Promise<void> {
    const at = iso(this.now());
    const flapping = this.flapping.has(fp) ? 1 : 0;
    await tx
      .insertInto('alert_check')
      .values({ fingerprint: fp, history, flapping, updated_at: at })
      .onConflict((oc) => oc.column('fingerprint').doUpdateSet({ history, flapping, updated_at: at }))
      .execute();
  }

  private async timeline(tx: WriteTx, alertId: number, kind: string, text: string, actor = 'system', at = this.now()): Promise<void> {
    await tx.insertInto('alert_event').values({ alert_id: alertId, at: iso(at), kind, actor, text }).execute();
    if (TOLD_KINDS.includes(kind)) this.told.set(alertId, at);
  }

  private async update(tx: WriteTx, alert: Alert, patch: Partial<Record<string, unknown>>): Promise<void> {
    await tx.updateTable('alert_alert').set({ ...patch, updated_at: iso(this.now()) } as never).where('id', '=', alert.id).execute();
  }

  private async open(tx: WriteTx, fp: string, o: Observation, nodes: Map<string, NodeInfo>): Promise<void> {
    if (this.live.has(fp)) return;
    const node = o.node ? nodes.get(o.node) : undefined;
    const labels = { ...o.rule.labels, ...(o.labels ?? {}) };
    const now = iso(this.now());
    const row = {
      fingerprint: fp,
      live_fingerprint: fp,
      rule: o.rule.name,
      severity: o.rule.severity,
      state: 'pending' as const,
      node: o.node ?? null,
      site: node?.site ?? null,
      zone: node?.zone ?? null,
      labels: JSON.stringify(labels),
      summary: o.summary,
      value: o.value ?? null,
      started_at: iso(o.at),
      fired_at: null,
      resolved_at: null,
      ack_by: null,
      ack_comment: null,
      ack_at: null,
      folded_into: null,
      held: 0,
      notified: 0,
      muted_by: null,
      flapping: this.flapping.has(fp) ? 1 : 0,
      escalated: 0,
      updated_at: now,
    };
    const inserted = await tx.insertInto('alert_alert').values(row).returning('id').executeTakeFirstOrThrow();
    const alert = toAlert({ ...row, id: inserted.id });
    const live: Live = { alert, lastRaisedAt: o.at, heldSince: 0, rule: o.rule };
    this.live.set(fp, live);
    await this.timeline(tx, alert.id, 'pending', o.summary, 'system', o.at);
    if (o.rule.forMs === 0) await this.fire(tx, live, o.at, nodes);
  }

  /** The alert a node's alert folds into: the node-down alert of the topmost down ancestor, when every parent is down. */
  private foldTarget(nodeName: string | null, rule: Rule, nodes: Map<string, NodeInfo>): Live | undefined {
    if (!nodeName) return undefined;
    if (rule.kind === 'interface-down') {
      // An interface of a node that is itself down (or folded): the node's alert speaks for it.
      const own = this.nodeDown(nodeName);
      if (own) return this.rootOf(own);
    }
    if (!FOLDING_KINDS.has(rule.kind)) return undefined;
    const info = nodes.get(nodeName);
    if (!info || info.parents.length === 0) return undefined;
    const parents = info.parents.map((p) => this.nodeDown(p));
    if (parents.some((p) => !p)) return undefined;
    return this.rootOf(parents[0]!);
  }

  private nodeDown(node: string): Live | undefined {
    for (const rule of this.ruleSet.rules) {
      if (rule.kind !== 'node-down') continue;
      const live = this.live.get(fingerprintOf(rule.name, node));
      if (live && live.alert.state !== 'pending' && !live.alert.held) return live;
    }
    return undefined;
  }

  private rootOf(live: Live): Live {
    let current = live;
    for (let i = 0; i < 64 && current.alert.foldedInto !== null; i++) {
      const parent = [...this.live.values()].find((l) => l.alert.id === current.alert.foldedInto);
      if (!parent) break;
      current = parent;
    }
    return current;
  }

  private async fire(tx: WriteTx, live: Live, at: number, nodes: Map<string, NodeInfo>): Promise<void> {
    const alert = live.alert;
    if (alert.state !== 'pending') return;
    alert.state = 'firing';
    alert.firedAt = iso(at);
    const target = this.foldTarget(alert.node, live.rule, nodes);
    const muted = target ? 'folded' : this.flapping.has(alert.fingerprint) ? 'flapping' : await this.mutedBy(tx, alert, at);
    alert.foldedInto = target ? target.alert.id : null;
    alert.mutedBy = muted;
    alert.notified = muted === null;
    if (target) alert.labels = { ...alert.labels, state: 'unreachable' };
    await this.update(tx, alert, { state: 'firing', fired_at: alert.firedAt, folded_into: alert.foldedInto, muted_by: muted, notified: alert.notified ? 1 : 0, labels: JSON.stringify(alert.labels) });
    await this.timeline(tx, alert.id, 'firing', target ? `folded into alert ${target.alert.id} (${target.alert.node ?? target.alert.rule} is down)` : muted ? `firing, not notified (${muted})` : 'firing', 'system', at);
    // A parent that fires folds the children that fired just before it (polled before it in the same round).
    if (live.rule.kind === 'node-down' && alert.node) await this.foldChildren(tx, live, nodes);
    if (alert.notified) await this.notifier?.enqueue(tx, [alert], 'firing', this.now(), NODE_RULE_KINDS.has(live.rule.kind) ? { settleMs: this.settleMs } : {});
  }

  private async foldChildren(tx: WriteTx, parent: Live, nodes: Map<string, NodeInfo>): Promise<void> {
    for (const child of this.live.values()) {
      if (child === parent || child.alert.state === 'pending' || child.alert.foldedInto !== null || !FOLDING_KINDS.has(child.rule.kind) || !child.alert.node) continue;
      const target = this.foldTarget(child.alert.node, child.rule, nodes);
      if (!target || target === child) continue;
      child.alert.foldedInto = target.alert.id;
      child.alert.mutedBy = 'folded';
      const wasNotified = child.alert.notified;
      child.alert.notified = false;
      await this.update(tx, child.alert, { folded_into: target.alert.id, muted_by: 'folded', notified: 0 });
      await this.timeline(tx, child.alert.id, 'folded', `folded into alert ${target.alert.id} (${target.alert.node} is down)${wasNotified ? '' : ''}`);
    }
  }

  /** Maintenance or a silence that covers the alert now, if any. */
  private async mutedBy(tx: WriteTx | Database['db'], alert: Alert, at: number): Promise<string | null> {
    if (await this.inMaintenance(tx, alert, at)) return 'maintenance';
    if (await this.silencedBy(tx, alert, at)) return 'silence';
    return null;
  }

  /** Windows and silences, read once per batch of changes (a storm checks them for every alert). */
  private muteCache: { windows?: Promise<MaintenanceWindow[]>; silences?: Promise<Silence[]> } | undefined;

  async inMaintenance(db: WriteTx | Database['db'], alert: Pick<Alert, 'node' | 'site' | 'zone'>, at: number): Promise<MaintenanceWindow | undefined> {
    const windows = await (this.muteCache ? (this.muteCache.windows ??= listMaintenance(db)) : listMaintenance(db));
    return windows.find((w) => windowCovers(w, alert, at));
  }

  private async silencedBy(db: WriteTx | Database['db'], alert: Alert, at: number): Promise<Silence | undefined> {
    const silences = await (this.muteCache ? (this.muteCache.silences ??= listSilences(db, at)) : listSilences(db, at));
    return silences.find((s) => silenceMatches(s, alert));
  }

  private async resolve(tx: WriteTx, live: Live, at: number, by: Actor, why: string): Promise<void> {
    const alert = live.alert;
    this.live.delete(alert.fingerprint);
    const wasFiring = alert.state !== 'pending';
    alert.state = 'resolved';
    alert.resolvedAt = iso(at);
    await this.update(tx, alert, { state: 'resolved', resolved_at: alert.resolvedAt, live_fingerprint: null });
    await this.timeline(tx, alert.id, 'resolved', wasFiring ? `resolved: ${why}` : `cleared before firing: ${why}`, by.actor, at);
    if (wasFiring && alert.notified && !this.flapping.has(alert.fingerprint)) await this.notifier?.enqueue(tx, [alert], 'resolved', this.now());
    // Children folded into it: hold them until their nodes are polled again.
    const heldAt = Math.max(at, this.now());
    for (const child of this.live.values()) {
      if (child.alert.foldedInto !== alert.id) continue;
      child.alert.held = true;
      child.heldSince = heldAt;
      child.alert.foldedInto = null;
      await this.update(tx, child.alert, { held: 1, folded_into: null });
      await this.timeline(tx, child.alert.id, 'held', `alert ${alert.id} resolved: waiting for ${child.alert.node ?? 'the object'} to be polled again`);
    }
  }

  /** A held child polled again: still down -> told now; up -> resolved without a word. */
  private async release(tx: WriteTx, live: Live, stillRaised: boolean, at: number, why = 'polled again'): Promise<void> {
    const alert = live.alert;
    alert.held = false;
    live.heldSince = 0;
    if (!stillRaised) {
      alert.notified = false;
      await this.update(tx, alert, { held: 0, notified: 0 });
      await this.resolve(tx, live, at, { actor: 'system', source: 'rules' }, `${why}: up after its parent returned`);
      return;
    }
    const muted = await this.mutedBy(tx, alert, at);
    alert.mutedBy = muted;
    alert.notified = muted === null;
    await this.update(tx, alert, { held: 0, muted_by: muted, notified: alert.notified ? 1 : 0 });
    await this.timeline(tx, alert.id, 'unfolded', `${why}: still down after its parent returned`);
    if (alert.notified) await this.notifier?.enqueue(tx, [alert], 'firing', this.now());
  }

  private async flapChanged(tx: WriteTx, fp: string, o: Observation, flapping: boolean, percent: number): Promise<void> {
    const live = this.live.get(fp);
    const latest = live?.alert ?? (await tx.selectFrom('alert_alert').selectAll().where('fingerprint', '=', fp).orderBy('id', 'desc').limit(1).executeTakeFirst().then((r) => (r ? toAlert(r) : undefined)));
    if (!latest) return;
    latest.flapping = flapping;
    await this.update(tx, latest, { flapping: flapping ? 1 : 0 });
    await this.timeline(tx, latest.id, flapping ? 'flapping' : 'flapping-stopped', `state change ${percent.toFixed(1)} % over the last ${FLAP_CHECKS} checks (${flapping ? `above ${this.flapHigh}` : `at or below ${this.flapLow}`})`);
    if (flapping) {
      if (latest.foldedInto === null) await this.notifier?.enqueue(tx, [latest], 'flapping', this.now());
    } else if (live && live.alert.state !== 'pending' && !live.alert.notified && live.alert.mutedBy === 'flapping') {
      live.alert.mutedBy = null;
      live.alert.notified = true;
      await this.update(tx, live.alert, { muted_by: null, notified: 1 });
      await this.notifier?.enqueue(tx, [live.alert], 'firing', this.now());
    }
    void o;
  }

  // ------------------------------------------------------------ the timer

  /**
   * The periodic sweep: pending alerts whose period passed, events past
   * their resolve time, held children never polled again, maintenance and
   * silences that ended, escalation and repeats.
   */
  sweep(options: { escalate?: (alert: Alert, level: number) => string[] | undefined; repeatMs?: (alert: Alert) => number } = {}): Promise<void> {
    return this.serial(async () => {
      await this.ready();
      const now = this.now();
      const nodes = await this.nodes();
      await this.database.write(async (tx) => {
        for (const live of [...this.live.values()]) {
          const alert = live.alert;
          if (!this.rules.has(alert.rule)) {
            await this.resolve(tx, live, now, { actor: 'system', source: 'rules' }, 'its rule no longer exists');
            continue;
          }
          if (alert.state === 'pending' && now - Date.parse(alert.startedAt) >= live.rule.forMs && (live.rule.kind === 'event' || now - live.lastRaisedAt < Math.max(live.rule.forMs, 5 * 60_000))) {
            await this.fire(tx, live, now, nodes);
            continue;
          }
          if (live.rule.kind === 'syslog' || live.rule.kind === 'trap' || live.rule.kind === 'rebooted') {
            if (now - live.lastRaisedAt >= live.rule.resolveAfterMs) {
              await this.resolve(tx, live, now, { actor: 'system', source: 'rules' }, `no further occurrence for ${Math.round(live.rule.resolveAfterMs / 1000)} s`);
              continue;
            }
          }
          if (alert.held && now - live.heldSince >= this.holdTimeoutMs) {
            await this.release(tx, live, true, now, `not polled within ${Math.round(this.holdTimeoutMs / 1000)} s`);
            continue;
          }
          if ((alert.state === 'firing' || alert.state === 'acknowledged') && (alert.mutedBy === 'maintenance' || alert.mutedBy === 'silence')) {
            const still = await this.mutedBy(tx, alert, now);
            if (!still) {
              alert.mutedBy = null;
              alert.notified = true;
              await this.update(tx, alert, { muted_by: null, notified: 1 });
              await this.timeline(tx, alert.id, 'unmuted', 'maintenance window or silence ended while still firing: notified');
              await this.notifier?.enqueue(tx, [alert], 'firing', now);
            }
            continue;
          }
          if (alert.state === 'firing' && alert.notified && options.escalate && alert.firedAt) {
            const to = options.escalate(alert, alert.escalated);
            if (to && to.length) {
              alert.escalated++;
              await this.update(tx, alert, { escalated: alert.escalated });
              await this.timeline(tx, alert.id, 'escalated', `not acknowledged: escalated to ${to.join(', ')}`);
              await this.notifier?.enqueue(tx, [alert], 'escalation', now, { receivers: to });
            }
          }
          // Repeat (Alertmanager's repeat_interval, per route): still firing, not acknowledged, not muted: told again.
          if (alert.state === 'firing' && alert.notified && alert.mutedBy === null && !alert.held && alert.foldedInto === null && !alert.flapping && options.repeatMs) {
            const every = options.repeatMs(alert);
            if (every > 0 && now - (await this.lastTold(tx, alert)) >= every) {
              // A window or silence that began after it fired: recorded, not repeated.
              if (await this.mutedBy(tx, alert, now)) continue;
              this.told.set(alert.id, now);
              await this.timeline(tx, alert.id, 'repeated', `still firing after ${Math.round(every / 60_000)} min, not acknowledged: told again`, 'system', now);
              await this.notifier?.enqueue(tx, [alert], 'repeat', now);
            }
          }
        }
      });
    });
  }

  /** When an alert's receivers were last told it fires: kept here, read from its timeline once (a restart keeps the interval). */
  private readonly told = new Map<number, number>();

  private async lastTold(tx: WriteTx, alert: Alert): Promise<number> {
    let at = this.told.get(alert.id);
    if (at === undefined) {
      const row = await tx
        .selectFrom('alert_event')
        .select((eb) => eb.fn.max('at').as('at'))
        .where('alert_id', '=', alert.id)
        .where('kind', 'in', TOLD_KINDS)
        .executeTakeFirst();
      at = row?.at ? Date.parse(String(row.at)) : Date.parse(alert.firedAt ?? alert.startedAt);
      if (this.told.size > 100_000) this.told.clear();
      this.told.set(alert.id, at);
    }
    return at;
  }

  // ------------------------------------------------------------ operators

  async get(id: number): Promise<Alert | undefined> {
    const row = await this.database.db.selectFrom('alert_alert').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAlert(row) : undefined;
  }

  async timelineOf(id: number): Promise<TimelineEntry[]> {
    const rows = await this.database.db.selectFrom('alert_event').select(['at', 'kind', 'actor', 'text']).where('alert_id', '=', id).orderBy('id').execute();
    return rows;
  }

  /** foldedCount for many alerts in one query per 500: the notifier composes a claimed batch with it. */
  async foldedCounts(ids: readonly number[]): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.database.db
        .selectFrom('alert_alert')
        .select((eb) => ['folded_into', eb.fn.countAll<number>().as('n')])
        .where('folded_into', 'in', ids.slice(i, i + 500))
        .where('state', '!=', 'resolved')
        .groupBy('folded_into')
        .execute();
      for (const r of rows) counts.set(Number(r.folded_into), Number(r.n));
    }
    return counts;
  }

  async foldedCount(id: number): Promise<number> {
    const row = await this.database.db.selectFrom('alert_alert').select((eb) => eb.fn.countAll<number>().as('n')).where('folded_into', '=', id).where('state', '!=', 'resolved').executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async list(filter: { state?: AlertState; severity?: AlertSeverity; node?: string; site?: string; zone?: string; limit?: number } = {}): Promise<Alert[]> {
    let q = this.database.db.selectFrom('alert_alert').selectAll();
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.severity) q = q.where('severity', '=', filter.severity);
    if (filter.node) q = q.where('node', '=', filter.node);
    if (filter.site) q = q.where('site', '=', filter.site);
    if (filter.zone) q = q.where('zone', '=', filter.zone);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit ?? 500).execute();
    const alerts = rows.map(toAlert);
    const rank = (a: Alert) => (a.state === 'resolved' ? 1 : 0) * 10 + ALERT_SEVERITIES.indexOf(a.severity);
    return alerts.sort((a, b) => rank(a) - rank(b) || b.id - a.id);
  }

  private liveById(id: number): Live {
    const live = [...this.live.values()].find((l) => l.alert.id === id);
    if (!live) throw new EgovError('conflict', `alert ${id} is not live (already resolved, or no such alert)`);
    return live;
  }

  acknowledge(id: number, comment: string, by: Actor): Promise<Alert> {
    return this.serial(async () => {
      await this.ready();
      if (!comment.trim()) throw new EgovError('bad-request', 'an acknowledgement needs a comment');
      if (!(await this.get(id))) throw new EgovError('not-found', `no alert ${id}`);
      const live = this.liveById(id);
      if (live.alert.state !== 'firing') throw new EgovError('conflict', `alert ${id} is ${live.alert.state}: only a firing alert is acknowledged`);
      const now = this.now();
      await this.database.write(async (tx) => {
        live.alert.state = 'acknowledged';
        live.alert.ackBy = by.actor;
        live.alert.ackComment = comment;
        live.alert.ackAt = iso(now);
        await this.update(tx, live.alert, { state: 'acknowledged', ack_by: by.actor, ack_comment: comment, ack_at: iso(now) });
        await this.timeline(tx, id, 'acknowledged', comment, by.actor, now);
        await appendAudit(tx, { actor: by.actor, action: 'alerts.ack', object: `alert:${id}`, source: by.source, outcome: 'success', detail: { rule: live.alert.rule, node: live.alert.node, comment } });
      });
      return live.alert;
    });
  }

  /** An operator resolves a live alert by hand (the condition may still hold: it opens again if it does). */
  resolveByHand(id: number, note: string, by: Actor): Promise<Alert> {
    return this.serial(async () => {
      await this.ready();
      if (!(await this.get(id))) throw new EgovError('not-found', `no alert ${id}`);
      const live = this.liveById(id);
      const now = this.now();
      await this.database.write(async (tx) => {
        await this.resolve(tx, live, now, by, note ? `by hand: ${note}` : 'by hand');
        await appendAudit(tx, { actor: by.actor, action: 'alerts.resolve', object: `alert:${id}`, source: by.source, outcome: 'success', detail: { rule: live.alert.rule, node: live.alert.node, note } });
      });
      this.history.delete(live.alert.fingerprint);
      return live.alert;
    });
  }

  async addSilence(input: { matchers: Matcher[]; forMs: number; reason: string }, by: Actor): Promise<Silence> {
    if (!input.matchers.length) throw new EgovError('bad-request', 'a silence needs at least one matcher KEY=VALUE');
    for (const m of input.matchers) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(m.name)) throw new EgovError('bad-request', `silence matcher ${JSON.stringify(m.name)} is not a label name`);
      if (m.regex) {
        try {
          new RegExp(m.value);
        } catch (error) {
          throw new EgovError('bad-request', `silence matcher ${m.name}=~${m.value}: bad regular expression: ${(error as Error).message}`);
        }
      }
    }
    if (!(input.forMs > 0) || input.forMs > 366 * 86_400_000) throw new EgovError('bad-request', 'a silence lasts more than 0 and at most 366 days');
    if (!input.reason.trim()) throw new EgovError('bad-request', 'a silence needs a reason');
    const now = this.now();
    const row = { matchers: JSON.stringify(input.matchers), starts_at: iso(now), ends_at: iso(now + input.forMs), reason: input.reason, created_by: by.actor, created_at: iso(now) };
    const id = await this.database.write(async (tx) => {
      const inserted = await tx.insertInto('alert_silence').values(row).returning('id').executeTakeFirstOrThrow();
      await appendAudit(tx, { actor: by.actor, action: 'alerts.silence', object: `silence:${inserted.id}`, source: by.source, outcome: 'success', detail: { matchers: input.matchers, endsAt: row.ends_at, reason: input.reason } });
      return Number(inserted.id);
    });
    return { id, matchers: input.matchers, startsAt: row.starts_at, endsAt: row.ends_at, reason: row.reason, createdBy: by.actor, createdAt: row.created_at };
  }

  silences(): Promise<Silence[]> {
    return listSilences(this.database.db, this.now());
  }

  async addMaintenance(input: { scope: 'node' | 'site' | 'zone'; target: string; from?: string; to?: string; cron?: string; durationMs?: number; reason: string }, by: Actor): Promise<MaintenanceWindow> {
    if (!['node', 'site', 'zone'].includes(input.scope) || !input.target) throw new EgovError('bad-request', 'a maintenance window covers one node, site or zone (--node N | --site S | --zone Z)');
    if (!input.reason.trim()) throw new EgovError('bad-request', 'a maintenance window needs a reason');
    let startsAt: string | null = null;
    let endsAt: string | null = null;
    let cron: string | null = null;
    let durationMs: number | null = null;
    if (input.cron !== undefined) {
      if (input.from || input.to) throw new EgovError('bad-request', 'give either --from/--to or --cron/--duration, not both');
      parseSchedule(input.cron);
      if (!(input.durationMs! > 0) || input.durationMs! > 7 * 86_400_000) throw new EgovError('bad-request', 'a recurring window needs --duration (more than 0, at most 7 days)');
      cron = input.cron;
      durationMs = input.durationMs!;
    } else {
      if (!input.from || !input.to) throw new EgovError('bad-request', 'a one-off window needs --from and --to');
      const from = Date.parse(input.from);
      const to = Date.parse(input.to);
      if (Number.isNaN(from)) throw new EgovError('bad-request', `--from ${JSON.stringify(input.from)} is not a time (e.g. 2026-12-07T22:00:00+08:00)`);
      if (Number.isNaN(to)) throw new EgovError('bad-request', `--to ${JSON.stringify(input.to)} is not a time (e.g. 2026-12-08T02:00:00+08:00)`);
      if (to <= from) throw new EgovError('bad-request', `the window ends (${iso(to)}) before it starts (${iso(from)})`);
      startsAt = iso(from);
      endsAt = iso(to);
    }
    const now = this.now();
    const row = { scope: input.scope, target: input.target, starts_at: startsAt, ends_at: endsAt, cron, duration_ms: durationMs, reason: input.reason, created_by: by.actor, created_at: iso(now), closed_until: null };
    const id = await this.database.write(async (tx) => {
      const inserted = await tx.insertInto('alert_maintenance').values(row).returning('id').executeTakeFirstOrThrow();
      await appendAudit(tx, { actor: by.actor, action: 'alerts.maintenance-add', object: `maintenance:${inserted.id}`, source: by.source, outcome: 'success', detail: { scope: input.scope, target: input.target, startsAt, endsAt, cron, durationMs, reason: input.reason } });
      return Number(inserted.id);
    });
    return { id, scope: input.scope, target: input.target, startsAt, endsAt, cron, durationMs, reason: input.reason, createdBy: by.actor, createdAt: row.created_at };
  }

  maintenance(): Promise<MaintenanceWindow[]> {
    return listMaintenance(this.database.db);
  }

  /** Firing (and acknowledged) alerts per severity, for the suite metrics. */
  firingCounts(): Record<AlertSeverity, number> {
    const counts = Object.fromEntries(ALERT_SEVERITIES.map((s) => [s, 0])) as Record<AlertSeverity, number>;
    for (const live of this.live.values()) if (live.alert.state === 'firing' || live.alert.state === 'acknowledged') counts[live.alert.severity]++;
    return counts;
  }

  liveAlerts(): Alert[] {
    return [...this.live.values()].map((l) => l.alert);
  }

  isFlapping(fingerprint: string): boolean {
    return this.flapping.has(fingerprint);
  }
}

export async function listSilences(db: WriteTx | Database['db'], at: number): Promise<Silence[]> {
  const rows = await db.selectFrom('alert_silence').selectAll().where('ends_at', '>', iso(at)).orderBy('id').execute();
  return rows.map((r) => ({ id: Number(r.id), matchers: JSON.parse(r.matchers), startsAt: r.starts_at, endsAt: r.ends_at, reason: r.reason, createdBy: r.created_by, createdAt: r.created_at }));
}

export async function listMaintenance(db: WriteTx | Database['db']): Promise<MaintenanceWindow[]> {
  const rows = await db.selectFrom('alert_maintenance').selectAll().orderBy('id').execute();
  return rows.map((r) => ({
    id: Number(r.id),
    scope: r.scope,
    target: r.target,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    cron: r.cron,
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
    reason: r.reason,
    createdBy: r.created_by,
    createdAt: r.created_at,
  }));
}

/** The labels a silence matches against: the alert's own, plus alertname, severity, node, site, zone. */
export function alertLabels(alert: Pick<Alert, 'rule' | 'severity' | 'node' | 'site' | 'zone' | 'labels'>): Record<string, string> {
  return { ...alert.labels, alertname: alert.rule, severity: alert.severity, ...(alert.node ? { node: alert.node } : {}), ...(alert.site ? { site: alert.site } : {}), ...(alert.zone ? { zone: alert.zone } : {}) };
}

export function silenceMatches(silence: Pick<Silence, 'matchers'>, alert: Alert): boolean {
  const labels = alertLabels(alert);
  return silence.matchers.every((m) => {
    const v = labels[m.name];
    if (v === undefined) return false;
    return m.regex ? new RegExp(`^(?:${m.value})$`).test(v) : v === m.value;
  });
}

export function windowCovers(w: MaintenanceWindow, alert: Pick<Alert, 'node' | 'site' | 'zone'>, at: number): boolean {
  const target = w.scope === 'node' ? alert.node : w.scope === 'site' ? alert.site : alert.zone;
  if (target !== w.target) return false;
  return windowActive(w, at);
}

export function windowActive(w: MaintenanceWindow, at: number): boolean {
  if (w.cron) {
    const start = parseSchedule(w.cron).next(new Date(at - w.durationMs!)).getTime();
    return start <= at;
  }
  return Date.parse(w.startsAt!) <= at && at < Date.parse(w.endsAt!);
}
