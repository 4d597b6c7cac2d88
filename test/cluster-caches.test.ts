// Two instances on one PostgreSQL: a revoke on one drops the other's cached
// OCSP answer at once (LISTEN/NOTIFY from the 0016 trigger, not the 1-s
// poll: the poll is set to a minute here), and the other's CRL endpoint
// serves the CRL the first built.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { Authority, certificateDirectory, CrlService, fixedPassphrase, OcspResponder, toPem } from '../ca/index.js';
import { AccessControl, openDatabase, type Database } from '../core/index.js';
import { usePostgres } from './support/postgres.js';

const postgres = usePostgres();
const BY = { actor: 'test:cluster', source: '127.0.0.1' };
const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-cluster-caches-'));
const closing: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of closing.reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
});

function ocspStatus(responseDer: Buffer): string {
  const file = path.join(dir, `r-${Math.random()}.der`);
  writeFileSync(file, responseDer);
  const text = execFileSync('openssl', ['ocsp', '-respin', file, '-resp_text', '-noverify'], { encoding: 'utf8' });
  return /Cert Status: (\w+)/.exec(text)?.[1] ?? text;
}

describe('caches across instances on one PostgreSQL', () => {
  it('drops the other instance\'s OCSP answer when a status changes, by notification', async () => {
    const url = await postgres.createDatabase('cluster_caches');
    const instances: Array<{ database: Database; authority: Authority; ocsp: OcspResponder; crls: CrlService }> = [];
    for (let i = 0; i < 2; i++) {
      const database = await openDatabase({ dataDir: '/nonexistent', url });
      const authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase('cluster caches passphrase') });
      const ocsp = new OcspResponder(authority, { validitySeconds: 3600 });
      const crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 1 });
      instances.push({ database, authority, ocsp, crls });
      closing.push(() => database.close());
    }
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    await a.authority.initHierarchy({ name: 'city', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=city Root CA' }, BY);
    const { certificate } = await a.authority.issueWithKeygen({ ca: 'city', profile: 'server', subject: 'CN=www.city.example', sans: ['DNS:www.city.example'], p12Password: 'p12 password here' }, BY);
    const [issuing] = await a.authority.chain('city');
    const issuerPem = path.join(dir, 'issuer.pem');
    const certPem = path.join(dir, 'leaf.pem');
    const requestFile = path.join(dir, 'req.der');
    writeFileSync(issuerPem, toPem('CERTIFICATE', issuing!));
    writeFileSync(certPem, certificate.certificatePem);
    execFileSync('openssl', ['ocsp', '-issuer', issuerPem, '-cert', certPem, '-no_nonce', '-reqout', requestFile]);
    const request = (await import('node:fs')).readFileSync(requestFile);

    // b watches with a one-minute poll: only the notification can be quick.
    const changes: string[] = [];
    b.authority.events.on('status', (change: { serial: string }) => changes.push(change.serial));
    const stop = b.authority.watchStatusChanges(60_000);
    closing.push(stop);
    expect(ocspStatus(await b.ocsp.respond('city', request))).toBe('good'); // cached on b now
    expect(ocspStatus(await b.ocsp.respond('city', request))).toBe('good');
    await new Promise((r) => setTimeout(r, 500)); // the LISTEN connection is up

    await a.crls.build('city', 'full');
    await a.authority.revoke({ ca: 'city', serial: certificate.serial, reason: 'keyCompromise' }, BY);
    const startedAt = Date.now();
    while (!changes.includes(certificate.serial) && Date.now() - startedAt < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(changes).toContain(certificate.serial);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
    expect(ocspStatus(await b.ocsp.respond('city', request))).toBe('revoked');

    // The delta a builds is what b publishes (b built none itself).
    const built = await a.crls.buildDueDeltas();
    expect(built).toHaveLength(1);
    expect((await b.crls.current('city', 'delta')).number).toBe(built[0]!.number);
    expect(await a.crls.buildDueDeltas()).toHaveLength(0); // covered now
  }, 60_000);

  it('keeps sessions and lockouts in the database: a sign-in on one instance works on the other, a sign-out or lockout on one holds on both', async () => {
    const url = await postgres.createDatabase('cluster_sessions');
    const settings = { maxFailedSignIns: 2, lockoutMinutes: 15, sessionIdleMinutes: 15, sessionMaxHours: 8 };
    const instances: Array<{ authority: Authority; access: AccessControl }> = [];
    for (let i = 0; i < 2; i++) {
      const database = await openDatabase({ dataDir: '/nonexistent', url });
      closing.push(() => database.close());
      const authority = new Authority({ database, publicUrl: 'http://pki.city.example', passphrase: fixedPassphrase('cluster sessions passphrase') });
      instances.push({ authority, access: new AccessControl({ database, directory: certificateDirectory(authority), settings }) });
    }
    const [a, b] = instances as [(typeof instances)[0], (typeof instances)[0]];
    await a.authority.initHierarchy({ name: 'city', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=city Root CA' }, BY);
    const [issuing] = await a.authority.chain('city');
    const person = async (name: string) => {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = await a.authority.issueForPublicKey({ ca: 'city', profile: 'person', subject: `CN=${name},serialNumber=EMP-${name},OU=Test`, publicKey }, BY);
      await a.access.bind({ ca: 'city', serial: issued.serial, holder: name, roles: ['ca-admin'], password: 'Cluster-Passw0rd!' }, BY);
      return { der: issued.der, issuerDer: issuing, authorized: true, authorizationError: undefined };
    };
    const alice = await person('alice');
    const grant = await a.access.signIn(await a.access.authenticate(alice, undefined, 'test'), 'Cluster-Passw0rd!', 'test');
    expect(grant.activeRoles).toContain('ca-admin');
    // b never saw the sign-in: it finds the session in the database.
    const onB = await b.access.authenticate(alice, grant.cookie, 'test');
    expect(onB.session).toBeTruthy();
    expect(onB.activeRoles).toContain('ca-admin');
    // Signed out on a: within the 2-s recheck b no longer honours the cookie it has cached.
    await a.access.signOut(await a.access.authenticate(alice, grant.cookie, 'test'));
    await new Promise((r) => setTimeout(r, 2500));
    const afterSignOut = await b.access.authenticate(alice, grant.cookie, 'test');
    expect(afterSignOut.session ?? null).toBeNull();
    expect(afterSignOut.activeRoles).not.toContain('ca-admin');

    // Two wrong passwords on a lock the certificate out on b too.
    const bob = await person('bob');
    await expect(a.access.signIn(await a.access.authenticate(bob, undefined, 'test'), 'wrong password 1', 'test')).rejects.toThrow(/wrong password/);
    await expect(a.access.signIn(await a.access.authenticate(bob, undefined, 'test'), 'wrong password 2', 'test')).rejects.toThrow(/locked/);
    await expect(b.access.signIn(await b.access.authenticate(bob, undefined, 'test'), 'Cluster-Passw0rd!', 'test')).rejects.toThrow(/locked/);
  }, 60_000);
});
