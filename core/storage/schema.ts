// Row types of every table. Times are ISO-8601 UTC strings in both engines
// (they sort as text and hash the same everywhere); binary values are Buffers.

import type { Generated } from 'kysely';

export interface AuditLogTable {
  id: Generated<number>;
  at: string;
  actor: string;
  action: string;
  object: string;
  source: string;
  outcome: 'success' | 'failure' | 'refused';
  detail: string;
  prev_hash: string;
  hash: string;
}

export interface CaAuthorityTable {
  name: string;
  algorithm: string;
  created_at: string;
  root_cert: Buffer;
  /** null when the root is kept offline (imported hierarchies). */
  root_key: Buffer | null;
  issuing_cert: Buffer;
  issuing_key: Buffer;
  ocsp_cert: Buffer | null;
  ocsp_key: Buffer | null;
  /** Last CRL number handed out (full and delta share one sequence, RFC 5280 5.2.3). */
  crl_number: number;
}

export interface CertificateTable {
  ca_name: string;
  serial: string;
  profile: string;
  subject: string;
  sans: string;
  key_algorithm: string;
  not_before: string;
  not_after: string;
  issued_at: string;
  fingerprint_sha256: string;
  der: Buffer;
  status: 'good' | 'revoked' | 'hold';
  revoked_at: string | null;
  revocation_reason: number | null;
  /** Bumped on every status change; delta CRLs list changes after a base's mark. */
  status_changed_seq: number | null;
}

export interface CrlTable {
  ca_name: string;
  number: number;
  kind: 'full' | 'delta';
  base_number: number | null;
  this_update: string;
  next_update: string;
  /** status_changed_seq high-water mark this CRL covers. */
  covers_seq: number;
  entries: number;
  der: Buffer;
}

export interface CounterTable {
  name: string;
  value: number;
}

/** One restic operation on a target: a backup, a forget+prune, an unlock. */
export interface BackupRunTable {
  id: Generated<number>;
  kind: 'backup' | 'forget' | 'unlock';
  plan: string;
  target: string;
  started_at: string;
  ended_at: string;
  status: 'success' | 'partial' | 'failure';
  snapshot_id: string | null;
  files_new: number | null;
  files_changed: number | null;
  files_total: number | null;
  bytes_added: number | null;
  bytes_total: number | null;
  /** restic's own exit code (null when restic never ran). */
  restic_exit_code: number | null;
  /** What happened, or restic's error message. */
  message: string;
  /** JSON: sha256 and size of the files the suite staged for this snapshot. */
  manifest: string | null;
  /** A forget --prune row: snapshots restic removed (null for other kinds, or when restic did not say). */
  snapshots_removed: number | null;
}

/** One restore drill: the checks it ran and the RTO/RPO it achieved. */
export interface BackupDrillTable {
  id: Generated<number>;
  plan: string;
  target: string;
  snapshot_id: string | null;
  snapshot_time: string | null;
  started_at: string;
  ended_at: string;
  /** 1 when every check passed. */
  ok: number;
  rto_seconds: number | null;
  rpo_seconds: number | null;
  restore_seconds: number | null;
  verify_seconds: number | null;
  /** JSON: [{ name, ok, detail }]. */
  checks: string;
}

/** A certificate bound to roles: who may do what (managed by a ca-admin). */
export interface AccessBindingTable {
  ca_name: string;
  serial: string;
  /** The certificate's CN, for display. */
  holder: string;
  /** JSON array of roles. */
  roles: string;
  /** scrypt hash; required before administrator roles are active. */
  password_hash: string | null;
  failed_sign_ins: number;
  locked_until: string | null;
  created_at: string;
  created_by: string;
}

export interface AccessSessionTable {
  /** SHA-256 of the session cookie; the cookie itself is never stored. */
  id_hash: string;
  ca_name: string;
  serial: string;
  csrf_token: string;
  /** 1 once the holder gave the password (the second factor). */
  password_verified: number;
  created_at: string;
  last_seen_at: string;
  expires_at: string;
  ended_at: string | null;
}

/** One-time enrolment codes: the first ca-admin, and agents. */
export interface AccessEnrolmentTable {
  code_hash: string;
  role: string;
  created_at: string;
  created_by: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
}

export interface RaRequestTable {
  id: Generated<number>;
  kind: 'issue' | 'renew' | 'rekey' | 'revoke' | 'suspend' | 'unsuspend';
  subject_type: 'person' | 'device' | 'software';
  profile: string;
  ca_name: string;
  state: 'submitted' | 'vetted' | 'approved' | 'issued' | 'delivered' | 'rejected';
  /** Person's name, device hostname or software name: what the queue shows and searches. */
  name: string;
  id_number: string | null;
  hostname: string | null;
  /** JSON: every applicant field as submitted. */
  applicant: string;
  key_source: 'csr' | 'keygen' | 'existing';
  csr: Buffer | null;
  key_algorithm: string | null;
  target_serial: string | null;
  revoke_reason: string | null;
  /** Set while the request is open; unique, so a duplicate submission is refused. */
  dedupe_key: string | null;
  submitted_by: string;
  submitted_at: string;
  vetted_by: string | null;
  vetted_at: string | null;
  /** JSON: document type, masked number, who presented it, notes. */
  vetting: string | null;
  approved_by: string | null;
  approved_at: string | null;
  rejected_by: string | null;
  rejected_at: string | null;
  reject_reason: string | null;
  issued_serial: string | null;
  issued_at: string | null;
  delivered_at: string | null;
  /** A server-generated private key, sealed, until its one download. */
  pending_key: Buffer | null;
  updated_at: string;
}

/** An inventory node: a device or server the monitor watches. */
export interface MonitorNodeTable {
  id: Generated<number>;
  name: string;
  kind: 'router' | 'switch' | 'firewall' | 'gateway' | 'server' | 'other';
  zone: 'internal' | 'external' | 'dmz';
  site: string;
  level: 'city' | 'county' | 'township' | 'village';
  /** Management address: IPv4, IPv6 or a DNS name. */
  address: string;
  snmp_port: number;
  /** null: not polled over SNMP (reachability only). */
  snmp_version: 'v1' | 'v2c' | 'v3' | null;
  /** v3 only; the user name travels in clear on the wire (msgUserName), so it is no secret. */
  snmp_user: string | null;
  snmp_auth_protocol: string | null;
  snmp_priv_protocol: string | null;
  /** SecretBox-sealed JSON: the community, or the v3 auth and priv passwords. */
  snmp_secret: Buffer | null;
  description: string;
  created_at: string;
  updated_at: string;
}

/** Node -> parent: one step on a path towards the core (a node may have several). */
export interface MonitorNodeParentTable {
  node_id: number;
  parent_id: number;
}

export interface MonitorLinkTable {
  id: Generated<number>;
  a_node_id: number;
  a_interface: string;
  b_node_id: number;
  b_interface: string;
  capacity_bps: number;
  description: string;
  created_at: string;
  updated_at: string;
}

/** Embedded metrics: one row per series (measurement + tags). */
export interface MonitorMetricSeriesTable {
  id: Generated<number>;
  measurement: string;
  node: string;
  /** Canonical JSON of the tags, keys sorted. */
  tags: string;
}

/** Embedded metrics: one row per sample; `fields` is the measurement's fields as float64 LE, NaN where absent. */
export interface MonitorMetricPointTable {
  series_id: number;
  /** Epoch milliseconds. */
  time: number;
  fields: Buffer;
}

/** Metric rollups: per series and step (5 min, 1 h), each field's sum, count, min and max as float64 LE (NaN where none). */
export interface MonitorMetricRollupTable {
  series_id: number;
  step_ms: number;
  /** Bucket start, epoch milliseconds, aligned to the epoch. */
  time: number;
  fields: Buffer;
}

/** The rollup job's marks (e.g. the last raw point rolled up, by insertion order). */
export interface MonitorMetricRollupStateTable {
  name: string;
  value: number;
}

export interface MonitorLogTable {
  id: Generated<number>;
  /** Epoch milliseconds (the message's own time, else when received). */
  time: number;
  received_at: number;
  node: string | null;
  source_address: string;
  facility: number;
  /** Syslog severity number: 0 emergency .. 7 debug. */
  severity: number;
  host: string | null;
  app: string | null;
  proc_id: string | null;
  msg_id: string | null;
  message: string;
  /** JSON: RFC 5424 structured data. */
  structured_data: string;
  format: 'rfc3164' | 'rfc5424';
  transport: 'udp' | 'tcp' | 'tls';
  /** The agent that shipped it. */
  agent: string;
}

export interface MonitorEventTable {
  id: Generated<number>;
  time: number;
  received_at: number;
  node: string | null;
  source_address: string;
  kind: 'trap' | 'inform' | 'reachability' | 'counter-reset';
  name: string;
  severity: number;
  /** JSON: string -> string. */
  detail: string;
  agent: string;
}

/** Per agent: the highest outbox sequence number stored, and delivery counts. */
export interface MonitorAgentTable {
  name: string;
  high_water_seq: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  last_seen_at: string;
  last_reject_reason: string | null;
}

/** A four-eyes gate of a runbook run waiting for (or decided by) a second operator. */
export interface PlaybookApprovalTable {
  id: Generated<number>;
  runbook: string;
  run_id: string;
  step: string;
  summary: string;
  /** waiting | approved | rejected */
  state: string;
  requested_by: string;
  requested_ca: string;
  requested_serial: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

// Several instances on one PostgreSQL (0016-cluster). Times are epoch milliseconds in the database's clock.
export interface ClusterLeaseTable {
  name: string;
  holder: string;
  acquired_at: number;
  expires_at: number;
}

export interface ClusterInstanceTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

export interface ClusterJobRunTable {
  job: string;
  due: string;
  instance: string;
  claimed_at: number;
  attempts: number;
  ended_at: number | null;
  ok: number | null;
  error: string | null;
}

// ---- alerts (monitor/alerts, migration 0012-alerts)

/** One alert: a (rule, object) fingerprint's life from pending to resolved. */
export interface AlertAlertTable {
  id: Generated<number>;
  fingerprint: string;
  /** The fingerprint while the alert is not resolved (unique), null once resolved: one live alert per fingerprint. */
  live_fingerprint: string | null;
  rule: string;
  severity: string;
  state: 'pending' | 'firing' | 'acknowledged' | 'resolved';
  node: string | null;
  site: string | null;
  zone: string | null;
  /** JSON: label -> value. */
  labels: string;
  summary: string;
  value: number | null;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  ack_by: string | null;
  ack_comment: string | null;
  ack_at: string | null;
  /** The parent alert this one is folded into (children behind a down parent). */
  folded_into: number | null;
  /** 1 while it waits, after its parent came back, for its node to be polled again. */
  held: number;
  /** 1 when its firing was (or will be) notified; 0 while folded, in maintenance or silenced. */
  notified: number;
  /** Why it was not notified: maintenance, silence, folded, flapping. */
  muted_by: string | null;
  flapping: number;
  escalated: number;
  updated_at: string;
}

export interface AlertEventTable {
  id: Generated<number>;
  alert_id: number;
  at: string;
  kind: string;
  actor: string;
  text: string;
}

/** Per fingerprint: the last 21 check results (flap detection), kept across alerts. */
export interface AlertCheckTable {
  fingerprint: string;
  /** Newest last, one character per check: 1 raised, 0 clear. */
  history: string;
  flapping: number;
  updated_at: string;
}

export interface AlertSilenceTable {
  id: Generated<number>;
  /** JSON: [{ name, value }] (all must match). */
  matchers: string;
  starts_at: string;
  ends_at: string;
  reason: string;
  created_by: string;
  created_at: string;
}

export interface AlertMaintenanceTable {
  id: Generated<number>;
  scope: 'node' | 'site' | 'zone';
  target: string;
  starts_at: string | null;
  ends_at: string | null;
  cron: string | null;
  duration_ms: number | null;
  reason: string;
  created_by: string;
  created_at: string;
  /** ISO time of the end of the last window whose leftovers were notified. */
  closed_until: string | null;
}

export interface AlertReceiverTable {
  name: string;
  type: string;
  /** JSON: the settings without secrets. */
  settings: string;
  /** Sealed (SecretBox) JSON of the secrets. */
  secret: Buffer | null;
  created_at: string;
}

export interface AlertDeliveryTable {
  id: Generated<number>;
  receiver: string;
  group_key: string;
  kind: string;
  /** JSON: alert ids. */
  alert_ids: string;
  /** sending: claimed by a sender until next_at (its lease). */
  status: 'queued' | 'sending' | 'sent' | 'failed';
  attempts: number;
  next_at: string;
  last_answer: string | null;
  created_at: string;
  sent_at: string | null;
  /** JSON of the text sent (for the record). */
  body: string | null;
}

// The knowledge base (monitor/kb).
export interface KbArticleTable {
  id: string;
  state: 'draft' | 'review' | 'published';
  title_en: string | null;
  title_zh: string | null;
  /** JSON: the article's text, applies-to, tags, runbook. */
  content: string;
  author: string;
  revision: number;
  created_at: string;
  updated_at: string;
  updated_by: string;
  published_at: string | null;
  published_by: string | null;
  /** Lower-cased text of every field, for the trigram index. */
  search_text: string;
}

export interface KbArticleRevisionTable {
  article_id: string;
  revision: number;
  at: string;
  by: string;
  /** JSON: the names of the fields changed. */
  changes: string;
  comment: string | null;
  state: string;
  content: string;
}

export interface KbAppliesTable {
  article_id: string;
  key_kind: 'rule' | 'kind' | 'oid' | 'log' | 'trap';
  value: string;
  position: number;
}

export interface KbGramTable {
  gram: string;
  article_id: string;
}

export interface KbIncidentTable {
  id: Generated<number>;
  alert_id: string;
  rule: string;
  node: string | null;
  site: string | null;
  started_at: string;
  resolved_at: string;
  duration_ms: number;
  note: string | null;
  by: string;
}

// ---- grade-protection audits (audit/, migration 0014-audit) ----
export interface MlpsSystemTable {
  name: string;
  level: number;
  /** 1: the suite itself is an asset. */
  suite: number;
  /** JSON: inventory node names. */
  nodes: string;
  /** JSON: audited host names. */
  hosts: string;
  /** JSON: code -> reason. */
  not_applicable: string;
  created_at: string;
  created_by: string;
}
export interface MlpsHostTable {
  name: string;
  kind: 'ssh' | 'local';
  ssh_user: string | null;
  address: string | null;
  port: number | null;
  identity_file: string | null;
  known_hosts_file: string | null;
  root: string;
  created_at: string;
  created_by: string;
}
export interface MlpsRunTable {
  id: Generated<number>;
  system: string;
  level: number;
  started_at: string;
  ended_at: string;
  started_by: string;
  scoring: string;
  score: number | null;
  conclusion: string;
  /** JSON: the score breakdown, high risks, counts, collector versions. */
  summary: string;
}
export interface MlpsResultTable {
  run_id: number;
  code: string;
  status: string;
  /** JSON: checks with evidence, attestation or waiver used, hint. */
  detail: string;
}
export interface MlpsFindingTable {
  id: Generated<number>;
  kind: 'attestation' | 'waiver';
  code: string;
  system: string | null;
  result: string | null;
  note: string;
  /** JSON: SHA-256 list. */
  attachments: string;
  valid_until: string;
  recorded_at: string;
  recorded_by: string;
}
export interface MlpsAttachmentTable {
  sha256: string;
  name: string;
  media_type: string;
  size: number;
  content: Buffer;
  stored_at: string;
  stored_by: string;
}

export interface Tables {
  audit_log: AuditLogTable;
  ca_authority: CaAuthorityTable;
  certificate: CertificateTable;
  crl: CrlTable;
  counter: CounterTable;
  backup_run: BackupRunTable;
  backup_drill: BackupDrillTable;
  access_binding: AccessBindingTable;
  access_session: AccessSessionTable;
  access_enrolment: AccessEnrolmentTable;
  ra_request: RaRequestTable;
  monitor_node: MonitorNodeTable;
  monitor_node_parent: MonitorNodeParentTable;
  monitor_link: MonitorLinkTable;
  monitor_metric_series: MonitorMetricSeriesTable;
  monitor_metric_point: MonitorMetricPointTable;
  monitor_metric_rollup: MonitorMetricRollupTable;
  monitor_metric_rollup_state: MonitorMetricRollupStateTable;
  monitor_log: MonitorLogTable;
  monitor_event: MonitorEventTable;
  monitor_agent: MonitorAgentTable;
  playbook_approval: PlaybookApprovalTable;
  cluster_lease: ClusterLeaseTable;
  cluster_instance: ClusterInstanceTable;
  cluster_job_run: ClusterJobRunTable;
  alert_alert: AlertAlertTable;
  alert_event: AlertEventTable;
  alert_check: AlertCheckTable;
  alert_silence: AlertSilenceTable;
  alert_maintenance: AlertMaintenanceTable;
  alert_receiver: AlertReceiverTable;
  alert_delivery: AlertDeliveryTable;
  kb_article: KbArticleTable;
  kb_article_revision: KbArticleRevisionTable;
  kb_applies: KbAppliesTable;
  kb_gram: KbGramTable;
  kb_incident: KbIncidentTable;
  mlps_system: MlpsSystemTable;
  mlps_host: MlpsHostTable;
  mlps_run: MlpsRunTable;
  mlps_result: MlpsResultTable;
  mlps_finding: MlpsFindingTable;
  mlps_attachment: MlpsAttachmentTable;
  rate_window: RateWindowTable;
}

/** One client's requests to one named limit in its current window (core/rate-store.ts). */
export interface RateWindowTable {
  key: string;
  started_at: number;
  count: number;
}
