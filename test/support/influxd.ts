// A throwaway InfluxDB 1.x (Debian's `influxd`) for tests and benchmarks:
// `influxd run -config CONF` with meta, data and WAL in a temp dir, HTTP on
// a free loopback port, the RPC bind address on another, reporting off and
// every other listener (graphite, collectd, opentsdb, udp, ifql) and
// background service that is not needed (self-monitoring, subscriber,
// continuous queries) disabled. Ready when /ping answers 204.
//
// Nothing is left behind: stop() is registered on process exit and on
// SIGINT/SIGTERM, and a small watchdog shell stops influxd and removes the
// dir if this process dies without running its handlers. No vitest import:
// bench/influx.ts uses it too.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { freePort, stopOnExit } from './processes.js';
import os from 'node:os';
import path from 'node:path';

export interface InfluxServer {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  dir: string;
  /** Milliseconds from call to /ping answering. */
  startupMs: number;
  /** The influxd version /ping reports (X-Influxdb-Version). */
  version: string;
  stop(): Promise<void>;
}

export interface StartInfluxOptions {
  /** Give up waiting for /ping after this long (default 30 s). */
  timeoutMs?: number;
  /** The influxd binary (default /usr/bin/influxd, else influxd on PATH). */
  binary?: string;
}

const INSTALL_HINT = 'install the Debian package `influxdb` (apt-get install -y influxdb)';

function findInfluxd(given?: string): string {
  if (given) return given;
  const candidates = ['/usr/bin/influxd', ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, 'influxd'))];
  for (const file of candidates) {
    try {
      if (statSync(file).isFile() && (statSync(file).mode & 0o111) !== 0) return file;
    } catch {
      /* next */
    }
  }
  throw new Error(`influxd not found in /usr/bin or on PATH: ${INSTALL_HINT}`);
}


function configFile(dir: string, httpPort: number, rpcPort: number): string {
  return `# egov-ops test harness
reporting-disabled = true
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${path.join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${path.join(dir, 'data')}"
  wal-dir = "${path.join(dir, 'wal')}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${httpPort}"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
  unix-socket-enabled = false

[ifql]
  enabled = false

[continuous_queries]
  enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`;
}

async function ping(url: string): Promise<string | null> {
  try {
    const response = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    return response.status === 204 ? (response.headers.get('x-influxdb-version') ?? 'unknown') : null;
  } catch {
    return null;
  }
}

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startInfluxd(options: StartInfluxOptions = {}): Promise<InfluxServer> {
  const started = performance.now();
  const binary = findInfluxd(options.binary);
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-ops-influxd-'));
  const logFile = path.join(dir, 'influxd.log');
  let child: ChildProcess | undefined;
  let stopped = false;

  const stopSync = (): void => {
    if (stopped) return;
    stopped = true;
    unregister();
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = stopOnExit(stopSync);

  try {
    for (let attempt = 1; ; attempt++) {
      const httpPort = await freePort();
      let rpcPort = await freePort();
      while (rpcPort === httpPort) rpcPort = await freePort();
      const conf = path.join(dir, 'influxd.conf');
      writeFileSync(conf, configFile(dir, httpPort, rpcPort));
      const log = openSync(logFile, 'a');
      child = spawn(binary, ['run', '-config', conf], { stdio: ['ignore', log, log], detached: false });
      closeSync(log);
      child.unref();
      const pid = child.pid!;
      // Watchdog: if this process disappears without its handlers, stop influxd and remove the dir.
      spawn(
        'sh',
        ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null && [ -d ${shellQuote(dir)} ]; do sleep 1; done; if kill -0 ${pid} 2>/dev/null && ! kill -0 ${process.pid} 2>/dev/null; then kill -9 ${pid}; rm -rf ${shellQuote(dir)}; fi`],
        { detached: true, stdio: 'ignore' },
      ).unref();

      const url = `http://127.0.0.1:${httpPort}`;
      let version: string | null = null;
      while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
        version = await ping(url);
        if (version) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      if (version) {
        const running = child;
        return {
          url,
          port: httpPort,
          dir,
          version,
          startupMs: Math.round(performance.now() - started),
          async stop() {
            if (stopped) return;
            stopped = true;
            unregister();
            running.kill('SIGTERM');
            if (!(await waitForExit(running, 10_000))) {
              running.kill('SIGKILL');
              await waitForExit(running, 5_000);
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      const output = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
      // Someone took a port between our look and influxd's bind: try other ports.
      if (attempt < 5 && /address already in use/i.test(output) && Date.now() < deadline) continue;
      throw new Error(`influxd did not answer /ping at ${url} (exit ${child.exitCode ?? child.signalCode ?? 'none, timed out'}):\n${output.slice(-4000)}`);
    }
  } catch (error) {
    stopSync();
    throw error;
  }
}
