// link-down-triage against a served suite and a real snmpd, through the built
// bin: two nodes in the inventory with a link between them, logs of both, the
// starter knowledge base imported. The interface by name and by ifIndex, its
// state and counters as snmpd reports them, both ends' logs, the articles for
// interface-down on a switch, one summary (text and JSON); an alert id on a
// suite without the alerts room says so and goes on; nothing is changed.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../core/index.js';
import { findRunbook } from '../playbooks/index.js';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';
import { runTool, startSnmpd, toolEnvironment, type Snmpd } from './support/snmpd.js';

let s: PlaybookSuite;
let snmpd: Snmpd;
const auditCount = async () => (await listAudit(s.desk.suite.database, { limit: 100_000 })).length;

beforeAll(async () => {
  [s, snmpd] = await Promise.all([startPlaybookSuite(), startSnmpd()]);
  const communityFile = path.join(s.desk.dir, 'community');
  writeFileSync(communityFile, snmpd.community + '\n', { mode: 0o600 });
  for (const [name, kind] of [['town-sw1', 'switch'], ['county-gw', 'router']] as const) {
    const add = await s.cli(['node', 'add', name, '--kind', kind, '--zone', 'internal', '--site', '城关镇', '--level', 'township', '--address', '127.0.0.1', '--snmp-port', String(snmpd.port), '--snmp-version', 'v2c', '--community-file', communityFile]);
    expect(add.code, add.stderr).toBe(0);
  }
  const link = await s.cli(['link', 'add', '--a', 'town-sw1:lo', '--b', 'county-gw:lo', '--capacity', '1G']);
  expect(link.code, link.stderr).toBe(0);
  const kb = await s.cli(['kb', 'import', '--starter']);
  expect(kb.code, kb.stderr).toBe(0);
  const now = Date.now();
  const log = (node: string, at: number, message: string) => ({ time: at, received_at: at, node, source_address: '127.0.0.1', facility: 23, severity: 3, host: node, app: 'IFNET', proc_id: null, msg_id: null, message, structured_data: '[]', format: 'rfc3164' as const, transport: 'udp' as const, agent: 'test' });
  await s.desk.suite.database.db.insertInto('monitor_log').values([
    log('town-sw1', now - 60_000, 'Interface lo changed state to down'),
    log('county-gw', now - 55_000, 'Neighbor town-sw1 lost on lo'),
    log('county-gw', now - 5 * 3600_000, 'an old line, outside the window'),
  ]).execute();
}, 180_000);
afterAll(async () => {
  await s?.close();
  await snmpd?.dispose();
});

const triage = (...params: string[]) =>
  s.cli(['--json', 'playbook', 'run', 'link-down-triage', ...params.flatMap((p) => (p.startsWith('--') ? [p] : ['--param', p])), ...s.alice.apiArgs], { env: { EGOV_OPS_PARAM_COMMUNITY: snmpd.community } });

describe('link-down-triage', () => {
  it('in a dry run shows each step', async () => {
    const run = await triage('node=town-sw1', 'interface=lo', '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().status).toBe('dry-run');
    const steps = run.json().steps as Array<{ name: string; status: string; dryRun: string }>;
    expect(steps.map((st) => st.name)).toEqual(['source', 'inventory', 'snmp', 'link', 'logs', 'kb', 'summary']);
    // Every step only reads.
    for (const st of steps) expect(st.dryRun).toMatch(/^\(reads only\) /);
  }, 120_000);

  it('by interface name: the SNMP state and counters, both ends\' logs, the articles, one summary; changes nothing', async () => {
    const audits = await auditCount();
    const run = await triage('node=town-sw1', 'interface=lo');
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('succeeded');
    // What net-snmp's own snmpget says about the same interface.
    const ifIndex = result.results.snmp.ifIndex as number;
    const env = toolEnvironment(s.desk.dir);
    const own = await runTool('snmpget', ['-v2c', '-c', snmpd.community, '-On', '-Oqv', `127.0.0.1:${snmpd.port}`, `.1.3.6.1.2.1.2.2.1.2.${ifIndex}`, `.1.3.6.1.2.1.2.2.1.8.${ifIndex}`, `.1.3.6.1.2.1.2.2.1.7.${ifIndex}`], env);
    const STATUS = ['', 'up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown'];
    const [descr, oper, admin] = own.stdout.trim().split('\n').map((l) => l.replace(/^"|"$/g, '')).map((v, i) => (i === 0 ? v : STATUS[Number(v)] ?? v));
    expect(result.results.snmp).toMatchObject({ ifDescr: descr, operStatus: oper, adminStatus: admin });
    for (const c of ['inErrors', 'outErrors', 'inDiscards']) expect(typeof result.results.snmp[c]).toBe('number');
    expect(result.results.inventory).toMatchObject({ node: 'town-sw1', kind: 'switch' });
    expect(result.results.link).toMatchObject({ link: { capacityBps: 1e9 }, farEnd: { node: 'county-gw', interface: 'lo' } });
    expect(result.results.logs['town-sw1'].map((l: { message: string }) => l.message)).toEqual(['Interface lo changed state to down']);
    expect(result.results.logs['county-gw'].map((l: { message: string }) => l.message)).toEqual(['Neighbor town-sw1 lost on lo']);
    const ids = result.results.kb.articles.map((a: { id: string }) => a.id);
    expect(ids).toEqual(expect.arrayContaining(['low-optical-power', 'h3c-irf-split']));
    const summary = JSON.parse(readFileSync(result.results.summary.json, 'utf8'));
    expect(summary).toMatchObject({ node: 'town-sw1', interface: { asked: 'lo', ifIndex }, link: { farEnd: { node: 'county-gw' } }, alert: null });
    expect(summary.kb.map((a: { id: string }) => a.id)).toEqual(ids);
    const text = readFileSync(result.results.summary.text, 'utf8');
    expect(text).toContain(`link-down triage: town-sw1:lo (switch, 城关镇, 127.0.0.1)`);
    expect(text).toContain(`interface ifIndex ${ifIndex} ${descr}: admin ${admin}, oper ${oper}`);
    expect(text).toContain('logs of county-gw: 1, latest:');
    expect(text).toContain('low-optical-power');
    expect(run.stderr).toContain('verdict: ');
    // The community is masked in the log; nothing changed, so no playbook.step audit record.
    expect(readFileSync(result.logFile, 'utf8')).not.toContain(snmpd.community);
    const records = (await listAudit(s.desk.suite.database, { limit: 1000 })).slice(0, (await auditCount()) - audits);
    expect(records.filter((r) => r.action === 'playbook.step')).toEqual([]);
  }, 300_000);

  it('by ifIndex on the far end: the link is found through the interface\'s ifName; an unknown interface name is not found', async () => {
    const byIndex = await triage('node=county-gw', 'interface=1');
    expect(byIndex.code, byIndex.stderr).toBe(0);
    expect(byIndex.json().results.snmp.ifIndex).toBe(1);
    expect(byIndex.json().results.snmp.ifName).toBe('lo');
    expect(byIndex.json().results.link.farEnd).toEqual({ node: 'town-sw1', interface: 'lo' });
    expect(Object.keys(byIndex.json().results.logs)).toEqual(['county-gw', 'town-sw1']);
    const noCommunity = await s.cli(['--json', 'playbook', 'run', 'link-down-triage', '--param', 'node=town-sw1', '--param', 'interface=lo', ...s.alice.apiArgs]);
    expect(noCommunity.code).toBe(2);
    expect(noCommunity.json().error).toMatchObject({ step: 'snmp', message: 'SNMP v2c needs the community: --param community=@FILE or EGOV_OPS_PARAM_COMMUNITY' });
    const unknown = await triage('node=town-sw1', 'interface=GigabitEthernet9/9/9');
    expect(unknown.code).toBe(3);
    expect(unknown.json().error.message).toContain('town-sw1 has no interface named GigabitEthernet9/9/9');
  }, 300_000);

  // The alerts room is installed: the source step finds its route and says the alert is missing (its no-route path is tested on the step's own answers).
  it('with the alerts room installed, an alert it does not know is not found', async () => {
    const run = await triage('alert=123456', 'node=town-sw1', 'interface=lo');
    expect(run.code).toBe(3);
    expect(run.json().error).toMatchObject({ step: 'source', message: expect.stringContaining('no alert 123456') });
  }, 300_000);

  // The alerts room is not on this branch: its answers are played by a stand-in for the operator's API.
  describe('the source step, on the alerts API answers', () => {
    const source = findRunbook('link-down-triage').steps[0]!;
    const answering = (status: number, body: unknown) => {
      const calls: string[] = [];
      const operator = { api: async (method: string, url: string) => (calls.push(`${method} ${url}`), { status, text: JSON.stringify(body), body: Buffer.from(JSON.stringify(body)), json: () => body }) };
      const notes: string[] = [];
      return { calls, notes, ctx: (params: Record<string, unknown>) => ({ params, operator, note: (l: string) => notes.push(l), results: {}, runId: 'r', signal: new AbortController().signal, workDir: '/nonexistent', secret: () => undefined }) as never };
    };
    it('takes node and interface from the alert, over the parameters', async () => {
      // The shape of main's alerts room: GET /api/alerts/ID answers { alert, timeline, … }, the interface in labels.interface.
      const a = answering(200, { alert: { id: 7, rule: 'interface-down', state: 'firing', node: 'county-gw', labels: { interface: 'GigabitEthernet0/0/1' } }, timeline: [], folded: 0, articles: [], seenBefore: null });
      expect(await source.run(a.ctx({ alert: '7', node: 'town-sw1' }))).toEqual({ node: 'county-gw', interface: 'GigabitEthernet0/0/1', alert: { id: '7', installed: true, found: true, rule: 'interface-down', state: 'firing' } });
      expect(a.calls).toEqual(['GET /api/alerts/7']);
    });
    it('no route: alerts are not installed, the parameters are used', async () => {
      const a = answering(404, { code: 'not-found', message: 'no route GET /api/alerts/A7' });
      expect(await source.run(a.ctx({ alert: 'A7', node: 'town-sw1', interface: 'lo' }))).toEqual({ node: 'town-sw1', interface: 'lo', alert: { id: 'A7', installed: false, found: false } });
      expect(a.notes[0]).toContain('alerts are not installed');
    });
    it('an alert the alerts room does not know is not found; without node or interface it asks for them', async () => {
      await expect(source.run(answering(404, { code: 'not-found', message: 'no alert A7' }).ctx({ alert: 'A7', node: 'n', interface: 'i' }))).rejects.toThrow('no alert A7: no alert A7');
      await expect(source.run(answering(200, { id: 'A8', rule: 'device-down' }).ctx({ alert: 'A8' }))).rejects.toThrow('give --param node=NODE and --param interface=IFINDEX|NAME (alert A8 did not name them)');
    });
  });
});
