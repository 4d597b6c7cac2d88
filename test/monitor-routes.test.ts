// The monitor's HTTP routes: every route declares its roles, and a walk of
// every route with every role gets 403 exactly where the role is not
// admitted; then the routes at work, from inventory to ingest to status.
//
// The server here enforces config.roles the way core/http.ts does, with the
// principal taken from test headers (the suite's real principals come from
// client certificates, which are not this module's business).

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asEgovError, EgovError, openDatabase, ROLES, secretBoxFromKey, type Database, type Role, type RouteRoles } from '../core/index.js';
import { monitorRoutes, openMonitor, type OutboxItem } from '../monitor/index.js';

interface DeclaredRoute {
  method: string;
  url: string;
  roles: RouteRoles;
}

let app: FastifyInstance;
let database: Database;
let dataDir: string;
const declared: DeclaredRoute[] = [];
const COMMUNITY = 'route-Community-9931';

async function buildServer(): Promise<FastifyInstance> {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-monitor-routes-'));
  database = await openDatabase({ dataDir });
  const monitor = await openMonitor({ database, secrets: secretBoxFromKey(randomBytes(32)) });
  const server = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } } });
  const checkRoles = async (request: FastifyRequest) => {
    const roles = request.routeOptions.config?.roles;
    if (roles === 'public' || roles === undefined) return;
    const role = request.headers['x-test-role'];
    if (typeof role !== 'string') throw new EgovError('unauthorized', 'no principal');
    if (roles !== 'signed-in' && !roles.includes(role as Role)) throw new EgovError('forbidden', `this route admits ${roles.join(', ')}`);
    const name = `${String(request.headers['x-test-name'] ?? `${role}-person`)} (0a1b2c3d)`;
    request.principal = { name, ca: 'city-ecdsa', serial: '0a1b2c3d', roles: [role as Role], activeRoles: [role as Role] };
  };
  server.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (!roles) throw new Error(`route ${route.method} ${route.url} does not declare its roles`);
    for (const method of [route.method].flat()) if (method !== 'HEAD') declared.push({ method, url: route.url, roles });
    if (roles !== 'public') route.onRequest = [checkRoles, ...[route.onRequest ?? []].flat()];
  });
  server.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number }, _request, reply) => {
    if (error.validation) return reply.status(400).send({ code: 'bad-request', message: `request ${error.message}` });
    if (!(error instanceof EgovError) && error.statusCode && error.statusCode < 500) return reply.status(error.statusCode).send({ code: 'bad-request', message: error.message });
    const egov = asEgovError(error);
    return reply.status(egov.httpStatus).send(egov.toJSON());
  });
  await server.register(monitorRoutes, { monitor });
  await server.ready();
  return server;
}

beforeAll(async () => {
  app = await buildServer();
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const as = (role: Role, name?: string) => ({ 'x-test-role': role, ...(name ? { 'x-test-name': name } : {}) });
const node = (name: string, extra: Record<string, unknown> = {}) => ({ name, kind: 'router', zone: 'internal', site: 'City DC', level: 'city', address: `${name}.gov.cn`, ...extra });

describe('monitor routes', () => {
  it('every route declares roles; each role is refused exactly where it is not admitted', async () => {
    expect(declared.length).toBeGreaterThanOrEqual(20);
    const readers = ['network-admin', 'auditor', 'security-officer'];
    for (const route of declared) {
      expect(route.roles).not.toBe('public');
      const roles = route.roles as readonly Role[];
      if (route.url === '/api/monitor/ingest' || route.url === '/api/monitor/agent/targets') expect(roles).toEqual(['agent']);
      else if (route.method === 'GET') expect([...roles].sort()).toEqual([...readers].sort());
      else expect(roles).toEqual(['network-admin']);
      const url = route.url.replace(':name', 'no-such-node').replace(':id', '999999').replace(':measurement', 'system');
      for (const role of ROLES) {
        const response = await app.inject({ method: route.method as 'GET', url, headers: as(role), ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { payload: {} }) });
        if (roles.includes(role)) {
          expect([401, 403], `${route.method} ${route.url} as ${role}`).not.toContain(response.statusCode);
          expect(response.statusCode, `${route.method} ${route.url} as ${role}: ${response.body}`).toBeLessThan(500);
        } else expect(response.statusCode, `${route.method} ${route.url} as ${role}`).toBe(403);
      }
      expect((await app.inject({ method: route.method as 'GET', url })).statusCode).toBe(401);
    }
  });

  it('inventory over HTTP: credentials go in and never come out', async () => {
    const created = await app.inject({ method: 'POST', url: '/api/monitor/nodes', headers: as('network-admin'), payload: node('core-1', { snmp: { version: 'v2c', community: COMMUNITY } }) });
    expect(created.statusCode).toBe(201);
    expect(created.body).not.toContain(COMMUNITY);
    expect(created.json()).toMatchObject({ name: 'core-1', snmp: { version: 'v2c' }, snmpPort: 161 });
    const bad = await app.inject({ method: 'POST', url: '/api/monitor/nodes', headers: as('network-admin'), payload: node('core-2', { kind: 'toaster' }) });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/kind/);
    const duplicate = await app.inject({ method: 'POST', url: '/api/monitor/nodes', headers: as('network-admin'), payload: node('core-1') });
    expect(duplicate.statusCode).toBe(409);
    expect((await app.inject({ method: 'POST', url: '/api/monitor/nodes', headers: as('network-admin'), payload: node('sw-1', { kind: 'switch', parents: ['core-1'] }) })).statusCode).toBe(201);
    const cycle = await app.inject({ method: 'PATCH', url: '/api/monitor/nodes/core-1', headers: as('network-admin'), payload: { parents: ['sw-1'] } });
    expect(cycle.statusCode).toBe(400);
    expect(cycle.json().message).toBe('parents: that would make a cycle (core-1 -> sw-1 -> core-1); a parent must be nearer the core');

    const patched = await app.inject({ method: 'PATCH', url: '/api/monitor/nodes/sw-1', headers: as('network-admin'), payload: { site: 'County A' } });
    expect(patched.json()).toMatchObject({ site: 'County A', parents: ['core-1'] });
    const listed = await app.inject({ method: 'GET', url: '/api/monitor/nodes?kind=switch', headers: as('auditor') });
    expect(listed.json().nodes.map((n: { name: string }) => n.name)).toEqual(['sw-1']);
    const all = await app.inject({ method: 'GET', url: '/api/monitor/nodes', headers: as('security-officer') });
    expect(all.body).not.toContain(COMMUNITY);

    const link = await app.inject({ method: 'POST', url: '/api/monitor/links', headers: as('network-admin'), payload: { a: 'core-1:Gi0/0/1', b: { node: 'sw-1', interface: 'XGE0/1' }, capacity: '10G' } });
    expect(link.statusCode).toBe(201);
    expect(link.json()).toMatchObject({ capacityBps: 1e10, a: { node: 'core-1', interface: 'Gi0/0/1' } });
    const id = link.json().id as number;
    expect((await app.inject({ method: 'PATCH', url: `/api/monitor/links/${id}`, headers: as('network-admin'), payload: { capacityBps: 1e9 } })).json().capacityBps).toBe(1e9);

    const imported = await app.inject({
      method: 'POST',
      url: '/api/monitor/import',
      headers: as('network-admin'),
      payload: { format: 'csv', content: 'name,kind,zone,site,level,address,parents\nacc-1,switch,internal,Town,township,10.1.1.1,sw-1\nacc-2,switch,nowhere,Town,township,10.1.1.2,sw-1\n' },
    });
    expect(imported.json()).toEqual({ accepted: { nodes: 1, links: 0 }, stored: ['acc-1'], rejected: [{ line: 3, kind: 'node', subject: 'acc-2', reason: 'zone must be one of internal, external, dmz (got "nowhere")' }] });

    const csv = await app.inject({ method: 'GET', url: '/api/monitor/export?format=csv', headers: as('auditor') });
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.body.split('\r\n')[1]).toBe('acc-1,switch,internal,Town,township,10.1.1.1,161,,,,,,,,sw-1,');
    expect(csv.body).not.toContain(COMMUNITY);
    const yaml = await app.inject({ method: 'GET', url: '/api/monitor/export', headers: as('auditor') });
    expect(yaml.body).toContain('capacityBps: 1000000000');

    expect((await app.inject({ method: 'DELETE', url: `/api/monitor/links/${id}`, headers: as('network-admin') })).statusCode).toBe(204);
    expect((await app.inject({ method: 'DELETE', url: '/api/monitor/nodes/acc-1', headers: as('network-admin') })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/monitor/nodes/acc-1', headers: as('auditor') })).statusCode).toBe(404);
  });

  it('ingest by an agent, then metrics, logs, events and status read back', async () => {
    const t = Math.floor(Date.now() / 1000) * 1000 - 10_000;
    const items: OutboxItem[] = [
      { seq: 1, kind: 'metric', record: { measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: 2 }, time: t } },
      { seq: 2, kind: 'metric', record: { measurement: 'system', tags: { node: 'sw-1' }, fields: { reachable: 0 }, time: t } },
      {
        seq: 3,
        kind: 'log',
        record: { time: t, receivedAt: t, node: 'sw-1', sourceAddress: '10.0.0.2', facility: 4, severity: 'error', host: 'sw-1', app: 'sshd', procId: null, msgId: null, message: 'Failed password for root', structuredData: {}, format: 'rfc3164', transport: 'udp' },
      },
      { seq: 4, kind: 'event', record: { time: t, node: 'sw-1', sourceAddress: '10.0.0.2', kind: 'reachability', name: 'down', severity: 'critical', detail: {} } },
    ];
    const delivered = await app.inject({ method: 'POST', url: '/api/monitor/ingest', headers: as('agent', 'agent-internal-01'), payload: { items: [...items, { seq: 5, kind: 'log', record: {} }] } });
    expect(delivered.statusCode).toBe(200);
    expect(delivered.json()).toMatchObject({ accepted: 4, duplicates: 0, highWater: 5, rejected: [{ index: 4, seq: 5 }] });
    const again = await app.inject({ method: 'POST', url: '/api/monitor/ingest', headers: as('agent', 'agent-internal-01'), payload: { items } });
    expect(again.json()).toMatchObject({ accepted: 0, duplicates: 4 });
    expect((await app.inject({ method: 'POST', url: '/api/monitor/ingest', headers: as('network-admin'), payload: { items } })).statusCode).toBe(403);

    const latest = await app.inject({ method: 'GET', url: '/api/monitor/metrics/system/latest?node=core-1', headers: as('auditor') });
    expect(latest.json()).toEqual({ points: [{ measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 1, rttMs: 2 }, time: t }] });
    const wrongTag = await app.inject({ method: 'GET', url: '/api/monitor/metrics/system/latest?ifName=x', headers: as('auditor') });
    expect(wrongTag.statusCode).toBe(400);
    expect(wrongTag.json().message).toMatch(/ifName is not a tag of system/);
    const series = await app.inject({ method: 'GET', url: `/api/monitor/metrics/system/series?field=reachable&from=${new Date(t - 60_000).toISOString()}&to=${t + 1}`, headers: as('network-admin') });
    expect(series.json().series.map((s: { tags: { node: string }; points: unknown[] }) => [s.tags.node, s.points])).toEqual([
      ['core-1', [{ time: t, value: 1 }]],
      ['sw-1', [{ time: t, value: 0 }]],
    ]);
    expect((await app.inject({ method: 'GET', url: '/api/monitor/metrics/system/series?field=reachable&from=yesterday', headers: as('auditor') })).statusCode).toBe(400);

    const logs = await app.inject({ method: 'GET', url: '/api/monitor/logs?severity=warning&text=password', headers: as('security-officer') });
    expect(logs.json().logs.map((l: { message: string; agent: string }) => [l.message, l.agent])).toEqual([['Failed password for root', 'agent-internal-01']]);
    const events = await app.inject({ method: 'GET', url: '/api/monitor/events?node=sw-1&kind=reachability', headers: as('auditor') });
    expect(events.json().events).toHaveLength(1);

    const status = await app.inject({ method: 'GET', url: '/api/monitor/status', headers: as('network-admin') });
    expect(status.json().nodes.map((n: { name: string; status: string }) => [n.name, n.status])).toEqual([
      ['core-1', 'up'],
      ['sw-1', 'down'],
    ]);
    const agents = await app.inject({ method: 'GET', url: '/api/monitor/agents', headers: as('auditor') });
    expect(agents.json().agents).toMatchObject([{ agent: 'agent-internal-01', accepted: 4, rejected: 1, duplicates: 4, highWater: 5 }]);
  });
});
