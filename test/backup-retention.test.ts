// Retention (restic forget --prune) on its own schedule, with the real
// restic: `backup run` no longer prunes; `backup prune` applies the keep-*
// rules, records them and prints what it did; `backup run --prune` does both
// in one call; the scheduler's prune timer prunes and never overlaps a run of
// the same target; a pruneSchedule that does not parse is refused at load;
// a prune with a wrong repository password fails with restic's message and
// a non-zero exit.

import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupScheduler, BackupService, DEFAULT_PRUNE_SCHEDULE, loadBackupSettings, type PruneResult, type StatusReport } from '../backup/index.js';
import { EgovError, exitCodes, listAudit, loadConfig, openDatabase } from '../core/index.js';
import { makeSuite, removeTempDirs, runBackupCli as egov, tempDir, type TestSuite } from './support/restic.js';

afterAll(removeTempDirs);

const REPOSITORY_PASSWORD = 'retention-test-password\n';

/** A same-city target "nas" keeping the last snapshot only, written as DATA_DIR/config.yaml so the CLI reads it too. */
function nasTarget(extra: Record<string, unknown> = {}): { dataDir: string; passwordFile: string; repository: string; backup: Record<string, unknown> } {
  const dataDir = tempDir();
  const passwordFile = path.join(dataDir, 'nas.password');
  writeFileSync(passwordFile, REPOSITORY_PASSWORD, { mode: 0o600 });
  const repository = path.join(dataDir, 'nas-repo');
  const backup = { targets: { nas: { kind: 'same-city', repository, passwordFile, retention: { keepLast: 1 }, ...extra } } };
  writeFileSync(path.join(dataDir, 'config.yaml'), JSON.stringify({ backup }, null, 2) + '\n');
  return { dataDir, passwordFile, repository, backup };
}

const kinds = async (suite: TestSuite) => (await suite.database.db.selectFrom('backup_run').select('kind').orderBy('id').execute()).map((r) => r.kind);

describe('retention apart from the runs', () => {
  let suite: TestSuite;
  let service: BackupService;
  let dataDir: string;

  beforeAll(async () => {
    const nas = nasTarget();
    dataDir = nas.dataDir;
    suite = await makeSuite({ dataDir, backup: nas.backup, withCa: false });
    service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
  });
  afterAll(() => suite?.close());

  it('backup run no longer prunes: three runs with keepLast 1 leave three snapshots', async () => {
    expect(service.settings.targets.get('nas')!.pruneSchedule.expression).toBe(DEFAULT_PRUNE_SCHEDULE);
    for (let i = 0; i < 3; i++) {
      const [run] = await service.run();
      expect(run).toMatchObject({ ok: true, status: 'success', target: 'nas' });
      expect(run!.retention).toBeUndefined();
      expect(run!.seconds!.retention).toBe(0);
    }
    expect(await service.snapshots('nas')).toHaveLength(3);
    expect(await kinds(suite)).toEqual(['backup', 'backup', 'backup']);
    expect(await listAudit(suite.database, { action: 'backup.forget' })).toEqual([]);
  });

  it('backup prune applies keepLast 1, records it, and prints what it did', async () => {
    // The suite's database is closed by the CLI's own open/close; this one stays open (SQLite allows both).
    const { stdout, exitCode } = await egov(['--data-dir', dataDir, '--json', 'backup', 'prune']);
    expect(exitCode).toBeUndefined();
    const results = JSON.parse(stdout) as PruneResult[];
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ plan: 'default', target: 'nas', ok: true, keep: '--keep-last 1', removed: 2, kept: 1, resticExitCode: 0 });
    expect(results[0]!.message).toBe('retention --keep-last 1: 2 snapshot(s) removed, 1 kept, pruned');
    expect(await service.snapshots('nas')).toHaveLength(1);

    const row = await suite.database.db.selectFrom('backup_run').selectAll().where('kind', '=', 'forget').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ plan: 'default', target: 'nas', status: 'success', restic_exit_code: 0, message: results[0]!.message });
    const audit = await listAudit(suite.database, { action: 'backup.forget' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ outcome: 'success', object: 'backup:default/target:nas', detail: { keep: '--keep-last 1', removed: 2, kept: 1, resticExitCode: 0 } });

    // Status, JSON and human: the last prune and the next.
    const status = JSON.parse((await egov(['--data-dir', dataDir, '--json', 'backup', 'status'])).stdout) as StatusReport;
    const nas = status.targets[0]!;
    expect(nas).toMatchObject({ target: 'nas', pruneSchedule: '30 4 * * *', lastPrune: { at: row.ended_at, ok: true, removed: 2, plans: [{ plan: 'default', ok: true, removed: 2, resticExitCode: 0 }] } });
    const nextPrune = new Date(nas.nextPrune);
    expect(nextPrune.getTime()).toBeGreaterThan(Date.now());
    expect([nextPrune.getHours(), nextPrune.getMinutes()]).toEqual([4, 30]);
    const human = (await egov(['--data-dir', dataDir, 'backup', 'status'])).stdout;
    expect(human).toContain(`retention keepLast 1; prune schedule 30 4 * * *, next ${nas.nextPrune}`);
    expect(human).toContain(`last prune ${row.ended_at}: ok, 2 snapshot(s) removed`);

    // Human output of a prune with nothing left to remove.
    const again = await egov(['--data-dir', dataDir, 'backup', 'prune', '--target', 'nas']);
    expect(again.exitCode).toBeUndefined();
    expect(again.stdout).toMatch(/^default -> nas: ok, 0 snapshot\(s\) removed, 1 kept \([\d.]+ s\)\n {2}retention --keep-last 1: 0 snapshot\(s\) removed, 1 kept, pruned\n$/);
  });

  it('backup run --prune backs up and prunes in the same call', async () => {
    await service.run();
    expect(await service.snapshots('nas')).toHaveLength(2);
    const { stdout, exitCode } = await egov(['--data-dir', dataDir, '--json', 'backup', 'run', '--prune']);
    expect(exitCode).toBeUndefined();
    const [run] = JSON.parse(stdout);
    expect(run).toMatchObject({ ok: true, status: 'success', retention: { ok: true, removed: 2, kept: 1 } });
    expect(run.seconds.retention).toBeGreaterThan(0);
    const snapshots = await service.snapshots('nas');
    expect(snapshots.map((s) => s.id)).toEqual([run.snapshotId]);
    expect((await kinds(suite)).slice(-2)).toEqual(['backup', 'forget']);
  });

  it("the scheduler's prune timer prunes, and waits for a run of the same target rather than overlapping it", async () => {
    const lines: string[] = [];
    const scheduler = new BackupScheduler(service, { log: (line) => lines.push(line) });
    expect(Object.keys(scheduler.nextPrunes())).toEqual(['nas']);
    expect(new Date(scheduler.nextPrunes().nas!).getHours()).toBe(4);
    await service.run();
    expect(await service.snapshots('nas')).toHaveLength(2);
    await scheduler.firePrune('nas');
    expect(lines.some((l) => /^scheduled prune default -> nas: ok, retention --keep-last 1: 1 snapshot\(s\) removed, 1 kept, pruned$/.test(l))).toBe(true);
    expect(await service.snapshots('nas')).toHaveLength(1);

    // A run and a prune due together: the prune waits (restic would refuse the second
    // lock), then removes the snapshot before the run's; a second prune is skipped.
    lines.length = 0;
    await Promise.all([scheduler.fire('nas'), scheduler.firePrune('nas'), scheduler.firePrune('nas')]);
    expect(lines.filter((l) => l.includes('prune of nas waits: a run of the target is still going'))).toHaveLength(1);
    expect(lines.filter((l) => l.includes('prune of nas skipped'))).toHaveLength(1);
    expect(lines.some((l) => /scheduled backup default -> nas: success/.test(l))).toBe(true);
    expect(lines.some((l) => /scheduled prune default -> nas: ok, .*1 snapshot\(s\) removed/.test(l))).toBe(true);
    expect(lines.filter((l) => /failed|FAILED/.test(l))).toEqual([]);
    const [latest] = (await suite.database.db.selectFrom('backup_run').select('snapshot_id').where('kind', '=', 'backup').orderBy('id', 'desc').limit(1).execute()) as Array<{ snapshot_id: string }>;
    expect((await service.snapshots('nas')).map((s) => s.id)).toEqual([latest!.snapshot_id]);
  });
});

describe('a pruneSchedule that does not parse', () => {
  it('is refused at load, naming the key, before anything is written', async () => {
    const bad = (pruneSchedule: string) => loadBackupSettings(loadConfig({ env: {}, flags: { dataDir: tempDir(), backup: { targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x', pruneSchedule } } } } }));
    expect(() => bad('nightly')).toThrow(/^backup\.targets\.nas\.pruneSchedule: schedule "nightly" does not parse: expected five fields/);
    expect(() => bad('30 25 * * *')).toThrow(/backup\.targets\.nas\.pruneSchedule: .*hour field "25" has 25, outside 0-23/);
    expect(() => bad('0 4 31 2 *')).toThrow(/backup\.targets\.nas\.pruneSchedule: .*never runs/);

    // Through the CLI: a bad-config error (exit 2), no repository, no record.
    const { dataDir, repository } = nasTarget({ pruneSchedule: 'every night' });
    for (const command of [['backup', 'run'], ['backup', 'prune']]) {
      const error = await egov(['--data-dir', dataDir, ...command]).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EgovError);
      expect(error).toMatchObject({ code: 'bad-config', details: { key: 'backup.targets.nas.pruneSchedule' } });
      expect((error as EgovError).message).toMatch(/^backup\.targets\.nas\.pruneSchedule: schedule "every night" does not parse/);
      expect((error as EgovError).exitCode).toBe(exitCodes.usage);
    }
    expect(existsSync(repository)).toBe(false);
    expect(existsSync(path.join(dataDir, 'backups'))).toBe(false);
    const database = await openDatabase({ dataDir });
    try {
      expect(await database.db.selectFrom('backup_run').selectAll().execute()).toEqual([]);
      expect(await database.db.selectFrom('audit_log').select('action').where('action', 'like', 'backup.%').execute()).toEqual([]);
    } finally {
      await database.close();
    }
  });
});

describe('a prune with a wrong repository password', () => {
  it("fails cleanly with restic's message and a non-zero exit, and is recorded", async () => {
    const { dataDir, passwordFile, backup } = nasTarget();
    const suite = await makeSuite({ dataDir, backup, withCa: false });
    try {
      const service = new BackupService({ config: suite.config, database: suite.database });
      await service.run();
      await service.run();
      writeFileSync(passwordFile, 'a-wrong-password\n');
      const json = await egov(['--data-dir', dataDir, '--json', 'backup', 'prune']);
      expect(json.exitCode).toBe(exitCodes.authentication);
      const [result] = JSON.parse(json.stdout) as PruneResult[];
      expect(result).toMatchObject({ plan: 'default', target: 'nas', ok: false, code: 'wrong-passphrase', removed: null, kept: null, resticExitCode: 1 });
      expect(result!.message).toMatch(/^forget --prune on target "nas" failed: the repository password is wrong \(restic exit 1: Fatal: wrong password or no key found\)$/);
      const human = await egov(['--data-dir', dataDir, 'backup', 'prune']);
      expect(human.exitCode).toBe(exitCodes.authentication);
      expect(human.stdout).toMatch(/^default -> nas: FAILED \([\d.]+ s\)\n {2}forget --prune on target "nas" failed: the repository password is wrong \(restic exit 1: Fatal: wrong password or no key found\)\n$/);

      const rows = await suite.database.db.selectFrom('backup_run').selectAll().where('kind', '=', 'forget').execute();
      expect(rows).toHaveLength(2);
      expect(rows[0]).toMatchObject({ status: 'failure', restic_exit_code: 1, message: result!.message });
      const audit = await listAudit(suite.database, { action: 'backup.forget' });
      expect(audit.map((a) => a.outcome)).toEqual(['failure', 'failure']);
      expect(audit[0]!.detail).toMatchObject({ code: 'wrong-passphrase', problem: 'wrong-password', resticExitCode: 1 });
      const status = await service.status();
      expect(status.targets[0]!.lastPrune).toMatchObject({ ok: false, removed: null, plans: [{ ok: false, resticExitCode: 1 }] });

      // Nothing was removed: both snapshots are still there with the right password.
      writeFileSync(passwordFile, REPOSITORY_PASSWORD);
      expect(await service.snapshots('nas')).toHaveLength(2);
    } finally {
      await suite.close();
    }
  });
});
