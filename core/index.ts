// core: configuration, storage, the audit log, errors and logging.
//
// Loading this door loads the config schema, the query layer and their
// packages. errors.ts is core's light front door: code that needs only
// EgovError (the SNMP client, the CLI's entry point) imports it directly,
// so `egov-ops snmp walk` starts without them.
export { EgovError, asEgovError, errorCodes, exitCodes, type ErrorCode } from './errors.js';
export { loadConfig, defaultConfig, validateConfig, parseConfigFile, ConfigSchema, type Config, type ConfigSources, type BackupConfig, type BackupTargetConfig, type BackupPlanConfig, type BackupRetentionConfig } from './config.js';
export { openDatabase, type Database, type Db, type WriteTx, type Dialect, type OpenOptions } from './storage/database.js';
export { splitPostgresHosts, splitPostgresPassword, withPostgresDatabase, primaryPostgresUrl } from './storage/pg-hosts.js';
export { migrations, migrateToLatest } from './storage/migrations.js';
export { runReusable, runReusableEach } from './storage/reusable.js';
export type * from './storage/schema.js';
export {
  appendAudit,
  recordAudit,
  auditedWork,
  verifyAuditLog,
  listAudit,
  assertChainIntact,
  GENESIS_HASH,
  type AuditEvent,
  type AuditRecord,
  type AuditOutcome,
  type VerifyResult,
  type ChainBreak,
} from './audit-log.js';
export { createLogger, redactUrlPassword, type Logger } from './logging.js';
export { parseSchedule, type Schedule } from './schedule.js';
export { JobRunner, singleInstance, type Job, type JobContext, type JobRunnerOptions, type Coordinator, type JobRunRecord } from './jobs.js';
export { clusterStatus, coordinatorFor, PostgresCoordinator, schedulerLease, SCHEDULER_LEASE, type ClusterOptions, type ClusterStatus, type LeaseView } from './cluster.js';
export { createServer, ROLES, BODY_LIMIT_BYTES, FORM_BODY_LIMIT_BYTES, REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS, HANDLER_TIMEOUT_MS, LONG_HANDLER_TIMEOUT_MS, HSTS_HEADER, RATE_LIMITS, type RateLimit, type RateLimitName, type Role, type RouteRoles, type ServerOptions } from './http.js';
export { DatabaseRateStore, MemoryRateStore, type RateStore } from './rate-store.js';
export { openSecretBox, secretBoxFromKey, type SecretBox } from './secrets.js';
export {
  AccessControl,
  ADMIN_ROLES,
  SESSION_COOKIE,
  parseRole,
  type AccessSettings,
  type BindingView,
  type CertificateDirectory,
  type PeerIdentity,
  type PresentedCertificate,
  type Principal,
  type SessionGrant,
} from './access/access.js';
export { checkPasswordStrength, MIN_PASSWORD_LENGTH } from './access/passwords.js';
export { accessRoutes, actorOf, principalOf, setSessionCookie, clearSessionCookie, type AccessRoutesOptions } from './access/routes.js';
export { sessionCookieOf, type TlsOptions } from './http.js';
export { LANGUAGES, pickLanguage, type Language } from './language.js';
export * from './console/index.js';
