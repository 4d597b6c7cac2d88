// Proof that every dashboard query runs, without a Grafana (none can be
// installed here): the suite serves with InfluxDB as its metric store, a
// real agent enrols and polls a real snmpd over SNMPv3 and takes syslog
// from `logger`, the CA issues and revokes, a real restic backup and
// restore drill run, and the suite-metrics job writes its minute figures.
// Then every panel target and every variable query of every dashboard, in
// both languages, gets Grafana's substitutions (test/support/grafana-influx.ts:
// $timeFilter, $__interval, $interval, $__interval_ms, time(auto), template
// variables with one value and with several) and runs against that influxd;
// an error or an empty result fails. A lint checks every panel has a title,
// a unit, the templated data source and a target, and that ids are unique.
//
// The `alerts` measurement comes from serve's own alerts source: one point
// per severity each minute, zero while nothing fires.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { BackupService } from '../backup/index.js';
import { fixedPassphrase } from '../ca/index.js';
import { buildDashboards, DASHBOARD_LANGUAGES, DATASOURCE_VARIABLE, exportDashboards } from '../dashboards/index.js';
import { PASSPHRASE, startDeskSuite, type DeskSuite } from './support/desk.js';
import { grafanaQuery, intervalMs, replaceVariables, type VariableValue } from './support/grafana-influx.js';
import { startInfluxd, type InfluxServer } from './support/influxd.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';
import { until, writeInternalAgentConfig } from './support/agent.js';

const DATABASE = 'egov_dash';
let influxd: InfluxServer;
let desk: DeskSuite;
let snmpd: Snmpd;
let agent: Agent | undefined;
let tmp: string;
const actor = { actor: 'test', source: 'test' };


async function influxQuery(q: string): Promise<{ results: Array<{ error?: string; series?: Array<{ name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }> }> }> {
  const url = `${influxd.url}/query?${new URLSearchParams({ db: DATABASE, q, epoch: 'ms' }).toString()}`;
  const response = await fetch(url);
  const body = (await response.json()) as { error?: string; results: Array<{ error?: string; series?: Array<{ name: string; columns: string[]; values: unknown[][] }> }> };
  if (!response.ok || body.error) throw new Error(`InfluxDB refused ${q}: ${body.error ?? response.status}`);
  return body;
}

beforeAll(async () => {
  influxd = await startInfluxd();
  desk = await startDeskSuite(`metrics:\n  influx:\n    url: ${influxd.url}\n    database: ${DATABASE}\n`);
  snmpd = await startSnmpd();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-dash-'));
  const monitor = desk.started.monitor;
  const v3 = { version: 'v3' as const, user: snmpd.authPriv.user, authProtocol: 'SHA-256', authPassword: snmpd.authPriv.authPassword, privProtocol: 'AES-128', privPassword: snmpd.authPriv.privPassword };
  // snmpd runs on Linux: a server to the agent, so it polls HOST-RESOURCES (CPU, memory, storage) besides the system group and IF-MIB.
  await monitor.inventory.addNode({ name: 'city-server', kind: 'server', zone: 'internal', site: 'City DC', level: 'city', address: '127.0.0.1', snmpPort: snmpd.port, snmp: v3 }, actor);
  await monitor.inventory.addNode({ name: 'county-switch', kind: 'switch', zone: 'internal', site: 'County A', level: 'county', address: '127.0.0.2', parents: ['city-server'] }, actor);
  await writeInternalAgentConfig(desk, tmp, '{ udpPort: 0, host: 127.0.0.1 }');
  agent = await Agent.start(loadAgentConfig(path.join(tmp, 'agent.yaml')), { info: () => undefined, warn: () => undefined });
  // Polls with rates (two polls), the agent's outbox points, and syslog lines of two severities.
  await until('interface rates', async () => (await monitor.metrics.latest('interface', { node: 'city-server' })).some((p) => p.fields.inBitsPerSec !== undefined), 90_000);
  await until('host resources', async () => (await monitor.metrics.latest('host', { node: 'city-server' })).some((p) => p.fields.cpuLoadPct !== undefined && p.fields.memoryUsedPct !== undefined), 90_000);
  await until('outbox points', async () => (await monitor.metrics.latest('agent_outbox')).length > 0);
  const port = agent.status().syslogUdpPort!;
  for (const [priority, text] of [['local0.warning', 'dash warning'], ['local0.err', 'dash error'], ['local0.warning', 'dash warning 2']] as const) {
    const r = spawnSync('logger', ['-n', '127.0.0.1', '-P', String(port), '--udp', '--rfc5424', '-t', 'dash', '-p', priority, text], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`logger failed: ${r.stderr}`);
  }
  await until('the syslog lines', async () => (await monitor.logs.search({ text: 'dash ' })).length >= 3);
  // The CA issues (desk.person) and revokes.
  const revokeMe = await desk.person('Revoked Person', null);
  await desk.suite.authority.revoke({ ca: 'city-ecdsa', serial: revokeMe.serial, reason: 'keyCompromise' }, actor);
  // A real backup and restore drill of the suite's stores (the metrics stay in influxd: this run leaves them out).
  const { influx: _influx, ...metricsWithoutInflux } = desk.suite.config.metrics ?? {};
  const backups = new BackupService({ config: { ...desk.suite.config, metrics: metricsWithoutInflux }, database: desk.suite.database, caPassphrase: fixedPassphrase(PASSPHRASE), actor });
  const [run] = await backups.run();
  expect(run?.ok, run?.message).toBe(true);
  expect((await backups.drill()).ok).toBe(true);
  // Three minutes of suite metrics, as the job would write them (due times a minute apart, the last one now, so the syslog lines above fall in its minute).
  const now = Date.now();
  for (const due of [now - 120_000, now - 60_000, now]) {
    const result = await desk.started.suiteMetrics.run(new Date(due));
    expect(result.failed).toEqual([]);
  }
}, 240_000);

afterAll(async () => {
  await agent?.stop();
  await snmpd?.dispose();
  await desk?.close();
  await influxd?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Panel {
  id: number;
  type: string;
  title?: string;
  datasource?: { type: string; uid: string };
  targets?: Array<{ refId: string; query: string; rawQuery: boolean }>;
  fieldConfig?: { defaults?: { unit?: string } };
}
interface TemplateVariable {
  type: string;
  name: string;
  query: string | { query: string };
  multi?: boolean;
  includeAll?: boolean;
  datasource?: { uid: string };
}

/** The values a variable query returns (first column of each series; SHOW TAG VALUES gives key, value). */
async function variableValues(query: string): Promise<string[]> {
  const result = (await influxQuery(query)).results[0]!;
  if (result.error) throw new Error(result.error);
  return [...new Set((result.series ?? []).flatMap((s) => s.values.map((row) => String(row[s.columns.includes('value') ? s.columns.indexOf('value') : 0]))))];
}

/** For a query filtered on "highSpeedMbps" > 0: whether the interfaces it names report no speed at all in the range (so nothing to show is right). */
async function noSpeedExplains(query: string): Promise<boolean> {
  if (!query.includes('"highSpeedMbps" > 0')) return false;
  const check = query.replace(/^SELECT .*? FROM/, 'SELECT max("highSpeedMbps") FROM').replace(' AND "highSpeedMbps" > 0', '').replace(/GROUP BY .*$/, '');
  const [result] = (await influxQuery(check)).results;
  const max = result?.series?.[0]?.values[0]?.[1];
  return max === undefined || max === null || max === 0;
}

describe('the Grafana dashboards', () => {
  it('pass the lint: every panel has a title, a unit, the templated data source and a target; ids are unique; schemaVersion 42', () => {
    for (const lang of DASHBOARD_LANGUAGES) {
      const uids = new Set<string>();
      for (const { file, dashboard } of buildDashboards(lang)) {
        const d = dashboard as unknown as { uid: string; title: string; schemaVersion: number; panels: Panel[]; templating: { list: TemplateVariable[] } };
        expect(d.schemaVersion, file).toBe(42);
        expect(uids.has(d.uid), d.uid).toBe(false);
        uids.add(d.uid);
        expect(d.title.length, file).toBeGreaterThan(0);
        if (lang === 'zh') expect(d.title, file).toMatch(/[\u4e00-\u9fff]/);
        expect(d.templating.list.find((v) => v.type === 'datasource' && v.name === DATASOURCE_VARIABLE), file).toBeDefined();
        const ids = d.panels.map((p) => p.id);
        expect(new Set(ids).size, `${file}: panel ids`).toBe(ids.length);
        for (const p of d.panels) {
          const where = `${file} panel ${p.id}`;
          expect(p.title?.trim().length, where).toBeGreaterThan(0);
          expect(p.fieldConfig?.defaults?.unit, where).toBeTruthy();
          expect(p.datasource, where).toEqual({ type: 'influxdb', uid: `\${${DATASOURCE_VARIABLE}}` });
          expect(p.targets?.length, where).toBeGreaterThan(0);
          for (const t of p.targets!) expect(t.rawQuery && t.query.length > 0, where).toBe(true);
        }
      }
    }
  });

  it('every panel and variable query runs on a real influxd with Grafana\'s substitutions, with one value and with several, and returns data', async () => {
    const to = Date.now();
    const from = to - 3600_000;
    let ran = 0;
    const failures: string[] = [];
    for (const lang of DASHBOARD_LANGUAGES) {
      for (const { file, dashboard } of buildDashboards(lang)) {
        const d = dashboard as unknown as { panels: Panel[]; templating: { list: TemplateVariable[] } };
        // Variables in order: each query runs with the values chosen before it; the first value is taken, then (multi) all of them.
        const single: VariableValue[] = [];
        const several: VariableValue[] = [];
        for (const v of d.templating.list) {
          if (v.type === 'datasource') continue;
          if (v.type === 'custom') {
            const values = String(typeof v.query === 'string' ? v.query : v.query.query).split(',');
            single.push({ name: v.name, value: values[1]!, multi: !!v.multi });
            several.push({ name: v.name, value: values[1]!, multi: !!v.multi });
            continue;
          }
          const text = typeof v.query === 'string' ? v.query : v.query.query;
          for (const [chosen, label] of [[single, 'one value'], [several, 'several values']] as const) {
            const q = grafanaQuery(text, { from, to, variables: chosen });
            ran++;
            let values: string[] = [];
            try {
              values = await variableValues(q);
            } catch (error) {
              failures.push(`${file} (${lang}) variable ${v.name} [${label}]: ${(error as Error).message}\n  ${q}`);
            }
            if (!values.length) failures.push(`${file} (${lang}) variable ${v.name} [${label}]: no values\n  ${q}`);
            chosen.push({ name: v.name, value: label === 'one value' || !v.multi ? (values[0] ?? '') : values, multi: !!v.multi, includeAll: !!v.includeAll });
          }
        }
        for (const p of d.panels) {
          for (const t of p.targets ?? []) {
            for (const [variables, label] of [[single, 'one value'], [several, 'several values']] as const) {
              const q = grafanaQuery(t.query, { from, to, variables });
              expect(q, `${file} ${p.id}: a macro left`).not.toMatch(/\$(timeFilter|__interval|interval)\b|time\(auto\)/);
              ran++;
              try {
                const [result] = (await influxQuery(q)).results;
                if (result?.error) failures.push(`${file} (${lang}) "${p.title}" ${t.refId} [${label}]: ${result.error}\n  ${q}`);
                else if (!result?.series?.some((s) => s.values.some((row) => row.slice(1).some((x) => x !== null)))) {
                  // The one empty answer that is right: utilisation against ifHighSpeed of an interface that reports no speed (a veth here).
                  if (!(await noSpeedExplains(q))) failures.push(`${file} (${lang}) "${p.title}" ${t.refId} [${label}]: empty result\n  ${q}`);
                }
              } catch (error) {
                failures.push(`${file} (${lang}) "${p.title}" ${t.refId} [${label}]: ${(error as Error).message}`);
              }
            }
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThan(100);
  }, 120_000);

  it('substitutes as Grafana does: numbers kept, multi values regex-escaped as (a|b), single values escaped inside a regex only', () => {
    const q = 'SELECT x FROM m WHERE "node" =~ /^$device$/ AND "ifName" =~ /^$interface$/ AND "ca" = \'$ca\' AND $timeFilter GROUP BY time($__interval) LIMIT $topn';
    const out = replaceVariables(q, [
      { name: 'device', value: 'core.router', multi: false },
      { name: 'interface', value: ['ge-0/0/1', 'eth0'], multi: true },
      { name: 'ca', value: 'city-ecdsa', multi: false },
      { name: 'topn', value: '10', multi: false },
    ]);
    expect(out).toBe('SELECT x FROM m WHERE "node" =~ /^core\\.router$/ AND "ifName" =~ /^(ge-0\\/0\\/1|eth0)$/ AND "ca" = \'city-ecdsa\' AND $timeFilter GROUP BY time($__interval) LIMIT 10');
    const final = grafanaQuery('SELECT mean(v) FROM m WHERE $timeFilter GROUP BY time(auto) -- $__interval_ms $interval', { from: 0, to: 3600_000, variables: [] });
    expect(intervalMs({ from: 0, to: 3600_000, variables: [] })).toBe(5000);
    expect(final).toBe('SELECT mean(v) FROM m WHERE time >= 0ms and time <= 3600000ms GROUP BY time(5s) -- 5000 5s');
  });
});

describe('egov-ops dashboards export', () => {
  it('writes the dashboards and the provisioning files; refuses a bad language and a non-empty directory without --force', () => {
    const out = path.join(tmp, 'grafana');
    const result = exportDashboards({ out, lang: 'zh', datasourceUid: 'city-influx', influx: { url: influxd.url, database: DATABASE } });
    expect(result.files).toHaveLength(9);
    const json = readdirSync(path.join(out, 'dashboards'));
    expect(json).toHaveLength(7);
    const overview = JSON.parse(readFileSync(path.join(out, 'dashboards', 'network-overview.json'), 'utf8'));
    expect(overview).toMatchObject({ title: '网络总览', schemaVersion: 42 });
    expect(overview.templating.list[0].current.value).toBe('city-influx');
    const ds = YAML.parse(readFileSync(path.join(out, 'provisioning', 'datasources', 'egov-ops.yaml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({ type: 'influxdb', uid: 'city-influx', url: influxd.url, jsonData: { dbName: DATABASE, version: 'InfluxQL' } });
    const provider = YAML.parse(readFileSync(path.join(out, 'provisioning', 'dashboards', 'egov-ops.yaml'), 'utf8'));
    expect(provider.providers[0]).toMatchObject({ type: 'file', options: { path: '/var/lib/grafana/dashboards/egov-ops' } });
    expect(() => exportDashboards({ out, lang: 'zh' })).toThrow(/not empty.*--force/);
    expect(exportDashboards({ out, lang: 'en', force: true }).files).toHaveLength(9);
    expect(() => exportDashboards({ out: path.join(tmp, 'other'), lang: 'fr' })).toThrow(/--lang must be zh or en/);
    expect(existsSync(path.join(tmp, 'other'))).toBe(false);
  });
});
