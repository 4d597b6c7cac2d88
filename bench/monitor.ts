// Issue 4's benchmarks in one run: SNMP walks and polling (bench/snmp.ts),
// syslog received + parsed (bench/syslog.ts) and received + parsed + stored
// in the embedded log store (here), metrics written to InfluxDB and to the
// embedded store (bench/influx.ts).

import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { LogRecord } from '../monitor/index.js';
import { removeTempDir, tempDir } from './lib.js';
import { runMetricsBench, type MetricsBenchReport } from './influx.js';
import { renderSnmpTable, runSnmpBench, type SnmpBenchReport } from './snmp.js';
import { hasTaskset, measureUdpReceiver, pinThisProcessToCoreZero, renderSyslogTable, runSyslogBench, senderDescription, type SyslogBenchReport, type UdpRunResult } from './syslog.js';

export interface StoredSyslogFigure {
  /** Our threads (receiver, UDP reader, storing thread) all on core 0, the sender on the last core: the bar's "on one core". */
  oneCore: boolean;
  /** Messages per second the sender offered (the bar's rate). */
  offeredPerSecond: number;
  received: UdpRunResult;
  stored: number;
  /** From the first message received to the last delivery committed. */
  seconds: number;
  storedPerSecond: number;
  storedPercent: number;
  /** CPU of this process (all its threads) per message stored. */
  cpuMicrosPerMessage: number;
  met: boolean;
}

/** The bar: RFC 5424 messages per second, received, parsed and stored. */
export const STORED_SYSLOG_BAR = 50_000;

/**
 * RFC 5424 over UDP into our receiver (parsing on this thread, as the agent
 * does), delivered in batches of up to 2,000 to the monitor's ingest on
 * another thread (as the monitor is another process) as the JSON body an
 * agent ships, committed to the embedded log store. Offered 10 % above the
 * bar: a pipeline offered exactly the bar's rate can never show the bar,
 * since the last batch's latency is inside the time. Met when at least
 * 99.9 % of what was sent was stored and the stored rate, from the first
 * message received to the last committed, is at least the bar: a backlog
 * that grows (buffered, not lost) shows as a lower rate. With `oneCore`,
 * every thread of ours runs on core 0 and the sender alone on the last.
 */
export async function measureStoredSyslog(messages: number, options: { oneCore: boolean; offeredPerSecond?: number }): Promise<StoredSyslogFigure> {
  const offeredPerSecond = options.offeredPerSecond ?? Math.round(STORED_SYSLOG_BAR * 1.1);
  const unpin = options.oneCore ? await pinThisProcessToCoreZero() : undefined;
  try {
    return await storedRun(messages, offeredPerSecond, options.oneCore);
  } finally {
    await unpin?.();
  }
}

async function storedRun(messages: number, offeredPerSecond: number, oneCore: boolean): Promise<StoredSyslogFigure> {
  const dir = tempDir('syslog-store');
  const worker = new Worker(new URL('./syslog-store-worker.js', import.meta.url), { workerData: { dataDir: dir } });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    let stored = 0;
    let lastCommit = 0;
    worker.on('message', (m: { stored?: number; at?: number }) => {
      if (m.stored !== undefined) {
        stored += m.stored;
        lastCommit = m.at!;
      }
    });
    // A delivery crosses as the UTF-8 JSON body an agent's outbox ships to
    // the monitor over HTTPS (and far cheaper than a structured clone of objects).
    let batch: Array<{ seq: number; kind: 'log'; record: LogRecord }> = [];
    let seq = 0;
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (batch.length === 0) return;
      const body = Buffer.from(JSON.stringify(batch));
      // Moved, not copied: the bytes are the request body the monitor would read.
      worker.postMessage({ body }, [body.buffer]);
      batch = [];
    };
    // From the first message received (not from the sender's start-up) to the last commit.
    let firstReceived: number | undefined;
    const cpuBefore = process.cpuUsage();
    const received = await measureUdpReceiver({
      messages,
      rate: offeredPerSecond,
      sink: (record) => {
        firstReceived ??= performance.timeOrigin + performance.now();
        batch.push({ seq: ++seq, kind: 'log', record });
        if (batch.length >= 2000) flush();
        else timer ??= setTimeout(flush, 20);
      },
    });
    flush();
    const deadline = Date.now() + 60_000;
    while (stored < received.handled && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const cpu = process.cpuUsage(cpuBefore);
    const seconds = Math.max(0.001, (lastCommit - (firstReceived ?? lastCommit)) / 1000);
    const storedPercent = (100 * stored) / received.sent;
    const cpuMicrosPerMessage = (cpu.user + cpu.system) / Math.max(1, stored);
    return { oneCore, offeredPerSecond, received, stored, seconds, storedPerSecond: stored / seconds, storedPercent, cpuMicrosPerMessage, met: storedPercent >= 99.9 && stored / seconds >= STORED_SYSLOG_BAR };
  } finally {
    await new Promise<void>((resolve) => {
      worker.once('message', () => resolve());
      worker.postMessage({ close: true });
      setTimeout(resolve, 5000).unref();
    });
    await worker.terminate();
    removeTempDir(dir);
  }
}

export interface MonitorBenchReport {
  snmp: SnmpBenchReport | { error: string };
  syslog: SyslogBenchReport | { error: string };
  /** On one core (the bar), then with both cores free to our threads; null when taskset cannot pin. */
  syslogStoredOneCore: StoredSyslogFigure | { error: string } | null;
  syslogStored: StoredSyslogFigure | { error: string };
  sender: string;
  metrics: MetricsBenchReport | { error: string };
}

const attempt = async <T>(work: () => Promise<T>): Promise<T | { error: string }> => {
  try {
    return await work();
  } catch (error) {
    return { error: (error as Error).stack ?? String(error) };
  }
};

export async function runMonitorBench(options: { quick: boolean; log: (line: string) => void }): Promise<MonitorBenchReport> {
  const { log, quick } = options;
  const snmp = await attempt(() => runSnmpBench({ quick, log }));
  const syslog = await attempt(() => runSyslogBench({ messages: quick ? 50_000 : 300_000, log }));
  const storedMessages = quick ? 100_000 : 300_000;
  const canPin = (os.availableParallelism?.() ?? os.cpus().length) >= 2 && (await hasTaskset());
  log('syslog: received, parsed and stored (embedded log store), our threads on one core ...');
  const syslogStoredOneCore = canPin ? await attempt(() => measureStoredSyslog(storedMessages, { oneCore: true })) : null;
  log('syslog: the same, our threads free on every core ...');
  const syslogStored = await attempt(() => measureStoredSyslog(storedMessages, { oneCore: false }));
  const metrics = await attempt(() => runMetricsBench({ points: quick ? 50_000 : 200_000, log }));
  return { snmp, syslog, syslogStoredOneCore, syslogStored, sender: await senderDescription(), metrics };
}

export function renderMonitorTables(report: MonitorBenchReport): string {
  const parts: string[] = [];
  parts.push('error' in report.snmp ? `SNMP benchmarks failed: ${report.snmp.error.split('\n')[0]}` : renderSnmpTable(report.snmp));
  parts.push('error' in report.syslog ? `syslog benchmarks failed: ${report.syslog.error.split('\n')[0]}` : renderSyslogTable(report.syslog));
  parts.push(renderStored(report));
  if ('error' in report.metrics) parts.push(`metrics benchmarks failed: ${report.metrics.error.split('\n')[0]}`);
  else {
    const m = report.metrics;
    parts.push(
      [`| metrics written (${m.points.toLocaleString('en')} points, ${m.series.toLocaleString('en')} series) | points/s |`, '|---|---|', ...m.figures.map((f) => `| ${f.store}${f.batchSize ? `, batches of ${f.batchSize}` : ''} | ${Math.round(f.pointsPerSecond).toLocaleString('en')} |`)].join('\n') +
        `\n  InfluxDB ${m.influxdVersion}: batches of 5,000 are ${m.batchSpeedup.toFixed(2)}x batches of 500; embedded is ${m.embeddedVersusInflux.toFixed(2)}x InfluxDB`,
    );
  }
  return parts.join('\n\n');
}

function storedLine(s: StoredSyslogFigure, counts: boolean): string {
  const where = s.oneCore ? 'our threads (receiver, UDP reader, storing) all on core 0, the sender on the other' : 'our threads free on both cores, the sender pinned to one of them';
  const verdict = counts ? (s.met ? 'met' : 'NOT met') : 'reported';
  return (
    `| syslog RFC 5424 over UDP at ${s.offeredPerSecond.toLocaleString('en')}/s offered, parsed and stored (embedded SQLite); ${where} | ${Math.round(s.storedPerSecond).toLocaleString('en')}/s stored, ${s.storedPercent.toFixed(2)}% of sent | bar >= ${STORED_SYSLOG_BAR.toLocaleString('en')}/s on one core | ${verdict} |\n` +
    `  sent ${s.received.sent} at ${Math.round(s.received.sent / s.received.sendSeconds).toLocaleString('en')}/s, parsed ${s.received.handled} (${s.received.lossPercent.toFixed(2)}% lost), stored ${s.stored}; first received to last committed ${s.seconds.toFixed(2)} s; our CPU ${s.cpuMicrosPerMessage.toFixed(1)} us per message stored (${Math.round(1e6 / s.cpuMicrosPerMessage).toLocaleString('en')} per CPU-second)`
  );
}

/** The bar's figure is the one-core run when taskset could pin, else the unpinned one (said so). */
function renderStored(report: MonitorBenchReport): string {
  const lines: string[] = [];
  const one = report.syslogStoredOneCore;
  if (one === null) lines.push('syslog stored on one core: not measured (taskset missing or a single core): the unpinned run below stands for the bar');
  else if ('error' in one) lines.push(`syslog stored on one core: failed: ${one.error.split('\n')[0]}`);
  else lines.push(storedLine(one, true));
  const free = report.syslogStored;
  if ('error' in free) lines.push(`syslog stored: failed: ${free.error.split('\n')[0]}`);
  else lines.push(storedLine(free, one === null));
  lines.push(`  the sender: ${report.sender}; deliveries of up to 2,000 cross to the storing thread as the JSON body an agent ships`);
  return lines.join('\n');
}
