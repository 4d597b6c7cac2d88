// The metrics store when it is InfluxDB (`metrics.influx`), against a real
// influxd and restic: `backup run` saves the metrics database with `influxd
// backup -portable` over influxd's RPC bind address and records the points
// per measurement; a drill checks the portable backup against its own
// manifest, restores it into the live influxd as a scratch database, counts
// the points there and drops it. A closed RPC port fails the run before
// restic runs; a bad backupAddress is a config error naming the key.

import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedPassphrase } from '../ca/index.js';
import { BackupService, type Manifest, type RunResult } from '../backup/index.js';
import { checkPortableManifest } from '../backup/influx.js';
import { listAudit, loadConfig, openDatabase, type Config } from '../core/index.js';
import { openMetricStore, type MetricPoint } from '../monitor/index.js';
import { useInfluxd } from './support/influxd-suite.js';
import { CA_PASSPHRASE, makeSuite, removeTempDirs, runBackupCli as egov, tempDir, type TestSuite } from './support/restic.js';

afterAll(removeTempDirs);

const { influxd } = useInfluxd();

const DATABASE = 'egov_metrics';
// Sent to influxd only as HTTP Basic auth (the test server has auth off, so it is not checked).
const INFLUX_PASSWORD = 'metrics-http-secret-5f1c';

async function influxQuery(q: string, db?: string): Promise<{ results: Array<{ series?: Array<{ name: string; columns: string[]; values: unknown[][] }>; error?: string }> }> {
  const response = await fetch(`${influxd.url}/query?${new URLSearchParams({ q, ...(db ? { db } : {}) })}`, { method: 'POST' });
  return (await response.json()) as never;
}

const databases = async (): Promise<string[]> => ((await influxQuery('SHOW DATABASES')).results[0]?.series?.[0]?.values ?? []).map((row) => String(row[0]));

/** The RPC bind address influxd reports about itself (useInfluxd gives only the HTTP URL). */
async function rpcBindAddress(): Promise<string> {
  const config = (await influxQuery('SHOW DIAGNOSTICS')).results[0]!.series!.find((s) => s.name === 'config')!;
  return String(config.values[0]![config.columns.indexOf('bind-address')]);
}

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Two nodes' reachability every minute for 10 minutes (20 points), and one interface for 5 (5 points), in the last hour. */
function samples(): MetricPoint[] {
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000;
  const points: MetricPoint[] = [];
  for (let i = 0; i < 10; i++) {
    for (const node of ['core-1', 'town-a1']) points.push({ measurement: 'system', tags: { node }, fields: { reachable: 1, rttMs: 2 + i }, time: t0 + i * 60_000 });
    if (i < 5) points.push({ measurement: 'interface', tags: { node: 'core-1', ifIndex: '1', ifName: 'Gi0/0/1' }, fields: { inBitsPerSec: 1e6 * i, operStatus: 1 }, time: t0 + i * 60_000 });
  }
  return points;
}

const influxConfig = (extra: Record<string, unknown> = {}) => ({ url: influxd.url, database: DATABASE, username: 'egov', password: INFLUX_PASSWORD, ...extra });
const configWith = (dataDir: string, influx: Record<string, unknown>): Config => loadConfig({ env: {}, flags: { dataDir, metrics: { influx } } });

describe('metrics in InfluxDB: backup run and drill', () => {
  let suite: TestSuite;
  let rpcAddress: string;
  let run: RunResult;

  beforeAll(async () => {
    rpcAddress = await rpcBindAddress();
    suite = await makeSuite();
    // The monitor's own store makes the database (and its retention policy) and writes the points.
    const store = await openMetricStore(suite.database, { influx: influxConfig() });
    expect(await store.write(samples())).toEqual({ written: 25, expired: 0 });
    await store.close();
    await suite.close();
    // The CLI reads DATA_DIR/config.yaml, as an operator's suite would.
    writeFileSync(path.join(suite.config.dataDir, 'config.yaml'), `metrics:\n  influx: { url: "${influxd.url}", database: ${DATABASE}, username: egov, password: ${INFLUX_PASSWORD}, backupAddress: "${rpcAddress}" }\n`);
    process.env.EGOV_OPS_CA_PASSPHRASE = CA_PASSPHRASE;
  });
  afterAll(() => {
    delete process.env.EGOV_OPS_CA_PASSPHRASE;
  });

  it('backup run saves the metrics database as a portable influxd backup and records its points', async () => {
    const ran = await egov(['--data-dir', suite.config.dataDir, '--json', 'backup', 'run']);
    expect(ran.exitCode).toBeUndefined();
    [run] = JSON.parse(ran.stdout) as [RunResult];
    expect(run).toMatchObject({ plan: 'default', target: 'same-city', status: 'success' });

    const database = await openDatabase({ dataDir: suite.config.dataDir });
    try {
      const rows = await database.db.selectFrom('backup_run').selectAll().execute();
      const manifest = JSON.parse(rows.find((r) => r.snapshot_id === run.snapshotId)!.manifest!) as Manifest;
      expect(manifest.metrics).toEqual({ kind: 'influxdb', database: DATABASE, dir: 'metrics/influxdb', address: rpcAddress, points: { system: 20, interface: 5 } });
      // influxd's own manifest, its meta file and one shard archive per shard, all hashed into ours.
      const saved = Object.keys(manifest.files).filter((f) => f.startsWith('metrics/influxdb/'));
      const portableName = saved.find((f) => f.endsWith('.manifest'))!;
      expect(portableName).toBeDefined();
      const portable = JSON.parse(readFileSync(path.join(manifest.stagingDir, portableName), 'utf8')) as { meta: { fileName: string }; files: Array<{ database: string; fileName: string }> };
      expect(portable.files.length).toBeGreaterThan(0);
      expect(portable.files.every((f) => f.database === DATABASE)).toBe(true);
      expect(saved.sort()).toEqual([portableName, `metrics/influxdb/${portable.meta.fileName}`, ...portable.files.map((f) => `metrics/influxdb/${f.fileName}`)].sort());

      // The snapshot holds them.
      const service = new BackupService({ config: loadConfig({ env: {}, flags: { dataDir: suite.config.dataDir } }), database });
      const inSnapshot = (await service.repository(service.settings.targets.get('same-city')!).listFiles(run.snapshotId!)).map((f) => f.path);
      for (const file of saved) expect(inSnapshot).toContain(path.join(manifest.stagingDir, file));

      // The HTTP password is in no record, no audit entry and not in the effective config saved.
      const audit = await listAudit(database, { action: 'backup.run' });
      expect(JSON.stringify(rows) + JSON.stringify(audit)).not.toContain(INFLUX_PASSWORD);
      expect(readFileSync(path.join(manifest.stagingDir, 'config', 'effective-config.json'), 'utf8')).not.toContain(INFLUX_PASSWORD);
    } finally {
      await database.close();
    }
  }, 120_000);

  it('a drill restores the metrics into a scratch database, counts them and drops it', async () => {
    const drilled = await egov(['--data-dir', suite.config.dataDir, '--json', 'backup', 'drill']);
    const drill = JSON.parse(drilled.stdout) as { ok: boolean; snapshot: string; checks: Array<{ name: string; ok: boolean; detail: string; skipped?: boolean }> };
    expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
    expect(drilled.exitCode).toBeUndefined();
    expect(drill.snapshot).toBe(run.snapshotId);
    expect(drill.checks.map((c) => c.name)).toEqual(['snapshot', 'restic-check', 'restore', 'file-list', 'file-hashes', 'database-integrity', 'audit-chain', 'ca-keys', 'metrics-influxdb']);
    const metrics = drill.checks.find((c) => c.name === 'metrics-influxdb')!;
    expect(metrics).toMatchObject({ ok: true });
    expect(metrics.skipped).toBeUndefined();
    expect(metrics.detail).toMatch(/the \d+ files the portable backup's manifest lists are restored with the sizes it lists/);
    expect(metrics.detail).toMatch(new RegExp(`influxd restore loaded it into scratch database ${DATABASE}_drill_[0-9a-f]{8} on ${rpcAddress.replace(/\./g, '\\.')}: 2 measurements, 25 points`));
    expect(metrics.detail).toMatch(/scratch database \S+ dropped/);
    // The scratch database is gone; the live one is as it was.
    expect(await databases()).toEqual(expect.arrayContaining([DATABASE]));
    expect((await databases()).filter((d) => d.includes('_drill_'))).toEqual([]);
    expect(JSON.stringify(await influxQuery('SELECT count(reachable) FROM system', DATABASE))).toContain('20');
  }, 120_000);

  it("the portable-manifest check catches a shard archive cut short and a meta file that is not influxd's", async () => {
    const database = await openDatabase({ dataDir: suite.config.dataDir });
    let manifest: Manifest;
    try {
      manifest = JSON.parse((await database.db.selectFrom('backup_run').select('manifest').where('snapshot_id', '=', run.snapshotId).executeTakeFirstOrThrow()).manifest!) as Manifest;
    } finally {
      await database.close();
    }
    const copy = path.join(tempDir(), 'influxdb');
    cpSync(path.join(manifest.stagingDir, 'metrics/influxdb'), copy, { recursive: true });
    expect(await checkPortableManifest(copy)).toMatchObject({ ok: true });
    const shard = readdirSync(copy).find((f) => f.endsWith('.tar.gz'))!;
    truncateSync(path.join(copy, shard), statSync(path.join(copy, shard)).size - 8);
    const meta = readdirSync(copy).find((f) => f.endsWith('.meta'))!;
    writeFileSync(path.join(copy, meta), 'not a meta file');
    const check = await checkPortableManifest(copy);
    expect(check.ok).toBe(false);
    expect(check.detail).toContain(`${shard} does not unpack`);
    expect(check.detail).toContain(`${meta} is not a portable meta file`);
  });

  it('a wrong backupAddress (a closed port) fails the run naming influxd backup and the address; no snapshot is made', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const database = await openDatabase({ dataDir: suite.config.dataDir });
    try {
      const service = new BackupService({ config: configWith(suite.config.dataDir, influxConfig({ backupAddress: address })), database });
      const before = (await service.snapshots('same-city')).length;
      const error = await service.run().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((error as Error).message).toContain(`influxd backup of metrics database "${DATABASE}" from ${address}`);
      expect((error as Error).message).toMatch(/cannot be reached: connect ECONNREFUSED/);
      expect((await service.snapshots('same-city')).length).toBe(before);
      const last = (await database.db.selectFrom('backup_run').selectAll().orderBy('id', 'desc').executeTakeFirst())!;
      expect(last).toMatchObject({ kind: 'backup', status: 'failure', snapshot_id: null });
      expect(last.message).toContain(address);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('a missing influxd binary fails the run, naming it', async () => {
    const database = await openDatabase({ dataDir: suite.config.dataDir });
    try {
      const service = new BackupService({ config: configWith(suite.config.dataDir, influxConfig({ backupAddress: rpcAddress })), database, influxdBinary: '/nonexistent/bin/influxd' });
      const before = (await service.snapshots('same-city')).length;
      await expect(service.run()).rejects.toMatchObject({ code: 'unavailable', message: 'influxd not found at /nonexistent/bin/influxd' });
      expect((await service.snapshots('same-city')).length).toBe(before);
    } finally {
      await database.close();
    }
  }, 60_000);
});

describe('metrics in InfluxDB: configuration and older backups', () => {
  it('an invalid backupAddress is a config error naming the key', async () => {
    const dataDir = tempDir();
    expect(() => configWith(dataDir, influxConfig({ backupAddress: 'influx.city.gov.cn' }))).toThrow(/config key "metrics\.influx\.backupAddress" \(from flags\)/);
    expect(() => configWith(dataDir, influxConfig({ backupAddress: 'http://influx:8088' }))).toThrow(expect.objectContaining({ code: 'bad-config', details: { key: 'metrics.influx.backupAddress' } }));
    // The shape fits the schema, the port does not: refused when the backup service starts.
    const suite = await makeSuite({ dataDir, withCa: false });
    try {
      expect(() => new BackupService({ config: configWith(dataDir, influxConfig({ backupAddress: '127.0.0.1:70000' })), database: suite.database })).toThrow(
        expect.objectContaining({ code: 'bad-config', message: expect.stringMatching(/metrics\.influx\.backupAddress.*port 1-65535, got "127\.0\.0\.1:70000"/) }),
      );
    } finally {
      await suite.close();
    }
  });

  it('a drill of a backup made before metrics.influx was set skips the metrics check with the reason', async () => {
    const suite = await makeSuite({ withCa: false });
    try {
      await new BackupService({ config: suite.config, database: suite.database }).run();
      const service = new BackupService({ config: configWith(suite.config.dataDir, influxConfig({ backupAddress: await rpcBindAddress() })), database: suite.database, caPassphrase: fixedPassphrase(CA_PASSPHRASE) });
      const drill = await service.drill();
      expect(drill.ok, JSON.stringify(drill.checks, null, 2)).toBe(true);
      expect(drill.checks.find((c) => c.name === 'metrics-influxdb')).toEqual({ name: 'metrics-influxdb', ok: true, skipped: true, detail: 'this backup has no metrics directory: it was made while metrics.influx was not set' });
    } finally {
      await suite.close();
    }
  }, 120_000);
});
