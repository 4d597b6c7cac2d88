// /api/audit over the suite's mTLS server: the security officer runs and
// attests, the auditor reads, a ca-admin cannot attest; the run's
// "new high risk / score dropped" reaches onAuditChange listeners; the
// scheduled job is in serve's runner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AuditService, onAuditChange, type AuditChange } from '../audit/index.js';
import { ADMIN_PASSWORD, call, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

let desk: DeskSuite;
let officer: Person;
let auditor: Person;
let caAdmin: Person;

beforeAll(async () => {
  desk = await startDeskSuite();
  officer = await desk.person('Officer Wang', ['security-officer'], { password: ADMIN_PASSWORD });
  auditor = await desk.person('Auditor Li', ['auditor']);
  caAdmin = await desk.person('CA Admin Zhao', ['ca-admin'], { password: ADMIN_PASSWORD });
  for (const [who, pw] of [[officer, ADMIN_PASSWORD], [auditor, undefined], [caAdmin, ADMIN_PASSWORD]] as const) expect((await signIn(desk, who, pw)).status).toBe(200);
});
afterAll(async () => desk?.close());

const api = (who: Person, method: string, url: string, json?: unknown) => call(desk.secureBase, desk.caPem, who, method, url, { ...(json !== undefined ? { json } : {}), headers: who.csrf ? { 'x-csrf-token': who.csrf } : {} });

describe('/api/audit', () => {
  it('roles: officer runs and attests, auditor reads, ca-admin cannot attest; changes announced', async () => {
    const changes: AuditChange[] = [];
    const stop = onAuditChange((c) => void changes.push(c));
    try {
      expect((await api(auditor, 'POST', '/api/audit/runs', { level: 2 })).status).toBe(403);
      expect((await api(officer, 'POST', '/api/audit/runs', { level: 4 })).status).toBe(400);
      const first = await api(officer, 'POST', '/api/audit/runs', { level: 2 });
      expect(first.status, first.text).toBe(201);
      const run = first.json();
      expect(run.results).toHaveLength(135);
      // The suite's own evidence: two factors and separated duties are live from access control.
      expect(run.results.find((r: { code: string }) => r.code === 'L2-SMC1-01').checks[0]).toMatchObject({ collector: 'access.two-factor', status: 'pass' });
      // The OCSP responder serve runs is the one the audit asks (no error for want of it).
      const ocspChecks = run.results.flatMap((r: { checks: Array<{ collector: string; status: string; summary: string }> }) => r.checks).filter((c: { collector: string }) => c.collector === 'ca.ocsp');
      expect(ocspChecks.length).toBeGreaterThan(0);
      for (const c of ocspChecks) expect(c.status, c.summary).not.toBe('error');
      const read = await api(auditor, 'GET', `/api/audit/runs/${run.id}`);
      expect(read.status).toBe(200);
      expect(read.json().score).toBe(run.score);
      expect((await api(caAdmin, 'GET', `/api/audit/runs/${run.id}`)).status).toBe(403);

      const items = (await api(auditor, 'GET', '/api/audit/items?level=2')).json();
      const vuln = items.find((i: { manual: boolean; highRisks: string[] }) => i.manual && i.highRisks.includes('unpatched-vulnerability'));
      const attestation = { code: vuln.code, result: 'fail', note: 'scanner found an unpatched OpenSSL on web-2', until: '2099-12-31' };
      expect((await api(caAdmin, 'POST', '/api/audit/attestations', attestation)).status).toBe(403);
      expect((await api(auditor, 'POST', '/api/audit/attestations', attestation)).status).toBe(403);
      const past = await api(officer, 'POST', '/api/audit/attestations', { ...attestation, until: '2001-01-01' });
      expect(past.status).toBe(400);
      expect(past.text).toContain('in the past');
      expect((await api(officer, 'POST', '/api/audit/attestations', { ...attestation, code: 'L2-CES1-99' })).status).toBe(404);
      expect((await api(officer, 'POST', '/api/audit/attestations', attestation)).status).toBe(201);

      const second = (await api(officer, 'POST', '/api/audit/runs', { level: 2 })).json();
      expect(second.summary.highRisks.map((h: { id: string }) => h.id)).toContain('unpatched-vulnerability');
      const mine = changes.filter((c) => c.run === second.id);
      expect(mine.map((c) => c.kind).sort()).toEqual(['new-high-risk', 'score-dropped']);
      expect(mine.find((c) => c.kind === 'new-high-risk')!.newHighRisks).toContain('unpatched-vulnerability');

      const html = await api(auditor, 'GET', `/api/audit/runs/${second.id}/report?format=html&lang=en`);
      expect(html.status).toBe(200);
      expect(html.text).toContain('Grade-protection (MLPS 2.0) self-assessment report');
      const csv = await api(auditor, 'GET', `/api/audit/runs/${second.id}/report?format=csv`);
      expect(csv.headers['content-disposition']).toContain(`run${second.id}.csv`);
      const log = await desk.suite.database.db.selectFrom('audit_log').select(['action', 'actor']).where('action', 'like', 'audit.%').execute();
      expect(log.map((l) => l.action)).toEqual(expect.arrayContaining(['audit.run', 'audit.attest', 'audit.report']));
      expect(desk.started.jobs).toBeDefined();
    } finally {
      stop();
    }
  });

  it('attachments: the auditor and the officer download one as stored (audited), a ca-admin cannot; bad and unknown SHA-256s', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-audit-api-'));
    try {
      const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('a photo of the machine room door')]);
      writeFileSync(path.join(dir, 'door.png'), png);
      const f = await new AuditService({ database: desk.suite.database }).attest({ code: 'L3-PES1-03', result: 'pass', note: 'door reader photographed', files: [path.join(dir, 'door.png')], until: '2099-12-31' }, { actor: 'Officer Wang', source: 'test' });
      const sha = f.attachments[0]!;
      const got = await api(auditor, 'GET', `/api/audit/attachments/${sha}`);
      expect(got.status, got.text).toBe(200);
      expect(got.headers['content-type']).toBe('image/png');
      expect(got.headers['content-disposition']).toContain('filename="door.png"');
      expect(got.headers['x-content-type-options']).toBe('nosniff');
      expect(got.body.equals(png)).toBe(true);
      expect((await api(officer, 'GET', `/api/audit/attachments/${sha}`)).status).toBe(200);
      expect((await api(caAdmin, 'GET', `/api/audit/attachments/${sha}`)).status).toBe(403);
      const unknown = await api(auditor, 'GET', `/api/audit/attachments/${'0'.repeat(64)}`);
      expect(unknown.status).toBe(404);
      const bad = await api(auditor, 'GET', '/api/audit/attachments/not-a-hash');
      expect(bad.status).toBe(400);
      expect(bad.text).toContain('is not a SHA-256');
      const log = await desk.suite.database.db.selectFrom('audit_log').select(['actor', 'outcome', 'object']).where('action', '=', 'audit.attachment-download').orderBy('id').execute();
      expect(log.map((l) => `${l.outcome}:${l.object}`)).toEqual([`success:audit-attachment:${sha}`, `success:audit-attachment:${sha}`, `failure:audit-attachment:${'0'.repeat(64)}`]);
      expect(log[0]!.actor).toContain('Auditor Li');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
