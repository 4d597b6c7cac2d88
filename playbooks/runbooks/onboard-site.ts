// onboard-site: a county site's nodes from a CSV into the inventory, each
// device's SNMP credentials checked, a one-time enrolment code for the site's
// agent, the first metrics of every node waited for, and a report.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import type { Operator } from '../operator.js';
import { defineRunbook } from '../types.js';

interface Device {
  name: string;
  address: string;
  port: number;
  version: string;
  community?: string;
  user?: string;
  authProtocol?: string;
  authPassword?: string;
  privProtocol?: string;
  privPassword?: string;
  parents: string[];
}

/** The CSV as `egov-ops node import` reads it: a header, one node a row ("…" quotes a field). */
function readDevices(file: string): Device[] {
  const rows: string[][] = [];
  for (const line of readFileSync(file, 'utf8').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') (field += '"'), i++;
        else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') fields.push(field), (field = '');
      else field += ch;
    }
    fields.push(field);
    rows.push(fields.map((f) => f.trim()));
  }
  const [header, ...body] = rows;
  if (!header || !body.length) throw new EgovError('bad-request', `${file}: a header row and at least one node are needed`);
  const columns = header.map((c) => c.toLowerCase());
  for (const need of ['name', 'address']) if (!columns.includes(need)) throw new EgovError('bad-request', `${file}: the header lacks column ${need}`);
  return body.map((cells) => {
    const cell = (name: string) => cells[columns.indexOf(name)] || undefined;
    return {
      name: cell('name')!,
      address: cell('address')!,
      port: Number(cell('snmp_port') ?? 161),
      version: cell('snmp_version') ?? '',
      ...(cell('community') ? { community: cell('community')! } : {}),
      ...(cell('v3_user') ? { user: cell('v3_user')!, authProtocol: cell('auth_protocol')!, authPassword: cell('auth_password')!, privProtocol: cell('priv_protocol')!, privPassword: cell('priv_password')! } : {}),
      parents: (cell('parents') ?? '').split(';').map((p) => p.trim()).filter(Boolean),
    };
  });
}

/** SNMP secrets go to `egov-ops snmp get` through the environment, never the command line. */
async function snmpCheck(operator: Operator, d: Device): Promise<{ ok: boolean; sysName?: string; error?: string }> {
  const target = `${d.address}:${d.port}`;
  const version = d.version === 'v3' ? ['-v', '3', '-u', d.user ?? '', '-l', 'authPriv', '-a', d.authProtocol ?? '', '-x', d.privProtocol === 'AES-256' ? 'AES-256' : 'AES'] : ['-v', d.version === 'v1' ? '1' : '2c'];
  const env = d.version === 'v3' ? { EGOV_OPS_SNMP_AUTH_PASS: d.authPassword ?? '', EGOV_OPS_SNMP_PRIV_PASS: d.privPassword ?? '' } : { EGOV_OPS_SNMP_COMMUNITY: d.community ?? '' };
  const result = await operator.cli(['snmp', 'get', ...version, '-t', '1', '-r', '1', '--json', target, 'sysName.0', 'sysUpTime.0'], { env, allowFail: true });
  if (result.exitCode !== 0) return { ok: false, error: (result.stderr.trim() || result.stdout.trim()).split('\n').at(-1) ?? `exit ${result.exitCode}` };
  const text = result.stdout;
  let sysName: string | undefined;
  try {
    const parsed = JSON.parse(text) as Array<{ oid: string; value: unknown }> | { varbinds?: Array<{ oid: string; value: unknown }> };
    const list = Array.isArray(parsed) ? parsed : (parsed.varbinds ?? []);
    const v = list.find((x) => String(x.oid).replace(/^\./, '').startsWith('1.3.6.1.2.1.1.5'))?.value;
    sysName = v === undefined ? undefined : String(v);
  } catch {
    /* sysName is only for the report */
  }
  return { ok: true, ...(sysName ? { sysName } : {}) };
}

export const onboardSite = defineRunbook({
  name: 'onboard-site',
  title: 'Onboard a site',
  description: 'Add a site\'s nodes from a CSV, check each device\'s SNMP credentials, make the agent\'s enrolment code, wait for its first metrics, report.',
  params: {
    csv: { type: 'file', required: true, description: 'the site\'s nodes, CSV as `egov-ops node import` takes it' },
    enrolAgent: { type: 'boolean', default: true, description: 'make a one-time enrolment code for the site\'s agent (false: an agent of the zone already polls it)' },
    codeValidHours: { type: 'integer', default: 72, min: 1, max: 720, description: 'how long the enrolment code stays valid' },
    waitSeconds: { type: 'integer', default: 300, min: 5, max: 86_400, description: 'how long to wait for every node\'s first metrics' },
  },
  steps: [
    {
      name: 'read-csv',
      description: 'read the CSV: the nodes, their addresses and SNMP versions',
      changes: false,
      dryRun: ({ params }) => readDevices(params.csv).map((d) => `${d.name} ${d.address}:${d.port} snmp ${d.version || 'none'}`).join('\n'),
      run: async ({ params, operator, note }) => {
        const devices = readDevices(params.csv);
        const existing = new Set((await operator.cliJson<Array<{ name: string }>>(['node', 'list'])).map((n) => n.name));
        const already = devices.filter((d) => existing.has(d.name)).map((d) => d.name);
        if (already.length) throw new EgovError('conflict', `already in the inventory: ${already.join(', ')} (onboard-site adds new nodes; change existing ones with \`egov-ops node update\`)`);
        note(`${devices.length} nodes: ${devices.map((d) => d.name).join(', ')}`);
        return { nodes: devices.map((d) => d.name) };
      },
    },
    {
      name: 'add-nodes',
      description: 'import the nodes (egov-ops node import); every row must be accepted',
      changes: true,
      dryRun: ({ params }) => `egov-ops node import ${params.csv}`,
      run: async ({ params, operator }) => {
        const report = await operator.cli(['--json', 'node', 'import', params.csv], { allowFail: true });
        const parsed = JSON.parse(report.stdout || '{}') as { stored?: string[]; rejected?: Array<{ line: number; problem: string }> };
        if (report.exitCode !== 0) {
          // What was stored despite the rejections is taken out again, so the step leaves nothing behind.
          for (const name of [...(parsed.stored ?? [])].reverse()) await operator.cli(['node', 'remove', name], { allowFail: true });
          throw new EgovError('policy-violation', `node import rejected ${parsed.rejected?.length ?? '?'} rows: ${(parsed.rejected ?? []).map((r) => `line ${r.line}: ${r.problem}`).join('; ')}`);
        }
        return { stored: parsed.stored ?? [] };
      },
      rollback: async ({ operator }, result) => {
        const { stored } = result as { stored: string[] };
        // Children first: a node is refused removal while it is a parent.
        for (const name of [...stored].reverse()) await operator.cli(['node', 'remove', name]);
      },
    },
    {
      name: 'check-snmp',
      description: 'each device answers SNMP with the credentials of the CSV (sysName.0, sysUpTime.0)',
      changes: false,
      retries: 1,
      retryDelayMs: 2000,
      run: async ({ params, operator, note, secret }) => {
        const devices = readDevices(params.csv);
        for (const d of devices) for (const s of [d.community, d.authPassword, d.privPassword]) if (s) secret(s);
        const checks: Record<string, { ok: boolean; sysName?: string; error?: string }> = {};
        for (const d of devices.filter((x) => x.version)) {
          checks[d.name] = await snmpCheck(operator, d);
          note(`${d.name} ${d.address}:${d.port}: ${checks[d.name]!.ok ? `answers${checks[d.name]!.sysName ? ` (sysName ${checks[d.name]!.sysName})` : ''}` : `NO ANSWER: ${checks[d.name]!.error}`}`);
        }
        const failed = Object.entries(checks).filter(([, c]) => !c.ok).map(([n]) => n);
        if (failed.length) throw new EgovError('unavailable', `SNMP check failed for ${failed.join(', ')}: check the device, its ACL and the credentials in the CSV`);
        return checks;
      },
    },
    {
      name: 'enrol-agent',
      description: 'make a one-time enrolment code for the site\'s agent (written to a file of the run, mode 0600)',
      changes: true,
      dryRun: ({ params }) => (params.enrolAgent ? `egov-ops access code --role agent --valid-hours ${params.codeValidHours}` : 'nothing (enrolAgent=false)'),
      run: async ({ params, operator, workDir, secret, note }) => {
        if (!params.enrolAgent) return { skipped: true };
        const { stdout } = await operator.run(process.execPath, [operator.bin, ...operator.globalArgs(), '--json', 'access', 'code', '--role', 'agent', '--valid-hours', String(params.codeValidHours)], { shown: `egov-ops --json access code --role agent --valid-hours ${params.codeValidHours}`, quietOutput: true });
        const grant = JSON.parse(stdout) as { code: string; expiresAt: string };
        secret(grant.code);
        const file = path.join(workDir, 'agent-enrolment-code.txt');
        writeFileSync(file, `${grant.code}\n`, { mode: 0o600 });
        note(`enrolment code written to ${file} (valid until ${grant.expiresAt}); put it in the agent's enrolmentCode`);
        return { codeFile: file, expiresAt: grant.expiresAt };
      },
    },
    {
      name: 'wait-metrics',
      description: 'every node with SNMP has its first system metrics at the monitor (GET /api/monitor/metrics/system/latest)',
      changes: false,
      timeoutMs: 86_400_000,
      run: async ({ params, operator, signal, note }) => {
        const devices = readDevices(params.csv).filter((d) => d.version);
        const deadline = Date.now() + params.waitSeconds * 1000;
        const first: Record<string, string> = {};
        while (Object.keys(first).length < devices.length) {
          for (const d of devices.filter((x) => !first[x.name])) {
            const points = (await operator.api('GET', `/api/monitor/metrics/system/latest?node=${encodeURIComponent(d.name)}`)).json<{ points: Array<{ time: string | number }> }>().points;
            if (points.length) {
              first[d.name] = new Date(points[0]!.time).toISOString();
              note(`${d.name}: first metrics at ${first[d.name]}`);
            }
          }
          if (Object.keys(first).length === devices.length) break;
          if (Date.now() > deadline || signal.aborted) throw new EgovError('unavailable', `no metrics after ${params.waitSeconds} s from ${devices.filter((d) => !first[d.name]).map((d) => d.name).join(', ')}: is the site's agent enrolled and running?`);
          await new Promise((r) => setTimeout(r, 1000));
        }
        return first;
      },
    },
    {
      name: 'report',
      description: 'write the onboarding report (nodes, SNMP answers, enrolment, first metrics)',
      changes: false,
      run: async ({ results, workDir, note }) => {
        const report = { nodes: results['add-nodes'], snmp: results['check-snmp'], agent: results['enrol-agent'], firstMetrics: results['wait-metrics'] };
        const file = path.join(workDir, 'onboarding-report.json');
        writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
        note(`report: ${file}`);
        return { file, nodes: Object.keys(results['wait-metrics'] as object).length };
      },
    },
  ],
});
