// dashboards: Grafana dashboards and provisioning generated from code, and
// the suite-metrics job that writes the suite's own figures (node states,
// syslog volume, agents, CA, backups, alerts) into the metric store for them.
export {
  SuiteMetrics,
  nodeStateSource,
  syslogVolumeSource,
  agentDeliverySource,
  caSource,
  backupSource,
  alertsSource,
  SUITE_METRICS_INTERVAL_MS,
  type SuiteMetricSource,
  type SuiteMetricsRun,
  type CollectWindow,
} from './suite-metrics.js';
export { InfluxQL, InfluxQLTargetBuilder, influxql, influxqlOver, target, type InfluxQLQuery, type Selection, type Aggregate } from './influxql.js';
export { buildDashboards, DASHBOARDS, DASHBOARD_LANGUAGES, DEFAULT_DATASOURCE_UID, DATASOURCE_VARIABLE, type DashboardLanguage } from './grafana.js';
export { exportDashboards, provisioningFiles, checkLanguage, DEFAULT_DASHBOARDS_PATH, type ExportOptions, type ExportResult } from './export.js';
