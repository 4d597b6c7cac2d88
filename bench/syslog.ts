// The syslog benchmarks of the "Network monitoring" issue, section 2:
// RFC 5424 messages over UDP into our receiver (received by its native
// reading thread, parsed on the JS thread), the parse-only rate, and
// rsyslogd beside it on the same messages (imudp on a loopback port, omfile
// to a temp file, lines written counted). Not a test: figures are reported,
// never asserted.
//
// Method: a separate sender process (C with sendmmsg when cc is there, else
// node; pinned to the last core when taskset is there) sends N messages as
// fast as it can; the receiver under test (ours
// in this process, or rsyslogd pinned to core 0) is measured from the
// first message it handles to the last, so the rate is what it kept up with
// under an offered load above it; what it dropped (UDP) is reported as loss.
// `measureUdpReceiver({ sink })` takes a sink so the monitor's log store can
// be measured the same way (the "stored" figure).

import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSyslog, UdpSyslogReceiver, type LogSink } from '../agents/syslog/index.js';
import { removeTempDir, run, spawnTracked, stopChild, tempDir } from './lib.js';

export interface UdpRunResult {
  /** Messages the sender sent, and how fast. */
  sent: number;
  sendSeconds: number;
  /** Messages handled: parsed (ours) or lines written (rsyslog). */
  handled: number;
  /** From the first message handled to the last. */
  seconds: number;
  rate: number;
  lossPercent: number;
  /** CPU time the receiver used over the run (user + system), and messages per CPU-second. */
  cpuSeconds: number | null;
  perCpuSecond: number | null;
  /** Ours only: how the UDP socket was read (batched native thread, or node dgram). */
  engine?: string;
}

export interface SyslogBenchFigure {
  name: string;
  ours: string;
  peer: string;
  ratio: number | null;
  notes: string[];
}

export interface SyslogBenchReport {
  message: { example: string; bytes: number };
  parseOnly: { messages: number; seconds: number; rate: number };
  ours: UdpRunResult;
  rsyslog: UdpRunResult | { error: string };
  /** ours.rate / rsyslog.rate: above 1 means we handled more per second. */
  ratio: number | null;
  pinned: boolean;
  sender: string;
  figures: SyslogBenchFigure[];
}

export interface SyslogBenchOptions {
  /** Messages per UDP run. Default 300 000. */
  messages?: number;
  /** Seconds of the parse-only loop. Default 3. */
  parseSeconds?: number;
  rsyslogd?: string;
  log?: (line: string) => void;
}

const LOOPBACK = '127.0.0.1';
const CORES = os.availableParallelism?.() ?? os.cpus().length;
/** Silence after the sender finished that ends a run. */
const QUIET_MS = 500;

/**
 * Message i: RFC 5424 as a router would send it, with structured data,
 * about 200 bytes, different every time. The sender child uses the same
 * function (its source is passed to it), so both receivers see the same bytes.
 */
export function benchMessage(i: number): string {
  const port = i % 48;
  return `<165>1 2026-11-23T12:00:00.${String(i % 1_000_000).padStart(6, '0')}+08:00 county-router-${i % 17}.gov.example ifmgr 4242 LINK [ifmgr@32473 ifIndex="${port + 1}" ifName="GigabitEthernet0/${port}" seq="${i}"] Interface GigabitEthernet0/${port} changed state to ${i % 2 ? 'up' : 'down'}`;
}

// ------------------------------------------------------------ parse only

export function measureParseRate(seconds: number): { messages: number; seconds: number; rate: number } {
  const samples = Array.from({ length: 4096 }, (_, i) => Buffer.from(benchMessage(i)));
  let parsed = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  while (performance.now() < deadline) {
    for (const sample of samples) if (parseSyslog(sample).ok) parsed++;
  }
  const elapsed = (performance.now() - started) / 1000;
  return { messages: parsed, seconds: elapsed, rate: parsed / elapsed };
}

// ------------------------------------------------------------ the sender

const SENDER_SOURCE = `
import dgram from 'node:dgram';
const benchMessage = ${benchMessage.toString()};
const port = Number(process.env.SYSLOG_BENCH_PORT);
const count = Number(process.env.SYSLOG_BENCH_COUNT);
// Messages per second to offer; 0: as fast as one sender goes.
const rate = Number(process.env.SYSLOG_BENCH_RATE ?? 0);
const socket = dgram.createSocket('udp4');
socket.on('error', () => undefined); // ICMP port unreachable before the receiver is up, ENOBUFS: the receiver's count tells
socket.connect(port, '127.0.0.1', async () => {
  const started = performance.now();
  let pending = 0;
  const sent = () => { pending--; };
  for (let i = 0; i < count; i++) {
    pending++;
    socket.send(benchMessage(i), sent);
    if (pending >= 512) await new Promise((resolve) => setImmediate(resolve));
    if (rate > 0 && i % 500 === 499) {
      const ahead = (i + 1) / rate * 1000 - (performance.now() - started);
      if (ahead > 1) await new Promise((resolve) => setTimeout(resolve, ahead));
    }
  }
  while (pending > 0) await new Promise((resolve) => setImmediate(resolve));
  const seconds = (performance.now() - started) / 1000;
  socket.close();
  process.stdout.write(JSON.stringify({ sent: count, seconds }) + '\\n');
});
`;

export async function hasTaskset(): Promise<boolean> {
  try {
    return (await run('taskset', ['-p', String(process.pid)])).code === 0;
  } catch {
    return false;
  }
}

/**
 * Pins every thread of this process to core 0 (threads started later inherit
 * it) and returns a function that puts the previous affinity back: the
 * "on one core" figures run the receiver, its helper threads and the
 * storing thread there, the sender on the last core.
 */
export async function pinThisProcessToCoreZero(): Promise<() => Promise<void>> {
  const before = (await run('taskset', ['-p', String(process.pid)])).stdout.trim().split(':').pop()!.trim();
  const pinned = await run('taskset', ['-a', '-p', '1', String(process.pid)]);
  if (pinned.code !== 0) throw new Error(`taskset could not pin this process: ${pinned.stderr.trim()}`);
  return async () => {
    await run('taskset', ['-a', '-p', before, String(process.pid)]);
  };
}

/** `taskset -c CORE` in front of a command when pinning is possible. */
function pinned(pin: boolean, core: number, command: string, args: string[]): [string, string[]] {
  return pin ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/**
 * The C sender (bench/native/syslog-sender.c, sendmmsg), compiled once per
 * run with the system's cc; null when there is no compiler: the node sender
 * then stands in (it costs the receiver more CPU on a two-core machine).
 */
let nativeSender: Promise<string | null> | undefined;
function compiledSender(): Promise<string | null> {
  nativeSender ??= (async () => {
    const source = fileURLToPath(new URL('../../bench/native/syslog-sender.c', import.meta.url));
    if (!existsSync(source)) return null;
    const binary = path.join(tempDir('syslog-sender'), 'syslog-sender');
    try {
      const built = await run('cc', ['-O2', '-o', binary, source]);
      return built.code === 0 ? binary : null;
    } catch {
      return null;
    }
  })();
  return nativeSender;
}

/** Which sender the last run used, for the report. */
export async function senderDescription(): Promise<string> {
  return (await compiledSender()) ? 'a C sender (sendmmsg, 64 messages a call)' : 'a node sender (dgram, one send per message; no C compiler here)';
}

async function sendMessages(port: number, count: number, pin: boolean, rate = 0): Promise<{ sent: number; seconds: number }> {
  const native = await compiledSender();
  const [command, args] = native
    ? pinned(pin, CORES - 1, native, [String(port), String(count), String(rate)])
    : pinned(pin, CORES - 1, process.execPath, ['--input-type=module', '-e', SENDER_SOURCE]);
  const child = spawnTracked(command, args, { env: { ...process.env, SYSLOG_BENCH_PORT: String(port), SYSLOG_BENCH_COUNT: String(count), SYSLOG_BENCH_RATE: String(rate) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the syslog sender exited ${code}: ${stderr.slice(0, 500)}`);
  return JSON.parse(stdout.trim()) as { sent: number; seconds: number };
}

// ------------------------------------------------------------ watching a count grow

interface Progress {
  first: number | null;
  last: number | null;
  value: number;
}

/** Polls `read` until the sender is done and the value has not changed for QUIET_MS; first/last are when it changed. */
async function watch(read: () => number, senderDone: Promise<unknown>, baseline = 0): Promise<Progress> {
  const progress: Progress = { first: null, last: null, value: baseline };
  let doneAt: number | null = null;
  let done = false;
  void senderDone.then(
    () => (done = true),
    () => (done = true),
  );
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = performance.now();
    const value = read();
    if (value !== progress.value) {
      progress.first ??= now;
      progress.last = now;
      progress.value = value;
    }
    if (done) {
      doneAt ??= now;
      if (now - Math.max(progress.last ?? 0, doneAt) > QUIET_MS) return progress;
    }
  }
}

/**
 * `progress` from polls (the first poll that saw a change was up to 10 ms
 * after the first message: a run has at least one poll interval) or, with
 * `polled` false, timed where the messages were handled.
 */
function runResult(sent: { sent: number; seconds: number }, handled: number, progress: Progress, cpuSeconds: number | null, polled = true): UdpRunResult {
  const pollSeconds = polled ? 0.01 : 0.001;
  const seconds = progress.first !== null && progress.last !== null ? Math.max(pollSeconds, (progress.last - progress.first) / 1000 + (polled ? pollSeconds : 0)) : NaN;
  return {
    sent: sent.sent,
    sendSeconds: sent.seconds,
    handled,
    seconds,
    rate: handled / seconds,
    lossPercent: (100 * (sent.sent - handled)) / sent.sent,
    cpuSeconds,
    perCpuSecond: cpuSeconds ? handled / cpuSeconds : null,
  };
}

// ------------------------------------------------------------ ours

/**
 * Our UDP receiver in this process: `count` messages from the sender child,
 * handed to `sink` (default: counted only). The lead plugs the monitor's log
 * store in here for the "received, parsed and stored" figure.
 */
export async function measureUdpReceiver(options: { messages: number; sink?: LogSink; pin?: boolean; rate?: number }): Promise<UdpRunResult> {
  const pin = options.pin ?? (CORES >= 2 && (await hasTaskset()));
  // The first and last message handed over are timed in the sink itself: the
  // batched engine hands JavaScript many batches in one go, so a poll of the
  // count from a timer may see the whole run between two ticks.
  const sink = options.sink ?? (() => undefined);
  const handed: Progress = { first: null, last: null, value: 0 };
  const timedSink: LogSink = (record, receipt) => {
    const now = performance.now();
    handed.first ??= now;
    handed.last = now;
    sink(record, receipt);
  };
  const receiver = new UdpSyslogReceiver({ host: LOOPBACK, port: 0, sink: timedSink, nodeForAddress: () => 'bench-router' });
  const { port } = await receiver.listen();
  try {
    const cpuBefore = process.cpuUsage();
    const sending = sendMessages(port, options.messages, pin, options.rate ?? 0);
    await watch(() => receiver.counters.parsed, sending);
    const cpu = process.cpuUsage(cpuBefore);
    const sent = await sending;
    // Our CPU over the whole watch (it includes the quiet tail, where the process idles): an upper bound.
    return { ...runResult(sent, receiver.counters.parsed, handed, (cpu.user + cpu.system) / 1e6, false), engine: receiver.engine ?? 'none' };
  } finally {
    await receiver.close();
  }
}

// ------------------------------------------------------------ rsyslog

function rsyslogConfig(dir: string, port: number): string {
  return `# egov-ops bench: imudp on loopback, every message to one file
global(workDirectory="${dir}/work" maxMessageSize="64k")
module(load="imudp")
input(type="imudp" address="${LOOPBACK}" port="${port}" rcvbufSize="4m")
template(name="benchLine" type="string" string="%timereported:::date-rfc3339% %hostname% %app-name% %procid% %msgid% %structured-data% %msg%\\n")
action(type="omfile" file="${dir}/out.log" template="benchLine")
`;
}

async function freeUdpPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, LOOPBACK, () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

async function countLines(file: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(file) as AsyncIterable<Buffer>) {
    for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
  }
  return lines;
}

function processCpuSeconds(pid: number): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
  } catch {
    return null;
  }
}

/** rsyslogd with a temp config: the same messages over UDP, lines in its output file counted. */
export async function measureRsyslogUdp(options: { messages: number; rsyslogd?: string; pin?: boolean; log?: (line: string) => void }): Promise<UdpRunResult> {
  const rsyslogd = options.rsyslogd ?? '/usr/sbin/rsyslogd';
  if (!existsSync(rsyslogd)) throw new Error(`${rsyslogd} is not installed (Debian package rsyslog)`);
  const pin = options.pin ?? (CORES >= 2 && (await hasTaskset()));
  const dir = tempDir('rsyslog');
  try {
    const port = await freeUdpPort();
    const config = path.join(dir, 'rsyslog.conf');
    const output = path.join(dir, 'out.log');
    writeFileSync(config, rsyslogConfig(dir, port));
    mkdirSync(path.join(dir, 'work'));
    const [command, args] = pinned(pin, 0, rsyslogd, ['-n', '-f', config, '-i', path.join(dir, 'rsyslogd.pid')]);
    const daemon = spawnTracked(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    daemon.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
    try {
      await waitForRsyslog(port, output, daemon, () => stderr);
      const baseline = await countLines(output);
      const size = () => (existsSync(output) ? statSync(output).size : 0);
      const cpuBefore = processCpuSeconds(daemon.pid!);
      const sending = sendMessages(port, options.messages, pin);
      const progress = await watch(size, sending, size());
      const cpuAfter = processCpuSeconds(daemon.pid!);
      const sent = await sending;
      const handled = (await countLines(output)) - baseline;
      return runResult(sent, handled, progress, cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null);
    } finally {
      await stopChild(daemon);
    }
  } finally {
    removeTempDir(dir);
  }
}

/** Probes until rsyslogd writes a line: it is listening and its output works. */
async function waitForRsyslog(port: number, output: string, daemon: ReturnType<typeof spawnTracked>, stderr: () => string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => undefined);
  try {
    const deadline = Date.now() + 10_000;
    while (!(existsSync(output) && statSync(output).size > 0)) {
      if (daemon.exitCode !== null) throw new Error(`rsyslogd exited ${daemon.exitCode}: ${stderr().slice(0, 500)}`);
      if (Date.now() > deadline) throw new Error(`rsyslogd wrote nothing within 10 s: ${stderr().slice(0, 500)}`);
      socket.send('<13>1 - bench probe - - - ready?', port, LOOPBACK);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 300)); // let late probes land before the baseline is taken
  } finally {
    socket.close();
  }
}

// ------------------------------------------------------------ the suite

export async function runSyslogBench(options: SyslogBenchOptions = {}): Promise<SyslogBenchReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const messages = options.messages ?? 300_000;
  const pin = CORES >= 2 && (await hasTaskset());
  const example = benchMessage(1);

  log(`syslog: parse-only for ${options.parseSeconds ?? 3} s ...`);
  const parseOnly = measureParseRate(options.parseSeconds ?? 3);
  log(`syslog: ${messages} RFC 5424 messages over UDP to our receiver ...`);
  const ours = await measureUdpReceiver({ messages, pin });
  log(`syslog: the same to rsyslogd ...`);
  let rsyslog: UdpRunResult | { error: string };
  try {
    rsyslog = await measureRsyslogUdp({ messages, pin, ...(options.rsyslogd ? { rsyslogd: options.rsyslogd } : {}), log });
  } catch (error) {
    rsyslog = { error: (error as Error).message };
  }
  const ratio = 'rate' in rsyslog ? ours.rate / rsyslog.rate : null;
  const report: SyslogBenchReport = { message: { example, bytes: Buffer.byteLength(example) }, parseOnly, ours, rsyslog, ratio, pinned: pin, sender: await senderDescription(), figures: [] };
  report.figures = figuresOf(report);
  return report;
}

const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function figuresOf(report: SyslogBenchReport): SyslogBenchFigure[] {
  const { ours, rsyslog } = report;
  const peerRun = 'rate' in rsyslog ? rsyslog : null;
  const runNotes = (who: string, r: UdpRunResult) => [
    `${who}: ${fmt(r.handled)} of ${fmt(r.sent)} handled in ${fmt(r.seconds, 2)} s (loss ${fmt(r.lossPercent, 1)}%), ${r.cpuSeconds === null ? 'CPU not measured' : `${fmt(r.cpuSeconds, 2)} CPU-s`}; the sender sent at ${fmt(r.sent / r.sendSeconds)} msg/s`,
    // A receiver that lost nothing was held back by the sender: its rate is the offered load, not its ceiling.
    ...(r.lossPercent < 1 ? [`${who} kept up with the sender: its rate is a lower bound of what it can do (compare per CPU-second)`] : []),
  ];
  const perCpuRatio = peerRun?.perCpuSecond && ours.perCpuSecond ? ours.perCpuSecond / peerRun.perCpuSecond : null;
  return [
    {
      name: `RFC 5424 parse only (${report.message.bytes}-byte messages with structured data, one core)`,
      ours: `${fmt(report.parseOnly.rate)} msg/s`,
      peer: '-',
      ratio: null,
      notes: [`${fmt(report.parseOnly.messages)} messages in ${fmt(report.parseOnly.seconds, 2)} s`],
    },
    {
      name: 'RFC 5424 over UDP: received + parsed (ours) vs received + written to a file (rsyslogd imudp/omfile)',
      ours: `${fmt(ours.rate)} msg/s`,
      peer: peerRun ? `${fmt(peerRun.rate)} msg/s` : `failed: ${(rsyslog as { error: string }).error}`,
      ratio: report.ratio,
      notes: [
        ...runNotes('ours', ours),
        ...(peerRun ? runNotes('rsyslogd', peerRun) : []),
        report.pinned ? 'sender pinned to the last core, rsyslogd to core 0 (taskset)' : 'no pinning (taskset missing or one core)',
        `ours reads UDP with the ${ours.engine} engine${ours.engine === 'batched' ? ' (a native thread, recvmmsg, batches to the JS thread that parses)' : ''}`,
        `the sender: ${report.sender}`,
        'the offered load is as fast as one sender can go; a receiver slower than it drops datagrams in the kernel (loss), so the rate is what it kept up with',
        'rsyslogd also writes every message to a file, ours only counts it here: the stored figure is measureUdpReceiver({ sink })',
      ],
    },
    {
      name: 'the same, per CPU-second of the receiver (its cost, whatever the sender)',
      ours: `${fmt(ours.perCpuSecond)} msg/CPU-s`,
      peer: peerRun ? `${fmt(peerRun.perCpuSecond)} msg/CPU-s` : '-',
      ratio: perCpuRatio,
      notes: ['ours: CPU of this node process over the run (receive, parse, build the record); rsyslogd: utime + stime of the daemon from /proc'],
    },
  ];
}

export function renderSyslogTable(report: SyslogBenchReport): string {
  const header = ['figure', 'egov-ops', 'rsyslogd', 'ratio'];
  const body = report.figures.map((f) => [f.name, f.ours, f.peer, f.ratio === null ? '-' : `${fmt(f.ratio, 2)}x`]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const notes = report.figures.flatMap((f) => [`\n${f.name}`, ...f.notes.map((n) => `   - ${n}`)]);
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line), ...notes].join('\n');
}

export const syslogBenchDefaults = { messages: 300_000, quickMessages: 50_000 };
