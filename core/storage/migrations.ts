// Versioned migrations, written once for both engines. Add a new entry at
// the end; never edit one that has shipped.

import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { EgovError } from '../errors.js';
import type { Database, Dialect } from './database.js';

type MigrationFactory = (dialect: Dialect) => Migration;

const blob = (dialect: Dialect) => (dialect === 'postgres' ? sql`bytea` : sql`blob`);
const autoId = (dialect: Dialect) => (dialect === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`);

export const migrations: Record<string, MigrationFactory> = {
  '0001-audit-log': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('audit_log')
        .addColumn('id', autoId(dialect))
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('object', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    },
  }),
  '0002-ca': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('ca_authority')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('root_cert', blob(dialect), (c) => c.notNull())
        .addColumn('root_key', blob(dialect))
        .addColumn('issuing_cert', blob(dialect), (c) => c.notNull())
        .addColumn('issuing_key', blob(dialect), (c) => c.notNull())
        .addColumn('ocsp_cert', blob(dialect))
        .addColumn('ocsp_key', blob(dialect))
        .addColumn('crl_number', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema
        .createTable('certificate')
        .addColumn('ca_name', 'text', (c) => c.notNull().references('ca_authority.name'))
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('profile', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('sans', 'text', (c) => c.notNull())
        .addColumn('key_algorithm', 'text', (c) => c.notNull())
        .addColumn('not_before', 'text', (c) => c.notNull())
        .addColumn('not_after', 'text', (c) => c.notNull())
        .addColumn('issued_at', 'text', (c) => c.notNull())
        .addColumn('fingerprint_sha256', 'text', (c) => c.notNull())
        .addColumn('der', blob(dialect), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revocation_reason', 'integer')
        .addColumn('status_changed_seq', 'bigint')
        .addPrimaryKeyConstraint('certificate_pk', ['ca_name', 'serial'])
        .execute();
      // Partial indexes: a new certificate is good and unchanged, so issuing
      // one writes neither; CRL builds read only what they cover.
      await db.schema.createIndex('certificate_revoked').on('certificate').columns(['ca_name', 'status']).where(sql.ref('status'), '!=', 'good').execute();
      await db.schema
        .createIndex('certificate_changed')
        .on('certificate')
        .columns(['ca_name', 'status_changed_seq'])
        .where(sql.ref('status_changed_seq'), 'is not', null)
        .execute();
      await db.schema.createIndex('certificate_not_after').on('certificate').columns(['ca_name', 'not_after']).execute();
      await db.schema
        .createTable('crl')
        .addColumn('ca_name', 'text', (c) => c.notNull().references('ca_authority.name'))
        .addColumn('number', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('base_number', 'bigint')
        .addColumn('this_update', 'text', (c) => c.notNull())
        .addColumn('next_update', 'text', (c) => c.notNull())
        .addColumn('covers_seq', 'bigint', (c) => c.notNull())
        .addColumn('entries', 'integer', (c) => c.notNull())
        .addColumn('der', blob(dialect), (c) => c.notNull())
        .addPrimaryKeyConstraint('crl_pk', ['ca_name', 'number'])
        .execute();
      await db.schema
        .createTable('counter')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
    },
  }),  '0003-backup': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('backup_run')
        .addColumn('id', autoId(dialect))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('snapshot_id', 'text')
        .addColumn('files_new', 'bigint')
        .addColumn('files_changed', 'bigint')
        .addColumn('files_total', 'bigint')
        .addColumn('bytes_added', 'bigint')
        .addColumn('bytes_total', 'bigint')
        .addColumn('restic_exit_code', 'integer')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('manifest', 'text')
        .execute();
      await db.schema.createIndex('backup_run_target').on('backup_run').columns(['target', 'kind', 'started_at']).execute();
      await db.schema
        .createTable('backup_drill')
        .addColumn('id', autoId(dialect))
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('snapshot_id', 'text')
        .addColumn('snapshot_time', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text', (c) => c.notNull())
        .addColumn('ok', 'integer', (c) => c.notNull())
        .addColumn('rto_seconds', 'double precision')
        .addColumn('rpo_seconds', 'double precision')
        .addColumn('restore_seconds', 'double precision')
        .addColumn('verify_seconds', 'double precision')
        .addColumn('checks', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('backup_drill_target').on('backup_drill').columns(['target', 'started_at']).execute();
    },
  }),
  '0004-access-ra': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('access_binding')
        .addColumn('ca_name', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('roles', 'text', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('failed_sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_until', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('access_binding_pk', ['ca_name', 'serial'])
        .execute();
      await db.schema
        .createTable('access_session')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('ca_name', 'text', (c) => c.notNull())
        .addColumn('serial', 'text', (c) => c.notNull())
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('password_verified', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .execute();
      await db.schema
        .createTable('access_enrolment')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('used_at', 'text')
        .addColumn('used_by', 'text')
        .execute();
      await db.schema
        .createTable('ra_request')
        .addColumn('id', autoId(dialect))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject_type', 'text', (c) => c.notNull())
        .addColumn('profile', 'text', (c) => c.notNull())
        .addColumn('ca_name', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('id_number', 'text')
        .addColumn('hostname', 'text')
        .addColumn('applicant', 'text', (c) => c.notNull())
        .addColumn('key_source', 'text', (c) => c.notNull())
        .addColumn('csr', blob(dialect))
        .addColumn('key_algorithm', 'text')
        .addColumn('target_serial', 'text')
        .addColumn('revoke_reason', 'text')
        .addColumn('dedupe_key', 'text')
        .addColumn('submitted_by', 'text', (c) => c.notNull())
        .addColumn('submitted_at', 'text', (c) => c.notNull())
        .addColumn('vetted_by', 'text')
        .addColumn('vetted_at', 'text')
        .addColumn('vetting', 'text')
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'text')
        .addColumn('rejected_by', 'text')
        .addColumn('rejected_at', 'text')
        .addColumn('reject_reason', 'text')
        .addColumn('issued_serial', 'text')
        .addColumn('issued_at', 'text')
        .addColumn('delivered_at', 'text')
        .addColumn('pending_key', blob(dialect))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // An open request's identity (who or what, which profile): a duplicate submission collides here.
      await db.schema.createIndex('ra_request_dedupe').on('ra_request').column('dedupe_key').unique().execute();
      for (const column of ['state', 'profile', 'submitted_by', 'name', 'id_number', 'hostname', 'issued_serial', 'target_serial', 'submitted_at']) {
        await db.schema.createIndex(`ra_request_${column}`).on('ra_request').columns([column, 'id']).execute();
      }
    },
  }),
  // The monitor: inventory (nodes, parents, links), the embedded metrics
  // store, logs, events, and each agent's delivery high-water mark. Metric,
  // log and event times are epoch milliseconds (bigint), not ISO text: these
  // tables take thousands of rows a second and are read by time range.
  '0005-monitor': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('monitor_node')
        .addColumn('id', autoId(dialect))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('zone', 'text', (c) => c.notNull())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('level', 'text', (c) => c.notNull())
        .addColumn('address', 'text', (c) => c.notNull())
        .addColumn('snmp_port', 'integer', (c) => c.notNull())
        .addColumn('snmp_version', 'text')
        .addColumn('snmp_user', 'text')
        .addColumn('snmp_auth_protocol', 'text')
        .addColumn('snmp_priv_protocol', 'text')
        .addColumn('snmp_secret', blob(dialect))
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('monitor_node_parent')
        .addColumn('node_id', 'bigint', (c) => c.notNull().references('monitor_node.id').onDelete('cascade'))
        .addColumn('parent_id', 'bigint', (c) => c.notNull().references('monitor_node.id'))
        .addPrimaryKeyConstraint('monitor_node_parent_pk', ['node_id', 'parent_id'])
        .execute();
      await db.schema.createIndex('monitor_node_parent_parent').on('monitor_node_parent').column('parent_id').execute();
      await db.schema
        .createTable('monitor_link')
        .addColumn('id', autoId(dialect))
        .addColumn('a_node_id', 'bigint', (c) => c.notNull().references('monitor_node.id'))
        .addColumn('a_interface', 'text', (c) => c.notNull())
        .addColumn('b_node_id', 'bigint', (c) => c.notNull().references('monitor_node.id'))
        .addColumn('b_interface', 'text', (c) => c.notNull())
        .addColumn('capacity_bps', 'bigint', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      // An interface is the end of at most one link.
      await db.schema.createIndex('monitor_link_a').on('monitor_link').columns(['a_node_id', 'a_interface']).unique().execute();
      await db.schema.createIndex('monitor_link_b').on('monitor_link').columns(['b_node_id', 'b_interface']).unique().execute();
      await db.schema
        .createTable('monitor_metric_series')
        .addColumn('id', autoId(dialect))
        .addColumn('measurement', 'text', (c) => c.notNull())
        .addColumn('node', 'text', (c) => c.notNull())
        .addColumn('tags', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_metric_series_key').on('monitor_metric_series').columns(['measurement', 'tags']).unique().execute();
      await db.schema.createIndex('monitor_metric_series_node').on('monitor_metric_series').columns(['measurement', 'node']).execute();
      // One row per sample, fields packed as float64s. Rows go in arrival
      // order and a unique (series, time) index finds them: a table
      // clustered by series would take each delivery as thousands of
      // scattered page writes (measured 3-4x slower on SQLite).
      await db.schema
        .createTable('monitor_metric_point')
        .addColumn('series_id', 'bigint', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('fields', blob(dialect), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_metric_point_key').on('monitor_metric_point').columns(['series_id', 'time']).unique().execute();
      await db.schema
        .createTable('monitor_log')
        .addColumn('id', autoId(dialect))
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text')
        .addColumn('source_address', 'text', (c) => c.notNull())
        .addColumn('facility', 'integer', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('host', 'text')
        .addColumn('app', 'text')
        .addColumn('proc_id', 'text')
        .addColumn('msg_id', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('structured_data', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('transport', 'text', (c) => c.notNull())
        .addColumn('agent', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_log_time').on('monitor_log').columns(['time', 'id']).execute();
      await db.schema.createIndex('monitor_log_node').on('monitor_log').columns(['node', 'time', 'id']).execute();
      await db.schema.createIndex('monitor_log_received').on('monitor_log').column('received_at').execute();
      await db.schema
        .createTable('monitor_event')
        .addColumn('id', autoId(dialect))
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('received_at', 'bigint', (c) => c.notNull())
        .addColumn('node', 'text')
        .addColumn('source_address', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('agent', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_event_time').on('monitor_event').columns(['time', 'id']).execute();
      await db.schema.createIndex('monitor_event_node').on('monitor_event').columns(['node', 'time', 'id']).execute();
      await db.schema.createIndex('monitor_event_received').on('monitor_event').column('received_at').execute();
      await db.schema
        .createTable('monitor_agent')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('high_water_seq', 'bigint', (c) => c.notNull())
        .addColumn('accepted', 'bigint', (c) => c.notNull())
        .addColumn('rejected', 'bigint', (c) => c.notNull())
        .addColumn('duplicates', 'bigint', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('last_reject_reason', 'text')
        .execute();
    },
  }),
  // Retention runs apart from backups now, and status reports what each prune removed.
  '0006-backup-prune-counts': () => ({
    async up(db: Kysely<any>) {
      await db.schema.alterTable('backup_run').addColumn('snapshots_removed', 'integer').execute();
    },
  }),
  // Log retention walks monitor_log by id (its primary key) now, not by
  // received_at: syslog writes tens of thousands of rows a second, and this
  // index, there only for the daily prune, cost each of them as much as a
  // search index does. monitor_event keeps its received_at index (events
  // are few).
  '0007-monitor-log-prune-by-id': () => ({
    async up(db: Kysely<any>) {
      await db.schema.dropIndex('monitor_log_received').ifExists().execute();
    },
  }),
  // Metric rollups (dashboards): 5-minute and 1-hour aggregates per series,
  // kept longer than raw points, so long ranges read a few thousand rows.
  // The rollup job finds new raw points by their insertion order: SQLite's
  // rowid, PostgreSQL's new `seq` column (bigserial, filled for old rows).
  '0011-metric-rollups': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('monitor_metric_rollup')
        .addColumn('series_id', 'bigint', (c) => c.notNull())
        .addColumn('step_ms', 'integer', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('fields', blob(dialect), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('monitor_metric_rollup_key').on('monitor_metric_rollup').columns(['series_id', 'step_ms', 'time']).unique().execute();
      await db.schema
        .createTable('monitor_metric_rollup_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'bigint', (c) => c.notNull())
        .execute();
      if (dialect === 'postgres') {
        await sql`alter table monitor_metric_point add column seq bigserial`.execute(db);
        await db.schema.createIndex('monitor_metric_point_seq').on('monitor_metric_point').column('seq').execute();
      }
    },
  }),
  '0012-alerts': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('alert_alert')
        .addColumn('id', autoId(dialect))
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('live_fingerprint', 'text')
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('node', 'text')
        .addColumn('site', 'text')
        .addColumn('zone', 'text')
        .addColumn('labels', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('value', 'double precision')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('fired_at', 'text')
        .addColumn('resolved_at', 'text')
        .addColumn('ack_by', 'text')
        .addColumn('ack_comment', 'text')
        .addColumn('ack_at', 'text')
        .addColumn('folded_into', 'bigint')
        .addColumn('held', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('notified', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('muted_by', 'text')
        .addColumn('flapping', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('escalated', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alert_alert_live').on('alert_alert').column('live_fingerprint').unique().execute();
      await db.schema.createIndex('alert_alert_fingerprint').on('alert_alert').columns(['fingerprint', 'id']).execute();
      await db.schema.createIndex('alert_alert_state').on('alert_alert').columns(['state', 'id']).execute();
      await db.schema
        .createTable('alert_event')
        .addColumn('id', autoId(dialect))
        .addColumn('alert_id', 'bigint', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alert_event_alert').on('alert_event').columns(['alert_id', 'id']).execute();
      await db.schema
        .createTable('alert_check')
        .addColumn('fingerprint', 'text', (c) => c.primaryKey())
        .addColumn('history', 'text', (c) => c.notNull())
        .addColumn('flapping', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alert_silence')
        .addColumn('id', autoId(dialect))
        .addColumn('matchers', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alert_maintenance')
        .addColumn('id', autoId(dialect))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('starts_at', 'text')
        .addColumn('ends_at', 'text')
        .addColumn('cron', 'text')
        .addColumn('duration_ms', 'bigint')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('closed_until', 'text')
        .execute();
      await db.schema
        .createTable('alert_receiver')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('settings', 'text', (c) => c.notNull())
        .addColumn('secret', blob(dialect))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('alert_delivery')
        .addColumn('id', autoId(dialect))
        .addColumn('receiver', 'text', (c) => c.notNull())
        .addColumn('group_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('alert_ids', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_at', 'text', (c) => c.notNull())
        .addColumn('last_answer', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'text')
        .addColumn('body', 'text')
        .execute();
      await db.schema.createIndex('alert_delivery_due').on('alert_delivery').columns(['status', 'next_at']).execute();
    },
  }),
  // The knowledge base (monitor/kb): articles with every revision, their
  // applies-to keys for matching alerts, past incidents for "seen before",
  // and two search paths: trigram full text (SQLite FTS5, PostgreSQL pg_trgm)
  // for terms of three characters or more, and a table of the 1- and
  // 2-character grams of each article for shorter terms (光衰, 端口).
  '0013-kb': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('kb_article')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('title_en', 'text')
        .addColumn('title_zh', 'text')
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('author', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('published_at', 'text')
        .addColumn('published_by', 'text')
        .addColumn('search_text', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kb_article_state').on('kb_article').columns(['state', 'updated_at']).execute();
      await db.schema
        .createTable('kb_article_revision')
        .addColumn('article_id', 'text', (c) => c.notNull().references('kb_article.id').onDelete('cascade'))
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('by', 'text', (c) => c.notNull())
        .addColumn('changes', 'text', (c) => c.notNull())
        .addColumn('comment', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_article_revision_pk', ['article_id', 'revision'])
        .execute();
      await db.schema
        .createTable('kb_applies')
        .addColumn('article_id', 'text', (c) => c.notNull().references('kb_article.id').onDelete('cascade'))
        .addColumn('key_kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        // Where the key stands in its list: the first rule named is the article's main one.
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('kb_applies_pk', ['key_kind', 'value', 'article_id'])
        .execute();
      await db.schema.createIndex('kb_applies_article').on('kb_applies').column('article_id').execute();
      await db.schema
        .createTable('kb_gram')
        .addColumn('gram', 'text', (c) => c.notNull())
        .addColumn('article_id', 'text', (c) => c.notNull().references('kb_article.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('kb_gram_pk', ['gram', 'article_id'])
        .execute();
      await db.schema.createIndex('kb_gram_article').on('kb_gram').column('article_id').execute();
      await db.schema
        .createTable('kb_incident')
        .addColumn('id', autoId(dialect))
        .addColumn('alert_id', 'text', (c) => c.notNull())
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('node', 'text')
        .addColumn('site', 'text')
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('resolved_at', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('kb_incident_alert').on('kb_incident').columns(['alert_id', 'started_at']).unique().execute();
      await db.schema.createIndex('kb_incident_node').on('kb_incident').columns(['rule', 'node', 'resolved_at']).execute();
      await db.schema.createIndex('kb_incident_site').on('kb_incident').columns(['rule', 'site', 'resolved_at']).execute();
      if (dialect === 'postgres') {
        await sql`create extension if not exists pg_trgm`.execute(db);
        await sql`create index kb_article_search on kb_article using gin (search_text gin_trgm_ops)`.execute(db);
      } else {
        await sql`create virtual table kb_article_fts using fts5(article_id unindexed, body, tokenize = 'trigram')`.execute(db);
      }
    },
  }),
  // Grade-protection audits (audit/): systems under evaluation, audited
  // hosts, runs with one result per item (its evidence as JSON, kept as it
  // was), officers' attestations and waivers, and attachments by SHA-256.
  '0014-audit': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('mlps_system')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('suite', 'integer', (c) => c.notNull())
        .addColumn('nodes', 'text', (c) => c.notNull())
        .addColumn('hosts', 'text', (c) => c.notNull())
        .addColumn('not_applicable', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mlps_host')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('ssh_user', 'text')
        .addColumn('address', 'text')
        .addColumn('port', 'integer')
        .addColumn('identity_file', 'text')
        .addColumn('known_hosts_file', 'text')
        .addColumn('root', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('mlps_run')
        .addColumn('id', autoId(dialect))
        .addColumn('system', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text', (c) => c.notNull())
        .addColumn('started_by', 'text', (c) => c.notNull())
        .addColumn('scoring', 'text', (c) => c.notNull())
        .addColumn('score', 'real')
        .addColumn('conclusion', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mlps_run_system').on('mlps_run').columns(['system', 'id']).execute();
      await db.schema
        .createTable('mlps_result')
        .addColumn('run_id', 'bigint', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('mlps_result_pk', ['run_id', 'code'])
        .execute();
      await db.schema
        .createTable('mlps_finding')
        .addColumn('id', autoId(dialect))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('code', 'text', (c) => c.notNull())
        .addColumn('system', 'text')
        .addColumn('result', 'text')
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('attachments', 'text', (c) => c.notNull())
        .addColumn('valid_until', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'text', (c) => c.notNull())
        .addColumn('recorded_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('mlps_finding_code').on('mlps_finding').columns(['code', 'id']).execute();
      await db.schema
        .createTable('mlps_attachment')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('media_type', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('content', blob(dialect), (c) => c.notNull())
        .addColumn('stored_at', 'text', (c) => c.notNull())
        .addColumn('stored_by', 'text', (c) => c.notNull())
        .execute();
    },
  }),
  // Runbooks (playbooks/): four-eyes approvals of a waiting gate, asked
  // for by the run's operator and decided by another one through the API.
  '0015-playbooks': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('playbook_approval')
        .addColumn('id', autoId(dialect))
        .addColumn('runbook', 'text', (c) => c.notNull())
        .addColumn('run_id', 'text', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_ca', 'text', (c) => c.notNull())
        .addColumn('requested_serial', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('reason', 'text')
        .execute();
      await db.schema.createIndex('playbook_approval_state').on('playbook_approval').columns(['state', 'requested_at']).execute();
      },
    }),
  // Several `serve` instances on one PostgreSQL (issue 15): the scheduler
  // lease (one holder at a time, renewed by heartbeat, expiring in the
  // database's own clock), the instances and their heartbeats, and one row
  // per (job, due time) so each scheduled run is claimed exactly once.
  // Created on SQLite too (one instance there, but the same shape).
  '0016-cluster': (dialect) => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('cluster_lease')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text', (c) => c.notNull())
        .addColumn('acquired_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cluster_instance')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('cluster_job_run')
        .addColumn('job', 'text', (c) => c.notNull())
        .addColumn('due', 'text', (c) => c.notNull())
        .addColumn('instance', 'text', (c) => c.notNull())
        .addColumn('claimed_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('ended_at', 'bigint')
        .addColumn('ok', 'integer')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('cluster_job_run_pk', ['job', 'due'])
        .execute();
      await db.schema.createIndex('cluster_job_run_open').on('cluster_job_run').columns(['ended_at', 'instance']).execute();
      // A certificate's status changed (revoke, hold, release; by serve or by
      // the CLI): every instance listening drops its OCSP answers and
      // identity cache for that CA at once, not at its next poll.
      if (dialect === 'postgres') {
        await sql`create function cluster_notify_status() returns trigger language plpgsql as $$
          begin perform pg_notify('egov_ca_status', new.ca_name); return null; end $$`.execute(db);
        await sql`create trigger cluster_certificate_status after update of status on certificate
          for each row when (old.status is distinct from new.status) execute function cluster_notify_status()`.execute(db);
      }
    },
  }),
  // Rate-limit windows in the database, so several instances behind a
  // balancer count one client's sign-ins and enrolments together.
  '0021-rate-limits': () => ({
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('rate_window')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('count', 'integer', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_window_started').on('rate_window').column('started_at').execute();
    },
  }),
  // Knowledge-base articles named rules the alert engine never raises
  // (monitor/kb RULE_ALIASES): their matching keys now name the engine's rule,
  // so they match its alerts. A release before this one still runs here; it
  // only matches those articles by trap OID, as it did for these alerts.
  // The article index gains the key kind (it is its prefix, so it serves what
  // the old one did).
  '0022-kb-rule-names': () => ({
    async up(db: Kysely<any>) {
      const renamed: Array<[string, string]> = [
        ['node-unreachable', 'node-down'],
        ['storage-high', 'storage-full'],
        ['trap-linkdown', 'trap-link-down'],
        ['trap-coldstart', 'trap-cold-start'],
        ['trap-authfail', 'trap-auth-failure'],
        ['drill-failed', 'backup-failed'],
        ['rpo-missed', 'backup-failed'],
      ];
      for (const [from, to] of renamed) {
        // An article naming both keeps one key (the primary key is kind, value, article).
        await sql`update kb_applies set value = ${to} where key_kind = 'rule' and value = ${from}
          and not exists (select 1 from kb_applies k where k.key_kind = 'rule' and k.value = ${to} and k.article_id = kb_applies.article_id)`.execute(db);
        await sql`delete from kb_applies where key_kind = 'rule' and value = ${from}`.execute(db);
      }
      // "Does this article list any device kind (or vendor)?" per candidate: by article and key kind, not a scan of every kind key.
      await db.schema.createIndex('kb_applies_article_kind').on('kb_applies').columns(['article_id', 'key_kind']).execute();
      await db.schema.dropIndex('kb_applies_article').execute();
    },
  }),
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(migrations).map(([name, make]) => [name, make(this.dialect)]));
  }
}

export async function migrateToLatest(database: Database): Promise<string[]> {
  // Rolling upgrades: the previous release still runs on a database a newer
  // one has migrated (migrations only add). Kysely refuses a database with
  // migrations it does not know of; when every one this release knows is
  // applied, the newer ones are left alone and this release runs on it.
  const known = Object.keys(migrations);
  let executed: string[] = [];
  try {
    executed = (await sql<{ name: string }>`select name from kysely_migration`.execute(database.db)).rows.map((r) => r.name);
  } catch {
    /* a fresh database: no migration table yet */
  }
  const newer = executed.filter((name) => !known.includes(name));
  // The schema is current (every migration this release knows is applied,
  // and nothing else): Kysely's Migrator would find nothing to do, so it is
  // not started; its lock table and write transaction would cost a one-shot
  // command (`egov-ops backup run`) a commit on every start.
  if (!newer.length && executed.length === known.length && known.every((name) => executed.includes(name))) return [];
  if (newer.length) {
    const missing = known.filter((name) => !executed.includes(name));
    if (missing.length === 0) return [];
    throw new EgovError('unavailable', `the database on ${database.location} has migrations of another release (${newer.join(', ')}) but lacks ${missing.join(', ')} of this one: upgrade this release to the newer one`);
  }
  const migrator = new Migrator({ db: database.db, provider: new StaticProvider(database.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new EgovError('unavailable', `database migration ${failed} failed on ${database.location}: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
