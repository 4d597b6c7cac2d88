// onboard-site against a served suite and a real snmpd: a dry run changes
// nothing; a wrong community makes the SNMP check (a middle step) fail, the
// nodes added before it are removed again and the log is left; after the
// CSV is fixed `--from add-nodes` resumes, the run's enrolment code enrols a
// real agent, and the runbook waits for its first metrics.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { readRunEvents } from '../playbooks/index.js';
import { until } from './support/agent.js';
import { startPlaybookSuite, runBin, type PlaybookSuite } from './support/playbooks.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';

let s: PlaybookSuite;
let snmpd: Snmpd;
let tmp: string;
let agent: Agent | undefined;

const csv = (community: string) =>
  [
    'name,kind,zone,site,level,address,snmp_port,snmp_version,community,v3_user,auth_protocol,auth_password,priv_protocol,priv_password,parents',
    `county-gw,gateway,internal,Chengguan County,county,127.0.0.1,${snmpd.port},v3,,${snmpd.authPriv.user},SHA-256,${snmpd.authPriv.authPassword},AES-128,${snmpd.authPriv.privPassword},`,
    `county-sw1,switch,internal,Chengguan County,county,127.0.0.1,${snmpd.port},v2c,${community},,,,,,county-gw`,
  ].join('\n') + '\n';

beforeAll(async () => {
  [s, snmpd] = await Promise.all([startPlaybookSuite(), startSnmpd()]);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-onboard-'));
}, 120_000);
afterAll(async () => {
  await agent?.stop();
  await snmpd?.dispose();
  await s?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const nodeNames = async () => (await s.desk.started.monitor.inventory.listNodes()).map((n) => n.name).sort();

describe('onboard-site', () => {
  it('in a dry run lists the CSV\'s nodes and adds none', async () => {
    const file = path.join(tmp, 'site.csv');
    writeFileSync(file, csv(snmpd.community));
    const run = await s.cli(['--json', 'playbook', 'run', 'onboard-site', '--param', `csv=${file}`, '--dry-run', ...s.alice.apiArgs]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().steps[0].dryRun).toBe(`county-gw 127.0.0.1:${snmpd.port} snmp v3\ncounty-sw1 127.0.0.1:${snmpd.port} snmp v2c`);
    expect(await nodeNames()).toEqual([]);
  });

  it('a dry run that finds the CSV wrong fails with the reason, and adds nothing', async () => {
    const file = path.join(tmp, 'broken.csv');
    writeFileSync(file, 'name,kind\ncounty-x,switch\n');
    const run = await s.cli(['--json', 'playbook', 'run', 'onboard-site', '--param', `csv=${file}`, '--dry-run', ...s.alice.apiArgs]);
    expect(run.code).toBe(2);
    expect(run.json()).toMatchObject({ status: 'dry-run', error: { step: 'read-csv', message: expect.stringContaining('the header lacks column address') } });
    expect(run.stderr).toContain('the dry run cannot say');
    expect(await nodeNames()).toEqual([]);
  });

  it('rolls the nodes back when a device refuses its credentials, and resumes from its log once the CSV is fixed', async () => {
    const file = path.join(tmp, 'site.csv');
    writeFileSync(file, csv('wrong-community'));
    const failed = await s.cli(['--json', 'playbook', 'run', 'onboard-site', '--param', `csv=${file}`, '--param', 'waitSeconds=120', ...s.alice.apiArgs]);
    expect(failed.code).toBe(7);
    const result = failed.json();
    expect(result.status).toBe('rolled-back');
    expect(result.error.step).toBe('check-snmp');
    expect(result.error.message).toContain('SNMP check failed for county-sw1');
    expect(result.rolledBack).toEqual([{ name: 'add-nodes', ok: true }]);
    expect(await nodeNames()).toEqual([]);
    const events = readRunEvents(result.logFile);
    expect(events.filter((e) => e.event === 'step-end').map((e) => [e.step, e.status])).toEqual([['read-csv', 'ok'], ['add-nodes', 'ok'], ['check-snmp', 'failed']]);
    expect(events.some((e) => e.event === 'command' && String(e.command).startsWith('egov-ops node remove county-sw1'))).toBe(true);
    // SNMP secrets of the CSV are masked in the log.
    expect(readFileSync(result.logFile, 'utf8')).not.toContain(snmpd.authPriv.authPassword);

    // Resuming after the rolled-back step is refused; from it, the run goes on.
    const refused = await s.cli(['playbook', 'run', 'onboard-site', '--from', 'check-snmp', ...s.alice.apiArgs]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('step add-nodes was rolled back');

    writeFileSync(file, csv(snmpd.community));
    const resumed = s.cli(['--json', 'playbook', 'run', 'onboard-site', '--from', 'add-nodes', ...s.alice.apiArgs]);
    // The run writes the agent's enrolment code into its work directory; the site's agent enrols with it.
    const work = path.join(s.desk.dir, 'playbooks', 'work');
    const codeFile = await until('the enrolment code', async () => readdirSync(work).map((d) => path.join(work, d, 'agent-enrolment-code.txt')).find((f) => existsSync(f)), 90_000);
    const code = readFileSync(codeFile, 'utf8').trim();
    writeFileSync(path.join(tmp, 'ca.pem'), s.desk.caPem);
    writeFileSync(
      path.join(tmp, 'agent.yaml'),
      ['name: agent-chengguan', 'zone: internal', `monitorUrl: ${s.desk.secureBase}`, 'caFile: ca.pem', 'dataDir: agent-data', `enrolmentCode: ${code}`, 'pollIntervalSeconds: 1', 'traps: { port: 0 }', 'syslog: { udpPort: 0, tcpPort: 0, tlsPort: 0, host: 127.0.0.1 }', 'names: [127.0.0.1]'].join('\n'),
    );
    agent = await Agent.start(loadAgentConfig(path.join(tmp, 'agent.yaml')), { info: () => undefined, warn: () => undefined });
    const done = await resumed;
    expect(done.code, done.stderr).toBe(0);
    const ok = done.json();
    expect(ok.status).toBe('succeeded');
    expect(ok.steps.map((st: { status: string }) => st.status)).toEqual(['carried', 'ok', 'ok', 'ok', 'ok', 'ok']);
    expect(await nodeNames()).toEqual(['county-gw', 'county-sw1']);
    expect(Object.keys(ok.results['wait-metrics']).sort()).toEqual(['county-gw', 'county-sw1']);
    const report = JSON.parse(readFileSync(ok.results.report.file, 'utf8'));
    expect(report.snmp['county-sw1'].ok).toBe(true);
    // The code is never in the log or the output.
    expect(readFileSync(ok.logFile, 'utf8')).not.toContain(code);
    expect(done.stdout + done.stderr).not.toContain(code);
    expect((await runBin(['--data-dir', s.desk.dir, '--json', 'playbook', 'runs', 'onboard-site'])).json().map((r: { status: string }) => r.status)).toEqual(['succeeded', 'rolled-back', 'dry-run', 'dry-run']);
  }, 240_000);
});
