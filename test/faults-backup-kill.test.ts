// A backup killed mid-run: `egov-ops backup run` and its restic are killed
// with SIGKILL while restic holds its lock on the same-city repository. The
// next run succeeds, and reports the stale lock the killed restic left (in
// its result, its message and its audit record) without removing it; the
// lock is still there for an operator's `backup unlock`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupService } from '../backup/index.js';
import { listAudit } from '../core/index.js';
import { makeSuite, removeTempDirs } from './support/restic.js';

afterAll(removeTempDirs);
const cli = path.resolve('dist/egov-ops/main.js');
// Lock files proper: restic writes a lock to NAME-tmp-N first and renames it; a kill in between leaves only that temp file, which is no lock.
const lockFiles = (repository: string) => (existsSync(path.join(repository, 'locks')) ? readdirSync(path.join(repository, 'locks')).filter((f) => /^[0-9a-f]{64}$/.test(f)) : []);

describe('a backup killed mid-run', () => {
  it('is followed by a run that succeeds and reports the stale restic lock, leaving it', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
      const [first] = await service.run();
      expect(first!.ok).toBe(true);
      const target = service.settings.targets.get('same-city')!;
      expect(lockFiles(target.repository)).toEqual([]);

      // The CLI in its own process group, so the kill takes restic with it (as a power cut would).
      const child = spawn(process.execPath, [cli, '--data-dir', suite.config.dataDir, 'backup', 'run'], { detached: true, stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 60_000;
      while (lockFiles(target.repository).length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      expect(lockFiles(target.repository), 'restic never held its lock before the run ended').toHaveLength(1);
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
      await new Promise((r) => setTimeout(r, 200));
      const left = lockFiles(target.repository);
      expect(left).toHaveLength(1);

      // The next run: succeeds, says so about the lock, leaves it.
      // Until the killed restic is reaped (it was orphaned with its parent) its PID still answers.
      let seen = await service.locks('same-city');
      for (let n = 0; n < 100 && !seen.some((l) => l.stale); n++) seen = (await new Promise((r) => setTimeout(r, 100)), await service.locks('same-city'));
      expect(seen.filter((l) => l.stale), JSON.stringify(seen)).toHaveLength(1);
      const [next] = await service.run();
      expect(next!.ok).toBe(true);
      expect(next!.staleLocks?.length).toBe(1);
      expect(next!.staleLocks![0]!.stale).toBe(true);
      expect(next!.staleLocks![0]!.staleReason).toMatch(/is gone/);
      expect(next!.message).toMatch(/1 stale restic lock\(s\) left in the repository, not removed/);
      expect(lockFiles(target.repository)).toEqual(left);
      const audit = await listAudit(suite.database, { limit: 5 });
      const record = audit.find((a) => a.action === 'backup.run');
      expect(JSON.stringify(record?.detail)).toMatch(/staleLocks/);
      // And `backup locks` says the same.
      expect((await service.locks('same-city')).filter((l) => l.stale)).toHaveLength(1);
    } finally {
      await suite.close();
    }
  }, 120_000);
});
