// Backups to a same-city repository (a local path) with the real restic:
// the default plan out of the box, a drill that passes, a drill that fails
// after a pack file is corrupted (and says which check caught it), a
// restore, and the status with its DR level.

import { openSync, readFileSync, readdirSync, writeSync, closeSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedPassphrase } from '../ca/index.js';
import { BackupService, type DrillResult, type RunResult } from '../backup/index.js';
import { listAudit, verifyAuditLog } from '../core/index.js';
import { CA_PASSPHRASE, largestPack, makeSuite, removeTempDirs, tempDir, type TestSuite } from './support/restic.js';

afterAll(removeTempDirs);

describe('default plan to a same-city repository', () => {
  let suite: TestSuite;
  let service: BackupService;
  let run: RunResult;
  let drill: DrillResult;

  beforeAll(async () => {
    suite = await makeSuite();
    service = new BackupService({ config: suite.config, database: suite.database, caPassphrase: fixedPassphrase(CA_PASSPHRASE), actor: { actor: 'test', source: 'test' } });
    [run] = (await service.run()) as [RunResult];
    drill = await service.drill();
  });
  afterAll(() => suite?.close());

  it('backs up the suite stores and records the run', async () => {
    expect(service.settings.isDefault).toBe(true);
    expect(run).toMatchObject({ plan: 'default', target: 'same-city', ok: true, status: 'success', resticExitCode: 0, repositoryCreated: true });
    expect(run.snapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(run.filesTotal).toBeGreaterThanOrEqual(3);
    expect(run.bytesTotal).toBeGreaterThan(0);
    // Retention runs apart (pruneSchedule, `backup prune`, `run --prune`): see backup-retention.test.ts.
    expect(run.retention).toBeUndefined();
    expect(run.seconds?.retention).toBe(0);
    const target = service.settings.targets.get('same-city')!;
    expect(target.repository).toBe(path.join(suite.config.dataDir, 'backups', 'same-city'));
    expect(existsSync(path.join(target.repository, 'config'))).toBe(true);
    const rows = await suite.database.db.selectFrom('backup_run').selectAll().orderBy('id').execute();
    expect(rows.map((r) => r.kind)).toEqual(['backup']);
    expect(rows[0]).toMatchObject({ status: 'success', snapshot_id: run.snapshotId, restic_exit_code: 0 });
    const manifest = JSON.parse(rows[0]!.manifest!);
    expect(Object.keys(manifest.files)).toContain('database/egov-ops.sqlite');
    const audit = await listAudit(suite.database, { action: 'backup.run' });
    expect(audit[0]).toMatchObject({ outcome: 'success', object: 'backup:default/target:same-city' });
    expect((await verifyAuditLog(suite.database)).ok).toBe(true);
    // The repository password never reaches argv or the records.
    const password = readFileSync(path.join(suite.config.dataDir, 'backups', 'same-city.password'), 'utf8').trim();
    expect(JSON.stringify(rows) + JSON.stringify(audit)).not.toContain(password);
  });

  it('a drill restores the latest snapshot and passes every check', () => {
    expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
    expect(drill.snapshot).toBe(run.snapshotId);
    expect(drill.checks.map((c) => c.name)).toEqual(['snapshot', 'restic-check', 'restore', 'file-list', 'file-hashes', 'database-integrity', 'audit-chain', 'ca-keys']);
    expect(drill.checks.find((c) => c.name === 'restic-check')!.detail).toContain('--read-data');
    expect(drill.checks.find((c) => c.name === 'ca-keys')!.detail).toContain('city-test');
    expect(drill.rtoSeconds).toBeGreaterThan(0);
    expect(drill.rpoSeconds).toBeGreaterThanOrEqual(0);
  });

  it('status shows the last run and drill, objectives and the DR level with the reason for the next', async () => {
    const status = await service.status();
    const t = status.targets[0]!;
    expect(t).toMatchObject({ target: 'same-city', kind: 'same-city', offsite: false, schedule: '30 1 * * *', pruneSchedule: '30 4 * * *', lastPrune: null });
    expect(Date.parse(t.nextPrune)).toBeGreaterThan(Date.now());
    expect(t.lastRun?.snapshotId).toBe(run.snapshotId);
    expect(t.lastDrill).toMatchObject({ ok: true, snapshot: run.snapshotId });
    expect(t.rpoMet).toBe(true);
    expect(t.rtoMet).toBe(true);
    expect(status.drLevel.level).toBe(0);
    expect(status.drLevel.edition).toContain('GB/T 20988-2007');
    expect(status.drLevel.nextLevel!.missing.join('\n')).toMatch(/not off-site/);
  });

  it('restore refuses a non-empty directory without --force, lists with --dry-run, and restores', async () => {
    const to = tempDir();
    writeFileSync(path.join(to, 'keep.txt'), 'here');
    const before = (await suite.database.db.selectFrom('audit_log').select('id').execute()).length;
    await expect(service.restore({ snapshot: run.snapshotId!, to })).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('--force') });
    expect((await suite.database.db.selectFrom('audit_log').select('id').execute()).length).toBe(before);
    expect(readdirSync(to)).toEqual(['keep.txt']);
    const dry = await service.restore({ snapshot: run.snapshotId!, to, dryRun: true });
    expect(dry.files).toBe(run.filesTotal);
    expect(dry.list!.some((f) => f.path.endsWith('database/egov-ops.sqlite'))).toBe(true);
    expect(readdirSync(to)).toEqual(['keep.txt']);
    const empty = path.join(tempDir(), 'fresh');
    const real = await service.restore({ snapshot: run.snapshotId!, to: empty });
    expect(real.files).toBe(run.filesTotal);
    expect(existsSync(path.join(empty, service.settings.workDir, 'staging', 'default', 'database', 'egov-ops.sqlite'))).toBe(true);
  });
});

describe('a corrupted pack file', () => {
  it('makes the drill fail and says which check caught it', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const extra = tempDir();
      mkdirSync(path.join(extra, 'docs'));
      writeFileSync(path.join(extra, 'docs', 'register.csv'), 'id,name\n'.repeat(20000));
      const config = { ...suite.config, backup: { plans: { city: { paths: [extra] } } } };
      const service = new BackupService({ config, database: suite.database });
      const [run] = await service.run();
      expect(run!.ok).toBe(true);
      const pack = largestPack(service.settings.targets.get('same-city')!.repository);
      const fd = openSync(pack, 'r+');
      writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 200);
      closeSync(fd);
      const drill = await service.drill();
      expect(drill.ok).toBe(false);
      const check = drill.checks.find((c) => c.name === 'restic-check')!;
      expect(check.ok).toBe(false);
      expect(check.detail).toMatch(/restic check --read-data found errors \(restic exit 1\)/);
      const row = await suite.database.db.selectFrom('backup_drill').selectAll().orderBy('id', 'desc').executeTakeFirst();
      expect(row).toMatchObject({ ok: 0, snapshot_id: run!.snapshotId });
      const status = await service.status();
      expect(status.targets[0]!.lastDrill).toMatchObject({ ok: false });
      expect(status.targets[0]!.lastDrill!.failedChecks).toContain('restic-check');
    } finally {
      await suite.close();
    }
  });
});

describe('the schedule inside serve', () => {
  it('runs a target when told, and skips a run while the previous one is still going', async () => {
    const { BackupScheduler } = await import('../backup/index.js');
    const suite = await makeSuite();
    try {
      const service = new BackupService({ config: suite.config, database: suite.database, caPassphrase: fixedPassphrase(CA_PASSPHRASE), actor: { actor: 'system', source: 'scheduler' } });
      const lines: string[] = [];
      const scheduler = new BackupScheduler(service, { log: (line) => lines.push(line) });
      expect(Object.keys(scheduler.nextRuns())).toEqual(['same-city']);
      expect(new Date(scheduler.nextRuns()['same-city']!).getTime()).toBeGreaterThan(Date.now());
      await Promise.all([scheduler.fire('same-city'), scheduler.fire('same-city')]);
      expect(lines.filter((l) => l.includes('skipped'))).toHaveLength(1);
      expect(lines.some((l) => /scheduled backup default -> same-city: success/.test(l))).toBe(true);
      const runs = await suite.database.db.selectFrom('backup_run').select(['kind', 'status']).where('kind', '=', 'backup').execute();
      expect(runs).toEqual([{ kind: 'backup', status: 'success' }]);
    } finally {
      await suite.close();
    }
  });
});
