// The status page over mTLS: a server made like `egov-ops serve` makes its
// secure listener (the desk suite's access control, TLS material and CAs),
// with the monitor's routes and status pages on the desk suite's database.
// Nodes go in through the Inventory, samples, logs and events through the
// Ingestor, as an agent would ship them; then the pages are read as people
// with roles, and once in chromium with a client certificate.

import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessHierarchy, serverTlsMaterial, trustedClientCas } from '../ca/index.js';
import { createLogger, createServer, openDatabase, openSecretBox, type Database } from '../core/index.js';
import { monitorRoutes, openMonitor, statusPages, type EventRecord, type LogRecord, type MetricPoint, type Monitor, type OutboxItem } from '../monitor/index.js';
import { ADMIN_PASSWORD, call, PASSPHRASE, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = process.env.EGOV_DOCS_SCREENSHOTS === '1' ? path.resolve('docs') : undefined;
const by = { actor: 'test', source: 'test' };
const NOW = Date.now();
const MINUTE = 60_000;

let desk: DeskSuite;
let app: FastifyInstance;
let base: string;
let monitor: Monitor;
let emptyMonitor: Monitor;
let emptyDatabase: Database;
let emptyDir: string;
let auditor: Person;
let seq = 0;

// ---- what an agent ships

const reach = (node: string, reachable: 0 | 1, extra: Record<string, number> = {}): MetricPoint => ({
  measurement: 'system',
  tags: { node },
  fields: { reachable, ...(reachable ? { rttMs: 2.5 } : {}), ...extra },
  time: NOW - MINUTE,
});
const iface = (node: string, ifIndex: string, ifName: string, fields: Record<string, number>): MetricPoint => ({
  measurement: 'interface',
  tags: { node, ifIndex, ifName },
  fields: { operStatus: 1, adminStatus: 1, inErrorsPerSec: 0, outErrorsPerSec: 0, ...fields },
  time: NOW - MINUTE,
});
const log = (node: string | null, severity: LogRecord['severity'], message: string, time = NOW - 2 * MINUTE, app = 'sshd'): LogRecord => ({
  time,
  receivedAt: time,
  node,
  sourceAddress: '10.0.0.1',
  facility: 4,
  severity,
  host: node ?? 'unknown-host',
  app,
  procId: null,
  msgId: null,
  message,
  structuredData: {},
  format: 'rfc5424',
  transport: 'tls',
});
const event = (node: string, kind: EventRecord['kind'], name: string, severity: EventRecord['severity'], detail: Record<string, string>): EventRecord => ({
  time: NOW - 3 * MINUTE,
  node,
  sourceAddress: '10.0.0.1',
  kind,
  name,
  severity,
  detail,
});

async function ship(target: Monitor, records: Array<{ kind: 'metric'; record: MetricPoint } | { kind: 'log'; record: LogRecord } | { kind: 'event'; record: EventRecord }>) {
  const items = records.map((r) => ({ seq: ++seq, ...r }) as OutboxItem);
  const result = await target.ingestor.accept('agent-internal', items);
  expect(result.rejected).toEqual([]);
}

const node = (name: string, kind: string, zone: string, site: string, level: string, parents: string[] = [], address = `${name}.city.gov.cn`) => ({ name, kind, zone, site, level, address, parents });

async function seed() {
  const nodes = [
    node('core-1', 'router', 'internal', 'City data centre', 'city', [], '10.1.0.1'),
    node('agg-county-a', 'switch', 'internal', 'County A', 'county', ['core-1'], '10.2.0.1'),
    node('acc-town-a1', 'switch', 'internal', 'Township A1', 'township', ['agg-county-a'], '10.3.0.1'),
    node('vil-a1-01', 'router', 'internal', 'Village A1-01', 'village', ['acc-town-a1'], '10.4.0.1'),
    node('ext-fw-1', 'firewall', 'external', 'City data centre', 'city', [], '172.16.0.1'),
    node('ext-gw-county-b', 'gateway', 'external', 'County B', 'county', ['ext-fw-1'], '172.16.2.1'),
    node('dmz-web-1', 'server', 'dmz', 'City data centre', 'city', ['ext-fw-1'], '192.0.2.10'),
  ];
  for (const n of nodes) await monitor.inventory.addNode(n, by);
  await monitor.inventory.addLink({ a: 'core-1:Gi0/0/1', b: 'agg-county-a:XGE0/1', capacity: '10G', description: 'county A uplink' }, by);
  await monitor.inventory.addLink({ a: 'ext-fw-1:GE0/1', b: 'dmz-web-1:eth0', capacity: '1G' }, by);
  await monitor.inventory.addLink({ a: 'ext-fw-1:GE0/2', b: 'ext-gw-county-b:GE0/0', capacity: '100M' }, by);

  await ship(monitor, [
    // core-1 up; agg-county-a down (its parent is up: the fault is its own); acc-town-a1 and
    // vil-a1-01 down below it: unreachable. ext-gw-county-b never polled: unknown.
    { kind: 'metric', record: reach('core-1', 1, { sysUpTime: 90 * 86400 + 3600 }) },
    { kind: 'metric', record: reach('agg-county-a', 0) },
    { kind: 'metric', record: reach('acc-town-a1', 0) },
    { kind: 'metric', record: reach('vil-a1-01', 0) },
    { kind: 'metric', record: reach('ext-fw-1', 1, { sysUpTime: 3 * 3600 + 25 * 60 }) },
    { kind: 'metric', record: reach('dmz-web-1', 1, { sysUpTime: 12 * 86400 }) },
    // core-1 sends 9.2 Gbit/s on a 10G link: 92 %; the DMZ link carries 100 Mbit/s of 1G: 10 %.
    { kind: 'metric', record: iface('core-1', '1', 'Gi0/0/1', { inBitsPerSec: 1.5e9, outBitsPerSec: 9.2e9, highSpeedMbps: 10_000 }) },
    { kind: 'metric', record: iface('core-1', '3', 'Gi0/0/3', { operStatus: 2, adminStatus: 1, inBitsPerSec: 0, outBitsPerSec: 0 }) },
    { kind: 'metric', record: iface('core-1', '4', 'Gi0/0/4', { operStatus: 2, adminStatus: 2, inBitsPerSec: 0, outBitsPerSec: 0 }) },
    { kind: 'metric', record: iface('ext-fw-1', '1', 'GE0/1', { inBitsPerSec: 3e7, outBitsPerSec: 1e8, highSpeedMbps: 1000 }) },
    { kind: 'metric', record: iface('dmz-web-1', '2', 'eth0', { inBitsPerSec: 1e8, outBitsPerSec: 3e7, highSpeedMbps: 1000 }) },
    { kind: 'metric', record: { measurement: 'host', tags: { node: 'dmz-web-1' }, fields: { cpuLoadPct: 37.5, memoryUsedPct: 81.25, memoryTotalBytes: 16 * 1024 ** 3 }, time: NOW - MINUTE } },
    { kind: 'metric', record: { measurement: 'storage', tags: { node: 'dmz-web-1', storage: '/var' }, fields: { usedPct: 93.5, sizeBytes: 200 * 1024 ** 3, usedBytes: 187 * 1024 ** 3 }, time: NOW - MINUTE } },
    { kind: 'log', record: log('core-1', 'warning', 'Failed password for <script>alert("x")</script> from 10.9.9.9 port 2201', NOW - 2 * MINUTE) },
    { kind: 'log', record: log('core-1', 'info', 'Accepted publickey for noc from 10.1.9.9', NOW - 4 * MINUTE) },
    { kind: 'log', record: log(null, 'error', 'message from a source no node has', NOW - 5 * MINUTE, 'kernel') },
    { kind: 'log', record: log('dmz-web-1', 'notice', 'nginx reloaded', NOW - 6 * MINUTE, 'nginx') },
    { kind: 'event', record: event('core-1', 'trap', 'linkDown', 'warning', { ifIndex: '3', ifName: 'Gi0/0/3' }) },
    { kind: 'event', record: event('agg-county-a', 'reachability', 'unreachable', 'error', { reason: 'no answer to 3 polls' }) },
  ]);
}

beforeAll(async () => {
  desk = await startDeskSuite();
  const { suite } = desk;
  monitor = await openMonitor({ database: suite.database, secrets: openSecretBox(suite.config.dataDir) });
  emptyDir = mkdtempSync(path.join(os.tmpdir(), 'egov-status-empty-'));
  emptyDatabase = await openDatabase({ dataDir: emptyDir });
  emptyMonitor = await openMonitor({ database: emptyDatabase, secrets: openSecretBox(emptyDir) });

  // The secure listener as cli/serve.ts builds it, with the monitor's plugins.
  const ca = await accessHierarchy(suite.authority, suite.config.access.ca);
  const tls = await serverTlsMaterial(suite.authority, { dataDir: suite.config.dataDir, ca, names: ['127.0.0.1'], passphrase: async () => PASSPHRASE, by });
  app = createServer({ logger: createLogger('silent'), tls: { ...tls, ca: await trustedClientCas(suite.authority) }, access: suite.access });
  await app.register(monitorRoutes, { monitor });
  await app.register(statusPages, { monitor });
  // A second monitor, empty, under a prefix: the empty states.
  await app.register(statusPages, { monitor: emptyMonitor, prefix: '/empty' });
  base = (await app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');

  auditor = await desk.person('Audit Wang', ['auditor']);
  await seed();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await emptyMonitor?.close();
  await emptyDatabase?.close();
  await monitor?.close();
  await desk?.close();
  if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
});

const get = (who: Person | undefined, url: string, headers: Record<string, string> = {}) => call(base, desk.caPem, who, 'GET', url, { headers: { 'accept-language': 'en-GB,en;q=0.9', ...headers } });

/** The HTML between `id="<id>"` and the end of its element's section. */
function section(html: string, id: string): string {
  const start = html.indexOf(`id="${id}"`);
  expect(start, `#${id} on the page`).toBeGreaterThan(-1);
  const end = html.indexOf('</section>', start);
  return html.slice(start, end === -1 ? undefined : end);
}
const stateOf = (html: string, name: string) => new RegExp(`<tr data-node="${name}" data-state="([a-z]+)">`).exec(html)?.[1];

describe('GET /status', () => {
  it('shows nodes by zone and site with their states, the busiest link, down interfaces, logs and events', async () => {
    const reply = await get(auditor, '/status');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^text\/html; charset=utf-8/);
    expect(reply.headers['cache-control']).toBe('no-store');
    expect(reply.headers['content-security-policy']).toContain("default-src 'none'");
    expect(reply.headers['server-timing']).toMatch(/^db;dur=/);
    const html = reply.text;
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(html).toContain('<html lang="en">');

    // Counts, then zones in order, each with its sites.
    expect(section(html, 'counts')).toMatch(/data-count="up">✔ up: 3</);
    expect(section(html, 'counts')).toMatch(/data-count="down">✖ down: 1</);
    expect(section(html, 'counts')).toMatch(/data-count="unreachable">⚠ unreachable: 2</);
    expect(section(html, 'counts')).toMatch(/data-count="unknown">\? unknown: 1</);
    const internal = section(html, 'zone-internal');
    expect(internal).toContain('Internal network (政务内网)');
    expect(html.indexOf('id="zone-internal"')).toBeLessThan(html.indexOf('id="zone-external"'));
    expect(html.indexOf('id="zone-external"')).toBeLessThan(html.indexOf('id="zone-dmz"'));
    expect(section(html, 'zone-external')).toContain('External network (政务外网)');
    // Sites by level: city, county, township, village.
    const sites = [...internal.matchAll(/data-site="([^"]+)"/g)].map((m) => m[1]);
    expect(sites).toEqual(['City data centre', 'County A', 'Township A1', 'Village A1-01']);
    expect(internal).toMatch(/<b>Township A1<\/b> · township/);
    expect(section(html, 'zone-dmz')).toContain('data-node="dmz-web-1"');
    expect(section(html, 'zone-external')).not.toContain('data-node="dmz-web-1"');

    // States: a down parent makes what is behind it unreachable, and says which parent.
    expect(stateOf(html, 'core-1')).toBe('up');
    expect(stateOf(html, 'agg-county-a')).toBe('down');
    expect(stateOf(html, 'acc-town-a1')).toBe('unreachable');
    expect(stateOf(html, 'vil-a1-01')).toBe('unreachable');
    expect(stateOf(html, 'ext-gw-county-b')).toBe('unknown');
    const accRow = /<tr data-node="acc-town-a1"[\s\S]*?<\/tr>/.exec(html)![0];
    expect(accRow).toContain('⚠ unreachable');
    expect(accRow).toMatch(/cut off by: <a href="\/status\/nodes\/agg-county-a">agg-county-a<\/a>/);
    const coreRow = /<tr data-node="core-1"[\s\S]*?<\/tr>/.exec(html)![0];
    expect(coreRow).toContain('10.1.0.1');
    expect(coreRow).toContain('router');
    expect(coreRow).toContain('90 d 1 h');
    expect(/<tr data-node="ext-fw-1"[\s\S]*?<\/tr>/.exec(html)![0]).toContain('3 h 26 min');
    expect(/<tr data-node="ext-gw-county-b"[\s\S]*?<\/tr>/.exec(html)![0]).toContain('never');

    // The busiest link first, with its capacity.
    const links = section(html, 'links');
    const rows = [...links.matchAll(/<tr data-link="(\d+)">([\s\S]*?)<\/tr>/g)];
    expect(rows).toHaveLength(2); // the county B link has no figures
    expect(rows[0]![2]).toContain('core-1</a>:Gi0/0/1 ⇄ <a href="/status/nodes/agg-county-a">agg-county-a</a>:XGE0/1');
    expect(rows[0]![2]).toContain('10.0 Gbit/s');
    expect(rows[0]![2]).toContain('<b>92.0 %</b>');
    expect(rows[1]![2]).toContain('1.00 Gbit/s');
    expect(rows[1]![2]).toContain('<b>10.0 %</b>');

    // Down on an up node: Gi0/0/3; Gi0/0/4 is shut on purpose (adminStatus down).
    const down = section(html, 'interfaces');
    expect(down).toContain('Gi0/0/3');
    expect(down).not.toContain('Gi0/0/4');

    // Logs, newest first, escaped.
    const logs = section(html, 'logs');
    expect(logs).toContain('Failed password for &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; from 10.9.9.9');
    expect(html).not.toContain('<script');
    expect(logs.indexOf('Failed password')).toBeLessThan(logs.indexOf('Accepted publickey'));
    expect(logs).toContain('data-severity="warning"');
    expect(logs).toContain('unknown-host'); // a log no node claims shows its host
    expect(logs).toContain('href="/status/logs"');

    const events = section(html, 'events');
    expect(events).toContain('linkDown');
    expect(events).toContain('ifName=Gi0/0/3');
    expect(events).toContain('reachability');
  });

  it('speaks Chinese to a Chinese browser, and the switch sets the cookie', async () => {
    const zh = await get(auditor, '/status', { 'accept-language': 'zh-CN,zh;q=0.9,en;q=0.5' });
    expect(zh.status).toBe(200);
    expect(zh.text).toContain('<html lang="zh-CN">');
    expect(zh.text).toContain('网络运行状态');
    expect(section(zh.text, 'zone-internal')).toContain('政务内网');
    expect(section(zh.text, 'zone-external')).toContain('政务外网');
    expect(/<tr data-node="acc-town-a1"[\s\S]*?<\/tr>/.exec(zh.text)![0]).toContain('⚠ 不可达');
    expect(/<tr data-node="core-1"[\s\S]*?<\/tr>/.exec(zh.text)![0]).toContain('✔ 正常');
    expect(zh.text).toContain('乡镇级');
    expect(zh.text).toMatch(/id="lang" hreflang="en">English</);

    // ?lang=en sets the cookie; the cookie wins over the browser's language.
    const switched = await get(auditor, '/status?lang=en', { 'accept-language': 'zh-CN' });
    expect(switched.headers['set-cookie']?.[0]).toMatch(/^egov_lang=en; Path=\/; Secure; SameSite=Lax/);
    expect(switched.text).toContain('<html lang="en">');
    const byCookie = await get(auditor, '/status', { 'accept-language': 'zh-CN', cookie: 'egov_lang=en' });
    expect(byCookie.text).toContain('Internal network (政务内网)');
    const toChinese = await get(auditor, '/status?lang=zh-CN');
    expect(toChinese.headers['set-cookie']?.[0]).toMatch(/^egov_lang=zh-CN;/);
    expect(toChinese.text).toContain('按网络区域和站点分组的节点');
  });

  it('admits the reading roles and refuses the rest, as pages', async () => {
    const admin = await desk.person('Net Admin Li', ['network-admin']);
    const raOperator = await desk.person('RA Operator Zhao', ['ra-operator']);
    const agent = await desk.person('agent-dmz', ['agent']);
    const officer = await desk.person('Officer Sun', ['security-officer'], { password: ADMIN_PASSWORD });

    expect((await get(admin, '/status')).status).toBe(200);
    for (const who of [raOperator, agent]) {
      const refused = await get(who, '/status');
      expect(refused.status).toBe(403);
      expect(refused.headers['content-type']).toMatch(/^text\/html/);
      expect(refused.text).toMatch(/this route admits network-admin, security-officer, auditor, ca-admin/);
      expect(refused.text).not.toContain('data-node=');
      expect((await get(who, '/status/nodes/core-1')).status).toBe(403);
      expect((await get(who, '/status/logs')).status).toBe(403);
    }
    const nobody = await get(undefined, '/status');
    expect(nobody.status).toBe(401);
    expect(nobody.text).not.toContain('data-node=');

    // An officer's role is active only after the password: the page says so, then admits.
    const before = await get(officer, '/status');
    expect(before.status).toBe(401);
    expect(before.text).toContain('href="/sign-in?back=%2Fstatus"');
    expect((await signIn(desk, officer, ADMIN_PASSWORD)).status).toBe(200);
    expect((await get(officer, '/status', { cookie: `egov_session=${officer.cookie}` })).status).toBe(200);
  });

  it('says what to do when there is nothing yet', async () => {
    const reply = await get(auditor, '/empty/status');
    expect(reply.status).toBe(200);
    expect(section(reply.text, 'nodes')).toContain('No nodes in the inventory yet: <code>egov-ops node import FILE</code>');
    expect(reply.text).toContain('id="no-links"');
    expect(reply.text).toContain('id="no-down-interfaces"');
    expect(reply.text).toContain('No logs received yet.');
    expect(reply.text).toContain('No events received yet.');
    const zh = await get(auditor, '/empty/status', { 'accept-language': 'zh' });
    expect(zh.text).toContain('资产清单中还没有节点');
  });
});

describe('GET /status/logs', () => {
  it('searches by node, severity, text and time, newest first, escaped', async () => {
    const all = await get(auditor, '/status/logs');
    expect(all.status).toBe(200);
    expect(all.text).toContain('id="log-search"');
    expect([...all.text.matchAll(/<tr data-log=/g)]).toHaveLength(4);

    const byNode = await get(auditor, '/status/logs?node=core-1&severity=&q=&from=&to=');
    expect([...byNode.text.matchAll(/<tr data-log=/g)]).toHaveLength(2);
    expect(byNode.text).toContain('value="core-1"');

    const warnings = await get(auditor, '/status/logs?severity=warning');
    expect([...warnings.text.matchAll(/<tr data-log=/g)]).toHaveLength(2); // the warning and the error
    expect(warnings.text).toContain('<option value="warning" selected>');

    const text = await get(auditor, `/status/logs?q=${encodeURIComponent('<script>')}`);
    expect([...text.text.matchAll(/<tr data-log=/g)]).toHaveLength(1);
    expect(text.text).toContain('value="&lt;script&gt;"');
    expect(text.text).not.toContain('<script');

    const from = new Date(NOW - 3 * MINUTE).toISOString();
    const recent = await get(auditor, `/status/logs?from=${encodeURIComponent(from)}`);
    expect([...recent.text.matchAll(/<tr data-log=/g)]).toHaveLength(1);
    const none = await get(auditor, '/status/logs?node=dmz-web-1&severity=error');
    expect(none.text).toContain('No logs match.');
  });

  it('pages through many records, keeping the filters', async () => {
    // Ids run against time (line 0 is stored first and is the newest), and lines 95-129
    // share one second, across the page boundary: the cursor must lose none and repeat none.
    const many = Array.from({ length: 130 }, (_, i) => ({ kind: 'log' as const, record: log('vil-a1-01', 'info', `line ${i}`, NOW - 60 * MINUTE - Math.min(i, 95) * 1000, 'pppd') }));
    await ship(monitor, many);
    const first = await get(auditor, '/status/logs?node=vil-a1-01');
    const firstIds = [...first.text.matchAll(/<tr data-log="(\d+)"/g)].map((m) => Number(m[1]));
    expect(firstIds).toHaveLength(100);
    expect(first.text).toContain('line 0<');
    const next = /id="next" href="([^"]+)"/.exec(first.text)![1]!.replace(/&amp;/g, '&');
    expect(next).toMatch(/^\/status\/logs\?node=vil-a1-01&before=\d+%3A\d+$/);
    const second = await get(auditor, next);
    const secondIds = [...second.text.matchAll(/<tr data-log="(\d+)"/g)].map((m) => Number(m[1]));
    expect(secondIds).toHaveLength(30);
    const lines = (html: string) => [...html.matchAll(/>line (\d+)</g)].map((m) => Number(m[1]));
    expect([...lines(first.text), ...lines(second.text)].sort((a, b) => a - b)).toEqual(Array.from({ length: 130 }, (_, i) => i));
    expect(secondIds.every((id) => !firstIds.includes(id))).toBe(true);
    expect(second.text).not.toContain('id="next"');
    expect(second.text).toContain('id="first" href="/status/logs?node=vil-a1-01"');
  });

  it('refuses bad filters with a clear page', async () => {
    for (const [url, reason] of [
      ['/status/logs?severity=loud', /severity must be one of emergency, alert/],
      ['/status/logs?node=%3Cb%3E', /node must be a node name/],
      ['/status/logs?from=yesterday', /from must be a date and time/],
      ['/status/logs?from=2030-01-02T00:00&to=2030-01-01T00:00', /from must be before to/],
      ['/status/logs?before=abc', /before must be TIME:ID/],
    ] as const) {
      const reply = await get(auditor, url);
      expect(reply.status, url).toBe(400);
      expect(reply.headers['content-type']).toMatch(/^text\/html/);
      expect(reply.text).toMatch(reason);
    }
  });
});

describe('GET /status/nodes/:name', () => {
  it("shows one node's latest samples and its recent logs", async () => {
    const reply = await get(auditor, '/status/nodes/dmz-web-1');
    expect(reply.status).toBe(200);
    const html = reply.text;
    expect(html).toContain('<meta http-equiv="refresh" content="30">');
    expect(section(html, 'node-facts')).toContain('data-state="up"');
    expect(html).toContain('192.0.2.10');
    expect(html).toContain('12 d 0 h');
    const interfaces = section(html, 'node-interfaces');
    expect(interfaces).toContain('data-interface="eth0"');
    expect(interfaces).toContain('100 Mbit/s');
    expect(interfaces).toContain('10.0 %'); // in: 100 Mbit/s of the 1G link
    expect(interfaces).toContain('ext-fw-1</a>:GE0/1');
    const host = section(html, 'node-host');
    expect(host).toContain('37.5 %');
    expect(host).toContain('81.3 %');
    expect(host).toContain('16.0 GiB');
    const storage = section(html, 'node-storage');
    expect(storage).toContain('/var');
    expect(storage).toContain('93.5 %');
    expect(section(html, 'logs')).toContain('nginx reloaded');
    expect(section(html, 'logs')).toContain('href="/status/logs?node=dmz-web-1"');

    const cut = await get(auditor, '/status/nodes/vil-a1-01');
    expect(section(cut.text, 'node-facts')).toContain('data-state="unreachable"');
    expect(cut.text).toContain('id="no-interfaces"');
    expect(cut.text).toContain('id="no-host"');

    const core = await get(auditor, '/status/nodes/core-1', { 'accept-language': 'zh-CN' });
    expect(core.text).toContain('节点 core-1');
    expect(section(core.text, 'logs')).toContain('&lt;script&gt;');
    expect(section(core.text, 'node-interfaces')).toContain('data-interface="Gi0/0/3"');
  });

  it('says so when there is no such node', async () => {
    const missing = await get(auditor, '/status/nodes/no-such-node');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('no node named &quot;no-such-node&quot; in the inventory');
    const odd = await get(auditor, `/status/nodes/${encodeURIComponent('<img src=x>')}`);
    expect(odd.status).toBe(404);
    expect(odd.text).not.toContain('<img');
  });
});

describe('a thousand nodes', () => {
  it('one page, one query a section, still quick', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => ({
      line: i + 1,
      kind: 'node' as const,
      input: { name: `vil-${i}`, kind: 'router', zone: i % 2 ? 'external' : 'internal', site: `Village ${Math.floor(i / 4)}`, level: 'village', address: `10.200.${Math.floor(i / 250)}.${(i % 250) + 1}`, parents: [] },
    }));
    const report = await emptyMonitor.inventory.importRows(rows, by);
    expect(report.rejected).toEqual([]);
    await ship(emptyMonitor, rows.map((r, i) => ({ kind: 'metric' as const, record: reach(`vil-${i}`, i % 10 ? 1 : 0) })));
    await get(auditor, '/empty/status');
    const started = Date.now();
    const reply = await get(auditor, '/empty/status');
    const elapsed = Date.now() - started;
    expect(reply.status).toBe(200);
    expect([...reply.text.matchAll(/<tr data-node=/g)]).toHaveLength(1000);
    expect(section(reply.text, 'counts')).toMatch(/data-count="down">✖ down: 100</);
    // Above 300 nodes, sites where all is up start folded; sites with a problem stay open.
    expect(reply.text).toMatch(/<details data-site="Village 1" data-zone="internal">/);
    expect(reply.text).toMatch(/<details open data-site="Village 0" data-zone="internal">/);
    expect(elapsed).toBeLessThan(3000);
  }, 60_000);
});

describe('the status page in chromium', () => {
  let browser: Browser | undefined;
  let tmp: string | undefined;
  afterAll(async () => {
    await browser?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('opens with a client certificate, shows the states, switches to Chinese', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium package (.ci/run does)`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-status-browser-'));
    const certPath = path.join(tmp, 'auditor.crt');
    const keyPath = path.join(tmp, 'auditor.key');
    writeFileSync(certPath, auditor.certPem);
    writeFileSync(keyPath, auditor.keyPem);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const context = await browser.newContext({ clientCertificates: [{ origin: base, certPath, keyPath }], ignoreHTTPSErrors: true, locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    // A Content-Security-Policy refusal would show here (the favicon's 404 is not one).
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    const response = await page.goto(`${base}/status`);
    expect(response?.status()).toBe(200);
    await expect(page.locator('#who').textContent()).resolves.toContain('Audit Wang');
    await expect(page.locator('tr[data-node="acc-town-a1"] .st').textContent()).resolves.toContain('unreachable');
    await expect(page.locator('tr[data-node="agg-county-a"] .st').textContent()).resolves.toContain('down');
    await expect(page.locator('#worst-links tbody tr').first().textContent()).resolves.toContain('92.0 %');
    // The log line is text on the page, not markup: no script ran, no element was made.
    await expect(page.locator('#recent-logs').textContent()).resolves.toContain('<script>alert("x")</script>');
    await expect(page.locator('#recent-logs script').count()).resolves.toBe(0);
    if (SCREENSHOTS) {
      mkdirSync(SCREENSHOTS, { recursive: true });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'status.png'), fullPage: true });
    }
    await page.click('#lang');
    await expect(page.locator('h1').textContent()).resolves.toBe('网络运行状态');
    await page.click('a[href="/status/nodes/core-1"] >> nth=0');
    await expect(page.locator('h1').textContent()).resolves.toBe('节点 core-1');
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);
});
