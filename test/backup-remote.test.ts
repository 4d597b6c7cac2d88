// A remote (sftp) target on a real sshd started by the test: a backup while
// the server is down fails cleanly (recorded with restic's exit code and
// message) and succeeds on retry once it is back; a drill over sftp passes.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedPassphrase } from '../ca/index.js';
import { BackupService } from '../backup/index.js';
import { startSshd, type SshServer } from './support/sshd.js';
import { CA_PASSPHRASE, makeSuite, removeTempDirs, tempDir, type TestSuite } from './support/restic.js';

const PASSWORD_ENV = 'EGOV_TEST_REMOTE_RESTIC_PASSWORD';

describe('remote target over sftp', () => {
  let sshd: SshServer;
  let suite: TestSuite;
  let service: BackupService;

  beforeAll(async () => {
    process.env[PASSWORD_ENV] = 'remote-repository-password-for-tests';
    sshd = await startSshd();
    const remoteDir = tempDir('egov-remote-repo-');
    suite = await makeSuite({
      backup: {
        targets: {
          'dr-centre': {
            kind: 'remote',
            repository: `sftp:${sshd.user}@127.0.0.1:${path.join(remoteDir, 'repo')}`,
            passwordEnv: PASSWORD_ENV,
            schedule: '0 */4 * * *',
            retention: { keepLast: 5, keepDaily: 7 },
            sftp: { port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, connectTimeoutSeconds: 5 },
          },
        },
      },
    });
    service = new BackupService({ config: suite.config, database: suite.database, caPassphrase: fixedPassphrase(CA_PASSPHRASE) });
  });
  afterAll(async () => {
    await suite?.close();
    await sshd?.dispose();
    removeTempDirs();
    delete process.env[PASSWORD_ENV];
  });

  it('fails cleanly while sshd is down, then succeeds on retry', async () => {
    await sshd.stop();
    const error = await service.run().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'unavailable', details: { problem: 'unreachable', target: 'dr-centre' } });
    expect((error as Error).message).toMatch(/target "dr-centre" failed: the target is unreachable \(restic exit 1:/);
    const failed = await suite.database.db.selectFrom('backup_run').selectAll().orderBy('id', 'desc').executeTakeFirst();
    expect(failed).toMatchObject({ kind: 'backup', status: 'failure', restic_exit_code: 1, snapshot_id: null });
    expect(failed!.message).toMatch(/unreachable/);

    await sshd.start();
    const [run] = await service.run();
    expect(run).toMatchObject({ ok: true, status: 'success', target: 'dr-centre', repositoryCreated: true });
    const audit = await suite.database.db.selectFrom('audit_log').select(['action', 'outcome']).where('action', '=', 'backup.run').orderBy('id').execute();
    expect(audit.map((a) => a.outcome)).toEqual(['failure', 'success']);
  });

  it('drills the remote snapshot, and status credits the remote target', async () => {
    const drill = await service.drill({ target: 'dr-centre' });
    expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
    expect(drill.checks.find((c) => c.name === 'ca-keys')!.ok).toBe(true);
    const status = await service.status();
    expect(status.targets[0]).toMatchObject({ target: 'dr-centre', kind: 'remote', offsite: true, rpoMet: true });
    // Off-site, fresh, drilled: level 1; level 2 needs a declared standby site.
    expect(status.drLevel.level).toBe(1);
    expect(status.drLevel.nextLevel!.missing.join('\n')).toMatch(/standbySite/);
  });
});
