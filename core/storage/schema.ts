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

export interface Tables {
  audit_log: AuditLogTable;
  ca_authority: CaAuthorityTable;
  certificate: CertificateTable;
  crl: CrlTable;
  counter: CounterTable;
  backup_run: BackupRunTable;
  backup_drill: BackupDrillTable;
}
