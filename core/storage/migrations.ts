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
};

class StaticProvider implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(migrations).map(([name, make]) => [name, make(this.dialect)]));
  }
}

export async function migrateToLatest(database: Database): Promise<string[]> {
  const migrator = new Migrator({ db: database.db, provider: new StaticProvider(database.dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new EgovError('unavailable', `database migration ${failed} failed on ${database.location}: ${(error as Error).message}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
