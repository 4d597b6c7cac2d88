// The one console: the frame every page shares, served as `egov-ops serve`
// serves it (real mTLS with client certificates). Each person sees the
// sections their active roles admit; administrator roles appear after the
// password on /sign-in; sign-out ends the session; assets come from the suite.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, call, cookieFrom, startDeskSuite, type DeskSuite } from './support/desk.js';

let desk: DeskSuite;

beforeAll(async () => {
  desk = await startDeskSuite();
}, 120_000);
afterAll(async () => desk?.close());

const navIds = (html: string) => [...html.matchAll(/id="nav-([a-z0-9-]+)"/g)].map((m) => m[1]);

describe('the console frame', () => {
  it('shows each role its own sections, the same header on every page, and the strict CSP', async () => {
    const operator = await desk.person('Desk Operator', ['ra-operator']);
    const admin = await desk.person('Net Admin', ['network-admin']);
    const home = await call(desk.secureBase, desk.caPem, operator, 'GET', '/');
    expect(home.status).toBe(200);
    expect(navIds(home.text)).toEqual(['home', 'desk']);
    expect(home.text).toContain('data-section="desk"');
    expect(home.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(home.headers['content-security-policy']).toMatch(/default-src 'none'/);

    const adminHome = await call(desk.secureBase, desk.caPem, admin, 'GET', '/');
    expect(navIds(adminHome.text)).toEqual(['home', 'status', 'logs', 'alerts', 'maintenance', 'kb', 'topology', 'runbooks']);
    // The same frame on a module's page: the status page marks its section.
    const status = await call(desk.secureBase, desk.caPem, admin, 'GET', '/status');
    expect(status.status).toBe(200);
    expect(status.text).toContain('id="nav-status" aria-current="page"');
    expect(navIds(status.text)).toEqual(['home', 'status', 'logs', 'alerts', 'maintenance', 'kb', 'topology', 'runbooks']);
  });

  it('activates administrator roles only after the password on /sign-in, and sign-out ends the session', async () => {
    const officer = await desk.person('Officer Zhao', ['security-officer', 'auditor'], { password: ADMIN_PASSWORD });
    const first = await call(desk.secureBase, desk.caPem, officer, 'GET', '/', { headers: { 'accept-language': 'zh-CN' } });
    expect(first.status).toBe(200);
    expect(first.text).toContain('管理员角色需输入口令后生效');
    officer.cookie = cookieFrom(first);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(first.text)?.[1];
    expect(csrf).toBeTruthy();

    const wrong = await call(desk.secureBase, desk.caPem, officer, 'POST', '/sign-in', { form: { _csrf: csrf!, password: 'not-it', back: '/status' } });
    expect(wrong.status).toBe(303);
    expect(wrong.headers.location).toMatch(/^\/sign-in\?.*error=/);

    const right = await call(desk.secureBase, desk.caPem, officer, 'POST', '/sign-in', { form: { _csrf: csrf!, password: ADMIN_PASSWORD, back: '/status' } });
    expect(right.status).toBe(303);
    expect(right.headers.location).toBe('/status');
    officer.cookie = cookieFrom(right);
    const after = await call(desk.secureBase, desk.caPem, officer, 'GET', '/');
    expect(after.text).toMatch(/id="roles">[^<]*security-officer/);

    const newCsrf = /name="_csrf" value="([^"]+)"/.exec(after.text)?.[1];
    const out = await call(desk.secureBase, desk.caPem, officer, 'POST', '/sign-out', { form: { _csrf: newCsrf! } });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/egov_session=;.*Max-Age=0/);
    const again = await call(desk.secureBase, desk.caPem, officer, 'GET', '/api/access/me');
    expect(again.json().activeRoles).toEqual(['auditor']);
  });

  it('sends sign-in back only to a local page, never to another site', async () => {
    const officer = await desk.person('Officer Qian', ['security-officer'], { password: ADMIN_PASSWORD });
    const page = await call(desk.secureBase, desk.caPem, officer, 'GET', '/sign-in?back=https://evil.example/');
    officer.cookie = cookieFrom(page);
    expect(page.text).toContain('name="back" value="/"');
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const posted = await call(desk.secureBase, desk.caPem, officer, 'POST', '/sign-in', { form: { _csrf: csrf, password: ADMIN_PASSWORD, back: '//evil.example/' } });
    expect(posted.headers.location).toBe('/');
  });

  it('serves registered assets to signed-in people only, cached by version', async () => {
    const registry = desk.started.secure!.app.console;
    const url = registry.addAsset('console-test.js', 'text/javascript; charset=utf-8', 'window.egovTest = 1;\n');
    expect(url).toMatch(/^\/assets\/console-test\.js\?v=[0-9a-f]{12}$/);
    const auditor = await desk.person('Asset Reader', ['auditor']);
    const got = await call(desk.secureBase, desk.caPem, auditor, 'GET', url);
    expect(got.status).toBe(200);
    expect(got.headers['content-type']).toMatch(/^text\/javascript/);
    expect(got.headers['cache-control']).toMatch(/immutable/);
    expect(got.text).toBe('window.egovTest = 1;\n');
    expect((await call(desk.secureBase, desk.caPem, undefined, 'GET', url)).status).toBe(401);
    const missing = await call(desk.secureBase, desk.caPem, auditor, 'GET', '/assets/nothing.js');
    expect(missing.status).toBe(404);
  });

  it('a desk link to the old sign-in address leads to the console sign-in', async () => {
    const operator = await desk.person('Old Link', ['ra-operator']);
    const reply = await call(desk.secureBase, desk.caPem, operator, 'GET', '/desk/sign-in');
    expect(reply.status).toBe(303);
    expect(reply.headers.location).toBe('/sign-in?back=%2Fdesk');
  });
});
