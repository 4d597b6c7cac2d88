// serve's wiring of audit events into the alerts (cli/serve.ts): audit runs
// made through /api/audit whose score drops and that find a new high risk
// raise audit-score-dropped and audit-high-risk at once (onAuditChange), seen
// through /api/alerts; a later run that recovers is not announced by the
// audit room, and the alerts.evaluate job of serve's runner clears them.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PASSWORD, call, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

let desk: DeskSuite;
let officer: Person;
let admin: Person;

beforeAll(async () => {
  desk = await startDeskSuite();
  officer = await desk.person('Officer Wang', ['security-officer'], { password: ADMIN_PASSWORD });
  admin = await desk.person('Netadmin Chen', ['network-admin'], { password: ADMIN_PASSWORD });
  for (const who of [officer, admin]) expect((await signIn(desk, who, ADMIN_PASSWORD)).status).toBe(200);
}, 120_000);
afterAll(async () => desk?.close());

const api = (who: Person, method: string, url: string, json?: unknown) => call(desk.secureBase, desk.caPem, who, method, url, { ...(json !== undefined ? { json } : {}), headers: who.csrf ? { 'x-csrf-token': who.csrf } : {} });

describe('serve: audit runs as alerts', () => {
  it('a lower score and a new high risk raise alerts at once; the run that recovers clears them on the next evaluation', async () => {
    const alertsOf = async () => ((await api(admin, 'GET', '/api/alerts')).json().alerts as Array<{ rule: string; state: string; labels: Record<string, string> }>).filter((a) => a.rule.startsWith('audit-'));
    const first = (await api(officer, 'POST', '/api/audit/runs', { level: 2 })).json();
    expect(first.score).not.toBeNull();
    expect(await alertsOf()).toEqual([]);

    const items = (await api(officer, 'GET', '/api/audit/items?level=2')).json();
    const vuln = items.find((i: { manual: boolean; highRisks: string[] }) => i.manual && i.highRisks.includes('unpatched-vulnerability'));
    expect((await api(officer, 'POST', '/api/audit/attestations', { code: vuln.code, result: 'fail', note: 'unpatched OpenSSL on web-2', until: '2099-12-31' })).status).toBe(201);
    const second = (await api(officer, 'POST', '/api/audit/runs', { level: 2 })).json();
    expect(second.score).toBeLessThan(first.score);
    const raised = await alertsOf();
    expect(raised.find((a) => a.rule === 'audit-score-dropped')).toMatchObject({ state: 'firing', labels: { system: second.system, run: String(second.id), previousScore: String(first.score) } });
    expect(raised.find((a) => a.rule === 'audit-high-risk' && a.labels.risk === 'unpatched-vulnerability')).toMatchObject({ state: 'firing' });

    expect((await api(officer, 'POST', '/api/audit/attestations', { code: vuln.code, result: 'pass', note: 'patched and rescanned', until: '2099-12-31' })).status).toBe(201);
    const third = (await api(officer, 'POST', '/api/audit/runs', { level: 2 })).json();
    expect(third.score).toBeGreaterThanOrEqual(first.score);
    // Still live until the timer looks (recoveries are not announced).
    expect((await alertsOf()).filter((a) => a.state !== 'resolved').length).toBeGreaterThan(0);
    await desk.started.jobs.runNow('alerts.evaluate');
    const after = await alertsOf();
    expect(after.filter((a) => a.state !== 'resolved')).toEqual([]);
    expect(after.map((a) => a.rule).sort()).toEqual(expect.arrayContaining(['audit-high-risk', 'audit-score-dropped']));
  }, 120_000);
});
