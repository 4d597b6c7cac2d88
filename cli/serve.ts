// `egov-ops serve`: two listeners over the same modules. Plain HTTP serves
// what certificates point at (CA certificates, CRLs, OCSP); HTTPS asks for a
// client certificate from our CA and admits the roles bound to it (the desk,
// the APIs, agents). Also runs the CRL schedule, the OCSP cache watcher and
// the backup schedule.

import path from 'node:path';
import { accessHierarchy, caRoutes, deskPages, raRoutes, serverTlsMaterial, trustedClientCas } from '../ca/index.js';
import { BackupScheduler, BackupService } from '../backup/index.js';
import { accessRoutes, consolePages, coordinatorFor, createLogger, createServer, DatabaseRateStore, EgovError, JobRunner, openSecretBox } from '../core/index.js';
import { EmbeddedMetricStore, graphApiRoutes, monitorRoutes, openMonitor, statusPages, topologyPages, type Monitor } from '../monitor/index.js';
import { agentDeliverySource, alertsSource, backupSource, caSource, nodeStateSource, SuiteMetrics, SUITE_METRICS_INTERVAL_MS, syslogVolumeSource } from '../dashboards/index.js';
import { AuditService, auditPages, auditRoutes, liveSources, onAuditChange, scheduledAuditJob } from '../audit/index.js';
import { metricsOptions } from './monitor.js';
import { playbookPages, playbookRoutes } from '../playbooks/index.js';
import { alertEventRoutes, alertPages, alertRoutes, AlertService, auditAlerts, firingAlertCounts, firingBanner } from '../monitor/alerts/index.js';
import { kbPages, kbRoutes, KnowledgeBase } from '../monitor/kb/index.js';
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
  /** Grade-protection audits (the audit.scheduled job and /api/audit). */
  audit: AuditService;
  /** The suite's own figures written every minute (job `dashboards.suite-metrics`); a module adds its source here. */
  suiteMetrics: SuiteMetrics;
  /** Alert rules, states and notifications (monitor/alerts). */
  alerts: AlertService;
}

const DAY_MS = 86_400_000;

/** EGOV_CLUSTER_TTL_MS shortens the lease (tests of take-over); the default is 15 s, renewed every 5 s. */
function clusterTimings(): { ttlMs?: number } {
  const ttl = Number(process.env.EGOV_CLUSTER_TTL_MS);
  return Number.isFinite(ttl) && ttl >= 1000 ? { ttlMs: ttl } : {};
}

export async function startServer(suite: Suite, options: StartOptions): Promise<Started> {
  const logger = createLogger(suite.config.log.level);
  const host = options.host ?? suite.config.server.host;
  const { authority, crls, ocsp, access, desk } = suite;

  // Modules add their periodic work here; it starts once both listeners are up.
  // On PostgreSQL the instances sharing the database run each due time once,
  // under the scheduler lease (core/cluster.ts); on SQLite this instance runs everything.
  const jobLog = (level: 'debug' | 'info' | 'warn' | 'error', line: string, fields?: Record<string, unknown>) => logger[level](fields ?? {}, line);
  // Sign-in and enrolment limits counted in the database: one count per client across instances.
  const rateStore = new DatabaseRateStore(suite.database);
  const coordinator = coordinatorFor(suite.database, { log: jobLog, ...clusterTimings() });
  const jobs = new JobRunner({ log: jobLog, coordinator });
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
  const knowledge = new KnowledgeBase(suite.database);
  const alerts = new AlertService({
    database: suite.database,
    monitor,
    secrets: openSecretBox(suite.config.dataDir),
    kb: knowledge,
    ...(suite.config.alerts?.rulesFile ? { rulesFile: path.resolve(suite.config.alerts.rulesFile) } : {}),
    ...(suite.config.alerts?.externalUrl ? { externalUrl: suite.config.alerts.externalUrl } : {}),
    staleAfterMs: suite.config.monitor.staleAfterSeconds * 1000,
    log: (line) => logger.warn(line),
  });
  jobs.add(alerts.job());
  if (metrics instanceof EmbeddedMetricStore) jobs.add({ name: 'metrics.rollup', schedule: { everyMs: 60_000 }, run: ({ signal }) => metrics.rollUp(signal) });
  // Grade-protection audits: evidence read live from the CA, access control, the monitor and backups; one scheduled audit a day (audit.scheduled), whose "score dropped / new high risk" events go to onAuditChange listeners (audit/index.ts).
  const auditBackups = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'system', source: 'audit' } });
  const audit = new AuditService({
    database: suite.database,
    sources: liveSources({ config: suite.config, authority, access, monitor, backup: auditBackups, ocsp }),
    nodeExists: (name) => monitor.inventory.getNode(name).then(() => true, () => false),
  });
  jobs.add(scheduledAuditJob(audit, { log: (line) => logger.info({}, line) }));
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
    const app = createServer({ logger, tls: { ...tls, ca: await trustedClientCas(authority) }, access, rateStore });
    await app.register(caRoutes, { authority, crls, ocsp });
    await app.register(accessRoutes, { access });
    await app.register(consolePages, { access });
    await app.register(raRoutes, { desk, authority, access, accessCa: () => accessHierarchy(authority, suite.config.access.ca) });
    await app.register(deskPages, { desk, authority, access });
    await app.register(monitorRoutes, { monitor });
    await app.register(statusPages, { monitor, top: (request) => firingBanner(alerts, request) });
    await app.register(alertRoutes, { alerts });
    // Events from outside the metrics, raised and cleared by scripts (POST /api/alerts/events[/clear], network-admin; events branch).
    await app.register(alertEventRoutes, { alerts });
    await app.register(alertPages, { alerts });
    await app.register(graphApiRoutes, { metrics: monitor.metrics });
    await app.register(topologyPages, { monitor });
    await app.register(playbookRoutes, { database: suite.database });
    await app.register(playbookPages, { database: suite.database, dataDir: suite.config.dataDir });
    // The knowledge base (monitor/kb): /api/kb and its console pages (section kb, order 40).
    await app.register(kbRoutes, { kb: knowledge });
    await app.register(kbPages, { kb: knowledge });
    await app.register(auditRoutes, { service: audit });
    await app.register(auditPages, { service: audit, database: suite.database, backup: auditBackups });
    const address = await app.listen({ port: options.tlsPort ?? suite.config.server.tlsPort, host });
    secure = { app, address };
    secureUrl = address;
  } else {
    options.announce('no RSA/ECDSA hierarchy yet: the HTTPS desk and API (client certificates) start once one exists (`egov-ops ca init --algorithm ecdsa-p256 ...`)');
  }

  const app = createServer({ logger, rateStore, ...(secureUrl ? { secureUrl } : {}) });
  // Alerts from outside the metrics (events): an audit run scoring lower than the system's previous one or with a new
  // high risk raises audit-score-dropped / audit-high-risk (at once through onAuditChange, and by the alerts.evaluate
  // timer for runs made elsewhere and for recoveries, which clear them); the timer also reads the backup room's status
  // (RPO objectives missed) and the suite's TLS certificate (cert-expiry).
  const auditEvents = auditAlerts(alerts, audit);
  const stopAuditCheck = alerts.addCheck(auditEvents.check);
  const stopAuditEvents = onAuditChange((change) => auditEvents.changed(change).catch((error: Error) => logger.warn({ err: error }, 'alerts: an audit event was not raised')));
  alerts.useSources({ backups: auditBackups, tlsCertificateFile: path.join(suite.config.dataDir, 'tls', 'server.crt') });
  app.addHook('onClose', async () => {
    stopAuditEvents();
    stopAuditCheck();
  });
  await app.register(caRoutes, { authority, crls, ocsp });
  // Full CRLs on their interval, deltas soon after a status change (on any instance).
  for (const job of crls.jobs()) jobs.add(job);
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
    .add(backupSource(backupService))
    .add(alertsSource(() => firingAlertCounts(alerts)));
  jobs.add({
    name: 'dashboards.suite-metrics',
    schedule: { everyMs: SUITE_METRICS_INTERVAL_MS },
    run: async ({ due }) => {
      const result = await suiteMetrics.run(due);
      for (const f of result.failed) logger.warn({ source: f.source }, `suite metrics: ${f.source} failed: ${f.error}`);
      return result;
    },
  });
  for (const job of backups.jobs()) jobs.add(job);
  // Logs and events past their retention (180 days by default), metrics past theirs: once a day.
  jobs.add({
    name: 'monitor.retention',
    schedule: { everyMs: DAY_MS },
    run: () => monitor.pruneExpired().catch((error: Error) => logger.error({ err: error }, 'pruning the monitor stores failed')),
  });
  app.addHook('onClose', async () => {
    await jobs.stop();
    await alerts.stop();
    stopWatching();
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
  // One instance: the first full CRL now, as before (with several, the lease holder catches up).
  if (suite.database.dialect === 'sqlite') void jobs.runNow('crl.full');
  return { app, address, monitor, jobs, audit, alerts, suiteMetrics, ...(secure ? { secure } : {}) };
}
