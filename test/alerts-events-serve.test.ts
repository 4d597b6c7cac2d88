// serve's wiring of audit events into the alerts (cli/serve.ts): audit runs
// made through /api/audit whose score drops and that find a new high risk
// raise audit-score-dropped and audit-high-risk at once (onAuditChange), seen
// through /api/alerts; a later run that recovers is not announced by the
// audit room, and the alerts.evaluate job of serve's runner clears them.
// Scripts raise and clear events of `kind: event` rules through
// /api/alerts/events (network-admin only, audited).

import { rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../core/index.js';
import { ADMIN_PASSWORD, call, signIn, startDeskSuite, type DeskSuite, type Person } from './support/desk.js';

let desk: DeskSuite;
let officer: Person;
let admin: Person;
let auditor: Person;
const rulesFile = path.join(os.tmpdir(), `egov-events-rules-${process.pid}.yaml`);

beforeAll(async () => {
  // A rules file with an event rule of the site's own (serve reads alerts.rulesFile).
  writeFileSync(rulesFile, 'rules:\n  - { name: ups-on-battery, kind: event, severity: critical, labels: { team: facilities } }\n');
  desk = await startDeskSuite(`alerts:\n  rulesFile: ${rulesFile}\n`);
  auditor = await desk.person('Auditor Li', ['auditor']);
  officer = await desk.person('Officer Wang', ['security-officer'], { password: ADMIN_PASSWORD });
  admin = await desk.person('Netadmin Chen', ['network-admin'], { password: ADMIN_PASSWORD });
  for (const who of [officer, admin]) expect((await signIn(desk, who, ADMIN_PASSWORD)).status).toBe(200);
  expect((await signIn(desk, auditor)).status).toBe(200);
}, 120_000);
afterAll(async () => {
  await desk?.close();
  rmSync(rulesFile, { force: true });
});

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

  it('a script raises and clears an event through /api/alerts/events (network-admin, audited); other rules and roles are refused', async () => {
    const event = { rule: 'ups-on-battery', object: 'ups:city-dc', summary: 'UPS of the city data centre on battery, 35 min left', labels: { object: 'ups-dc-1' }, value: 35 };
    expect((await api(auditor, 'POST', '/api/alerts/events', event)).status).toBe(403);
    const nodeDown = await api(admin, 'POST', '/api/alerts/events', { ...event, rule: 'node-down' });
    expect(nodeDown.status).toBe(400);
    expect(nodeDown.text).toContain('only rules of kind event');
    expect((await api(admin, 'POST', '/api/alerts/events', { ...event, rule: 'no-such-rule' })).status).toBe(404);
    expect((await api(admin, 'POST', '/api/alerts/events', { ...event, node: 'no-such-node' })).status).toBe(404);
    const raised = await api(admin, 'POST', '/api/alerts/events', event);
    expect(raised.status, raised.text).toBe(201);
    const alert = raised.json().alert;
    expect(alert).toMatchObject({ rule: 'ups-on-battery', state: 'firing', severity: 'critical', labels: { team: 'facilities', object: 'ups-dc-1' }, value: 35 });
    expect((await api(auditor, 'GET', `/api/alerts/${alert.id}`)).json().alert.state).toBe('firing');
    const cleared = await api(admin, 'POST', '/api/alerts/events/clear', { rule: 'ups-on-battery', object: 'ups:city-dc', summary: 'mains back' });
    expect(cleared.status, cleared.text).toBe(200);
    expect(cleared.json().alert).toMatchObject({ id: alert.id, state: 'resolved' });
    expect((await api(admin, 'POST', '/api/alerts/events/clear', { rule: 'ups-on-battery', object: 'ups:city-dc' })).json()).toEqual({ alert: null });
    const log = await listAudit(desk.suite.database, { action: 'alerts.event-raise' });
    expect(log[0]).toMatchObject({ actor: expect.stringContaining('Netadmin Chen'), object: `alert:${alert.id}`, outcome: 'success' });
    expect((await listAudit(desk.suite.database, { action: 'alerts.event-clear' })).length).toBe(2);
  }, 60_000);
});
