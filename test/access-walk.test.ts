// Every route of the HTTPS server walked with every role, and with no
// certificate, an expired one, a revoked one, one from a foreign CA and one
// bound to no role: who gets in is exactly what the route declares.
// Administrator roles count only after the password (two factors).

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, fixedPassphrase } from '../ca/index.js';
import { createLogger, createServer, openDatabase, ROLES, type Database, type Role } from '../core/index.js';
import { ADMIN_PASSWORD, call, PASSPHRASE, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

let desk: DeskSuite;
let foreignDir: string;
let foreignDb: Database;
const people = new Map<string, Person>();
const BAD = ['no certificate', 'expired', 'revoked', 'foreign CA'] as const;

beforeAll(async () => {
  desk = await startDeskSuite();
  for (const role of ROLES) {
    const admin = role === 'ca-admin' || role === 'security-officer';
    const who = await desk.person(`walk ${role}`, [role], admin ? { password: ADMIN_PASSWORD } : {});
    const signed = await signIn(desk, who, admin ? ADMIN_PASSWORD : undefined);
    expect(signed.status, `${role} signs in`).toBe(200);
    people.set(role, who);
  }
  people.set('no role', await desk.person('walk nobody', null));
  // Expired: issued by the same CA with a clock 400 days back, valid 30 days.
  const past = new Authority({ database: desk.suite.database, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase(PASSPHRASE), now: () => new Date(Date.now() - 400 * 86400_000) });
  people.set('expired', await desk.person('walk expired', ['ra-operator'], { authority: past, validityDays: 30 }));
  const revoked = await desk.person('walk revoked', ['ra-operator']);
  await desk.suite.authority.revoke({ ca: 'city-ecdsa', serial: revoked.serial, reason: 'keyCompromise' }, { actor: 'test', source: 'test' });
  people.set('revoked', revoked);
  // Foreign: another CA with the very same name and subject, but its own keys.
  foreignDir = mkdtempSync(path.join(os.tmpdir(), 'egov-foreign-'));
  foreignDb = await openDatabase({ dataDir: foreignDir });
  const foreign = new Authority({ database: foreignDb, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase(PASSPHRASE) });
  await foreign.initHierarchy({ name: 'city-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Test City/CN=Test ECDSA Root CA' }, { actor: 'test', source: 'test' });
  people.set('foreign CA', await desk.person('walk foreign', ['ca-admin'], { authority: foreign }));
});

afterAll(async () => {
  await desk?.close();
  await foreignDb?.close();
  if (foreignDir) rmSync(foreignDir, { recursive: true, force: true });
});

function concrete(url: string): string {
  return url
    .replace(':file', url.startsWith('/crl') ? 'city-ecdsa.crl' : 'city-ecdsa.crt')
    .replace(':ca', 'city-ecdsa')
    .replace(':serial', '0102030405060708ab')
    .replace(':id', '999999')
    .replace('*', 'MAA=');
}

function admits(roles: unknown, principal: string): boolean {
  if (roles === 'public') return true;
  if ((BAD as readonly string[]).includes(principal)) return false;
  if (principal === 'no role') return false;
  if (roles === 'signed-in') return true;
  return (roles as Role[]).includes(principal as Role);
}

describe('every route declares its roles', () => {
  it('the HTTPS server has the routes of every module, each with roles', () => {
    const routes = desk.started.secure!.app.declaredRoutes;
    expect(routes.length).toBeGreaterThanOrEqual(40);
    for (const prefix of ['/api/ca', '/api/ra', '/api/access', '/api/monitor', '/desk', '/status', '/crl', '/ocsp']) expect(routes.some((r) => r.url.startsWith(prefix)), prefix).toBe(true);
    for (const route of routes) expect(route.roles, `${route.method} ${route.url}`).toBeDefined();
  });

  it('refuses to start with a route that declares none', async () => {
    const bare = createServer({ logger: createLogger('silent') });
    expect(() => bare.get('/undeclared', async () => 'x')).toThrow(/does not declare its roles/);
    await bare.close();
  });
});

describe('walking every route with every principal', () => {
  it('admits exactly the declared roles and refuses bad certificates with 401', async () => {
    // Sign-out ends the session the later calls use: walk those last.
    const routes = [...desk.started.secure!.app.declaredRoutes].sort((a, b) => Number(a.url.includes('sign-out')) - Number(b.url.includes('sign-out')));
    const principals = [...ROLES, 'no role', ...BAD];
    const table: string[] = [];
    let pairs = 0;
    for (const route of routes) {
      for (const principal of principals) {
        const who = principal === 'no certificate' ? undefined : people.get(principal);
        const reply = await call(desk.secureBase, desk.caPem, who, route.method, concrete(route.url), route.method === 'GET' || route.method === 'DELETE' ? {} : { json: {} });
        const label = `${route.method} ${route.url} as ${principal} → ${reply.status}`;
        pairs++;
        if (admits(route.roles, principal)) {
          expect([401, 403], label).not.toContain(reply.status);
          expect(reply.status, label).toBeLessThan(500);
        } else if (principal === 'no role') {
          expect(reply.status, label).toBe(403);
        } else if ((BAD as readonly string[]).includes(principal)) {
          expect(reply.status, label).toBe(401);
          if (String(reply.headers['content-type']).startsWith('application/json')) expect(reply.json().message, label).toMatch(principal === 'expired' ? /expired/ : principal === 'revoked' ? /revoked/ : principal === 'foreign CA' ? /not issued by this suite/ : /no client certificate/);
        } else {
          expect(reply.status, label).toBe(403);
        }
        table.push(label);
      }
    }
    // The figure for the closing note.
    console.log(`access walk: ${routes.length} routes x ${principals.length} principals = ${pairs} pairs`);
    expect(pairs).toBe(routes.length * principals.length);
  }, 300_000);
});

describe('two factors for administrator roles', () => {
  it('a ca-admin without the password holds the role but it is not active', async () => {
    const admin = await desk.person('two factor admin', ['ca-admin'], { password: ADMIN_PASSWORD });
    const before = await call(desk.secureBase, desk.caPem, admin, 'GET', '/api/access/bindings');
    expect(before.status).toBe(401);
    expect(before.json().message).toMatch(/active only after you sign in with your password/);
    const wrong = await signIn(desk, admin, 'not-the-password');
    expect(wrong.status).toBe(401);
    expect(wrong.json().message).toMatch(/wrong password \(1 of 5/);
    const right = await signIn(desk, admin, ADMIN_PASSWORD);
    expect(right.status).toBe(200);
    expect(right.json().activeRoles).toEqual(['ca-admin']);
    expect((await call(desk.secureBase, desk.caPem, admin, 'GET', '/api/access/bindings')).status).toBe(200);
  });

  it('locks out after the configured number of wrong passwords, on record in the audit log', async () => {
    const admin = await desk.person('lockout admin', ['security-officer'], { password: ADMIN_PASSWORD });
    for (let i = 1; i <= 4; i++) expect((await signIn(desk, admin, `wrong-${i}`)).status).toBe(401);
    const fifth = await signIn(desk, admin, 'wrong-5');
    expect(fifth.status).toBe(403);
    expect(fifth.json().message).toMatch(/locked until/);
    // Even the right password is refused while locked.
    const locked = await signIn(desk, admin, ADMIN_PASSWORD);
    expect(locked.status).toBe(403);
    const records = await desk.suite.database.db.selectFrom('audit_log').select(['action', 'outcome', 'detail']).where('object', '=', `access:city-ecdsa/serial:${admin.serial}`).execute();
    expect(records.filter((r) => r.action === 'access.sign-in' && r.outcome === 'refused').length).toBe(6);
    await desk.suite.access.unlock({ ca: 'city-ecdsa', serial: admin.serial }, { actor: 'test', source: 'test' });
    expect((await signIn(desk, admin, ADMIN_PASSWORD)).status).toBe(200);
  });

  it('a session cookie is useless with another certificate', async () => {
    const admin = people.get('ca-admin')!;
    const other = await desk.person('cookie thief', ['auditor']);
    const stolen = await call(desk.secureBase, desk.caPem, { ...other, cookie: admin.cookie! }, 'GET', '/api/access/bindings');
    expect(stolen.status).toBe(200);
    const me = await call(desk.secureBase, desk.caPem, { ...other, cookie: admin.cookie! }, 'GET', '/api/access/me');
    expect(me.json().activeRoles).toEqual(['auditor']);
    expect(me.json().session).toBeNull();
  });

  it('a session ends after the idle timeout', async () => {
    const { AccessControl } = await import('../core/index.js');
    const { certificateDirectory } = await import('../ca/index.js');
    let now = Date.now();
    const access = new AccessControl({ database: desk.suite.database, directory: certificateDirectory(desk.suite.authority), settings: { maxFailedSignIns: 5, lockoutMinutes: 15, sessionIdleMinutes: 15, sessionMaxHours: 8 }, now: () => new Date(now) });
    const who = await desk.person('idle admin', ['ca-admin'], { password: ADMIN_PASSWORD });
    const presented = { der: Buffer.from(who.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'), issuerDer: undefined, authorized: true, authorizationError: undefined };
    const principal = await access.authenticate(presented, undefined, 'test');
    const grant = await access.signIn(principal, ADMIN_PASSWORD, 'test');
    now += 10 * 60_000;
    expect((await access.authenticate(presented, grant.cookie, 'test')).activeRoles).toEqual(['ca-admin']);
    now += 16 * 60_000;
    expect((await access.authenticate(presented, grant.cookie, 'test')).activeRoles).toEqual([]);
  });
});

describe('the plain HTTP listener', () => {
  it('serves public routes and sends everything else to HTTPS', async () => {
    expect((await fetch(`${desk.plainBase}/ca/city-ecdsa.crt`)).status).toBe(200);
    const api = await fetch(`${desk.plainBase}/api/ca`);
    expect(api.status).toBe(401);
    expect((await api.json()).message).toMatch(/client certificate: use https:/);
  });
});
