// Benchmarks of the graphs (issue 13): a suite on SQLite whose embedded
// store holds 100 devices x 20 interfaces x 7 days of 60-s samples (20.2
// million points), rolled up by the same job serve runs; then
//   1. the 7-day series of one interface through the graph API's query
//      (server time, points returned), the bar 100 ms and 1,000 points;
//   2. the same query on InfluxDB holding the same points, as a ratio;
//   3. the device-detail page in chromium over mTLS: first contentful paint
//      and the moment every graph is drawn, the bar 1 s.
// EGOV_BENCH_DASH_DEVICES / _INTERFACES / _DAYS change the data set.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { openDatabase } from '../core/index.js';
import { EmbeddedMetricStore, graphSeries, InfluxMetricStore, parseGraphQuery, type MetricPoint, type MetricStore } from '../monitor/index.js';
import { startDeskSuite } from '../test/support/desk.js';
import { startInfluxd } from '../test/support/influxd.js';
import { median, percentile } from './lib.js';

export interface DashboardsBenchOptions {
  devices: number;
  interfaces: number;
  days: number;
  log: (line: string) => void;
}

export interface QueryFigure {
  store: string;
  serverMsMedian: number;
  serverMsP95: number;
  points: number;
  source: string;
}

export interface DashboardsBenchReport {
  dataSet: { devices: number; interfaces: number; days: number; points: number };
  seedSeconds: { embedded: number; rollup: number; influx: number | null };
  embedded: QueryFigure;
  influx: QueryFigure | { error: string };
  page: { firstContentfulPaintMs: number; graphsDrawnMs: number; graphs: number } | { error: string };
  bars: { queryMs: number; points: number; pageMs: number };
}

const MINUTE = 60_000;
const CHROMIUM = process.env.EGOV_CHROMIUM ?? '/usr/bin/chromium';

const deviceName = (d: number) => `dev-${String(d).padStart(3, '0')}`;

/** One minute of every interface: a daily wave, different per interface. */
function* minutes(options: DashboardsBenchOptions, end: number): Generator<MetricPoint[]> {
  const start = Math.floor(end / MINUTE) * MINUTE - options.days * 86_400_000;
  for (let time = start; time < end; time += MINUTE) {
    const batch: MetricPoint[] = [];
    const day = (time % 86_400_000) / 86_400_000;
    for (let d = 0; d < options.devices; d++) {
      for (let i = 1; i <= options.interfaces; i++) {
        const wave = 0.5 - 0.4 * Math.cos(2 * Math.PI * day + d + i);
        batch.push({
          measurement: 'interface',
          tags: { node: deviceName(d), ifIndex: String(i), ifName: `ge-0/0/${i}` },
          fields: { inBitsPerSec: 8e8 * wave, outBitsPerSec: 5e8 * wave, inUtilisationPct: 80 * wave, outUtilisationPct: 50 * wave, inErrorsPerSec: 0, outErrorsPerSec: 0, inDiscardsPerSec: wave > 0.85 ? 1 : 0, outDiscardsPerSec: 0, operStatus: 1, highSpeedMbps: 1000 },
          time,
        });
      }
    }
    yield batch;
  }
}

async function seed(store: MetricStore, options: DashboardsBenchOptions, end: number, label: string): Promise<number> {
  const started = performance.now();
  let pending: MetricPoint[] = [];
  let written = 0;
  let lastLog = started;
  for (const minute of minutes(options, end)) {
    pending.push(...minute);
    if (pending.length >= 40_000) {
      written += (await store.write(pending)).written;
      pending = [];
      if (performance.now() - lastLog > 15_000) {
        options.log(`  ${label}: ${(written / 1e6).toFixed(1)} M points written (${Math.round(written / ((performance.now() - started) / 1000))} points/s)`);
        lastLog = performance.now();
      }
    }
  }
  if (pending.length) written += (await store.write(pending)).written;
  return (performance.now() - started) / 1000;
}

async function timeQuery(store: MetricStore, label: string, now: number): Promise<QueryFigure> {
  const times: number[] = [];
  let points = 0;
  let source = '';
  for (let round = 0; round < 25; round++) {
    const node = deviceName(round % 100);
    const started = process.hrtime.bigint();
    const answer = await graphSeries(store, parseGraphQuery({ measurement: 'interface', range: '7d', fields: 'inBitsPerSec,outBitsPerSec', node, ifName: 'ge-0/0/7' }, now));
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (round >= 5) times.push(ms); // the first rounds warm caches
    points = Math.max(...answer.series.map((s) => s.points.length));
    source = answer.source;
  }
  return { store: label, serverMsMedian: median(times), serverMsP95: percentile(times, 95), points, source };
}

export async function runDashboardsBench(options: DashboardsBenchOptions): Promise<DashboardsBenchReport> {
  const total = options.devices * options.interfaces * options.days * 1440;
  const report: Partial<DashboardsBenchReport> = { dataSet: { devices: options.devices, interfaces: options.interfaces, days: options.days, points: total }, bars: { queryMs: 100, points: 1000, pageMs: 1000 } };
  const desk = await startDeskSuite();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-bench-dash-'));
  try {
    const store = desk.started.monitor.metrics as EmbeddedMetricStore;
    const now = Date.now();
    options.log(`dashboards: writing ${(total / 1e6).toFixed(1)} M interface points to the embedded store (SQLite)`);
    const seedSeconds = await seed(store, options, now, 'embedded');
    const rollStarted = performance.now();
    const rolled = await store.rollUp();
    const rollup = (performance.now() - rollStarted) / 1000;
    options.log(`  rollups: ${rolled.fiveMinute} five-minute and ${rolled.hourly} hourly rows from ${rolled.rawRows} raw rows in ${rollup.toFixed(0)} s`);
    report.seedSeconds = { embedded: seedSeconds, rollup, influx: null };
    report.embedded = await timeQuery(store, 'embedded (SQLite)', now);

    // The device-detail page in chromium, client certificate over mTLS.
    try {
      if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}`);
      for (let d = 0; d < Math.min(options.devices, 5); d++) {
        await desk.started.monitor.inventory.addNode({ name: deviceName(d), kind: 'router', zone: 'internal', site: 'Bench', level: 'city', address: `10.9.0.${d + 1}` }, { actor: 'bench', source: 'bench' });
      }
      const who = await desk.person('Bench Admin', ['network-admin']);
      writeFileSync(path.join(tmp, 'c.crt'), who.certPem);
      writeFileSync(path.join(tmp, 'c.key'), who.keyPem);
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      try {
        const context = await browser.newContext({ clientCertificates: [{ origin: desk.secureBase, certPath: path.join(tmp, 'c.crt'), keyPath: path.join(tmp, 'c.key') }], ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
        const page = await context.newPage();
        const samples: Array<{ fcp: number; drawn: number; graphs: number }> = [];
        for (let round = 0; round < 6; round++) {
          await page.goto(`${desk.secureBase}/status/nodes/${deviceName(round % 5)}?range=7d`);
          await page.waitForFunction(() => [...document.querySelectorAll<HTMLElement>('.graph[data-measurement]')].every((g) => g.dataset.drawn === 'true' || g.classList.contains('graph-empty') || g.classList.contains('graph-error')), undefined, { timeout: 60_000 });
          const timing = await page.evaluate(() => ({
            fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? Number.NaN,
            drawn: performance.now(),
            graphs: document.querySelectorAll('.graph[data-drawn="true"]').length,
          }));
          if (round > 0) samples.push(timing);
        }
        report.page = { firstContentfulPaintMs: median(samples.map((s) => s.fcp)), graphsDrawnMs: median(samples.map((s) => s.drawn)), graphs: samples[0]!.graphs };
      } finally {
        await browser.close();
      }
    } catch (error) {
      report.page = { error: (error as Error).message };
    }

    // The same points in InfluxDB.
    const influxd = await startInfluxd();
    try {
      const influx = await InfluxMetricStore.open({ url: influxd.url, database: 'egov_bench_dash' });
      options.log(`dashboards: writing the same points to InfluxDB ${influxd.version}`);
      report.seedSeconds.influx = await seed(influx, options, now, 'influxdb');
      report.influx = await timeQuery(influx, `InfluxDB ${influxd.version}`, now);
    } catch (error) {
      report.influx = { error: (error as Error).message };
    } finally {
      await influxd.stop();
    }
  } finally {
    await desk.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  return report as DashboardsBenchReport;
}

export function renderDashboardsTable(r: DashboardsBenchReport): string {
  const q = (f: QueryFigure | { error: string }) => ('error' in f ? `| failed: ${f.error} | | | |` : `| ${f.serverMsMedian.toFixed(1)} | ${f.serverMsP95.toFixed(1)} | ${f.points} | ${f.source} |`);
  const ratio = 'error' in r.influx ? '-' : (r.influx.serverMsMedian / r.embedded.serverMsMedian).toFixed(2);
  const page = 'error' in r.page ? `failed: ${r.page.error}` : `first contentful paint ${r.page.firstContentfulPaintMs.toFixed(0)} ms, all ${r.page.graphs} graphs drawn at ${r.page.graphsDrawnMs.toFixed(0)} ms`;
  const pageMet = 'error' in r.page ? 'NOT met' : r.page.graphsDrawnMs <= r.bars.pageMs ? 'met' : 'NOT met';
  return [
    `data set: ${r.dataSet.devices} devices x ${r.dataSet.interfaces} interfaces x ${r.dataSet.days} days of 60-s samples = ${(r.dataSet.points / 1e6).toFixed(2)} M points; written in ${r.seedSeconds.embedded.toFixed(0)} s (embedded), rolled up in ${r.seedSeconds.rollup.toFixed(0)} s${r.seedSeconds.influx === null ? '' : `, ${r.seedSeconds.influx.toFixed(0)} s to InfluxDB`}`,
    '',
    '| 7-day series of one interface (in and out) | server ms median | server ms p95 | points per series | read from |',
    '|---|---|---|---|---|',
    `| ${r.embedded.store} ${q(r.embedded)}`,
    `| ${'error' in r.influx ? 'InfluxDB' : r.influx.store} ${q(r.influx)}`,
    '',
    `bar: <= ${r.bars.queryMs} ms and <= ${r.bars.points} points on the embedded store: ${r.embedded.serverMsMedian.toFixed(1)} ms, ${r.embedded.points} points, ${r.embedded.serverMsMedian <= r.bars.queryMs && r.embedded.points <= r.bars.points ? 'met' : 'NOT met'}; InfluxDB / embedded ratio ${ratio}`,
    `device-detail page (7 d range) in chromium: ${page}; bar <= ${r.bars.pageMs} ms: ${pageMet}`,
  ].join('\n');
}


