// Bad input is refused with a clear error before anything is written:
// a missing path, an unreachable target, a wrong password, an invalid
// retention, a schedule that does not parse. Plus the schedule parser, the
// lock report and the DR level table on their own.

import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assessDrLevel, BackupService, classifyResticError, loadBackupSettings, parseLock, parseSchedule } from '../backup/index.js';
import { loadConfig } from '../core/index.js';
import { makeSuite, removeTempDirs, tempDir } from './support/restic.js';

afterAll(removeTempDirs);

const configWith = (backup: Record<string, unknown>) => loadConfig({ env: {}, flags: { dataDir: tempDir(), backup } });
const runRows = async (suite: { database: { db: any } }) => (await suite.database.db.selectFrom('backup_run').selectAll().execute()) as unknown[];

describe('plans that do not load', () => {
  it('an invalid retention is refused at load', () => {
    expect(() => configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x', retention: { keepDaily: -1 } } } })).toThrow(/backup\.targets\.nas\.retention\.keepDaily.*>= 0/);
    expect(() => configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x', retention: { keepWeekly: 'four' } } } })).toThrow(/keepWeekly/);
    const keepsNothing = configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x', retention: { keepDaily: 0 } } } });
    expect(() => loadBackupSettings(keepsNothing)).toThrow(/retention keeps nothing/);
  });

  it('a schedule that does not parse is refused at load, naming the field', () => {
    const bad = (schedule: string) => loadBackupSettings(configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x', schedule } } }));
    expect(() => bad('every night')).toThrow(/backup\.targets\.nas\.schedule.*expected five fields/);
    expect(() => bad('61 2 * * *')).toThrow(/minute field "61" has 61, outside 0-59/);
    expect(() => bad('0 2 30 2 *')).toThrow(/never runs/);
    expect(() => bad('@fortnightly')).toThrow(/unknown nickname/);
  });

  it('a remote target must be an sftp URL, a same-city target an absolute path, a password must be given', () => {
    expect(() => loadBackupSettings(configWith({ targets: { dr: { kind: 'remote', repository: '/srv/x', passwordFile: '/x' } } }))).toThrow(/sftp URL/);
    expect(() => loadBackupSettings(configWith({ targets: { nas: { kind: 'same-city', repository: 'relative/dir', passwordFile: '/x' } } }))).toThrow(/absolute path/);
    expect(() => loadBackupSettings(configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas' } } }))).toThrow(/password is needed/);
    expect(() => loadBackupSettings(configWith({ targets: { nas: { kind: 'same-city', repository: '/mnt/nas', passwordFile: '/x' } }, plans: { p: { targets: ['nope'] } } }))).toThrow(/names "nope", which is not a target/);
  });
});

describe('runs refused before anything is written', () => {
  it('a plan naming a missing path', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const config = { ...suite.config, backup: { plans: { files: { paths: ['/nonexistent/egov-ops/data'] } } } };
      const service = new BackupService({ config, database: suite.database });
      await expect(service.run()).rejects.toMatchObject({ code: 'bad-request', message: expect.stringContaining('/nonexistent/egov-ops/data does not exist') });
      expect(await runRows(suite)).toEqual([]);
      expect(existsSync(service.settings.targets.get('same-city')!.repository)).toBe(false);
    } finally {
      await suite.close();
    }
  });

  it('an unreachable same-city target (the NAS is not mounted)', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const passwordFile = path.join(tempDir(), 'pw');
      writeFileSync(passwordFile, 'nas-password\n', { mode: 0o600 });
      const config = { ...suite.config, backup: { targets: { nas: { kind: 'same-city' as const, repository: '/mnt/egov-ops-not-mounted/restic', passwordFile } } } };
      const service = new BackupService({ config, database: suite.database });
      await expect(service.run()).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('is the NAS mounted') });
      expect(existsSync('/mnt/egov-ops-not-mounted')).toBe(false);
      expect(existsSync(path.join(suite.config.dataDir, 'backups', 'staging'))).toBe(false);
      // Recorded as a failed run, with restic's exit code, for the monitor.
      const rows = (await runRows(suite)) as Array<{ status: string; restic_exit_code: number }>;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'failure', restic_exit_code: 1 });
    } finally {
      await suite.close();
    }
  });

  it('a wrong repository password', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      const dir = tempDir();
      const passwordFile = path.join(dir, 'pw');
      writeFileSync(passwordFile, 'the-right-password\n', { mode: 0o600 });
      const target = { kind: 'same-city' as const, repository: path.join(dir, 'repo'), passwordFile };
      const good = new BackupService({ config: { ...suite.config, backup: { targets: { nas: target } } }, database: suite.database });
      expect((await good.run())[0]!.ok).toBe(true);
      const snapshotsBefore = (await good.snapshots('nas')).length;
      writeFileSync(passwordFile, 'a-wrong-password\n');
      const error = await good.run().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'wrong-passphrase', details: { problem: 'wrong-password', resticExitCode: 1 } });
      expect((error as Error).message).toMatch(/the repository password is wrong \(restic exit 1: Fatal: wrong password or no key found\)/);
      writeFileSync(passwordFile, 'the-right-password\n');
      expect((await good.snapshots('nas')).length).toBe(snapshotsBefore);
      const last = (await suite.database.db.selectFrom('backup_run').selectAll().orderBy('id', 'desc').executeTakeFirst())!;
      expect(last).toMatchObject({ status: 'failure', restic_exit_code: 1 });
      expect(last.message).toContain('wrong password');
      // An operator's unlock on a healthy repository is recorded too.
      expect((await good.unlock('nas')).target).toBe('nas');
    } finally {
      await suite.close();
    }
  });
});

describe('schedules, locks and DR levels', () => {
  it('parses cron-like schedules and finds the next run', () => {
    const at = new Date(2025, 0, 1, 10, 7);
    expect(parseSchedule('30 1 * * *').next(at)).toEqual(new Date(2025, 0, 2, 1, 30));
    expect(parseSchedule('*/15 * * * *').next(at)).toEqual(new Date(2025, 0, 1, 10, 15));
    expect(parseSchedule('0 9 * * mon-fri').next(new Date(2025, 0, 3, 10, 0))).toEqual(new Date(2025, 0, 6, 9, 0));
    expect(parseSchedule('@weekly').runsPerDay).toBeCloseTo(1 / 7, 2);
    expect(parseSchedule('0 */4 * * *').runsPerDay).toBe(6);
  });

  it('reports a lock held by a process that is gone as stale, and leaves it', () => {
    const stderr = `Fatal: unable to create lock in backend: repository is already locked by PID 999999 on ${os.hostname()} by root (UID 0, GID 0)\nlock was created at 2025-01-01 10:00:00 (1m0s ago)\nstorage ID 1a2b3c4d\nthe \`unlock\` command can be used to remove stale locks`;
    expect(classifyResticError(stderr)).toBe('locked');
    expect(parseLock(stderr, new Date(2025, 0, 1, 10, 1))).toMatchObject({ pid: 999999, stale: true, staleReason: expect.stringContaining('is gone') });
  });

  it('assesses the DR level from evidence and declarations', () => {
    const site = { standbySite: true, standbyEquipment: 'partial' as const, staffed24x7: false, automaticSwitchover: false, realTimeReplication: false, synchronousReplication: false };
    const remote = { target: 'dr', kind: 'remote' as const, offsite: true, backupAgeHours: 2, runsPerDay: 6, drillAgeDays: 3, rtoHours: 0.1, rpoHours: 2 };
    expect(assessDrLevel([remote], site)).toMatchObject({ level: 3, nextLevel: { level: 4 } });
    expect(assessDrLevel([{ ...remote, runsPerDay: 1, backupAgeHours: 20 }], site)).toMatchObject({ level: 2 });
    expect(assessDrLevel([], site)).toMatchObject({ level: 0 });
  });
});
