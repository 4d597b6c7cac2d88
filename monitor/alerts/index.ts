// monitor/alerts: rules as data, the life of an alert in the database
// (pending, firing, acknowledged, resolved; folding behind down parents,
// flapping, maintenance, silences, escalation) and notifications
// (e-mail, WeCom, DingTalk, Feishu, webhooks, Prometheus Alertmanager).
export {
  ALERT_SEVERITIES,
  SEVERITY_NAMES,
  RULE_KINDS,
  TRAP_NAMES,
  BUILT_IN_RULES,
  builtInRuleSet,
  parseRuleSet,
  parseRuleSetYaml,
  loadRuleSet,
  describeRule,
  parseDuration,
  type AlertSeverity,
  type Rule,
  type RuleKind,
  type RuleScope,
  type RuleSet,
  type RouteSpec,
  type EscalationSpec,
} from './rules.js';
export {
  AlertEngine,
  ALERT_STATES,
  flapPercent,
  fingerprintOf,
  alertLabels,
  silenceMatches,
  windowActive,
  windowCovers,
  type Alert,
  type AlertState,
  type Observation,
  type TimelineEntry,
  type Silence,
  type Matcher,
  type MaintenanceWindow,
  type NodeInfo,
  type Notifier,
  type NotifyKind,
} from './engine.js';
export {
  AlertNotifier,
  RECEIVER_TYPES,
  checkReceiver,
  renderMessage,
  alertmanagerWebhookBody,
  dingtalkSign,
  feishuSign,
  type ReceiverType,
  type ReceiverInput,
  type ReceiverView,
  type ReceiverSettings,
  type DeliveryView,
  type Message,
} from './notify.js';
export type { KnowledgeLookup, AlertKey, MatchedArticle, SeenBefore } from './kb-lookup.js';
export { AlertService, firingAlertCounts, parseMatcher, ALERTS_EVALUATE_INTERVAL_MS, type AlertServiceOptions, type AlertDetail } from './service.js';
export { alertRoutes, type AlertRoutesOptions } from './routes.js';
export { alertPages, firingBanner, ALERT_STYLE, type AlertPagesOptions } from './pages.js';
export type { ExternalEvent, ExternalObservation, ExternalCheck } from './service.js';
export { auditAlerts, AUDIT_SCORE_RULE, AUDIT_HIGH_RISK_RULE, type AuditAlerts } from './audit-events.js';
export { alertEventRoutes, type AlertEventRoutesOptions } from './event-routes.js';
