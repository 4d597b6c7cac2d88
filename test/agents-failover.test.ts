// An agent with several monitor URLs: it keeps to the one that answers, and
// moves on when one cannot be reached or answers 502/503/504; a 4xx is the
// monitor's word and is not retried elsewhere. The config takes one URL or a list.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentConfig, MonitorEndpoints, monitorUrls } from '../agents/index.js';

const servers: http.Server[] = [];
afterAll(() => servers.forEach((s) => s.close()));

async function monitor(status: number): Promise<{ url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(req.url!);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status }));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

const send = async (url: string, method: string, body?: unknown) => {
  const res = await fetch(url, { method, ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}) });
  return { status: res.status, text: await res.text() };
};

describe('several monitor URLs', () => {
  it('fails over past an instance that is down or unavailable, and stays on the one that answers', async () => {
    const closed = await monitor(200);
    await new Promise<void>((r) => servers.pop()!.close(() => r())); // nothing listens there now
    const unavailable = await monitor(503);
    const good = await monitor(200);
    const warnings: string[] = [];
    const endpoints = new MonitorEndpoints([closed.url, unavailable.url, good.url], send, { warn: (m) => warnings.push(m) });
    const first = await endpoints.send('/api/monitor/ingest', 'POST', { items: [] });
    expect(first).toMatchObject({ status: 200, url: good.url });
    expect(warnings).toHaveLength(2);
    expect(unavailable.hits).toEqual(['/api/monitor/ingest']);
    // Sticky: the next request goes straight to the one that answered.
    await endpoints.send('/api/monitor/agent/targets?zone=internal', 'GET');
    expect(good.hits).toEqual(['/api/monitor/ingest', '/api/monitor/agent/targets?zone=internal']);
    expect(unavailable.hits).toHaveLength(1);
  });

  it('returns a 4xx as it is, and the last failure when none answers', async () => {
    const refusing = await monitor(401);
    const other = await monitor(200);
    const endpoints = new MonitorEndpoints([refusing.url, other.url], send);
    expect((await endpoints.send('/api/access/enrol', 'POST', {})).status).toBe(401);
    expect(other.hits).toHaveLength(0);
    const down = new MonitorEndpoints(['http://127.0.0.1:1', 'http://127.0.0.1:2'], send);
    await expect(down.send('/x', 'GET')).rejects.toThrow();
    const allUnavailable = new MonitorEndpoints([(await monitor(503)).url, (await monitor(502)).url], send);
    expect((await allUnavailable.send('/x', 'GET')).status).toBe(502);
  });

  it('reads one URL or a list from the agent config', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-failover-'));
    try {
      const base = ['name: a1', 'zone: internal', 'caFile: ca.pem', 'dataDir: data'];
      writeFileSync(path.join(dir, 'one.yaml'), [...base, 'monitorUrl: https://m1.city.example:8443/'].join('\n'));
      writeFileSync(path.join(dir, 'many.yaml'), [...base, 'monitorUrl: [https://m1.city.example:8443, https://m2.city.example:8443]'].join('\n'));
      writeFileSync(path.join(dir, 'bad.yaml'), [...base, 'monitorUrl: [http://m1.city.example]'].join('\n'));
      expect(monitorUrls(loadAgentConfig(path.join(dir, 'one.yaml')))).toEqual(['https://m1.city.example:8443']);
      expect(monitorUrls(loadAgentConfig(path.join(dir, 'many.yaml')))).toEqual(['https://m1.city.example:8443', 'https://m2.city.example:8443']);
      expect(() => loadAgentConfig(path.join(dir, 'bad.yaml'))).toThrow(/monitorUrl/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
