// A real restic lock collision. A second restic process holds an exclusive
// lock on the repository (`restic key passwd` takes one, then waits on its
// stdin for the new password, which never comes). `backup run` fails,
// reports who holds the lock, since when and that it is not stale, and
// leaves it; `backup unlock` leaves a live process's lock in place. Once the
// holder is killed (SIGKILL: restic cannot clean up) the same lock is
// reported stale, `backup unlock` removes it, and the next run succeeds.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupService, type LockInfo } from '../backup/index.js';
import { EgovError, listAudit } from '../core/index.js';
import { makeSuite, removeTempDirs } from './support/restic.js';

afterAll(removeTempDirs);

const lockFiles = (repository: string) => (existsSync(path.join(repository, 'locks')) ? readdirSync(path.join(repository, 'locks')).sort() : []);

async function waitFor(what: string, test: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function runError(service: BackupService): Promise<EgovError> {
  try {
    await service.run();
  } catch (error) {
    return error as EgovError;
  }
  throw new Error('backup run succeeded while the repository was locked');
}

describe('a restic lock held by another process', () => {
  let holder: ChildProcess | undefined;
  afterAll(() => {
    if (holder && holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
  });

  it('is reported by backup run and left alone; unlock removes it only once it is stale', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
      const [first] = await service.run();
      expect(first!.ok).toBe(true);
      const target = service.settings.targets.get('same-city')!;
      const repo = service.repository(target);
      expect(lockFiles(target.repository)).toEqual([]);

      // The other process: an exclusive lock, held while it waits on stdin.
      holder = spawn(repo.binary, ['key', 'passwd'], { env: repo.environment(), stdio: ['pipe', 'ignore', 'ignore'] });
      await waitFor('the holder to take its lock', () => lockFiles(target.repository).length === 1);
      const held = lockFiles(target.repository);

      // backup run: fails, says who holds the lock and since when, not stale; the lock stays.
      const error = await runError(service);
      expect(error).toBeInstanceOf(EgovError);
      expect(error.code).toBe('conflict');
      expect(error.details).toMatchObject({ problem: 'locked', resticExitCode: 1 });
      const lock = error.details!.lock as LockInfo;
      expect(lock).toMatchObject({ pid: holder.pid, host: os.hostname(), exclusive: true, stale: false });
      expect(lock.createdAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
      expect(error.message).toMatch(new RegExp(`exclusive lock of PID ${holder.pid} on ${os.hostname()} by \\S+, created .*: not stale`));
      expect(error.message).toContain('nothing was removed');
      expect(lockFiles(target.repository)).toEqual(held);
      const failed = await suite.database.db.selectFrom('backup_run').selectAll().where('kind', '=', 'backup').orderBy('id', 'desc').executeTakeFirstOrThrow();
      expect(failed).toMatchObject({ status: 'failure', restic_exit_code: 1 });
      expect(failed.message).toContain(`PID ${holder.pid}`);
      const audit = (await listAudit(suite.database, { action: 'backup.run' }))[0]!;
      expect(audit.outcome).toBe('failure');
      expect(JSON.stringify(audit.detail)).toContain(`${holder.pid}`);

      // The locks as read from the repository.
      const locks = await service.locks('same-city');
      expect(locks).toHaveLength(1);
      expect(locks[0]).toMatchObject({ id: held[0], pid: holder.pid, exclusive: true, stale: false });

      // unlock (restic's own rule): a live process's lock is left in place, and the report says so.
      const kept = await service.unlock('same-city');
      expect(kept.removed).toEqual([]);
      expect(kept.left.map((l) => l.id)).toEqual(held);
      expect(kept.message).toMatch(/no stale locks to remove; 1 lock\(s\) left in place \(not stale/);
      expect(lockFiles(target.repository)).toEqual(held);

      // The holder dies without cleaning up: the same lock is now stale.
      const exited = new Promise((resolve) => holder!.once('exit', resolve));
      holder.kill('SIGKILL');
      await exited;
      expect(lockFiles(target.repository)).toEqual(held);
      const again = await runError(service);
      expect(again.details!.lock).toMatchObject({ pid: holder.pid, stale: true, staleReason: expect.stringMatching(/is gone/) });
      expect(again.message).toMatch(/stale \(process \d+ on this host .* is gone\)/);
      expect(lockFiles(target.repository)).toEqual(held);

      const removed = await service.unlock('same-city');
      expect(removed.removed.map((l) => l.id)).toEqual(held);
      expect(removed.left).toEqual([]);
      expect(removed.message).toMatch(/^removed 1 stale lock\(s\)/);
      expect(lockFiles(target.repository)).toEqual([]);
      const unlockAudit = (await listAudit(suite.database, { action: 'backup.unlock' })).map((a) => a.detail);
      expect(unlockAudit).toHaveLength(2);

      const [last] = await service.run();
      expect(last).toMatchObject({ ok: true, status: 'success' });
    } finally {
      await suite.close();
    }
  });
});
