// Plumbing for the benchmarks: a timed promise pool, child processes that
// are always killed, temp dirs that are always removed, openssl helpers.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// ------------------------------------------------------------ clean-up

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleaned = false;

export function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    cleanup();
    process.exit(130);
  });
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `egov-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Spawns a child that is SIGKILLed when the benchmark exits, however it exits. */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, options);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function stopChild(child: ChildProcess, timeoutMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, capturing its output. */
export function run(command: string, args: string[], options: { input?: Buffer | string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawnTracked(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ms: performance.now() - started }),
    );
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input);
  });
}

export async function runOk(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr.trim().slice(0, 500)}`);
  return result;
}

// ------------------------------------------------------------ timing

export interface PoolResult {
  ops: number;
  seconds: number;
  rate: number;
  errors: number;
  firstError?: string;
}

/**
 * Keeps `concurrency` calls of `task` in flight for `durationMs` (or until
 * `maxOps` have started), then waits for the last ones; rate = completed / elapsed.
 */
export async function runPool(options: { durationMs: number; concurrency: number; maxOps?: number; task: (i: number) => Promise<unknown> }): Promise<PoolResult> {
  const { durationMs, concurrency, task } = options;
  const maxOps = options.maxOps ?? Number.POSITIVE_INFINITY;
  let started = 0;
  let ops = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + durationMs;
  const worker = async () => {
    while (performance.now() < deadline && started < maxOps) {
      const i = started++;
      try {
        await task(i);
        ops++;
      } catch (error) {
        errors++;
        firstError ??= (error as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  return { ops, seconds, rate: ops / seconds, errors, ...(firstError ? { firstError } : {}) };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const median = (values: number[]) => percentile(values, 50);

export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) gc();
}

// ------------------------------------------------------------ openssl

export interface SpeedResult {
  sign: number;
  verify: number;
  line: string;
}

/** `openssl speed -seconds N ALG`: sign/s and verify/s on one core. */
export async function opensslSpeed(algorithm: string, seconds: number): Promise<SpeedResult> {
  const result = await runOk('openssl', ['speed', '-seconds', String(seconds), algorithm]);
  const lines = result.stdout.trim().split('\n');
  // The last line: "... sign verify sign/s verify/s", the last two numbers are the rates.
  const line = lines[lines.length - 1]!.trim();
  const numbers = line.split(/\s+/).map(Number).filter((n) => Number.isFinite(n));
  if (numbers.length < 2) throw new Error(`cannot read openssl speed ${algorithm} output: ${line}`);
  return { sign: numbers[numbers.length - 2]!, verify: numbers[numbers.length - 1]!, line };
}

/** VmRSS of a process in MiB, from /proc. */
export function rssMiB(statusText: string): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(statusText);
  if (!m) throw new Error('no VmRSS in /proc status');
  return Number(m[1]) / 1024;
}

// ------------------------------------------------------------ other load on the machine

/** CPU time in clock ticks: the whole machine (busy and total), and ours (this process, its children, live or reaped). */
export interface CpuSnapshot {
  machineBusy: number;
  machineTotal: number;
  ours: number;
}

function procTicks(pid: number | 'self', withChildren: boolean): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, so utime (14) .. cstime (17) are [11] .. [14].
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    return fields[11]! + fields[12]! + (withChildren ? fields[13]! + fields[14]! : 0);
  } catch {
    return 0; // exited between listing and reading: its time is in our cutime once reaped
  }
}

export function cpuSnapshot(): CpuSnapshot | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = line.reduce((a, b) => a + b, 0);
    const idle = line[3]! + line[4]!;
    let ours = procTicks('self', true);
    for (const child of children) if (child.pid !== undefined && child.exitCode === null) ours += procTicks(child.pid, true);
    return { machineBusy: total - idle, machineTotal: total, ours };
  } catch {
    return undefined; // not Linux
  }
}

/** Share of the machine's CPU that other processes used between two snapshots (0..1). */
export function othersShare(before: CpuSnapshot | undefined, after: CpuSnapshot | undefined): number | null {
  if (!before || !after) return null;
  const total = after.machineTotal - before.machineTotal;
  if (total <= 0) return null;
  const others = after.machineBusy - before.machineBusy - (after.ours - before.ours);
  return Math.min(1, Math.max(0, others / total));
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
