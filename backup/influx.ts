// The metrics store when it is InfluxDB 1.x (`metrics.influx`). A plan that
// saves the suite's stores also saves the metrics database with Debian's
// `influxd backup -portable`, which talks to influxd's RPC bind address
// (default port 8088), not to the HTTP API. The points of each measurement
// are counted over HTTP just before, and recorded in the backup manifest.
//
// A drill checks the restored portable backup against the manifest influxd
// wrote with it, restores it into the live InfluxDB as a scratch database
// (`influxd restore -portable -newdb`), counts the points there against the
// counts recorded at backup time, and always drops the scratch database.
//
// The RPC has no authentication in 1.x; the HTTP password goes only to the
// `influx` client (a Basic auth header), never into argv, messages or logs.

import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { InfluxDB as InfluxClient } from 'influx';
import { EgovError, redactUrlPassword as redact, type Config } from '../core/index.js';
import { isExecutable, runCapture } from './process.js';
import type { DrillCheck } from './service.js';

/** Where the portable backup goes, relative to the staging directory. */
export const INFLUX_BACKUP_DIR = 'metrics/influxdb';
/** influxd's default RPC bind address port (`bind-address = ":8088"`). */
export const DEFAULT_INFLUX_RPC_PORT = 8088;
const BACKUP_TIMEOUT_MS = 3600_000;
const PROBE_TIMEOUT_MS = 5_000;

/** What the backup manifest records about the metrics store. */
export interface MetricsManifest {
  kind: 'influxdb';
  database: string;
  /** The portable backup's directory, relative to the staging directory. */
  dir: string;
  /** The RPC bind address it was read from. */
  address: string;
  /**
   * Points per measurement, counted over HTTP just before the backup (the
   * count of the measurement's most-written field, summed over retention
   * policies). Points written after the count may be in the backup too, so
   * a restored copy has at least these.
   */
  points: Record<string, number>;
}

/** The configured InfluxDB, as backups and drills reach it. */
export interface InfluxSource {
  database: string;
  /** host:port of the RPC bind address. */
  address: string;
  /** The HTTP URL without a password, for messages. */
  url: string;
  options: NonNullable<NonNullable<Config['metrics']>['influx']>;
}

function parseAddress(address: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  return m ? { host: (m[1] ?? m[2])!, port: Number(m[3]) } : null;
}

/**
 * `metrics.influx` as a backup source, or undefined when metrics stay in the
 * embedded store. The address is `backupAddress`, else the URL's host with
 * port 8088; a bad one is a config error naming the key.
 */
export function influxBackupSource(config: Config): InfluxSource | undefined {
  const options = config.metrics?.influx;
  if (!options) return undefined;
  let address = options.backupAddress;
  if (address === undefined) {
    let host: string;
    try {
      host = new URL(options.url).hostname;
    } catch {
      throw new EgovError('bad-config', `config key "metrics.influx.url" is not a URL (got ${JSON.stringify(redact(options.url))}); set it, or metrics.influx.backupAddress`, { key: 'metrics.influx.url' });
    }
    address = `${host}:${DEFAULT_INFLUX_RPC_PORT}`;
  }
  const parsed = parseAddress(address);
  if (!parsed || parsed.port < 1 || parsed.port > 65535) {
    throw new EgovError('bad-config', `config key "metrics.influx.backupAddress": expected host:port of influxd's RPC bind address with a port 1-65535, got ${JSON.stringify(address)}`, { key: 'metrics.influx.backupAddress' });
  }
  return { database: options.database, address, url: redact(options.url), options };
}

/** The influxd binary: the one given, else influxd on PATH, else /usr/bin/influxd (Debian's influxdb package). */
export function findInfluxd(given?: string): string {
  if (given) {
    if (isExecutable(given)) return given;
    throw new EgovError('unavailable', `influxd not found at ${given}`);
  }
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) if (isExecutable(path.join(dir, 'influxd'))) return path.join(dir, 'influxd');
  throw new EgovError('unavailable', `influxd not found on PATH or in /usr/bin: the metrics in InfluxDB are saved with \`influxd backup\` (install the Debian package influxdb)`);
}

/**
 * A TCP connect to the RPC address first: influxd backup retries a refused
 * connection for minutes before giving up, a probe says so at once.
 */
function probeRpc(address: string, what: string): Promise<void> {
  const { host, port } = parseAddress(address)!;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const fail = (reason: string) => {
      socket.destroy();
      reject(new EgovError('unavailable', `${what}: influxd's RPC bind address ${address} (metrics.influx.backupAddress) cannot be reached: ${reason}`, { address }));
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () => fail(`no answer within ${PROBE_TIMEOUT_MS / 1000} s`));
    socket.once('error', (error) => fail(error.message));
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

// The `influx` package is loaded only when InfluxDB is configured.
const require = createRequire(import.meta.url);
type InfluxModule = typeof import('influx');
let influxModule: InfluxModule | undefined;
const loadInflux = (): InfluxModule => (influxModule ??= require('influx') as InfluxModule);

/** An HTTP client for the configured InfluxDB (credentials in a Basic auth header, as the monitor sends them). */
function influxClient(source: InfluxSource): InfluxClient {
  const url = new URL(source.options.url);
  const { InfluxDB } = loadInflux();
  return new InfluxDB({
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 8086,
    protocol: url.protocol === 'https:' ? 'https' : 'http',
    ...(url.pathname && url.pathname !== '/' ? { path: url.pathname.replace(/\/$/, '') } : {}),
    ...(source.options.username ? { username: source.options.username, password: source.options.password ?? '' } : {}),
    // Counting every point of a large database takes a while.
    pool: { maxRetries: 1, requestTimeout: 600_000 },
  });
}

interface RawResponse {
  results: Array<{ series?: Array<{ name: string; columns: string[]; values: Array<Array<number | string | null>> }>; error?: string }>;
}

/** Points per measurement in a database: the count of its most-written field, summed over retention policies. */
async function countPoints(client: InfluxClient, database: string): Promise<Record<string, number>> {
  const { escape } = loadInflux();
  const points: Record<string, number> = {};
  const policies = await client.showRetentionPolicies(database);
  for (const policy of policies) {
    const response = (await client.queryRaw(`SELECT count(*) FROM ${escape.quoted(policy.name)}./.*/`, { database })) as RawResponse;
    const [result] = response.results;
    if (result?.error) throw new Error(`SELECT count(*) in retention policy ${policy.name}: ${result.error}`);
    for (const series of result?.series ?? []) {
      const counts = (series.values[0] ?? []).slice(1).filter((v): v is number => typeof v === 'number');
      points[series.name] = (points[series.name] ?? 0) + Math.max(0, ...counts);
    }
  }
  return points;
}

const influxdEnv = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, HOME: process.env.HOME, LC_ALL: 'C' });

/** The last lines of influxd's stderr, without its log timestamps. */
function influxdMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, ''))
    .filter(Boolean);
  return lines.slice(-3).join(' | ').slice(0, 800) || 'no message';
}

const total = (points: Record<string, number>): number => Object.values(points).reduce((n, p) => n + p, 0);

/**
 * `influxd backup -portable` of the metrics database into
 * STAGING/metrics/influxdb. Before it: the binary is found, the RPC address
 * answers, the database exists and its points are counted. Any failure is
 * an EgovError naming the step, so the run fails before restic runs.
 */
export async function stageInfluxMetrics(source: InfluxSource, stagingDir: string, binary?: string): Promise<MetricsManifest> {
  const what = `influxd backup of metrics database "${source.database}" from ${source.address}`;
  const influxd = findInfluxd(binary);
  await probeRpc(source.address, what);
  const client = influxClient(source);
  let points: Record<string, number>;
  try {
    if (!(await client.getDatabaseNames()).includes(source.database)) throw new EgovError('not-found', `${what}: the database does not exist on InfluxDB at ${source.url}`);
    points = await countPoints(client, source.database);
  } catch (error) {
    if (error instanceof EgovError) throw error;
    throw new EgovError('unavailable', `${what}: counting the points over HTTP at ${source.url} failed: ${(error as Error).message}`);
  }
  const dir = path.join(stagingDir, INFLUX_BACKUP_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result = await runCapture(influxd, ['backup', '-portable', '-host', source.address, '-database', source.database, dir], influxdEnv(), BACKUP_TIMEOUT_MS);
  if (result.code !== 0) {
    throw new EgovError('unavailable', `${what} failed (${result.timedOut ? `timed out after ${BACKUP_TIMEOUT_MS / 1000} s` : `exit ${result.code}`}): ${influxdMessage(result.stderr)}`, { exitCode: result.code });
  }
  if (!readdirSync(dir).some((f) => f.endsWith('.manifest'))) throw new EgovError('internal', `${what} exited 0 but wrote no .manifest file into ${dir}`);
  return { kind: 'influxdb', database: source.database, dir: INFLUX_BACKUP_DIR, address: source.address, points };
}

interface PortableManifest {
  meta?: { fileName?: unknown; size?: unknown };
  files?: Array<{ fileName?: unknown; size?: unknown }>;
}

/**
 * The meta file holds the metastore data wrapped in a small protobuf
 * (PortablePacker: field 1, the data; field 2, a node ID); the manifest lists
 * the data's length, not the file's. Returns that length, or null when the
 * file is not shaped so.
 */
function metaDataLength(file: string): number | null {
  const bytes = readFileSync(file);
  if (bytes[0] !== 0x0a) return null;
  let length = 0;
  let at = 1;
  for (let shift = 0; at < bytes.length && shift < 35; shift += 7) {
    const byte = bytes[at++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (!(byte & 0x80)) return at + length <= bytes.length ? length : null;
  }
  return null;
}

/** A shard archive's unpacked size: the manifest lists the tar inside the gzip. Gunzip checks the CRC on the way. */
async function gunzippedSize(file: string): Promise<number> {
  let size = 0;
  await pipeline(createReadStream(file), createGunzip(), async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) size += chunk.length;
  });
  return size;
}

/** What a listed file's size is compared with, as influxd counted it when it wrote the manifest. */
async function listedSize(file: string, kind: 'meta' | 'shard'): Promise<number | null> {
  if (kind === 'meta') return metaDataLength(file);
  return file.endsWith('.gz') ? gunzippedSize(file) : statSync(file).size;
}

/**
 * Every file a portable backup's *.manifest lists is there, with the size it
 * lists: the meta file's data, and each shard archive unpacked (so its gzip
 * is read through and its CRC checked).
 */
export async function checkPortableManifest(dir: string): Promise<{ ok: boolean; detail: string }> {
  const manifests = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.manifest')) : [];
  if (!manifests.length) return { ok: false, detail: `the restored ${INFLUX_BACKUP_DIR} has no *.manifest file from influxd backup` };
  const problems: string[] = [];
  let files = 0;
  let bytes = 0;
  for (const name of manifests) {
    let manifest: PortableManifest;
    try {
      manifest = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as PortableManifest;
    } catch (error) {
      problems.push(`${name} does not parse: ${(error as Error).message}`);
      continue;
    }
    if (!manifest.meta) problems.push(`${name} lists no meta file`);
    const listed = [...(manifest.meta ? [{ entry: manifest.meta, kind: 'meta' as const }] : []), ...(manifest.files ?? []).map((entry) => ({ entry, kind: 'shard' as const }))];
    for (const { entry, kind } of listed) {
      const { fileName, size } = entry;
      // A name from the restored manifest must stay inside the directory.
      if (typeof fileName !== 'string' || path.basename(fileName) !== fileName || typeof size !== 'number') {
        problems.push(`${name} has an entry that is not a file name and size: ${JSON.stringify(entry).slice(0, 100)}`);
        continue;
      }
      files++;
      const file = path.join(dir, fileName);
      if (!existsSync(file)) {
        problems.push(`${fileName} missing`);
        continue;
      }
      let actual: number | null;
      try {
        actual = await listedSize(file, kind);
      } catch (error) {
        problems.push(`${fileName} does not unpack: ${(error as Error).message}`);
        continue;
      }
      bytes += statSync(file).size;
      if (actual === null) problems.push(`${fileName} is not a portable meta file`);
      else if (actual !== size) problems.push(`${fileName} holds ${actual} bytes${kind === 'shard' ? ' unpacked' : ' of meta data'}, ${name} says ${size}`);
    }
  }
  return problems.length
    ? { ok: false, detail: `the restored portable backup does not match its manifest: ${problems.slice(0, 5).join('; ')}` }
    : { ok: true, detail: `the ${files} files the portable backup's manifest lists are restored with the sizes it lists (meta data, shard archives unpacked; ${bytes} bytes on disk)` };
}

/** Measurements with fewer points restored than counted at backup time. */
function missingPoints(recorded: Record<string, number>, restored: Record<string, number>): string[] {
  return Object.entries(recorded)
    .filter(([name, n]) => (restored[name] ?? 0) < n)
    .map(([name, n]) => `${name}: ${restored[name] ?? 0} of ${n}`);
}

// influxd restore returns when the shards are uploaded; the server opens
// them a moment later, and a busy server may answer a query before that
// with an empty database. So the count is asked again until every
// measurement is there or this much time has gone.
const RESTORE_SETTLE_MS = 15_000;
const RESTORE_POLL_MS = 250;

/** The scratch database's points per measurement, once they are all there or the settle time is up; `short` lists what is still missing. */
async function countRestoredPoints(client: InfluxClient, scratch: string, recorded: Record<string, number>): Promise<{ restored: Record<string, number>; short: string[] }> {
  const deadline = Date.now() + RESTORE_SETTLE_MS;
  for (;;) {
    const restored = await countPoints(client, scratch);
    const short = missingPoints(recorded, restored);
    if (!short.length || Date.now() >= deadline) return { restored, short };
    await new Promise((resolve) => setTimeout(resolve, RESTORE_POLL_MS));
  }
}

/**
 * The `metrics-influxdb` drill check: the restored portable backup against
 * its own manifest, then `influxd restore -portable -newdb DB_drill_RANDOM`
 * into the live InfluxDB, the points counted there against the manifest's
 * counts, and the scratch database dropped (always; a failed drop fails
 * the check and says so).
 */
export async function drillInfluxMetrics(restoredStagingDir: string, metrics: MetricsManifest, live: InfluxSource | undefined, binary?: string): Promise<DrillCheck> {
  const name = 'metrics-influxdb';
  const dir = path.join(restoredStagingDir, metrics.dir);
  const files = await checkPortableManifest(dir);
  if (!files.ok) return { name, ok: false, detail: files.detail };
  if (!live) return { name, ok: false, detail: `${files.detail}, but it was not restored: this suite has no metrics.influx, so there is no InfluxDB to restore it into` };
  const scratch = `${metrics.database}_drill_${randomBytes(4).toString('hex')}`;
  const what = `influxd restore of metrics database "${metrics.database}" into scratch database ${scratch} on ${live.address}`;
  const client = influxClient(live);
  let restoreAttempted = false;
  let check: DrillCheck;
  try {
    const influxd = findInfluxd(binary);
    await probeRpc(live.address, what);
    if ((await client.getDatabaseNames()).includes(scratch)) throw new Error(`a database named ${scratch} already exists; run the drill again`);
    restoreAttempted = true;
    const result = await runCapture(influxd, ['restore', '-portable', '-host', live.address, '-db', metrics.database, '-newdb', scratch, dir], influxdEnv(), BACKUP_TIMEOUT_MS);
    if (result.code !== 0) throw new Error(`${what} failed (${result.timedOut ? 'timed out' : `exit ${result.code}`}): ${influxdMessage(result.stderr)}`);
    const { restored, short } = await countRestoredPoints(client, scratch, metrics.points);
    const measured = `${Object.keys(restored).length} measurements, ${total(restored)} points`;
    check = short.length
      ? { name, ok: false, detail: `${files.detail}; influxd restore loaded it into scratch database ${scratch} on ${live.address}, but ${RESTORE_SETTLE_MS / 1000} s later fewer points are there than were counted at backup time: ${short.slice(0, 5).join('; ')}` }
      : { name, ok: true, detail: `${files.detail}; influxd restore loaded it into scratch database ${scratch} on ${live.address}: ${measured}, no measurement with fewer points than the ${total(metrics.points)} counted at backup time` };
  } catch (error) {
    check = { name, ok: false, detail: `${files.detail}, but the restore into a scratch database failed: ${(error as Error).message}` };
  }
  if (restoreAttempted) {
    try {
      await client.dropDatabase(scratch);
      check.detail += `; scratch database ${scratch} dropped`;
    } catch (error) {
      check = { ...check, ok: false, detail: `${check.detail}; the scratch database ${scratch} could not be dropped, drop it by hand (DROP DATABASE "${scratch}"): ${(error as Error).message}` };
    }
  }
  return check;
}
