// link-down-triage: an interface that went down. Reads the alert when one is
// named and the alerts room is installed, then the interface's state and its
// error and discard counters over SNMP, the recent logs of the node and of
// the far end of its link, the knowledge-base articles that match, and says
// it all in one summary (text and JSON). Changes nothing.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import type { Operator } from '../operator.js';
import { defineRunbook } from '../types.js';

const IF_MIB = {
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifInDiscards: '1.3.6.1.2.1.2.2.1.13',
  ifInErrors: '1.3.6.1.2.1.2.2.1.14',
  ifOutErrors: '1.3.6.1.2.1.2.2.1.20',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
} as const;
const STATUS = ['', 'up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown'];

interface NodeView {
  name: string;
  kind: string;
  zone: string;
  site: string;
  address: string;
  snmpPort: number;
  snmp: { version: string } | null;
}
interface LinkView {
  id: number;
  a: { node: string; interface: string };
  b: { node: string; interface: string };
  capacityBps: number;
}
interface VarbindJson {
  oid: string;
  type: string;
  value?: string | number | null;
}
interface LogView {
  time: number;
  severity: string;
  node: string | null;
  app: string | null;
  message: string;
}
interface Params {
  node?: string | undefined;
  interface?: string | undefined;
  alert?: string | undefined;
  snmpVersion: string;
  community?: string | undefined;
  v3User?: string | undefined;
  authProtocol?: string | undefined;
  authPassword?: string | undefined;
  privProtocol?: string | undefined;
  privPassword?: string | undefined;
  since: string;
}

const oidOf = (v: VarbindJson) => v.oid.replace(/^\./, '');
const isIndex = (s: string) => /^[1-9][0-9]*$/.test(s);

/** `egov-ops snmp ARGS` with the credentials from the parameters; secrets through the environment only. */
async function snmp(operator: Operator, p: Params, verb: 'get' | 'walk', target: string, oids: string[]): Promise<VarbindJson[]> {
  const flags = p.snmpVersion === 'v3'
    ? ['-v', '3', '-u', p.v3User ?? '', ...(p.authProtocol ? ['-a', p.authProtocol] : []), ...(p.privProtocol ? ['-x', p.privProtocol] : [])]
    : ['-v', p.snmpVersion === 'v1' ? '1' : '2c'];
  const env = p.snmpVersion === 'v3' ? { EGOV_OPS_SNMP_AUTH_PASS: p.authPassword ?? '', EGOV_OPS_SNMP_PRIV_PASS: p.privPassword ?? '' } : { EGOV_OPS_SNMP_COMMUNITY: p.community ?? '' };
  const { stdout } = await operator.cli(['snmp', verb, ...flags, '-t', '2', '-r', '1', '--json', target, ...oids], { env });
  return (JSON.parse(stdout) as { varbinds: VarbindJson[] }).varbinds;
}

type Source = { node: string; interface: string; alert: { id: string; installed: boolean; found: boolean; rule?: string; state?: string } | null };

export const linkDownTriage = defineRunbook({
  name: 'link-down-triage',
  title: 'Link-down triage',
  description: "An interface went down: its SNMP state and error counters, both ends' recent logs, the matching knowledge-base articles, one summary. Changes nothing.",
  params: {
    node: { type: 'string', pattern: /^[^\s/]+$/, description: 'the inventory node (taken from the alert when one is given)' },
    interface: { type: 'string', pattern: /^\S+$/, description: 'the interface: ifIndex or name (ifName or ifDescr)' },
    alert: { type: 'string', pattern: /^[A-Za-z0-9._:-]+$/, description: 'an alert id: node and interface are read from GET /api/alerts/ID (when the alerts room is installed)' },
    snmpVersion: { type: 'enum', values: ['v1', 'v2c', 'v3'], default: 'v2c', description: 'SNMP version to ask the node with' },
    community: { type: 'string', secret: true, description: 'v1/v2c community' },
    v3User: { type: 'string', description: 'v3 user' },
    authProtocol: { type: 'string', description: 'v3 auth protocol (SHA-256, …)' },
    authPassword: { type: 'string', secret: true, description: 'v3 auth passphrase' },
    privProtocol: { type: 'string', description: 'v3 privacy protocol (AES, …)' },
    privPassword: { type: 'string', secret: true, description: 'v3 privacy passphrase' },
    since: { type: 'string', default: '2h', pattern: /^\d+[mhd]$/, description: 'how far back to read logs (15m, 2h, 1d)' },
  },
  steps: [
    {
      name: 'source',
      description: 'the node and interface: from the alert (GET /api/alerts/ID) when one is given, else from the parameters',
      changes: false,
      run: async ({ operator, params, note }): Promise<Source> => {
        let node = params.node;
        let iface = params.interface;
        let alert: Source['alert'] = null;
        if (params.alert) {
          const reply = await operator.api('GET', `/api/alerts/${encodeURIComponent(params.alert)}`, undefined, { allowFail: true });
          let body: any = null;
          try {
            body = reply.json();
          } catch {
            /* not JSON */
          }
          if (reply.status === 404 && typeof body?.message === 'string' && body.message.startsWith('no route ')) {
            note('alerts are not installed on this suite (no /api/alerts route): going on with the parameters');
            alert = { id: params.alert, installed: false, found: false };
          } else if (reply.status === 404) {
            throw new EgovError('not-found', `no alert ${params.alert}: ${body?.message ?? reply.text.slice(0, 200)}`);
          } else if (reply.status < 200 || reply.status >= 300) {
            throw new EgovError('unavailable', `GET /api/alerts/${params.alert}: HTTP ${reply.status}: ${body?.message ?? reply.text.slice(0, 200)}`);
          } else {
            const a = body?.alert ?? body ?? {};
            const labels = { ...(a.labels ?? {}), ...(a.key ?? {}) } as Record<string, unknown>;
            const fromAlert = (...keys: string[]) => keys.map((k) => a[k] ?? labels[k]).find((v) => v !== undefined && v !== null && v !== '');
            node = String(fromAlert('node') ?? node ?? '') || undefined;
            const i = fromAlert('interface', 'ifName', 'ifDescr', 'ifIndex');
            iface = i !== undefined ? String(i) : iface;
            alert = { id: params.alert, installed: true, found: true, ...(a.rule ? { rule: String(a.rule) } : {}), ...(a.state ? { state: String(a.state) } : {}) };
            note(`alert ${params.alert}${a.rule ? ` (${a.rule})` : ''}: node ${node ?? '?'}, interface ${iface ?? '?'}`);
          }
        }
        if (!node || !iface) throw new EgovError('bad-request', `give --param node=NODE and --param interface=IFINDEX|NAME${params.alert ? ` (alert ${params.alert} did not name them)` : ''}`);
        return { node, interface: iface, alert };
      },
    },
    {
      name: 'inventory',
      description: "the node's address and kind (egov-ops node show) and the links that end on it (egov-ops link list --node)",
      changes: false,
      run: async ({ operator, results, note }) => {
        const source = results.source as Source;
        const node = await operator.cliJson<NodeView>(['node', 'show', source.node]);
        const links = await operator.cliJson<LinkView[]>(['link', 'list', '--node', source.node]);
        note(`${node.name} (${node.kind}, ${node.site}) at ${node.address}:${node.snmpPort}; ${links.length} link(s) end on it`);
        return { node: node.name, kind: node.kind, site: node.site, zone: node.zone, address: node.address, snmpPort: node.snmpPort, links };
      },
    },
    {
      name: 'snmp',
      description: 'the interface over SNMP (egov-ops snmp walk / get): ifOperStatus, ifAdminStatus, ifInErrors, ifOutErrors, ifInDiscards',
      changes: false,
      timeoutMs: 60_000,
      run: async ({ operator, params, results, note, secret }) => {
        for (const s of [params.community, params.authPassword, params.privPassword]) if (s) secret(s);
        if (params.snmpVersion === 'v3' ? !params.v3User : !params.community) throw new EgovError('bad-request', params.snmpVersion === 'v3' ? 'SNMP v3 needs --param v3User=USER (and authPassword, privPassword as EGOV_OPS_PARAM_AUTH_PASSWORD, EGOV_OPS_PARAM_PRIV_PASSWORD)' : `SNMP ${params.snmpVersion} needs the community: --param community=@FILE or EGOV_OPS_PARAM_COMMUNITY`);
        const inv = results.inventory as { address: string; snmpPort: number };
        const source = results.source as Source;
        const target = `${inv.address.includes(':') ? `udp6:[${inv.address}]` : inv.address}:${inv.snmpPort}`;
        let ifIndex: number;
        if (isIndex(source.interface)) ifIndex = Number(source.interface);
        else {
          let found: number | undefined;
          for (const column of [IF_MIB.ifName, IF_MIB.ifDescr]) {
            const rows = await snmp(operator, params, 'walk', target, [column]);
            const hit = rows.find((v) => v.value === source.interface && oidOf(v).startsWith(column + '.'));
            if (hit) {
              found = Number(oidOf(hit).slice(column.length + 1));
              break;
            }
          }
          if (found === undefined) throw new EgovError('not-found', `${source.node} has no interface named ${source.interface} (ifName, ifDescr)`);
          ifIndex = found;
        }
        const names = ['ifName', 'ifDescr', 'ifAdminStatus', 'ifOperStatus', 'ifInErrors', 'ifOutErrors', 'ifInDiscards'] as const;
        const got = await snmp(operator, params, 'get', target, names.map((n) => `${IF_MIB[n]}.${ifIndex}`));
        const value = (n: (typeof names)[number]) => {
          const v = got.find((x) => oidOf(x) === `${IF_MIB[n]}.${ifIndex}`);
          return v && v.value !== undefined ? v.value : null;
        };
        if (value('ifDescr') === null && value('ifOperStatus') === null) throw new EgovError('not-found', `${source.node} has no interface with ifIndex ${ifIndex}`);
        const num = (n: (typeof names)[number]) => (value(n) === null ? null : Number(value(n)));
        const state = {
          ifIndex,
          ifName: value('ifName') === null ? null : String(value('ifName')),
          ifDescr: value('ifDescr') === null ? null : String(value('ifDescr')),
          adminStatus: STATUS[num('ifAdminStatus') ?? 0] || String(num('ifAdminStatus')),
          operStatus: STATUS[num('ifOperStatus') ?? 0] || String(num('ifOperStatus')),
          inErrors: num('ifInErrors'),
          outErrors: num('ifOutErrors'),
          inDiscards: num('ifInDiscards'),
        };
        note(`ifIndex ${ifIndex} (${state.ifDescr}): admin ${state.adminStatus}, oper ${state.operStatus}; in errors ${state.inErrors}, out errors ${state.outErrors}, in discards ${state.inDiscards}`);
        return state;
      },
    },
    {
      name: 'link',
      description: 'the link on the interface, if the inventory has one (matched by the name asked, ifName or ifDescr), and its far end',
      changes: false,
      run: async ({ results, note }) => {
        const source = results.source as Source;
        const inv = results.inventory as { node: string; links: LinkView[] };
        const state = results.snmp as { ifName: string | null; ifDescr: string | null };
        const names = [source.interface, state.ifName, state.ifDescr].filter((n): n is string => !!n);
        const here = (end: { node: string; interface: string }) => end.node === inv.node && names.includes(end.interface);
        const link = inv.links.find((l) => here(l.a) || here(l.b)) ?? null;
        const farEnd = link ? (here(link.a) ? link.b : link.a) : null;
        note(link ? `link #${link.id} (${link.capacityBps} bit/s) to ${farEnd!.node}:${farEnd!.interface}` : 'no link in the inventory on this interface');
        return { link: link ? { id: link.id, capacityBps: link.capacityBps } : null, farEnd };
      },
    },
    {
      name: 'logs',
      description: 'the recent logs of the node and of the far end of the link (egov-ops logs search --node N --since …)',
      changes: false,
      run: async ({ operator, params, results, note }) => {
        const inv = results.inventory as { node: string };
        const { farEnd } = results.link as { farEnd: { node: string } | null };
        const nodes = [inv.node, ...(farEnd && farEnd.node !== inv.node ? [farEnd.node] : [])];
        const byNode: Record<string, Array<{ time: string; severity: string; app: string | null; message: string }>> = {};
        for (const n of nodes) {
          const logs = await operator.cliJson<LogView[]>(['logs', 'search', '--node', n, '--since', params.since, '--limit', '50']);
          byNode[n] = logs.map((l) => ({ time: new Date(l.time).toISOString(), severity: l.severity, app: l.app, message: l.message }));
          note(`${n}: ${logs.length} log line(s) in the last ${params.since}`);
        }
        return byNode;
      },
    },
    {
      name: 'kb',
      description: 'the knowledge-base articles for rule interface-down and the node\'s kind (POST /api/kb/match)',
      changes: false,
      run: async ({ operator, results, note }) => {
        const inv = results.inventory as { node: string; kind: string; site: string; zone: string };
        const rule = (results.source as Source).alert?.rule ?? 'interface-down';
        const reply = await operator.api('POST', '/api/kb/match', { rule, node: inv.node, kind: inv.kind, site: inv.site, zone: inv.zone, limit: 5 });
        const articles = (reply.json() as { articles: Array<{ id: string; title: string; titleZh?: string; score: number; reasons: string[] }> }).articles;
        note(articles.length ? articles.map((a) => `${a.id}: ${a.title}`).join('\n') : `no article matches ${rule} on a ${inv.kind}`);
        return { rule, articles };
      },
    },
    {
      name: 'summary',
      description: 'one summary of the above, as text and JSON, in the run\'s work directory',
      changes: false,
      run: async ({ results, workDir, note }) => {
        const source = results.source as Source;
        const inv = { ...(results.inventory as { node: string; kind: string; site: string; address: string }), ...(results.link as { link: { id: number; capacityBps: number } | null; farEnd: { node: string; interface: string } | null }) };
        const state = results.snmp as { ifIndex: number; ifName: string | null; ifDescr: string | null; adminStatus: string; operStatus: string; inErrors: number | null; outErrors: number | null; inDiscards: number | null };
        const logs = results.logs as Record<string, Array<{ time: string; severity: string; message: string }>>;
        const kb = results.kb as { rule: string; articles: Array<{ id: string; title: string; score: number }> };
        const verdict =
          state.adminStatus === 'down' ? 'administratively down: someone shut the interface'
          : state.operStatus === 'up' ? 'up now: the link came back (or flaps)'
          : (state.inErrors ?? 0) + (state.outErrors ?? 0) > 0 ? 'down with errors counted: suspect the cable, optic or far-end port'
          : 'down, enabled, no errors counted: look at the far end and the physical link';
        const summary = {
          node: inv.node, kind: inv.kind, site: inv.site, address: inv.address,
          interface: { asked: source.interface, ...state },
          alert: source.alert,
          link: inv.link ? { ...inv.link, farEnd: inv.farEnd } : null,
          logs: Object.fromEntries(Object.entries(logs).map(([n, l]) => [n, { count: l.length, latest: l.slice(0, 5) }])),
          kb: kb.articles.map((a) => ({ id: a.id, title: a.title, score: a.score })),
          verdict,
        };
        const text = [
          `link-down triage: ${inv.node}:${source.interface} (${inv.kind}, ${inv.site}, ${inv.address})`,
          ...(source.alert ? [source.alert.installed ? `alert ${source.alert.id}${source.alert.rule ? ` (${source.alert.rule})` : ''}` : `alert ${source.alert.id}: alerts are not installed; from the parameters`] : []),
          `interface ifIndex ${state.ifIndex} ${state.ifName ?? state.ifDescr ?? ''}: admin ${state.adminStatus}, oper ${state.operStatus}; in errors ${state.inErrors ?? '?'}, out errors ${state.outErrors ?? '?'}, in discards ${state.inDiscards ?? '?'}`,
          inv.farEnd ? `link #${inv.link!.id} to ${inv.farEnd.node}:${inv.farEnd.interface}` : 'no link in the inventory on this interface',
          ...Object.entries(logs).map(([n, l]) => `logs of ${n}: ${l.length}${l.length ? `, latest: ${l[0]!.time} ${l[0]!.severity} ${l[0]!.message}` : ''}`),
          kb.articles.length ? `knowledge base (${kb.rule}): ${kb.articles.map((a) => `${a.id} "${a.title}"`).join('; ')}` : `knowledge base (${kb.rule}): no article`,
          `verdict: ${verdict}`,
        ].join('\n') + '\n';
        const json = path.join(workDir, 'triage.json');
        const txt = path.join(workDir, 'triage.txt');
        writeFileSync(json, JSON.stringify(summary, null, 2) + '\n');
        writeFileSync(txt, text);
        note(text.trimEnd());
        return { json, text: txt, verdict, summary };
      },
    },
  ],
});
