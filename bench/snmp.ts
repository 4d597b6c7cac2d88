// The SNMP benchmarks of the network-monitoring issue, section 2:
//
// (a) walking the same snmpd agent, OIDs per second: our client (in
//     process, and as a fresh node process that prints every line like the
//     CLI), net-snmp's snmpbulkwalk (C, a process per subtree), and
//     prometheus-snmp-exporter (Go, one HTTP scrape of a module we generate
//     into a temp dir). Same max-repetitions everywhere.
// (b) one SnmpPoller polling 1,000 simulated devices (~50 OIDs each):
//     snmpd processes listening on 125 ports each (snmpd opens at most 128),
//     the poller in a child process of its own, a shortened interval, CPU
//     normalised to a 60 s interval and peak RSS of that child.
//
// Not a test: figures are reported, never asserted. Only our own numbers
// are produced here; a peer that cannot run is reported as such.

import dgram from 'node:dgram';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { parseEndpoint, SnmpSession, type Credentials } from '../agents/snmp/index.js';
import { removeTempDir, run, sleep, spawnTracked, stopChild, tempDir } from './lib.js';

export interface SnmpBenchOptions {
  quick: boolean;
  log?: (line: string) => void;
}

export interface WalkRate {
  tool: string;
  oids: number;
  seconds: number;
  oidsPerSecond: number;
  runs: number;
  note?: string;
}

export interface WalkSubtreeReport {
  label: string;
  roots: string[];
  oidsPerWalk: number;
  rates: WalkRate[];
  /** Tools that could not be measured, with why. */
  unavailable: Array<{ tool: string; reason: string }>;
}

export interface WalkBenchReport {
  maxRepetitions: number;
  rounds: number;
  subtrees: WalkSubtreeReport[];
}

export interface PollerRun {
  credentials: 'v2c' | 'v3 authPriv SHA-256/AES';
  devices: number;
  snmpdProcesses: number;
  intervalMs: number;
  measuredCycles: number;
  /** Values received per device per poll, measured. */
  oidsPerDevice: number;
  cpuSecondsPerCycle: number;
  /** CPU of one core the poller would use at a 60 s interval (cpu seconds per cycle / 60 s). */
  cpuPercentOfCoreAt60s: number;
  /** CPU at the shortened interval actually run. */
  cpuPercentOfCoreAtInterval: number;
  cycleSecondsMax: number;
  cycleSecondsMedian: number;
  peakRssMiB: number;
  /** RSS right after loading the modules, before any session: the baseline inside the peak. */
  rssAfterLoadMiB: number;
  heapUsedMiB: number;
  pollsOk: number;
  pollsFailed: number;
  overruns: number;
  firstCycleSeconds: number;
}

export interface PollerBenchReport {
  runs: PollerRun[];
}

export interface SnmpBenchFigure {
  name: string;
  ours: string;
  peer: string;
  ratio: string;
  notes: string[];
}

export interface SnmpBenchReport {
  walk: WalkBenchReport;
  poller: PollerBenchReport;
  figures: SnmpBenchFigure[];
}

const COMMUNITY = 'bench-ro';
const V3 = { user: 'benchuser', authPassword: 'benchauth123', privPassword: 'benchpriv123' };
const MAX_REPETITIONS = 25;
const PORTS_PER_SNMPD = 125;
const AGENT_MODULE = fileURLToPath(new URL('../agents/snmp/index.js', import.meta.url));

const noop = () => undefined;
const f1 = (n: number) => n.toFixed(1);
const f0 = (n: number) => Math.round(n).toLocaleString('en-US');

// ------------------------------------------------------------ snmpd

interface BenchAgent {
  ports: number[];
  child: ChildProcess;
}

/** Distinct UDP ports free right now: all bound at once, then released. */
async function freeUdpPorts(count: number): Promise<number[]> {
  const sockets = await Promise.all(
    Array.from({ length: count }, () => new Promise<dgram.Socket>((resolve, reject) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve(socket));
    })),
  );
  const ports = sockets.map((s) => s.address().port);
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

async function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function toolEnv(dir: string): NodeJS.ProcessEnv {
  writeFileSync(path.join(dir, 'snmp.conf'), `mibs :\npersistentDir ${dir}\n`);
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', SNMPCONFPATH: dir, SNMP_PERSISTENT_DIR: dir, LANG: 'C' };
}

async function startSnmpd(dir: string, ports: number[], env: NodeJS.ProcessEnv): Promise<BenchAgent> {
  const config = path.join(dir, `snmpd-${ports[0]}.conf`);
  writeFileSync(
    config,
    [
      `agentAddress ${ports.map((p) => `udp:127.0.0.1:${p}`).join(',')}`,
      `rocommunity ${COMMUNITY} 127.0.0.1`,
      `rouser ${V3.user} priv`,
      `createUser ${V3.user} SHA-256 ${V3.authPassword} AES ${V3.privPassword}`,
      '',
    ].join('\n'),
  );
  const persist = path.join(dir, `persist-${ports[0]}`);
  const child = spawnTracked('/usr/sbin/snmpd', ['-f', '-Lo', '-C', '-m', '', '-c', config, '-p', path.join(dir, `snmpd-${ports[0]}.pid`)], {
    env: { PATH: env.PATH, SNMP_PERSISTENT_DIR: persist },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  for (let i = 0; i < 100; i++) {
    const probe = await run('snmpget', ['-v2c', '-c', COMMUNITY, '-t', '0.3', '-r', '0', `127.0.0.1:${ports[ports.length - 1]}`, '.1.3.6.1.2.1.1.3.0'], { env });
    if (probe.code === 0) return { ports, child };
    if (child.exitCode !== null) throw new Error(`snmpd exited (${child.exitCode}) for ports ${ports[0]}..`);
    await sleep(100);
  }
  throw new Error(`snmpd did not answer on ${ports[ports.length - 1]}`);
}

// ------------------------------------------------------------ (a) walks

const SUBTREES: Array<{ label: string; roots: string[] }> = [
  { label: 'system + IF-MIB (ifTable, ifXTable)', roots: ['1.3.6.1.2.1.1', '1.3.6.1.2.1.2', '1.3.6.1.2.1.31'] },
  { label: 'whole mib-2', roots: ['1.3.6.1.2.1'] },
];

/** The egov-ops command itself, as an administrator or a script calls it (`egov-ops snmp walk`). */
const CLI_MAIN = fileURLToPath(new URL('../egov-ops/main.js', import.meta.url));

function exporterConfig(roots: string[]): string {
  // A module as prometheus-snmp-generator would write it, for the IF-MIB counters and states (unlisted OIDs are walked and dropped).
  const metric = (name: string, oid: string, type: string) => `  - name: ${name}\n    oid: ${oid}\n    type: ${type}\n    help: ${name} - ${oid}\n    indexes:\n    - labelname: ifIndex\n      type: gauge\n`;
  return [
    'egov_bench:',
    '  walk:',
    ...roots.map((r) => `  - ${r}`),
    '  metrics:',
    '  - name: sysUpTime\n    oid: 1.3.6.1.2.1.1.3\n    type: gauge\n    help: sysUpTime - 1.3.6.1.2.1.1.3',
    metric('ifDescr', '1.3.6.1.2.1.2.2.1.2', 'DisplayString').trimEnd(),
    metric('ifAdminStatus', '1.3.6.1.2.1.2.2.1.7', 'gauge').trimEnd(),
    metric('ifOperStatus', '1.3.6.1.2.1.2.2.1.8', 'gauge').trimEnd(),
    metric('ifInErrors', '1.3.6.1.2.1.2.2.1.14', 'counter').trimEnd(),
    metric('ifOutErrors', '1.3.6.1.2.1.2.2.1.20', 'counter').trimEnd(),
    metric('ifInDiscards', '1.3.6.1.2.1.2.2.1.13', 'counter').trimEnd(),
    metric('ifOutDiscards', '1.3.6.1.2.1.2.2.1.19', 'counter').trimEnd(),
    metric('ifName', '1.3.6.1.2.1.31.1.1.1.1', 'DisplayString').trimEnd(),
    metric('ifHCInOctets', '1.3.6.1.2.1.31.1.1.1.6', 'counter').trimEnd(),
    metric('ifHCOutOctets', '1.3.6.1.2.1.31.1.1.1.10', 'counter').trimEnd(),
    metric('ifHighSpeed', '1.3.6.1.2.1.31.1.1.1.15', 'gauge').trimEnd(),
    '  version: 2',
    `  max_repetitions: ${MAX_REPETITIONS}`,
    '  retries: 0',
    '  timeout: 10s',
    '  auth:',
    `    community: ${COMMUNITY}`,
    '',
  ].join('\n');
}

async function httpText(url: string): Promise<{ status: number; text: string }> {
  const response = await fetch(url);
  return { status: response.status, text: await response.text() };
}

/** prometheus-snmp-exporter scraping the same agent: OIDs from its own snmp_scrape_pdus_returned, time from the HTTP round trip. */
async function exporterRates(dir: string, target: string, roots: string[], rounds: number): Promise<WalkRate | { reason: string }> {
  const binary = '/usr/bin/prometheus-snmp-exporter';
  if (!existsSync(binary)) return { reason: `${binary} is not installed (npm run bench installs it as root: apt-get install prometheus-snmp-exporter)` };
  const config = path.join(dir, `snmp-${roots.length}.yml`);
  writeFileSync(config, exporterConfig(roots));
  const port = await freeTcpPort();
  const child = spawnTracked(binary, [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=error'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let spawnError = false;
  child.on('error', (error) => {
    spawnError = true;
    stderr += error.message;
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = () => spawnError || child.exitCode !== null;
  try {
    const url = `http://127.0.0.1:${port}/snmp?target=${encodeURIComponent(target)}&module=egov_bench`;
    let ready = false;
    for (let i = 0; i < 50 && !ready && !exited(); i++) {
      ready = await httpText(`http://127.0.0.1:${port}/`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await sleep(100);
    }
    if (!ready) return { reason: `prometheus-snmp-exporter did not start: ${stderr.trim().slice(0, 300) || 'no answer on its port'}` };
    const first = await httpText(url); // warm-up, and a check that the module works
    const pdus = Number(/^snmp_scrape_pdus_returned (\d+)/m.exec(first.text)?.[1]);
    if (first.status !== 200 || !(pdus > 0)) return { reason: `scrape failed (HTTP ${first.status}): ${first.text.slice(0, 300)}` };
    let oids = 0;
    let walkSeconds = 0;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) {
      const scrape = await httpText(url);
      oids += Number(/^snmp_scrape_pdus_returned (\d+)/m.exec(scrape.text)?.[1] ?? 0);
      walkSeconds += Number(/^snmp_scrape_walk_duration_seconds (\S+)/m.exec(scrape.text)?.[1] ?? 0);
    }
    const seconds = (performance.now() - started) / 1000;
    return { tool: 'prometheus-snmp-exporter 0.21 (HTTP scrape)', oids, seconds, oidsPerSecond: oids / seconds, runs: rounds, note: `its own walk time ${f1((1000 * walkSeconds) / rounds)} ms per scrape (${f0(oids / walkSeconds)} OIDs/s inside the exporter)` };
  } finally {
    await stopChild(child);
  }
}

async function timedRounds(rounds: number, once: () => Promise<number>): Promise<{ oids: number; seconds: number }> {
  await once(); // warm-up: agent caches, engine discovery
  let oids = 0;
  const started = performance.now();
  for (let i = 0; i < rounds; i++) oids += await once();
  return { oids, seconds: (performance.now() - started) / 1000 };
}

const rate = (tool: string, runs: number, r: { oids: number; seconds: number }, note?: string): WalkRate => ({ tool, runs, oids: r.oids, seconds: r.seconds, oidsPerSecond: r.oids / r.seconds, ...(note ? { note } : {}) });

export async function runSnmpWalkBench(options: SnmpBenchOptions): Promise<WalkBenchReport> {
  const log = options.log ?? noop;
  const rounds = options.quick ? 5 : 20;
  const dir = tempDir('snmp-walk');
  const env = toolEnv(dir);
  const [port] = await freeUdpPorts(1);
  const agent = await startSnmpd(dir, [port!], env);
  const target = `127.0.0.1:${port}`;
  const v2c: Credentials = { version: '2c', community: COMMUNITY };
  const v3: Credentials = { version: '3', user: V3.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: V3.authPassword, privProtocol: 'AES', privPassword: V3.privPassword };
  const v3Flags = ['-v3', '-l', 'authPriv', '-u', V3.user, '-a', 'SHA-256', '-A', V3.authPassword, '-x', 'AES', '-X', V3.privPassword];
  const subtrees: WalkSubtreeReport[] = [];
  try {
    for (const { label, roots } of SUBTREES) {
      log(`  walk ${label} (${rounds} rounds each) ...`);
      const rates: WalkRate[] = [];
      const unavailable: WalkSubtreeReport['unavailable'] = [];
      for (const [credLabel, credentials, flags] of [['v2c', v2c, ['-v2c', '-c', COMMUNITY]], ['v3 authPriv', v3, v3Flags]] as const) {
        if (credLabel === 'v3 authPriv' && label !== 'whole mib-2') continue;
        const session = SnmpSession.open(parseEndpoint(target), credentials, { maxRepetitions: MAX_REPETITIONS });
        try {
          const inProcess = await timedRounds(rounds, async () => {
            let n = 0;
            for (const root of roots) n += (await session.walk(root, () => undefined)).count;
            return n;
          });
          rates.push(rate(`egov-ops client, in process (${credLabel})`, rounds, inProcess));
        } finally {
          session.close();
        }
        // One `egov-ops snmp walk` process per subtree, exactly as snmpbulkwalk runs below.
        const startUp = await timedRounds(rounds, async () => {
          const r = await run(process.execPath, [CLI_MAIN, 'snmp', '--help']);
          if (r.code !== 0) throw new Error(`egov-ops snmp --help failed: ${r.stderr.slice(0, 300)}`);
          return 0;
        });
        const childRun = await timedRounds(rounds, async () => {
          let n = 0;
          for (const root of roots) {
            const r = await run(process.execPath, [CLI_MAIN, 'snmp', 'walk', `-Cr${MAX_REPETITIONS}`, ...flags, target, `.${root}`]);
            if (r.code !== 0) throw new Error(`egov-ops snmp walk failed: ${r.stderr.slice(0, 300)}`);
            n += r.stdout.split('\n').filter((l) => l.startsWith('.')).length;
          }
          return n;
        });
        rates.push(rate(`egov-ops snmp walk, a process per subtree (${credLabel})`, rounds, childRun, `includes node start-up: \`egov-ops snmp --help\` alone takes ${f0((1000 * startUp.seconds) / rounds)} ms`));
        const bulk = await timedRounds(rounds, async () => {
          let n = 0;
          for (const root of roots) {
            const r = await run('snmpbulkwalk', ['-On', `-Cr${MAX_REPETITIONS}`, ...flags, target, `.${root}`], { env });
            if (r.code !== 0) throw new Error(`snmpbulkwalk failed: ${r.stderr.slice(0, 300)}`);
            n += r.stdout.split('\n').filter((l) => l.startsWith('.')).length;
          }
          return n;
        });
        rates.push(rate(`snmpbulkwalk 5.9 (C), a process per subtree (${credLabel})`, rounds, bulk, `${roots.length} process(es) per walk`));
      }
      const exporter = await exporterRates(dir, target, roots, rounds).catch((error: Error) => ({ reason: error.message }));
      if ('reason' in exporter) unavailable.push({ tool: 'prometheus-snmp-exporter', reason: exporter.reason });
      else rates.push(exporter);
      subtrees.push({ label, roots, oidsPerWalk: Math.round(rates[0]!.oids / rates[0]!.runs), rates, unavailable });
    }
  } finally {
    await stopChild(agent.child);
    removeTempDir(dir);
  }
  return { maxRepetitions: MAX_REPETITIONS, rounds, subtrees };
}

// ------------------------------------------------------------ (b) the poller

/** The poller in a process of its own, so its CPU and RSS are its own: polls every target each interval, reports JSON. */
const POLLER_CHILD = `
const { SnmpPoller, mergeOidSets, DEFAULT_OID_SETS } = await import(process.env.AGENT_MODULE);
const rssAfterLoadKiB = Math.round(process.memoryUsage().rss / 1024);
// The targets come on stdin: a thousand v3 targets do not fit in one environment variable.
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
// Router kind plus ifType and ifMtu: about 50 values a poll on a 4-interface agent.
const oidSets = mergeOidSets(DEFAULT_OID_SETS, {
  groups: { ifExtra: { kind: 'table', measurement: 'interface', indexTag: 'ifIndex', columns: {
    type: { role: 'gauge', field: 'ifType', oids: ['1.3.6.1.2.1.2.2.1.3'] },
    mtu: { role: 'gauge', field: 'mtu', oids: ['1.3.6.1.2.1.2.2.1.4'] } } } },
  kinds: { router: ['ifExtra'] },
});
let records = 0;
const poller = new SnmpPoller({ targets: cfg.targets, intervalMs: cfg.intervalMs, concurrency: cfg.concurrency, oidSets, timing: { timeoutMs: 5000, retries: 1 }, onRecord: () => records++ });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = performance.now();
await poller.pollOnce();
const firstCycleSeconds = (performance.now() - t0) / 1000;
const warm = poller.stats();
await sleep(Math.max(0, cfg.intervalMs - (performance.now() - t0)));
const cpu0 = process.cpuUsage();
const cycles = [];
for (let i = 0; i < cfg.cycles; i++) {
  const start = performance.now();
  await poller.pollOnce();
  cycles.push((performance.now() - start) / 1000);
  if (i < cfg.cycles - 1) await sleep(Math.max(0, cfg.intervalMs - (performance.now() - start)));
}
const cpu = process.cpuUsage(cpu0);
const stats = poller.stats();
await poller.stop();
process.stdout.write(JSON.stringify({ firstCycleSeconds, cycles, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssKiB: process.resourceUsage().maxRSS, rssAfterLoadKiB, heapUsedKiB: Math.round(process.memoryUsage().heapUsed / 1024), stats, warm, records }));
`;

async function pollerRun(targets: unknown[], devices: number, snmpdProcesses: number, label: PollerRun['credentials'], intervalMs: number, cycles: number): Promise<PollerRun> {
  const r = await run(process.execPath, ['--input-type=module', '-e', POLLER_CHILD], {
    env: { ...process.env, AGENT_MODULE: new URL(`file://${AGENT_MODULE}`).href },
    input: JSON.stringify({ targets, intervalMs, cycles, concurrency: 100 }),
  });
  if (r.code !== 0) throw new Error(`poller child failed: ${r.stderr.slice(0, 500)}`);
  const out = JSON.parse(r.stdout) as {
    firstCycleSeconds: number;
    cycles: number[];
    cpuSeconds: number;
    maxRssKiB: number;
    rssAfterLoadKiB: number;
    heapUsedKiB: number;
    stats: { pollsOk: number; pollsFailed: number; overruns: number; varbindsReceived: number };
    warm: { pollsOk: number; varbindsReceived: number };
  };
  const measuredPolls = out.stats.pollsOk - out.warm.pollsOk;
  const sorted = [...out.cycles].sort((a, b) => a - b);
  const cpuSecondsPerCycle = out.cpuSeconds / cycles;
  return {
    credentials: label,
    devices,
    snmpdProcesses,
    intervalMs,
    measuredCycles: cycles,
    oidsPerDevice: measuredPolls > 0 ? (out.stats.varbindsReceived - out.warm.varbindsReceived) / measuredPolls : 0,
    cpuSecondsPerCycle,
    cpuPercentOfCoreAt60s: (cpuSecondsPerCycle / 60) * 100,
    cpuPercentOfCoreAtInterval: (cpuSecondsPerCycle / (intervalMs / 1000)) * 100,
    cycleSecondsMax: sorted[sorted.length - 1] ?? 0,
    cycleSecondsMedian: sorted[Math.floor(sorted.length / 2)] ?? 0,
    peakRssMiB: out.maxRssKiB / 1024,
    rssAfterLoadMiB: out.rssAfterLoadKiB / 1024,
    heapUsedMiB: out.heapUsedKiB / 1024,
    pollsOk: out.stats.pollsOk,
    pollsFailed: out.stats.pollsFailed,
    overruns: out.stats.overruns,
    firstCycleSeconds: out.firstCycleSeconds,
  };
}

export async function runSnmpPollerBench(options: SnmpBenchOptions & { devices?: number }): Promise<PollerBenchReport> {
  const log = options.log ?? noop;
  const devices = options.devices ?? (options.quick ? 250 : 1000);
  const intervalMs = options.quick ? 3000 : 5000;
  const cycles = options.quick ? 2 : 3;
  const dir = tempDir('snmp-poll');
  const env = toolEnv(dir);
  const agents: BenchAgent[] = [];
  try {
    const ports = await freeUdpPorts(devices);
    for (let i = 0; i < ports.length; i += PORTS_PER_SNMPD) agents.push(await startSnmpd(dir, ports.slice(i, i + PORTS_PER_SNMPD), env));
    log(`  ${devices} simulated devices on ${agents.length} snmpd processes; poller in a child process, interval ${intervalMs / 1000} s ...`);
    const runs: PollerRun[] = [];
    const v2c = ports.map((port, i) => ({ name: `dev-${i}`, address: '127.0.0.1', port, kind: 'router', credentials: { version: '2c', community: COMMUNITY } }));
    runs.push(await pollerRun(v2c, devices, agents.length, 'v2c', intervalMs, cycles));
    if (!options.quick) {
      const v3 = v2c.map((t) => ({ ...t, credentials: { version: '3', user: V3.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: V3.authPassword, privProtocol: 'AES', privPassword: V3.privPassword } }));
      log('  the same devices over v3 authPriv (SHA-256/AES) ...');
      runs.push(await pollerRun(v3, devices, agents.length, 'v3 authPriv SHA-256/AES', intervalMs, cycles));
    }
    return { runs };
  } finally {
    for (const agent of agents) await stopChild(agent.child);
    removeTempDir(dir);
  }
}

// ------------------------------------------------------------ both, as figures

export async function runSnmpBench(options: SnmpBenchOptions): Promise<SnmpBenchReport> {
  const log = options.log ?? noop;
  log('(a) walks of one snmpd agent');
  const walk = await runSnmpWalkBench(options);
  log('(b) one poller, many devices');
  const poller = await runSnmpPollerBench(options);
  const figures: SnmpBenchFigure[] = [];
  for (const subtree of walk.subtrees) {
    const ours = subtree.rates.find((r) => r.tool.startsWith('egov-ops client, in process (v2c'))!;
    const oursProcess = subtree.rates.find((r) => r.tool.startsWith('egov-ops snmp walk') && r.tool.endsWith('(v2c)'))!;
    const bulk = subtree.rates.find((r) => r.tool.startsWith('snmpbulkwalk') && r.tool.endsWith('(v2c)'))!;
    const exporter = subtree.rates.find((r) => r.tool.startsWith('prometheus'));
    figures.push({
      name: `walk ${subtree.label}, ${f0(subtree.oidsPerWalk)} OIDs, OIDs/s (v2c)`,
      ours: `${f0(ours.oidsPerSecond)} in process; ${f0(oursProcess.oidsPerSecond)} as a process`,
      peer: `snmpbulkwalk ${f0(bulk.oidsPerSecond)}${exporter ? `; exporter ${f0(exporter.oidsPerSecond)}` : ''}`,
      ratio: `${(ours.oidsPerSecond / bulk.oidsPerSecond).toFixed(2)}x / ${(oursProcess.oidsPerSecond / bulk.oidsPerSecond).toFixed(2)}x snmpbulkwalk${exporter ? `; ${(ours.oidsPerSecond / exporter.oidsPerSecond).toFixed(2)}x exporter` : ''}`,
      notes: [
        ...subtree.rates.map((r) => `${r.tool}: ${f0(r.oidsPerSecond)} OIDs/s (${f0(r.oids)} OIDs in ${r.seconds.toFixed(2)} s over ${r.runs} walks)${r.note ? `; ${r.note}` : ''}`),
        ...subtree.unavailable.map((u) => `${u.tool}: not measured: ${u.reason}`),
        `max-repetitions ${walk.maxRepetitions} for every tool; snmpd on the same machine answers them all, so its own cost is inside every figure`,
      ],
    });
  }
  for (const r of poller.runs) {
    figures.push({
      name: `poller, ${f0(r.devices)} devices x ${f0(r.oidsPerDevice)} OIDs (${r.credentials})`,
      ours: `${r.cpuPercentOfCoreAt60s.toFixed(2)}% of a core at 60 s; peak RSS ${f1(r.peakRssMiB)} MiB`,
      peer: '-',
      ratio: '-',
      notes: [
        `measured over ${r.measuredCycles} cycles at a ${r.intervalMs / 1000} s interval: ${r.cpuSecondsPerCycle.toFixed(2)} CPU s per cycle (${r.cpuPercentOfCoreAtInterval.toFixed(1)}% of a core at that interval); normalised to 60 s as cpu-seconds-per-cycle / 60`,
        `cycle time median ${r.cycleSecondsMedian.toFixed(2)} s, max ${r.cycleSecondsMax.toFixed(2)} s (concurrency 100); first cycle ${r.firstCycleSeconds.toFixed(2)} s (sessions, discovery${r.credentials.startsWith('v3') ? ', v3 key localisation' : ''}), not in the CPU figure`,
        `polls ok ${f0(r.pollsOk)}, failed ${f0(r.pollsFailed)}, overruns ${f0(r.overruns)}; ${r.snmpdProcesses} snmpd processes (125 ports each) serve the devices, their CPU is not counted`,
        `peak RSS is the VmHWM of the poller child process; ${f1(r.rssAfterLoadMiB)} MiB of it is node with the modules loaded, before any device; JS heap in use at the end ${f1(r.heapUsedMiB)} MiB`,
      ],
    });
  }
  return { walk, poller, figures };
}

export function renderSnmpTable(report: SnmpBenchReport): string {
  const header = ['figure', 'egov-ops', 'peers', 'ratio'];
  const body = report.figures.map((f) => [f.name, f.ours, f.peer, f.ratio]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const notes = report.figures.flatMap((f) => [`\n${f.name}`, ...f.notes.map((n) => `   - ${n}`)]);
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line), ...notes].join('\n');
}
