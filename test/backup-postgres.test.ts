// The PostgreSQL path (database.url set), on a throwaway cluster: `egov-ops
// backup run` exports the database with pg_dump (a custom-format archive,
// never a copy of the server's files), and a drill loads the dump into a
// fresh scratch database on the same server, reads every table, checks the
// audit chain with core's verifyAuditLog and has each restored CA key sign a
// test certificate; the scratch database is dropped afterwards. A tampered
// audit record in the saved database makes the drill fail on audit-chain.
// The same PostgreSQL suite backed up to a remote target over sftp (a real
// sshd on loopback) and drilled from there.

import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Authority, fixedPassphrase } from '../ca/index.js';
import { findPgTool } from '../backup/sources.js';
import { exitCodes, loadConfig, openDatabase } from '../core/index.js';
import { usePostgres, queryOnce as query } from './support/postgres.js';
import { startSshd } from './support/sshd.js';
import { CA_PASSPHRASE, removeTempDirs, tempDir, runBackupCli as egov } from './support/restic.js';

afterAll(removeTempDirs);



const postgres = usePostgres();

describe('backups of a PostgreSQL suite database', () => {
  let url: string;
  let dataDir: string;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    url = await postgres.createDatabase('backup');
    dataDir = tempDir();
    const config = loadConfig({ env: {}, flags: { dataDir, database: { url } } });
    const database = await openDatabase({ dataDir: config.dataDir, url });
    try {
      const authority = new Authority({ database, publicUrl: config.server.publicUrl, passphrase: fixedPassphrase(CA_PASSPHRASE) });
      await authority.initHierarchy({ name: 'city-pg', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=City PG Root CA' }, { actor: 'test', source: 'test' });
    } finally {
      await database.close();
    }
    for (const name of ['EGOV_OPS_DATABASE_URL', 'EGOV_OPS_CA_PASSPHRASE']) saved[name] = process.env[name];
    process.env.EGOV_OPS_DATABASE_URL = url;
    process.env.EGOV_OPS_CA_PASSPHRASE = CA_PASSPHRASE;
  }, 60_000);
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it('backup run saves a pg_dump archive, and a drill loads it into a scratch database and checks it', async () => {
    const ran = await egov(['--data-dir', dataDir, '--json', 'backup', 'run']);
    const run = JSON.parse(ran.stdout);
    expect(run[0]).toMatchObject({ plan: 'default', target: 'same-city', status: 'success' });

    // The run record's manifest names the dump; the staged file is a pg_dump custom archive.
    const config = loadConfig({ env: {}, flags: { dataDir, database: { url } } });
    const database = await openDatabase({ dataDir: config.dataDir, url });
    let manifest: { database: { dialect: string; file: string }; files: Record<string, unknown>; stagingDir: string };
    try {
      const row = await database.db.selectFrom('backup_run').select('manifest').where('snapshot_id', '=', run[0].snapshotId).executeTakeFirstOrThrow();
      manifest = JSON.parse(row.manifest!);
    } finally {
      await database.close();
    }
    expect(manifest.database).toEqual({ dialect: 'postgres', file: 'database/egov-ops.pgdump' });
    const dump = path.join(manifest.stagingDir, manifest.database.file);
    const head = Buffer.alloc(5);
    const fd = openSync(dump, 'r');
    readSync(fd, head, 0, 5, 0);
    closeSync(fd);
    expect(head.toString('latin1')).toBe('PGDMP');
    const toc = spawnSync(findPgTool('pg_restore'), ['--list', dump], { encoding: 'utf8' });
    expect(toc.status).toBe(0);
    expect(toc.stdout).toMatch(/TABLE DATA public audit_log/);
    expect(toc.stdout).toMatch(/TABLE DATA public ca_authority/);
    // Nothing of the server's own files, and no SQLite file, is in the snapshot.
    const files = Object.keys(manifest.files);
    expect(files.filter((f) => f.startsWith('database/'))).toEqual(['database/egov-ops.pgdump']);
    expect(files.filter((f) => /\.sqlite|(^|\/)(base|global|pg_wal)\/|PG_VERSION/.test(f))).toEqual([]);

    const drilled = await egov(['--data-dir', dataDir, '--json', 'backup', 'drill']);
    const drill = JSON.parse(drilled.stdout);
    expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
    expect(drilled.exitCode).toBeUndefined();
    expect(drill.snapshot).toBe(run[0].snapshotId);
    const byName = Object.fromEntries(drill.checks.map((c: { name: string }) => [c.name, c]));
    expect(drill.checks.map((c: { name: string }) => c.name)).toEqual(['snapshot', 'restic-check', 'restore', 'file-list', 'file-hashes', 'database-integrity', 'audit-chain', 'ca-keys']);
    expect(byName['database-integrity'].detail).toMatch(/pg_restore loaded the dump \(\d+ entries\) into a scratch database.*all \d+ tables read/);
    expect(byName['audit-chain'].detail).toMatch(/hash chain is intact \(\d+ records\)/);
    expect(byName['ca-keys']).toMatchObject({ ok: true });
    expect(byName['ca-keys'].skipped).toBeUndefined();
    expect(byName['ca-keys'].detail).toContain('city-pg');
    // The scratch database is gone, the suite's database untouched by the drill's test certificate.
    expect(await query(postgres.server.url, `select datname from pg_database where datname like 'egov_ops_drill_%'`)).toEqual([]);
    expect(await query(url, `select count(*)::int as n from certificate where subject like '%restore drill%'`)).toEqual([{ n: 0 }]);
  }, 120_000);

  it('backs up to a remote sftp target and drills the pg_dump from there', async () => {
    const sshd = await startSshd();
    const configFile = path.join(dataDir, 'config.yaml');
    const passwordFile = path.join(tempDir(), 'remote.password');
    writeFileSync(passwordFile, 'remote-pg-repository-password\n', { mode: 0o600 });
    try {
      const repository = `sftp:${sshd.user}@127.0.0.1:${path.join(tempDir(), 'dr-repo')}`;
      const sftp = `{ port: ${sshd.port}, identityFile: "${sshd.identityFile}", knownHostsFile: "${sshd.knownHostsFile}", connectTimeoutSeconds: 5 }`;
      writeFileSync(configFile, `backup:\n  targets:\n    dr-centre: { kind: remote, repository: "${repository}", passwordFile: "${passwordFile}", sftp: ${sftp} }\n`);
      const ran = await egov(['--data-dir', dataDir, '--json', 'backup', 'run', '--target', 'dr-centre']);
      const run = JSON.parse(ran.stdout);
      expect(run[0], ran.stdout).toMatchObject({ target: 'dr-centre', status: 'success', repositoryCreated: true });
      const drilled = await egov(['--data-dir', dataDir, '--json', 'backup', 'drill', '--target', 'dr-centre']);
      const drill = JSON.parse(drilled.stdout);
      expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
      expect(drill).toMatchObject({ target: 'dr-centre', snapshot: run[0].snapshotId });
      const byName = Object.fromEntries(drill.checks.map((c: { name: string }) => [c.name, c]));
      expect(byName['database-integrity'].detail).toMatch(/pg_restore loaded the dump/);
      expect(byName['ca-keys'].detail).toContain('city-pg');
      expect(await query(postgres.server.url, `select datname from pg_database where datname like 'egov_ops_drill_%'`)).toEqual([]);
    } finally {
      rmSync(configFile, { force: true });
      await sshd.dispose();
    }
  }, 120_000);

  it('a tampered audit record in the saved database makes the drill fail on audit-chain', async () => {
    await query(url, `update audit_log set detail = '{"tampered":true}' where id = (select min(id) from audit_log)`);
    const run = JSON.parse((await egov(['--data-dir', dataDir, '--json', 'backup', 'run'])).stdout);
    expect(run[0].status).toBe('success');
    const drilled = await egov(['--data-dir', dataDir, '--json', 'backup', 'drill']);
    const drill = JSON.parse(drilled.stdout);
    expect(drill.ok).toBe(false);
    expect(drilled.exitCode).toBe(exitCodes.verificationFailed);
    const failed = drill.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { name: string }) => c.name);
    expect(failed).toEqual(['audit-chain']);
    expect(drill.checks.find((c: { name: string }) => c.name === 'audit-chain').detail).toMatch(/broken at record/);
    expect(await query(postgres.server.url, `select datname from pg_database where datname like 'egov_ops_drill_%'`)).toEqual([]);
  }, 120_000);
});
