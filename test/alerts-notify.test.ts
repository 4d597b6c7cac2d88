// Notifications to real peers and to stand-ins:
// - e-mail over STARTTLS to a real SMTP server (the smtp-server package) started here;
// - the real Prometheus Alertmanager (Debian prometheus-alertmanager) on loopback:
//   our alerts appear in its /api/v2/alerts with our labels and resolve there;
// - WeCom, DingTalk and Feishu: their servers cannot run here, so a local
//   capturing HTTP server stands in for them and checks each request as the
//   vendors document it (alerting.md): DingTalk's timestamp and sign query
//   parameters, Feishu's timestamp and sign in the body, WeCom's key;
// - a webhook that answers 500 and one that never answers delay no other
//   receiver; failures are retried and recorded; secrets are never shown;
// - a robot's rate is kept by folding the excess into one digest.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../core/index.js';
import { AlertService, parseRuleSet } from '../monitor/alerts/index.js';
import { openMonitor } from '../monitor/index.js';
import { opensslOk } from './support/openssl.js';
import { captureServer, host, reach, secrets, trap, until, type CaptureServer } from './support/alerts.js';

const by = { actor: 'CN=Operator One', source: '127.0.0.1' };
const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-alerts-notify-'));

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });

let capture: CaptureServer;
let smtp: SMTPServer;
let smtpPort: number;
const mails: Array<{ from: string; to: string[]; data: string; secure: boolean; user?: string }> = [];
let alertmanager: ChildProcess;
let amUrl: string;
let caPem: string;

beforeAll(async () => {
  capture = await captureServer();
  // A self-signed certificate for the SMTP server's STARTTLS.
  opensslOk('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dir, 'smtp.key'), '-out', path.join(dir, 'smtp.crt'), '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1');
  caPem = readFileSync(path.join(dir, 'smtp.crt'), 'utf8');
  smtp = new SMTPServer({
    key: readFileSync(path.join(dir, 'smtp.key')),
    cert: caPem,
    authOptional: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'noc' && auth.password === 'smtp-s3cret') callback(null, { user: 'noc' });
      else callback(new Error('bad credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({ from: String(session.envelope.mailFrom && session.envelope.mailFrom.address), to: session.envelope.rcptTo.map((r) => r.address), data: Buffer.concat(chunks).toString('utf8'), secure: session.secure, user: session.user as string });
        callback();
      });
    },
  });
  smtpPort = await freePort();
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', () => resolve()));
  // The real Alertmanager.
  const amPort = await freePort();
  writeFileSync(path.join(dir, 'am.yml'), 'route:\n  receiver: "null"\nreceivers:\n  - name: "null"\n');
  alertmanager = spawn('/usr/bin/prometheus-alertmanager', [`--config.file=${path.join(dir, 'am.yml')}`, `--storage.path=${path.join(dir, 'am-data')}`, `--web.listen-address=127.0.0.1:${amPort}`, '--cluster.listen-address='], { stdio: 'ignore' });
  amUrl = `http://127.0.0.1:${amPort}`;
  await until(async () => (await fetch(`${amUrl}/-/ready`).catch(() => undefined))?.ok === true, 60_000, 'alertmanager to start');
}, 120_000);

afterAll(async () => {
  alertmanager?.kill('SIGTERM');
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await capture?.close();
});

/** What the vendors' servers check, done independently of our code. */
function vendorCheck(request: { url: string; body: any }): string | null {
  const url = new URL(request.url, 'http://x');
  if (url.pathname === '/robot/send') {
    const ts = url.searchParams.get('timestamp');
    const raw = /[?&]sign=([^&]*)/.exec(request.url)?.[1];
    if (!ts || !raw) return 'dingtalk: missing timestamp or sign';
    if (Math.abs(Date.now() - Number(ts)) > 3_600_000) return 'dingtalk: timestamp out of range';
    const expected = createHmac('sha256', 'SECdingtalk').update(`${ts}\nSECdingtalk`).digest('base64');
    if (decodeURIComponent(raw) !== expected) return 'dingtalk: sign mismatch';
    if (url.searchParams.get('access_token') !== 'ding-token') return 'dingtalk: bad access_token';
    if (request.body.msgtype !== 'markdown' || !request.body.markdown?.title || !request.body.markdown?.text) return 'dingtalk: bad body';
    return null;
  }
  if (url.pathname.startsWith('/open-apis/bot/v2/hook/')) {
    if (url.pathname !== '/open-apis/bot/v2/hook/feishu-token') return 'feishu: bad token';
    const ts = request.body.timestamp;
    const expected = createHmac('sha256', `${ts}\nSECfeishu`).update('').digest('base64');
    if (request.body.sign !== expected) return 'feishu: sign mismatch';
    if (Math.abs(Date.now() / 1000 - Number(ts)) > 3600) return 'feishu: timestamp out of range';
    if (request.body.msg_type !== 'text' || !request.body.content?.text) return 'feishu: bad body';
    return null;
  }
  if (url.pathname === '/cgi-bin/webhook/send') {
    if (url.searchParams.get('key') !== 'wecom-key') return 'wecom: bad key';
    if (request.body.msgtype !== 'markdown' || Buffer.byteLength(request.body.markdown?.content ?? '') > 4096) return 'wecom: bad body';
    return null;
  }
  return null;
}

describe('notifications', () => {
  it('sends to every receiver kind, signed as the vendors check, over STARTTLS, into the real Alertmanager; a hanging or 500 receiver delays no other', async () => {
    capture.answer = (r) => {
      if (r.url.startsWith('/hang')) return 'hang';
      if (r.url.startsWith('/fail')) return { status: 500, body: { error: 'internal' } };
      const problem = vendorCheck(r);
      if (problem) return { status: 200, body: { errcode: 310000, errmsg: problem } };
      return { status: 200, body: r.url.startsWith('/open-apis') ? { code: 0 } : { errcode: 0, errmsg: 'ok' } };
    };
    const database = await openDatabase({ dataDir: path.join(dir, 'db') });
    const monitor = await openMonitor({ database, secrets });
    await monitor.inventory.addNode({ name: 'sw-county-b', kind: 'switch', zone: 'internal', site: 'County B', level: 'county', address: '10.2.0.1', snmp: null, parents: [] }, by);
    const all = ['hang', 'fail', 'hook', 'wecom', 'dingtalk', 'feishu', 'mail', 'am'];
    const service = new AlertService({ database, monitor, secrets, rules: parseRuleSet({ routes: [{ receivers: all }] }), dependencySettleMs: 0, timeoutMs: 3000, externalUrl: 'https://ops.city.gov.cn' });
    await service.putReceiver({ name: 'hang', type: 'webhook', url: `${capture.url}/hang` }, by);
    await service.putReceiver({ name: 'fail', type: 'webhook', url: `${capture.url}/fail` }, by);
    await service.putReceiver({ name: 'hook', type: 'webhook', url: `${capture.url}/hook`, language: 'en' }, by);
    await service.putReceiver({ name: 'wecom', type: 'wecom', url: `${capture.url}/cgi-bin/webhook/send`, secret: 'wecom-key' }, by);
    await service.putReceiver({ name: 'dingtalk', type: 'dingtalk', url: `${capture.url}/robot/send`, token: 'ding-token', secret: 'SECdingtalk' }, by);
    await service.putReceiver({ name: 'feishu', type: 'feishu', url: `${capture.url}/open-apis/bot/v2/hook`, token: 'feishu-token', secret: 'SECfeishu' }, by);
    await service.putReceiver({ name: 'mail', type: 'email', host: 'localhost', port: smtpPort, from: 'egov-ops@city.gov.cn', to: ['noc@city.gov.cn'], user: 'noc', password: 'smtp-s3cret', tlsCa: caPem, language: 'en' }, by);
    await service.putReceiver({ name: 'am', type: 'alertmanager', url: amUrl }, by);
    // Secrets sealed at rest and never shown.
    const views = await service.notifier.receivers();
    expect(JSON.stringify(views)).not.toMatch(/SECdingtalk|SECfeishu|wecom-key|smtp-s3cret|ding-token/);
    expect(views.find((v) => v.name === 'dingtalk')!.secrets.sort()).toEqual(['secret', 'token']);
    const stored = await database.db.selectFrom('alert_receiver').selectAll().execute();
    expect(stored.map((r) => r.settings + Buffer.from(r.secret ?? Buffer.alloc(0)).toString('latin1')).join()).not.toMatch(/SECdingtalk|SECfeishu|wecom-key|smtp-s3cret/);

    service.start();
    const started = Date.now();
    await monitor.ingestor.accept('agent-1', [reach('sw-county-b', false)]);
    await service.settled();
    // Everyone but the hanging receiver is told well before the hanging one's 3 s timeout.
    await until(() => ['/hook', '/cgi-bin', '/robot', '/open-apis'].every((p) => capture.requests.some((r) => r.url.startsWith(p))) && mails.length === 1, 20_000, 'the receivers');
    expect(Date.now() - started).toBeLessThan(3000);
    await until(async () => {
      const alerts = (await (await fetch(`${amUrl}/api/v2/alerts`)).json()) as Array<{ labels: Record<string, string>; status: { state: string } }>;
      return alerts.some((a) => a.labels.alertname === 'node-down' && a.labels.node === 'sw-county-b' && a.labels.site === 'County B' && a.labels.severity === 'critical' && a.status.state === 'active');
    }, 20_000, 'the alert in alertmanager');
    await until(async () => (await service.notifier.deliveries()).filter((d) => d.attempts > 0).length === all.length, 20_000, 'one attempt each');
    const deliveries = await service.notifier.deliveries();
    const of = (name: string) => deliveries.find((d) => d.receiver === name)!;
    for (const name of ['hook', 'wecom', 'dingtalk', 'feishu', 'mail', 'am']) expect(of(name)).toMatchObject({ status: 'sent', attempts: 1 });
    expect(of('fail')).toMatchObject({ status: 'queued', attempts: 1 });
    expect(of('fail').lastAnswer).toMatch(/HTTP 500/);
    expect(of('hang').lastAnswer).toMatch(/no answer within 3000 ms/);
    // No vendor check failed (a failed one answers with an errcode, recorded as a refusal).
    for (const d of deliveries) expect(d.lastAnswer ?? '').not.toMatch(/robot refused/);
    // What was said: the webhook follows Alertmanager's format; the mail went over STARTTLS with our credentials.
    const hook = capture.requests.find((r) => r.url === '/hook')!.body;
    expect(hook).toMatchObject({ version: '4', status: 'firing', receiver: 'hook', groupLabels: { alertname: 'node-down' }, commonLabels: { alertname: 'node-down', node: 'sw-county-b', severity: 'critical' } });
    expect(hook.alerts[0]).toMatchObject({ status: 'firing', labels: { node: 'sw-county-b', site: 'County B', zone: 'internal' }, generatorURL: expect.stringMatching(/^https:\/\/ops.city.gov.cn\/alerts\/\d+$/) });
    expect(mails[0]).toMatchObject({ secure: true, user: 'noc', to: ['noc@city.gov.cn'] });
    expect(mails[0]!.data).toMatch(/node-down/);
    const wecom = capture.requests.find((r) => r.url.startsWith('/cgi-bin'))!.body;
    expect(wecom.markdown.content).toMatch(/紧急/);

    // Resolution: told to each, and Alertmanager shows it resolved (gone from the active list).
    await monitor.ingestor.accept('agent-1', [reach('sw-county-b', true)]);
    await service.settled();
    await until(async () => {
      const alerts = (await (await fetch(`${amUrl}/api/v2/alerts?active=true&silenced=false&inhibited=false`)).json()) as Array<{ labels: Record<string, string> }>;
      return !alerts.some((a) => a.labels.node === 'sw-county-b');
    }, 30_000, 'the alert to resolve in alertmanager');
    await until(() => capture.requests.filter((r) => r.url === '/hook').length === 2, 20_000, 'the resolution');
    expect(capture.requests.filter((r) => r.url === '/hook')[1]!.body).toMatchObject({ status: 'resolved', alerts: [{ status: 'resolved' }] });
    await until(() => mails.length === 2, 20_000, 'the resolution mail');
    await service.stop();
    await database.close();
  }, 120_000);

  it('keeps a robot within its rate by folding the excess into one digest', async () => {
    capture.answer = () => ({ status: 200, body: { errcode: 0 } });
    const database = await openDatabase({ dataDir: path.join(dir, 'db-rate') });
    const monitor = await openMonitor({ database, secrets });
    for (let i = 0; i < 8; i++) await monitor.inventory.addNode({ name: `sw-${i}`, kind: 'switch', zone: 'internal', site: `Township ${i}`, level: 'township', address: `10.3.0.${i + 1}`, snmp: null, parents: [] }, by);
    const service = new AlertService({ database, monitor, secrets, rules: parseRuleSet({ rules: [{ name: 'cpu-high', for: 0 }], routes: [{ receivers: ['robot'] }] }), dependencySettleMs: 0 });
    await service.putReceiver({ name: 'robot', type: 'wecom', url: `${capture.url}/rate/cgi-bin/webhook/send`, secret: 'k', ratePerMinute: 3 }, by);
    const before = capture.requests.length;
    // Eight different alerts (different rules and nodes: no grouping), one delivery each.
    const items = [];
    for (let i = 0; i < 4; i++) items.push(host(`sw-${i}`, 99));
    for (let i = 4; i < 8; i++) items.push(trap(`sw-${i}`, '1.3.6.1.6.3.1.1.5.5'), reach(`sw-${i}`, false));
    await monitor.ingestor.accept('agent-1', items);
    await service.settled();
    await service.notifier.drain();
    const sent = capture.requests.slice(before);
    expect(sent).toHaveLength(3);
    const texts = sent.map((r) => r.body.markdown.content as string);
    expect(texts[2]).toMatch(/^汇总/);
    // Nothing lost: every alert is in one of the three messages.
    const live = await service.list({ state: 'firing' });
    expect(live).toHaveLength(12);
    for (const a of live) expect(texts.some((t) => t.includes(`/alerts/${a.id}`)) || texts.some((t) => t.includes(a.node!))).toBe(true);
    const deliveries = await service.notifier.deliveries();
    expect(deliveries.every((d) => d.status === 'sent')).toBe(true);
    await service.stop();
    await database.close();
  }, 60_000);
});
