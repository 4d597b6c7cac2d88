// monitor: inventory, ingest, metrics/log/event stores, node status, the status page.
//
// records.ts is the monitor's light front door: the measurement names and
// record shapes, with nothing behind them, for the agents' SNMP code.
export * from './records.js';
export { MetricPointSchema, LogRecordSchema, EventRecordSchema, OutboxItemSchema, checkOutboxItem, NODE_NAME_PATTERN } from './schemas.js';
export {
  NODE_KINDS,
  ZONES,
  LEVELS,
  SNMP_VERSIONS,
  AUTH_PROTOCOLS,
  PRIV_PROTOCOLS,
  DEFAULT_SNMP_PORT,
  parseCapacity,
  linkLabel,
  type NodeKind,
  type Zone,
  type Level,
  type AuthProtocol,
  type PrivProtocol,
  type SnmpCredentials,
  type SnmpSummary,
  type NodeSpec,
  type NodeView,
  type NodePatch,
  type LinkEnd,
  type LinkSpec,
  type LinkView,
  type LinkPatch,
} from './inventory-spec.js';
export { Inventory, planNodes, type Actor, type InventoryOptions, type ImportRow, type ImportRejection, type ImportReport } from './inventory.js';
export type { NodeFilter } from './inventory-store.js';
export { parseInventory, parseCsv, formatFromFileName, nodesToCsv, linksToCsv, inventoryToYaml, NODE_COLUMNS, LINK_COLUMNS, type InventoryFormat } from './import.js';
export {
  DEFAULT_METRIC_RETENTION_DAYS,
  MAX_INFLUX_BATCH,
  bucketMeans,
  bucketStats,
  MAX_DOWNSAMPLE_SERIES,
  type Bucket,
  type Downsampled,
  type DownsampledSeries,
  type MetricStore,
  type MetricsOptions,
  type InfluxOptions,
  type TagFilter,
  type Series,
  type SeriesPoint,
  type WriteResult,
} from './metric-store.js';
export { EmbeddedMetricStore, type EmbeddedMetricOptions, type PreparedPoints } from './embedded-metrics.js';
export { InfluxMetricStore } from './influx-metrics.js';
export { MetricRollups, FIVE_MINUTES_MS, ONE_HOUR_MS, ROLLUP_STEPS, DEFAULT_ROLLUP_RETENTION_DAYS, type RollupStep, type RollupRunResult } from './rollups.js';
export { graphApiRoutes, graphSeries, parseGraphQuery, GRAPH_RANGES, GRAPH_RANGE_NAMES, MAX_GRAPH_FIELDS, type GraphRange, type GraphQuery, type GraphAnswer } from './graph-api.js';
export { LogStore, EventStore, DEFAULT_LOG_RETENTION_DAYS, type LogSearch, type EventSearch, type StoredLog, type StoredEvent } from './log-store.js';
export { Ingestor, AGENT_NAME_PATTERN, MAX_ITEMS_PER_DELIVERY, type StoredDelivery, type StoredListener, type IngestResult, type IngestRejection, type AgentDelivery, type IngestorOptions } from './ingest.js';
export {
  StatusService,
  nodeStates,
  linkStatus,
  NODE_STATES,
  DEFAULT_STALE_AFTER_MS,
  type NodeState,
  type NodeStatus,
  type InterfaceStatus,
  type InterfaceState,
  type LinkStatus,
  type StatusOverview,
  type StatusOptions,
} from './status.js';
export { Monitor, openMonitor, openMetricStore, type MonitorOptions, type PruneResult } from './monitor.js';
export { monitorRoutes, agentName, type MonitorRoutesOptions } from './routes.js';
export { topologyPages, nodeGraphsSection, sparkline, topologySvg, depths, registerGraphAssets, GRAPH_SCRIPTS } from './graph-pages.js';
export { statusPages, STATUS_PAGE, STATUS_REFRESH_SECONDS, type StatusPagesOptions } from './pages.js';
