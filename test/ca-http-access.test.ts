// The HTTP server walked route by route: every route declares its roles, the
// public ones answer without a token, the ca-admin ones refuse no token and a
// wrong token (401) and admit the admin token. Errors are JSON {code, message}.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, caRoutes, CrlService, fixedPassphrase, OcspResponder } from '../ca/index.js';
import { createLogger, createServer, openDatabase, type Database } from '../core/index.js';

const TOKEN = 'test-admin-token-0123456789';
let dir: string;
let database: Database;
let app: FastifyInstance;
let base: string;
const routes: Array<{ method: string; url: string; roles: unknown }> = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-http-'));
  database = await openDatabase({ dataDir: dir });
  const authority = new Authority({ database, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase('http-test-passphrase') });
  await authority.initHierarchy({ name: 'city-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Test/CN=Test Root CA' }, { actor: 'test', source: 'test' });
  const crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 60 });
  const ocsp = new OcspResponder(authority, { validitySeconds: 3600 });
  app = createServer({ logger: createLogger('silent'), adminTokenSha256: createHash('sha256').update(TOKEN).digest('hex') });
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url, roles: route.config?.roles });
  });
  await app.register(caRoutes, { authority, crls, ocsp });
  base = await app.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await app?.close();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A concrete URL for a route pattern, with parameters filled in. */
function concrete(url: string): string {
  return url
    .replace(':file', url.startsWith('/crl') ? 'city-ecdsa.crl' : 'city-ecdsa.crt')
    .replace(':ca', 'city-ecdsa')
    .replace(':serial', '0102030405060708ab')
    .replace('*', 'MAA=');
}

async function call(method: string, url: string, token?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (method === 'POST' && !url.startsWith('/ocsp')) {
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  return fetch(base + concrete(url), { method, headers, ...(body ? { body } : {}) });
}

describe('every route declares its roles', () => {
  it('found the routes, each with roles', () => {
    expect(routes.length).toBeGreaterThanOrEqual(14);
    for (const route of routes) expect(route.roles, `${route.method} ${route.url}`).toBeDefined();
  });

  it('refuses to start with a route that declares none', async () => {
    const bare = createServer({ logger: createLogger('silent'), adminTokenSha256: '00'.repeat(32) });
    expect(() => bare.get('/undeclared', async () => 'x')).toThrow(/does not declare its roles/);
    await bare.close();
  });
});

describe('walking every route with no token, a wrong token and the admin token', () => {
  it('public routes answer anyone; ca-admin routes need the token', async () => {
    const pairs: string[] = [];
    for (const route of routes) {
      const anonymous = await call(route.method, route.url);
      const wrong = await call(route.method, route.url, 'not-the-token');
      const admin = await call(route.method, route.url, TOKEN);
      const label = `${route.method} ${route.url}`;
      if (route.roles === 'public') {
        expect(anonymous.status, label).not.toBe(401);
        expect(anonymous.status, label).not.toBe(403);
      } else {
        expect(route.roles, label).toEqual(['ca-admin']);
        expect(anonymous.status, label).toBe(401);
        expect(await anonymous.json(), label).toMatchObject({ code: 'unauthorized' });
        expect(wrong.status, label).toBe(401);
        expect([401, 403], label).not.toContain(admin.status);
        expect(admin.status, label).toBeLessThan(500);
      }
      pairs.push(label);
    }
    expect(pairs.length * 3).toBeGreaterThanOrEqual(42);
  });
});

describe('errors are JSON with a stable code', () => {
  it('unknown CA → 404 unknown-ca', async () => {
    const response = await fetch(`${base}/api/ca/no-such-ca`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'unknown-ca', message: expect.stringContaining('no-such-ca') });
  });

  it('malformed JSON → 400 bad-request, not a crash', async () => {
    const response = await fetch(`${base}/api/ca/city-ecdsa/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"profile": "server", "csr": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'bad-request' });
  });

  it('schema violation names the field', async () => {
    const response = await fetch(`${base}/api/ca/city-ecdsa/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ profile: 'server' }),
    });
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/csr/);
  });

  it('a CSR of garbage → 400 bad-encoding naming the CSR, no certificate row', async () => {
    const response = await fetch(`${base}/api/ca/city-ecdsa/certificates`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ profile: 'server', csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'bad-encoding', message: expect.stringContaining('CSR') });
    const rows = await database.db.selectFrom('certificate').select(database.db.fn.countAll().as('n')).executeTakeFirstOrThrow();
    expect(Number(rows.n)).toBe(0);
  });

  it('issues from a CSR and answers with the record and the PEM', async () => {
    const csrDir = mkdtempSync(path.join(os.tmpdir(), 'egov-http-csr-'));
    try {
      const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(csrDir, 'k'), '-subj', '/CN=api.city.gov.cn', '-addext', 'subjectAltName=DNS:api.city.gov.cn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const response = await fetch(`${base}/api/ca/city-ecdsa/certificates`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ profile: 'server', csr }),
      });
      expect(response.status).toBe(201);
      const body = await response.json();
      expect(body).toMatchObject({ ca: 'city-ecdsa', profile: 'server', subject: 'CN=api.city.gov.cn', sans: ['DNS:api.city.gov.cn'], status: 'good', keyAlgorithm: 'ecdsa-p256' });
      expect(body.serial).toMatch(/^[0-9a-f]{18}$/);
      expect(body.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      const shown = await (await fetch(`${base}/api/ca/city-ecdsa/certificates/${body.serial}`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
      expect(shown).toEqual(body);
    } finally {
      rmSync(csrDir, { recursive: true, force: true });
    }
  });

  it('unknown path → 404 JSON', async () => {
    const response = await fetch(`${base}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not-found' });
  });
});
