// Shared by the alerts tests: a capturing HTTP server (webhooks, and the
// stand-in for the WeCom/DingTalk/Feishu servers), a monitor with a small
// inventory, and outbox items.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openDatabase, secretBoxFromKey, type Database, type OpenOptions } from '../../core/index.js';
import { openMonitor, type Monitor, type OutboxItem } from '../../monitor/index.js';

export interface Captured {
  method: string;
  url: string;
  body: any;
}

export interface CaptureServer {
  url: string;
  requests: Captured[];
  /** What to answer: status and body (default 200 {}), or 'hang' to never answer. */
  answer: (request: Captured) => { status: number; body: unknown } | 'hang';
  close(): Promise<void>;
}

export async function captureServer(): Promise<CaptureServer> {
  const hanging: http.ServerResponse[] = [];
  const state: CaptureServer = {
    url: '',
    requests: [],
    answer: () => ({ status: 200, body: {} }),
    close: async () => {
      for (const r of hanging) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* not JSON */
      }
      const captured = { method: req.method ?? '', url: req.url ?? '', body };
      state.requests.push(captured);
      const answer = state.answer(captured);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

export const secrets = secretBoxFromKey(randomBytes(32));

export async function monitorWithNodes(location: OpenOptions, keep: (d: Database) => Database): Promise<{ database: Database; monitor: Monitor }> {
  const database = keep(await openDatabase(location));
  const monitor = await openMonitor({ database, secrets });
  const by = { actor: 'test', source: 'test' };
  const node = (name: string, parents: string[], kind = 'switch', site = 'County B') =>
    monitor.inventory.addNode({ name, kind, zone: 'internal', site, level: 'county', address: `10.0.0.${Math.floor(Math.random() * 250) + 1}`, snmp: null, parents }, by);
  await node('core', [], 'router', 'City data centre');
  await node('sw-a', ['core'], 'switch', 'County A');
  await node('sw-b', ['core'], 'switch', 'County B');
  await node('fw-1', ['core'], 'firewall', 'City data centre');
  return { database, monitor };
}

let seq = 0;
export function reach(node: string, reachable: boolean, time = Date.now()): OutboxItem {
  return { seq: ++seq, kind: 'metric', record: { measurement: 'system', tags: { node }, fields: { reachable: reachable ? 1 : 0, rttMs: 1, sysUpTime: 1000 }, time } };
}
export function host(node: string, cpu: number, time = Date.now()): OutboxItem {
  return { seq: ++seq, kind: 'metric', record: { measurement: 'host', tags: { node }, fields: { cpuLoadPct: cpu, memoryUsedPct: 10, memoryTotalBytes: 1e9 }, time } };
}
export function trap(node: string, oid: string, time = Date.now()): OutboxItem {
  return { seq: ++seq, kind: 'event', record: { time, node, sourceAddress: '10.0.0.1', kind: 'trap', name: oid, severity: 'error', detail: { '1.3.6.1.2.1.31.1.1.1.1.3': 'Gi0/3' } } };
}

export const until = async (check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'the condition'): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};
