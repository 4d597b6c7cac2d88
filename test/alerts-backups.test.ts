// The backup rules with the real restic on a local (same-city) repository,
// the records on both engines: a failed backup run (a wrong repository
// password) and a failed restore drill (a corrupted pack file) each raise
// backup-failed for their plan and target, and clear when a later run or
// drill passes; the RPO objective missed (the newest successful backup of a
// target older than its objective, read from the backup room's status by
// the absence timer) raises it for the target and a new backup clears it.

import { closeSync, openSync, readSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackupService } from '../backup/index.js';
import { loadConfig, type Config, type Database } from '../core/index.js';
import { AlertService, parseRuleSet } from '../monitor/alerts/index.js';
import type { Monitor } from '../monitor/index.js';
import { useEngines } from './support/engines.js';
import { captureServer, monitorWithNodes, secrets, type CaptureServer } from './support/alerts.js';
import { largestPack, removeTempDirs, tempDir } from './support/restic.js';

afterAll(removeTempDirs);
const { engines, keep } = useEngines('alertbackup');
const by = { actor: 'CN=Operator One', source: '127.0.0.1' };

describe.each(engines)('backup alerts on $name', (engine) => {
  let hook: CaptureServer;
  let database: Database;
  let monitor: Monitor;
  let config: Config;
  let passwordFile: string;
  let repository: string;
  /** The clock of the alerts and of the backup room's status: moved forward to make backups old. */
  let offsetMs = 0;
  const now = () => Date.now() + offsetMs;
  const services: AlertService[] = [];

  beforeEach(async () => {
    offsetMs = 0;
    hook = await captureServer();
    ({ database, monitor } = await monitorWithNodes(await engine.location(), keep));
    const dir = tempDir();
    const data = path.join(dir, 'data');
    passwordFile = path.join(dir, 'nas.password');
    repository = path.join(dir, 'nas-repo');
    writeFileSync(passwordFile, 'nas-right-password\n', { mode: 0o600 });
    writeFileSync(path.join(dir, 'registry.csv'), 'id,name\n1,County B permit office\n'.repeat(50));
    config = loadConfig({
      env: {},
      flags: {
        dataDir: data,
        backup: {
          targets: { nas: { kind: 'same-city', repository, passwordFile, objectives: { rpoHours: 1, rtoHours: 4 } } },
          plans: { records: { stores: false, paths: [path.join(dir, 'registry.csv')], targets: ['nas'] } },
        },
      },
    });
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await hook.close();
  });

  const setUp = async () => {
    const backups = new BackupService({ config, database, actor: { actor: 'test', source: 'test' }, now: () => new Date(now()) });
    const alerts = new AlertService({ database, monitor, secrets, now, rules: parseRuleSet({ routes: [{ receivers: ['noc'], groupWait: 0 }] }), backups });
    services.push(alerts);
    await alerts.putReceiver({ name: 'noc', type: 'webhook', url: `${hook.url}/hook` }, by);
    return { backups, alerts };
  };
  const live = async (alerts: AlertService) => (await alerts.liveOf('backup-failed')).map((a) => `${a.fingerprint}:${a.state}`).sort();
  const evaluate = async (alerts: AlertService) => {
    await alerts.evaluate();
    await alerts.notifier.drain();
  };
  const told = () => hook.requests.map((r) => `${r.body.status}:${r.body.alerts.map((a: any) => a.annotations.summary).join(' | ')}`);

  it('a failed backup run raises backup-failed for its plan and target; the next good run clears it', async () => {
    const { backups, alerts } = await setUp();
    expect((await backups.run())[0]).toMatchObject({ ok: true, status: 'success' });
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);

    writeFileSync(passwordFile, 'a-wrong-password\n');
    await expect(backups.run()).rejects.toMatchObject({ code: 'wrong-passphrase' });
    await evaluate(alerts);
    expect(await live(alerts)).toEqual(['backup-failed|backup:records@nas:firing']);
    const [failed] = await alerts.liveOf('backup-failed');
    expect(failed).toMatchObject({ severity: 'major', labels: { target: 'nas' } });
    expect(failed!.summary).toMatch(/backup records -> nas: last run failure at /);
    // Evaluated again: still one alert, told once.
    await evaluate(alerts);
    expect(told()).toHaveLength(1);

    writeFileSync(passwordFile, 'nas-right-password\n');
    expect((await backups.run())[0]!.ok).toBe(true);
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);
    expect(told().map((t) => t.split(':')[0])).toEqual(['firing', 'resolved']);
  });

  it('a failed restore drill raises backup-failed for the drill; a passing drill clears it', async () => {
    const { backups, alerts } = await setUp();
    expect((await backups.run())[0]!.ok).toBe(true);
    expect((await backups.drill()).ok).toBe(true);
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);

    // Corrupt a pack file (kept to put back): restic check --read-data fails the drill.
    const pack = largestPack(repository);
    const original = Buffer.alloc(64);
    let fd = openSync(pack, 'r+');
    readSync(fd, original, 0, 64, 200);
    writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, 200);
    closeSync(fd);
    const drill = await backups.drill();
    expect(drill.ok).toBe(false);
    await evaluate(alerts);
    expect(await live(alerts)).toEqual(['backup-failed|drill:records@nas:firing']);
    expect((await alerts.liveOf('backup-failed'))[0]!.summary).toMatch(/restore drill records from nas: FAILED at /);

    fd = openSync(pack, 'r+');
    writeSync(fd, original, 0, 64, 200);
    closeSync(fd);
    expect((await backups.drill()).ok).toBe(true);
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);
    expect(told().map((t) => t.split(':')[0])).toEqual(['firing', 'resolved']);
  });

  it('the RPO objective missed: the newest successful backup older than the objective raises it; a new backup clears it', async () => {
    const { backups, alerts } = await setUp();
    await evaluate(alerts);
    // Never backed up: no RPO alert (the failed runs speak for a target that never succeeded).
    expect(await live(alerts)).toEqual([]);
    expect((await backups.run())[0]!.ok).toBe(true);
    offsetMs = 30 * 60_000;
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);

    // Two hours later, nothing new: the objective (1 h) is missed.
    offsetMs = 2 * 3600_000;
    await evaluate(alerts);
    expect(await live(alerts)).toEqual(['backup-failed|rpo:nas:firing']);
    const [rpo] = await alerts.liveOf('backup-failed');
    expect(rpo!.summary).toMatch(/target nas: newest successful backup .* is 2(\.\d+)? h old \(RPO objective 1 h\): RPO missed/);
    expect(rpo!.value).toBeGreaterThanOrEqual(2);
    // A failed run does not reset the clock.
    writeFileSync(passwordFile, 'a-wrong-password\n');
    await expect(backups.run()).rejects.toMatchObject({ code: 'wrong-passphrase' });
    writeFileSync(passwordFile, 'nas-right-password\n');
    await evaluate(alerts);
    expect(await live(alerts)).toEqual(['backup-failed|backup:records@nas:firing', 'backup-failed|rpo:nas:firing']);

    expect((await backups.run())[0]!.ok).toBe(true);
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);
    expect(told().filter((t) => t.includes('RPO')).map((t) => t.split(':')[0])).toEqual(['firing', 'resolved']);
  });

  it('a target taken out of the configuration has its RPO alert cleared', async () => {
    const { backups, alerts } = await setUp();
    expect((await backups.run())[0]!.ok).toBe(true);
    offsetMs = 2 * 3600_000;
    await evaluate(alerts);
    expect(await live(alerts)).toEqual(['backup-failed|rpo:nas:firing']);
    // The NAS retired: the configuration names another target only.
    const otherPassword = path.join(path.dirname(passwordFile), 'other.password');
    writeFileSync(otherPassword, 'other-password\n', { mode: 0o600 });
    const retired = loadConfig({ env: {}, flags: { dataDir: config.dataDir, backup: { targets: { offsite: { kind: 'same-city', repository: path.join(path.dirname(repository), 'offsite-repo'), passwordFile: otherPassword } } } } });
    alerts.useSources({ backups: new BackupService({ config: retired, database, now: () => new Date(now()) }) });
    await evaluate(alerts);
    expect(await live(alerts)).toEqual([]);
    expect((await alerts.list({ state: 'resolved' }))[0]!.rule).toBe('backup-failed');
  });
});
