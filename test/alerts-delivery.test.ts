// The delivery queue on both engines: deliveries claimed in batches (status
// `sending` with a lease), sent with a few requests in flight, their outcomes
// written in batches; each sent exactly once and recorded; a claim whose
// sender stopped is sent again once its lease ends; a hanging receiver holds
// up no other. And the small HTTP client the notifier posts with, against
// answers Node's own server never gives (chunked, ended by a close).

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../core/index.js';
import { AlertNotifier, parseRuleSet, type Alert } from '../monitor/alerts/index.js';
import { postJson } from '../monitor/alerts/http-client.js';
import { captureServer, secrets, until, type CaptureServer } from './support/alerts.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('alerts-delivery');
const by = { actor: 'test', source: 'test' };

let capture: CaptureServer;
beforeAll(async () => {
  capture = await captureServer();
});
afterAll(async () => {
  await capture?.close();
});

async function insertAlerts(database: Database, n: number, prefix: string): Promise<Alert[]> {
  const now = new Date().toISOString();
  const alerts: Alert[] = [];
  await database.write(async (tx) => {
    for (let i = 0; i < n; i++) {
      const fp = `${prefix}${i}|n${i}`;
      const row = { fingerprint: fp, live_fingerprint: fp, rule: `${prefix}-rule-${i}`, severity: 'major', state: 'firing' as const, node: `n${i}`, site: 'S', zone: 'internal', labels: '{}', summary: `alert ${i}`, value: null, started_at: now, fired_at: now, resolved_at: null, ack_by: null, ack_comment: null, ack_at: null, folded_into: null, held: 0, notified: 1, muted_by: null, flapping: 0, escalated: 0, updated_at: now };
      const { id } = await tx.insertInto('alert_alert').values(row).returning('id').executeTakeFirstOrThrow();
      alerts.push({ id: Number(id), fingerprint: fp, rule: row.rule, severity: 'major', state: 'firing', node: row.node, site: 'S', zone: 'internal', labels: {}, summary: row.summary, value: null, startedAt: now, firedAt: now, resolvedAt: null, ackBy: null, ackComment: null, ackAt: null, foldedInto: null, held: false, notified: true, mutedBy: null, flapping: false, escalated: 0, updatedAt: now });
    }
  });
  return alerts;
}

describe.each(engines)('the delivery queue on $name', (engine) => {
  it('sends each of many deliveries exactly once and records it; a hanging receiver holds up no other', async () => {
    capture.answer = (r) => (r.url.startsWith('/hang') ? 'hang' : { status: 200, body: { ok: true } });
    const database = keep(await openDatabase(await engine.location()));
    const rules = parseRuleSet({ routes: [{ receivers: ['hook', 'stuck'] }] });
    const notifier = new AlertNotifier({ database, secrets, rules: () => rules, timeoutMs: 60_000 });
    await notifier.putReceiver({ name: 'hook', type: 'webhook', url: `${capture.url}/many` }, by, async () => undefined);
    await notifier.putReceiver({ name: 'stuck', type: 'webhook', url: `${capture.url}/hang` }, by, async () => undefined);
    const n = 700; // more than one claimed batch (500)
    const alerts = await insertAlerts(database, n, 'm');
    const before = capture.requests.length;
    await database.write((tx) => notifier.enqueue(tx, alerts, 'firing', Date.now()));
    notifier.start(100);
    // All 700 reach the webhook while every request to the stuck receiver is still hanging (60 s timeout).
    await until(() => capture.requests.slice(before).filter((r) => r.url === '/many').length >= n, 60_000, 'the webhook deliveries');
    await until(async () => (await database.db.selectFrom('alert_delivery').select('id').where('receiver', '=', 'hook').where('status', '=', 'sent').execute()).length === n, 30_000, 'the records');
    const got = capture.requests.slice(before).filter((r) => r.url === '/many');
    expect(got).toHaveLength(n);
    const fingerprints = got.map((r) => r.body.alerts[0].fingerprint as string);
    expect(new Set(fingerprints).size).toBe(n);
    const rows = await database.db.selectFrom('alert_delivery').selectAll().where('receiver', '=', 'hook').execute();
    for (const row of rows) {
      expect(row).toMatchObject({ status: 'sent', attempts: 1 });
      expect(row.last_answer).toMatch(/^HTTP 200/);
      expect(JSON.parse(row.body!)).toMatchObject({ kind: 'firing' });
    }
    // The stuck receiver's deliveries are claimed (sending, with a lease), not lost and not failed.
    const stuck = await database.db.selectFrom('alert_delivery').select(['status']).where('receiver', '=', 'stuck').execute();
    expect(stuck).toHaveLength(n);
    expect(stuck.every((r) => r.status === 'sending' || r.status === 'queued')).toBe(true);
    expect(stuck.some((r) => r.status === 'sending')).toBe(true);
    const stopping = notifier.stop();
    await capture.close();
    capture = await captureServer();
    await stopping;
  }, 180_000);

  it('sends again what a stopped sender had claimed once its lease ends, and counts that attempt; an unexpired lease is left alone', async () => {
    capture.answer = () => ({ status: 200, body: {} });
    const database = keep(await openDatabase(await engine.location()));
    const rules = parseRuleSet({ routes: [{ receivers: ['hook'] }] });
    const notifier = new AlertNotifier({ database, secrets, rules: () => rules });
    await notifier.putReceiver({ name: 'hook', type: 'webhook', url: `${capture.url}/lease` }, by, async () => undefined);
    const [lapsed, held] = await insertAlerts(database, 2, 'l');
    const now = Date.now();
    const row = (alert: Alert, nextAt: number) => ({ receiver: 'hook', group_key: `firing:${alert.rule}`, kind: 'firing', alert_ids: JSON.stringify([alert.id]), status: 'sending' as const, attempts: 0, next_at: new Date(nextAt).toISOString(), last_answer: null, created_at: new Date(now - 120_000).toISOString(), sent_at: null, body: null });
    // As a sender that stopped mid-send leaves them: one lease over, one still running.
    await database.write((tx) => tx.insertInto('alert_delivery').values([row(lapsed!, now - 1000), row(held!, now + 600_000)]).execute());
    const before = capture.requests.length;
    await notifier.drain();
    const got = capture.requests.slice(before);
    expect(got.map((r) => r.body.alerts[0].fingerprint)).toEqual([lapsed!.fingerprint]);
    const rows = await database.db.selectFrom('alert_delivery').selectAll().orderBy('id').execute();
    expect(rows[0]).toMatchObject({ status: 'sent', attempts: 2 });
    expect(rows[1]).toMatchObject({ status: 'sending', attempts: 0 });
    await notifier.stop();
  }, 60_000);
});

describe('the notification HTTP client', () => {
  it('reads chunked answers, answers ended by a close, and keeps a connection for the next request', async () => {
    const connections: net.Socket[] = [];
    let requests = 0;
    const server = net.createServer((socket) => {
      connections.push(socket);
      let buffered = '';
      socket.on('data', (d) => {
        buffered += d.toString('latin1');
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end < 0) return;
          const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))![1]);
          if (buffered.length < end + 4 + length) return;
          const path = buffered.slice(5, buffered.indexOf(' ', 5));
          buffered = buffered.slice(end + 4 + length);
          requests++;
          if (path === '/chunked') socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
          else if (path === '/close') socket.end('HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\n\r\nbusy, try later');
          else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const body = Buffer.from('{"a":1}');
    expect(await postJson(new URL(`${base}/chunked`), body, 5000)).toEqual({ status: 200, text: 'hello world' });
    expect(await postJson(new URL(`${base}/plain`), body, 5000)).toEqual({ status: 200, text: '{}' });
    expect(connections).toHaveLength(1); // kept alive and reused
    expect(await postJson(new URL(`${base}/close`), body, 5000)).toEqual({ status: 503, text: 'busy, try later' });
    expect(await postJson(new URL(`${base}/plain`), body, 5000)).toEqual({ status: 200, text: '{}' });
    expect(connections).toHaveLength(2); // the closed one was not reused
    expect(requests).toBe(4);
    await expect(postJson(new URL('http://127.0.0.1:1/x'), body, 5000)).rejects.toThrow(/ECONNREFUSED/);
    for (const c of connections) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }, 30_000);
});
