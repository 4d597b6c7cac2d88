// The alert walk in a real browser (Playwright driving Debian's chromium,
// client certificate over mTLS), against a real snmpd polled by a real agent:
// the device goes down (its snmpd stopped), the alert appears with its
// matched knowledge-base article, the operator acknowledges it, the device
// returns (snmpd started again), the alert resolves, and the webhook
// receiver got exactly the messages expected: node-down firing then resolved
// (and at most one device-rebooted: snmpd's sysUpTime starts again from zero).

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { KnowledgeBase, readArticleFiles, starterDirectory } from '../monitor/kb/index.js';
import { until, writeInternalAgentConfig } from './support/agent.js';
import { captureServer, type CaptureServer } from './support/alerts.js';
import { startDeskSuite, type DeskSuite, type Person } from './support/desk.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';

const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';
const actor = { actor: 'test', source: 'test' };

let desk: DeskSuite;
let snmpd: Snmpd;
let agent: Agent | undefined;
let browser: Browser;
let hook: CaptureServer;
let admin: Person;
let tmp: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}`);
  desk = await startDeskSuite();
  snmpd = await startSnmpd();
  hook = await captureServer();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-alerts-walk-'));
  await desk.started.monitor.inventory.addNode(
    {
      name: 'sw-county-b',
      kind: 'switch',
      zone: 'internal',
      site: 'County B',
      level: 'county',
      address: '127.0.0.1',
      snmpPort: snmpd.port,
      snmp: { version: 'v3', user: snmpd.authPriv.user, authProtocol: 'SHA-256', authPassword: snmpd.authPriv.authPassword, privProtocol: 'AES-128', privPassword: snmpd.authPriv.privPassword },
    },
    actor,
  );
  // The starter knowledge base (the kb room's own articles), and a webhook receiver (no routes: every receiver hears every alert).
  await new KnowledgeBase(desk.suite.database).importArticles(readArticleFiles(starterDirectory()).flatMap((f) => f.articles), { by: 'test', source: 'test' });
  await desk.started.alerts.putReceiver({ name: 'noc', type: 'webhook', url: `${hook.url}/hook`, language: 'en' }, actor);
  await writeInternalAgentConfig(desk, tmp, '{ udpPort: 0, tcpPort: 0, tlsPort: 0, host: 127.0.0.1 }', ['names: [127.0.0.1, agent-internal.city.gov.cn]']);
  agent = await Agent.start(loadAgentConfig(path.join(tmp, 'agent.yaml')), { info: () => undefined, warn: () => undefined });
  admin = await desk.person('Net Admin Zhao', ['network-admin']);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await agent?.stop();
  await snmpd?.dispose();
  await hook?.close();
  await desk?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the alert walk', () => {
  it('device down -> alert with its article -> acknowledged -> device back -> resolved; the receiver got exactly firing then resolved', async () => {
    const monitor = desk.started.monitor;
    const alerts = desk.started.alerts;
    await until('the device polled up', async () => (await monitor.metrics.latest('system', { node: 'sw-county-b' }))[0]?.fields.reachable === 1, 60_000);
    expect(await alerts.list()).toHaveLength(0);

    await snmpd.stop();
    const alert = await until('the node-down alert', async () => (await alerts.list({ state: 'firing' })).find((a) => a.rule === 'node-down' && a.node === 'sw-county-b'), 90_000);
    await until('the firing message', async () => hook.requests.length >= 1, 30_000);

    const certPath = path.join(tmp, 'admin.crt');
    const keyPath = path.join(tmp, 'admin.key');
    writeFileSync(certPath, admin.certPem);
    writeFileSync(keyPath, admin.keyPem);
    const context = await browser.newContext({ clientCertificates: [{ origin: desk.secureBase, certPath, keyPath }], ignoreHTTPSErrors: true, locale: 'en-GB' });
    const page = await context.newPage();
    // The status page lists it at the top.
    await page.goto(`${desk.secureBase}/status`);
    expect(await page.locator('#firing-alerts').textContent()).toContain('sw-county-b');
    // The list, with its severity colour; then the alert page with the matched article.
    await page.goto(`${desk.secureBase}/alerts`);
    const row = page.locator(`tr[data-alert="${alert.id}"]`);
    expect(await row.locator('.asev-critical').count()).toBe(1);
    await row.locator('a').click();
    await page.waitForURL(`**/alerts/${alert.id}`);
    const articles = await page.locator('#alert-articles .kb-article').allTextContents();
    expect(articles.length).toBeGreaterThan(0);
    expect(await page.locator('#alert-seen-before').textContent()).toMatch(/never before/);
    await page.fill('#ack-comment', 'County B switch: power checked with the site, crew on the way');
    await page.click('#ack');
    await page.waitForURL(/ok=/);
    expect(await page.locator('#alert-state').textContent()).toBe('acknowledged');
    expect(await page.locator('#alert-ack').textContent()).toContain('crew on the way');
    // Chinese.
    await page.goto(`${desk.secureBase}/alerts/${alert.id}?lang=zh-CN`);
    expect(await page.locator('#alert-state').textContent()).toBe('已确认');
    expect(await page.locator('#alert-facts .asev-critical').textContent()).toBe('紧急');

    await snmpd.start();
    await until('the alert resolved', async () => (await alerts.engine.get(alert.id))?.state === 'resolved', 90_000);
    await until('the resolved message', async () => hook.requests.length >= 2, 30_000);
    await page.goto(`${desk.secureBase}/alerts/${alert.id}`);
    expect(await page.locator('#alert-state').textContent()).toBe('已恢复');
    await page.click('#lang');
    await page.waitForLoadState();
    // The switch sets the cookie; the page after it reads it (core's language hook lets an older cookie win on the switching request itself).
    await page.goto(`${desk.secureBase}/alerts/${alert.id}`);
    expect(await page.locator('#alert-state').textContent()).toBe('resolved');
    const kinds = (await page.locator('#alert-timeline tr td:nth-child(2)').allTextContents());
    expect(kinds).toEqual(['pending', 'firing', 'acknowledged', 'resolved']);
    await context.close();

    // A moment for anything stray, then exactly: node-down firing, then resolved. snmpd started
    // again counts its sysUpTime from zero, so the device-rebooted rule may say so too, once, when the
    // agent's first poll after the restart carries sysUpTime: that is the only other message allowed.
    await new Promise((r) => setTimeout(r, 3000));
    await alerts.notifier.drain();
    const said = hook.requests.map((r) => `${r.body.status}:${r.body.alerts.map((a: { labels: { alertname: string; node: string } }) => `${a.labels.alertname}@${a.labels.node}`).join(',')}`);
    expect(said.filter((m) => !m.startsWith('firing:device-rebooted@'))).toEqual(['firing:node-down@sw-county-b', 'resolved:node-down@sw-county-b']);
    expect(said.filter((m) => m.startsWith('firing:device-rebooted@'))).toEqual(said.includes('firing:device-rebooted@sw-county-b') ? ['firing:device-rebooted@sw-county-b'] : []);
    expect(hook.requests[0]!.body.alerts[0].annotations.kb).toBeTruthy();
  }, 300_000);
});
