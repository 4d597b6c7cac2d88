// The HTTP surface fuzzed: every route of the real serve app (both
// listeners, enumerated from fastify's declared routes, as
// access-walk.test.ts does) called with random path parameters, query
// strings, headers and bodies, by every role (signed in, administrators
// with the password) and with no certificate. Never a 5xx; an error on an
// API route is JSON {code, message}.

import https from 'node:https';
import http from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type RouteRoles } from '../core/index.js';
import { ADMIN_PASSWORD, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';
import { FUZZ_SEED, fuzzRuns, reportTally, type FuzzTally } from './support/fuzz.js';

let desk: DeskSuite;
const people = new Map<string, Person>();
const agents = new Map<string, https.Agent>();

beforeAll(async () => {
  desk = await startDeskSuite();
  for (const role of ROLES) {
    const admin = role === 'ca-admin' || role === 'security-officer';
    const who = await desk.person(`fuzz ${role}`, [role], admin ? { password: ADMIN_PASSWORD } : {});
    expect((await signIn(desk, who, admin ? ADMIN_PASSWORD : undefined)).status, `${role} signs in`).toBe(200);
    people.set(role, who);
  }
  for (const [name, who] of people) agents.set(name, new https.Agent({ keepAlive: true, maxSockets: 4, ca: desk.caPem, cert: who.certPem, key: who.keyPem, servername: 'localhost' }));
  agents.set('no certificate', new https.Agent({ keepAlive: true, maxSockets: 4, ca: desk.caPem, servername: 'localhost' }));
}, 180_000);

afterAll(async () => {
  for (const agent of agents.values()) agent.destroy();
  await desk?.close();
});

interface Shot {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface Answer {
  status: number;
  type: string;
  text: string;
}

function send(base: string, agent: http.Agent | https.Agent | undefined, shot: Shot): Promise<Answer> {
  const transport = base.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(base + shot.path, { method: shot.method, headers: shot.headers, ...(agent ? { agent } : {}) }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.setTimeout(60_000, () => request.destroy(new Error(`no answer to ${shot.method} ${shot.path}`)));
    request.end(shot.body);
  });
}

// A path parameter: a plausible value, a known one, or garbage (URL-encoded).
const KNOWN_VALUES = ['city-ecdsa', 'city-sm2', 'city-ecdsa.crl', 'city-ecdsa.crt', '0102030405060708ab', '1', '999999', 'MAA=', 'core', 'x'];
const parameter = fc.oneof(
  fc.constantFrom(...KNOWN_VALUES),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.stringMatching(/^[0-9a-f]{1,40}$/),
  fc.constantFrom('..', '%2e%2e', '%00', '-1', '1e309', 'null', '%ff%fe', 'a'.repeat(300)),
);
const queryKey = fc.oneof(fc.constantFrom('lang', 'limit', 'offset', 'from', 'to', 'status', 'q', 'zone', 'node', 'range', 'field', 'fields', 'since', 'until', 'state', 'kind', 'severity', 'page', 'ca', 'serial'), fc.string({ maxLength: 12 }));
const queryValue = fc.oneof(fc.string({ maxLength: 30 }), fc.integer().map(String), fc.constantFrom('en', 'zh-CN', '-1', '0', '99999999999999999999', 'NaN', '1d', '7d', 'true', '[]', '{}'));
const query = fc.array(fc.tuple(queryKey, queryValue), { maxLength: 5 }).map((pairs) => (pairs.length ? '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&') : ''));
const jsonBody = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.constantFrom('profile', 'csr', 'subject', 'sans', 'keyAlgorithm', 'validityDays', 'p12Password', 'password', 'reason', 'serial', 'name', 'kind', 'zone', 'site', 'level', 'address', 'snmp', 'parents', 'code', 'roles', 'holder', 'ca', 'items', 'agent', 'comment', 'publicKey', 'names', 'format', 'text', 'data'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 8 }),
);
const body = fc.oneof(
  jsonBody.map((v) => ({ type: 'application/json', bytes: Buffer.from(JSON.stringify(v) ?? 'null') })),
  jsonBody.map((v) => ({ type: 'application/json', bytes: Buffer.from((JSON.stringify(v) ?? 'null').slice(0, -1)) })), // truncated JSON
  fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 30 }), { maxKeys: 6 }).map((d) => ({ type: 'application/x-www-form-urlencoded', bytes: Buffer.from(new URLSearchParams(d).toString()) })),
  fc.uint8Array({ maxLength: 600 }).map((b) => ({ type: fc.sample(fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/ocsp-request', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'bogus/type;;', ''), { numRuns: 1, seed: b.length })[0]!, bytes: Buffer.from(b) })),
  fc.constant(null),
);
const extraHeaders = fc.record(
  {
    accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png', ''),
    'accept-language': fc.constantFrom('zh-CN', 'en', 'xx', '*;q=0.5,,,'),
    cookie: fc.oneof(fc.constant('egov_session=garbage'), fc.string({ maxLength: 40 }).map((s) => `egov_lang=${encodeURIComponent(s)}`), fc.constant('egov_session=; egov_session=x')),
    'x-csrf-token': fc.string({ maxLength: 20 }),
    'x-forwarded-for': fc.constantFrom('1.2.3.4', 'garbage', '::1, 10.0.0.1'),
  },
  { requiredKeys: [] },
);

function concretePath(url: string, values: string[]): string {
  let i = 0;
  return url.replace(/:[A-Za-z]+|\*/g, () => values[i++ % values.length] ?? 'x');
}

async function fuzzRoutes(label: string, base: string, routes: Array<{ method: string; url: string; roles: RouteRoles }>, principals: string[], runsPerRoute: number): Promise<FuzzTally> {
  const tally: FuzzTally = { parser: label, tried: 0, accepted: 0, refused: 0, byCode: {}, slowestMs: 0, findings: [] };
  const failures: string[] = [];
  for (const route of routes) {
    // Mostly someone the route admits (so the handler, not only the role check, gets the garbage), sometimes anyone.
    const admitted = principals.filter((p) => route.roles === 'public' || (p !== 'no certificate' && (route.roles === 'signed-in' || (route.roles as readonly string[]).includes(p))));
    const principal = admitted.length ? fc.oneof({ arbitrary: fc.constantFrom(...admitted), weight: 3 }, { arbitrary: fc.constantFrom(...principals), weight: 1 }) : fc.constantFrom(...principals);
    const shots = fc.record({ values: fc.array(parameter, { minLength: 1, maxLength: 3 }), query, body, headers: extraHeaders, principal, withCsrf: fc.boolean(), withCookie: fc.constantFrom(true, true, true, false) });
    const samples = fc.sample(shots, { seed: FUZZ_SEED + tally.tried, numRuns: runsPerRoute });
    for (const s of samples) {
      const who = people.get(s.principal);
      const headers: Record<string, string> = { ...s.headers };
      if (who?.cookie && s.withCookie) headers.cookie = `egov_session=${who.cookie}${headers.cookie ? '; ' + headers.cookie : ''}`;
      if (who?.csrf && s.withCsrf) headers['x-csrf-token'] = who.csrf;
      const withBody = route.method !== 'GET' && route.method !== 'DELETE' && s.body;
      if (withBody && s.body!.type) headers['content-type'] = s.body!.type;
      const shot: Shot = { method: route.method, path: concretePath(route.url, s.values) + s.query, headers, ...(withBody ? { body: s.body!.bytes } : {}) };
      tally.tried++;
      const started = performance.now();
      const answer = await send(base, base.startsWith('https:') ? agents.get(s.principal) : undefined, shot);
      tally.slowestMs = Math.max(tally.slowestMs, Math.round(performance.now() - started));
      const key = String(answer.status);
      tally.byCode[key] = (tally.byCode[key] ?? 0) + 1;
      if (answer.status < 400) tally.accepted++;
      else tally.refused++;
      const where = `${route.method} ${route.url} as ${s.principal}: ${shot.method} ${shot.path.slice(0, 200)} ${shot.headers['content-type'] ?? ''} ${shot.body ? JSON.stringify(shot.body.toString('utf8').slice(0, 200)) : ''}`;
      if (answer.status >= 500) failures.push(`${answer.status} ${answer.text.replace(/<style>[^]*?<\/style>/g, "").replace(/<[^>]+>/g, " ").replace(/\s+/g, " ").slice(0, 300)} ← ${where}`);
      else if (answer.status >= 400 && (route.url.startsWith('/api/') || answer.type.startsWith('application/json'))) {
        let ok = false;
        try {
          const error = JSON.parse(answer.text) as { code?: unknown; message?: unknown };
          ok = typeof error.code === 'string' && typeof error.message === 'string';
        } catch {
          ok = false;
        }
        if (!ok) failures.push(`${answer.status} without a JSON error (${answer.type}: ${answer.text.slice(0, 120)}) ← ${where}`);
      }
    }
  }
  tally.findings = [...new Set(failures.map((f) => f.slice(0, 400)))].slice(0, 20);
  reportTally(tally);
  return tally;
}

describe('every route, every role, random requests: never a 5xx', () => {
  it('the HTTPS listener', async () => {
    // Sign-out and password changes end or change the sessions the other calls use: walked last.
    const last = (url: string) => Number(/sign-out|password/.test(url));
    const routes = [...desk.started.secure!.app.declaredRoutes].sort((a, b) => last(a.url) - last(b.url));
    const tally = await fuzzRoutes('http routes (https)', desk.secureBase, routes, [...ROLES, 'no certificate'], fuzzRuns(20, 0.01));
    console.log(`http fuzz (https): ${routes.length} routes, ${tally.tried} requests, statuses ${JSON.stringify(tally.byCode)}`);
    expect(tally.findings).toEqual([]);
  }, 600_000);

  it('the plain listener (public routes only)', async () => {
    const routes = desk.started.app.declaredRoutes;
    const tally = await fuzzRoutes('http routes (plain)', desk.plainBase, routes, ['no certificate'], fuzzRuns(25, 0.02));
    console.log(`http fuzz (plain): ${routes.length} routes, ${tally.tried} requests, statuses ${JSON.stringify(tally.byCode)}`);
    expect(tally.findings).toEqual([]);
  }, 600_000);
});

describe('regressions found by the HTTP fuzzer', () => {
  // Fresh people: the fuzz above may have signed its people out or used up their sign-ins.
  const fresh = new Map<string, { who: Person; agent: https.Agent }>();
  beforeAll(async () => {
    for (const role of ['auditor', 'ra-operator'] as const) {
      const who = await desk.person(`regression ${role}`, [role]);
      expect((await signIn(desk, who)).status).toBe(200);
      fresh.set(role, { who, agent: new https.Agent({ keepAlive: true, ca: desk.caPem, cert: who.certPem, key: who.keyPem, servername: 'localhost' }) });
    }
  });
  afterAll(() => {
    for (const { agent } of fresh.values()) agent.destroy();
  });
  const as = (role: string, shot: Omit<Shot, 'headers'> & { headers?: Record<string, string> }) => {
    const { who, agent } = fresh.get(role)!;
    return send(desk.secureBase, agent, { ...shot, headers: { cookie: `egov_session=${who.cookie}`, 'x-csrf-token': who.csrf ?? '', ...(shot.headers ?? {}) } });
  };

  it('a repeated query parameter is a 400 naming it (it reached SQLite as a row value: 500)', async () => {
    const page = await as('auditor', { method: 'GET', path: '/desk/requests?state=submitted&state=approved' });
    expect(page.status).toBe(400);
    expect(page.text).toMatch(/state(&quot;|")? is given more than once/);
    expect((await as('auditor', { method: 'GET', path: '/desk/requests?state=submitted' })).status).toBe(200);
    const api = await as('auditor', { method: 'GET', path: '/api/ra/requests?state=submitted&state=approved' });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.text)).toMatchObject({ code: 'bad-request', message: expect.stringContaining('"state" is given more than once') });
  });

  it('a form route posted without a body is a 4xx, not a TypeError (500)', async () => {
    // The desk answers a refused form with a redirect back and the reason as a flash (or a 4xx).
    const answer = await as('ra-operator', { method: 'POST', path: '/desk/requests' });
    expect(answer.status).toBeLessThan(500);
    expect([303, 400, 422]).toContain(answer.status);
  });

  it('a form route given JSON that is not an object of strings is a 400', async () => {
    for (const json of ['[1,2]', 'null', '{"kind":{"x":1}}', '"text"', '{"kind":7}']) {
      const answer = await as('ra-operator', { method: 'POST', path: '/desk/requests', headers: { 'content-type': 'application/json' }, body: Buffer.from(json) });
      expect(answer.status, json).toBeLessThan(500);
      expect([303, 400, 422], json).toContain(answer.status);
    }
  });

  it('an OCSP GET whose path is not valid URL encoding is a 400 (decodeURIComponent threw: 500)', async () => {
    for (const path of ['/ocsp/city-ecdsa/%25zz', '/ocsp/city-ecdsa/MAA%25']) {
      const plain = await send(desk.plainBase, undefined, { method: 'GET', path, headers: {} });
      expect(plain.status, path).toBe(400);
      expect(JSON.parse(plain.text)).toMatchObject({ code: 'bad-request', message: expect.stringContaining('URL-encoded') });
    }
  });

  it('a request list filtered by a date or a number that is none is a 400 (RangeError, SQLite datatype mismatch: 500)', async () => {
    for (const q of ['from=7d', 'to=true', 'from=99999999999999999999', 'limit=U', 'before=-1', 'limit=99999999999']) {
      const page = await as('auditor', { method: 'GET', path: `/desk/requests?${q}` });
      expect(page.status, q).toBe(400);
    }
    const api = await as('auditor', { method: 'GET', path: '/api/ra/requests?from=2026-99-99' });
    expect(api.status).toBe(400);
    expect(JSON.parse(api.text)).toMatchObject({ code: 'bad-request', message: expect.stringContaining('from must be a date') });
    expect((await as('auditor', { method: 'GET', path: '/desk/requests?from=2026-01-01&limit=5' })).status).toBe(200);
  });
});
