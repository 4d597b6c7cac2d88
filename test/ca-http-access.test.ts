// The CA's JSON API over the mTLS listener, as a ca-admin with the password:
// errors are JSON {code, message} with a stable code, never a crash, and a
// bad CSR leaves no certificate row. (Who may call what: access-walk.test.ts.)

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, call, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

let desk: DeskSuite;
let admin: Person;
let database: DeskSuite['suite']['database'];

beforeAll(async () => {
  desk = await startDeskSuite();
  database = desk.suite.database;
  admin = await desk.person('api admin', ['ca-admin'], { password: ADMIN_PASSWORD });
  expect((await signIn(desk, admin, ADMIN_PASSWORD)).status).toBe(200);
});

afterAll(async () => {
  await desk?.close();
});

/** A POST with a body sent as is (malformed JSON included). */
async function rawPost(url: string, body: string) {
  const https = await import('node:https');
  return new Promise<{ status: number; json(): any }>((resolve, reject) => {
    const request = https.request(desk.secureBase + url, { method: 'POST', ca: desk.caPem, cert: admin.certPem, key: admin.keyPem, headers: { 'content-type': 'application/json', cookie: `egov_session=${admin.cookie}` }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (c: Buffer) => chunks.push(c));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: () => JSON.parse(Buffer.concat(chunks).toString('utf8')) }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('errors are JSON with a stable code', () => {
  it('unknown CA → 404 unknown-ca', async () => {
    const response = await call(desk.secureBase, desk.caPem, admin, 'GET', '/api/ca/no-such-ca');
    expect(response.status).toBe(404);
    expect(response.json()).toMatchObject({ code: 'unknown-ca', message: expect.stringContaining('no-such-ca') });
  });

  it('malformed JSON → 400 bad-request, not a crash', async () => {
    const response = await rawPost('/api/ca/city-ecdsa/certificates', '{"profile": "server", "csr": ');
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ code: 'bad-request' });
  });

  it('schema violation names the field', async () => {
    const response = await call(desk.secureBase, desk.caPem, admin, 'POST', '/api/ca/city-ecdsa/certificates', { json: { profile: 'server' } });
    expect(response.status).toBe(400);
    expect(response.json().message).toMatch(/csr/);
  });

  it('a CSR of garbage → 400 bad-encoding naming the CSR, no certificate row', async () => {
    const count = async () => Number((await database.db.selectFrom('certificate').select(database.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await count();
    const response = await call(desk.secureBase, desk.caPem, admin, 'POST', '/api/ca/city-ecdsa/certificates', { json: { profile: 'server', csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n' } });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ code: 'bad-encoding', message: expect.stringContaining('CSR') });
    expect(await count()).toBe(before);
  });

  it('issues from a CSR and answers with the record and the PEM', async () => {
    const csrDir = mkdtempSync(path.join(os.tmpdir(), 'egov-http-csr-'));
    try {
      const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(csrDir, 'k'), '-subj', '/CN=api.city.gov.cn', '-addext', 'subjectAltName=DNS:api.city.gov.cn'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const response = await call(desk.secureBase, desk.caPem, admin, 'POST', '/api/ca/city-ecdsa/certificates', { json: { profile: 'server', csr } });
      expect(response.status).toBe(201);
      const body = response.json();
      expect(body).toMatchObject({ ca: 'city-ecdsa', profile: 'server', subject: 'CN=api.city.gov.cn', sans: ['DNS:api.city.gov.cn'], status: 'good', keyAlgorithm: 'ecdsa-p256' });
      expect(body.serial).toMatch(/^[0-9a-f]{18}$/);
      expect(body.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
      const shown = (await call(desk.secureBase, desk.caPem, admin, 'GET', `/api/ca/city-ecdsa/certificates/${body.serial}`)).json();
      expect(shown).toEqual(body);
    } finally {
      rmSync(csrDir, { recursive: true, force: true });
    }
  });

  it('unknown path → 404 JSON', async () => {
    const response = await call(desk.secureBase, desk.caPem, admin, 'GET', '/nowhere');
    expect(response.status).toBe(404);
    expect(response.json()).toMatchObject({ code: 'not-found' });
  });
});
