// Issue 4's benchmarks in one run: SNMP walks and polling (bench/snmp.ts),
// syslog received + parsed (bench/syslog.ts) and received + parsed + stored
// in the embedded log store (here), metrics written to InfluxDB and to the
// embedded store (bench/influx.ts).

import { randomBytes } from 'node:crypto';
import { openDatabase, secretBoxFromKey } from '../core/index.js';
import { openMonitor, type LogRecord } from '../monitor/index.js';
import { removeTempDir, tempDir } from './lib.js';
import { runMetricsBench, type MetricsBenchReport } from './influx.js';
import { renderSnmpTable, runSnmpBench, type SnmpBenchReport } from './snmp.js';
import { measureUdpReceiver, renderSyslogTable, runSyslogBench, type SyslogBenchReport, type UdpRunResult } from './syslog.js';

export interface StoredSyslogFigure {
  received: UdpRunResult;
  stored: number;
  storeSeconds: number;
  /** Messages parsed and committed to the log store per second, first received to last committed. */
  storedPerSecond: number;
  met: boolean;
}

/** RFC 5424 over UDP into our receiver, each message handed to the monitor's ingest (embedded SQLite) in deliveries of 2,000, as an agent's outbox would. */
export async function measureStoredSyslog(messages: number): Promise<StoredSyslogFigure> {
  const dir = tempDir('syslog-store');
  const database = await openDatabase({ dataDir: dir });
  try {
    const monitor = await openMonitor({ database, secrets: secretBoxFromKey(randomBytes(32)) });
    let batch: Array<{ seq: number; kind: 'log'; record: LogRecord }> = [];
    let seq = 0;
    let stored = 0;
    let chain: Promise<void> = Promise.resolve();
    const flush = () => {
      const items = batch;
      batch = [];
      chain = chain.then(async () => {
        const result = await monitor.ingestor.accept('bench', items);
        stored += result.accepted;
      });
    };
    const started = performance.now();
    const received = await measureUdpReceiver({
      messages,
      sink: (record) => {
        batch.push({ seq: ++seq, kind: 'log', record });
        if (batch.length >= 2000) flush();
      },
    });
    flush();
    await chain;
    const seconds = (performance.now() - started) / 1000;
    const storedPerSecond = stored / seconds;
    return { received, stored, storeSeconds: seconds, storedPerSecond, met: storedPerSecond >= 50_000 };
  } finally {
    await database.close();
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
  const syslogStored = await attempt(() => measureStoredSyslog(quick ? 50_000 : 200_000));
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
      `| syslog RFC 5424 over UDP, parsed and stored (embedded) | ${Math.round(s.storedPerSecond).toLocaleString('en')}/s | bar >= 50,000/s | ${s.met ? 'met' : 'NOT met'} |\n` +
        `  sent ${s.received.sent}, parsed ${s.received.handled} (${s.received.lossPercent.toFixed(1)}% lost in the kernel), stored ${s.stored} in ${s.storeSeconds.toFixed(1)} s`,
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
