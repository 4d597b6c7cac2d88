// Issue 4's benchmarks in one run: SNMP walks and polling (bench/snmp.ts),
// syslog received + parsed (bench/syslog.ts) and received + parsed + stored
// in the embedded log store (here), metrics written to InfluxDB and to the
// embedded store (bench/influx.ts).

import { Worker } from 'node:worker_threads';
import type { LogRecord } from '../monitor/index.js';
import { removeTempDir, tempDir } from './lib.js';
import { runMetricsBench, type MetricsBenchReport } from './influx.js';
import { renderSnmpTable, runSnmpBench, type SnmpBenchReport } from './snmp.js';
import { measureUdpReceiver, renderSyslogTable, runSyslogBench, type SyslogBenchReport, type UdpRunResult } from './syslog.js';

export interface StoredSyslogFigure {
  /** Messages per second the sender offered (the bar's rate). */
  offeredPerSecond: number;
  received: UdpRunResult;
  stored: number;
  /** From the first message received to the last delivery committed. */
  seconds: number;
  storedPerSecond: number;
  storedPercent: number;
  met: boolean;
}

/** The bar: RFC 5424 messages per second, received, parsed and stored. */
export const STORED_SYSLOG_BAR = 50_000;

/**
 * RFC 5424 over UDP into our receiver (parsing on this thread, as the agent
 * does), delivered in batches of up to 2,000 to the monitor's ingest on
 * another thread (as the monitor is another process), committed to the
 * embedded log store. Offered 10 % above the bar: a pipeline offered exactly
 * the bar's rate can never show the bar, since the last batch's latency is
 * inside the time. Met when at least 99.9 % of what was sent was stored and
 * the stored rate, from the first message received to the last committed,
 * is at least the bar: a backlog that grows (buffered, not lost) shows as a
 * lower rate.
 */
export async function measureStoredSyslog(messages: number, offeredPerSecond = Math.round(STORED_SYSLOG_BAR * 1.1)): Promise<StoredSyslogFigure> {
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
    let batch: Array<{ seq: number; kind: 'log'; record: LogRecord }> = [];
    let seq = 0;
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = null;
      if (batch.length === 0) return;
      worker.postMessage({ items: batch });
      batch = [];
    };
    // From the first message received (not from the sender's start-up) to the last commit.
    let firstReceived: number | undefined;
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
    const seconds = Math.max(0.001, (lastCommit - (firstReceived ?? lastCommit)) / 1000);
    const storedPercent = (100 * stored) / received.sent;
    return { offeredPerSecond, received, stored, seconds, storedPerSecond: stored / seconds, storedPercent, met: storedPercent >= 99.9 && stored / seconds >= STORED_SYSLOG_BAR };
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
  syslogStored: StoredSyslogFigure | { error: string };
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
  log('syslog: received, parsed and stored (embedded log store) ...');
  const syslogStored = await attempt(() => measureStoredSyslog(quick ? 100_000 : 300_000));
  const metrics = await attempt(() => runMetricsBench({ points: quick ? 50_000 : 200_000, log }));
  return { snmp, syslog, syslogStored, metrics };
}

export function renderMonitorTables(report: MonitorBenchReport): string {
  const parts: string[] = [];
  parts.push('error' in report.snmp ? `SNMP benchmarks failed: ${report.snmp.error.split('\n')[0]}` : renderSnmpTable(report.snmp));
  parts.push('error' in report.syslog ? `syslog benchmarks failed: ${report.syslog.error.split('\n')[0]}` : renderSyslogTable(report.syslog));
  if ('error' in report.syslogStored) parts.push(`syslog stored: failed: ${report.syslogStored.error.split('\n')[0]}`);
  else {
    const s = report.syslogStored;
    parts.push(
      `| syslog RFC 5424 over UDP at ${s.offeredPerSecond.toLocaleString('en')}/s offered, parsed (receiver thread) and stored (ingest thread, embedded SQLite) | ${Math.round(s.storedPerSecond).toLocaleString('en')}/s stored, ${s.storedPercent.toFixed(2)}% of sent | bar >= ${STORED_SYSLOG_BAR.toLocaleString('en')}/s | ${s.met ? 'met' : 'NOT met'} |\n` +
        `  sent ${s.received.sent} at ${Math.round(s.received.sent / s.received.sendSeconds).toLocaleString('en')}/s, parsed ${s.received.handled} (${s.received.lossPercent.toFixed(2)}% lost in the kernel), stored ${s.stored}; first received to last committed ${s.seconds.toFixed(2)} s; receiver CPU ${s.received.cpuSeconds?.toFixed(2)} s`,
    );
  }
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
