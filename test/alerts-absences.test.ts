// The absence timer's checks, each made true for real and then cleared, on
// both engines: an issued certificate expiring within the rule's days (a
// short-lived one issued by our CA; revoked when superseded); the CA's own
// certificates (a one-year hierarchy, looked at near its end); the suite's
// TLS certificate (a short-lived one in dataDir/tls/server.crt, one alert
// though it is also an issued certificate; renewed the way serve renews it at
// start, which revokes the one it replaces); a CRL whose nextUpdate is near (its schedule
// stalled; the next CRL clears it), read back by openssl; the audit log's
// hash chain (a row changed in the database, then put back).
// (Backups and the RPO: test/alerts-backups.test.ts.)

import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Authority, CrlService, fixedPassphrase, serverTlsMaterial } from '../ca/index.js';
import { type Database } from '../core/index.js';
import { AlertService, parseRuleSet } from '../monitor/alerts/index.js';
import type { Monitor } from '../monitor/index.js';
import { useEngines } from './support/engines.js';
import { captureServer, monitorWithNodes, secrets, type CaptureServer } from './support/alerts.js';

const { engines, keep } = useEngines('absences');
const by = { actor: 'CN=Operator One', source: '127.0.0.1' };
const PASSPHRASE = 'absences-test-passphrase-0123';
const DAY = 86_400_000;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.each(engines)('absence checks on $name', (engine) => {
  let hook: CaptureServer;
  let database: Database;
  let monitor: Monitor;
  let authority: Authority;
  let dataDir: string;
  /** The alerts' clock (and the CRL service's): moved forward to let time pass. */
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  const services: AlertService[] = [];

  beforeEach(async () => {
    offsetMs = 0;
    hook = await captureServer();
    ({ database, monitor } = await monitorWithNodes(await engine.location(), keep));
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-absences-'));
    dirs.push(dataDir);
    authority = new Authority({ database, publicUrl: 'http://127.0.0.1:8080', passphrase: fixedPassphrase(PASSPHRASE) });
    // A one-year hierarchy: its own certificates come near their end within the test's clock.
    await authority.initHierarchy({ name: 'city-short', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=City Short Root CA', rootValidityYears: 1, issuingValidityYears: 1 }, by);
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await hook.close();
  });

  const service = async (options: Partial<ConstructorParameters<typeof AlertService>[0]> = {}) => {
    const s = new AlertService({ database, monitor, secrets, now, rules: parseRuleSet({ routes: [{ receivers: ['noc'], groupWait: 0 }] }), ...options });
    services.push(s);
    await s.putReceiver({ name: 'noc', type: 'webhook', url: `${hook.url}/hook` }, by);
    return s;
  };
  const evaluate = async (s: AlertService) => {
    await s.evaluate();
    await s.notifier.drain();
  };
  const live = async (s: AlertService, rule: string) => (await s.liveOf(rule)).map((a) => a.fingerprint.slice(rule.length + 1)).sort();
  const serverCert = (days: number, name: string) => authority.issueForPublicKey({ ca: 'city-short', profile: 'server', subject: `CN=${name},O=egov-ops`, sans: [`DNS:${name}`], publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey, validityDays: days }, by);

  it('an issued certificate expiring within 30 days fires; revoked (superseded), it clears', async () => {
    const s = await service();
    const long = await serverCert(365, 'portal.city.gov.cn');
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
    const short = await serverCert(5, 'gw-county-b.city.gov.cn');
    // openssl reads the date the alert will speak of.
    const endDate = execFileSync('openssl', ['x509', '-noout', '-enddate'], { input: short.certificatePem }).toString().trim();
    expect(Date.parse(endDate.replace('notAfter=', ''))).toBeLessThan(Date.now() + 6 * DAY);
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([`cert:city-short/${short.serial}`]);
    const [alert] = await s.liveOf('cert-expiring');
    expect(alert).toMatchObject({ state: 'firing', severity: 'warning', labels: { ca: 'city-short' } });
    expect(alert!.summary).toContain('gw-county-b.city.gov.cn');
    expect(alert!.summary).not.toContain(String(long.serial));

    await authority.revoke({ ca: 'city-short', serial: String(short.serial), reason: 'superseded' }, by);
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
    expect(hook.requests.map((r) => r.body.status)).toEqual(['firing', 'resolved']);
  });

  it("the CA's own certificates near their end fire (root and issuing); a CA far from its end does not", async () => {
    await authority.initHierarchy({ name: 'city-long', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=City Long Root CA' }, by);
    const s = await service();
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
    // 350 days on: city-short's root and issuing certificates (one year) end within 30 days; city-long's (20 and 10 years) do not.
    offsetMs = 350 * DAY;
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual(['ca:city-short/issuing', 'ca:city-short/root']);
    expect((await s.liveOf('cert-expiring'))[0]!.summary).toMatch(/certificate of CA city-short expires 20\d\d-/);
    // Looked at again today (the alert state is the database's: a restarted timer at the real date): cleared.
    offsetMs = 0;
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
  });

  it("the suite's TLS certificate expiring fires; renewed as serve renews it at start, it clears", async () => {
    const tlsDir = path.join(dataDir, 'tls');
    const certFile = path.join(tlsDir, 'server.crt');
    const s = await service({ tlsCertificateFile: certFile });
    // Not made yet (serve without an RSA/ECDSA hierarchy): nothing to judge.
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
    // A short-lived server certificate in place (10 days).
    const short = await serverCert(10, 'localhost');
    mkdirSync(tlsDir, { recursive: true });
    writeFileSync(certFile, short.certificatePem);
    await evaluate(s);
    // One alert for the one certificate: its issued-certificate row is the TLS certificate's own.
    expect(await live(s, 'cert-expiring')).toEqual(['tls:serve']);
    const tls = (await s.liveOf('cert-expiring')).find((a) => a.fingerprint.endsWith('|tls:serve'))!;
    expect(tls.summary).toContain(certFile);
    expect(tls.labels).toMatchObject({ certificate: 'tls' });

    // serve's start: within 30 days of its end, the certificate is issued again (365 days); the old one revoked as superseded.
    await serverTlsMaterial(authority, { dataDir, ca: 'city-short', names: [], passphrase: async () => PASSPHRASE, by });
    const renewed = new X509Certificate(execFileSync('openssl', ['x509', '-in', certFile]));
    expect(Date.parse(renewed.validTo)).toBeGreaterThan(Date.now() + 300 * DAY);
    const old = await database.db.selectFrom('certificate').select(['status', 'revocation_reason']).where('ca_name', '=', 'city-short').where('serial', '=', String(short.serial)).executeTakeFirstOrThrow();
    expect(old).toEqual({ status: 'revoked', revocation_reason: 4 }); // superseded (RFC 5280 code 4)
    await evaluate(s);
    expect(await live(s, 'cert-expiring')).toEqual([]);
  });

  it('a CRL whose nextUpdate is within 2 hours fires (its schedule stalled); the next CRL clears it', async () => {
    const crls = new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 5, now: () => new Date(now()) });
    const first = await crls.build('city-short', 'full');
    const s = await service();
    await evaluate(s);
    expect(await live(s, 'crl-next-update')).toEqual([]);
    // openssl reads the CRL's nextUpdate.
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-nextupdate'], { input: first.der }).toString().trim();
    expect(Date.parse(text.replace('nextUpdate=', ''))).toBe(Math.floor(first.nextUpdate.getTime() / 1000) * 1000);
    // 23 hours on and no new CRL: nextUpdate is an hour away.
    offsetMs = 23 * 3600_000;
    await evaluate(s);
    expect(await live(s, 'crl-next-update')).toEqual(['crl:city-short']);
    const [alert] = await s.liveOf('crl-next-update');
    expect(alert).toMatchObject({ severity: 'major', labels: { ca: 'city-short' } });
    expect(alert!.summary).toContain(`CRL ${first.number} of city-short: nextUpdate ${first.nextUpdate.toISOString()}`);
    // The schedule runs again: a new CRL, valid 24 hours from now.
    const next = await crls.build('city-short', 'full');
    expect(next.number).toBeGreaterThan(first.number);
    await evaluate(s);
    expect(await live(s, 'crl-next-update')).toEqual([]);
    expect(hook.requests.map((r) => r.body.status)).toEqual(['firing', 'resolved']);
  });

  it('the audit chain broken (a row changed in the database) fires; put back, it clears', async () => {
    const s = await service({ auditChainEveryMs: 0 });
    await evaluate(s);
    expect(await live(s, 'audit-chain-broken')).toEqual([]);
    const row = await database.db.selectFrom('audit_log').select(['id', 'actor']).orderBy('id').offset(1).limit(1).executeTakeFirstOrThrow();
    await sql`update audit_log set actor = ${'CN=Mallory'} where id = ${row.id}`.execute(database.db);
    await evaluate(s);
    expect(await live(s, 'audit-chain-broken')).toEqual(['audit-log']);
    const [alert] = await s.liveOf('audit-chain-broken');
    expect(alert).toMatchObject({ severity: 'critical', state: 'firing' });
    expect(alert!.summary).toContain(`audit chain broken at record ${row.id}`);
    await sql`update audit_log set actor = ${row.actor} where id = ${row.id}`.execute(database.db);
    await evaluate(s);
    expect(await live(s, 'audit-chain-broken')).toEqual([]);
    expect(hook.requests.map((r) => `${r.body.status}:${r.body.alerts[0].labels.alertname}`)).toEqual(['firing:audit-chain-broken', 'resolved:audit-chain-broken']);
  });

  it('the audit chain is verified at most every auditChainEveryMs (default 10 minutes)', async () => {
    const s = await service();
    await evaluate(s);
    const row = await database.db.selectFrom('audit_log').select(['id', 'actor']).orderBy('id').limit(1).executeTakeFirstOrThrow();
    await sql`update audit_log set actor = ${'CN=Mallory'} where id = ${row.id}`.execute(database.db);
    offsetMs = 5 * 60_000;
    await evaluate(s);
    expect(await live(s, 'audit-chain-broken')).toEqual([]);
    offsetMs = 11 * 60_000;
    await evaluate(s);
    expect(await live(s, 'audit-chain-broken')).toEqual(['audit-log']);
  });
});
