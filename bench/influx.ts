// The metric-store benchmark: points per second written to a real InfluxDB
// 1.x (Debian's influxd, started here on loopback) in batches of 500 and of
// 5,000, and to the embedded store (SQLite in the suite's database). Each
// figure writes the same interface samples, through the same MetricStore
// API the ingest uses, into a fresh database. Not a test: figures are
// returned as plain objects, never asserted. bench/run.ts can print them.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../core/index.js';
import { EmbeddedMetricStore, InfluxMetricStore, type MetricPoint, type MetricStore } from '../monitor/index.js';
import { startInfluxd } from '../test/support/influxd.js';

export interface MetricsBenchOptions {
  /** Points per figure (default 200,000). */
  points?: number;
  /** Interfaces the points are spread over, one series each (default 10,000: 1,000 nodes of 10). */
  series?: number;
  /** Points handed to write() per call, as an agent delivery would (default 5,000). */
  deliverySize?: number;
  log?: (line: string) => void;
}

export interface MetricsWriteFigure {
  store: 'influxdb' | 'embedded-sqlite';
  /** Points per InfluxDB write request; null for the embedded store (one transaction per delivery). */
  batchSize: number | null;
  points: number;
  seconds: number;
  pointsPerSecond: number;
}

export interface MetricsBenchReport {
  points: number;
  series: number;
  deliverySize: number;
  influxdVersion: string;
  influxdStartupMs: number;
  figures: MetricsWriteFigure[];
  /** InfluxDB at 5,000 per batch over InfluxDB at 500. */
  batchSpeedup: number;
  /** The embedded store over InfluxDB at 5,000 per batch. */
  embeddedVersusInflux: number;
}

/** Interface samples a poller would ship: each series once per minute, minutes going forward. */
function interfacePoints(count: number, series: number): MetricPoint[] {
  const start = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  return Array.from({ length: count }, (_, i) => {
    const s = i % series;
    const minute = Math.floor(i / series);
    const node = `node-${Math.floor(s / 10)}`;
    const ifIndex = String((s % 10) + 1);
    return {
      measurement: 'interface' as const,
      tags: { node, ifIndex, ifName: `GigabitEthernet0/0/${ifIndex}` },
      fields: {
        inBitsPerSec: (i * 7919) % 1e9,
        outBitsPerSec: (i * 104729) % 1e9,
        inErrorsPerSec: 0,
        outErrorsPerSec: i % 13 === 0 ? 1 : 0,
        operStatus: 1,
        adminStatus: 1,
        inUtilisationPct: (i % 1000) / 10,
        outUtilisationPct: (i % 997) / 10,
      },
      time: start + minute * 60_000 + (s % 60) * 1000,
    };
  });
}

async function timeWrites(store: MetricStore, points: readonly MetricPoint[], deliverySize: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < points.length; i += deliverySize) {
    const { written } = await store.write(points.slice(i, i + deliverySize));
    if (written !== Math.min(deliverySize, points.length - i)) throw new Error(`the store wrote ${written} of ${Math.min(deliverySize, points.length - i)} points`);
  }
  return (performance.now() - started) / 1000;
}

const figure = (store: MetricsWriteFigure['store'], batchSize: number | null, points: number, seconds: number): MetricsWriteFigure => ({
  store,
  batchSize,
  points,
  seconds: Math.round(seconds * 1000) / 1000,
  pointsPerSecond: Math.round(points / seconds),
});

export async function runMetricsBench(options: MetricsBenchOptions = {}): Promise<MetricsBenchReport> {
  const count = options.points ?? 200_000;
  const series = options.series ?? 10_000;
  const deliverySize = options.deliverySize ?? 5000;
  const log = options.log ?? (() => undefined);
  const points = interfacePoints(count, series);
  const figures: MetricsWriteFigure[] = [];

  const influxd = await startInfluxd();
  try {
    for (const batchSize of [500, 5000]) {
      const store = await InfluxMetricStore.open({ url: influxd.url, database: `bench_${batchSize}`, batchSize });
      const seconds = await timeWrites(store, points, deliverySize);
      figures.push(figure('influxdb', batchSize, count, seconds));
      log(`influxdb, batches of ${batchSize}: ${figures.at(-1)!.pointsPerSecond} points/s`);
    }
  } finally {
    await influxd.stop();
  }

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-bench-metrics-'));
  const database = await openDatabase({ dataDir });
  try {
    const seconds = await timeWrites(new EmbeddedMetricStore(database), points, deliverySize);
    figures.push(figure('embedded-sqlite', null, count, seconds));
    log(`embedded (SQLite): ${figures.at(-1)!.pointsPerSecond} points/s`);
  } finally {
    await database.close();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const rate = (store: MetricsWriteFigure['store'], batch: number | null) => figures.find((f) => f.store === store && f.batchSize === batch)!.pointsPerSecond;
  return {
    points: count,
    series,
    deliverySize,
    influxdVersion: influxd.version,
    influxdStartupMs: influxd.startupMs,
    figures,
    batchSpeedup: Math.round((rate('influxdb', 5000) / rate('influxdb', 500)) * 100) / 100,
    embeddedVersusInflux: Math.round((rate('embedded-sqlite', null) / rate('influxdb', 5000)) * 100) / 100,
  };
}
