// `egov-ops serve`: two listeners over the same modules. Plain HTTP serves
// what certificates point at (CA certificates, CRLs, OCSP); HTTPS asks for a
// client certificate from our CA and admits the roles bound to it (the desk,
// the APIs, agents). Also runs the CRL schedule, the OCSP cache watcher and
// the backup schedule.

import path from 'node:path';
import { accessHierarchy, caRoutes, deskPages, raRoutes, serverTlsMaterial, trustedClientCas } from '../ca/index.js';
import { BackupScheduler, BackupService } from '../backup/index.js';
import { accessRoutes, consolePages, createLogger, createServer, EgovError, JobRunner, openSecretBox } from '../core/index.js';
import { EmbeddedMetricStore, graphApiRoutes, monitorRoutes, openMonitor, statusPages, topologyPages, type Monitor } from '../monitor/index.js';
import { agentDeliverySource, backupSource, caSource, nodeStateSource, SuiteMetrics, SUITE_METRICS_INTERVAL_MS, syslogVolumeSource } from '../dashboards/index.js';
import { metricsOptions } from './monitor.js';
import { alertPages, alertRoutes, AlertService, firingBanner } from '../monitor/alerts/index.js';
import { KnowledgeBase } from '../monitor/kb/index.js';
import type { FastifyInstance } from 'fastify';
import type { Suite } from './context.js';

export interface StartOptions {
  port?: number;
  tlsPort?: number;
  host?: string;
  announce: (line: string) => void;
  /** The CA key passphrase: the HTTPS server key is kept encrypted with it. */
  passphrase: () => Promise<string>;
}

export interface Started {
  /** The plain HTTP listener (public routes). */
  app: FastifyInstance;
  address: string;
  /** The mTLS listener, when a non-SM2 hierarchy exists to issue its certificate. */
  secure?: { app: FastifyInstance; address: string };
  monitor: Monitor;
  /** Scheduled work of every module (started with the server, stopped when it closes). */
  jobs: JobRunner;
  /** The suite's own figures written every minute (job `dashboards.suite-metrics`); a module adds its source here. */
  suiteMetrics: SuiteMetrics;
  /** Alert rules, states and notifications (monitor/alerts). */
  alerts: AlertService;
}

const DAY_MS = 86_400_000;

export async function startServer(suite: Suite, options: StartOptions): Promise<Started> {
  const logger = createLogger(suite.config.log.level);
  const host = options.host ?? suite.config.server.host;
  const { authority, crls, ocsp, access, desk } = suite;

  // Modules add their periodic work here; it starts once both listeners are up.
  const jobs = new JobRunner({ log: (level, line, fields) => logger[level](fields ?? {}, line) });
  const monitor = await openMonitor({
    database: suite.database,
    secrets: openSecretBox(suite.config.dataDir),
    metrics: metricsOptions(suite.config),
    logRetentionDays: suite.config.monitor.logRetentionDays,
    staleAfterMs: suite.config.monitor.staleAfterSeconds * 1000,
    logger,
  });
  // The embedded store's 5-minute and hourly rollups, from what arrived since the last run (InfluxDB groups by time() itself).
  const metrics = monitor.metrics;
  // Alerts: evaluated as ingest stores, and every 15 s for absences; notifications from their queue.
  const alerts = new AlertService({
    database: suite.database,
    monitor,
    secrets: openSecretBox(suite.config.dataDir),
    kb: new KnowledgeBase(suite.database),
    ...(suite.config.alerts?.rulesFile ? { rulesFile: path.resolve(suite.config.alerts.rulesFile) } : {}),
    ...(suite.config.alerts?.externalUrl ? { externalUrl: suite.config.alerts.externalUrl } : {}),
    staleAfterMs: suite.config.monitor.staleAfterSeconds * 1000,
    log: (line) => logger.warn(line),
  });
  jobs.add(alerts.job());
  if (metrics instanceof EmbeddedMetricStore) jobs.add({ name: 'metrics.rollup', schedule: { everyMs: 60_000 }, run: ({ signal }) => metrics.rollUp(signal) });
  let secure: Started['secure'];
  let secureUrl: string | undefined;
  const hierarchies = await authority.listHierarchies();
  if (hierarchies.some((h) => h.algorithm !== 'sm2')) {
    const ca = await accessHierarchy(authority, suite.config.access.ca);
    const tls = await serverTlsMaterial(authority, {
      dataDir: suite.config.dataDir,
      ca,
      names: [...suite.config.server.tlsNames, ...(host !== '0.0.0.0' && host !== '::' ? [host] : [])],
      passphrase: options.passphrase,
      by: { actor: 'system', source: 'serve' },
    });
    const app = createServer({ logger, tls: { ...tls, ca: await trustedClientCas(authority) }, access });
    await app.register(caRoutes, { authority, crls, ocsp });
    await app.register(accessRoutes, { access });
    await app.register(consolePages, { access });
    await app.register(raRoutes, { desk, authority, access, accessCa: () => accessHierarchy(authority, suite.config.access.ca) });
    await app.register(deskPages, { desk, authority, access });
    await app.register(monitorRoutes, { monitor });
    await app.register(statusPages, { monitor, top: (request) => firingBanner(alerts, request) });
    await app.register(alertRoutes, { alerts });
    await app.register(alertPages, { alerts });
    await app.register(graphApiRoutes, { metrics: monitor.metrics });
    await app.register(topologyPages, { monitor });
    // The knowledge base (monitor/kb): /api/kb and its console pages (section kb, order 40).
    {
      const { KnowledgeBase, kbRoutes, kbPages } = await import('../monitor/kb/index.js');
      const kb = new KnowledgeBase(suite.database);
      await app.register(kbRoutes, { kb });
      await app.register(kbPages, { kb });
    }
    const address = await app.listen({ port: options.tlsPort ?? suite.config.server.tlsPort, host });
    secure = { app, address };
    secureUrl = address;
  } else {
    options.announce('no RSA/ECDSA hierarchy yet: the HTTPS desk and API (client certificates) start once one exists (`egov-ops ca init --algorithm ecdsa-p256 ...`)');
  }

  const app = createServer({ logger, ...(secureUrl ? { secureUrl } : {}) });
  await app.register(caRoutes, { authority, crls, ocsp });
  crls.start();
  const stopWatching = authority.watchStatusChanges();
  // Backups on each target's schedule, retention on its pruneSchedule; failures are recorded by the service.
  const backupService = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'system', source: 'scheduler' } });
  const backups = new BackupScheduler(backupService, {
    log: (line, fields) => logger.info(fields ?? {}, line),
  });
  // Node states, syslog volume, agent deliveries, the CA and backups as metric points, for the Grafana dashboards.
  const suiteMetrics = new SuiteMetrics(monitor.metrics)
    .add(nodeStateSource(monitor))
    .add(syslogVolumeSource(monitor))
    .add(agentDeliverySource(monitor))
    .add(caSource(authority))
    .add(backupSource(backupService));
  jobs.add({
    name: 'dashboards.suite-metrics',
    schedule: { everyMs: SUITE_METRICS_INTERVAL_MS },
    run: async ({ due }) => {
      const result = await suiteMetrics.run(due);
      for (const f of result.failed) logger.warn({ source: f.source }, `suite metrics: ${f.source} failed: ${f.error}`);
      return result;
    },
  });
  backups.start();
  // Logs and events past their retention (180 days by default), metrics past theirs: once a day.
  const prune = () => monitor.pruneExpired().catch((error: Error) => logger.error({ err: error }, 'pruning the monitor stores failed'));
  const pruning = setInterval(prune, DAY_MS).unref();
  app.addHook('onClose', async () => {
    await jobs.stop();
    await alerts.stop();
    stopWatching();
    backups.stop();
    clearInterval(pruning);
    await secure?.app.close();
  });
  let address: string;
  try {
    address = await app.listen({ port: options.port ?? suite.config.server.port, host });
  } catch (error) {
    await secure?.app.close();
    throw new EgovError('unavailable', `cannot listen on ${host}:${options.port ?? suite.config.server.port}: ${(error as Error).message}`);
  }
  jobs.start();
  alerts.start();
  return { app, address, monitor, jobs, suiteMetrics, alerts, ...(secure ? { secure } : {}) };
}
