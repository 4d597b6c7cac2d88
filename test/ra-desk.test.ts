// The registration desk through its API over mTLS, as operators use it:
// the lifecycle with four eyes, one-time PKCS#12 delivery checked by openssl,
// change requests, and every bad input of the issue refused with a clear
// error and nothing half-done in the database.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { residentIdProblem } from '../ca/index.js';
import { call, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';
import { opensslOk, openssl } from './support/openssl.js';

let desk: DeskSuite;
let operatorA: Person;
let operatorB: Person;
let networkAdmin: Person;
let tmp: string;

// A valid resident ID (GB 11643 check digit X) and the same with a wrong check digit.
const RESIDENT_ID = '11010519491231002X';
const WRONG_CHECK = '110105194912310021';

const person = (idNumber = RESIDENT_ID, name = 'Zhang San') => ({
  kind: 'issue',
  ca: 'city-ecdsa',
  profile: 'person',
  subjectType: 'person',
  applicant: { name, idType: 'resident-id', idNumber, department: 'Big Data Bureau', phone: '+86 10 1234 5678', email: 'zhang.san@city.gov.cn' },
});

beforeAll(async () => {
  desk = await startDeskSuite();
  operatorA = await desk.person('Operator A', ['ra-operator']);
  operatorB = await desk.person('Operator B', ['ra-operator']);
  networkAdmin = await desk.person('Net Admin', ['network-admin']);
  for (const who of [operatorA, operatorB, networkAdmin]) expect((await signIn(desk, who)).status).toBe(200);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-ra-'));
});

afterAll(async () => {
  await desk?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// POSTs go as JSON (an empty object when there is nothing to say), as API clients send them.
const api = (who: Person, method: string, url: string, json?: unknown) => call(desk.secureBase, desk.caPem, who, method, url, json === undefined ? (method === 'POST' ? { json: {} } : {}) : { json });
const requestCount = async () => Number((await desk.suite.database.db.selectFrom('ra_request').select(desk.suite.database.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
const certificateCount = async () => Number((await desk.suite.database.db.selectFrom('certificate').select(desk.suite.database.db.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

describe('GB 11643 resident ID check digit', () => {
  it('accepts a valid number and names the problem of a wrong one', () => {
    expect(residentIdProblem(RESIDENT_ID)).toBeNull();
    expect(residentIdProblem(WRONG_CHECK)).toMatch(/check digit is 1, but the first 17 digits give X/);
    expect(residentIdProblem('110105194913310028')).toMatch(/birth date/);
  });
});

describe('a person request from submission to a verified PKCS#12', () => {
  it('walks submitted → vetted → approved (by a second operator) → issued → delivered, once', async () => {
    const submitted = await api(operatorA, 'POST', '/api/ra/requests', person());
    expect(submitted.status).toBe(201);
    const id = submitted.json().id;
    expect(submitted.json()).toMatchObject({ state: 'submitted', keySource: 'keygen', idNumber: '110105********002X', fourEyes: true });

    const vetted = await api(operatorA, 'POST', `/api/ra/requests/${id}/vet`, { documentType: 'resident-id', documentNumber: RESIDENT_ID, presentedBy: 'Zhang San in person' });
    expect(vetted.status).toBe(200);
    expect(vetted.json().vetting).toMatchObject({ documentNumber: '110105********002X' });

    // Four eyes: the vetting operator may not approve.
    const selfApproval = await api(operatorA, 'POST', `/api/ra/requests/${id}/approve`);
    expect(selfApproval.status).toBe(422);
    expect(selfApproval.json().message).toMatch(/four eyes.*Operator A/);
    expect((await api(operatorA, 'GET', `/api/ra/requests/${id}`)).json().state).toBe('vetted');

    // A network administrator is signed in but cannot approve.
    const byNetworkAdmin = await api(networkAdmin, 'POST', `/api/ra/requests/${id}/approve`);
    expect(byNetworkAdmin.status).toBe(403);

    expect((await api(operatorB, 'POST', `/api/ra/requests/${id}/approve`)).json()).toMatchObject({ state: 'approved', approvedBy: expect.stringContaining('Operator B') });
    const issued = await api(operatorA, 'POST', `/api/ra/requests/${id}/issue`);
    expect(issued.json()).toMatchObject({ state: 'issued', awaitingDownload: true });

    const download = await api(operatorA, 'POST', `/api/ra/requests/${id}/pkcs12`, { password: 'applicant-chosen-pw' });
    expect(download.status).toBe(200);
    const p12 = path.join(tmp, 'zhang.p12');
    writeFileSync(p12, download.body);
    const leaf = path.join(tmp, 'leaf.pem');
    opensslOk('pkcs12', '-in', p12, '-passin', 'pass:applicant-chosen-pw', '-clcerts', '-nokeys', '-out', leaf);
    writeFileSync(path.join(tmp, 'chain.pem'), desk.caPem);
    expect(opensslOk('verify', '-CAfile', path.join(tmp, 'chain.pem'), leaf)).toMatch(/OK/);
    const text = opensslOk('x509', '-in', leaf, '-noout', '-subject', '-ext', 'extendedKeyUsage');
    expect(text).toMatch(/CN ?= ?Zhang San/);
    expect(text).not.toContain(RESIDENT_ID);
    expect(text).toMatch(/TLS Web Client Authentication/);

    // Downloaded once: the second attempt is refused and the key is gone.
    const again = await api(operatorA, 'POST', `/api/ra/requests/${id}/pkcs12`, { password: 'applicant-chosen-pw' });
    expect(again.status).toBe(409);
    expect(again.json().message).toMatch(/already downloaded/);
    const row = await desk.suite.database.db.selectFrom('ra_request').select(['state', 'pending_key']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'delivered', pending_key: null });

    // Every step on record, with the ID number masked.
    const audit = await desk.suite.database.db.selectFrom('audit_log').select(['action', 'outcome', 'detail']).where('object', '=', `ra:request/${id}`).orderBy('id').execute();
    expect(audit.map((a) => `${a.action}:${a.outcome}`)).toEqual(['ra.submit:success', 'ra.vet:success', 'ra.approve:refused', 'ra.approve:success', 'ra.issue:success', 'ra.deliver:success', 'ra.deliver:refused']);
    const all = await desk.suite.database.db.selectFrom('audit_log').select('detail').execute();
    expect(all.some((a) => a.detail.includes(RESIDENT_ID))).toBe(false);
  });

  it('a CSR-based device certificate is downloadable as PEM, DER and chain', async () => {
    const key = path.join(tmp, 'device.key');
    opensslOk('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
    const csr = opensslOk('req', '-new', '-key', key, '-subj', '/CN=ignored');
    const submitted = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'issue', ca: 'city-ecdsa', profile: 'device', subjectType: 'device', applicant: { hostname: 'sw-county-01.city.gov.cn', ipAddresses: ['10.20.0.1'], zone: 'internal', site: 'County A', assetTag: 'SW-0001' }, csr });
    expect(submitted.status).toBe(201);
    const id = submitted.json().id;
    expect(submitted.json().fourEyes).toBe(false);
    await api(operatorA, 'POST', `/api/ra/requests/${id}/vet`, { documentType: 'device-record', documentNumber: 'SW-0001', presentedBy: 'county network office' });
    // No four eyes for devices by default: the vetting operator may approve.
    expect((await api(operatorA, 'POST', `/api/ra/requests/${id}/approve`)).status).toBe(200);
    const issued = (await api(operatorA, 'POST', `/api/ra/requests/${id}/issue`)).json();
    const pem = await api(operatorA, 'GET', `/api/ra/requests/${id}/certificate?format=pem`);
    expect(pem.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const der = await api(operatorA, 'GET', `/api/ra/requests/${id}/certificate?format=der`);
    expect(der.body[0]).toBe(0x30);
    const chain = await api(operatorA, 'GET', `/api/ra/requests/${id}/certificate?format=chain`);
    expect(chain.text.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    writeFileSync(path.join(tmp, 'device.pem'), pem.text);
    expect(opensslOk('x509', '-in', path.join(tmp, 'device.pem'), '-noout', '-ext', 'subjectAltName')).toMatch(/DNS:sw-county-01.city.gov.cn, IP Address:10.20.0.1/);
    expect((await api(operatorA, 'GET', `/api/ra/requests/${id}`)).json().state).toBe('delivered');

    // A revoke request for it goes the same way, and then the certificate is revoked.
    const revoke = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'revoke', ca: 'city-ecdsa', targetSerial: issued.issuedSerial, reason: 'keyCompromise' });
    expect(revoke.status).toBe(201);
    const rid = revoke.json().id;
    await api(operatorB, 'POST', `/api/ra/requests/${rid}/vet`, { documentType: 'letter', documentNumber: 'L-2026-11', presentedBy: 'county network office' });
    await api(operatorB, 'POST', `/api/ra/requests/${rid}/approve`);
    expect((await api(operatorB, 'POST', `/api/ra/requests/${rid}/issue`)).json().state).toBe('issued');
    expect((await desk.suite.authority.getCertificate('city-ecdsa', issued.issuedSerial)).status).toBe('revoked');
  });

  it('lists what expires and finds requests by name, ID, host name and serial', async () => {
    const expiring = await api(operatorA, 'GET', '/api/ca/expiring?days=800');
    expect(expiring.status).toBe(200);
    expect(expiring.json().certificates.length).toBeGreaterThan(0);
    expect((await api(operatorA, 'GET', '/api/ra/requests?q=Zhang')).json().requests).toHaveLength(1);
    expect((await api(operatorA, 'GET', `/api/ra/requests?q=${RESIDENT_ID}`)).json().requests).toHaveLength(1);
    expect((await api(operatorA, 'GET', '/api/ra/requests?q=sw-county')).json().requests.length).toBeGreaterThanOrEqual(1);
    expect((await api(operatorA, 'GET', '/api/ra/requests?state=delivered&profile=person')).json().requests).toHaveLength(1);
  });
});

describe('change requests for an existing certificate', () => {
  /** submitted → vetted (by A) → approved (by B) → carried out (by A). */
  async function carryOut(body: Record<string, unknown>) {
    const submitted = await api(operatorA, 'POST', '/api/ra/requests', body);
    expect(submitted.status).toBe(201);
    const id = submitted.json().id;
    expect((await api(operatorA, 'POST', `/api/ra/requests/${id}/vet`, { documentType: 'letter', documentNumber: 'L-1', presentedBy: 'owner' })).status).toBe(200);
    expect((await api(operatorB, 'POST', `/api/ra/requests/${id}/approve`)).status).toBe(200);
    const done = await api(operatorA, 'POST', `/api/ra/requests/${id}/issue`);
    expect(done.status).toBe(200);
    return done.json();
  }

  it('suspends, releases, renews with the same key and rekeys with a new one', async () => {
    const key = path.join(tmp, 'gw.key');
    opensslOk('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key);
    const csr = opensslOk('req', '-new', '-key', key, '-subj', '/CN=gw');
    const issued = await carryOut({ kind: 'issue', ca: 'city-ecdsa', profile: 'device', subjectType: 'device', applicant: { hostname: 'gw-town-03.city.gov.cn', ipAddresses: [], zone: 'external', site: 'Town 3' }, csr });
    const serial = issued.issuedSerial;

    await carryOut({ kind: 'suspend', ca: 'city-ecdsa', targetSerial: serial });
    expect((await desk.suite.authority.getCertificate('city-ecdsa', serial)).status).toBe('hold');
    await carryOut({ kind: 'unsuspend', ca: 'city-ecdsa', targetSerial: serial });
    expect((await desk.suite.authority.getCertificate('city-ecdsa', serial)).status).toBe('good');

    const renewed = await carryOut({ kind: 'renew', ca: 'city-ecdsa', targetSerial: serial });
    expect(renewed.issuedSerial).not.toBe(serial);
    const oldCert = path.join(tmp, `${serial}.pem`);
    const newCert = path.join(tmp, `${renewed.issuedSerial}.pem`);
    writeFileSync(oldCert, (await desk.suite.authority.getCertificate('city-ecdsa', serial)).certificatePem);
    writeFileSync(newCert, (await desk.suite.authority.getCertificate('city-ecdsa', renewed.issuedSerial)).certificatePem);
    expect(opensslOk('x509', '-in', newCert, '-noout', '-pubkey')).toBe(opensslOk('x509', '-in', oldCert, '-noout', '-pubkey'));
    expect(opensslOk('x509', '-in', newCert, '-noout', '-ext', 'subjectAltName')).toMatch(/DNS:gw-town-03.city.gov.cn/);

    // A rekey with the key of the current certificate is refused; without a CSR the desk makes a new key.
    const sameKey = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'rekey', ca: 'city-ecdsa', targetSerial: serial, csr });
    expect(sameKey.status).toBe(400);
    expect(sameKey.json().message).toMatch(/needs a new key/);
    const rekeyed = await carryOut({ kind: 'rekey', ca: 'city-ecdsa', targetSerial: serial });
    expect(rekeyed.awaitingDownload).toBe(true);
    const p12 = await api(operatorA, 'POST', `/api/ra/requests/${rekeyed.id}/pkcs12`, { password: 'new-key-password' });
    expect(p12.status).toBe(200);
  });
});

describe('bad input: a clear error and nothing half-done', () => {
  it.each([
    ['a wrong ID check digit', () => person(WRONG_CHECK, 'Li Si'), 400, /person.idNumber: resident ID number 110105\*+0021 is not valid: its check digit/],
    ['an IP address in the host name field', () => ({ kind: 'issue', ca: 'city-ecdsa', profile: 'device', subjectType: 'device', applicant: { hostname: '10.0.0.1', ipAddresses: [], zone: 'internal', site: 'City' } }), 400, /device.hostname: "10.0.0.1" is an IP address/],
    ['a profile for another kind of subject', () => ({ ...person(), profile: 'device' }), 400, /profile device is for a device, not a person/],
  ])('%s', async (_label, body, status, message) => {
    const before = await requestCount();
    const reply = await api(operatorA, 'POST', '/api/ra/requests', body());
    expect(reply.status).toBe(status);
    expect(reply.json().message).toMatch(message);
    expect(await requestCount()).toBe(before);
  });

  it('a CSR whose public key does not fit the profile', async () => {
    const key = path.join(tmp, 'rsa2048.key');
    opensslOk('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key);
    const csr = opensslOk('req', '-new', '-key', key, '-subj', '/CN=x');
    const before = await requestCount();
    const reply = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'issue', ca: 'city-ecdsa', profile: 'software', subjectType: 'software', applicant: { name: 'Tax Client', vendor: 'City Software Co', version: '3.1' }, csr });
    expect(reply.status).toBe(422);
    expect(reply.json().message).toMatch(/profile software: RSA key of 2048 bits is not allowed/);
    expect(await requestCount()).toBe(before);
  });

  it('a duplicate submission', async () => {
    const first = await api(operatorA, 'POST', '/api/ra/requests', person('110101199003078515', 'Wang Wu'));
    expect(first.status).toBe(201);
    const before = await requestCount();
    const second = await api(operatorB, 'POST', '/api/ra/requests', person('110101199003078515', 'Wang Wu'));
    expect(second.status).toBe(409);
    expect(second.json().message).toMatch(new RegExp(`already open: #${first.json().id} \\(submitted\\)`));
    expect(await requestCount()).toBe(before);
    // Once rejected, the same person may apply again.
    expect((await api(operatorA, 'POST', `/api/ra/requests/${first.json().id}/reject`, { reason: 'photo does not match' })).json().state).toBe('rejected');
    expect((await api(operatorB, 'POST', '/api/ra/requests', person('110101199003078515', 'Wang Wu'))).status).toBe(201);
  });

  it('a step out of order and a revoke of an unknown serial', async () => {
    const created = (await api(operatorA, 'POST', '/api/ra/requests', person('110101198001010010', 'Zhao Liu'))).json();
    const early = await api(operatorB, 'POST', `/api/ra/requests/${created.id}/issue`);
    expect(early.status).toBe(409);
    expect(early.json().message).toMatch(/is submitted; issue needs it to be approved/);
    const certificates = await certificateCount();
    const before = await requestCount();
    const unknown = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'revoke', ca: 'city-ecdsa', targetSerial: '0102030405060708ab', reason: 'keyCompromise' });
    expect(unknown.status).toBe(404);
    expect(unknown.json().message).toMatch(/no certificate with serial 0102030405060708ab/);
    expect(await requestCount()).toBe(before);
    expect(await certificateCount()).toBe(certificates);
  });

  it('a form posted without the session\'s CSRF token', async () => {
    const before = await requestCount();
    const form = { subjectType: 'person', name: 'Qian Qi', idType: 'employee-number', idNumber: 'E1001', department: 'IT', ca: 'city-ecdsa', profile: 'person' };
    const reply = await call(desk.secureBase, desk.caPem, operatorA, 'POST', '/desk/requests', { form });
    expect(reply.status).toBe(403);
    expect(reply.text).toMatch(/without this session&#39;s CSRF token/);
    expect(await requestCount()).toBe(before);
    const withToken = await call(desk.secureBase, desk.caPem, operatorA, 'POST', '/desk/requests', { form: { ...form, _csrf: operatorA.csrf! } });
    expect(withToken.status).toBe(303);
    expect(await requestCount()).toBe(before + 1);
  });

  it('garbage request ids and bodies', async () => {
    expect((await api(operatorA, 'GET', '/api/ra/requests/abc')).status).toBe(400);
    expect((await api(operatorA, 'GET', '/api/ra/requests/0')).json().message).toMatch(/not a request number/);
    const bad = await api(operatorA, 'POST', '/api/ra/requests', { kind: 'issue', ca: 'city-ecdsa' });
    expect(bad.status).toBe(400);
    expect(openssl('version').status).toBe(0);
  });
});
