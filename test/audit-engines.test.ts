// Audit runs, attestations with attachments, waivers, stored runs and
// reports on both real engines (SQLite and the throwaway PostgreSQL
// cluster): the same AuditService on each, with a real CA hierarchy and its
// OCSP responder as suite sources and a local host read from a prepared root.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService, liveSources, reportCsv, reportHtml, reportJson } from '../audit/index.js';
import { trendOf } from '../audit/routes.js';
import { Authority, CrlService, OcspResponder, fixedPassphrase } from '../ca/index.js';
import { randomBytes } from 'node:crypto';
import { SUITE_COLLECTORS } from '../audit/index.js';
import { defaultConfig, openDatabase, secretBoxFromKey, verifyAuditLog } from '../core/index.js';
import { openMonitor } from '../monitor/index.js';
import { prepareRoots, type PreparedRoots } from './support/audit-roots.js';
import { useEngines } from './support/engines.js';
import { removeTempDirs, tempDir } from './support/restic.js';

const { engines, keep } = useEngines('audit');
const officer = { actor: 'Officer Wang', source: 'test' };
let roots: PreparedRoots;

beforeAll(() => {
  roots = prepareRoots();
});
afterAll(() => {
  if (roots) rmSync(roots.base, { recursive: true, force: true });
  removeTempDirs();
});

describe.each(engines)('audits on $name', (engine) => {
  it('run, attest (with an attachment), waive, show a past run as it was, report; bad input writes nothing', async () => {
    const database = keep(await openDatabase(await engine.location()));
    const authority = new Authority({ database, publicUrl: 'https://ca.example.gov.cn', passphrase: fixedPassphrase('correct horse battery staple 42') });
    await authority.initHierarchy({ name: 'city-ec', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City/CN=City EC Root' }, officer);
    const ocsp = new OcspResponder(authority, { validitySeconds: 3600 });
    const service = new AuditService({ database, sources: liveSources({ config: defaultConfig(), authority, ocsp }) });
    await service.addHost({ name: 'web-1', kind: 'local', root: roots.compliant }, officer);
    await service.addHost({ name: 'old-1', kind: 'local', root: roots.nonCompliant }, officer);
    await service.addSystem({ name: 'city-portal', level: 3, hosts: ['web-1'], notApplicable: { 'L3-PES1-02': 'leased data centre, ground floor' } }, officer);
    await service.addSystem({ name: 'legacy', level: 2, hosts: ['old-1'] }, officer);

    const first = await service.run({ system: 'city-portal' }, officer);
    const by = (run: typeof first, code: string) => run.results.find((r) => r.code === code)!;
    expect(first.results).toHaveLength(211);
    expect(by(first, 'L3-CES1-01').status).toBe('pass');
    expect(by(first, 'L3-CES1-01').checks[0]!.evidence[0]!.source).toMatch(/login\.defs/);
    expect(by(first, 'L3-PES1-02')).toMatchObject({ status: 'na', basis: 'not applicable: leased data centre, ground floor' });
    expect(by(first, 'L3-PES1-01').status).toBe('manual-pending');
    expect(by(first, 'L3-MMS1-30').status).toBe('fail'); // no SM2 hierarchy
    expect(by(first, 'L3-CNS1-06').checks.find((c) => c.collector === 'ca.ocsp')!.status).toBe('pass');
    // No CRL built: the item is partial and names what fixes it; a passing item names nothing.
    expect(by(first, 'L3-CNS1-06')).toMatchObject({ status: 'partial', remedies: [{ kind: 'runbook', id: 'publish-crl', collector: 'ca.crl-fresh' }, { kind: 'kb', id: 'crl-next-update', collector: 'ca.crl-fresh' }] });
    expect(by(first, 'L3-CES1-01').remedies).toBeUndefined();
    expect(first.summary.scoring.template).toBe('2021');

    // Bad input: an unknown code, an expiry in the past, an attachment of a type not allowed: nothing written.
    const scratch = tempDir('egov-audit-engines-');
    const pdf = path.join(scratch, 'room-inspection.pdf');
    const pdfBytes = Buffer.from('%PDF-1.4\n% inspection sheet, signed\n');
    writeFileSync(pdf, pdfBytes);
    const exe = path.join(scratch, 'tool.exe');
    writeFileSync(exe, Buffer.from([0x4d, 0x5a, 0x00, 0x01]));
    await expect(service.attest({ code: 'L3-CES1-16', result: 'pass', note: 'n', until: '2099-01-01' }, officer)).rejects.toThrow('no checklist item');
    await expect(service.attest({ code: 'L3-PES1-01', result: 'pass', note: 'n', until: '2001-01-01' }, officer)).rejects.toThrow('is in the past');
    await expect(service.attest({ code: 'L3-PES1-01', result: 'pass', note: 'n', files: [pdf, exe], until: '2099-01-01' }, officer)).rejects.toThrow('not of an allowed type');
    await expect(service.waive({ code: 'L3-MMS1-30', reason: ' ', until: '2099-01-01' }, officer)).rejects.toThrow('needs a reason');
    expect(await database.db.selectFrom('mlps_finding').select('id').execute()).toHaveLength(0);
    expect(await database.db.selectFrom('mlps_attachment').select('sha256').execute()).toHaveLength(0);

    const attested = await service.attest({ code: 'L3-PES1-01', system: 'city-portal', result: 'pass', note: 'building certificate seen', files: [pdf], until: '2099-01-01' }, officer);
    const sha = createHash('sha256').update(pdfBytes).digest('hex');
    expect(attested).toMatchObject({ kind: 'attestation', code: 'L3-PES1-01', system: 'city-portal', attachments: [sha] });
    // One piece of evidence serves a second item: stored once.
    await service.attest({ code: 'L3-PES1-03', system: 'city-portal', result: 'pass', note: 'badge readers log every entry', files: [pdf], until: '2099-01-01' }, officer);
    expect(await database.db.selectFrom('mlps_attachment').select('sha256').execute()).toHaveLength(1);
    const stored = await service.attachment(sha);
    expect(stored).toMatchObject({ name: 'room-inspection.pdf', mediaType: 'application/pdf', size: pdfBytes.length });
    expect(stored.content.equals(pdfBytes)).toBe(true);
    await service.waive({ code: 'L3-MMS1-30', system: 'city-portal', reason: 'SM2 hierarchy planned for Q2', until: '2099-01-01' }, officer);

    const second = await service.run({ system: 'city-portal' }, officer);
    expect(by(second, 'L3-PES1-01')).toMatchObject({ status: 'pass', attestation: { note: 'building certificate seen', attachments: [sha] } });
    expect(by(second, 'L3-PES1-03').status).toBe('pass');
    expect(by(second, 'L3-MMS1-30')).toMatchObject({ status: 'fail', waiver: { note: 'SM2 hierarchy planned for Q2' } });
    expect(second.score!).toBeGreaterThan(first.score!);

    // A past run is shown exactly as it was.
    const shown = await service.getRun(first.id);
    expect(by(shown, 'L3-PES1-01').status).toBe('manual-pending');
    expect(shown.score).toBe(first.score);
    expect(shown.results.map((r) => r.code)).toEqual(first.results.map((r) => r.code));
    await expect(service.getRun(999)).rejects.toThrow('no audit run 999');

    const trend = await trendOf(service, 'city-portal', second.id);
    expect(trend.map((t) => t.id)).toEqual([first.id, second.id]);
    const json = JSON.parse(reportJson(second, trend));
    expect(json.trend.map((t: { score: number }) => t.score)).toEqual([first.score, second.score]);
    const csv = reportCsv(second).split('\r\n');
    expect(csv).toHaveLength(213);
    expect(csv.find((l) => l.includes(',L3-PES1-01,'))).toContain('attested by Officer Wang');
    expect(csv[0]!.endsWith(',hints,remedies')).toBe(true);
    expect(csv.find((l) => l.includes(',L3-CNS1-06,'))!.endsWith('runbook:publish-crl kb:crl-next-update')).toBe(true);
    const html = reportHtml(second, trend, 'en');
    expect(html).toContain('fixed by: runbook publish-crl (egov-ops playbook run publish-crl); knowledge-base article crl-next-update (/kb/articles/crl-next-update)');
    expect(html).toContain('city-portal');
    expect(html).toContain('L3-MMS1-30');

    // Level 2 on the non-compliant host: its high risks named.
    const legacy = await service.run({ system: 'legacy' }, officer);
    expect(legacy.results).toHaveLength(135);
    expect(legacy.summary.highRisks.map((h) => h.id)).toEqual(expect.arrayContaining(['weak-password', 'high-risk-port']));

    const log = await database.db.selectFrom('audit_log').select('action').where('action', 'like', 'audit.%').execute();
    expect(log.map((l) => l.action)).toEqual(expect.arrayContaining(['audit.host-add', 'audit.system-add', 'audit.run', 'audit.attest', 'audit.waive']));
    expect((await verifyAuditLog(database)).ok).toBe(true);
  }, 180_000);

  it('the collectors that read the CA\'s and the monitor\'s tables: CRL freshness, agents per zone, clock offsets', async () => {
    const database = keep(await openDatabase(await engine.location()));
    const config = defaultConfig();
    const authority = new Authority({ database, publicUrl: 'https://ca.example.gov.cn', passphrase: fixedPassphrase('correct horse battery staple 42') });
    await authority.initHierarchy({ name: 'city-ec', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City/CN=City EC Root' }, officer);
    const monitor = await openMonitor({ database, secrets: secretBoxFromKey(randomBytes(32)) });
    try {
      const sources = { ...liveSources({ config, authority, monitor }), database };
      const collect = (name: string) => SUITE_COLLECTORS.find((c) => c.name === name)!.collect(sources);
      expect((await collect('ca.crl-fresh')).status).toBe('fail');
      await new CrlService(authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 3600 }).build('city-ec', 'full');
      expect((await collect('ca.crl-fresh')).status).toBe('pass');
      await monitor.inventory.addNode({ name: 'sw-core', kind: 'switch', zone: 'internal', site: 'City', level: 'city', address: '10.1.0.1', parents: [] }, officer);
      await monitor.inventory.addNode({ name: 'fw-dmz', kind: 'firewall', zone: 'dmz', site: 'City', level: 'city', address: '10.2.0.1', parents: [] }, officer);
      const t = Date.now();
      const log = (seq: number, node: string, address: string, offsetMs: number) => ({ seq, kind: 'log', record: { time: t + offsetMs, receivedAt: t, node, sourceAddress: address, facility: 23, severity: 'notice', host: node, app: null, procId: null, msgId: null, message: `m${seq}`, structuredData: {}, format: 'rfc5424', transport: 'tcp' } });
      await monitor.ingestor.accept('agent-internal', [log(1, 'sw-core', '10.1.0.1', 120), log(2, 'sw-core', '10.1.0.1', 80)]);
      expect(await collect('monitor.agents-per-zone')).toMatchObject({ status: 'partial', summary: 'zones without a live agent: dmz' });
      await monitor.ingestor.accept('agent-dmz', [log(1, 'fw-dmz', '10.2.0.1', 90_000)]);
      expect((await collect('monitor.agents-per-zone')).status).toBe('pass');
      const clock = await collect('monitor.clock-offset');
      expect(clock).toMatchObject({ status: 'fail', summary: expect.stringContaining('fw-dmz 90 s') });
      expect(clock.evidence.map((e) => e.text)).toEqual([expect.stringMatching(/^median offset 90\.000 s/), expect.stringMatching(/^median offset 0\.120 s over 2 messages/)]);
    } finally {
      await monitor.close();
    }
  }, 120_000);
});
