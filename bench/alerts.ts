// The alerts suite (issue 11, section 8), run by `npm run bench -- --alerts`
// (EGOV_BENCH_SUITE=alerts):
//   1. rule evaluation CPU: 10,000 nodes x 20 interfaces, the built-in rules,
//      one delivery per node per 60 s (system, host, storage and 20 interface
//      points each): CPU seconds spent evaluating one minute's deliveries, as
//      a share of one core over that minute (bar <= 10 %);
//   2. alert storm: the core router down with 1,000 nodes behind it, the
//      children's samples arriving first: notifications sent and the time to
//      the one that counts (bar: exactly 1 with the folded count, within 2 s);
//   3. notifications into a local webhook per second (bar >= 1,000/s), and
//      the real Alertmanager fed the same alerts one POST each, as the ratio;
//   4. a trap or syslog line stored by ingest -> the webhook receiving its
//      notification (group wait 0), p99 (bar <= 1 s). The agent's hop (the
//      outbox shipping over mTLS) is not in this figure: see the monitor suite.
// Sizes: EGOV_BENCH_ALERTS_NODES (10,000), EGOV_BENCH_ALERTS_STORM (1,000),
// EGOV_BENCH_ALERTS_NOTIFICATIONS (3,000), EGOV_BENCH_ALERTS_TRAPS (200).
// EGOV_BENCH_ALERTS_FIGURES=webhook,storm,... runs only those figures
// (evaluation, storm, webhook, traps; default all).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { openDatabase, secretBoxFromKey, type Database } from '../core/index.js';
import { AlertEngine, AlertNotifier, builtInRuleSet, parseRuleSet, type NodeInfo, type Alert } from '../monitor/alerts/index.js';
import type { MetricPoint } from '../monitor/index.js';
import { percentile, removeTempDir, stopChild, tempDir } from './lib.js';

export interface AlertsBenchOptions {
  nodes: number;
  interfaces: number;
  storm: number;
  notifications: number;
  traps: number;
  log: (line: string) => void;
}

export interface AlertsBenchReport {
  evaluation?: { nodes: number; interfaces: number; pointsPerMinute: number; cpuSecondsPerMinute: number; coreSharePct: number; bar: string };
  storm?: { children: number; notifications: number; foldedCount: number | null; firstNotificationMs: number | null; bar: string };
  webhook?: { notifications: number; perSecond: number; alertmanagerPerSecond: number | null; ratio: number | null; bar: string; alertmanagerError?: string };
  trapToWebhook?: { samples: number; p50Ms: number; p99Ms: number; bar: string };
}

const secrets = secretBoxFromKey(randomBytes(32));

async function sink(): Promise<{ url: string; bodies: any[]; close(): Promise<void>; onBody?: (b: any) => void }> {
  const state: { url: string; bodies: any[]; close(): Promise<void>; onBody?: (b: any) => void } = { url: '', bodies: [], close: async () => undefined };
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      state.bodies.push(body);
      state.onBody?.(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  state.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return state;
}

async function fresh(dir: string, name: string): Promise<Database> {
  return openDatabase({ dataDir: path.join(dir, name) });
}

async function withNotifier(database: Database, rules = parseRuleSet({ routes: [{ receivers: ['hook'] }] }), url: string, foldedCount?: (id: number) => Promise<number>) {
  const notifier = new AlertNotifier({ database, secrets, rules: () => rules, ...(foldedCount ? { foldedCount } : {}) });
  await notifier.putReceiver({ name: 'hook', type: 'webhook', url }, { actor: 'bench', source: 'bench' }, async () => undefined);
  return notifier;
}

// ------------------------------------------------------------ 1. evaluation

async function evaluation(dir: string, o: AlertsBenchOptions): Promise<AlertsBenchReport['evaluation']> {
  const database = await fresh(dir, 'eval');
  const nodes: NodeInfo[] = Array.from({ length: o.nodes }, (_, i) => ({ name: `n${i}`, kind: i % 10 === 0 ? 'router' : 'switch', zone: 'internal', site: `Site ${i % 200}`, level: 'village', parents: i === 0 ? [] : [`n${Math.floor((i - 1) / 50)}`] }));
  const engine = new AlertEngine({ database, rules: builtInRuleSet(), nodes: async () => nodes });
  const minute = (m: number): MetricPoint[][] => {
    const t = Date.now() - (10 - m) * 60_000;
    return nodes.map((n, i) => {
      const points: MetricPoint[] = [
        { measurement: 'system', tags: { node: n.name }, fields: { reachable: 1, rttMs: 2, sysUpTime: 100_000 + m * 6000 }, time: t },
        { measurement: 'host', tags: { node: n.name }, fields: { cpuLoadPct: 20 + (i % 30), memoryUsedPct: 40, memoryTotalBytes: 4e9 }, time: t },
        { measurement: 'storage', tags: { node: n.name, storage: '/' }, fields: { usedPct: 50, sizeBytes: 1e10, usedBytes: 5e9 }, time: t },
      ];
      for (let f = 1; f <= o.interfaces; f++)
        points.push({ measurement: 'interface', tags: { node: n.name, ifIndex: String(f), ifName: `Gi0/${f}` }, fields: { inOctetsPerSec: 1e5, outOctetsPerSec: 1e5, inBitsPerSec: 8e5, outBitsPerSec: 8e5, inErrorsPerSec: 0, outErrorsPerSec: 0, inDiscardsPerSec: 0, outDiscardsPerSec: 0, operStatus: 1, adminStatus: 1, highSpeedMbps: 1000, inUtilisationPct: 10 + (f % 50), outUtilisationPct: 12 }, time: t });
      return points;
    });
  };
  // The first minute fills the caches (inventory, flap histories); the next ones are the steady state.
  for (const delivery of minute(0)) await engine.ingest({ metrics: delivery, logs: [], events: [] });
  const minutes = 3;
  let cpu = 0;
  let points = 0;
  for (let m = 1; m <= minutes; m++) {
    const deliveries = minute(m);
    const before = process.cpuUsage();
    for (const delivery of deliveries) await engine.ingest({ metrics: delivery, logs: [], events: [] });
    const used = process.cpuUsage(before);
    cpu += (used.user + used.system) / 1e6;
    points += deliveries.reduce((s, d) => s + d.length, 0);
  }
  await database.close();
  const perMinute = cpu / minutes;
  return { nodes: o.nodes, interfaces: o.interfaces, pointsPerMinute: points / minutes, cpuSecondsPerMinute: perMinute, coreSharePct: (perMinute / 60) * 100, bar: '<= 10 % of one core' };
}

// ------------------------------------------------------------ 2. storm

async function storm(dir: string, o: AlertsBenchOptions): Promise<AlertsBenchReport['storm']> {
  const database = await fresh(dir, 'storm');
  const hook = await sink();
  const nodes: NodeInfo[] = [{ name: 'core', kind: 'router', zone: 'internal', site: 'City', level: 'city', parents: [] }];
  for (let i = 0; i < o.storm; i++) nodes.push({ name: `c${i}`, kind: 'switch', zone: 'internal', site: `County ${i % 10}`, level: 'county', parents: ['core'] });
  let engine: AlertEngine | undefined;
  const notifier = await withNotifier(database, undefined, hook.url, (id) => engine!.foldedCount(id));
  engine = new AlertEngine({ database, rules: builtInRuleSet(), nodes: async () => nodes, notifier });
  notifier.start(100);
  let first: number | null = null;
  const started = performance.now();
  hook.onBody = () => (first ??= performance.now() - started);
  const t = Date.now();
  // The children's failed polls arrive first (the race LibreNMS #8353 describes), the parent's last.
  const metrics: MetricPoint[] = [...nodes.slice(1), nodes[0]!].map((n) => ({ measurement: 'system', tags: { node: n.name }, fields: { reachable: 0 }, time: t }));
  await engine.ingest({ metrics, logs: [], events: [] });
  await new Promise((r) => setTimeout(r, 3000));
  await notifier.drain();
  await notifier.stop();
  const alerts = hook.bodies.flatMap((b) => b.alerts as Array<{ annotations: { folded?: string } }>);
  await hook.close();
  await database.close();
  return { children: o.storm, notifications: hook.bodies.length, foldedCount: alerts[0]?.annotations.folded ? Number(alerts[0].annotations.folded) : null, firstNotificationMs: first, bar: 'exactly 1 notification (folded count), 0 for the children, within 2 s' };
}

// ------------------------------------------------------------ 3. webhook throughput vs Alertmanager

const freePort = () => new Promise<number>((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); }); });

async function webhook(dir: string, o: AlertsBenchOptions): Promise<AlertsBenchReport['webhook']> {
  const database = await fresh(dir, 'webhook');
  const hook = await sink();
  const notifier = await withNotifier(database, undefined, hook.url);
  const now = new Date().toISOString();
  const alerts: Alert[] = [];
  await database.write(async (tx) => {
    for (let i = 0; i < o.notifications; i++) {
      const row = { fingerprint: `r${i}|n${i}`, live_fingerprint: `r${i}|n${i}`, rule: `rule-${i}`, severity: 'major', state: 'firing' as const, node: `n${i}`, site: 'S', zone: 'internal', labels: '{}', summary: `alert ${i}`, value: null, started_at: now, fired_at: now, resolved_at: null, ack_by: null, ack_comment: null, ack_at: null, folded_into: null, held: 0, notified: 1, muted_by: null, flapping: 0, escalated: 0, updated_at: now };
      const { id } = await tx.insertInto('alert_alert').values(row).returning('id').executeTakeFirstOrThrow();
      alerts.push({ id: Number(id), fingerprint: row.fingerprint, rule: row.rule, severity: 'major', state: 'firing', node: row.node, site: 'S', zone: 'internal', labels: {}, summary: row.summary, value: null, startedAt: now, firedAt: now, resolvedAt: null, ackBy: null, ackComment: null, ackAt: null, foldedInto: null, held: false, notified: true, mutedBy: null, flapping: false, escalated: 0, updatedAt: now });
    }
  });
  const started = performance.now();
  await database.write((tx) => notifier.enqueue(tx, alerts, 'firing', Date.now()));
  await notifier.drain(600_000);
  const seconds = (performance.now() - started) / 1000;
  await hook.close();
  await database.close();
  const perSecond = hook.bodies.length / seconds;
  // The same alerts into the real Alertmanager, one POST each (as a webhook notification is one request each).
  let alertmanagerPerSecond: number | null = null;
  let alertmanagerError: string | undefined;
  const port = await freePort();
  writeFileSync(path.join(dir, 'am.yml'), 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  const am = spawn('/usr/bin/prometheus-alertmanager', [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${path.join(dir, 'am')}`, `--web.listen-address=127.0.0.1:${port}`, '--cluster.listen-address='], { stdio: 'ignore' });
  try {
    const base = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    while (!(await fetch(`${base}/-/ready`).then((r) => r.ok).catch(() => false))) {
      if (Date.now() > end) throw new Error('alertmanager did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const amStarted = performance.now();
    for (const a of alerts) {
      const res = await fetch(`${base}/api/v2/alerts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ labels: { alertname: a.rule, node: a.node!, severity: a.severity }, annotations: { summary: a.summary }, startsAt: now, generatorURL: `http://egov/alerts/${a.id}` }]) });
      if (!res.ok) throw new Error(`alertmanager answered ${res.status}`);
      await res.arrayBuffer();
    }
    alertmanagerPerSecond = alerts.length / ((performance.now() - amStarted) / 1000);
  } catch (error) {
    alertmanagerError = (error as Error).message;
  } finally {
    await stopChild(am);
  }
  return { notifications: hook.bodies.length, perSecond, alertmanagerPerSecond, ratio: alertmanagerPerSecond ? perSecond / alertmanagerPerSecond : null, bar: '>= 1,000/s', ...(alertmanagerError ? { alertmanagerError } : {}) };
}

// ------------------------------------------------------------ 4. trap -> webhook

async function trapLatency(dir: string, o: AlertsBenchOptions): Promise<AlertsBenchReport['trapToWebhook']> {
  const database = await fresh(dir, 'traps');
  const hook = await sink();
  const rules = parseRuleSet({ routes: [{ receivers: ['hook'], groupWait: 0 }] });
  const notifier = await withNotifier(database, rules, hook.url);
  const nodes: NodeInfo[] = Array.from({ length: o.traps }, (_, i) => ({ name: `t${i}`, kind: 'switch', zone: 'internal', site: 'S', level: 'county', parents: [] }));
  const engine = new AlertEngine({ database, rules, nodes: async () => nodes, notifier });
  notifier.start(200);
  const latencies: number[] = [];
  for (let i = 0; i < o.traps; i++) {
    const got = new Promise<void>((resolve) => (hook.onBody = () => resolve()));
    const t0 = performance.now();
    await engine.ingest({ metrics: [], logs: [], events: [{ time: Date.now(), node: `t${i}`, sourceAddress: '10.0.0.1', kind: 'trap', name: '1.3.6.1.6.3.1.1.5.3', severity: 'error', detail: {} }] });
    await got;
    latencies.push(performance.now() - t0);
  }
  await notifier.stop();
  await hook.close();
  await database.close();
  return { samples: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), bar: 'p99 <= 1 s' };
}

export async function runAlertsBench(o: AlertsBenchOptions): Promise<AlertsBenchReport> {
  const dir = tempDir('alerts-bench');
  try {
    const figures = (process.env.EGOV_BENCH_ALERTS_FIGURES ?? '').split(',').map((f) => f.trim()).filter(Boolean);
    const wanted = (f: string) => figures.length === 0 || figures.includes(f);
    const report: AlertsBenchReport = {};
    if (wanted('evaluation')) {
      o.log(`alerts: rule evaluation, ${o.nodes} nodes x ${o.interfaces} interfaces`);
      report.evaluation = await evaluation(dir, o);
    }
    if (wanted('storm')) {
      o.log(`alerts: storm, core router down with ${o.storm} nodes behind it`);
      report.storm = await storm(dir, o);
    }
    if (wanted('webhook')) {
      o.log(`alerts: ${o.notifications} notifications into a local webhook, then into Alertmanager`);
      report.webhook = await webhook(dir, o);
    }
    if (wanted('traps')) {
      o.log(`alerts: ${o.traps} traps -> webhook`);
      report.trapToWebhook = await trapLatency(dir, o);
    }
    return report;
  } finally {
    removeTempDir(dir);
  }
}

export function renderAlertsTable(r: AlertsBenchReport): string {
  const f = (n: number | null, d = 1) => (n === null ? '-' : n.toFixed(d));
  const { evaluation: e, storm: s, webhook: w, trapToWebhook: t } = r;
  return [
    '| figure | measured | bar |',
    '|---|---|---|',
    ...(e ? [`| rule evaluation, ${e.nodes.toLocaleString('en')} nodes x ${e.interfaces} interfaces, built-in rules, a delivery per node every 60 s (${Math.round(e.pointsPerMinute).toLocaleString('en')} points/min) | ${f(e.coreSharePct, 2)} % of one core (${f(e.cpuSecondsPerMinute, 2)} CPU s per minute) | ${e.bar} |`] : []),
    ...(s ? [`| alert storm: core router down, ${s.children.toLocaleString('en')} nodes behind it (children polled first) | ${s.notifications} notification(s), folded count ${s.foldedCount ?? '-'}, first after ${f(s.firstNotificationMs, 0)} ms | ${s.bar} |`] : []),
    ...(w ? [`| notifications into a local webhook | ${f(w.perSecond, 0)}/s; Alertmanager fed the same ${w.notifications} alerts one POST each: ${f(w.alertmanagerPerSecond, 0)}/s (ratio ${f(w.ratio, 2)})${w.alertmanagerError ? ` (${w.alertmanagerError})` : ''} | ${w.bar} |`] : []),
    ...(t ? [`| a trap stored by ingest -> the webhook receiving its notification (group wait 0), ${t.samples} traps | p50 ${f(t.p50Ms)} ms, p99 ${f(t.p99Ms)} ms | ${t.bar} |`] : []),
  ].join('\n');
}
