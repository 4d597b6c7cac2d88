// /api/kb: every route declares its roles, and a walk with every role gets
// 403 exactly where the role is not admitted (network-admin writes; auditor
// and security-officer read); then the routes at work: write, revise,
// review, publish by another administrator only, search, match, incidents,
// seen before, drafts, import; bad input is a 400 naming what is wrong, and
// refusals are in the audit log.
//
// As in monitor-routes.test.ts, the server enforces config.roles the way
// core/http.ts does, with the principal taken from test headers.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asEgovError, EgovError, listAudit, openDatabase, ROLES, type Database, type Role, type RouteRoles } from '../core/index.js';
import { KnowledgeBase, kbRoutes, readArticleFiles, starterDirectory } from '../monitor/kb/index.js';

interface DeclaredRoute {
  method: string;
  url: string;
  roles: RouteRoles;
}

let app: FastifyInstance;
let database: Database;
let dataDir: string;
const declared: DeclaredRoute[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-kb-routes-'));
  database = await openDatabase({ dataDir });
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
  await server.register(kbRoutes, { kb: new KnowledgeBase(database) });
  await server.ready();
  app = server;
});
afterAll(async () => {
  await app?.close();
  await database?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const as = (role: Role, name?: string) => ({ 'x-test-role': role, ...(name ? { 'x-test-name': name } : {}) });
const alice = as('network-admin', 'alice');
const bob = as('network-admin', 'bob');

describe('/api/kb', () => {
  it('every route declares roles; each role is refused exactly where it is not admitted', async () => {
    expect(declared.length).toBeGreaterThanOrEqual(12);
    for (const route of declared) {
      const roles = route.roles as readonly Role[];
      expect(route.roles).not.toBe('public');
      if (route.method === 'GET' || route.url === '/api/kb/match') expect([...roles].sort()).toEqual(['auditor', 'network-admin', 'security-officer']);
      else expect(roles).toEqual(['network-admin']);
      for (const role of ROLES) {
        const url = route.url.replace(':id', 'some-article').replace(':alertId', 'a-1');
        const response = await app.inject({ method: route.method as 'GET', url, headers: as(role), ...(route.method === 'GET' ? {} : { payload: {} }) });
        if (roles.includes(role)) expect(response.statusCode, `${role} ${route.method} ${route.url}`).not.toBe(403);
        else expect(response.statusCode, `${role} ${route.method} ${route.url}`).toBe(403);
      }
    }
  });

  it('writes, revises, reviews and publishes by another administrator; reads for auditors; search, match, incidents, drafts, import', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/kb/articles',
      headers: alice,
      payload: { id: 'olt-uplink', title: { en: 'OLT uplink down', zh: 'OLT 上联中断' }, symptoms: { zh: '端口 down，村点全部离线。' }, appliesTo: { rules: ['interface-down'], kinds: ['switch'] }, tags: ['olt'] },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ id: 'olt-uplink', state: 'draft', author: 'alice', revision: 1 });
    const revised = await app.inject({ method: 'PUT', url: '/api/kb/articles/olt-uplink', headers: bob, payload: { title: { en: 'OLT uplink down', zh: 'OLT 上联中断' }, symptoms: { zh: '端口 down，村点全部离线。' }, cause: { en: 'Fibre cut.' }, appliesTo: { rules: ['interface-down'], kinds: ['switch'] }, tags: ['olt'], comment: 'cause' } });
    expect(revised.statusCode, revised.body).toBe(200);
    expect(revised.json()).toMatchObject({ revision: 2, author: 'alice', updatedBy: 'bob' });

    expect((await app.inject({ method: 'POST', url: '/api/kb/articles/olt-uplink/submit', headers: alice, payload: {} })).json().state).toBe('review');
    for (const who of [alice, bob]) {
      const refused = await app.inject({ method: 'POST', url: '/api/kb/articles/olt-uplink/publish', headers: who, payload: {} });
      expect(refused.statusCode).toBe(422);
      expect(refused.json().message).toMatch(/another network administrator publishes it/);
    }
    const published = await app.inject({ method: 'POST', url: '/api/kb/articles/olt-uplink/publish', headers: as('network-admin', 'carol'), payload: { comment: 'looks right' } });
    expect(published.statusCode, published.body).toBe(200);
    expect(published.json()).toMatchObject({ state: 'published', publishedBy: 'carol' });
    const refusals = (await listAudit(database, {})).filter((r) => r.action === 'kb.article-publish' && r.object === 'kb:article:olt-uplink' && r.outcome === 'refused');
    expect(refusals.map((r) => r.actor).sort()).toEqual(['alice', 'bob']);

    const shown = await app.inject({ method: 'GET', url: '/api/kb/articles/olt-uplink', headers: as('auditor') });
    expect(shown.statusCode).toBe(200);
    expect(shown.json().revisions.map((r: { by: string }) => r.by)).toEqual(['carol', 'alice', 'bob', 'alice']);

    const imported = await app.inject({
      method: 'POST',
      url: '/api/kb/import',
      headers: alice,
      payload: { format: 'yaml', content: JSON.stringify({ articles: readArticleFiles(starterDirectory()).flatMap((f) => f.articles) }) },
    });
    expect(imported.statusCode, imported.body).toBe(200);
    expect(imported.json().created.length).toBeGreaterThanOrEqual(30);

    const search = await app.inject({ method: 'GET', url: `/api/kb/search?q=${encodeURIComponent('光衰')}`, headers: as('security-officer') });
    expect(search.statusCode).toBe(200);
    expect(search.json().hits.map((h: { id: string }) => h.id)).toContain('low-optical-power');
    const long = await app.inject({ method: 'GET', url: `/api/kb/search?q=${'x'.repeat(10_240)}`, headers: as('auditor') });
    expect(long.statusCode).toBe(400);
    expect(long.json().message).toMatch(/search query is 10240 characters long; at most 200/);

    const match = await app.inject({ method: 'POST', url: '/api/kb/match', headers: as('auditor'), payload: { rule: 'interface-down', kind: 'switch', node: 'olt-1' } });
    expect(match.statusCode).toBe(200);
    const olt = match.json().articles.find((a: { id: string }) => a.id === 'olt-uplink');
    expect(olt).toMatchObject({ title: 'OLT uplink down', titleZh: 'OLT 上联中断', reasons: ['rule interface-down', 'device kind switch'] });

    const incident = await app.inject({ method: 'POST', url: '/api/kb/incidents', headers: bob, payload: { alertId: 'al-77', rule: 'interface-down', node: 'olt-1', site: 'Town C', startedAt: '2026-12-01T02:00:00Z', resolvedAt: '2026-12-01T03:30:00Z', note: 'spliced the fibre' } });
    expect(incident.statusCode, incident.body).toBe(204);
    const seen = await app.inject({ method: 'GET', url: '/api/kb/seen-before?rule=interface-down&node=olt-1&site=Town%20C', headers: as('auditor') });
    expect(seen.json()).toEqual({ count: 1, incidents: [{ alertId: 'al-77', node: 'olt-1', site: 'Town C', startedAt: '2026-12-01T02:00:00.000Z', resolvedAt: '2026-12-01T03:30:00.000Z', durationMs: 5_400_000, note: 'spliced the fibre', by: 'bob' }] });
    const draft = await app.inject({ method: 'POST', url: '/api/kb/incidents/al-77/draft', headers: bob });
    expect(draft.statusCode, draft.body).toBe(201);
    expect(draft.json()).toMatchObject({ state: 'draft', author: 'bob', steps: { en: ['spliced the fibre'] } });

    // Bad input: a 400 that names what is wrong, nothing written, the refusal audited.
    const untitled = await app.inject({ method: 'POST', url: '/api/kb/articles', headers: alice, payload: { id: 'untitled', symptoms: { en: 'x' } } });
    expect(untitled.statusCode).toBe(400);
    expect(untitled.json().message).toMatch(/article title: is missing/);
    expect((await app.inject({ method: 'GET', url: '/api/kb/articles/untitled', headers: alice })).statusCode).toBe(404);
    const selfPublish = await app.inject({ method: 'POST', url: '/api/kb/articles', headers: alice, payload: { title: { en: 'x' }, state: 'published' } });
    expect(selfPublish.statusCode).toBe(400);
    const badIncident = await app.inject({ method: 'POST', url: '/api/kb/incidents', headers: bob, payload: { alertId: 'x', rule: 'node-down', startedAt: '2026-12-02T00:00:00Z', resolvedAt: '2026-12-01T00:00:00Z' } });
    expect(badIncident.statusCode).toBe(400);
    expect(badIncident.json().message).toMatch(/before startedAt/);
    const badImport = await app.inject({ method: 'POST', url: '/api/kb/import', headers: alice, payload: { format: 'md', content: 'no front matter' } });
    expect(badImport.statusCode).toBe(400);
    expect((await listAudit(database, {})).some((r) => r.action === 'kb.article-create' && r.outcome === 'refused' && String(r.detail.reason).includes('title'))).toBe(true);
  });
});
