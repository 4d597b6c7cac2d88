// The suite collectors of issue 12 §2 added after the first set, on real
// parts: CRLs built by the CA's CrlService (fresh, stale, expired); the CA's
// OcspResponder asked by `openssl ocsp` for a good, a revoked and an unissued
// serial (ECDSA verified by openssl, SM2 under the GM/T 0009 ID); agents per
// zone from the monitor's real ingest and credential reads; clock offsets
// from RFC 5424 syslog stored by the ingest; the audit log inside a real
// restic snapshot of a plan that saves the stores.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITE_COLLECTORS, liveSources, loadChecklist, COLLECTOR_NAMES, type SuiteSources } from '../audit/index.js';
import { Authority, CrlService, OcspResponder, fixedPassphrase } from '../ca/index.js';
import { BackupService } from '../backup/index.js';
import { defaultConfig, loadConfig, openDatabase, secretBoxFromKey, type Database } from '../core/index.js';
import { openMonitor, type Monitor, type OutboxItem } from '../monitor/index.js';
import { tempDir, removeTempDirs } from './support/restic.js';

const BY = { actor: 'test', source: 'test' };
const collector = (name: string) => SUITE_COLLECTORS.find((c) => c.name === name)!;
let database: Database;
let dataDir: string;
let authority: Authority;
let monitor: Monitor;
const config = defaultConfig();

beforeAll(async () => {
  dataDir = tempDir('egov-audit-more-');
  database = await openDatabase({ dataDir });
  authority = new Authority({ database, publicUrl: 'https://ca.example.gov.cn', passphrase: fixedPassphrase('correct horse battery staple 42') });
  monitor = await openMonitor({ database, secrets: secretBoxFromKey(randomBytes(32)) });
}, 120_000);
afterAll(async () => {
  await monitor?.close();
  await database?.close();
  removeTempDirs();
});

describe('CA: CRL freshness and OCSP', () => {
  it('CRLs: none is a fail, a fresh one passes, an old but valid one is partial, an expired one fails', async () => {
    await authority.initHierarchy({ name: 'city-ec', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City/CN=City EC Root' }, BY);
    const live = (): SuiteSources => ({ ...liveSources({ config, authority }), database });
    const none = await collector('ca.crl-fresh').collect(live());
    expect(none).toMatchObject({ status: 'fail', summary: expect.stringContaining('city-ec (none)') });
    const at = (iso: string) => () => new Date(iso);
    const now = Date.now();
    // Built two hours ago with a 24 h validity: still valid, but the 1 h schedule has not rebuilt it.
    await new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600, now: at(new Date(now - 2 * 3600_000).toISOString()) }).build('city-ec', 'full');
    const stale = await collector('ca.crl-fresh').collect(live());
    expect(stale.status).toBe('partial');
    expect(stale.evidence[0]!.text).toMatch(/\(120 min ago\)/);
    // Built 30 hours ago with 24 h validity: past its nextUpdate.
    await new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600, now: at(new Date(now + 10_000 - 30 * 3600_000).toISOString()) }).build('city-ec', 'full');
    // The newest by number is the one judged: build the expired one last.
    const expired = await collector('ca.crl-fresh').collect(live());
    expect(expired).toMatchObject({ status: 'fail', summary: expect.stringContaining('expired') });
    await new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600 }).build('city-ec', 'full');
    const fresh = await collector('ca.crl-fresh').collect(live());
    expect(fresh).toMatchObject({ status: 'pass', summary: '1 CA(s) publish a fresh CRL' });
  });

  it('OCSP: a real request answered good / revoked / unknown and verified; a responder lying about status fails', async () => {
    await authority.initHierarchy({ name: 'city-sm2', algorithm: 'sm2', subject: '/C=CN/O=City/CN=City SM2 Root' }, BY);
    const ocsp = new OcspResponder(authority, { validitySeconds: 3600 });
    const live = (): SuiteSources => ({ ...liveSources({ config, authority, ocsp }), database });
    expect((await collector('ca.ocsp').collect({ ...liveSources({ config, authority }), database })).status).toBe('error');
    // Nothing issued yet: an unissued serial, which must be "unknown".
    const first = await collector('ca.ocsp').collect(live());
    expect(first.status, JSON.stringify(first.evidence)).toBe('pass');
    expect(first.evidence.find((e) => e.source.startsWith('ocsp city-ec'))!.text).toMatch(/: unknown \(store says unknown\); openssl: Response verify OK/);
    expect(first.evidence.find((e) => e.source.startsWith('ocsp city-sm2'))!.text).toMatch(/: unknown .*SM3withSM2 .*answer signature valid, responder certificate signed by the issuing CA/);
    const issue = (ca: string) => authority.issueWithKeygen({ ca, profile: 'server', subject: `CN=${ca}-web.city.example`, sans: [`DNS:${ca}-web.city.example`], p12Password: 'p12 password here' }, BY);
    const ec = (await issue('city-ec')).certificate;
    await issue('city-sm2');
    const good = await collector('ca.ocsp').collect(live());
    expect(good.status).toBe('pass');
    expect(good.evidence.find((e) => e.source === 'ocsp city-ec')!.text).toContain(`serial ${ec.serial}: good (store says good)`);
    // Revoke the only EC certificate: it is still the known one, and the answer must say revoked.
    await authority.revoke({ ca: 'city-ec', serial: ec.serial, reason: 'keyCompromise' }, BY);
    const revoked = await collector('ca.ocsp').collect(live());
    expect(revoked.status).toBe('pass');
    expect(revoked.evidence.find((e) => e.source === 'ocsp city-ec')!.text).toContain('revoked (store says revoked)');
    // A responder that answers another CA's status (wrong issuer): unauthorized, no status, fail.
    const lying = { ...liveSources({ config, authority, ocsp }), database };
    lying.ocsp = { ...lying.ocsp!, respond: (_ca: string, request: Buffer) => ocsp.respond('city-sm2', request) };
    const wrong = await collector('ca.ocsp').collect(lying);
    expect(wrong.status).toBe('fail');
    expect(wrong.summary).toMatch(/city-ec: no status/);
    // A changed byte at the end of the answer (the responder certificate's signature): neither check accepts it.
    const tampered = { ...liveSources({ config, authority, ocsp }), database };
    tampered.ocsp = { ...tampered.ocsp!, respond: async (ca: string, request: Buffer) => {
      const answer = Buffer.from(await ocsp.respond(ca, request));
      answer[answer.length - 1]! ^= 0x01;
      return answer;
    } };
    const forged = await collector('ca.ocsp').collect(tampered);
    expect(forged.status).toBe('fail');
    expect(forged.summary).toMatch(/city-ec: .*not verified/);
    expect(forged.summary).toMatch(/city-sm2: .*not verified/);
  });
});

describe('monitor: agents per zone and clock offsets', () => {
  it('a zone whose agent is silent fails it, both zones served passes', async () => {
    const add = (name: string, zone: 'internal' | 'dmz', address: string) => monitor.inventory.addNode({ name, kind: 'switch', zone, site: 'City', level: 'city', address, snmp: { version: 'v2c', community: 'c0mmunity-x' }, parents: [] }, BY);
    await add('sw-core', 'internal', '10.1.0.1');
    await add('sw-dmz', 'dmz', '10.2.0.1');
    const live = (): SuiteSources => ({ ...liveSources({ config, monitor }), database });
    const t = Date.now();
    const log = (seq: number, node: string, offsetMs: number, format: 'rfc5424' | 'rfc3164' = 'rfc5424'): OutboxItem => ({
      seq,
      kind: 'log',
      record: { time: t - 1000 + offsetMs, receivedAt: t - 1000, node, sourceAddress: node === 'sw-core' ? '10.1.0.1' : '10.2.0.1', facility: 23, severity: 'notice', host: node, app: 'IFNET', procId: null, msgId: null, message: `m${seq}`, structuredData: {}, format, transport: 'udp' },
    });
    // The internal agent ships syslog of sw-core; nothing is known of the dmz.
    await monitor.ingestor.accept('agent-internal', [log(1, 'sw-core', 300), log(2, 'sw-core', 200), log(3, 'sw-core', 250)]);
    const half = await collector('monitor.agents-per-zone').collect(live());
    expect(half).toMatchObject({ status: 'partial', summary: 'zones without a live agent: dmz' });
    expect(half.evidence.find((e) => e.source.startsWith('zone internal'))!.text).toContain('agent-internal (last delivery');
    // The dmz agent reads its zone's device credentials (as GET /api/monitor/agent/targets does), but has never delivered.
    await monitor.inventory.snmpCredentials('sw-dmz', { actor: 'agent-dmz (0a1b2c)', source: '10.2.0.9' });
    const silent = await collector('monitor.agents-per-zone').collect(live());
    expect(silent.status).toBe('partial');
    expect(silent.evidence.find((e) => e.source.startsWith('zone dmz'))!.text).toBe('agents: agent-dmz (last delivery never)');
    await monitor.ingestor.accept('agent-dmz', [{ seq: 1, kind: 'metric', record: { measurement: 'system', tags: { node: 'sw-dmz' }, fields: { reachable: 1 }, time: t } }]);
    expect((await collector('monitor.agents-per-zone').collect(live())).status).toBe('pass');
    // Judged later than staleAfterSeconds: both agents are silent.
    const later = await collector('monitor.agents-per-zone').collect({ ...live(), now: () => new Date(t + (config.monitor.staleAfterSeconds + 60) * 1000) });
    expect(later).toMatchObject({ status: 'fail', summary: 'zones without a live agent: dmz, internal' });
  });

  it('clock offsets: median of RFC 5424 time minus receipt; 3164 ignored; > 1 s partial, > 60 s fails', async () => {
    const live = (): SuiteSources => ({ ...liveSources({ config, monitor }), database });
    const ok = await collector('monitor.clock-offset').collect(live());
    expect(ok.status).toBe('pass');
    expect(ok.evidence[0]!.text).toMatch(/^median offset 0\.250 s over 3 messages/);
    const t = Date.now();
    const log = (seq: number, offsetMs: number, format: 'rfc5424' | 'rfc3164'): OutboxItem => ({
      seq,
      kind: 'log',
      record: { time: t + offsetMs, receivedAt: t, node: 'sw-dmz', sourceAddress: '10.2.0.1', facility: 23, severity: 'notice', host: 'sw-dmz', app: null, procId: null, msgId: null, message: `c${seq}`, structuredData: {}, format, transport: 'udp' },
    });
    // A 3164 message 2 hours off (its timestamp has no zone) is not a measurement.
    await monitor.ingestor.accept('agent-dmz', [log(2, 7_200_000, 'rfc3164')]);
    expect((await collector('monitor.clock-offset').collect(live())).status).toBe('pass');
    await monitor.ingestor.accept('agent-dmz', [log(3, -5_000, 'rfc5424'), log(4, -5_100, 'rfc5424')]);
    const drift = await collector('monitor.clock-offset').collect(live());
    expect(drift).toMatchObject({ status: 'partial', summary: "1 of 2 devices' clocks are more than 1 s off" });
    expect(drift.evidence[0]).toMatchObject({ source: 'node sw-dmz syslog (24 h)', text: expect.stringMatching(/^median offset -5\.000 s over 2 messages/) });
    await monitor.ingestor.accept('agent-dmz', [log(5, -600_000, 'rfc5424'), log(6, -610_000, 'rfc5424'), log(7, -620_000, 'rfc5424')]);
    expect(await collector('monitor.clock-offset').collect(live())).toMatchObject({ status: 'fail', summary: expect.stringContaining('sw-dmz -600 s') });
  });
});

describe('the audit log backed up', () => {
  it('no plan saving the stores fails, a plan without a snapshot fails, a real restic snapshot within the RPO passes', async () => {
    const dir = tempDir('egov-audit-backup-');
    const passwordFile = path.join(dir, 'pw');
    writeFileSync(passwordFile, 'restic-password-for-audit\n', { mode: 0o600 });
    const base = loadConfig({ env: {}, flags: { dataDir } });
    const targets = { nas: { kind: 'same-city' as const, repository: path.join(dir, 'repo'), passwordFile } };
    const filesOnly = new BackupService({ config: { ...base, backup: { targets, plans: { files: { stores: false, paths: [dir] } } } }, database });
    const noStores = await collector('auditlog.backup').collect({ ...liveSources({ config, backup: filesOnly }), database });
    expect(noStores).toMatchObject({ status: 'fail', summary: "no backup plan saves the suite's stores: the audit log is not backed up" });
    const service = new BackupService({ config: { ...base, backup: { targets } }, database });
    const live = (): SuiteSources => ({ ...liveSources({ config, backup: service }), database });
    const before = await collector('auditlog.backup').collect(live());
    expect(before.status).toBe('fail');
    expect(before.evidence[0]!.source).toBe('backup plan default -> nas (same-city)');
    const [run] = await service.run();
    expect(run!.ok, run!.message).toBe(true);
    const after = await collector('auditlog.backup').collect(live());
    expect(after.status).toBe('pass');
    expect(after.evidence[0]!.text).toMatch(new RegExp(`^1 snapshots; newest ${run!.snapshotId!.slice(0, 8)}`));
    const late = await collector('auditlog.backup').collect({ ...live(), now: () => new Date(Date.now() + 48 * 3600_000) });
    expect(late.status).toBe('partial');
  }, 180_000);
});

describe('the checklists name the new collectors', () => {
  it('each new collector evidences at least one item at level 3 and level 2', () => {
    const names = ['ca.crl-fresh', 'ca.ocsp', 'monitor.agents-per-zone', 'monitor.clock-offset', 'auditlog.backup'];
    for (const level of [2, 3] as const) {
      const used = new Set(loadChecklist(level, COLLECTOR_NAMES).items.flatMap((i) => i.collectors));
      for (const name of names) expect(used.has(name), `${name} at level ${level}`).toBe(true);
    }
  });
});
