// Suite collectors read live: SNMP devices probed for real (snmpd with the
// default community `public` fails, SNMPv3 authPriv passes), the audit log's
// chain (and a tampered one), the access and monitor settings, the CA.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SUITE_COLLECTORS, liveSources, type SuiteSources } from '../audit/index.js';
import { Authority, fixedPassphrase } from '../ca/index.js';
import { defaultConfig, loadConfig, openDatabase, recordAudit, secretBoxFromKey, type Database } from '../core/index.js';
import { Inventory } from '../monitor/index.js';
import { tempDir, removeTempDirs } from './support/restic.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';

let withPublic: Snmpd;
let v3Only: Snmpd;
let database: Database;
let inventory: Inventory;
const admin = { actor: 'test', source: 'test' };
const collector = (name: string) => SUITE_COLLECTORS.find((c) => c.name === name)!;

beforeAll(async () => {
  withPublic = await startSnmpd({ extraConfig: ['rocommunity public 127.0.0.1'] });
  v3Only = await startSnmpd();
  database = await openDatabase({ dataDir: tempDir('egov-audit-suite-') });
  inventory = new Inventory({ database, secrets: secretBoxFromKey(randomBytes(32)) });
  await inventory.addNode({ name: 'sw-public', kind: 'switch', zone: 'internal', site: 'County A', level: 'county', address: '127.0.0.1', snmpPort: withPublic.port, snmp: { version: 'v2c', community: 'public' }, parents: [] }, admin);
  const u = v3Only.authPriv;
  await inventory.addNode({ name: 'rt-v3', kind: 'router', zone: 'internal', site: 'City', level: 'city', address: '127.0.0.1', snmpPort: v3Only.port, snmp: { version: 'v3', user: u.user, authProtocol: u.authProtocol, authPassword: u.authPassword, privProtocol: u.privProtocol, privPassword: u.privPassword }, parents: [] }, admin);
});
afterAll(async () => {
  await withPublic?.dispose();
  await v3Only?.dispose();
  await database?.close();
  removeTempDirs();
});

const sources = (over: Partial<SuiteSources> = {}): SuiteSources => ({ config: defaultConfig(), database, snmpTimeoutMs: 1000, ...over });

describe('suite collectors', () => {
  it('SNMP: a device answering community public fails, SNMPv3 authPriv passes', async () => {
    const only = (name: string) => async () => (await inventory.listNodes()).filter((n) => n.name === name);
    const v3 = await collector('snmp.credentials').collect(sources({ nodes: only('rt-v3') }));
    expect(v3.status).toBe('pass');
    expect(v3.evidence[0]!.text).toContain('default communities answered: none');
    const pub = await collector('snmp.credentials').collect(sources({ nodes: only('sw-public') }));
    expect(pub.status).toBe('fail');
    expect(pub.evidence[0]!.text).toContain('default communities answered: public');
    expect(pub.highRisks).toContain('clear-text-management');
    const both = await collector('snmp.credentials').collect(sources({ nodes: () => inventory.listNodes() }));
    expect(both.summary).toMatch(/1 of 2 devices/);
  });

  it('the audit log: an intact chain passes, a changed record fails', async () => {
    await recordAudit(database, { actor: 'test', action: 'test.one', object: 'x', source: 'test', outcome: 'success' });
    expect((await collector('auditlog.chain').collect(sources())).status).toBe('pass');
    expect((await collector('auditlog.retention').collect(sources())).status).toBe('pass');
    await sql`update audit_log set actor = 'mallory' where id = 1`.execute(database.db);
    const broken = await collector('auditlog.chain').collect(sources());
    expect(broken.status).toBe('fail');
    expect(broken.summary).toMatch(/breaks at record 1/);
  });

  it('access and monitor settings, and a missing source is an error naming it', async () => {
    expect((await collector('access.lockout').collect(sources())).status).toBe('pass');
    const lax = loadConfig({ env: {}, flags: { dataDir: tempDir('egov-audit-cfg-') } });
    lax.access.sessionIdleMinutes = 120;
    lax.monitor.logRetentionDays = 30;
    expect((await collector('access.session-timeout').collect(sources({ config: lax }))).status).toBe('fail');
    const logs = await collector('monitor.log-retention').collect(sources({ config: lax }));
    expect(logs).toMatchObject({ status: 'fail', highRisks: ['short-log-retention'] });
    const missing = await collector('backup.repositories').collect(sources());
    expect(missing).toMatchObject({ status: 'error', summary: 'the backup module is not available to this audit' });
  });

  it('the CA through its front door: algorithms, SM2 hierarchy, expiry', async () => {
    const authority = new Authority({ database, publicUrl: 'https://ca.example.gov.cn', passphrase: fixedPassphrase('correct horse battery staple 42') });
    await authority.initHierarchy({ name: 'city-ec', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City/CN=City EC Root' }, admin);
    const live = { ...liveSources({ config: defaultConfig(), authority }), database };
    expect((await collector('ca.algorithms').collect(live)).status).toBe('pass');
    expect((await collector('ca.sm2-hierarchy').collect(live)).status).toBe('fail');
    await authority.initHierarchy({ name: 'city-sm2', algorithm: 'sm2', subject: '/C=CN/O=City/CN=City SM2 Root' }, admin);
    const sm2 = await collector('ca.sm2-hierarchy').collect(live);
    expect(sm2).toMatchObject({ status: 'pass', summary: 'SM2 hierarchies: city-sm2' });
    expect((await collector('ca.expiry').collect(live)).status).toBe('pass');
  });
});
