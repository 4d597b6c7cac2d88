// The backup service: runs plans to targets, applies retention (restic
// forget --prune, apart from the runs: on the target's pruneSchedule, by
// `backup prune`, or by `backup run --prune`), drills restores, restores for
// real, and reports status with the DR level. Every run, prune and drill is
// recorded in the suite's database and the audit log.

import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import type pg from 'pg';
import type { Actor, PassphraseSource } from '../ca/index.js';
import { appendAudit, EgovError, openDatabase, primaryPostgresUrl, recordAudit, redactUrlPassword as redactUrl, verifyAuditLog, withPostgresDatabase, type BackupRunTable, type Config, type Database, type ErrorCode } from '../core/index.js';
import { assessDrLevel, type DrAssessment, type DrEvidence } from './dr-levels.js';
import { checkPlanPaths, getPlan, getTarget, loadBackupSettings, type BackupPlan, type BackupSettings, type BackupTarget } from './plans.js';
import { describeLock, parseBackupProgress, parseBackupSummary, ResticRepository, resticError, resticMessage, retentionArgs, type BackupProgress, type LockInfo, type ResticSnapshot } from './restic.js';
import { drillInfluxMetrics, influxBackupSource, type InfluxSource } from './influx.js';
import { runCapture } from './process.js';
import { findPgTool, MANIFEST_NAME, pgConnection, sha256File, stagePlan, takeStagingLock, walkFiles, type Manifest } from './sources.js';

// Required, not imported: see core/storage/database.ts (start-up of one-shot commands).
const BetterSqlite = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;

export interface BackupServiceOptions {
  config: Config;
  database: Database;
  /** The CA key passphrase: a drill checks that the restored CA keys decrypt and sign. */
  caPassphrase?: PassphraseSource;
  /** The config file in use (saved with the stores). */
  configFile?: string;
  actor?: Actor;
  /** The restic binary (default restic on PATH). */
  resticBinary?: string;
  /** The influxd binary for `influxd backup`/`restore` when metrics are in InfluxDB (default influxd on PATH, else /usr/bin/influxd). */
  influxdBinary?: string;
  now?: () => Date;
}

export interface RunResult {
  plan: string;
  target: string;
  ok: boolean;
  status: BackupRunTable['status'];
  startedAt: string;
  endedAt: string;
  snapshotId: string | null;
  filesNew: number | null;
  filesChanged: number | null;
  filesTotal: number | null;
  bytesAdded: number | null;
  bytesTotal: number | null;
  resticExitCode: number | null;
  message: string;
  repositoryCreated: boolean;
  /** Only when the run was asked to prune (`backup run --prune`). */
  retention?: PruneResult;
  /**
   * Stale restic locks left in a same-city repository by a process that is
   * gone (a run killed mid-way): reported here, in the message and the
   * audit record, never removed by the run (`egov-ops backup unlock` does it).
   */
  staleLocks?: LockInfo[];
  /** Wall time of each step: opening the repository, staging, restic backup, retention (forget --prune; 0 unless asked for). */
  seconds?: { open: number; stage: number; backup: number; restic: number; retention: number; total: number };
  /** The snapshot restic built this one on (`--parent`): the pair's last recorded snapshot; null when there was none (restic chose, if it found one). */
  parentSnapshotId?: string | null;
}

/** What retention (restic forget --prune) did to one plan's snapshots on one target. */
export interface PruneResult {
  plan: string;
  target: string;
  ok: boolean;
  startedAt: string;
  endedAt: string;
  /** The keep-* rules applied, as restic's flags. */
  keep: string;
  /** Snapshots forgotten and kept (null when restic failed or did not say). */
  removed: number | null;
  kept: number | null;
  /** What happened, or restic's error message. */
  message: string;
  resticExitCode: number | null;
  /** A failure's error code: the CLI's exit code follows it. */
  code?: ErrorCode;
  seconds: number;
}

/** A recorded prune of one plan on a target, as status reports it. */
export interface PruneRecord {
  plan: string;
  at: string;
  ok: boolean;
  removed: number | null;
  message: string;
  resticExitCode: number | null;
}

export interface UnlockResult {
  target: string;
  message: string;
  /** Locks that were there before and are gone after. */
  removed: LockInfo[];
  /** Locks still there after (held by live processes, unless made in between). */
  left: LockInfo[];
}

export interface DrillCheck {
  name: string;
  ok: boolean;
  detail: string;
  skipped?: boolean;
  seconds?: number;
}

export interface DrillResult {
  ok: boolean;
  plan: string;
  target: string;
  snapshot: string | null;
  snapshotTime: string | null;
  startedAt: string;
  endedAt: string;
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  restoreSeconds: number | null;
  verifySeconds: number | null;
  checks: DrillCheck[];
}

export interface RestoreResult {
  snapshot: string;
  target: string;
  to: string;
  dryRun: boolean;
  files: number;
  bytes: number;
  list?: Array<{ path: string; size: number }>;
  seconds: number;
}

export interface TargetStatus {
  target: string;
  kind: 'same-city' | 'remote';
  repository: string;
  offsite: boolean;
  schedule: string;
  nextRun: string;
  pruneSchedule: string;
  nextPrune: string;
  retention: Record<string, number | undefined>;
  objectives: { rpoHours: number; rtoHours: number };
  lastRun: Omit<RunResult, 'repositoryCreated' | 'retention' | 'ok'> | null;
  lastSuccess: { at: string; snapshotId: string | null } | null;
  lastDrill: { at: string; ok: boolean; snapshot: string | null; rtoSeconds: number | null; rpoSeconds: number | null; failedChecks: string[] } | null;
  /** The last prune of each plan that goes to the target: when the latest ended, whether all were ok, snapshots removed in all. */
  lastPrune: { at: string; ok: boolean; removed: number | null; plans: PruneRecord[] } | null;
  /** Current exposure: hours since the last successful backup. */
  rpoHoursNow: number | null;
  rpoMet: boolean | null;
  /** RTO achieved by the last passing drill, against the objective. */
  rtoHoursAchieved: number | null;
  rtoMet: boolean | null;
  drLevel: DrAssessment;
}

export interface StatusReport {
  generatedAt: string;
  defaultPlan: boolean;
  targets: TargetStatus[];
  /** The level the best evidence across all targets supports. */
  drLevel: DrAssessment;
}

const seconds = (from: number) => Math.round((performance.now() - from) / 10) / 100;

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function exists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Snapshots removed and kept, from the JSON line restic forget --json prints before prune's text. */
function forgetCounts(stdout: string): { removed: number | null; kept: number | null } {
  try {
    const groups = JSON.parse(stdout.trim().split('\n').find((l) => l.startsWith('[')) ?? '[]') as Array<{ keep?: unknown[] | null; remove?: unknown[] | null }>;
    return { removed: groups.reduce((n, g) => n + (g.remove?.length ?? 0), 0), kept: groups.reduce((n, g) => n + (g.keep?.length ?? 0), 0) };
  } catch {
    return { removed: null, kept: null };
  }
}

export class BackupService {
  readonly settings: BackupSettings;
  /** 'run' (RunResult), 'prune' (PruneResult) and 'drill' (DrillResult) after each is recorded; a monitor alerts on ok: false. */
  readonly events = new EventEmitter();
  private readonly database: Database;
  private readonly actor: Actor;
  private readonly now: () => Date;
  /** The InfluxDB the metrics live in, if they do. */
  private readonly influx: InfluxSource | undefined;

  constructor(private readonly options: BackupServiceOptions) {
    this.settings = loadBackupSettings(options.config);
    // A bad metrics.influx.backupAddress is bad config: refused before anything runs.
    this.influx = influxBackupSource(options.config);
    this.database = options.database;
    this.actor = options.actor ?? { actor: 'system', source: 'backup' };
    this.now = options.now ?? (() => new Date());
  }

  repository(target: BackupTarget): ResticRepository {
    return new ResticRepository(target, { workDir: this.settings.workDir, ...(this.options.resticBinary ? { binary: this.options.resticBinary } : {}) });
  }

  /** Which (plan, target) pairs a run covers. */
  pairs(planName?: string, targetName?: string): Array<{ plan: BackupPlan; target: BackupTarget }> {
    const plans = planName ? [getPlan(this.settings, planName)] : [...this.settings.plans.values()];
    if (targetName) getTarget(this.settings, targetName);
    const pairs = plans.flatMap((plan) => plan.targets.filter((t) => !targetName || t === targetName).map((t) => ({ plan, target: getTarget(this.settings, t) })));
    if (!pairs.length) throw new EgovError('not-found', `plan${planName ? ` "${planName}"` : 's'} do not go to target "${targetName}"`);
    return pairs;
  }

  /**
   * The snapshot the next backup of plan to target builds on: the last one
   * recorded for the pair in the suite's database (shared by every `serve`
   * instance). A same-city repository is looked into for free: a snapshot no
   * longer there (forgotten, or the repository made anew) is not named.
   */
  async parentSnapshot(plan: BackupPlan, target: BackupTarget): Promise<string | undefined> {
    const row = await this.database.db
      .selectFrom('backup_run')
      .select('snapshot_id')
      .where('kind', '=', 'backup')
      .where('plan', '=', plan.name)
      .where('target', '=', target.name)
      .where('status', '!=', 'failure')
      .where('snapshot_id', 'is not', null)
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const id = row?.snapshot_id;
    if (!id || !/^[0-9a-f]{64}$/.test(id)) return undefined;
    if (target.kind === 'same-city' && !existsSync(path.join(target.repository, 'snapshots', id))) return undefined;
    return id;
  }

  private async record(row: Omit<BackupRunTable, 'id'>, action: string, detail: Record<string, unknown>): Promise<void> {
    await this.database.write(async (tx) => {
      await tx.insertInto('backup_run').values(row).execute();
      await appendAudit(tx, {
        ...this.actor,
        action,
        object: `backup:${row.plan}/target:${row.target}`,
        outcome: row.status === 'failure' ? 'failure' : 'success',
        detail,
      });
    });
  }

  /**
   * Backs up every plan to every target it names (or the ones asked for);
   * each pair recorded. Retention is not applied unless `prune` is asked for:
   * it runs on its own schedule (see prune), so a run costs what restic
   * backup costs.
   */
  async run(request: { plan?: string; target?: string; prune?: boolean; onProgress?: (p: BackupProgress & { plan: string; target: string }) => void } = {}): Promise<RunResult[]> {
    const pairs = this.pairs(request.plan, request.target);
    // Bad input first, before anything is written anywhere.
    for (const { plan } of pairs) checkPlanPaths(plan);
    const results: RunResult[] = [];
    for (const { plan, target } of pairs) results.push(await this.runOne(plan, target, { prune: request.prune === true, ...(request.onProgress ? { onProgress: request.onProgress } : {}) }));
    return results;
  }

  private async runOne(plan: BackupPlan, target: BackupTarget, options: { prune: boolean; onProgress?: (p: BackupProgress & { plan: string; target: string }) => void }): Promise<RunResult> {
    const { onProgress } = options;
    const started = this.now();
    const repo = this.repository(target);
    // The password check (file/env) is input validation: refuse before anything runs.
    repo.environment();
    const base = { plan: plan.name, target: target.name, startedAt: started.toISOString() };
    // What every backup_run row of this run starts with; it ends now.
    const runRowStart = () => ({ kind: 'backup' as const, plan: plan.name, target: target.name, started_at: base.startedAt, ended_at: this.now().toISOString(), snapshots_removed: null });
    const fail = async (error: unknown, exitCode: number | null, manifest: Manifest | null): Promise<never> => {
      const egov = error instanceof EgovError ? error : new EgovError('internal', (error as Error).message);
      const resticExitCode = (egov.details?.resticExitCode as number | undefined) ?? exitCode;
      const row: Omit<BackupRunTable, 'id'> = {
        ...runRowStart(),
        status: 'failure',
        snapshot_id: null,
        files_new: null,
        files_changed: null,
        files_total: null,
        bytes_added: null,
        bytes_total: null,
        restic_exit_code: resticExitCode ?? null,
        message: egov.message,
        manifest: manifest ? JSON.stringify(manifest) : null,
      };
      await this.record(row, 'backup.run', { code: egov.code, problem: egov.details?.problem ?? null, resticExitCode: resticExitCode ?? null, reason: egov.message, ...(egov.details?.lock ? { lock: egov.details.lock } : {}) });
      this.events.emit('run', { ...base, ok: false, status: 'failure', endedAt: row.ended_at, message: egov.message, resticExitCode: resticExitCode ?? null });
      throw egov;
    };

    const t0 = performance.now();
    // restic: restic's own time, spawn to exit (inside backup, which also covers naming the parent and the snapshot's full ID).
    const phase: { open: number; stage: number; backup: number; restic: number; retention: number } = { open: 0, stage: 0, backup: 0, restic: 0, retention: 0 };
    let created = false;
    try {
      created = (await repo.openOrInit()).created;
      phase.open = seconds(t0);
    } catch (error) {
      return fail(error, null, null);
    }
    const stagingDir = path.join(this.settings.workDir, 'staging', plan.name);
    let release: (() => void) | undefined;
    let manifest: Manifest | null = null;
    try {
      release = takeStagingLock(path.join(this.settings.workDir, 'staging', `${plan.name}.lock`), plan.name);
      const t1 = performance.now();
      manifest = await stagePlan({ plan, config: this.options.config, database: this.database, configFile: this.options.configFile, stagingDir, now: started, influxdBinary: this.options.influxdBinary });
      phase.stage = seconds(t1);
    } catch (error) {
      release?.();
      return fail(error, null, manifest);
    }
    try {
      const t2 = performance.now();
      // The parent is named, not left to restic: restic's own choice is the
      // latest snapshot of the same paths *from the same host*, so a run on
      // another `serve` instance (whichever holds the scheduler lease), or
      // after a host rename, would find none and re-read every file.
      const parent = await this.parentSnapshot(plan, target);
      const backupArgs = (withParent: string | undefined) => ['backup', '--json', '--tag', `egov-ops,plan:${plan.name}`, ...(withParent ? ['--parent', withParent] : []), ...plan.exclude.flatMap((e) => ['--exclude', e]), stagingDir, ...plan.paths];
      const runRestic = async (withParent: string | undefined) => {
        const started = performance.now();
        const r = await repo.run(backupArgs(withParent), {
          onMessage: (message) => {
            const progress = parseBackupProgress(message);
            if (progress && onProgress) onProgress({ ...progress, plan: plan.name, target: target.name });
          },
        });
        phase.restic += seconds(started);
        return r;
      };
      let usedParent = parent;
      let result = await runRestic(parent);
      // A recorded snapshot someone forgot by hand (a remote repository is not
      // looked into beforehand): back up without it, restic choosing.
      if (parent && result.code !== 0 && /invalid id .*no matching ID found/i.test(result.stderr)) {
        usedParent = undefined;
        result = await runRestic(undefined);
      }
      const summary = parseBackupSummary(result.messages);
      // restic 3: the snapshot was made but some files could not be read.
      if ((result.code !== 0 && result.code !== 3) || !summary?.snapshotId) {
        return fail(result.code !== 0 ? resticError('backup', target, result) : new EgovError('internal', `backup on target "${target.name}": restic exited 0 without a summary`), result.code, manifest);
      }
      // restic 0.14 reports the short ID: record the full one (a local
      // repository names its snapshot files by ID; else ask restic).
      const local = target.kind === 'same-city' && /^[0-9a-f]{8,63}$/.test(summary.snapshotId) ? readdirSafe(path.join(target.repository, 'snapshots')).filter((n) => n.startsWith(summary.snapshotId!)) : [];
      if (local.length === 1 && /^[0-9a-f]{64}$/.test(local[0]!)) summary.snapshotId = local[0]!;
      else if (!/^[0-9a-f]{64}$/.test(summary.snapshotId)) {
        try {
          const full = JSON.parse((await repo.run(['snapshots', '--json', '--no-lock', summary.snapshotId])).stdout.trim() || '[]') as Array<{ id?: string }>;
          if (full[0]?.id) summary.snapshotId = full[0].id;
        } catch {
          /* keep the short ID */
        }
      }
      phase.backup = seconds(t2);
      const status: BackupRunTable['status'] = result.code === 3 ? 'partial' : 'success';
      // Our restic has removed its own lock: any lock left in the repository
      // is another process's. One that is stale (its process is gone: a run
      // killed mid-way) is reported, not removed. A local repository's locks
      // dir is read first, for free; a remote one costs a `restic list
      // locks` per run (and a `cat` per lock found), small beside a remote
      // backup, and without it a killed run's lock would go unsaid until a
      // run is refused.
      const mayHoldLocks = target.kind !== 'same-city' || readdirSafe(path.join(target.repository, 'locks')).length > 0;
      const staleLocks = mayHoldLocks ? (await repo.locks(this.now()).catch(() => [])).filter((l) => l.stale) : [];
      const staleNote = staleLocks.length ? `; ${staleLocks.length} stale restic lock(s) left in the repository, not removed (\`egov-ops backup unlock --target ${target.name}\` removes them): ${staleLocks.map(describeLock).join('; ')}` : '';
      const message = (status === 'partial' ? `snapshot ${summary.snapshotId.slice(0, 8)} made, but some files could not be read: ${resticMessage(result.stderr)}` : `snapshot ${summary.snapshotId.slice(0, 8)}: ${summary.filesTotal} files, ${summary.bytesTotal} bytes read, ${summary.bytesAdded} bytes added to the repository`) + staleNote;
      const row: Omit<BackupRunTable, 'id'> = {
        ...runRowStart(),
        status,
        snapshot_id: summary.snapshotId,
        files_new: summary.filesNew,
        files_changed: summary.filesChanged,
        files_total: summary.filesTotal,
        bytes_added: summary.bytesAdded,
        bytes_total: summary.bytesTotal,
        restic_exit_code: result.code,
        message,
        manifest: JSON.stringify(manifest),
      };
      await this.record(row, 'backup.run', { snapshotId: summary.snapshotId, filesTotal: summary.filesTotal, bytesAdded: summary.bytesAdded, bytesTotal: summary.bytesTotal, resticExitCode: result.code, repositoryCreated: created, ...(staleLocks.length ? { staleLocks: staleLocks.map(describeLock) } : {}) });
      const runResult: RunResult = {
        ...base,
        ok: true,
        status,
        endedAt: row.ended_at,
        snapshotId: summary.snapshotId,
        filesNew: summary.filesNew,
        filesChanged: summary.filesChanged,
        filesTotal: summary.filesTotal,
        bytesAdded: summary.bytesAdded,
        bytesTotal: summary.bytesTotal,
        resticExitCode: result.code,
        message,
        repositoryCreated: created,
        parentSnapshotId: usedParent ?? null,
        ...(staleLocks.length ? { staleLocks } : {}),
      };
      if (options.prune) {
        const t3 = performance.now();
        runResult.retention = await this.forget(plan, target);
        phase.retention = seconds(t3);
      }
      runResult.seconds = { ...phase, total: seconds(t0) };
      this.events.emit('run', runResult);
      return runResult;
    } finally {
      release?.();
    }
  }

  /**
   * Retention: each target's keep-* rules applied with restic forget --prune
   * to every plan that goes to it (or the ones asked for). Every pair is
   * tried, recorded and reported; one failing does not stop the others, so
   * the caller looks at each result's ok.
   */
  async prune(request: { plan?: string; target?: string } = {}): Promise<PruneResult[]> {
    const pairs = this.pairs(request.plan, request.target);
    // The password check (file/env) is input validation: refuse before anything runs.
    for (const { target } of pairs) this.repository(target).environment();
    const results: PruneResult[] = [];
    for (const { plan, target } of pairs) results.push(await this.forget(plan, target));
    return results;
  }

  /** restic forget --prune with the target's keep-* rules, for one plan's snapshots; recorded, never thrown. */
  async forget(plan: BackupPlan, target: BackupTarget): Promise<PruneResult> {
    const started = this.now().toISOString();
    const t0 = performance.now();
    const keep = retentionArgs(target.retention);
    const result = await this.repository(target).run(['forget', '--json', '--prune', '--tag', `egov-ops,plan:${plan.name}`, '--group-by', 'host,tags', ...keep]);
    const ok = result.code === 0;
    const counts = ok ? forgetCounts(result.stdout) : { removed: null, kept: null };
    const error = ok ? undefined : resticError('forget --prune', target, result);
    const message = error ? error.message : `retention ${keep.join(' ')}: ${counts.removed ?? '?'} snapshot(s) removed, ${counts.kept ?? '?'} kept, pruned`;
    const endedAt = this.now().toISOString();
    await this.record(
      { kind: 'forget', plan: plan.name, target: target.name, started_at: started, ended_at: endedAt, status: ok ? 'success' : 'failure', snapshot_id: null, files_new: null, files_changed: null, files_total: null, bytes_added: null, bytes_total: null, restic_exit_code: result.code, message, manifest: null, snapshots_removed: counts.removed },
      'backup.forget',
      { keep: keep.join(' '), removed: counts.removed, kept: counts.kept, resticExitCode: result.code, ...(error ? { code: error.code, problem: error.details?.problem ?? null, reason: message } : {}) },
    );
    const pruned: PruneResult = { plan: plan.name, target: target.name, ok, startedAt: started, endedAt, keep: keep.join(' '), ...counts, message, resticExitCode: result.code, ...(error ? { code: error.code } : {}), seconds: seconds(t0) };
    this.events.emit('prune', pruned);
    return pruned;
  }

  /** The target's restic locks as they are now (read without locking). */
  async locks(targetName: string): Promise<LockInfo[]> {
    return this.repository(getTarget(this.settings, targetName)).locks(this.now());
  }

  /**
   * `restic unlock`, only on an operator's request. restic removes only stale
   * locks (older than 30 minutes, or of a process on this host that is gone);
   * a live process's lock stays unless removeAll (`--remove-all`) is asked
   * for explicitly. The locks before and after are read so the report says
   * what was removed and what was left in place.
   */
  async unlock(targetName: string, removeAll = false): Promise<UnlockResult> {
    const target = getTarget(this.settings, targetName);
    const started = this.now().toISOString();
    const repo = this.repository(target);
    const before = await repo.locks(this.now());
    const result = await repo.run(['unlock', ...(removeAll ? ['--remove-all'] : [])]);
    const ok = result.code === 0;
    const after = ok ? await repo.locks(this.now()) : before;
    const left = new Set(after.map((l) => l.id));
    const removed = before.filter((l) => !left.has(l.id));
    const message = ok
      ? [
          removed.length ? `removed ${removed.length} ${removeAll ? '' : 'stale '}lock(s): ${removed.map(describeLock).join('; ')}` : `no ${removeAll ? '' : 'stale '}locks to remove`,
          ...(after.length ? [`${after.length} lock(s) left in place${removeAll ? ' (made after the unlock)' : ' (not stale: a live process holds them; wait for it, or give --remove-all once you are sure it is gone)'}: ${after.map(describeLock).join('; ')}`] : []),
        ].join('; ')
      : resticError('unlock', target, result).message;
    await this.record(
      { kind: 'unlock', plan: '-', target: target.name, started_at: started, ended_at: this.now().toISOString(), status: ok ? 'success' : 'failure', snapshot_id: null, files_new: null, files_changed: null, files_total: null, bytes_added: null, bytes_total: null, restic_exit_code: result.code, message, manifest: null, snapshots_removed: null },
      'backup.unlock',
      { removeAll, resticExitCode: result.code, removed: removed.length, left: after.length, message },
    );
    if (!ok) throw resticError('unlock', target, result);
    return { target: target.name, message, removed, left: after };
  }

  async snapshots(targetName: string, planName?: string): Promise<ResticSnapshot[]> {
    const target = getTarget(this.settings, targetName);
    return this.repository(target).snapshots(planName ? ['egov-ops', `plan:${planName}`] : ['egov-ops']);
  }

  // ------------------------------------------------------------ restore

  async restore(request: { snapshot: string; to: string; target?: string; dryRun?: boolean; force?: boolean }): Promise<RestoreResult> {
    const target = getTarget(this.settings, request.target ?? [...this.settings.targets.keys()][0]!);
    if (!/^([0-9a-f]{8,64}|latest)$/.test(request.snapshot)) throw new EgovError('bad-request', `snapshot "${request.snapshot}" is not a snapshot ID (8-64 hex digits) or "latest"`);
    const to = path.resolve(request.to);
    if (!request.dryRun && exists(to) && readdirSync(to).length > 0 && !request.force) {
      throw new EgovError('conflict', `restore target ${to} is not empty; restore into an empty directory, or give --force to write over what is there`, { to });
    }
    if (existsSync(to) && !exists(to)) throw new EgovError('bad-request', `restore target ${to} exists and is not a directory`);
    const repo = this.repository(target);
    const started = performance.now();
    const files = (await repo.listFiles(request.snapshot)).filter((f) => f.type === 'file');
    const bytes = files.reduce((n, f) => n + f.size, 0);
    if (request.dryRun) return { snapshot: request.snapshot, target: target.name, to, dryRun: true, files: files.length, bytes, list: files.map((f) => ({ path: path.join(to, f.path), size: f.size })), seconds: seconds(started) };
    mkdirSync(to, { recursive: true, mode: 0o700 });
    const result = await repo.run(['restore', request.snapshot, '--target', to, '--verify']);
    const object = `backup:snapshot:${request.snapshot}/target:${target.name}`;
    if (result.code !== 0) {
      const error = resticError('restore', target, result);
      await recordAudit(this.database, { ...this.actor, action: 'backup.restore', object, outcome: 'failure', detail: { to, resticExitCode: result.code, reason: error.message } });
      throw error;
    }
    await recordAudit(this.database, { ...this.actor, action: 'backup.restore', object, outcome: 'success', detail: { to, files: files.length, bytes } });
    return { snapshot: request.snapshot, target: target.name, to, dryRun: false, files: files.length, bytes, seconds: seconds(started) };
  }

  // ------------------------------------------------------------ drills

  async drill(request: { target?: string; plan?: string; keepScratch?: boolean } = {}): Promise<DrillResult> {
    const target = getTarget(this.settings, request.target ?? [...this.settings.targets.keys()][0]!);
    const plan = request.plan ? getPlan(this.settings, request.plan) : [...this.settings.plans.values()].find((p) => p.targets.includes(target.name));
    if (!plan) throw new EgovError('not-found', `no plan goes to target "${target.name}"`);
    const startedAt = this.now();
    const checks: DrillCheck[] = [];
    const repo = this.repository(target);
    let snapshot: ResticSnapshot | undefined;
    let restoreSeconds: number | null = null;
    let verifySeconds: number | null = null;
    const scratchRoot = path.join(this.settings.workDir, 'drills');
    mkdirSync(scratchRoot, { recursive: true, mode: 0o700 });
    const scratch = mkdtempSync(path.join(scratchRoot, `${target.name}-`));
    try {
      try {
        const snapshots = await repo.snapshots(['egov-ops', `plan:${plan.name}`]);
        snapshot = snapshots.at(-1);
        checks.push(snapshot ? { name: 'snapshot', ok: true, detail: `latest snapshot ${snapshot.shortId} of plan ${plan.name}, taken ${snapshot.time}` } : { name: 'snapshot', ok: false, detail: `no snapshot of plan ${plan.name} on target ${target.name}: run \`egov-ops backup run\` first` });
      } catch (error) {
        checks.push({ name: 'snapshot', ok: false, detail: (error as Error).message });
      }
      if (snapshot) {
        const snap = snapshot;
        // 1. The repository itself: structure, and the data (all of it for small repositories).
        const checkStart = performance.now();
        const readData = await this.readDataFlag(target, plan);
        const check = await repo.run(['check', readData]);
        checks.push({
          name: 'restic-check',
          ok: check.code === 0,
          detail: check.code === 0 ? `restic check ${readData}: no errors found` : `restic check ${readData} found errors (restic exit ${check.code}): ${resticMessage(check.stderr + '\n' + check.stdout)}`,
          seconds: seconds(checkStart),
        });
        // 2. Restore (restic re-reads every restored file against the snapshot's blob hashes with --verify).
        const restoreStart = performance.now();
        const restoreDir = path.join(scratch, 'restore');
        mkdirSync(restoreDir);
        const restore = await repo.run(['restore', snap.id, '--target', restoreDir, '--verify']);
        restoreSeconds = seconds(restoreStart);
        checks.push({
          name: 'restore',
          ok: restore.code === 0 && !/error|fail/i.test(restore.stderr),
          detail: restore.code === 0 && !/error|fail/i.test(restore.stderr) ? `restored into a scratch directory and verified by restic in ${restoreSeconds} s` : `restore failed (restic exit ${restore.code}): ${resticMessage(restore.stderr + '\n' + restore.stdout)}`,
          seconds: restoreSeconds,
        });
        const verifyStart = performance.now();
        checks.push(await this.checkFileList(repo, snap, restoreDir));
        const manifest = await this.manifestFor(snap, restoreDir);
        checks.push(await this.checkHashes(manifest, restoreDir));
        const dbCheck = await this.checkDatabase(manifest, restoreDir, scratch);
        checks.push(...dbCheck);
        const metricsCheck = await this.checkMetrics(manifest, restoreDir);
        if (metricsCheck) checks.push(metricsCheck);
        verifySeconds = seconds(verifyStart);
      }
    } finally {
      if (!request.keepScratch) rmSync(scratch, { recursive: true, force: true });
    }
    const endedAt = this.now();
    const ok = checks.every((c) => c.ok);
    const rpoSeconds = snapshot ? Math.max(0, Math.round((startedAt.getTime() - Date.parse(snapshot.time)) / 1000)) : null;
    const rtoSeconds = restoreSeconds !== null && verifySeconds !== null ? Math.round((restoreSeconds + verifySeconds) * 100) / 100 : null;
    const result: DrillResult = {
      ok,
      plan: plan.name,
      target: target.name,
      snapshot: snapshot?.id ?? null,
      snapshotTime: snapshot?.time ?? null,
      startedAt: startedAt.toISOString(),
      endedAt: endedAt.toISOString(),
      rtoSeconds,
      rpoSeconds,
      restoreSeconds,
      verifySeconds,
      checks,
    };
    await this.database.write(async (tx) => {
      await tx
        .insertInto('backup_drill')
        .values({
          plan: plan.name,
          target: target.name,
          snapshot_id: result.snapshot,
          snapshot_time: result.snapshotTime,
          started_at: result.startedAt,
          ended_at: result.endedAt,
          ok: ok ? 1 : 0,
          rto_seconds: rtoSeconds,
          rpo_seconds: rpoSeconds,
          restore_seconds: restoreSeconds,
          verify_seconds: verifySeconds,
          checks: JSON.stringify(checks),
        })
        .execute();
      await appendAudit(tx, {
        ...this.actor,
        action: 'backup.drill',
        object: `backup:${plan.name}/target:${target.name}`,
        outcome: ok ? 'success' : 'failure',
        detail: { snapshot: result.snapshot, rtoSeconds, rpoSeconds, failedChecks: checks.filter((c) => !c.ok).map((c) => c.name) },
      });
    });
    this.events.emit('drill', result);
    return result;
  }

  private async readDataFlag(target: BackupTarget, plan: BackupPlan): Promise<string> {
    const last = await this.database.db
      .selectFrom('backup_run')
      .select('bytes_total')
      .where('target', '=', target.name)
      .where('plan', '=', plan.name)
      .where('kind', '=', 'backup')
      .where('status', '!=', 'failure')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    const bytes = Number(last?.bytes_total ?? 0);
    return bytes <= this.settings.drill.readAllDataUpToMiB * 1024 * 1024 ? '--read-data' : `--read-data-subset=${this.settings.drill.readDataSubset}`;
  }

  private async checkFileList(repo: ResticRepository, snap: ResticSnapshot, restoreDir: string): Promise<DrillCheck> {
    try {
      const files = (await repo.listFiles(snap.id)).filter((f) => f.type === 'file');
      const problems: string[] = [];
      for (const f of files) {
        const restored = path.join(restoreDir, f.path);
        let size: number;
        try {
          size = statSync(restored).size;
        } catch {
          problems.push(`${f.path} missing`);
          continue;
        }
        if (size !== f.size) problems.push(`${f.path} is ${size} bytes, the snapshot says ${f.size}`);
      }
      return problems.length
        ? { name: 'file-list', ok: false, detail: `${problems.length} of ${files.length} files differ from the snapshot listing: ${problems.slice(0, 5).join('; ')}` }
        : { name: 'file-list', ok: true, detail: `all ${files.length} files of the snapshot listing restored with their sizes` };
    } catch (error) {
      return { name: 'file-list', ok: false, detail: (error as Error).message };
    }
  }

  /** The manifest recorded when the snapshot was made (the database), else the one inside the snapshot. */
  private async manifestFor(snap: ResticSnapshot, restoreDir: string): Promise<{ manifest: Manifest | null; source: string }> {
    const row = await this.database.db.selectFrom('backup_run').select('manifest').where('snapshot_id', '=', snap.id).executeTakeFirst();
    if (row?.manifest) return { manifest: JSON.parse(row.manifest) as Manifest, source: 'the run record' };
    for (const p of snap.paths) {
      const file = path.join(restoreDir, p, MANIFEST_NAME);
      if (existsSync(file)) {
        try {
          return { manifest: JSON.parse(readFileSync(file, 'utf8')) as Manifest, source: 'the manifest inside the snapshot (no run record here)' };
        } catch {
          /* fall through */
        }
      }
    }
    return { manifest: null, source: 'none' };
  }

  private async checkHashes({ manifest, source }: { manifest: Manifest | null; source: string }, restoreDir: string): Promise<DrillCheck> {
    if (!manifest) return { name: 'file-hashes', ok: false, detail: 'no manifest of the saved files: neither a run record for this snapshot nor a manifest inside it' };
    const base = path.join(restoreDir, manifest.stagingDir);
    const bad: string[] = [];
    const entries = Object.entries(manifest.files);
    for (const [rel, expected] of entries) {
      const file = path.join(base, rel);
      if (!existsSync(file)) {
        bad.push(`${rel} missing`);
        continue;
      }
      const actual = await sha256File(file);
      if (actual !== expected.sha256) bad.push(`${rel} sha256 ${actual.slice(0, 12)}… expected ${expected.sha256.slice(0, 12)}…`);
    }
    return bad.length
      ? { name: 'file-hashes', ok: false, detail: `${bad.length} of ${entries.length} saved files do not match the SHA-256 recorded at backup time (from ${source}): ${bad.slice(0, 5).join('; ')}` }
      : { name: 'file-hashes', ok: true, detail: `${entries.length} saved files match the SHA-256 recorded at backup time (from ${source})` };
  }

  private async checkDatabase({ manifest }: { manifest: Manifest | null }, restoreDir: string, scratch: string): Promise<DrillCheck[]> {
    if (!manifest?.database) return [{ name: 'database-integrity', ok: true, skipped: true, detail: 'the plan does not save the suite database' }];
    const file = path.join(restoreDir, manifest.stagingDir, manifest.database.file);
    if (!existsSync(file)) return [{ name: 'database-integrity', ok: false, detail: `the restored database ${manifest.database.file} is missing` }];
    if (manifest.database.dialect === 'postgres') return this.checkPostgresDump(file, scratch);
    const out: DrillCheck[] = [];
    try {
      const handle = new BetterSqlite(file, { readonly: true, fileMustExist: true });
      try {
        const rows = handle.pragma('integrity_check') as Array<{ integrity_check: string }>;
        const result = rows.map((r) => r.integrity_check).join('; ');
        out.push(result === 'ok' ? { name: 'database-integrity', ok: true, detail: 'the restored SQLite database opens and PRAGMA integrity_check says ok' } : { name: 'database-integrity', ok: false, detail: `PRAGMA integrity_check: ${result.slice(0, 500)}` });
      } finally {
        handle.close();
      }
    } catch (error) {
      return [{ name: 'database-integrity', ok: false, detail: `the restored database does not open: ${(error as Error).message}` }];
    }
    if (!out[0]!.ok) return out;
    // Open a copy the way the suite would after a recovery, in a scratch data dir.
    const dataDir = path.join(scratch, 'recovered');
    mkdirSync(dataDir, { mode: 0o700 });
    copyFileSync(file, path.join(dataDir, 'egov-ops.sqlite'));
    let recovered: Database | undefined;
    try {
      recovered = await openDatabase({ dataDir });
      out.push(...(await this.checkRecovered(recovered, scratch)));
    } catch (error) {
      out.push({ name: 'ca-keys', ok: false, detail: `the restored database cannot be opened by the suite: ${(error as Error).message}` });
    } finally {
      await recovered?.close();
    }
    return out;
  }

  /** The audit chain and the CA keys of a recovered database, opened the way the suite opens it. */
  private async checkRecovered(recovered: Database, scratch: string): Promise<DrillCheck[]> {
    const out: DrillCheck[] = [];
    const audit = await verifyAuditLog(recovered);
    out.push(audit.ok ? { name: 'audit-chain', ok: true, detail: `the restored audit log's hash chain is intact (${audit.records} records)` } : { name: 'audit-chain', ok: false, detail: `the restored audit log is broken at record ${audit.firstBreak?.id}: ${audit.firstBreak?.reason}` });
    out.push(await this.checkCaKeys(recovered, scratch));
    return out;
  }

  /**
   * A pg_dump archive: pg_restore reads its table of contents, then loads it
   * (one transaction, stop at the first error) into a fresh scratch database
   * made on the suite's own PostgreSQL server, every table is read, and the
   * suite opens that database for the audit-chain and CA-key checks. The
   * scratch database is dropped afterwards. The drill's role needs CREATEDB.
   */
  private async checkPostgresDump(file: string, scratch: string): Promise<DrillCheck[]> {
    const pgRestore = findPgTool('pg_restore');
    const list = await runCapture(pgRestore, ['--list', file], { PATH: process.env.PATH, LC_ALL: 'C' }, 600_000);
    if (list.code !== 0) return [{ name: 'database-integrity', ok: false, detail: `pg_restore --list cannot read the dump: ${list.stderr.trim().slice(0, 500) || `exit ${list.code}`}` }];
    const entries = list.stdout.split('\n').filter((l) => l && !l.startsWith(';')).length;
    const url = this.options.config.database.url;
    if (!url) return [{ name: 'database-integrity', ok: false, detail: `pg_restore --list reads the dump (${entries} entries), but it was not loaded: this suite has no database.url, so there is no PostgreSQL server to load it into` }];
    const scratchName = `egov_ops_drill_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    // Loaded here: only a PostgreSQL drill needs the driver, and `backup run` starts faster without it.
    const { default: driver } = await import('pg');
    let primaryUrl: string;
    try {
      // The scratch database is made on the primary, when the URL names a standby too.
      primaryUrl = await primaryPostgresUrl(url, driver.Client);
    } catch (error) {
      return [{ name: 'database-integrity', ok: false, detail: `pg_restore --list reads the dump (${entries} entries), but it was not loaded: ${(error as Error).message}` }];
    }
    const scratchUrl = withPostgresDatabase(primaryUrl, scratchName);
    const withClient = async <T>(connectionString: string, work: (client: pg.Client) => Promise<T>): Promise<T> => {
      const client = new driver.Client({ connectionString, connectionTimeoutMillis: 10_000 });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return await work(client);
      } finally {
        await client.end().catch(() => undefined);
      }
    };
    try {
      await withClient(primaryUrl, (c) => c.query(`create database "${scratchName}" template template0 encoding 'UTF8'`));
    } catch (error) {
      return [{ name: 'database-integrity', ok: false, detail: `pg_restore --list reads the dump (${entries} entries), but it was not loaded: a scratch database could not be created on ${redactUrl(url)} (the drill's role needs CREATEDB): ${(error as Error).message}` }];
    }
    const out: DrillCheck[] = [];
    let recovered: Database | undefined;
    try {
      const { dbname, env } = pgConnection(scratchUrl);
      const load = await runCapture(pgRestore, ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', dbname, file], env, 3600_000);
      if (load.code !== 0) {
        out.push({ name: 'database-integrity', ok: false, detail: `pg_restore could not load the dump (${entries} entries) into a scratch database (exit ${load.code}): ${load.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500)}` });
        return out;
      }
      // Every table of the loaded copy reads to the end.
      let counts: { tables: number; rows: number };
      try {
        counts = await withClient(scratchUrl, async (client) => {
        const tables = (await client.query<{ name: string }>(`select quote_ident(table_schema) || '.' || quote_ident(table_name) as name from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1`)).rows;
        let rows = 0;
        for (const t of tables) rows += Number((await client.query<{ n: string }>(`select count(*) as n from ${t.name}`)).rows[0]!.n);
        return { tables: tables.length, rows };
        });
      } catch (error) {
        out.push({ name: 'database-integrity', ok: false, detail: `pg_restore loaded the dump, but its tables do not all read back: ${(error as Error).message}` });
        return out;
      }
      out.push({ name: 'database-integrity', ok: true, detail: `pg_restore loaded the dump (${entries} entries) into a scratch database on the suite's server in one transaction without errors; all ${counts.tables} tables read (${counts.rows} rows)` });
      try {
        recovered = await openDatabase({ dataDir: scratch, url: scratchUrl });
        out.push(...(await this.checkRecovered(recovered, scratch)));
      } catch (error) {
        out.push({ name: 'ca-keys', ok: false, detail: `the restored database cannot be opened by the suite: ${(error as Error).message}` });
      }
    } finally {
      await recovered?.close().catch(() => undefined);
      try {
        await withClient(url, async (c) => {
          await c.query(`drop database if exists "${scratchName}" with (force)`).catch(() => c.query(`drop database if exists "${scratchName}"`));
        });
      } catch (error) {
        out.push({ name: 'scratch-cleanup', ok: false, detail: `the scratch database ${scratchName} could not be dropped; drop it by hand: ${(error as Error).message}` });
      }
    }
    return out;
  }

  /**
   * The metrics saved from InfluxDB: restored into the live InfluxDB as a
   * scratch database and counted (see influx.ts). No check at all when
   * neither the backup nor this suite has metrics in InfluxDB; skipped, with
   * the reason, when the suite has but the backup has not.
   */
  private async checkMetrics({ manifest }: { manifest: Manifest | null }, restoreDir: string): Promise<DrillCheck | null> {
    if (manifest?.metrics) {
      const start = performance.now();
      return { ...(await drillInfluxMetrics(path.join(restoreDir, manifest.stagingDir), manifest.metrics, this.influx, this.options.influxdBinary)), seconds: seconds(start) };
    }
    if (!this.influx) return null;
    const reason = !manifest
      ? 'no manifest of the saved files, so no record of saved metrics (see file-hashes)'
      : manifest.database
        ? 'this backup has no metrics directory: it was made while metrics.influx was not set'
        : "the plan does not save the suite's stores, the metrics among them";
    return { name: 'metrics-influxdb', ok: true, skipped: true, detail: reason };
  }

  /** Each restored hierarchy's issuing key decrypts with the CA passphrase and signs a throwaway certificate that openssl verifies against the restored chain. */
  private async checkCaKeys(recovered: Database, scratch: string): Promise<DrillCheck> {
    const rows = await recovered.db.selectFrom('ca_authority').select(['name', 'algorithm', 'root_cert', 'issuing_cert']).orderBy('name').execute();
    if (!rows.length) return { name: 'ca-keys', ok: true, skipped: true, detail: 'no CA hierarchies in the restored database' };
    if (!this.options.caPassphrase) return { name: 'ca-keys', ok: false, detail: `${rows.length} CA hierarch${rows.length === 1 ? 'y' : 'ies'} restored but no CA passphrase was given to check the keys (--passphrase-file or EGOV_OPS_CA_PASSPHRASE)` };
    // The CA is loaded for drills only: `backup run` starts without it.
    const { Authority, readCertificate, toPem } = await import('../ca/index.js');
    const authority = new Authority({ database: recovered, publicUrl: this.options.config.server.publicUrl, passphrase: this.options.caPassphrase });
    const done: string[] = [];
    for (const row of rows) {
      try {
        const { certificate } = await authority.issueWithKeygen(
          { ca: row.name, profile: 'agent', subject: `/CN=egov-ops restore drill ${randomBytes(4).toString('hex')}`, keyAlgorithm: row.algorithm === 'sm2' ? 'sm2' : 'ecdsa-p256', p12Password: randomBytes(18).toString('base64url'), validityDays: 1 },
          { actor: 'system', source: 'backup-drill' },
        );
        const dir = path.join(scratch, `ca-${row.name}`);
        mkdirSync(dir, { mode: 0o700 });
        const root = path.join(dir, 'root.pem');
        const issuing = path.join(dir, 'issuing.pem');
        const leaf = path.join(dir, 'leaf.pem');
        writeFileSync(root, toPem('CERTIFICATE', row.root_cert));
        writeFileSync(issuing, toPem('CERTIFICATE', row.issuing_cert));
        writeFileSync(leaf, certificate.certificatePem);
        // The leaf is signed by the restored issuing certificate's key (the issuer name matches the restored chain).
        if (Buffer.compare(readCertificate(certificate.der).issuerName, readCertificate(row.issuing_cert).subjectName) !== 0) throw new Error('the test certificate names another issuer');
        const verify = (args: string[]) => spawnSync('openssl', ['verify', ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' } });
        if (row.algorithm === 'sm2') {
          // openssl 3.0 passes the GM/T 0009 distid only to the leaf (openssl issue 23471): verify each link.
          const vfy = ['-vfyopt', 'distid:1234567812345678'];
          for (const [args, what] of [
            [[...vfy, '-CAfile', root, issuing], 'issuing CA against root'],
            [[...vfy, '-partial_chain', '-CAfile', issuing, leaf], 'test certificate against issuing CA'],
          ] as const) {
            const r = verify([...args]);
            if (r.status !== 0) throw new Error(`openssl verify (${what}): ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
          }
        } else {
          const r = verify(['-CAfile', root, '-untrusted', issuing, leaf]);
          if (r.status !== 0) throw new Error(`openssl verify: ${(r.stdout + r.stderr).trim().slice(0, 300)}`);
        }
        done.push(`${row.name} (${row.algorithm})`);
      } catch (error) {
        return { name: 'ca-keys', ok: false, detail: `CA "${row.name}": the restored issuing key did not decrypt and sign a certificate that verifies against the restored chain: ${(error as Error).message}` };
      }
    }
    return { name: 'ca-keys', ok: true, detail: `restored issuing keys decrypt and sign a test certificate that openssl verifies against the restored chain: ${done.join(', ')}` };
  }

  // ------------------------------------------------------------ status

  /** The last forget --prune of each plan that goes to the target (a prune covers them all, one restic call each). */
  private async lastPrune(target: BackupTarget): Promise<TargetStatus['lastPrune']> {
    const plans: PruneRecord[] = [];
    for (const plan of this.settings.plans.values()) {
      if (!plan.targets.includes(target.name)) continue;
      const row = await this.database.db.selectFrom('backup_run').selectAll().where('target', '=', target.name).where('plan', '=', plan.name).where('kind', '=', 'forget').orderBy('id', 'desc').limit(1).executeTakeFirst();
      if (!row) continue;
      const ok = row.status !== 'failure';
      plans.push({ plan: plan.name, at: row.ended_at, ok, removed: ok ? row.snapshots_removed : null, message: row.message, resticExitCode: row.restic_exit_code });
    }
    if (!plans.length) return null;
    const removed = plans.every((p) => p.removed !== null) ? plans.reduce((n, p) => n + p.removed!, 0) : null;
    return { at: plans.map((p) => p.at).sort().at(-1)!, ok: plans.every((p) => p.ok), removed, plans };
  }

  async status(): Promise<StatusReport> {
    const now = this.now();
    const targets: TargetStatus[] = [];
    const evidence: DrEvidence[] = [];
    for (const target of this.settings.targets.values()) {
      const lastRun = await this.database.db.selectFrom('backup_run').selectAll().where('target', '=', target.name).where('kind', '=', 'backup').orderBy('id', 'desc').limit(1).executeTakeFirst();
      const lastSuccess = await this.database.db.selectFrom('backup_run').selectAll().where('target', '=', target.name).where('kind', '=', 'backup').where('status', '!=', 'failure').orderBy('id', 'desc').limit(1).executeTakeFirst();
      const lastDrill = await this.database.db.selectFrom('backup_drill').selectAll().where('target', '=', target.name).orderBy('id', 'desc').limit(1).executeTakeFirst();
      const lastPassing = await this.database.db.selectFrom('backup_drill').selectAll().where('target', '=', target.name).where('ok', '=', 1).orderBy('id', 'desc').limit(1).executeTakeFirst();
      const lastPrune = await this.lastPrune(target);
      const hours = (iso: string) => (now.getTime() - Date.parse(iso)) / 3600_000;
      const rpoHoursNow = lastSuccess ? Math.round(hours(lastSuccess.ended_at) * 1000) / 1000 : null;
      const rtoHoursAchieved = lastPassing?.rto_seconds != null ? Math.round((lastPassing.rto_seconds / 3600) * 10000) / 10000 : null;
      const e: DrEvidence = {
        target: target.name,
        kind: target.kind,
        offsite: target.offsite,
        backupAgeHours: rpoHoursNow,
        runsPerDay: target.schedule.runsPerDay,
        drillAgeDays: lastPassing ? hours(lastPassing.started_at) / 24 : null,
        rtoHours: rtoHoursAchieved,
        rpoHours: lastPassing?.rpo_seconds != null ? lastPassing.rpo_seconds / 3600 : null,
      };
      evidence.push(e);
      targets.push({
        target: target.name,
        kind: target.kind,
        repository: target.repository,
        offsite: target.offsite,
        schedule: target.schedule.expression,
        nextRun: target.schedule.next(now).toISOString(),
        pruneSchedule: target.pruneSchedule.expression,
        nextPrune: target.pruneSchedule.next(now).toISOString(),
        retention: { ...target.retention },
        objectives: target.objectives,
        lastRun: lastRun
          ? {
              plan: lastRun.plan,
              target: lastRun.target,
              status: lastRun.status,
              startedAt: lastRun.started_at,
              endedAt: lastRun.ended_at,
              snapshotId: lastRun.snapshot_id,
              filesNew: lastRun.files_new,
              filesChanged: lastRun.files_changed,
              filesTotal: lastRun.files_total,
              bytesAdded: lastRun.bytes_added,
              bytesTotal: lastRun.bytes_total,
              resticExitCode: lastRun.restic_exit_code,
              message: lastRun.message,
            }
          : null,
        lastSuccess: lastSuccess ? { at: lastSuccess.ended_at, snapshotId: lastSuccess.snapshot_id } : null,
        lastDrill: lastDrill
          ? {
              at: lastDrill.started_at,
              ok: lastDrill.ok === 1,
              snapshot: lastDrill.snapshot_id,
              rtoSeconds: lastDrill.rto_seconds,
              rpoSeconds: lastDrill.rpo_seconds,
              failedChecks: (JSON.parse(lastDrill.checks) as DrillCheck[]).filter((c) => !c.ok).map((c) => c.name),
            }
          : null,
        lastPrune,
        rpoHoursNow,
        rpoMet: rpoHoursNow === null ? null : rpoHoursNow <= target.objectives.rpoHours,
        rtoHoursAchieved,
        rtoMet: rtoHoursAchieved === null ? null : rtoHoursAchieved <= target.objectives.rtoHours,
        drLevel: assessDrLevel([e], this.settings.site),
      });
    }
    return { generatedAt: now.toISOString(), defaultPlan: this.settings.isDefault, targets, drLevel: assessDrLevel(evidence, this.settings.site) };
  }
}
