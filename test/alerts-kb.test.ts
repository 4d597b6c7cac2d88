// Alerts and the knowledge base together, on both engines: a syslog line
// through the monitor's ingest raises the engine's own rule
// (routing-neighbour-down, firewall-deny-flood), and both the alert page and
// the notification name the starter articles that explain it: the same
// articles, matched with the device's kind and the line itself.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/index.js';
import { AlertService, parseRuleSet } from '../monitor/alerts/index.js';
import { KnowledgeBase, readArticleFiles, starterDirectory } from '../monitor/kb/index.js';
import type { Monitor, OutboxItem } from '../monitor/index.js';
import { useEngines } from './support/engines.js';
import { captureServer, monitorWithNodes, secrets, type CaptureServer } from './support/alerts.js';

const { engines, keep } = useEngines('alertskb');
const by = { actor: 'CN=Operator One', source: '127.0.0.1' };

let seq = 0;
const line = (node: string, message: string): OutboxItem => {
  const now = Date.now();
  return { seq: ++seq, kind: 'log', record: { time: now, receivedAt: now, node, sourceAddress: '10.0.0.9', facility: 23, severity: 'warning', host: node, app: null, procId: null, msgId: null, message, structuredData: {}, format: 'rfc5424', transport: 'udp' } };
};

describe.each(engines)('alerts with the knowledge base on $name', (engine) => {
  let hook: CaptureServer;
  let database: Database;
  let monitor: Monitor;
  let service: AlertService;
  beforeEach(async () => {
    hook = await captureServer();
    ({ database, monitor } = await monitorWithNodes(await engine.location(), keep));
    const kb = new KnowledgeBase(database);
    await kb.importArticles(readArticleFiles(starterDirectory()).flatMap((f) => f.articles), { by: 'test', source: 'test' });
    service = new AlertService({ database, monitor, secrets, kb, rules: parseRuleSet({ routes: [{ receivers: ['noc'], groupWait: 0 }] }), externalUrl: 'https://ops.example', dependencySettleMs: 50 });
    await service.putReceiver({ name: 'noc', type: 'webhook', url: `${hook.url}/hook`, language: 'en' }, by);
  });
  afterEach(async () => {
    await service.stop();
    await hook.close();
  });

  const raise = async (node: string, message: string, rule: string) => {
    await monitor.ingestor.accept('agent-internal', [line(node, message)]);
    await service.settled();
    await service.notifier.drain();
    const alert = (await service.list({ state: 'firing' })).find((a) => a.rule === rule && a.node === node);
    expect(alert, `${rule} on ${node}`).toBeDefined();
    const sent = hook.requests.flatMap((r) => r.body.alerts).find((a: any) => a.labels.alertname === rule && a.labels.node === node);
    expect(sent, `the notification of ${rule} on ${node}`).toBeDefined();
    const page = (await service.detail(alert!.id))!.articles;
    return { page, told: String(sent.annotations.kb ?? '') };
  };

  it('names the articles of the rule the engine raised, on the alert page and in the notification alike', async () => {
    const bgp = await raise('core', '%BGP-5-ADJCHANGE: neighbor 10.1.0.1 Down BGP Notification sent', 'routing-neighbour-down');
    expect(bgp.page[0]!.id).toBe('bgp-neighbour-down');
    expect(bgp.told).toBe(bgp.page.slice(0, 3).map((m) => m.title).join('; '));

    // A firewall's deny line that says its session table is full: the deny-flood article, then the session-table one (by its pattern and kind).
    const deny = await raise('fw-1', 'Deny tcp 203.0.113.9:445 -> 10.1.1.5:445: session table full, packet dropped', 'firewall-deny-flood');
    expect(deny.page.map((m) => m.id).slice(0, 2)).toEqual(['firewall-deny-flood', 'firewall-session-table-full']);
    expect(deny.page[1]!.reasons).toEqual(expect.arrayContaining(['device kind firewall']));
    expect(deny.told).toBe(deny.page.slice(0, 3).map((m) => m.title).join('; '));
  });
});
