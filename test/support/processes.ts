// Processes the tests start: free loopback ports, the built CLI run as a
// child that is "up" once it prints its ready line, and clean-up of real
// servers (postgres, influxd, sshd) even when vitest is interrupted.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** The built CLI, what `egov-ops` runs. */
export const CLI = path.resolve('dist/egov-ops/main.js');

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface CliProcess {
  child: ChildProcess;
  /** Resolves at the ready line; rejects if the process exits before it. */
  up: Promise<void>;
  /** Everything the process wrote to stderr so far. */
  log(): string;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** The stderr text that says the process is ready. */
  ready: string | RegExp;
  /** Tracks the child while it lives, for an afterAll that kills what is left. */
  children?: Set<ChildProcess>;
}

/** Runs the built CLI with `args`, stderr captured, stdout ignored. */
export function startCli(args: string[], options: CliOptions): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  options.children?.add(child);
  child.on('exit', () => options.children?.delete(child));
  let log = '';
  const isReady = () => (typeof options.ready === 'string' ? log.includes(options.ready) : options.ready.test(log));
  const up = new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (isReady()) resolve();
    });
    child.on('exit', (code, signal) => reject(new Error(`egov-ops ${args.filter((a) => !a.startsWith('/')).join(' ')} exited ${code ?? signal} before it was ready:\n${log.slice(-3000)}`)));
  });
  return { child, up, log: () => log };
}

/** `egov-ops --data-dir DIR serve`, up once it says where it serves. */
export function startServe(dataDir: string, env: NodeJS.ProcessEnv, children?: Set<ChildProcess>): CliProcess {
  return startCli(['--data-dir', dataDir, 'serve'], { env, ready: 'egov-ops serving on', children });
}

/** Resolves when the child has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/**
 * Runs `stopSync` when the test process exits or is interrupted (SIGINT,
 * SIGTERM), so a real server started by a test never outlives it. Returns
 * the function that takes the hooks off again (after a normal stop).
 */
export function stopOnExit(stopSync: () => void): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    stopSync();
    // Leave the default disposition to act if nobody else handles the signal.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on('exit', stopSync);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return () => {
    process.off('exit', stopSync);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}
