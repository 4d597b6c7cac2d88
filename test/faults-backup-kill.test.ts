// A backup killed mid-run: `egov-ops backup run` and its restic are killed
// with SIGKILL while restic holds its lock on the same-city repository, and
// again on a remote repository over sftp (a real sshd on loopback, restic's
// ssh killed with it). The next run succeeds, and reports the stale lock the
// killed restic left (in its result, its message and its audit record)
// without removing it; the lock is still there for an operator's
// `backup unlock`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BackupService } from '../backup/index.js';
import { listAudit } from '../core/index.js';
import { makeSuite, removeTempDirs, tempDir, type TestSuite } from './support/restic.js';
import { startSshd } from './support/sshd.js';

afterAll(removeTempDirs);
const cli = path.resolve('dist/egov-ops/main.js');
// Lock files proper: restic writes a lock to NAME-tmp-N first and renames it; a kill in between leaves only that temp file, which is no lock.
const lockFiles = (repository: string) => (existsSync(path.join(repository, 'locks')) ? readdirSync(path.join(repository, 'locks')).filter((f) => /^[0-9a-f]{64}$/.test(f)) : []);

/** Kills `egov-ops backup run` (and restic, and restic's ssh) once restic holds its lock on TARGET's repository at REPOSITORY_DIR; then checks the next run. */
async function killMidRunThenRunAgain(suite: TestSuite, targetName: string, repositoryDir: string): Promise<void> {
  const service = new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'test', source: 'test' } });
  const [first] = await service.run();
  expect(first!.ok, first!.message).toBe(true);
  expect(lockFiles(repositoryDir)).toEqual([]);

  // The CLI in its own process group, so the kill takes restic (and its ssh) with it, as a power cut would.
  const child = spawn(process.execPath, [cli, '--data-dir', suite.config.dataDir, 'backup', 'run'], { detached: true, stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 60_000;
  while (lockFiles(repositoryDir).length === 0 && child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(lockFiles(repositoryDir), 'restic never held its lock before the run ended').toHaveLength(1);
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
  await new Promise((r) => setTimeout(r, 200));
  const left = lockFiles(repositoryDir);
  expect(left).toHaveLength(1);

  // The next run: succeeds, says so about the lock, leaves it.
  // Until the killed restic is reaped (it was orphaned with its parent) its PID still answers.
  let seen = await service.locks(targetName);
  for (let n = 0; n < 100 && !seen.some((l) => l.stale); n++) seen = (await new Promise((r) => setTimeout(r, 100)), await service.locks(targetName));
  expect(seen.filter((l) => l.stale), JSON.stringify(seen)).toHaveLength(1);
  const [next] = await service.run();
  expect(next!.ok, next!.message).toBe(true);
  expect(next!.staleLocks?.length).toBe(1);
  expect(next!.staleLocks![0]!.stale).toBe(true);
  expect(next!.staleLocks![0]!.staleReason).toMatch(/is gone/);
  expect(next!.message).toMatch(/1 stale restic lock\(s\) left in the repository, not removed/);
  expect(lockFiles(repositoryDir)).toEqual(left);
  const audit = await listAudit(suite.database, { limit: 5 });
  const record = audit.find((a) => a.action === 'backup.run');
  expect(JSON.stringify(record?.detail)).toMatch(/staleLocks/);
  // And `backup locks` says the same.
  expect((await service.locks(targetName)).filter((l) => l.stale)).toHaveLength(1);
}

describe('a backup killed mid-run', () => {
  it('is followed by a run that succeeds and reports the stale restic lock, leaving it', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const target = new BackupService({ config: suite.config, database: suite.database }).settings.targets.get('same-city')!;
      await killMidRunThenRunAgain(suite, 'same-city', target.repository);
    } finally {
      await suite.close();
    }
  }, 120_000);

  it('on a remote repository over sftp: the same, the lock left on the remote side', async () => {
    const sshd = await startSshd();
    const dataDir = tempDir();
    const remoteDir = path.join(tempDir('egov-remote-repo-'), 'repo');
    const passwordFile = path.join(tempDir(), 'restic-password');
    writeFileSync(passwordFile, 'remote-repository-password-for-the-kill-test\n', { mode: 0o600 });
    // In the data dir's config file, so the killed CLI child reads the same target.
    const backup = {
      targets: {
        'dr-centre': {
          kind: 'remote',
          repository: `sftp:${sshd.user}@127.0.0.1:${remoteDir}`,
          passwordFile,
          sftp: { port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutSeconds: 5 },
        },
      },
    };
    writeFileSync(path.join(dataDir, 'config.yaml'), JSON.stringify({ backup }, null, 2));
    const suite = await makeSuite({ dataDir, withCa: false, backup });
    try {
      await killMidRunThenRunAgain(suite, 'dr-centre', remoteDir);
    } finally {
      await suite.close();
      await sshd.dispose();
    }
  }, 180_000);
});
