// `egov-ops node …`, `link …`, `logs search`, `status`: the monitor's
// inventory, logs and status from the command line. Parses arguments, calls
// monitor/, prints what happened (JSON with --json).

import { readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { EgovError, exitCodes, openDatabase, openSecretBox, type Config } from '../core/index.js';
import {
  AUTH_PROTOCOLS,
  formatFromFileName,
  inventoryToYaml,
  LEVELS,
  linkLabel,
  linksToCsv,
  NODE_KINDS,
  nodesToCsv,
  openMonitor,
  parseInventory,
  PRIV_PROTOCOLS,
  SEVERITIES,
  ZONES,
  type ImportReport,
  type LinkView,
  type MetricsOptions,
  type Monitor,
  type NodeView,
  type Severity,
  type StatusOverview,
  type StoredLog,
} from '../monitor/index.js';
import { cliActor, resolveConfig, type GlobalOptions } from './context.js';

/** `metrics` in the config; absent: the embedded store. */
export function metricsOptions(config: Config): MetricsOptions {
  return (config.metrics ?? {}) as MetricsOptions;
}

function readSecretFile(file: string, what: string): string {
  try {
    // The first line: a trailing newline from `echo` is not part of the secret.
    return readFileSync(file, 'utf8').split(/\r?\n/)[0]!;
  } catch (error) {
    throw new EgovError('bad-request', `${what} file ${file} cannot be read: ${(error as Error).message}`);
  }
}

interface SnmpFlags {
  snmpVersion?: string;
  communityFile?: string;
  v3User?: string;
  authProtocol?: string;
  authPasswordFile?: string;
  privProtocol?: string;
  privPasswordFile?: string;
  snmp?: boolean;
}

/** SNMP credentials from files or the environment, never from the command line (it shows in `ps` and shell history). */
function snmpFromFlags(o: SnmpFlags, env: NodeJS.ProcessEnv = process.env): unknown {
  if (o.snmp === false) return null;
  if (!o.snmpVersion) {
    if (o.communityFile || o.v3User || o.authPasswordFile || o.privPasswordFile) throw new EgovError('bad-request', '--snmp-version is needed with SNMP credentials');
    return undefined;
  }
  if (o.snmpVersion === 'v3') {
    return {
      version: 'v3',
      user: o.v3User,
      authProtocol: o.authProtocol,
      authPassword: o.authPasswordFile ? readSecretFile(o.authPasswordFile, 'auth password') : env.EGOV_OPS_SNMP_AUTH_PASSWORD,
      privProtocol: o.privProtocol,
      privPassword: o.privPasswordFile ? readSecretFile(o.privPasswordFile, 'priv password') : env.EGOV_OPS_SNMP_PRIV_PASSWORD,
    };
  }
  return { version: o.snmpVersion, community: o.communityFile ? readSecretFile(o.communityFile, 'community') : env.EGOV_OPS_SNMP_COMMUNITY };
}

const list = (value: string | undefined) => (value === undefined ? undefined : value.split(/[,;]/).map((s) => s.trim()).filter(Boolean));

/** Epoch ms from `15m`, `2h`, `7d` (that long ago), epoch milliseconds or an ISO-8601 time. */
export function parseWhen(value: string, option: string, now = Date.now()): number {
  const relative = /^(\d+)\s*([smhd])$/.exec(value.trim());
  if (relative) return now - Number(relative[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
  const ms = /^\d{10,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new EgovError('bad-request', `${option} must be a duration ago (15m, 2h, 7d), epoch milliseconds or an ISO-8601 time (got ${JSON.stringify(value)})`);
  return ms;
}

function describeNode(n: NodeView): string {
  const snmp = !n.snmp ? 'no SNMP' : n.snmp.version === 'v3' ? `SNMP v3 user ${n.snmp.user} (${n.snmp.authProtocol}/${n.snmp.privProtocol})` : `SNMP ${n.snmp.version}`;
  return [
    `${n.name}  ${n.kind}, ${n.zone} network, ${n.level} level, ${n.site}`,
    `  address ${n.address}, port ${n.snmpPort}, ${snmp}`,
    `  parents ${n.parents.length ? n.parents.join(', ') : '(none: a core node)'}`,
    ...(n.description ? [`  ${n.description}`] : []),
  ].join('\n');
}

const nodeLine = (n: NodeView) => `${n.name.padEnd(24)} ${n.kind.padEnd(8)} ${n.zone.padEnd(8)} ${n.level.padEnd(8)} ${n.address.padEnd(20)} ${n.site}${n.parents.length ? `  <- ${n.parents.join(', ')}` : ''}`;

const gbps = (bps: number) => (bps >= 1e9 ? `${bps / 1e9}G` : bps >= 1e6 ? `${bps / 1e6}M` : bps >= 1e3 ? `${bps / 1e3}k` : `${bps}`);
const linkLine = (l: LinkView) => `#${String(l.id).padEnd(5)} ${linkLabel(l)}  ${gbps(l.capacityBps)}bit/s${l.description ? `  ${l.description}` : ''}`;

function describeImport(report: ImportReport): string {
  const lines = [`accepted ${report.accepted.nodes} node${report.accepted.nodes === 1 ? '' : 's'} and ${report.accepted.links} link${report.accepted.links === 1 ? '' : 's'}; rejected ${report.rejected.length} row${report.rejected.length === 1 ? '' : 's'}`];
  for (const r of report.rejected) lines.push(`  line ${r.line}: ${r.kind}${r.subject ? ` ${r.subject}` : ''}: ${r.reason}`);
  return lines.join('\n');
}

function describeLog(l: StoredLog): string {
  return `${new Date(l.time).toISOString()}  ${l.severity.padEnd(9)} ${(l.node ?? l.sourceAddress).padEnd(20)} ${l.app ? `${l.app}: ` : ''}${l.message}`;
}

function describeStatus(s: StatusOverview): string {
  const lines = [`status at ${s.at}: ${s.counts.up} up, ${s.counts.down} down, ${s.counts.unreachable} unreachable, ${s.counts.unknown} unknown`];
  for (const n of s.nodes) {
    const note = n.status === 'unreachable' ? `  (cut off by ${n.cutOffBy.join(', ')})` : n.status === 'up' && n.rttMs !== null ? `  rtt ${n.rttMs} ms` : '';
    lines.push(`  ${n.status.padEnd(12)} ${n.name.padEnd(24)} ${n.zone.padEnd(8)} ${n.site}${note}`);
  }
  if (s.worstLinks.length) {
    lines.push('worst links by utilisation:');
    for (const l of s.worstLinks) lines.push(`  ${String(l.utilisationPct).padStart(6)}%  ${l.status.padEnd(7)} #${l.id} ${linkLabel(l)}  ${gbps(l.capacityBps)}bit/s`);
  }
  return lines.join('\n');
}

/** Adds `node`, `link`, `logs` and `status` to the egov-ops program. */
export function registerMonitorCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = (data: unknown, human: () => string) => {
    const text = globals().json ? JSON.stringify(data, null, 2) : human();
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  };
  const withMonitor = async <T>(work: (monitor: Monitor) => Promise<T>): Promise<T> => {
    const config = resolveConfig(globals());
    const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
    try {
      const monitor = await openMonitor({ database, secrets: openSecretBox(config.dataDir), metrics: metricsOptions(config) });
      try {
        return await work(monitor);
      } finally {
        await monitor.close();
      }
    } finally {
      await database.close();
    }
  };
  const snmpOptions = (command: Command) =>
    command
      .addOption(new Option('--snmp-version <v>', 'SNMP version').choices(['v1', 'v2c', 'v3']))
      .option('--community-file <file>', 'v1/v2c community, first line of the file (else EGOV_OPS_SNMP_COMMUNITY)')
      .option('--v3-user <user>', 'v3 user name')
      .addOption(new Option('--auth-protocol <p>', 'v3 authentication').choices([...AUTH_PROTOCOLS]))
      .option('--auth-password-file <file>', 'v3 authentication password file (else EGOV_OPS_SNMP_AUTH_PASSWORD)')
      .addOption(new Option('--priv-protocol <p>', 'v3 privacy').choices([...PRIV_PROTOCOLS]))
      .option('--priv-password-file <file>', 'v3 privacy password file (else EGOV_OPS_SNMP_PRIV_PASSWORD)');

  // ---- node
  const node = program.command('node').description('the monitor inventory: routers, switches, firewalls, gateways and servers on both networks');

  snmpOptions(
    node
      .command('add <name>')
      .description('add a node (SNMP secrets come from files or the environment, never the command line)')
      .addOption(new Option('--kind <kind>').choices([...NODE_KINDS]).makeOptionMandatory())
      .addOption(new Option('--zone <zone>').choices([...ZONES]).makeOptionMandatory())
      .requiredOption('--site <site>', 'site, e.g. "城关镇政务服务中心"')
      .addOption(new Option('--level <level>').choices([...LEVELS]).makeOptionMandatory())
      .requiredOption('--address <address>', 'management address (IPv4, IPv6 or DNS name)')
      .option('--snmp-port <port>', 'SNMP port (default 161)')
      .option('--parents <names>', 'nodes one step towards the core, comma-separated')
      .option('--description <text>', 'free text'),
  ).action(async (name: string, o) =>
    withMonitor(async (monitor) => {
      const snmp = snmpFromFlags(o);
      const view = await monitor.inventory.addNode(
        {
          name,
          kind: o.kind,
          zone: o.zone,
          site: o.site,
          level: o.level,
          address: o.address,
          ...(o.snmpPort !== undefined ? { snmpPort: o.snmpPort } : {}),
          ...(snmp !== undefined ? { snmp } : {}),
          ...(o.parents !== undefined ? { parents: list(o.parents) } : {}),
          ...(o.description !== undefined ? { description: o.description } : {}),
        },
        cliActor(),
      );
      out(view, () => `added\n${describeNode(view)}`);
    }),
  );

  snmpOptions(
    node
      .command('update <name>')
      .description('change a node (only the options given)')
      .addOption(new Option('--kind <kind>').choices([...NODE_KINDS]))
      .addOption(new Option('--zone <zone>').choices([...ZONES]))
      .option('--site <site>')
      .addOption(new Option('--level <level>').choices([...LEVELS]))
      .option('--address <address>')
      .option('--snmp-port <port>')
      .option('--no-snmp', 'stop polling it over SNMP (removes the credentials)')
      .option('--parents <names>', 'replace the parents (comma-separated; "" for none)')
      .option('--description <text>'),
  ).action(async (name: string, o) =>
    withMonitor(async (monitor) => {
      const snmp = snmpFromFlags(o);
      const patch = Object.fromEntries(
        Object.entries({
          kind: o.kind,
          zone: o.zone,
          site: o.site,
          level: o.level,
          address: o.address,
          snmpPort: o.snmpPort,
          snmp,
          parents: o.parents !== undefined ? list(o.parents) : undefined,
          description: o.description,
        }).filter(([, v]) => v !== undefined),
      );
      const view = await monitor.inventory.updateNode(name, patch, cliActor());
      out(view, () => `updated\n${describeNode(view)}`);
    }),
  );

  node
    .command('list')
    .description('the nodes, by name')
    .addOption(new Option('--zone <zone>').choices([...ZONES]))
    .addOption(new Option('--kind <kind>').choices([...NODE_KINDS]))
    .addOption(new Option('--level <level>').choices([...LEVELS]))
    .option('--site <site>')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const nodes = await monitor.inventory.listNodes(Object.fromEntries(Object.entries({ zone: o.zone, kind: o.kind, level: o.level, site: o.site }).filter(([, v]) => v !== undefined)));
        out(nodes, () => nodes.map(nodeLine).join('\n') || 'no nodes');
      }),
    );

  node
    .command('show <name>')
    .description('one node, with its links')
    .action(async (name: string) =>
      withMonitor(async (monitor) => {
        const view = await monitor.inventory.getNode(name);
        const links = await monitor.inventory.listLinks({ node: name });
        out({ ...view, links }, () => [describeNode(view), ...links.map((l) => `  link ${linkLine(l)}`)].join('\n'));
      }),
    );

  node
    .command('remove <name>')
    .description('remove a node (refused while it is a parent or links end on it)')
    .action(async (name: string) =>
      withMonitor(async (monitor) => {
        await monitor.inventory.removeNode(name, cliActor());
        out({ removed: name }, () => `removed ${name}`);
      }),
    );

  node
    .command('import <file>')
    .description('import nodes (CSV or YAML) and links (CSV with a_node… columns, or YAML links:); valid rows are stored, each rejected row is listed; exit 4 if any was rejected')
    .addOption(new Option('--format <format>', 'default: from the file name').choices(['csv', 'yaml']))
    .action(async (file: string, o) =>
      withMonitor(async (monitor) => {
        const format = o.format ?? formatFromFileName(file);
        let text: string;
        try {
          text = readFileSync(file === '-' ? 0 : file, 'utf8');
        } catch (error) {
          throw new EgovError('bad-request', `import file ${file} cannot be read: ${(error as Error).message}`);
        }
        const report = await monitor.inventory.importRows(parseInventory(text, format), cliActor(), `cli:${format}`);
        out(report, () => describeImport(report));
        if (report.rejected.length) process.exitCode = exitCodes.refused;
      }),
    );

  node
    .command('export')
    .description('the inventory as CSV or YAML (SNMP secrets are never exported)')
    .addOption(new Option('--format <format>').choices(['csv', 'yaml']).default('yaml'))
    .option('--links', 'CSV: the links instead of the nodes')
    .option('--out <file>', 'write here instead of standard output')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const nodes = await monitor.inventory.listNodes();
        const links = await monitor.inventory.listLinks();
        const text = o.format === 'yaml' ? inventoryToYaml(nodes, links) : o.links ? linksToCsv(links) : nodesToCsv(nodes);
        if (!o.out) return void process.stdout.write(text);
        try {
          writeFileSync(o.out, text);
        } catch (error) {
          throw new EgovError('bad-request', `cannot write ${o.out}: ${(error as Error).message}`);
        }
        out({ file: o.out, nodes: nodes.length, links: links.length }, () => `wrote ${nodes.length} nodes and ${links.length} links to ${o.out}`);
      }),
    );

  // ---- link
  const link = program.command('link').description('links between node interfaces, with their capacity');

  link
    .command('add')
    .description('add a link between two interfaces')
    .requiredOption('--a <end>', 'NODE:INTERFACE, e.g. core-1:GigabitEthernet0/0/1')
    .requiredOption('--b <end>', 'NODE:INTERFACE')
    .requiredOption('--capacity <bps>', 'bits per second, or with k, M, G, T: 1G, 100M')
    .option('--description <text>')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const view = await monitor.inventory.addLink({ a: o.a, b: o.b, capacity: o.capacity, ...(o.description !== undefined ? { description: o.description } : {}) }, cliActor());
        out(view, () => `added link ${linkLine(view)}`);
      }),
    );

  link
    .command('list')
    .description('the links')
    .option('--node <name>', 'only links that end on this node')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const links = await monitor.inventory.listLinks(o.node ? { node: o.node } : {});
        out(links, () => links.map(linkLine).join('\n') || 'no links');
      }),
    );

  link
    .command('update <id>')
    .description("change a link's capacity or description")
    .option('--capacity <bps>')
    .option('--description <text>')
    .action(async (id: string, o) =>
      withMonitor(async (monitor) => {
        const patch = Object.fromEntries(Object.entries({ capacity: o.capacity, description: o.description }).filter(([, v]) => v !== undefined));
        const view = await monitor.inventory.updateLink(linkId(id), patch, cliActor());
        out(view, () => `updated link ${linkLine(view)}`);
      }),
    );

  link
    .command('remove <id>')
    .description('remove a link')
    .action(async (id: string) =>
      withMonitor(async (monitor) => {
        await monitor.inventory.removeLink(linkId(id), cliActor());
        out({ removed: Number(id) }, () => `removed link #${id}`);
      }),
    );

  // ---- logs
  program
    .command('logs')
    .description('device logs (syslog) the agents shipped')
    .command('search')
    .description('newest first')
    .option('--node <name>')
    .addOption(new Option('--severity <level>', 'this severity or worse').choices([...SEVERITIES]))
    .option('--since <when>', '15m, 2h, 7d ago, or an ISO-8601 time')
    .option('--until <when>', 'same forms')
    .option('--text <text>', 'the message contains this (case-insensitive)')
    .option('--limit <n>', 'at most this many (default 100)')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const logs = await monitor.logs.search(
          Object.fromEntries(
            Object.entries({
              node: o.node,
              severity: o.severity as Severity | undefined,
              from: o.since !== undefined ? parseWhen(o.since, '--since') : undefined,
              to: o.until !== undefined ? parseWhen(o.until, '--until') : undefined,
              text: o.text,
              limit: o.limit !== undefined ? count(o.limit, '--limit', 10_000) : undefined,
            }).filter(([, v]) => v !== undefined),
          ),
        );
        out(logs, () => logs.map(describeLog).join('\n') || 'no logs');
      }),
    );

  // ---- status
  program
    .command('status')
    .description('node status (up, down, unreachable behind a down parent, unknown) and the busiest links')
    .option('--worst <n>', 'how many busiest links to show (default 10)')
    .action(async (o) =>
      withMonitor(async (monitor) => {
        const overview = await monitor.status.overview(o.worst !== undefined ? count(o.worst, '--worst', 1000) : 10);
        out(overview, () => describeStatus(overview));
      }),
    );

  return node;
}

function count(value: string, option: string, max: number): number {
  if (!/^\d{1,6}$/.test(value) || Number(value) < 1 || Number(value) > max) throw new EgovError('bad-request', `${option} must be a whole number 1-${max} (got ${JSON.stringify(value)})`);
  return Number(value);
}

function linkId(id: string): number {
  if (!/^\d{1,15}$/.test(id)) throw new EgovError('bad-request', `link id must be a number (got ${JSON.stringify(id)})`);
  return Number(id);
}
