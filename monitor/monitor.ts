// The monitor put together: inventory, the metric store the config selects,
// logs, events, ingest and status, over the suite's database.

import type { Database, Logger, SecretBox } from '../core/index.js';
import { EmbeddedMetricStore } from './embedded-metrics.js';
import { InfluxMetricStore } from './influx-metrics.js';
import { Ingestor } from './ingest.js';
import { Inventory } from './inventory.js';
import { EventStore, LogStore } from './log-store.js';
import type { MetricsOptions, MetricStore } from './metric-store.js';
import { StatusService } from './status.js';

export interface MonitorOptions {
  database: Database;
  /** Seals SNMP credentials (core's openSecretBox(dataDir)). */
  secrets: SecretBox;
  /** `metrics` in the config: `influx` selects InfluxDB, else the embedded store. */
  metrics?: MetricsOptions;
  /** Days logs and events are kept (default 180). */
  logRetentionDays?: number;
  /** Status: a sample older than this says nothing about now. */
  staleAfterMs?: number;
  logger?: Logger;
  now?: () => Date;
}

export interface PruneResult {
  metricPoints: number | null;
  logs: number;
  events: number;
}

export class Monitor {
  readonly inventory: Inventory;
  readonly logs: LogStore;
  readonly events: EventStore;
  readonly ingestor: Ingestor;
  readonly status: StatusService;

  constructor(
    readonly options: MonitorOptions,
    readonly metrics: MetricStore,
  ) {
    const now = options.now ?? (() => new Date());
    this.inventory = new Inventory({ database: options.database, secrets: options.secrets, now });
    const retention = options.logRetentionDays !== undefined ? { retentionDays: options.logRetentionDays } : {};
    this.logs = new LogStore(options.database, retention);
    this.events = new EventStore(options.database, retention);
    this.ingestor = new Ingestor({ database: options.database, metrics, logs: this.logs, events: this.events, now, ...(options.logger ? { logger: options.logger } : {}) });
    this.status = new StatusService({
      inventory: this.inventory,
      metrics,
      now: () => now().getTime(),
      ...(options.staleAfterMs !== undefined ? { staleAfterMs: options.staleAfterMs } : {}),
    });
  }

  /** Drops what is past retention: embedded metric points (InfluxDB ages its own out), logs, events. */
  async pruneExpired(now: number = (this.options.now?.() ?? new Date()).getTime()): Promise<PruneResult> {
    const metricPoints = this.metrics instanceof EmbeddedMetricStore ? (await this.metrics.prune(now)).removedPoints : null;
    const logs = (await this.logs.prune(now)).removed;
    const events = (await this.events.prune(now)).removed;
    return { metricPoints, logs, events };
  }

  close(): Promise<void> {
    return this.metrics.close();
  }
}

/** The store `metrics.influx` selects: InfluxDB (database and retention policy made on start), else the embedded one. */
export async function openMetricStore(database: Database, options: MetricsOptions = {}): Promise<MetricStore> {
  if (options.influx) return InfluxMetricStore.open(options.influx, options.retentionDays);
  return new EmbeddedMetricStore(database, options.retentionDays !== undefined ? { retentionDays: options.retentionDays } : {});
}

export async function openMonitor(options: MonitorOptions): Promise<Monitor> {
  return new Monitor(options, await openMetricStore(options.database, options.metrics));
}
