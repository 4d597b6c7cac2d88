// Incremental backups build on the right snapshot, with the real restic:
// the run names its parent (the pair's last recorded snapshot) instead of
// leaving it to restic, whose own choice is the latest snapshot of the same
// paths from the same host; so a run made on another `serve` instance (the
// scheduler lease moved) still reads only what changed. A recorded parent
// that is gone is not named; restic's cache lives under the data dir and is
// used again by the next run.

import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupService, type RunResult } from '../backup/index.js';
import { makeSuite, removeTempDirs, tempDir, type TestSuite } from './support/restic.js';

afterAll(removeTempDirs);

interface Snapshot {
  id: string;
  parent?: string;
  hostname: string;
}

describe('incremental runs name their parent snapshot', () => {
  let suite: TestSuite;
  let service: BackupService;
  let data: string;
  let repository: string;

  const snapshots = async (): Promise<Snapshot[]> => {
    const repo = service.repository(service.settings.targets.get('nas')!);
    return JSON.parse((await repo.runOrThrow('listing', ['snapshots', '--json', '--no-lock'])).stdout) as Snapshot[];
  };
  const change = (name: string) => writeFileSync(path.join(data, name), `${name} ${Date.now()}\n`.repeat(200));

  beforeAll(async () => {
    const root = tempDir();
    data = path.join(root, 'data');
    mkdirSync(data);
    for (let i = 0; i < 30; i++) writeFileSync(path.join(data, `form-${i}.csv`), `${i},approved\n`.repeat(2000));
    repository = path.join(root, 'repo');
    const passwordFile = path.join(root, 'repo.password');
    writeFileSync(passwordFile, 'incremental-test-password\n', { mode: 0o600 });
    suite = await makeSuite({
      withCa: false,
      backup: { targets: { nas: { kind: 'same-city', repository, passwordFile } }, plans: { records: { paths: [data], targets: ['nas'] } } },
    });
    service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
  }, 60_000);
  afterAll(() => suite?.close());

  it('the first run has no parent; the next names the first snapshot, and restic records it as the parent', async () => {
    const [first] = (await service.run({ target: 'nas' })) as [RunResult];
    expect(first).toMatchObject({ ok: true, status: 'success', parentSnapshotId: null, repositoryCreated: true });
    change('new-1.csv');
    const [second] = (await service.run({ target: 'nas' })) as [RunResult];
    expect(second).toMatchObject({ ok: true, status: 'success', parentSnapshotId: first.snapshotId });
    const made = await snapshots();
    expect(made.find((s) => s.id === second.snapshotId)?.parent).toBe(first.snapshotId);
    // Only what changed was read again: the new file and the restaged stores.
    expect(second.filesNew).toBeLessThanOrEqual(1 + 4);
    expect(second.seconds?.restic).toBeGreaterThan(0);
    expect(second.seconds!.restic).toBeLessThanOrEqual(second.seconds!.backup);
  }, 120_000);

  it("a snapshot another host made is still the parent (restic's own choice would find none)", async () => {
    // Another `serve` instance, on another host, made the last run: a restic
    // that stamps its snapshots with that host's name stands in for it.
    const elsewhere = path.join(tempDir(), 'restic-on-instance-b');
    writeFileSync(elsewhere, `#!/bin/sh\nif [ "$1" = backup ]; then exec restic "$@" --host instance-b; fi\nexec restic "$@"\n`);
    chmodSync(elsewhere, 0o755);
    const other = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' }, resticBinary: elsewhere });
    change('new-2.csv');
    const [there] = (await other.run({ target: 'nas' })) as [RunResult];
    expect((await snapshots()).find((s) => s.id === there.snapshotId)?.hostname).toBe('instance-b');
    change('new-3.csv');
    const [here] = (await service.run({ target: 'nas' })) as [RunResult];
    expect(here.parentSnapshotId).toBe(there.snapshotId);
    const made = await snapshots();
    const mine = made.find((s) => s.id === here.snapshotId)!;
    expect(mine.hostname).not.toBe('instance-b');
    expect(mine.parent).toBe(there.snapshotId);
  }, 120_000);

  it('a recorded parent forgotten by hand is not named: restic chooses, and the run succeeds', async () => {
    const before = await snapshots();
    const last = (await suite.database.db.selectFrom('backup_run').select('snapshot_id').where('kind', '=', 'backup').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).snapshot_id!;
    const repo = service.repository(service.settings.targets.get('nas')!);
    await repo.runOrThrow('forget', ['forget', last]);
    expect(existsSync(path.join(repository, 'snapshots', last))).toBe(false);
    expect(await service.parentSnapshot(service.settings.plans.get('records')!, service.settings.targets.get('nas')!)).toBeUndefined();
    change('new-4.csv');
    const [run] = (await service.run({ target: 'nas' })) as [RunResult];
    expect(run).toMatchObject({ ok: true, status: 'success', parentSnapshotId: null });
    expect((await snapshots()).length).toBe(before.length);
  }, 120_000);

  it("restic's cache is under the data dir, filled by the runs and kept for the next", async () => {
    const target = service.settings.targets.get('nas')!;
    const cacheDir = service.repository(target).environment().RESTIC_CACHE_DIR!;
    expect(cacheDir).toBe(path.join(suite.config.dataDir, 'backups', 'cache'));
    const repositories = readdirSync(cacheDir).filter((n) => /^[0-9a-f]{64}$/.test(n));
    expect(repositories).toHaveLength(1);
    const index = path.join(cacheDir, repositories[0]!, 'index');
    const cached = readdirSync(index);
    expect(cached.length).toBeGreaterThan(0);
    change('new-5.csv');
    await service.run({ target: 'nas' });
    // The same cache, still holding what it held (restic adds the new index, removes nothing it still needs).
    expect(readdirSync(cacheDir).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual(repositories);
    const after = readdirSync(index);
    expect(after.length).toBeGreaterThanOrEqual(cached.length);
  }, 120_000);
});

describe('the SQLite export before restic', () => {
  let suite: TestSuite;
  let service: BackupService;

  beforeAll(async () => {
    suite = await makeSuite({ withCa: false });
    service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
  }, 60_000);
  afterAll(() => suite?.close());

  const lastManifest = async () => JSON.parse((await suite.database.db.selectFrom('backup_run').select('manifest').where('kind', '=', 'backup').orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow()).manifest!) as { database: { exportedWith: string }; files: Record<string, { sha256: string; size: number }> };

  it('a small database is copied in one read, a large one page by page; both restore and pass the drill', async () => {
    const [small] = (await service.run()) as [RunResult];
    expect(small.ok).toBe(true);
    expect((await lastManifest()).database.exportedWith).toBe('serialize');
    const drillSmall = await service.drill();
    expect(drillSmall.checks.find((c) => c.name === 'database-integrity'), JSON.stringify(drillSmall.checks)).toMatchObject({ ok: true });
    expect(drillSmall.checks.find((c) => c.name === 'file-hashes')).toMatchObject({ ok: true });

    // Past SQLITE_SERIALIZE_MAX_BYTES (32 MiB): 40 MiB of rows in a table of the test's own.
    await suite.database.db.schema.createTable('bulk_test').addColumn('b', 'blob').execute();
    const chunk = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < 40; i++) await suite.database.db.insertInto('bulk_test' as never).values({ b: Buffer.concat([chunk, Buffer.from(String(i))]) } as never).execute();
    const [large] = (await service.run()) as [RunResult];
    expect(large.ok).toBe(true);
    const manifest = await lastManifest();
    expect(manifest.database.exportedWith).toBe('online-backup');
    expect(manifest.files['database/egov-ops.sqlite']!.size).toBeGreaterThan(32 * 1024 * 1024);
    const drillLarge = await service.drill();
    expect(drillLarge.checks.find((c) => c.name === 'database-integrity'), JSON.stringify(drillLarge.checks)).toMatchObject({ ok: true });
    expect(drillLarge.checks.find((c) => c.name === 'file-hashes')).toMatchObject({ ok: true });
  }, 300_000);
});
