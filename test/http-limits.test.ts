// Limits and headers of the HTTP servers (core/http.ts): HSTS on the HTTPS
// listener only; rate limits on sign-in (per client certificate and
// address) and on enrolment (per address) answered 429 with Retry-After;
// the named body limits answered 413 with the limit; the request timeout
// that cuts a slow sender off with 408; the handler timeout that answers a
// route still working past its limit with 503, on every route of serve.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_LIMIT_BYTES, FORM_BODY_LIMIT_BYTES, HANDLER_TIMEOUT_MS, HSTS_HEADER, LONG_HANDLER_TIMEOUT_MS, RATE_LIMITS, createLogger, createServer, pageErrorHandler } from '../core/index.js';
import { call, signIn, startDeskSuite, type DeskSuite } from './support/desk.js';

let desk: DeskSuite;

beforeAll(async () => {
  desk = await startDeskSuite();
}, 180_000);

afterAll(async () => {
  await desk?.close();
});

async function plainGet(url: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  const response = await fetch(url);
  await response.arrayBuffer();
  return { status: response.status, headers: Object.fromEntries(response.headers) };
}

describe('HSTS', () => {
  it('every HTTPS answer carries Strict-Transport-Security; plain HTTP does not', async () => {
    const secure = await call(desk.secureBase, desk.caPem, undefined, 'GET', '/health');
    expect(secure.status).toBe(200);
    expect(secure.headers['strict-transport-security']).toBe(HSTS_HEADER);
    const refused = await call(desk.secureBase, desk.caPem, undefined, 'GET', '/api/access/me');
    expect(refused.status).toBe(401);
    expect(refused.headers['strict-transport-security']).toBe(HSTS_HEADER);
    const plain = await plainGet(desk.plainBase + '/health');
    expect(plain.status).toBe(200);
    expect(plain.headers['strict-transport-security']).toBeUndefined();
  });
});

describe('rate limits', () => {
  it(`sign-in: ${RATE_LIMITS['sign-in'].max} a minute per certificate and address, then 429 with Retry-After`, async () => {
    const one = await desk.person('limits one', ['network-admin']);
    const other = await desk.person('limits other', ['network-admin']);
    for (let i = 0; i < RATE_LIMITS['sign-in'].max; i++) expect((await signIn(desk, one)).status, `sign-in ${i + 1}`).toBe(200);
    const refused = await call(desk.secureBase, desk.caPem, one, 'POST', '/api/access/sign-in', { json: {} });
    expect(refused.status).toBe(429);
    const wait = Number(refused.headers['retry-after']);
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(wait).toBeLessThanOrEqual(RATE_LIMITS['sign-in'].windowSeconds);
    expect(refused.json()).toMatchObject({ code: 'rate-limited', details: { limit: 'sign-in', retryAfterSeconds: wait } });
    // The console's sign-in form counts towards the same limit.
    const form = await call(desk.secureBase, desk.caPem, one, 'POST', '/sign-in', { form: { password: 'x', _csrf: one.csrf ?? '' } });
    expect(form.status).toBe(429);
    expect(Number(form.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(form.text).toContain('too many sign-in requests');
    // Another certificate from the same address is counted on its own.
    expect((await signIn(desk, other)).status).toBe(200);
    // Other routes are not limited.
    expect((await call(desk.secureBase, desk.caPem, one, 'GET', '/api/access/me')).status).toBe(200);
  });

  it(`enrolment: ${RATE_LIMITS.enrolment.max} a minute per address, then 429 with Retry-After`, async () => {
    const attempt = () => call(desk.secureBase, desk.caPem, undefined, 'POST', '/api/access/enrol', { json: { code: 'not-a-real-code-123', name: 'agent-x', publicKey: 'x' } });
    for (let i = 0; i < RATE_LIMITS.enrolment.max; i++) {
      const reply = await attempt();
      expect(reply.status, `attempt ${i + 1}`).toBeGreaterThanOrEqual(400);
      expect(reply.status, `attempt ${i + 1}`).not.toBe(429);
    }
    const refused = await attempt();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(refused.json()).toMatchObject({ code: 'rate-limited', details: { limit: 'enrolment' } });
  });
});

describe('body limits', () => {
  it(`a JSON body over BODY_LIMIT_BYTES (${BODY_LIMIT_BYTES}) is a 413 naming the limit`, async () => {
    const who = await desk.person('limits big', ['network-admin']);
    const reply = await call(desk.secureBase, desk.caPem, who, 'POST', '/api/access/sign-in', { json: { password: 'x'.repeat(BODY_LIMIT_BYTES) } });
    expect(reply.status).toBe(413);
    expect(reply.json()).toMatchObject({ code: 'too-large', details: { limitBytes: BODY_LIMIT_BYTES } });
  });

  it(`a form over FORM_BODY_LIMIT_BYTES (${FORM_BODY_LIMIT_BYTES}) is a 413 naming that limit`, async () => {
    const who = await desk.person('limits form', ['ra-operator']);
    await signIn(desk, who);
    const reply = await call(desk.secureBase, desk.caPem, who, 'POST', '/desk/requests', { form: { _csrf: who.csrf ?? '', notes: 'x'.repeat(FORM_BODY_LIMIT_BYTES) } });
    expect(reply.status).toBe(413);
    expect(reply.text).toContain(`${FORM_BODY_LIMIT_BYTES}-byte limit`);
  });
});

describe('request timeout', () => {
  it('a request not received in time is answered 408 and the socket closed', async () => {
    const app = createServer({ logger: createLogger('silent'), requestTimeoutMs: 1000 });
    app.post('/echo', { config: { roles: 'public' } }, async (request) => request.body);
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const port = (app.server.address() as net.AddressInfo).port;
      const started = Date.now();
      const answer = await new Promise<{ text: string; closed: boolean }>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a":'));
        let text = '';
        socket.on('data', (d) => (text += d.toString('latin1')));
        socket.on('close', () => resolve({ text, closed: true }));
        socket.on('error', reject);
        setTimeout(() => resolve({ text, closed: false }), 30_000);
      });
      expect(answer.closed).toBe(true);
      expect(answer.text).toMatch(/^HTTP\/1\.1 408/);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      await app.close();
    }
  });
});

describe('handler timeout', () => {
  it('a route still working past its limit answers 503 naming the limit, its signal aborted; a route naming a longer limit finishes', async () => {
    const app = createServer({ logger: createLogger('silent'), handlerTimeoutMs: 300 });
    let aborted = false;
    app.get('/slow', { config: { roles: 'public' } }, async (request) => {
      request.signal.addEventListener('abort', () => (aborted = true));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return { done: true };
    });
    app.get('/patient', { config: { roles: 'public' }, handlerTimeout: 5000 }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      return { done: true };
    });
    await app.register(async (pages) => {
      pages.setErrorHandler(pageErrorHandler('/'));
      pages.get('/slow-page', { config: { roles: 'public' } }, async () => new Promise((resolve) => setTimeout(() => resolve('late'), 1500)));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${(app.server.address() as net.AddressInfo).port}`;
      const slow = await fetch(base + '/slow');
      expect(slow.status).toBe(503);
      const error = (await slow.json()) as { code: string; message: string; details: { limit: string; limitMs: number } };
      expect(error.code).toBe('unavailable');
      expect(error.details).toEqual({ limit: 'handler-timeout', limitMs: 300 });
      expect(error.message).toContain('GET /slow did not finish within its 0.3-s limit');
      expect(aborted).toBe(true);
      expect(app.declaredRoutes.find((r) => r.url === '/slow')?.handlerTimeoutMs).toBe(300);
      const patient = await fetch(base + '/patient');
      expect(patient.status).toBe(200);
      expect(await patient.json()).toEqual({ done: true });
      // A console page says it in the frame, as HTML, with the status.
      const page = await fetch(base + '/slow-page');
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('did not finish within its 0.3-s limit');
      // The late handlers finishing afterwards break nothing: the server still answers.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await fetch(base + '/health')).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it(`every route of serve has a handler timeout: ${HANDLER_TIMEOUT_MS / 1000} s, or ${LONG_HANDLER_TIMEOUT_MS / 60_000} min for the named long ones`, () => {
    const routes = [...desk.started.app.declaredRoutes, ...desk.started.secure!.app.declaredRoutes];
    expect(routes.length).toBeGreaterThan(50);
    for (const route of routes) expect([HANDLER_TIMEOUT_MS, LONG_HANDLER_TIMEOUT_MS], `${route.method} ${route.url}`).toContain(route.handlerTimeoutMs);
    const long = routes.filter((r) => r.handlerTimeoutMs === LONG_HANDLER_TIMEOUT_MS).map((r) => `${r.method} ${r.url}`).sort();
    expect(long).toEqual(['GET /api/audit/runs/:id/report', 'POST /api/audit/runs', 'POST /api/kb/import', 'POST /api/monitor/import', 'POST /audits/run']);
  });
});
