// `egov-ops backup …` as registered on a program with the suite's global
// options (cli/main.ts adds it the same way): run, drill --json, status --json.

import { afterAll, describe, expect, it } from 'vitest';
import { CA_PASSPHRASE, makeSuite, removeTempDirs, runBackupCli as egov } from './support/restic.js';

afterAll(removeTempDirs);


describe('egov-ops backup', () => {
  it('run, drill --json and status --json on the default plan', async () => {
    const suite = await makeSuite();
    await suite.close();
    const dataDir = suite.config.dataDir;
    process.env.EGOV_OPS_CA_PASSPHRASE = CA_PASSPHRASE;
    try {
      const run = JSON.parse((await egov(['--data-dir', dataDir, '--json', 'backup', 'run'])).stdout);
      expect(run[0]).toMatchObject({ plan: 'default', target: 'same-city', status: 'success' });
      const drill = await egov(['--data-dir', dataDir, '--json', 'backup', 'drill']);
      const result = JSON.parse(drill.stdout);
      expect(result).toMatchObject({ ok: true, target: 'same-city', snapshot: run[0].snapshotId });
      expect(typeof result.rtoSeconds).toBe('number');
      expect(typeof result.rpoSeconds).toBe('number');
      expect(result.checks.every((c: { name: string; ok: boolean; detail: string }) => c.ok && c.name && c.detail)).toBe(true);
      expect(drill.exitCode).toBeUndefined();
      const status = JSON.parse((await egov(['--data-dir', dataDir, '--json', 'backup', 'status'])).stdout);
      expect(status.targets[0].lastDrill.ok).toBe(true);
      expect(status.drLevel).toHaveProperty('level');
      const human = (await egov(['--data-dir', dataDir, 'backup', 'status'])).stdout;
      expect(human).toMatch(/disaster-recovery capability level: 0/);
      expect(human).toMatch(/level 1 \(basic support \(基本支持\)\) not reached/);
    } finally {
      delete process.env.EGOV_OPS_CA_PASSPHRASE;
    }
  });
});
