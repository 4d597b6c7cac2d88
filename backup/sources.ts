// What a plan saves, staged before restic runs: the suite's database exported
// consistently (SQLite's online backup API, or pg_dump for PostgreSQL; never
// a copy of the live file), its configuration, the metrics database when
// metrics go to InfluxDB (`influxd backup -portable`, see influx.ts), and the
// output of each pre-command. A manifest with the SHA-256 of every staged
// file goes into the snapshot and into the run record, so a drill can check
// restored files against what was saved.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { EgovError, redactUrlPassword as redactUrl, splitPostgresPassword, type Config, type Database } from '../core/index.js';
import type { BackupPlan, PreCommand } from './plans.js';
import { influxBackupSource, stageInfluxMetrics, type MetricsManifest } from './influx.js';
import { isExecutable } from './process.js';

// Required, not imported: see core/storage/database.ts (start-up of one-shot commands).
const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

export const MANIFEST_NAME = 'egov-ops-manifest.json';

export interface ManifestFile {
  sha256: string;
  size: number;
}

export interface Manifest {
  plan: string;
  createdAt: string;
  /** Absolute path of the staging directory (as restored under a restore target). */
  stagingDir: string;
  /** exportedWith: how an SQLite database was copied (one read for a small one, the online backup API page by page for a large one). */
  database?: { dialect: 'sqlite' | 'postgres'; file: string; exportedWith?: 'serialize' | 'online-backup' };
  /** The metrics store, when it is InfluxDB (`metrics.influx`) and the plan saves the stores. */
  metrics?: MetricsManifest;
  /** Paths relative to stagingDir. */
  files: Record<string, ManifestFile>;
  extraPaths: string[];
}

export function sha256File(file: string): Promise<string> {
  // Small files (the config, the manifest, a small database) in one read:
  // no stream to set up, which a one-shot command would pay for first.
  try {
    if (statSync(file).size <= 4 * 1024 * 1024) return Promise.resolve(createHash('sha256').update(readFileSync(file)).digest('hex'));
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export function walkFiles(root: string, base = root): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) out.push(...walkFiles(full, base));
    else if (entry.isFile()) out.push(path.relative(base, full));
  }
  return out.sort();
}

/** A lock file with our PID: one run of a plan at a time; a lock whose process is gone is ours to take over. */
export function takeStagingLock(lockFile: string, plan: string): () => void {
  mkdirSync(path.dirname(lockFile), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(readFileSync(lockFile, 'utf8').trim());
      let alive = false;
      try {
        if (pid) process.kill(pid, 0);
        alive = Boolean(pid);
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
      if (alive) throw new EgovError('conflict', `plan "${plan}" is already being backed up by process ${pid} on this host; wait for it to finish`);
      rmSync(lockFile, { force: true });
    }
  }
  throw new EgovError('conflict', `cannot take the staging lock ${lockFile}`);
}

/** Up to this size the database is exported in one read (sqlite3_serialize) instead of page by page. */
export const SQLITE_SERIALIZE_MAX_BYTES = 32 * 1024 * 1024;

async function exportSqlite(database: Database, dest: string): Promise<'serialize' | 'backup'> {
  // A second, read-only handle on the live file: either way the copy is a
  // consistent image (one read transaction) while the suite keeps writing.
  const source = new BetterSqlite(database.location, { readonly: true, fileMustExist: true });
  try {
    const pageSize = Number(source.pragma('page_size', { simple: true }));
    const pages = Number(source.pragma('page_count', { simple: true }));
    if (pageSize * pages <= SQLITE_SERIALIZE_MAX_BYTES) {
      // A small database (the usual case): one read into memory and a plain
      // write. The online backup API would open the copy as a database of its
      // own and fsync it four times, for a file restic reads a moment later.
      const image = source.serialize();
      source.close();
      await writeFile(dest, image, { mode: 0o600 });
      return 'serialize';
    }
    // A large one page by page, the event loop free between steps.
    await source.backup(dest);
    return 'backup';
  } finally {
    if (source.open) source.close();
  }
}

function runToFile(command: string, args: string[], dest: string, env: NodeJS.ProcessEnv, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const fd = openSync(dest, 'w', 0o600);
    const child = spawn(command, args, { env, stdio: ['ignore', fd, 'pipe'] });
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      if (stderr.length < 100_000) stderr += chunk;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      closeSync(fd);
      reject(new EgovError('unavailable', `${what} could not start: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      closeSync(fd);
      if (code === 0) return resolve();
      reject(new EgovError('unavailable', `${what} failed (${signal ? `killed by ${signal}${signal === 'SIGTERM' ? ', timed out' : ''}` : `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`, { exitCode: code }));
    });
  });
}

/**
 * A PostgreSQL client tool (pg_dump, pg_restore): EGOV_OPS_PG_BINDIR, else
 * PATH, else the highest /usr/lib/postgresql/N/bin (Debian keeps the
 * versioned tools there). Falls back to the bare name so that a missing tool
 * fails with a "could not start" message naming it.
 */
export function findPgTool(name: 'pg_dump' | 'pg_restore'): string {
  const dirs = [process.env.EGOV_OPS_PG_BINDIR, ...(process.env.PATH ?? '').split(path.delimiter)].filter((d): d is string => Boolean(d));
  for (const dir of dirs) if (isExecutable(path.join(dir, name))) return path.join(dir, name);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) if (isExecutable(path.join(root, version, 'bin', name))) return path.join(root, version, 'bin', name);
  }
  return name;
}

/** `--dbname=URL` without the password, and a small environment carrying it as PGPASSWORD (never argv). */
export function pgConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  // libpq reads a URL naming several hosts itself; URL() would reject it.
  const { url: withoutPassword, password } = splitPostgresPassword(url);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LC_ALL: 'C' };
  for (const name of ['PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGPASSFILE']) if (process.env[name]) env[name] = process.env[name];
  if (password) env.PGPASSWORD = password;
  return { dbname: `--dbname=${withoutPassword}`, env };
}

async function exportPostgres(url: string, dest: string): Promise<void> {
  // pg_dump: a consistent snapshot of the database (one repeatable-read
  // transaction) while the suite keeps writing; never a copy of live files.
  const { dbname, env } = pgConnection(url);
  await runToFile(findPgTool('pg_dump'), ['--format=custom', '--no-owner', dbname], dest, env, 3600_000, `pg_dump of ${redactUrl(url)}`);
}

async function runPreCommand(command: PreCommand, dest: string): Promise<void> {
  await runToFile('/bin/sh', ['-c', command.run], dest, { PATH: process.env.PATH, HOME: process.env.HOME, LC_ALL: 'C' }, command.timeoutSeconds * 1000, `pre-command "${command.name}"`);
}

export interface StageInput {
  plan: BackupPlan;
  config: Config;
  database: Database;
  /** The config file the suite was started with, if any. */
  configFile?: string | undefined;
  stagingDir: string;
  now: Date;
  /** The influxd binary (default influxd on PATH, else /usr/bin/influxd). */
  influxdBinary?: string | undefined;
}

/** The config as the suite runs with it, without the passwords it holds (the config file itself is saved as it is). */
function effectiveConfig(config: Config): Config {
  const influx = config.metrics?.influx;
  return {
    ...config,
    database: config.database.url ? { url: redactUrl(config.database.url) } : {},
    ...(influx ? { metrics: { ...config.metrics, influx: { ...influx, url: redactUrl(influx.url), ...(influx.password !== undefined ? { password: '***' } : {}) } } } : {}),
  };
}

/** Fills stagingDir (emptied first) and writes the manifest; returns it. */
export async function stagePlan(input: StageInput): Promise<Manifest> {
  const { plan, config, database, stagingDir } = input;
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { recursive: true, mode: 0o700 });
  const manifest: Manifest = { plan: plan.name, createdAt: input.now.toISOString(), stagingDir, files: {}, extraPaths: plan.paths };
  if (plan.stores) {
    // The metrics are one of the suite's stores when they live in InfluxDB.
    // First: what can stop it (no influxd, RPC address unreachable, no such
    // database) shows in seconds, before a long database export.
    const influx = influxBackupSource(config);
    if (influx) manifest.metrics = await stageInfluxMetrics(influx, stagingDir, input.influxdBinary);
    mkdirSync(path.join(stagingDir, 'database'), { mode: 0o700 });
    if (database.dialect === 'sqlite') {
      const how = await exportSqlite(database, path.join(stagingDir, 'database', 'egov-ops.sqlite'));
      manifest.database = { dialect: 'sqlite', file: 'database/egov-ops.sqlite', exportedWith: how === 'serialize' ? 'serialize' : 'online-backup' };
    } else {
      await exportPostgres(config.database.url!, path.join(stagingDir, 'database', 'egov-ops.pgdump'));
      manifest.database = { dialect: 'postgres', file: 'database/egov-ops.pgdump' };
    }
    mkdirSync(path.join(stagingDir, 'config'), { mode: 0o700 });
    writeFileSync(path.join(stagingDir, 'config', 'effective-config.json'), JSON.stringify(effectiveConfig(config), null, 2) + '\n', { mode: 0o600 });
    const configFile = input.configFile ?? (existsSync(path.join(config.dataDir, 'config.yaml')) ? path.join(config.dataDir, 'config.yaml') : undefined);
    if (configFile && existsSync(configFile)) writeFileSync(path.join(stagingDir, 'config', path.basename(configFile)), readFileSync(configFile), { mode: 0o600 });
  }
  if (plan.commands.length) mkdirSync(path.join(stagingDir, 'dumps'), { mode: 0o700 });
  for (const command of plan.commands) await runPreCommand(command, path.join(stagingDir, 'dumps', `${command.name}.out`));
  for (const rel of walkFiles(stagingDir)) {
    const full = path.join(stagingDir, rel);
    manifest.files[rel] = { sha256: await sha256File(full), size: statSync(full).size };
  }
  writeFileSync(path.join(stagingDir, MANIFEST_NAME), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o600 });
  return manifest;
}
