// The alerts put together: rules, the engine fed by ingest and by a timer
// for absences, the notifier and its queue, the knowledge base (optional).

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { StatusReport } from '../../backup/index.js';
import { EgovError, appendAudit, verifyAuditLog, type Database, type Job, type SecretBox } from '../../core/index.js';
import type { Monitor } from '../monitor.js';
import type { Actor, Alert, AlertState, Matcher, Observation } from './engine.js';
import { AlertEngine, fingerprintOf } from './engine.js';
import type { KnowledgeLookup, MatchedArticle, SeenBefore } from './kb-lookup.js';
import { AlertNotifier, type ReceiverInput, type ReceiverView } from './notify.js';
import type { AlertSeverity, Rule, RuleSet } from './rules.js';
import { loadRuleSet } from './rules.js';

export interface AlertServiceOptions {
  database: Database;
  monitor: Monitor;
  secrets: SecretBox;
  /** The rules (default: `rulesFile`, else the built-in set). */
  rules?: RuleSet;
  rulesFile?: string;
  kb?: KnowledgeLookup;
  /** The console's address, for links in messages. */
  externalUrl?: string;
  now?: () => number;
  /** A node whose newest sample is older than this is down by staleness (default the monitor's 5 minutes). */
  staleAfterMs?: number;
  dependencySettleMs?: number;
  holdTimeoutMs?: number;
  flapHigh?: number;
  flapLow?: number;
  timeoutMs?: number;
  log?: (line: string) => void;
  /** The backup room's status (BackupService.status()): RPO objectives missed, read by the absence timer. */
  backups?: { status(): Promise<Pick<StatusReport, 'targets'>> };
  /** The suite's own TLS certificate (serve: dataDir/tls/server.crt), watched by the cert-expiry rules. */
  tlsCertificateFile?: string;
  /** How often the audit chain is verified by the timer (default 10 minutes). */
  auditChainEveryMs?: number;
}

/** An event from outside the metrics (an audit run, a script, another room): one alert per (rule, object). */
export interface ExternalEvent {
  rule: string;
  object: string;
  summary: string;
  labels?: Record<string, string>;
  /** The inventory node it concerns, if any: scope, site, zone and maintenance windows apply. */
  node?: string;
  value?: number;
  /** When it happened (default now). */
  at?: number;
}

/** What a registered check reports at each evaluation: the event, raised or cleared. */
export type ExternalObservation = ExternalEvent & { raised: boolean };

/** A check run by the timer with the absence checks (serve adds the audit runs'). */
export interface ExternalCheck {
  name: string;
  run(): Promise<ExternalObservation[]>;
}

export interface AlertDetail {
  alert: Alert;
  timeline: Array<{ at: string; kind: string; actor: string; text: string }>;
  folded: number;
  articles: MatchedArticle[];
  seenBefore: SeenBefore | null;
}

/** How often the absence checks and the sweep run (the job `alerts.evaluate`). */
export const ALERTS_EVALUATE_INTERVAL_MS = 15_000;
const AUDIT_CHAIN_EVERY_MS = 10 * 60_000;

export class AlertService {
  readonly engine: AlertEngine;
  readonly notifier: AlertNotifier;
  readonly rules: RuleSet;
  private kb: KnowledgeLookup | undefined;
  private readonly now: () => number;
  private lastChainCheck = 0;
  private readonly checks: ExternalCheck[] = [];

  constructor(private readonly options: AlertServiceOptions) {
    this.now = options.now ?? Date.now;
    this.rules = options.rules ?? loadRuleSet(options.rulesFile);
    this.kb = options.kb;
    this.backups = options.backups;
    this.tlsCertificateFile = options.tlsCertificateFile;
    this.notifier = new AlertNotifier({
      database: options.database,
      secrets: options.secrets,
      rules: () => this.rules,
      now: this.now,
      ...(options.externalUrl ? { externalUrl: options.externalUrl } : {}),
      ...(options.kb ? { articlesFor: this.articlesFor } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.log ? { log: options.log } : {}),
      foldedCount: (id) => this.engine.foldedCount(id),
      foldedCounts: (ids) => this.engine.foldedCounts(ids),
    });
    this.engine = new AlertEngine({
      database: options.database,
      rules: this.rules,
      notifier: this.notifier,
      now: this.now,
      nodes: async () => (await options.monitor.inventory.listNodes()).map((n) => ({ name: n.name, kind: n.kind, zone: n.zone, site: n.site, level: n.level, parents: n.parents })),
      ...(options.dependencySettleMs !== undefined ? { dependencySettleMs: options.dependencySettleMs } : {}),
      ...(options.holdTimeoutMs !== undefined ? { holdTimeoutMs: options.holdTimeoutMs } : {}),
      ...(options.flapHigh !== undefined ? { flapHigh: options.flapHigh } : {}),
      ...(options.flapLow !== undefined ? { flapLow: options.flapLow } : {}),
    });
    options.monitor.ingestor.onStored((delivery) => {
      if (this.stopped) return;
      const work = this.engine.ingest(delivery).finally(() => this.pending.delete(work));
      this.pending.add(work);
      return work;
    });
  }

  private readonly pending = new Set<Promise<void>>();

  /** Resolves once what ingest handed over so far is evaluated (tests, the benchmark). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private backups: AlertServiceOptions['backups'];
  private tlsCertificateFile: string | undefined;

  /** Wires in later what the absence timer reads beyond the database: the backup room's status, the suite's TLS certificate. */
  useSources(sources: Pick<AlertServiceOptions, 'backups' | 'tlsCertificateFile'>): void {
    if (sources.backups) this.backups = sources.backups;
    if (sources.tlsCertificateFile) this.tlsCertificateFile = sources.tlsCertificateFile;
  }

  /** Wires the knowledge base in later (serve makes it after the alerts). */
  useKnowledgeBase(kb: KnowledgeLookup): void {
    this.kb = kb;
    this.notifier.articlesFor = this.articlesFor;
  }

  start(): void {
    this.notifier.start();
  }

  private stopped = false;

  /** Stops sending and stops listening to ingest. */
  stop(): Promise<void> {
    this.stopped = true;
    return this.notifier.stop();
  }

  /** The HTTPS listener's certificate: its end and its serial (lower-case hex, as certificate rows hold it). */
  private tlsCertificate(): { validTo: number; serial: string } | undefined {
    if (!this.tlsCertificateFile) return undefined;
    try {
      const certificate = new X509Certificate(readFileSync(this.tlsCertificateFile));
      return { validTo: Date.parse(certificate.validTo), serial: certificate.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '') };
    } catch {
      return undefined; // not made yet (no RSA/ECDSA hierarchy), or unreadable: nothing to judge
    }
  }

  /** The scheduled work: absences, then the sweep (pending periods, event expiry, maintenance ends, escalation). */
  job(): Job {
    return { name: 'alerts.evaluate', schedule: { everyMs: ALERTS_EVALUATE_INTERVAL_MS }, run: () => this.evaluate() };
  }

  async evaluate(): Promise<{ observations: number }> {
    const observations = await this.absences();
    for (const check of this.checks) {
      try {
        for (const o of await check.run()) {
          const observation = this.observationOf(o, o.raised);
          if (observation) observations.push(observation);
        }
      } catch (error) {
        this.options.log?.(`alerts: check ${check.name} failed: ${(error as Error).message}`);
      }
    }
    await this.engine.apply(observations);
    await this.engine.sweep({ escalate: (alert, level) => this.notifier.escalation(alert, level), repeatMs: (alert) => this.notifier.route(alert).route.repeatIntervalMs });
    await this.notifier.kick();
    return { observations: observations.length };
  }

  private enabled(kind: Rule['kind']): Rule[] {
    return this.rules.rules.filter((r) => r.enabled && r.kind === kind);
  }

  /** Observations the timer makes: what did not arrive, and what is near its date. */
  async absences(): Promise<Observation[]> {
    await this.engine.ready(); // the live alerts the checks clear are known
    const now = this.now();
    const db = this.options.database.db;
    const out: Observation[] = [];
    const agentRules = this.enabled('agent-silent');
    if (agentRules.length) {
      const agents = await this.options.monitor.ingestor.agents();
      for (const rule of agentRules)
        for (const a of agents) {
          const silentS = Math.round((now - Date.parse(a.lastSeenAt)) / 1000);
          out.push({ rule, object: `agent:${a.agent}`, raised: silentS >= rule.seconds!, value: silentS, at: now, summary: `agent ${a.agent}: no delivery for ${silentS} s (last ${a.lastSeenAt})`, labels: { agent: a.agent } });
        }
    }
    const nodeRules = this.enabled('node-down');
    if (nodeRules.length) {
      const staleAfter = this.options.staleAfterMs ?? 5 * 60_000;
      const statuses = await this.options.monitor.status.nodeStatuses();
      for (const s of statuses) {
        if (s.sampledAt === null || now - s.sampledAt <= staleAfter) continue;
        for (const rule of nodeRules) out.push({ rule, object: s.name, node: s.name, raised: true, stale: true, at: now, summary: `no sample for ${Math.round((now - s.sampledAt) / 1000)} s (stale)` });
      }
    }
    const tls = this.enabled('cert-expiry').length ? this.tlsCertificate() : undefined;
    for (const rule of this.enabled('cert-expiry')) {
      const limit = new Date(now + rule.days! * 86_400_000).toISOString();
      const soon = await db.selectFrom('certificate').select(['ca_name', 'serial', 'subject', 'not_after']).where('status', '=', 'good').where('not_after', '<=', limit).where('not_after', '>', new Date(now - 30 * 86_400_000).toISOString()).limit(1000).execute();
      const expiring = new Set<string>();
      for (const c of soon) {
        if (c.serial === tls?.serial) continue; // the suite's own TLS certificate: its alert is tls:serve, below
        expiring.add(`cert:${c.ca_name}/${c.serial}`);
        out.push({ rule, object: `cert:${c.ca_name}/${c.serial}`, raised: true, at: now, summary: `certificate ${c.subject} (${c.ca_name}, serial ${c.serial}) ${Date.parse(c.not_after) < now ? 'expired' : 'expires'} ${c.not_after}`, labels: { ca: c.ca_name } });
      }
      // The CAs' own certificates.
      const cas = await db.selectFrom('ca_authority').select(['name', 'root_cert', 'issuing_cert']).execute();
      for (const ca of cas)
        for (const [which, der] of [['root', ca.root_cert], ['issuing', ca.issuing_cert]] as const) {
          let validTo: number;
          try {
            validTo = Date.parse(new X509Certificate(Buffer.from(der)).validTo);
          } catch {
            continue; // SM2 certificates: node cannot parse them; their dates are on the certificate rows
          }
          out.push({ rule, object: `ca:${ca.name}/${which}`, raised: validTo <= now + rule.days! * 86_400_000, at: now, summary: `the ${which} certificate of CA ${ca.name} expires ${new Date(validTo).toISOString()}`, labels: { ca: ca.name } });
        }
      // The suite's own TLS certificate (the HTTPS listener's).
      if (tls) out.push({ rule, object: 'tls:serve', raised: tls.validTo <= now + rule.days! * 86_400_000, at: now, summary: `the suite's TLS certificate (${this.tlsCertificateFile}) ${tls.validTo < now ? 'expired' : 'expires'} ${new Date(tls.validTo).toISOString()}`, labels: { certificate: 'tls' } });
      // Live alerts whose certificate is no longer near expiry (renewed, revoked): cleared.
      for (const a of this.engine.liveAlerts()) if (a.rule === rule.name && a.fingerprint.includes('|cert:') && !expiring.has(a.fingerprint.slice(rule.name.length + 1))) out.push({ rule, object: a.fingerprint.slice(rule.name.length + 1), raised: false, at: now, summary: 'no longer near expiry' });
    }
    for (const rule of this.enabled('crl-next-update')) {
      const crls = await db.selectFrom('crl').select(['ca_name', 'kind', 'number', 'next_update']).where('kind', '=', 'full').orderBy('number', 'desc').execute();
      const newest = new Map<string, (typeof crls)[number]>();
      for (const c of crls) if (!newest.has(c.ca_name)) newest.set(c.ca_name, c);
      for (const c of newest.values()) out.push({ rule, object: `crl:${c.ca_name}`, raised: Date.parse(c.next_update) <= now + rule.hours! * 3_600_000, at: now, summary: `CRL ${c.number} of ${c.ca_name}: nextUpdate ${c.next_update}`, labels: { ca: c.ca_name } });
    }
    for (const rule of this.enabled('backup-failed')) {
      const runs = await db.selectFrom('backup_run').select(['plan', 'target', 'status', 'ended_at']).where('kind', '=', 'backup').orderBy('id', 'desc').limit(500).execute();
      const seen = new Set<string>();
      for (const r of runs) {
        const key = `${r.plan}@${r.target}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ rule, object: `backup:${key}`, raised: r.status !== 'success', at: now, summary: `backup ${r.plan} -> ${r.target}: last run ${r.status} at ${r.ended_at}`, labels: { target: r.target } });
      }
      const drills = await db.selectFrom('backup_drill').select(['plan', 'target', 'ok', 'ended_at']).orderBy('id', 'desc').limit(500).execute();
      const drilled = new Set<string>();
      for (const d of drills) {
        const key = `${d.plan}@${d.target}`;
        if (drilled.has(key)) continue;
        drilled.add(key);
        out.push({ rule, object: `drill:${key}`, raised: Number(d.ok) !== 1, at: now, summary: `restore drill ${d.plan} from ${d.target}: ${Number(d.ok) === 1 ? 'passed' : 'FAILED'} at ${d.ended_at}`, labels: { target: d.target } });
      }
    }
    const backupRules = this.enabled('backup-failed');
    if (backupRules.length && this.backups) {
      // RPO objective missed: the newest successful backup of a target older than its objective (the backup room's status).
      const report = await this.backups.status();
      for (const rule of backupRules)
        for (const t of report.targets) {
          if (t.rpoHoursNow === null || !t.lastSuccess) continue; // never backed up: the failed runs speak for it
          out.push({ rule, object: `rpo:${t.target}`, raised: t.rpoMet === false, value: t.rpoHoursNow, at: now, summary: `target ${t.target}: newest successful backup ${t.lastSuccess.at} is ${t.rpoHoursNow} h old (RPO objective ${t.objectives.rpoHours} h)${t.rpoMet === false ? ': RPO missed' : ''}`, labels: { target: t.target } });
        }
      // A target taken out of the configuration: its RPO alert cleared.
      const targets = new Set(report.targets.map((t) => `rpo:${t.target}`));
      for (const rule of backupRules)
        for (const a of this.engine.liveAlerts()) {
          const object = a.fingerprint.slice(rule.name.length + 1);
          if (a.rule === rule.name && object.startsWith('rpo:') && !targets.has(object)) out.push({ rule, object, raised: false, at: now, summary: `target ${object.slice(4)} is no longer configured` });
        }
    }
    for (const rule of this.enabled('audit-chain')) {
      if (now - this.lastChainCheck < (this.options.auditChainEveryMs ?? AUDIT_CHAIN_EVERY_MS) && this.lastChainCheck !== 0) continue;
      this.lastChainCheck = now;
      const result = await verifyAuditLog(this.options.database);
      out.push({ rule, object: 'audit-log', raised: !result.ok, at: now, summary: result.ok ? `audit chain intact (${result.records} records)` : `audit chain broken at record ${result.firstBreak!.id}: ${result.firstBreak!.reason}` });
    }
    return out;
  }

  // ------------------------------------------------------------ reading

  /** The articles for an alert, keyed as the knowledge base matches: its device's kind, a syslog alert's line. */
  private readonly articlesFor = async (alert: Alert, limit: number): Promise<MatchedArticle[]> => {
    if (!this.kb) return [];
    const nodeInfo = alert.node ? (await this.engine.nodes()).get(alert.node) : undefined;
    const syslog = this.engine.rule(alert.rule)?.kind === 'syslog' || alert.rule.includes('syslog');
    return this.kb.matchAlert(
      {
        rule: alert.rule,
        ...(alert.node ? { node: alert.node } : {}),
        ...(alert.site ? { site: alert.site } : {}),
        ...(alert.zone ? { zone: alert.zone } : {}),
        ...(nodeInfo ? { kind: nodeInfo.kind } : {}),
        ...(alert.labels.trapOid ? { trapOid: alert.labels.trapOid } : {}),
        ...(syslog ? { logMessage: alert.summary } : {}),
      },
      limit,
    );
  };

  list(filter: { state?: AlertState; severity?: AlertSeverity; node?: string; site?: string; zone?: string; limit?: number } = {}): Promise<Alert[]> {
    return this.engine.list(filter);
  }

  async detail(id: number): Promise<AlertDetail | undefined> {
    const alert = await this.engine.get(id);
    if (!alert) return undefined;
    const [timeline, folded] = await Promise.all([this.engine.timelineOf(id), this.engine.foldedCount(id)]);
    let articles: MatchedArticle[] = [];
    let seenBefore: SeenBefore | null = null;
    if (this.kb) {
      const key = { rule: alert.rule, ...(alert.node ? { node: alert.node } : {}), ...(alert.site ? { site: alert.site } : {}) };
      [articles, seenBefore] = await Promise.all([this.articlesFor(alert, 5).catch(() => []), this.kb.seenBefore(key, 5).catch(() => null)]);
    }
    return { alert, timeline, folded, articles, seenBefore };
  }

  // ------------------------------------------------------------ acting

  acknowledge(id: number, comment: string, by: Actor): Promise<Alert> {
    return this.engine.acknowledge(id, comment, by);
  }

  /** Resolves by hand; with a note, the knowledge base records the incident (how it was fixed, how long it took). */
  async resolve(id: number, note: string, by: Actor): Promise<Alert> {
    const alert = await this.engine.resolveByHand(id, note, by);
    if (this.kb && note.trim()) {
      await this.kb.recordIncident({ alertId: String(alert.id), rule: alert.rule, ...(alert.node ? { node: alert.node } : {}), ...(alert.site ? { site: alert.site } : {}), startedAt: alert.firedAt ?? alert.startedAt, resolvedAt: alert.resolvedAt!, note, by: by.actor });
    }
    await this.notifier.kick();
    return alert;
  }

  silence(input: { matchers: Matcher[]; forMs: number; reason: string }, by: Actor) {
    return this.engine.addSilence(input, by);
  }

  addMaintenance(input: Parameters<AlertEngine['addMaintenance']>[0], by: Actor) {
    return this.engine.addMaintenance(input, by);
  }

  putReceiver(input: ReceiverInput, by: Actor): Promise<ReceiverView> {
    return this.notifier.putReceiver(input, by, async (tx, detail) => {
      await appendAudit(tx, { actor: by.actor, action: 'alerts.receiver-put', object: `receiver:${input.name}`, source: by.source, outcome: 'success', detail });
    });
  }

  removeReceiver(name: string, by: Actor): Promise<{ name: string; dropped: number }> {
    return this.notifier.removeReceiver(name, async (tx, detail) => {
      await appendAudit(tx, { actor: by.actor, action: 'alerts.receiver-remove', object: `receiver:${name}`, source: by.source, outcome: 'success', detail });
    });
  }

  async testReceiver(name: string, by: Actor): Promise<{ ok: boolean; answer: string }> {
    const result = await this.notifier.testReceiver(name);
    await this.options.database.write((tx) => appendAudit(tx, { actor: by.actor, action: 'alerts.test-receiver', object: `receiver:${name}`, source: by.source, outcome: result.ok ? 'success' : 'failure', detail: { answer: result.answer.slice(0, 300) } }));
    return result;
  }

  // ------------------------------------------------------------ events from outside the metrics

  /** A check the timer runs with the absences (its observations go through the same lifecycle). */
  addCheck(check: ExternalCheck): () => void {
    this.checks.push(check);
    return () => {
      const at = this.checks.indexOf(check);
      if (at >= 0) this.checks.splice(at, 1);
    };
  }

  /** An event turned into an observation of its rule; undefined when the rule is disabled or out of scope. */
  private observationOf(event: ExternalEvent, raised: boolean): Observation | undefined {
    const rule = this.engine.rule(event.rule);
    if (!rule) throw new EgovError('not-found', `no alert rule ${JSON.stringify(event.rule)} (see \`egov-ops alerts rules\`)`);
    if (typeof event.object !== 'string' || !event.object.trim() || event.object.length > 300) throw new EgovError('bad-request', `event for rule ${rule.name}: object must be a non-empty string of at most 300 characters`);
    if (typeof event.summary !== 'string' || event.summary.length > 2000) throw new EgovError('bad-request', `event ${rule.name}|${event.object}: summary must be a string of at most 2000 characters`);
    for (const [k, v] of Object.entries(event.labels ?? {})) {
      if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new EgovError('bad-request', `event ${rule.name}|${event.object}: label ${JSON.stringify(k)} is not a label name (letters, digits, _)`);
      if (typeof v !== 'string') throw new EgovError('bad-request', `event ${rule.name}|${event.object}: label ${k} must be a string`);
    }
    if (!rule.enabled) return undefined;
    const s = rule.scope;
    if (s.node && (!event.node || !s.node.includes(event.node))) return undefined;
    return {
      rule,
      object: event.object,
      ...(event.node ? { node: event.node } : {}),
      raised,
      at: event.at ?? this.now(),
      summary: event.summary || (raised ? rule.description.en : 'cleared'),
      ...(event.labels ? { labels: event.labels } : {}),
      ...(event.value !== undefined ? { value: event.value } : {}),
    };
  }

  private liveAlert(rule: string, object: string): Alert | undefined {
    const fp = fingerprintOf(rule, object);
    return this.engine.liveAlerts().find((a) => a.fingerprint === fp);
  }

  /**
   * Raises an event that does not come from ingested metrics: the alert of
   * (rule, object) opens (or stays open: raising again is no duplicate) and
   * goes through the same life as the others: pending period, maintenance of
   * its node, silences, notifications, escalation. Returns the live alert
   * (undefined when the rule is disabled or its scope excludes the node).
   */
  async raiseEvent(event: ExternalEvent, by?: Actor): Promise<Alert | undefined> {
    const observation = this.observationOf(event, true);
    if (!observation) return undefined;
    if (event.node && !(await this.engine.nodes()).has(event.node)) {
      // The inventory is cached for 30 s: a node added since is looked up, and the cache refreshed.
      await this.options.monitor.inventory.getNode(event.node).catch(() => {
        throw new EgovError('not-found', `event ${event.rule}|${event.object}: no inventory node ${JSON.stringify(event.node)}`);
      });
      this.engine.invalidateNodes();
    }
    await this.engine.apply([observation]);
    await this.notifier.kick();
    const alert = this.liveAlert(observation.rule.name, observation.object);
    // Raised by a person or a script (the API): audited; raised by the suite's own wiring: the alert's timeline says it.
    if (by) await this.options.database.write((tx) => appendAudit(tx, { actor: by.actor, action: 'alerts.event-raise', object: `alert:${alert?.id ?? '-'}`, source: by.source, outcome: 'success', detail: { rule: event.rule, object: event.object, node: event.node ?? null, summary: event.summary.slice(0, 300) } }));
    return alert;
  }

  /** Clears a raised event: its live alert resolves (a resolution message where a firing one was sent). Returns the resolved alert, if one was live. */
  async clearEvent(event: Omit<ExternalEvent, 'summary'> & { summary?: string }, by?: Actor): Promise<Alert | undefined> {
    const observation = this.observationOf({ ...event, summary: event.summary ?? '' }, false);
    if (!observation) return undefined;
    await this.engine.ready();
    const live = this.liveAlert(observation.rule.name, observation.object);
    await this.engine.apply([observation]);
    await this.notifier.kick();
    if (by) await this.options.database.write((tx) => appendAudit(tx, { actor: by.actor, action: 'alerts.event-clear', object: `alert:${live?.id ?? '-'}`, source: by.source, outcome: 'success', detail: { rule: event.rule, object: event.object, wasLive: live !== undefined } }));
    return live ? this.engine.get(live.id) : undefined;
  }

  /** The live alerts of one rule (what a check compares with what it sees now). */
  async liveOf(rule: string): Promise<Alert[]> {
    await this.engine.ready();
    return this.engine.liveAlerts().filter((a) => a.rule === rule);
  }

  firingCounts(): Promise<Record<AlertSeverity, number>> {
    return this.engine.ready().then(() => this.engine.firingCounts());
  }
}

/** Firing (and acknowledged) alerts per severity: what the suite metrics write as `alerts.firing`. */
export function firingAlertCounts(service: AlertService): Promise<Record<AlertSeverity, number>> {
  return service.firingCounts();
}

/** `KEY=VALUE` or `KEY=~REGEX` -> a matcher. */
export function parseMatcher(text: string): Matcher {
  const m = /^([a-zA-Z_][a-zA-Z0-9_]*)(=~|=)(.+)$/.exec(text);
  if (!m) throw new EgovError('bad-request', `--match ${JSON.stringify(text)}: write KEY=VALUE (or KEY=~REGEX)`);
  return { name: m[1]!, value: m[3]!, ...(m[2] === '=~' ? { regex: true } : {}) };
}
