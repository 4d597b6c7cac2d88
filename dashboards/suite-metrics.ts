// The suite's own figures as metric points, so Grafana (and the console)
// can graph them: node states, syslog volume, agent deliveries, the CA,
// backups, and alerts firing. One job in `serve` asks every source each
// minute and writes what they give to the configured metric store. Sources
// are pluggable: a module adds one with a `collect` function (the alerts
// module's provider writes the `alerts` measurement that way).

import { MEASUREMENTS, NODE_STATE_CODES, type MetricPoint, type MetricStore, type Monitor } from '../monitor/index.js';
import type { Authority } from '../ca/index.js';
import type { BackupService } from '../backup/index.js';

/** The minute a run covers: [from, to), to being the run's due time. */
export interface CollectWindow {
  from: number;
  to: number;
}

export interface SuiteMetricSource {
  /** For the log line when it fails: `nodes`, `syslog`, `ca`, … */
  name: string;
  collect(window: CollectWindow): Promise<MetricPoint[]>;
}

export const SUITE_METRICS_INTERVAL_MS = 60_000;
const EXPIRING_SOON_MS = 30 * 86_400_000;
const UNMAPPED_NODE = 'unmapped';

export function nodeStateSource(monitor: Monitor): SuiteMetricSource {
  return {
    name: 'nodes',
    async collect({ to }) {
      return (await monitor.status.nodeStatuses()).map((n) => ({
        measurement: MEASUREMENTS.node_state.name,
        tags: { node: n.name, zone: n.zone, site: n.site },
        fields: { state: NODE_STATE_CODES[n.status], up: n.status === 'up' ? 1 : 0 },
        time: to,
      }));
    },
  };
}

export function syslogVolumeSource(monitor: Monitor): SuiteMetricSource {
  return {
    name: 'syslog',
    async collect({ from, to }) {
      return (await monitor.logs.volume(from, to)).map((v) => ({
        measurement: MEASUREMENTS.syslog_volume.name,
        tags: { node: v.node ?? UNMAPPED_NODE, severity: v.severity },
        fields: { messages: v.messages },
        time: to,
      }));
    },
  };
}

export function agentDeliverySource(monitor: Monitor): SuiteMetricSource {
  return {
    name: 'agents',
    async collect({ to }) {
      return (await monitor.ingestor.agents()).map((a) => ({
        measurement: MEASUREMENTS.agent_delivery.name,
        tags: { agent: a.agent },
        fields: { accepted: a.accepted, rejected: a.rejected, duplicates: a.duplicates, highWater: a.highWater, secondsSinceSeen: Math.max(0, Math.round((to - Date.parse(a.lastSeenAt)) / 1000)) },
        time: to,
      }));
    },
  };
}

export function caSource(authority: Authority): SuiteMetricSource {
  return {
    name: 'ca',
    async collect({ from, to }) {
      const counts = await authority.certificateCounts({ since: new Date(from).toISOString(), until: new Date(to).toISOString(), expiringBefore: new Date(to + EXPIRING_SOON_MS).toISOString() });
      return counts.map((c) => ({
        measurement: MEASUREMENTS.ca_certificates.name,
        tags: { ca: c.ca },
        fields: { issued: c.issued, revoked: c.revoked, expiringSoon: c.expiringSoon, valid: c.valid },
        time: to,
      }));
    },
  };
}

export function backupSource(backups: Pick<BackupService, 'status'>): SuiteMetricSource {
  return {
    name: 'backups',
    async collect({ to }) {
      const report = await backups.status();
      const age = (iso: string | undefined | null) => (iso ? Math.max(0, Math.round((to - Date.parse(iso)) / 1000)) : undefined);
      return report.targets.map((t) => {
        const fields: Record<string, number> = { rpoObjectiveSeconds: t.objectives.rpoHours * 3600 };
        const set = (name: (typeof MEASUREMENTS.backup_status.fields)[number], value: number | undefined | null) => {
          if (typeof value === 'number' && Number.isFinite(value)) fields[name] = value;
        };
        if (t.lastRun) {
          set('lastRunOk', t.lastRun.status === 'failure' ? 0 : 1);
          set('lastRunAgeSeconds', age(t.lastRun.endedAt));
        }
        if (t.lastDrill) {
          set('lastDrillOk', t.lastDrill.ok ? 1 : 0);
          set('lastDrillAgeSeconds', age(t.lastDrill.at));
        }
        set('rpoSeconds', t.rpoHoursNow === null ? null : Math.round(t.rpoHoursNow * 3600));
        set('rpoMet', t.rpoMet === null ? null : t.rpoMet ? 1 : 0);
        return { measurement: MEASUREMENTS.backup_status.name, tags: { target: t.target }, fields, time: to };
      });
    },
  };
}

/**
 * Alerts firing now, per severity, from whatever counts them: the alerts
 * module (another branch) passes its own counter here when it lands.
 */
export function alertsSource(firing: () => Promise<Record<string, number>>): SuiteMetricSource {
  return {
    name: 'alerts',
    async collect({ to }) {
      return Object.entries(await firing()).map(([severity, count]) => ({ measurement: MEASUREMENTS.alerts.name, tags: { severity }, fields: { firing: count }, time: to }));
    },
  };
}

export interface SuiteMetricsRun {
  written: number;
  failed: Array<{ source: string; error: string }>;
}

/** Runs every source for one minute and writes their points in one write; a failing source is reported, the others still written. */
export class SuiteMetrics {
  private readonly sources: SuiteMetricSource[] = [];

  constructor(private readonly metrics: MetricStore) {}

  add(source: SuiteMetricSource): this {
    if (this.sources.some((s) => s.name === source.name)) throw new Error(`suite metric source ${source.name} is added twice`);
    this.sources.push(source);
    return this;
  }

  names(): string[] {
    return this.sources.map((s) => s.name);
  }

  async run(due: Date): Promise<SuiteMetricsRun> {
    const to = due.getTime();
    const window = { from: to - SUITE_METRICS_INTERVAL_MS, to };
    const results = await Promise.allSettled(this.sources.map((s) => s.collect(window)));
    const points: MetricPoint[] = [];
    const failed: SuiteMetricsRun['failed'] = [];
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') points.push(...r.value);
      else failed.push({ source: this.sources[i]!.name, error: (r.reason as Error).message });
    });
    const { written } = points.length ? await this.metrics.write(points) : { written: 0 };
    return { written, failed };
  }
}
