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
//      notification (group wait 0), in process: the engine and notifier alone;
//   5. the same end to end, as the bar reads it (p99 <= 1 s): a real
//      `snmptrap` or a syslog datagram sent to a separate `egov-ops agent`
//      process, its outbox shipping over mTLS to `egov-ops serve`, the served
//      notifier posting to the webhook. Each sample is a new device, so each is
//      a new alert, and the clock starts before snmptrap is spawned.
// Sizes: EGOV_BENCH_ALERTS_NODES (10,000), EGOV_BENCH_ALERTS_STORM (1,000),
// EGOV_BENCH_ALERTS_NOTIFICATIONS (3,000), EGOV_BENCH_ALERTS_TRAPS (200, also
// the end-to-end samples). EGOV_BENCH_ALERTS_FIGURES=webhook,storm,... runs
// only those figures (evaluation, storm, webhook, traps, agent; default all).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { openDatabase, secretBoxFromKey, type Database } from '../core/index.js';
import { AlertEngine, AlertNotifier, builtInRuleSet, parseRuleSet, type NodeInfo, type Alert } from '../monitor/alerts/index.js';
import type { MetricPoint } from '../monitor/index.js';
import { Authority, fixedPassphrase, toPem } from '../ca/index.js';
import { percentile, removeTempDir, runOk, spawnTracked, stopChild, tempDir } from './lib.js';
import { startServe } from './serve.js';

export interface AlertsBenchOptions {
  nodes: number;
  interfaces: number;
  storm: number;
  notifications: number;
  traps: number;
  /** The built CLI (dist/egov-ops/main.js), for the end-to-end figure. */
  cliMain: string;
  log: (line: string) => void;
}

export interface AlertsBenchReport {
  evaluation?: { nodes: number; interfaces: number; pointsPerMinute: number; cpuSecondsPerMinute: number; coreSharePct: number; bar: string };
  storm?: { children: number; notifications: number; foldedCount: number | null; firstNotificationMs: number | null; bar: string };
  webhook?: { notifications: number; perSecond: number; alertmanagerPerSecond: number | null; ratio: number | null; bar: string; alertmanagerError?: string };
  trapToWebhook?: { samples: number; p50Ms: number; p99Ms: number; bar: string };
  agentToWebhook?: { samples: number; traps: LatencySummary; syslog: LatencySummary; all: LatencySummary; bar: string; met: boolean };
}

export interface LatencySummary {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
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

// ------------------------------------------------------------ 5. agent -> webhook, end to end

const summarise = (xs: number[]): LatencySummary => ({ samples: xs.length, p50Ms: percentile(xs, 50), p99Ms: percentile(xs, 99), maxMs: xs.length ? Math.max(...xs) : NaN });

async function agentToWebhook(dir: string, o: AlertsBenchOptions): Promise<AlertsBenchReport['agentToWebhook']> {
  const base = path.join(dir, 'e2e');
  const dataDir = path.join(base, 'suite');
  mkdirSync(dataDir, { recursive: true });
  const passphrase = 'alerts-e2e-bench-passphrase';
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('EGOV_')) env[key] = value;
  const cli = (...args: string[]) => runOk(process.execPath, [o.cliMain, '--data-dir', dataDir, ...args], { env });
  writeFileSync(path.join(dataDir, 'config.yaml'), 'log: { level: warn }\n');
  // The CA that signs serve's TLS certificate (the agent trusts its chain).
  const database = await openDatabase({ dataDir });
  const authority = new Authority({ database, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase(passphrase) });
  await authority.initHierarchy({ name: 'e2e', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Bench/CN=Bench E2E Root CA' }, { actor: 'bench', source: 'bench' });
  writeFileSync(path.join(base, 'ca.pem'), (await authority.chain('e2e')).map((c) => toPem('CERTIFICATE', c)).join(''));
  await database.close();
  // One device per sample (each a new alert), reachability only, each its own loopback address.
  const devices = o.traps + 1;
  writeFileSync(path.join(base, 'nodes.csv'), ['name,kind,zone,site,level,address', ...Array.from({ length: devices }, (_, i) => `e2e-${i},router,internal,Bench,county,127.0.${10 + Math.floor(i / 200)}.${1 + (i % 200)}`)].join('\n') + '\n');
  await cli('node', 'import', path.join(base, 'nodes.csv'));
  const hook = await sink();
  await cli('alerts', 'receivers', 'add', 'hook', '--kind', 'webhook', '--url', hook.url, '--language', 'en');
  const code = (JSON.parse((await cli('--json', 'access', 'code', '--role', 'agent')).stdout) as { code: string }).code;
  const server = await startServe(o.cliMain, dataDir, passphrase);
  const trapPort = await freePort();
  const syslogPort = await freePort();
  writeFileSync(
    path.join(base, 'agent.yaml'),
    ['name: e2e-agent', 'zone: internal', `monitorUrl: ${server.secureUrl}`, 'caFile: ca.pem', 'dataDir: agent', `enrolmentCode: ${code}`, 'pollIntervalSeconds: 3600', `traps: { port: ${trapPort} }`, `syslog: { udpPort: ${syslogPort}, tcpPort: 0, host: 127.0.0.1 }`, ''].join('\n'),
  );
  const agent = spawnTracked(process.execPath, [o.cliMain, 'agent', '--config', path.join(base, 'agent.yaml')], { env, cwd: base, stdio: ['ignore', 'ignore', 'pipe'] });
  let agentLog = '';
  agent.stderr!.on('data', (c: Buffer) => (agentLog = (agentLog + c.toString()).slice(-10_000)));
  const waiting = new Map<string, () => void>();
  hook.onBody = (body: { alerts?: Array<{ status?: string; labels?: Record<string, string> }> }) => {
    for (const a of body.alerts ?? []) if (a.status === 'firing' && a.labels?.node) waiting.get(a.labels.node)?.();
  };
  const address = (i: number) => `127.0.${10 + Math.floor(i / 200)}.${1 + (i % 200)}`;
  const sendTrap = (i: number) => runOk('snmptrap', ['-v', '2c', '-c', 'public', `--clientaddr=${address(i)}`, `127.0.0.1:${trapPort}`, '', '1.3.6.1.6.3.1.1.5.3', '1.3.6.1.2.1.2.2.1.1.1', 'i', '1']);
  const sendSyslog = async (i: number) => {
    // From the device's own address, as a router would send it.
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, address(i), () => r()));
    const line = `<187>1 ${new Date().toISOString()} e2e-${i} bgpd - - - %BGP-5-ADJCHANGE: neighbor 10.9.0.${i % 250} Down BGP Notification sent`;
    await new Promise<void>((r, j) => socket.send(line, syslogPort, '127.0.0.1', (e) => (e ? j(e) : r())));
    socket.close();
  };
  /** Sends sample i and resolves with the milliseconds until its firing notification reached the webhook. */
  const sample = async (i: number, send: (i: number) => Promise<unknown>, timeoutMs: number): Promise<number> => {
    const node = `e2e-${i}`;
    const got = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no notification for ${node} within ${timeoutMs} ms; agent log: ${agentLog.slice(-1500)}; serve log: ${server.stderr().slice(-1500)}`)), timeoutMs);
      waiting.set(node, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const t0 = performance.now();
    await send(i);
    await got;
    waiting.delete(node);
    return performance.now() - t0;
  };
  try {
    // Warm-up: device 0 until the agent is enrolled, knows the devices and ships (a trap every 2 s until one arrives).
    const warm = Date.now() + 120_000;
    for (;;) {
      try {
        await sample(0, sendTrap, 2000);
        break;
      } catch (error) {
        if (Date.now() > warm || agent.exitCode !== null) throw error;
      }
    }
    const traps: number[] = [];
    const syslog: number[] = [];
    for (let i = 1; i < devices; i++) {
      if (i % 2) traps.push(await sample(i, sendTrap, 30_000));
      else syslog.push(await sample(i, sendSyslog, 30_000));
      if (i % 50 === 0) o.log(`  ${i} of ${devices - 1} samples`);
    }
    const all = summarise([...traps, ...syslog]);
    return { samples: all.samples, traps: summarise(traps), syslog: summarise(syslog), all, bar: 'p99 <= 1 s', met: all.p99Ms <= 1000 };
  } finally {
    await stopChild(agent);
    await stopChild(server.child);
    await hook.close();
  }
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
    if (wanted('agent')) {
      o.log(`alerts: ${o.traps} traps and syslog lines -> agent -> serve -> webhook, end to end`);
      report.agentToWebhook = await agentToWebhook(dir, o);
    }
    return report;
  } finally {
    removeTempDir(dir);
  }
}

export function renderAlertsTable(r: AlertsBenchReport): string {
  const f = (n: number | null, d = 1) => (n === null ? '-' : n.toFixed(d));
  const { evaluation: e, storm: s, webhook: w, trapToWebhook: t, agentToWebhook: a } = r;
  return [
    '| figure | measured | bar |',
    '|---|---|---|',
    ...(e ? [`| rule evaluation, ${e.nodes.toLocaleString('en')} nodes x ${e.interfaces} interfaces, built-in rules, a delivery per node every 60 s (${Math.round(e.pointsPerMinute).toLocaleString('en')} points/min) | ${f(e.coreSharePct, 2)} % of one core (${f(e.cpuSecondsPerMinute, 2)} CPU s per minute) | ${e.bar} |`] : []),
    ...(s ? [`| alert storm: core router down, ${s.children.toLocaleString('en')} nodes behind it (children polled first) | ${s.notifications} notification(s), folded count ${s.foldedCount ?? '-'}, first after ${f(s.firstNotificationMs, 0)} ms | ${s.bar} |`] : []),
    ...(w ? [`| notifications into a local webhook | ${f(w.perSecond, 0)}/s; Alertmanager fed the same ${w.notifications} alerts one POST each: ${f(w.alertmanagerPerSecond, 0)}/s (ratio ${f(w.ratio, 2)})${w.alertmanagerError ? ` (${w.alertmanagerError})` : ''} | ${w.bar} |`] : []),
    ...(t ? [`| a trap stored by ingest -> the webhook receiving its notification (group wait 0), ${t.samples} traps, in process | p50 ${f(t.p50Ms)} ms, p99 ${f(t.p99Ms)} ms | reported (the engine and notifier alone) |`] : []),
    ...(a ? [`| end to end: snmptrap or a syslog datagram -> egov-ops agent -> mTLS -> egov-ops serve -> webhook (group wait 0), ${a.samples} new devices | p50 ${f(a.all.p50Ms)} ms, p99 ${f(a.all.p99Ms)} ms, max ${f(a.all.maxMs)} ms (traps p99 ${f(a.traps.p99Ms)} ms incl. spawning snmptrap; syslog p99 ${f(a.syslog.p99Ms)} ms): ${a.met ? 'met' : 'NOT met'} | ${a.bar} |`] : []),
  ].join('\n');
}
