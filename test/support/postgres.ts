// A throwaway PostgreSQL cluster for tests: initdb into a temp dir, listen on
// 127.0.0.1 on a free port (unix socket inside the temp dir), trust auth,
// fsync off. stop() shuts it down (immediate) and removes the dir.
//
// Nothing is left behind: stop() is registered on process exit and on
// SIGINT/SIGTERM, and a small watchdog shell stops the cluster if this
// process dies without running its handlers (SIGKILL, crash). The server is
// detached by pg_ctl, so it never keeps vitest's event loop alive.
//
// initdb refuses to run as root: as root, every server command runs as the
// `postgres` OS user through runuser, in a temp dir chowned to that user.

import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort, stopOnExit } from './processes.js';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';

export interface PostgresServer {
  /** postgres://postgres@127.0.0.1:PORT/postgres (the maintenance database). */
  url: string;
  host: string;
  port: number;
  /** The temp dir holding the cluster, its socket and its log. */
  dir: string;
  /** Milliseconds from call to accepting connections. */
  startupMs: number;
  /** Creates a fresh, empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Stops the server as a power cut would (`pg_ctl stop -m immediate`), keeping its data: start it again with restart(). */
  crash(): Promise<void>;
  /** Starts the server crash() stopped, on the same port; resolves once it accepts connections (after crash recovery). */
  restart(): Promise<void>;
  /** Stops the server (immediate) and removes its dir; safe to call twice. */
  stop(): Promise<void>;
  /** A standby made with startPostgres({ standbyOf }): ends recovery (`pg_ctl promote -w`), so it takes writes. */
  promote(): Promise<void>;
  /**
   * A primary brought back as a standby of PRIMARY (a promoted standby of
   * its own): shut down cleanly (`pg_ctl stop -m fast`, so its standby has
   * all its WAL), given standby.signal and primary_conninfo, started again on
   * its port. Call it before the promotion's timeline has moved far.
   */
  stopClean(): Promise<void>;
  followAsStandby(primary: PostgresServer): Promise<void>;
}

export interface StartPostgresOptions {
  /** Extra postgresql.conf settings, e.g. { max_connections: '50' }. */
  settings?: Record<string, string>;
  /** Give up waiting for the server after this long (default 60 s). */
  timeoutMs?: number;
  /** A streaming standby of this server (`pg_basebackup -R -X stream` instead of initdb); it needs wal_level replica or higher (the default). */
  standbyOf?: PostgresServer;
}

interface Binaries {
  initdb: string;
  pgCtl: string;
}

const INSTALL_HINT = 'install the Debian package `postgresql` (apt-get install -y postgresql)';

function isExecutable(file: string): boolean {
  try {
    return statSync(file).isFile() && (statSync(file).mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** initdb and pg_ctl: the highest /usr/lib/postgresql/N/bin, else initdb on PATH. */
export function findPostgresBinaries(): Binaries {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) {
      const bin = path.join(root, version, 'bin');
      const initdb = path.join(bin, 'initdb');
      const pgCtl = path.join(bin, 'pg_ctl');
      if (isExecutable(initdb) && isExecutable(pgCtl)) return { initdb, pgCtl };
    }
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const initdb = path.join(dir, 'initdb');
    if (!isExecutable(initdb)) continue;
    // pg_ctl lives beside the real initdb (PATH often holds symlinks into a versioned bin).
    const real = path.dirname(realpathSync(initdb));
    for (const pgCtl of [path.join(real, 'pg_ctl'), path.join(dir, 'pg_ctl')]) {
      if (isExecutable(pgCtl)) return { initdb, pgCtl };
    }
  }
  throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH: ${INSTALL_HINT}`);
}

interface RunAs {
  /** The command line for `command args`, wrapped in runuser when we are root. */
  wrap(command: string, args: string[]): [string, string[]];
  uid?: number;
  gid?: number;
}

function runAs(): RunAs {
  if (process.getuid?.() !== 0) return { wrap: (command, args) => [command, args] };
  const id = (flag: string): number => {
    const result = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`running as root, and there is no \`postgres\` OS user to run the server as (initdb refuses root): ${INSTALL_HINT}`);
    }
    return Number(result.stdout.trim());
  };
  return { wrap: (command, args) => ['runuser', ['-u', 'postgres', '--', command, ...args]], uid: id('-u'), gid: id('-g') };
}

interface Ran {
  code: number | null;
  output: string;
}

function run(as: RunAs, command: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  const [file, argv] = as.wrap(command, args);
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}


const quote = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

async function waitForConnections(url: string, deadline: number): Promise<void> {
  let lastError: unknown;
  while (Date.now() < deadline) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await client.end().catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`PostgreSQL did not accept connections at ${url}: ${(lastError as Error)?.message ?? 'timed out'}`);
}

let databaseCounter = 0;

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  const binaries = findPostgresBinaries();
  const as = runAs();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-ops-pg-'));
  if (as.uid !== undefined) chownSync(dir, as.uid, as.gid!);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'postgres.log');
  const host = '127.0.0.1';
  let stopped = false;
  let port = 0;

  // Cleanup that must work synchronously too (process 'exit' runs no async code).
  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    unregister();
    if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
      const [file, argv] = as.wrap(binaries.pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '10']);
      spawnSync(file, argv, { cwd: dir, stdio: 'ignore', timeout: 15_000 });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = stopOnExit(stopSync);

  try {
    const init = options.standbyOf
      ? await run(
          as,
          path.join(path.dirname(binaries.pgCtl), 'pg_basebackup'),
          ['-h', options.standbyOf.host, '-p', String(options.standbyOf.port), '-U', 'postgres', '-D', dataDir, '-R', '-X', 'stream', '--no-sync'],
          dir,
          Math.max(1000, deadline - Date.now()),
        )
      : await run(as, binaries.initdb, ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], dir, Math.max(1000, deadline - Date.now()));
    if (init.code !== 0) throw new Error(`${options.standbyOf ? 'pg_basebackup' : 'initdb'} failed (exit ${init.code}):\n${init.output}`);

    const settings: Record<string, string> = {
      listen_addresses: quote(host),
      unix_socket_directories: quote(dir),
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: quote('32MB'),
      max_connections: '100',
      log_min_messages: 'warning',
      ...options.settings,
    };
    // Appending keeps the file's owner (the postgres user); later lines win.
    appendFileSync(path.join(dataDir, 'postgresql.conf'), '\n# egov-ops test harness\n' + Object.entries(settings).map(([k, v]) => `${k} = ${v}`).join('\n') + '\n');

    // Watchdog: if this process disappears without running its handlers, stop
    // the cluster and remove the dir. It ends by itself once the dir is gone.
    const [stopFile, stopArgs] = as.wrap(binaries.pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '10']);
    const watchdog = spawn(
      'sh',
      [
        '-c',
        `while kill -0 ${process.pid} 2>/dev/null && [ -d ${shellQuote(dir)} ]; do sleep 1; done; ` +
          `if [ -d ${shellQuote(dir)} ]; then ${[stopFile, ...stopArgs].map(shellQuote).join(' ')} >/dev/null 2>&1; rm -rf ${shellQuote(dir)}; fi`,
      ],
      { detached: true, stdio: 'ignore' },
    );
    watchdog.unref();

    // The port is free when we look; someone may take it before postgres binds, so retry.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(path.join(dataDir, 'postgresql.conf'), `port = ${port}\n`);
      const start = await run(
        as,
        binaries.pgCtl,
        ['-D', dataDir, '-l', logFile, '-w', '-t', String(Math.max(5, Math.ceil((deadline - Date.now()) / 1000))), 'start'],
        dir,
        Math.max(1000, deadline - Date.now()),
      );
      if (start.code === 0) break;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (attempt < 5 && /could not bind|address already in use/i.test(log) && Date.now() < deadline) continue;
      throw new Error(`pg_ctl start failed (exit ${start.code}):\n${start.output}\n--- ${logFile} ---\n${log.slice(-4000)}`);
    }

    const url = `postgres://postgres@${host}:${port}/postgres`;
    await waitForConnections(url, deadline);
    const startupMs = Math.round(performance.now() - started);

    return {
      url,
      host,
      port,
      dir,
      startupMs,
      async createDatabase(name = 'test') {
        const database = `${name.toLowerCase().replace(/[^a-z0-9_]+/g, '_').slice(0, 40)}_${process.pid}_${++databaseCounter}`;
        const client = new pg.Client({ connectionString: url });
        client.on('error', () => undefined);
        await client.connect();
        try {
          await client.query(`create database "${database}"`);
        } finally {
          await client.end();
        }
        return `postgres://postgres@${host}:${port}/${database}`;
      },
      async crash() {
        const result = await run(as, binaries.pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '10'], dir, 15_000);
        if (result.code !== 0) throw new Error(`pg_ctl stop -m immediate failed (exit ${result.code}):\n${result.output}`);
      },
      async restart() {
        const result = await run(as, binaries.pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], dir, 65_000);
        if (result.code !== 0) throw new Error(`pg_ctl start failed (exit ${result.code}):\n${result.output}`);
        await waitForConnections(url, Date.now() + 60_000);
      },
      async stopClean() {
        const result = await run(as, binaries.pgCtl, ['-D', dataDir, 'stop', '-m', 'fast', '-w', '-t', '30'], dir, 35_000);
        if (result.code !== 0) throw new Error(`pg_ctl stop -m fast failed (exit ${result.code}):\n${result.output}`);
      },
      async followAsStandby(primary) {
        const signal = path.join(dataDir, 'standby.signal');
        writeFileSync(signal, '');
        if (as.uid !== undefined) chownSync(signal, as.uid, as.gid!);
        appendFileSync(path.join(dataDir, 'postgresql.auto.conf'), `primary_conninfo = 'host=${primary.host} port=${primary.port} user=postgres'\nrecovery_target_timeline = 'latest'\n`);
        const result = await run(as, binaries.pgCtl, ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start'], dir, 65_000);
        if (result.code !== 0) throw new Error(`pg_ctl start (as a standby) failed (exit ${result.code}):\n${result.output}\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
        await waitForConnections(url, Date.now() + 60_000);
      },
      async promote() {
        const result = await run(as, binaries.pgCtl, ['-D', dataDir, 'promote', '-w', '-t', '60'], dir, 65_000);
        if (result.code !== 0) throw new Error(`pg_ctl promote failed (exit ${result.code}):\n${result.output}`);
      },
      async stop() {
        if (stopped) return;
        stopped = true;
        unregister();
        if (existsSync(path.join(dataDir, 'postmaster.pid'))) {
          await run(as, binaries.pgCtl, ['-D', dataDir, 'stop', '-m', 'immediate', '-w', '-t', '10'], dir, 15_000).catch(() => undefined);
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    stopSync();
    throw error;
  }
}

/**
 * For a vitest file: one cluster for the file, started in beforeAll and
 * stopped in afterAll. Call at the top level of the file (or of a describe).
 *
 *   const postgres = usePostgres();
 *   it('...', async () => { const url = await postgres.createDatabase('audit'); ... });
 */
export function usePostgres(options: StartPostgresOptions = {}): {
  readonly server: PostgresServer;
  createDatabase(name?: string): Promise<string>;
} {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres(options);
  }, (options.timeoutMs ?? 60_000) + 5_000);
  afterAll(async () => {
    await server?.stop();
  }, 20_000);
  const get = (): PostgresServer => {
    if (!server) throw new Error('usePostgres(): the server is started in beforeAll; use it inside a test or hook');
    return server;
  };
  return {
    get server() {
      return get();
    },
    createDatabase: (name) => get().createDatabase(name),
  };
}

/** One statement on a fresh connection (for a test's own look at a server, apart from the suite's pool). */
export async function queryOnce<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}
