// Notifications: receivers (secrets sealed at rest, never shown), routing by
// severity, zone, site and labels with a duty roster, grouping, and a
// delivery queue in the database, retried with backoff and recorded. Each
// receiver is sent to on its own: one that hangs or answers 500 never holds
// up another. A receiver's rate (robots take about 20 messages a minute) is
// kept by folding what would exceed it into one digest.

import { createHmac } from 'node:crypto';
import { EgovError, runReusableEach, type Database, type SecretBox, type WriteTx } from '../../core/index.js';
import type { Alert, NotifyKind, Notifier } from './engine.js';
import { alertLabels, toAlert } from './engine.js';
import type { AlertSeverity, RouteSpec, RuleSet } from './rules.js';
import { DEFAULT_ROUTE, SEVERITY_NAMES } from './rules.js';
import type { MatchedArticle } from './kb-lookup.js';

/** The articles that apply to an alert, best first. */
export type ArticlesFor = (alert: Alert, limit: number) => Promise<MatchedArticle[]>;
import { postJson, type PostAnswer } from './http-client.js';

export const RECEIVER_TYPES = ['webhook', 'wecom', 'dingtalk', 'feishu', 'email', 'alertmanager'] as const;
export type ReceiverType = (typeof RECEIVER_TYPES)[number];

export interface ReceiverSettings {
  /** webhook, wecom, dingtalk, feishu: the endpoint; alertmanager: its base URL. */
  url?: string;
  language?: 'zh-CN' | 'en';
  /** Messages a minute at most (robots: 20); 0 = no limit. */
  ratePerMinute?: number;
  /** email */
  host?: string;
  port?: number;
  from?: string;
  to?: string[];
  user?: string;
  /** email: PEM of a CA to trust for STARTTLS (a private SMTP relay). */
  tlsCa?: string;
  /** Only the alerts of these severities (default all). */
  severities?: AlertSeverity[];
}

export interface ReceiverSecrets {
  /** dingtalk, feishu: the signing secret. wecom: the robot key. */
  secret?: string;
  /** dingtalk access_token, feishu hook token (appended to the URL). */
  token?: string;
  /** email: SMTP password. webhook: a bearer token. */
  password?: string;
}

export interface ReceiverInput extends ReceiverSettings, ReceiverSecrets {
  name: string;
  type: ReceiverType;
}

export interface ReceiverView extends ReceiverSettings {
  name: string;
  type: ReceiverType;
  /** Which secrets are set (never their values). */
  secrets: string[];
  createdAt: string;
}

export interface DeliveryView {
  id: number;
  receiver: string;
  groupKey: string;
  kind: string;
  alertIds: number[];
  /** sending: claimed by a sender, until its lease (nextAt) ends. */
  status: 'queued' | 'sending' | 'sent' | 'failed';
  attempts: number;
  nextAt: string;
  lastAnswer: string | null;
  createdAt: string;
  sentAt: string | null;
  body: string | null;
}

export interface NotifierOptions {
  database: Database;
  secrets: SecretBox;
  rules: () => RuleSet;
  /** The console's address, for links to the alert page. */
  externalUrl?: string;
  /** The knowledge-base articles a message names (AlertService: the same ones the alert page shows). */
  articlesFor?: ArticlesFor;
  now?: () => number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  maxAttempts?: number;
  /** The alerts engine reads folded counts and current alert rows through these. */
  foldedCount?: (id: number) => Promise<number>;
  /** The same for many alerts in one query (preferred over foldedCount when given). */
  foldedCounts?: (ids: readonly number[]) => Promise<Map<number, number>>;
  log?: (line: string) => void;
}

const iso = (ms: number) => new Date(ms).toISOString();
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function checkUrl(value: string | undefined, what: string): void {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new EgovError('bad-request', `${what}: ${JSON.stringify(value)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgovError('bad-request', `${what}: ${JSON.stringify(value)} is not an http(s) URL`);
}

export function checkReceiver(input: ReceiverInput): void {
  if (!NAME.test(input.name)) throw new EgovError('bad-request', `receiver name ${JSON.stringify(input.name)}: 1-64 lower-case letters, digits, ., _ or -`);
  if (!(RECEIVER_TYPES as readonly string[]).includes(input.type)) throw new EgovError('bad-request', `receiver type must be one of ${RECEIVER_TYPES.join(', ')} (got ${JSON.stringify(input.type)})`);
  checkUrl(input.url, `receiver ${input.name}: url`);
  if (input.type !== 'email' && !input.url) throw new EgovError('bad-request', `receiver ${input.name}: a ${input.type} receiver needs url`);
  if (input.type === 'email' && (!input.host || !input.from || !input.to?.length)) throw new EgovError('bad-request', `receiver ${input.name}: an email receiver needs host, from and to`);
  if ((input.type === 'dingtalk' || input.type === 'feishu') && !input.secret) throw new EgovError('bad-request', `receiver ${input.name}: a ${input.type} robot needs its signing secret`);
  if (input.ratePerMinute !== undefined && (!Number.isInteger(input.ratePerMinute) || input.ratePerMinute < 0)) throw new EgovError('bad-request', `receiver ${input.name}: ratePerMinute must be a whole number >= 0`);
  if (input.language !== undefined && input.language !== 'en' && input.language !== 'zh-CN') throw new EgovError('bad-request', `receiver ${input.name}: language is en or zh-CN`);
}

/** Messages in flight at once to one receiver that has no rate limit (a few kept-alive connections). */
const SEND_CONCURRENCY = Number(process.env.EGOV_ALERTS_SEND_CONCURRENCY ?? 8);
/** Deliveries one receiver's pump claims at a time. */
const CLAIM_BATCH = 500;
/** Outcomes written in one transaction at most. */
const RECORD_BATCH = 256;

type Outcome =
  | { id: number; outcome: 'sent'; attempts: number; at: string; answer: string; body: string | null }
  | { id: number; outcome: 'retry'; status: 'queued' | 'failed'; attempts: number; nextAt: string; answer: string }
  | { id: number; outcome: 'unclaim' };
const DEFAULT_RATE: Record<ReceiverType, number> = { webhook: 0, wecom: 20, dingtalk: 20, feishu: 100, email: 0, alertmanager: 0 };

interface Receiver {
  name: string;
  type: ReceiverType;
  settings: ReceiverSettings;
  secrets: ReceiverSecrets;
}

/** One message: what a receiver is sent. */
export interface Message {
  receiver: string;
  kind: NotifyKind | 'digest' | 'test';
  alerts: Array<Alert & { folded: number; articles: string[]; url: string }>;
  title: string;
  text: string;
  language: 'zh-CN' | 'en';
}

export class AlertNotifier implements Notifier {
  private readonly now: () => number;
  private readonly busy = new Set<string>();
  private readonly sent = new Map<string, number[]>();
  private timer: NodeJS.Timeout | undefined;
  private kicking: Promise<void> | undefined;
  private stopped = false;
  private readonly inFlight = new Set<Promise<void>>();
  articlesFor: ArticlesFor | undefined;

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? Date.now;
    this.articlesFor = options.articlesFor;
  }

  // ------------------------------------------------------------ receivers

  async putReceiver(input: ReceiverInput, by: { actor: string; source: string }, audit: (tx: WriteTx, detail: Record<string, unknown>) => Promise<void>): Promise<ReceiverView> {
    checkReceiver(input);
    const { name, type, secret, token, password, ...settings } = input;
    const secrets: ReceiverSecrets = { ...(secret ? { secret } : {}), ...(token ? { token } : {}), ...(password ? { password } : {}) };
    const sealed = Object.keys(secrets).length ? this.options.secrets.seal(JSON.stringify(secrets)) : null;
    const at = iso(this.now());
    await this.options.database.write(async (tx) => {
      await tx
        .insertInto('alert_receiver')
        .values({ name, type, settings: JSON.stringify(settings), secret: sealed, created_at: at })
        .onConflict((oc) => oc.column('name').doUpdateSet({ type, settings: JSON.stringify(settings), secret: sealed }))
        .execute();
      await audit(tx, { receiver: name, type, url: settings.url ?? null, secrets: Object.keys(secrets) });
    });
    void by;
    return { name, type, ...settings, secrets: Object.keys(secrets), createdAt: at };
  }

  /** Removes a receiver; what was still queued for it is recorded as failed (no one to send it to). */
  async removeReceiver(name: string, audit: (tx: WriteTx, detail: Record<string, unknown>) => Promise<void>): Promise<{ name: string; dropped: number }> {
    return this.options.database.write(async (tx) => {
      const row = await tx.selectFrom('alert_receiver').select(['name', 'type']).where('name', '=', name).executeTakeFirst();
      if (!row) throw new EgovError('not-found', `no receiver named ${JSON.stringify(name)}`);
      await tx.deleteFrom('alert_receiver').where('name', '=', name).execute();
      const dropped = await tx.updateTable('alert_delivery').set({ status: 'failed', last_answer: `receiver ${name} was removed` }).where('receiver', '=', name).where('status', 'in', ['queued', 'sending']).executeTakeFirst();
      const count = Number(dropped.numUpdatedRows ?? 0);
      await audit(tx, { receiver: name, type: row.type, droppedDeliveries: count });
      return { name, dropped: count };
    });
  }

  async receivers(): Promise<ReceiverView[]> {
    const rows = await this.options.database.db.selectFrom('alert_receiver').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, type: r.type as ReceiverType, ...(JSON.parse(r.settings) as ReceiverSettings), secrets: r.secret ? Object.keys(this.open(r.name, r.secret)) : [], createdAt: r.created_at }));
  }

  private open(name: string, sealed: Buffer): ReceiverSecrets {
    return JSON.parse(this.options.secrets.open(Buffer.from(sealed), `the secrets of receiver ${name}`)) as ReceiverSecrets;
  }

  private async receiver(name: string): Promise<Receiver | undefined> {
    const r = await this.options.database.db.selectFrom('alert_receiver').selectAll().where('name', '=', name).executeTakeFirst();
    if (!r) return undefined;
    return { name: r.name, type: r.type as ReceiverType, settings: JSON.parse(r.settings), secrets: r.secret ? this.open(r.name, r.secret) : {} };
  }

  // ------------------------------------------------------------ routing

  /** The receivers of an alert now: the first matching route's (its on-duty roster entries first). */
  route(alert: Alert): { receivers: string[]; route: RouteSpec } {
    const labels = alertLabels(alert);
    for (const route of this.options.rules().routes) {
      const m = route.match;
      if (m.severity && !m.severity.includes(alert.severity)) continue;
      if (m.zone && (!alert.zone || !m.zone.includes(alert.zone))) continue;
      if (m.site && (!alert.site || !m.site.includes(alert.site))) continue;
      if (m.labels && !Object.entries(m.labels).every(([k, v]) => labels[k] === v)) continue;
      const onDuty = route.roster.filter((r) => onDutyNow(r, this.now())).map((r) => r.receiver);
      const receivers = onDuty.length ? [...new Set([...route.receivers, ...onDuty])] : route.receivers;
      return { receivers, route };
    }
    return { receivers: [], route: DEFAULT_ROUTE };
  }

  /** Escalation targets for an alert not acknowledged: the next level after `level`, once its delay has passed. */
  escalation(alert: Alert, level: number): string[] | undefined {
    const escalations = this.options.rules().escalations;
    if (!escalations.length || !alert.firedAt) return undefined;
    let current = this.route(alert).receivers;
    let delay = 0;
    for (let l = 0; l <= level; l++) {
      const steps = escalations.filter((e) => current.includes(e.from) && e.severity.includes(alert.severity));
      if (!steps.length) return undefined;
      delay += Math.max(...steps.map((s) => s.afterMs));
      current = steps.map((s) => s.to);
    }
    return this.now() - Date.parse(alert.firedAt) >= delay ? current : undefined;
  }

  async enqueue(tx: WriteTx, alerts: readonly Alert[], kind: NotifyKind, now: number, options: { receivers?: string[]; settleMs?: number } = {}): Promise<void> {
    for (const alert of alerts) {
      const routed = options.receivers ? { receivers: options.receivers, route: this.route(alert).route } : this.route(alert);
      // No routes in the rules: every receiver hears every alert (a small site's setup).
      if (!options.receivers && this.options.rules().routes.length === 0) routed.receivers = (await tx.selectFrom('alert_receiver').select('name').execute()).map((r) => r.name);
      const { receivers, route } = routed;
      for (const receiver of receivers) {
        const groupKey = `${kind === 'resolved' ? 'resolved' : 'firing'}:${alert.rule}`;
        const wait = Math.max(route.groupWaitMs, options.settleMs ?? 0);
        // Grouping: an alert of the same group joins the queued message if it has not gone yet.
        // With no group wait nothing queued can still be joined (it is due at once): no need to look.
        const open = wait <= 0 ? undefined : await tx
          .selectFrom('alert_delivery')
          .select(['id', 'alert_ids'])
          .where('receiver', '=', receiver)
          .where('group_key', '=', groupKey)
          .where('kind', '=', kind)
          .where('status', '=', 'queued')
          .where('attempts', '=', 0)
          .where('next_at', '>', iso(now))
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (open) {
          const ids = JSON.parse(open.alert_ids) as number[];
          if (!ids.includes(alert.id)) await tx.updateTable('alert_delivery').set({ alert_ids: JSON.stringify([...ids, alert.id]) }).where('id', '=', open.id).execute();
          continue;
        }
        await tx
          .insertInto('alert_delivery')
          .values({ receiver, group_key: groupKey, kind, alert_ids: JSON.stringify([alert.id]), status: 'queued', attempts: 0, next_at: iso(now + wait), last_answer: null, created_at: iso(now), sent_at: null, body: null })
          .execute();
      }
    }
    this.soon(options.settleMs ?? 0);
  }

  // ------------------------------------------------------------ the queue

  start(intervalMs = 500): void {
    this.stopped = false;
    this.timer ??= setInterval(() => this.kickQuietly(), intervalMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const t of this.soonTimers) clearTimeout(t);
    this.soonTimers.clear();
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
    await this.flushed();
  }

  private readonly soonTimers = new Set<NodeJS.Timeout>();

  private soon(delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.soonTimers.delete(timer);
      this.kickQuietly();
    }, delayMs + 5);
    timer.unref?.();
    this.soonTimers.add(timer);
  }

  /** A kick from a timer: a failure (the database went away) is logged, and the next timer tries again. */
  private kickQuietly(): void {
    if (this.stopped) return;
    this.kick().catch((error: Error) => this.options.log?.(`alerts: the delivery queue could not be read: ${error.message}`));
  }

  /**
   * Starts sending what is due: one pump per receiver with something due, each
   * on its own (a receiver that hangs holds up only its own pump). Resolves
   * once the pumps are started; drain() waits for them.
   */
  async kick(): Promise<void> {
    if (this.kicking) return this.kicking;
    this.kicking = (async () => {
      const due = await this.options.database.db
        .selectFrom('alert_delivery')
        .select('receiver')
        .where('status', 'in', ['queued', 'sending'])
        .where('next_at', '<=', iso(this.now()))
        .groupBy('receiver')
        .execute();
      for (const { receiver } of due) {
        if (this.stopped || this.busy.has(receiver)) continue;
        this.busy.add(receiver);
        const work = this.pump(receiver)
          .catch((error: Error) => this.options.log?.(`alerts: sending to ${receiver} stopped: ${error.message}`))
          .finally(() => {
            this.busy.delete(receiver);
            this.inFlight.delete(work);
          });
        this.inFlight.add(work);
      }
    })().finally(() => {
      this.kicking = undefined;
    });
    return this.kicking;
  }

  /** Waits until nothing is due, in flight or waiting to be recorded (tests, the benchmark). */
  async drain(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.kick();
      await Promise.allSettled([...this.inFlight]);
      await this.flushed();
      const left = await this.options.database.db.selectFrom('alert_delivery').select('id').where('status', 'in', ['queued', 'sending']).where('next_at', '<=', iso(this.now())).limit(1).execute();
      if (!left.length && this.inFlight.size === 0) return;
      if (Date.now() > end) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * Claims up to `limit` due deliveries of one receiver: marked `sending`
   * with a lease (next_at) in one write, so no other pump or process sends
   * them too. A lease that runs out (the process stopped mid-send) makes
   * them due again: sent at least once, and that attempt counted.
   */
  private async claim(name: string, limit: number): Promise<DeliveryView[]> {
    const now = this.now();
    const lease = iso(now + 3 * (this.options.timeoutMs ?? 10_000) + 60_000);
    const postgres = this.options.database.dialect === 'postgres';
    return this.options.database.write(async (tx) => {
      let q = tx.selectFrom('alert_delivery').selectAll().where('receiver', '=', name).where('status', 'in', ['queued', 'sending']).where('next_at', '<=', iso(now)).orderBy('id').limit(limit);
      if (postgres) q = q.forUpdate().skipLocked();
      const rows = (await q.execute()).map(toDelivery);
      if (!rows.length) return rows;
      const lapsed = rows.filter((d) => d.status === 'sending');
      for (const d of lapsed) d.attempts++;
      const ids = rows.map((d) => d.id);
      for (let i = 0; i < ids.length; i += 500) await tx.updateTable('alert_delivery').set({ status: 'sending', next_at: lease }).where('id', 'in', ids.slice(i, i + 500)).execute();
      if (lapsed.length) await tx.updateTable('alert_delivery').set((eb) => ({ attempts: eb('attempts', '+', 1), last_answer: 'the sender stopped before the answer was recorded; sending again' })).where('id', 'in', lapsed.map((d) => d.id)).execute();
      return rows;
    });
  }

  /** Messages sent to a rate-limited receiver in the last minute: kept here, first read from the records (a restart keeps the rate). */
  private async window(name: string): Promise<number[]> {
    const now = this.now();
    let window = this.sent.get(name);
    if (!window) {
      const rows = await this.options.database.db.selectFrom('alert_delivery').select('sent_at').distinct().where('receiver', '=', name).where('status', '=', 'sent').where('body', 'is not', null).where('sent_at', '>', iso(now - 60_000)).execute();
      window = rows.map((r) => Date.parse(r.sent_at!)).filter((t) => Number.isFinite(t));
    }
    window = window.filter((t) => now - t < 60_000);
    this.sent.set(name, window);
    return window;
  }

  /** Sends one receiver's due deliveries, a claimed batch at a time, until nothing is due (or its rate is spent). */
  private async pump(name: string): Promise<void> {
    const receiver = await this.receiver(name);
    if (!receiver) {
      await this.options.database.write(async (tx) => {
        await tx.updateTable('alert_delivery').set({ status: 'failed', last_answer: `no receiver named ${name}` }).where('receiver', '=', name).where('status', 'in', ['queued', 'sending']).execute();
      });
      return;
    }
    const rate = receiver.settings.ratePerMinute ?? DEFAULT_RATE[receiver.type];
    while (!this.stopped) {
      let free = Infinity;
      if (rate > 0) {
        free = rate - (await this.window(name)).length;
        if (free <= 0) return; // wait for the window; what is queued folds into one digest then
      }
      const deliveries = await this.claim(name, CLAIM_BATCH);
      if (!deliveries.length) return;
      let batches: DeliveryView[][] = deliveries.map((d) => [d]);
      if (batches.length > free) batches = [...batches.slice(0, free - 1), deliveries.slice(free - 1)];
      await this.sendClaimed(receiver, batches, rate > 0 ? 1 : SEND_CONCURRENCY);
      if (rate > 0) return; // a rate-limited receiver: one round per kick, the rest waits for the window
    }
  }

  private async sendClaimed(receiver: Receiver, batches: DeliveryView[][], parallel: number): Promise<void> {
    // Messages about the same rule keep their order (a firing before its resolution): one chain per rule.
    const chains = new Map<string, DeliveryView[][]>();
    for (const batch of batches) {
      const key = parallel === 1 ? '' : (batch[0]!.groupKey.split(':').slice(1).join(':') || batch[0]!.groupKey);
      let chain = chains.get(key);
      if (!chain) chains.set(key, (chain = []));
      chain.push(batch);
    }
    const queue = [...chains.values()];
    // The alerts of every message, read in one query per 500.
    const allIds = [...new Set(batches.flatMap((b) => b.flatMap((d) => d.alertIds)))];
    const known = new Map<number, Alert>();
    for (let i = 0; i < allIds.length; i += 500) {
      const rows = await this.options.database.db.selectFrom('alert_alert').selectAll().where('id', 'in', allIds.slice(i, i + 500)).execute();
      for (const r of rows) known.set(Number(r.id), toAlert(r));
    }
    const folded = await this.foldedCounts(allIds);
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !this.stopped) for (const batch of queue[next++]!) if (!this.stopped) await this.sendBatch(receiver, batch, known, folded);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
    // What was claimed but not sent (stopping): back to the queue at once rather than after the lease.
    const left = batches.flat().filter((d) => !this.recordedIds.has(d.id));
    for (const d of batches.flat()) this.recordedIds.delete(d.id);
    if (left.length) this.record(left.map((d) => ({ id: d.id, outcome: 'unclaim' as const })));
  }

  private async foldedCounts(ids: number[]): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    if (this.options.foldedCounts) return this.options.foldedCounts(ids);
    if (!this.options.foldedCount) return counts;
    for (const id of ids) counts.set(id, await this.options.foldedCount(id));
    return counts;
  }

  private async sendBatch(receiver: Receiver, batch: DeliveryView[], known: Map<number, Alert>, folded: Map<number, number>): Promise<void> {
    const ids = [...new Set(batch.flatMap((d) => d.alertIds))];
    let alerts = ids.map((id) => known.get(id)).filter((a): a is Alert => a !== undefined);
    const kind: Message['kind'] = batch.length > 1 ? 'digest' : (batch[0]!.kind as NotifyKind);
    // At send time: drop what folded into a parent meanwhile, or was resolved before its firing went out.
    if (kind === 'firing' || kind === 'repeat' || kind === 'escalation') alerts = alerts.filter((a) => a.foldedInto === null && !a.held && a.state !== 'resolved' && a.notified);
    if (kind === 'repeat') alerts = alerts.filter((a) => a.state === 'firing' && a.mutedBy === null);
    if (receiver.settings.severities) alerts = alerts.filter((a) => receiver.settings.severities!.includes(a.severity));
    for (const d of batch) this.recordedIds.add(d.id);
    if (!alerts.length) {
      const at = iso(this.now());
      this.record(batch.map((d) => ({ id: d.id, outcome: 'sent' as const, attempts: d.attempts, at, answer: 'nothing left to tell (folded, resolved or filtered before sending)', body: null })));
      return;
    }
    const message = await this.compose(receiver, kind, alerts, folded);
    let answer: string;
    let ok: boolean;
    try {
      answer = await sendTo(receiver, message, this.options.timeoutMs ?? 10_000, this.options.externalUrl);
      ok = true;
    } catch (error) {
      answer = (error as Error).message.slice(0, 1000);
      ok = false;
    }
    if (ok && (receiver.settings.ratePerMinute ?? DEFAULT_RATE[receiver.type]) > 0) this.sent.get(receiver.name)?.push(this.now());
    const max = this.options.maxAttempts ?? 8;
    const at = this.now();
    if (ok) {
      const body = JSON.stringify({ kind: message.kind, title: message.title, text: message.text });
      this.record(batch.map((d) => ({ id: d.id, outcome: 'sent' as const, attempts: d.attempts + 1, at: iso(at), answer, body })));
    } else {
      this.record(
        batch.map((d) => {
          const attempts = d.attempts + 1;
          const backoff = Math.min(5_000 * 2 ** (attempts - 1), 10 * 60_000);
          return { id: d.id, outcome: 'retry' as const, status: attempts >= max ? ('failed' as const) : ('queued' as const), attempts, nextAt: iso(at + backoff), answer };
        }),
      );
      this.options.log?.(`alerts: receiver ${receiver.name} failed (${answer}); will retry`);
    }
  }

  // ------------------------------------------------------------ the record

  /** Outcomes waiting to be written: collected for a moment, then written together in one transaction. */
  private outcomes: Outcome[] = [];
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly flushing = new Set<Promise<void>>();
  /** Deliveries of the current batches whose outcome is recorded (or being sent). */
  private readonly recordedIds = new Set<number>();

  private record(outcomes: Outcome[]): void {
    this.outcomes.push(...outcomes);
    if (this.outcomes.length >= RECORD_BATCH) this.flush();
    else this.flushTimer ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
    this.flushTimer = undefined;
    const outcomes = this.outcomes;
    this.outcomes = [];
    if (!outcomes.length) return;
    const work = this.writeOutcomes(outcomes)
      // Not written (the database went away): the deliveries stay claimed, and are sent again once their lease ends.
      .catch((error: Error) => this.options.log?.(`alerts: ${outcomes.length} delivery outcome(s) could not be recorded (${error.message}); they are sent again after their lease`))
      .finally(() => this.flushing.delete(work));
    this.flushing.add(work);
  }

  private async flushed(): Promise<void> {
    this.flush();
    while (this.flushing.size) await Promise.allSettled([...this.flushing]);
  }

  private writeOutcomes(outcomes: Outcome[]): Promise<void> {
    const sent = outcomes.filter((o): o is Extract<Outcome, { outcome: 'sent' }> => o.outcome === 'sent');
    const retry = outcomes.filter((o): o is Extract<Outcome, { outcome: 'retry' }> => o.outcome === 'retry');
    const unclaim = outcomes.filter((o) => o.outcome === 'unclaim').map((o) => o.id);
    return this.options.database.write(async (tx) => {
      await runReusableEach(tx, 'alerts.delivery-sent', sent, (o) => tx.updateTable('alert_delivery').set({ status: 'sent', attempts: o.attempts, sent_at: o.at, last_answer: o.answer, body: o.body }).where('id', '=', o.id), (o) => ['sent', o.attempts, o.at, o.answer, o.body, o.id]);
      await runReusableEach(tx, 'alerts.delivery-retry', retry, (o) => tx.updateTable('alert_delivery').set({ status: o.status, attempts: o.attempts, next_at: o.nextAt, last_answer: o.answer }).where('id', '=', o.id), (o) => [o.status, o.attempts, o.nextAt, o.answer, o.id]);
      if (unclaim.length) await tx.updateTable('alert_delivery').set({ status: 'queued', next_at: iso(this.now()) }).where('id', 'in', unclaim).where('status', '=', 'sending').execute();
    });
  }

  private async compose(receiver: Receiver, kind: Message['kind'], alerts: Alert[], foldedCounts?: Map<number, number>): Promise<Message> {
    const lang = receiver.settings.language ?? 'zh-CN';
    const base = (this.options.externalUrl ?? '').replace(/\/$/, '');
    const enriched = await Promise.all(
      alerts.map(async (a) => {
        const folded = foldedCounts ? (foldedCounts.get(a.id) ?? 0) : this.options.foldedCount ? await this.options.foldedCount(a.id) : 0;
        let articles: string[] = [];
        if (this.articlesFor) {
          try {
            articles = (await this.articlesFor(a, 3)).map((m) => (lang === 'zh-CN' && m.titleZh ? m.titleZh : m.title));
          } catch {
            articles = []; // the message goes out without them
          }
        }
        return { ...a, folded, articles, url: `${base}/alerts/${a.id}` };
      }),
    );
    return renderMessage(receiver.name, kind, enriched, lang);
  }

  async deliveries(filter: { receiver?: string; limit?: number } = {}): Promise<DeliveryView[]> {
    let q = this.options.database.db.selectFrom('alert_delivery').selectAll();
    if (filter.receiver) q = q.where('receiver', '=', filter.receiver);
    const rows = await q.orderBy('id', 'desc').limit(filter.limit ?? 200).execute();
    return rows.map(toDelivery);
  }

  /** `alerts test-receiver NAME`: one test message, sent now, its answer returned. */
  async testReceiver(name: string): Promise<{ ok: boolean; answer: string }> {
    const receiver = await this.receiver(name);
    if (!receiver) throw new EgovError('not-found', `no receiver named ${name}`);
    const now = iso(this.now());
    const probe: Alert & { folded: number; articles: string[]; url: string } = {
      id: 0, fingerprint: 'test', rule: 'test', severity: 'info', state: 'firing', node: null, site: null, zone: null, labels: { test: 'true' },
      summary: receiver.settings.language === 'en' ? 'a test message from egov-ops' : 'egov-ops 测试消息', value: null, startedAt: now, firedAt: now, resolvedAt: null,
      ackBy: null, ackComment: null, ackAt: null, foldedInto: null, held: false, notified: true, mutedBy: null, flapping: false, escalated: 0, updatedAt: now, folded: 0, articles: [], url: '',
    };
    const message = renderMessage(name, 'test', [probe], receiver.settings.language ?? 'zh-CN');
    try {
      return { ok: true, answer: await sendTo(receiver, message, this.options.timeoutMs ?? 10_000, this.options.externalUrl) };
    } catch (error) {
      return { ok: false, answer: (error as Error).message };
    }
  }
}

function onDutyNow(entry: RouteSpec['roster'][number], now: number): boolean {
  const d = new Date(now);
  const minutes = d.getHours() * 60 + d.getMinutes();
  const day = d.getDay();
  if (entry.from <= entry.to) return entry.days.includes(day) && minutes >= entry.from && minutes < entry.to;
  // An overnight shift (18:00-08:00) belongs to the day it starts: Friday's runs into Saturday morning.
  return (entry.days.includes(day) && minutes >= entry.from) || (entry.days.includes((day + 6) % 7) && minutes < entry.to);
}

const toDelivery = (r: Record<string, any>): DeliveryView => ({
  id: Number(r.id),
  receiver: r.receiver,
  groupKey: r.group_key,
  kind: r.kind,
  alertIds: JSON.parse(r.alert_ids),
  status: r.status,
  attempts: Number(r.attempts),
  nextAt: r.next_at,
  lastAnswer: r.last_answer,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  body: r.body,
});

// ---------------------------------------------------------------- messages

const WORDS = {
  en: { firing: 'FIRING', resolved: 'RESOLVED', flapping: 'FLAPPING', escalation: 'ESCALATED (not acknowledged)', repeat: 'STILL FIRING', digest: 'DIGEST', test: 'TEST', since: 'since', folded: (n: number) => `${n} alerts behind it folded in`, kb: 'Knowledge base', node: 'node', site: 'site', more: (n: number) => `and ${n} more` },
  'zh-CN': { firing: '告警', resolved: '已恢复', flapping: '状态抖动', escalation: '升级（未确认）', repeat: '持续告警', digest: '汇总', test: '测试', since: '开始于', folded: (n: number) => `其下 ${n} 条告警已合并`, kb: '知识库', node: '节点', site: '站点', more: (n: number) => `另有 ${n} 条` },
};

export function renderMessage(receiver: string, kind: Message['kind'], alerts: Message['alerts'], language: 'zh-CN' | 'en'): Message {
  const w = WORDS[language];
  const head = alerts[0]!;
  const label = (a: Alert) => `[${SEVERITY_NAMES[a.severity][language]}]`;
  const title = alerts.length === 1 ? `${w[kind]} ${label(head)} ${head.rule}${head.node ? ` ${head.node}` : ''}` : `${w[kind]} ${alerts.length} × ${[...new Set(alerts.map((a) => a.rule))].slice(0, 3).join(', ')}`;
  const shown = alerts.slice(0, 20);
  const lines = shown.map((a) => {
    const parts = [`${label(a)} ${a.rule}: ${a.summary}`];
    if (a.node) parts.push(`${w.node} ${a.node}${a.site ? ` (${w.site} ${a.site})` : ''}`);
    parts.push(`${w.since} ${a.firedAt ?? a.startedAt}${a.resolvedAt && (kind === 'resolved' || kind === 'digest') && a.state === 'resolved' ? ` → ${a.resolvedAt}` : ''}`);
    if (a.folded > 0) parts.push(w.folded(a.folded));
    if (a.articles.length) parts.push(`${w.kb}: ${a.articles.join('; ')}`);
    if (a.url) parts.push(a.url);
    return parts.join('\n  ');
  });
  if (alerts.length > shown.length) lines.push(w.more(alerts.length - shown.length));
  return { receiver, kind, alerts, title, text: `${title}\n${lines.join('\n')}`, language };
}

/** The Alertmanager webhook body (version 4). */
export function alertmanagerWebhookBody(message: Message, externalUrl = ''): Record<string, unknown> {
  const status = message.kind === 'resolved' ? 'resolved' : 'firing';
  const alerts = message.alerts.map((a) => ({
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    labels: alertLabels(a),
    annotations: { summary: a.summary, ...(a.folded ? { folded: String(a.folded) } : {}), ...(a.articles.length ? { kb: a.articles.join('; ') } : {}), kind: message.kind },
    startsAt: a.firedAt ?? a.startedAt,
    endsAt: a.resolvedAt ?? '0001-01-01T00:00:00Z',
    generatorURL: a.url,
    fingerprint: a.fingerprint,
  }));
  const common = (pick: (a: (typeof alerts)[number]) => Record<string, string>) => {
    if (alerts.length === 1) return { ...pick(alerts[0]!) };
    const [first, ...rest] = alerts.map(pick);
    return Object.fromEntries(Object.entries(first ?? {}).filter(([k, v]) => rest.every((r) => r[k] === v)));
  };
  return {
    version: '4',
    groupKey: `{}:{alertname="${message.alerts[0]?.rule ?? ''}"}`,
    truncatedAlerts: 0,
    status,
    receiver: message.receiver,
    groupLabels: { alertname: message.alerts[0]?.rule ?? '' },
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations as Record<string, string>),
    externalURL: externalUrl,
    alerts,
  };
}

/** DingTalk: base64(HMAC-SHA256(secret, timestamp + "\n" + secret)), URL-encoded. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return encodeURIComponent(createHmac('sha256', secret).update(`${timestampMs}\n${secret}`).digest('base64'));
}

/** Feishu: base64(HMAC-SHA256(key = timestamp + "\n" + secret, message = "")), timestamp in seconds. */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}

/** POSTs JSON over a kept-alive connection (http-client.ts); resolves with the answer, rejects on a non-2xx status, an error or no answer in time. */
async function post(url: string, body: unknown, timeoutMs: number, headers: Record<string, string> = {}): Promise<string> {
  const target = new URL(url);
  let answer: PostAnswer;
  try {
    answer = await postJson(target, Buffer.from(JSON.stringify(body)), timeoutMs, headers);
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith('no answer') ? message : `cannot reach ${target.host}: ${message}`);
  }
  const text = answer.text.slice(0, 2000);
  if (answer.status < 200 || answer.status > 299) throw new Error(`HTTP ${answer.status}: ${text.slice(0, 300)}`);
  return `HTTP ${answer.status} ${text.slice(0, 300)}`;
}

/** The robots answer 200 with an error code in the body. */
function robotOk(answer: string): string {
  const json = answer.replace(/^HTTP \d+ /, '');
  try {
    const parsed = JSON.parse(json) as { errcode?: number; code?: number; StatusCode?: number; errmsg?: string; msg?: string };
    const code = parsed.errcode ?? parsed.code ?? parsed.StatusCode ?? 0;
    if (code !== 0) throw new Error(`robot refused: code ${code} ${parsed.errmsg ?? parsed.msg ?? ''}`.trim());
  } catch (error) {
    if ((error as Error).message.startsWith('robot refused')) throw error;
  }
  return answer;
}

const addQuery = (url: string, params: Record<string, string>) => {
  const u = new URL(url);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  return u;
};

async function sendTo(receiver: Receiver, message: Message, timeoutMs: number, externalUrl?: string): Promise<string> {
  const { settings, secrets } = receiver;
  switch (receiver.type) {
    case 'webhook':
      return post(settings.url!, alertmanagerWebhookBody(message, externalUrl), timeoutMs, secrets.password ? { authorization: `Bearer ${secrets.password}` } : {});
    case 'wecom': {
      const url = secrets.secret ? addQuery(settings.url!, { key: secrets.secret }).toString() : settings.url!;
      return robotOk(await post(url, { msgtype: 'markdown', markdown: { content: Buffer.from(message.text).subarray(0, 4096).toString('utf8').replace(/\uFFFD+$/, '') } }, timeoutMs));
    }
    case 'dingtalk': {
      const timestamp = Date.now();
      // The sign is already URL-encoded; URLSearchParams would encode it again, so the query is written by hand.
      const base = secrets.token ? addQuery(settings.url!, { access_token: secrets.token }).toString() : settings.url!;
      const url = `${base}${base.includes('?') ? '&' : '?'}timestamp=${timestamp}&sign=${dingtalkSign(secrets.secret!, timestamp)}`;
      return robotOk(await post(url, { msgtype: 'markdown', markdown: { title: message.title, text: message.text }, at: { atMobiles: [], isAtAll: false } }, timeoutMs));
    }
    case 'feishu': {
      const timestamp = Math.floor(Date.now() / 1000);
      const url = secrets.token ? `${settings.url!.replace(/\/$/, '')}/${encodeURIComponent(secrets.token)}` : settings.url!;
      return robotOk(await post(url, { timestamp: String(timestamp), sign: feishuSign(secrets.secret!, timestamp), msg_type: 'text', content: { text: message.text } }, timeoutMs));
    }
    case 'alertmanager': {
      const body = message.alerts.map((a) => ({
        labels: alertLabels(a),
        annotations: { summary: a.summary, ...(a.articles.length ? { kb: a.articles.join('; ') } : {}) },
        startsAt: a.firedAt ?? a.startedAt,
        ...(a.resolvedAt ? { endsAt: a.resolvedAt } : {}),
        generatorURL: a.url || 'http://egov-ops/alerts',
      }));
      return post(`${settings.url!.replace(/\/$/, '')}/api/v2/alerts`, body, timeoutMs);
    }
    case 'email': {
      const nodemailer = (await import('nodemailer')).default;
      const transport = nodemailer.createTransport({
        host: settings.host,
        port: settings.port ?? 587,
        secure: false,
        requireTLS: true,
        ...(settings.user ? { auth: { user: settings.user, pass: secrets.password ?? '' } } : {}),
        tls: { ...(settings.tlsCa ? { ca: settings.tlsCa } : {}), servername: settings.host },
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      try {
        const info = await transport.sendMail({ from: settings.from, to: settings.to, subject: message.title, text: message.text });
        return `SMTP ${info.response}`;
      } finally {
        transport.close();
      }
    }
  }
}
