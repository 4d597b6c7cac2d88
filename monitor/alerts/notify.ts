// Notifications: receivers (secrets sealed at rest, never shown), routing by
// severity, zone, site and labels with a duty roster, grouping, and a
// delivery queue in the database, retried with backoff and recorded. Each
// receiver is sent to on its own: one that hangs or answers 500 never holds
// up another. A receiver's rate (robots take about 20 messages a minute) is
// kept by folding what would exceed it into one digest.

import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { EgovError, type Database, type SecretBox, type WriteTx } from '../../core/index.js';
import type { Alert, NotifyKind, Notifier } from './engine.js';
import { alertLabels, toAlert } from './engine.js';
import type { AlertSeverity, RouteSpec, RuleSet } from './rules.js';
import { DEFAULT_ROUTE, SEVERITY_NAMES } from './rules.js';
import type { KnowledgeLookup } from './kb-lookup.js';

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
  status: 'queued' | 'sent' | 'failed';
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
  kb?: KnowledgeLookup;
  now?: () => number;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  maxAttempts?: number;
  /** The alerts engine reads folded counts and current alert rows through these. */
  foldedCount?: (id: number) => Promise<number>;
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

/** Messages in flight at once to one receiver that has no rate limit. */
const SEND_CONCURRENCY = 32;
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
  kb: KnowledgeLookup | undefined;

  constructor(private readonly options: NotifierOptions) {
    this.now = options.now ?? Date.now;
    this.kb = options.kb;
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

  /** Starts sending what is due, each receiver on its own. Resolves once every started send has settled. */
  async kick(): Promise<void> {
    if (this.kicking) return this.kicking;
    this.kicking = (async () => {
      const due = await this.options.database.db.selectFrom('alert_delivery').selectAll().where('status', '=', 'queued').where('next_at', '<=', iso(this.now())).orderBy('id').limit(2000).execute();
      const byReceiver = new Map<string, typeof due>();
      for (const d of due) byReceiver.set(d.receiver, [...(byReceiver.get(d.receiver) ?? []), d]);
      for (const [receiver, rows] of byReceiver) {
        if (this.busy.has(receiver)) continue;
        this.busy.add(receiver);
        const work = this.sendFor(receiver, rows.map(toDelivery)).finally(() => {
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

  /** Waits until nothing is due or in flight (tests, the benchmark). */
  async drain(timeoutMs = 30_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      await this.kick();
      await Promise.allSettled([...this.inFlight]);
      const left = await this.options.database.db.selectFrom('alert_delivery').select('id').where('status', '=', 'queued').where('next_at', '<=', iso(this.now())).limit(1).execute();
      if (!left.length && this.inFlight.size === 0) return;
      if (Date.now() > end) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async sendFor(name: string, deliveries: DeliveryView[]): Promise<void> {
    const receiver = await this.receiver(name);
    if (!receiver) {
      await this.options.database.write(async (tx) => {
        for (const d of deliveries) await tx.updateTable('alert_delivery').set({ status: 'failed', last_answer: `no receiver named ${name}` }).where('id', '=', d.id).execute();
      });
      return;
    }
    const rate = receiver.settings.ratePerMinute ?? DEFAULT_RATE[receiver.type];
    let batches: DeliveryView[][] = deliveries.map((d) => [d]);
    if (rate > 0) {
      const now = this.now();
      const window = (this.sent.get(name) ?? []).filter((t) => now - t < 60_000);
      this.sent.set(name, window);
      const free = rate - window.length;
      if (free <= 0) return; // wait for the window; what is queued folds into one digest then
      if (batches.length > free) batches = [...batches.slice(0, free - 1), deliveries.slice(free - 1)];
    }
    // A receiver without a rate takes several messages at once (each still its own request and record).
    // Messages about the same rule keep their order (a firing before its resolution): one chain per rule.
    const parallel = rate > 0 ? 1 : SEND_CONCURRENCY;
    const chains = new Map<string, DeliveryView[][]>();
    for (const batch of batches) {
      const key = parallel === 1 ? '' : (batch[0]!.groupKey.split(':').slice(1).join(':') || batch[0]!.groupKey);
      chains.set(key, [...(chains.get(key) ?? []), batch]);
    }
    const queue = [...chains.values()];
    // The alerts of every message, read in one query (each message used to read its own).
    const allIds = [...new Set(batches.flatMap((b) => b.flatMap((d) => d.alertIds)))];
    const known = new Map<number, Alert>();
    for (let i = 0; i < allIds.length; i += 500) {
      const rows = await this.options.database.db.selectFrom('alert_alert').selectAll().where('id', 'in', allIds.slice(i, i + 500)).execute();
      for (const r of rows) known.set(Number(r.id), toAlert(r));
    }
    let next = 0;
    const worker = async () => {
      while (next < queue.length && !this.stopped) for (const batch of queue[next++]!) if (!this.stopped) await this.sendBatch(receiver, batch, known);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, queue.length) }, worker));
  }

  private async sendBatch(receiver: Receiver, batch: DeliveryView[], known: Map<number, Alert>): Promise<void> {
    const ids = [...new Set(batch.flatMap((d) => d.alertIds))];
    let alerts = ids.map((id) => known.get(id)).filter((a): a is Alert => a !== undefined);
    const kind: Message['kind'] = batch.length > 1 ? 'digest' : (batch[0]!.kind as NotifyKind);
    // At send time: drop what folded into a parent meanwhile, or was resolved before its firing went out.
    if (kind === 'firing' || kind === 'repeat' || kind === 'escalation') alerts = alerts.filter((a) => a.foldedInto === null && !a.held && a.state !== 'resolved' && a.notified);
    if (receiver.settings.severities) alerts = alerts.filter((a) => receiver.settings.severities!.includes(a.severity));
    const now = this.now();
    if (!alerts.length) {
      await this.options.database.write(async (tx) => {
        for (const d of batch) await tx.updateTable('alert_delivery').set({ status: 'sent', sent_at: iso(now), last_answer: 'nothing left to tell (folded, resolved or filtered before sending)', body: null }).where('id', '=', d.id).execute();
      });
      return;
    }
    const message = await this.compose(receiver, kind, alerts);
    let answer: string;
    let ok: boolean;
    try {
      answer = await sendTo(receiver, message, this.options.timeoutMs ?? 10_000, this.options.externalUrl);
      ok = true;
    } catch (error) {
      answer = (error as Error).message.slice(0, 1000);
      ok = false;
    }
    if (ok && (receiver.settings.ratePerMinute ?? DEFAULT_RATE[receiver.type]) > 0) this.sent.get(receiver.name)!.push(this.now());
    const max = this.options.maxAttempts ?? 8;
    await this.options.database.write(async (tx) => {
      for (const d of batch) {
        const attempts = d.attempts + 1;
        if (ok) await tx.updateTable('alert_delivery').set({ status: 'sent', attempts, sent_at: iso(this.now()), last_answer: answer, body: JSON.stringify({ kind: message.kind, title: message.title, text: message.text }) }).where('id', '=', d.id).execute();
        else {
          const backoff = Math.min(5_000 * 2 ** (attempts - 1), 10 * 60_000);
          await tx.updateTable('alert_delivery').set({ status: attempts >= max ? 'failed' : 'queued', attempts, next_at: iso(this.now() + backoff), last_answer: answer }).where('id', '=', d.id).execute();
        }
      }
    });
    if (!ok) this.options.log?.(`alerts: receiver ${receiver.name} failed (${answer}); will retry`);
  }

  private async compose(receiver: Receiver, kind: Message['kind'], alerts: Alert[]): Promise<Message> {
    const lang = receiver.settings.language ?? 'zh-CN';
    const base = (this.options.externalUrl ?? '').replace(/\/$/, '');
    const enriched = await Promise.all(
      alerts.map(async (a) => {
        const folded = this.options.foldedCount ? await this.options.foldedCount(a.id) : 0;
        let articles: string[] = [];
        if (this.kb) {
          try {
            articles = (await this.kb.matchAlert({ rule: a.rule, ...(a.node ? { node: a.node } : {}), ...(a.site ? { site: a.site } : {}), ...(a.zone ? { zone: a.zone } : {}), ...(a.labels.trapOid ? { trapOid: a.labels.trapOid } : {}) }, 3)).map((m) => (lang === 'zh-CN' && m.titleZh ? m.titleZh : m.title));
          } catch {
            articles = [];
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
  if (!entry.days.includes(d.getDay())) return false;
  return entry.from <= entry.to ? minutes >= entry.from && minutes < entry.to : minutes >= entry.from || minutes < entry.to;
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

const agents = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }), https: new https.Agent({ keepAlive: true, maxSockets: 64 }) };

/** POSTs JSON over a kept-alive connection; resolves with the answer, rejects on a non-2xx status, an error or no answer in time. */
function post(url: string, body: unknown, timeoutMs: number, headers: Record<string, string> = {}): Promise<string> {
  const target = new URL(url);
  const payload = Buffer.from(JSON.stringify(body));
  const secure = target.protocol === 'https:';
  return new Promise<string>((resolve, reject) => {
    const request = (secure ? https : http).request(
      target,
      { method: 'POST', agent: secure ? agents.https : agents.http, headers: { 'content-type': 'application/json', 'content-length': String(payload.length), ...headers } },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= 4096) chunks.push(c);
        });
        response.on('end', () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString('utf8').slice(0, 2000);
          const status = response.statusCode ?? 0;
          if (status < 200 || status > 299) reject(new Error(`HTTP ${status}: ${text.slice(0, 300)}`));
          else resolve(`HTTP ${status} ${text.slice(0, 300)}`);
        });
        response.on('error', (error) => {
          clearTimeout(timer);
          reject(new Error(`the answer from ${target.host} broke off: ${error.message}`));
        });
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(error.message.startsWith('no answer') ? error.message : `cannot reach ${target.host}: ${error.message}`));
    });
    request.end(payload);
  });
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
