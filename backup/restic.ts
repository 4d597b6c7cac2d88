// The restic driver: runs `restic` with the repository and its password in
// the child's environment (never argv, never logs), `--json` where restic
// speaks it, and turns restic's failures into EgovErrors that keep restic's
// exit code and message. It never removes a lock by itself: a lock is
// reported (stale or not), and `unlock` runs only when an operator asks.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EgovError, type ErrorCode } from '../core/index.js';
import type { BackupTarget } from './plans.js';

export type ResticProblem = 'wrong-password' | 'no-repository' | 'unreachable' | 'locked' | 'disk-full' | 'corrupt' | 'failed';

export interface ResticResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout lines that parsed as JSON objects. */
  messages: Array<Record<string, unknown>>;
}

export interface LockInfo {
  /** The lock file's ID in the repository (when read from the repository). */
  id?: string;
  pid?: number;
  host?: string;
  user?: string;
  createdAt?: string;
  age?: string;
  exclusive: boolean;
  /** restic's own rule: older than 30 minutes, or on this host by a process that is gone. */
  stale: boolean;
  staleReason?: string;
}

export interface ResticSnapshot {
  id: string;
  shortId: string;
  time: string;
  paths: string[];
  tags: string[];
  hostname: string;
}

export interface BackupSummary {
  snapshotId: string | null;
  filesNew: number;
  filesChanged: number;
  filesTotal: number;
  bytesAdded: number;
  bytesTotal: number;
  durationSeconds: number;
}

export interface BackupProgress {
  percentDone: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  secondsElapsed: number;
}

/** The last few meaningful lines restic wrote to stderr: its error message. */
export function resticMessage(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(using parent snapshot|repository [0-9a-f]+ opened|created restic repository|enter password|Please note that knowledge)/i.test(l));
  return lines.slice(-6).join(' | ').slice(0, 2000) || 'restic gave no message';
}

export function classifyResticError(stderr: string): ResticProblem {
  if (/wrong password or no key found/i.test(stderr)) return 'wrong-password';
  if (/repository is already locked|unable to create lock/i.test(stderr)) return 'locked';
  if (/no space left on device|disk quota exceeded/i.test(stderr)) return 'disk-full';
  if (/ssh command exited|unable to start the sftp session|connection refused|connection reset|connection closed|could not resolve hostname|no route to host|connection timed out|permission denied \(publickey|host key verification failed|broken pipe|session, error: EOF|subprocess ssh/i.test(stderr)) {
    // "Is there a repository" with an sftp failure first is still unreachable.
    return 'unreachable';
  }
  if (/is there a repository at the following location|unable to open config file|config file does not exist|does not exist/i.test(stderr)) return 'no-repository';
  if (/ciphertext verification failed|pack .* does not match|hash does not match|errors were found|invalid data returned|checksum mismatch|unexpected EOF|Load\(.*\) returned error|fatal: repository contains errors|incomplete pack file/i.test(stderr)) return 'corrupt';
  return 'failed';
}

const problemCodes: Record<ResticProblem, ErrorCode> = {
  'wrong-password': 'wrong-passphrase',
  'no-repository': 'not-found',
  unreachable: 'unavailable',
  locked: 'conflict',
  'disk-full': 'unavailable',
  corrupt: 'chain-broken',
  failed: 'internal',
};

const problemText: Record<ResticProblem, string> = {
  'wrong-password': 'the repository password is wrong',
  'no-repository': 'there is no restic repository there',
  unreachable: 'the target is unreachable',
  locked: 'the repository is locked by another restic process',
  'disk-full': 'the target is out of space',
  corrupt: 'the repository is damaged',
  failed: 'restic failed',
};

/** restic's staleness rule: created more than 30 minutes ago, or made on this host by a process that is gone. */
export function judgeLock(info: LockInfo, createdAt: Date | undefined, now = new Date()): LockInfo {
  if (createdAt && !Number.isNaN(createdAt.getTime()) && now.getTime() - createdAt.getTime() > 30 * 60_000) {
    info.stale = true;
    info.staleReason = `created ${info.age ?? `at ${info.createdAt}`}${info.age ? ' ago' : ''} (restic treats a lock older than 30 minutes as stale)`;
  }
  if (!info.stale && info.host === os.hostname() && info.pid) {
    try {
      process.kill(info.pid, 0);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ESRCH') {
        info.stale = true;
        info.staleReason = `process ${info.pid} on this host (${info.host}) is gone`;
      }
    }
  }
  return info;
}

/** The lock restic names in a "repository is already locked" message. */
export function parseLock(stderr: string, now = new Date()): LockInfo | undefined {
  const m = /locked (exclusively )?by PID (\d+) on (\S+) by (\S+)/i.exec(stderr);
  if (!m) return undefined;
  const created = /lock was created at ([0-9-]+ [0-9:]+) \(([^)]+) ago\)/i.exec(stderr);
  const info: LockInfo = { pid: Number(m[2]), host: m[3]!, user: m[4]!, exclusive: Boolean(m[1]), stale: false };
  if (created) {
    info.createdAt = created[1]!;
    info.age = created[2]!;
  }
  // restic prints the creation time in local time.
  return judgeLock(info, created ? new Date(created[1]!.replace(' ', 'T')) : undefined, now);
}

/** A lock file's content as `restic cat lock` prints it. */
export function lockFromJson(id: string, json: Record<string, unknown>, now = new Date()): LockInfo {
  const time = typeof json.time === 'string' ? new Date(json.time) : undefined;
  const info: LockInfo = {
    id,
    ...(typeof json.pid === 'number' ? { pid: json.pid } : {}),
    ...(typeof json.hostname === 'string' ? { host: json.hostname } : {}),
    ...(typeof json.username === 'string' ? { user: json.username } : {}),
    ...(time && !Number.isNaN(time.getTime()) ? { createdAt: time.toISOString(), age: `${Math.max(0, Math.round((now.getTime() - time.getTime()) / 1000))}s` } : {}),
    exclusive: json.exclusive === true,
    stale: false,
  };
  return judgeLock(info, time, now);
}

export function describeLock(lock: LockInfo): string {
  return `${lock.exclusive ? 'exclusive' : 'shared'} lock${lock.id ? ` ${lock.id.slice(0, 8)}` : ''} of PID ${lock.pid ?? '?'} on ${lock.host ?? '?'} by ${lock.user ?? '?'}${lock.createdAt ? `, created ${lock.createdAt}${lock.age ? ` (${lock.age} ago)` : ''}` : ''}: ${lock.stale ? `stale (${lock.staleReason})` : 'not stale (its process is alive or it is recent)'}`;
}

/** A restic failure as an EgovError carrying the problem, restic's exit code and message. */
export function resticError(what: string, target: BackupTarget, result: ResticResult): EgovError {
  const problem = classifyResticError(result.stderr);
  const message = resticMessage(result.stderr);
  const details: Record<string, unknown> = { target: target.name, problem, resticExitCode: result.code, resticMessage: message };
  let text = `${what} on target "${target.name}" failed: ${problemText[problem]} (restic exit ${result.code}: ${message})`;
  if (problem === 'locked') {
    const lock = parseLock(result.stderr);
    if (lock) details.lock = lock;
    if (lock) text += `; ${describeLock(lock)}`;
    text += lock?.stale
      ? `; if no restic process is using the repository, remove it with \`egov-ops backup unlock --target ${target.name}\``
      : `; nothing was removed: wait for the other process, or if it is gone, remove the lock with \`egov-ops backup unlock --target ${target.name}\``;
  }
  return new EgovError(problemCodes[problem], text, details);
}

export interface ResticOptions {
  /** DATA_DIR/backups: the restic cache lives under it. */
  workDir: string;
  /** The restic binary (default `restic` on PATH, or EGOV_OPS_RESTIC). */
  binary?: string;
}

function shellQuote(value: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/** One restic repository (a target), ready to run commands against. */
export class ResticRepository {
  readonly binary: string;

  constructor(
    readonly target: BackupTarget,
    private readonly options: ResticOptions,
  ) {
    this.binary = options.binary ?? process.env.EGOV_OPS_RESTIC ?? 'restic';
  }

  /** The password reaches restic through its environment only: RESTIC_PASSWORD_FILE, or RESTIC_PASSWORD from the named variable. */
  private passwordEnv(): Record<string, string> {
    const password = this.target.password;
    if ('env' in password) {
      const value = process.env[password.env];
      if (!value) throw new EgovError('bad-config', `target "${this.target.name}": the repository password variable ${password.env} is not set`, { target: this.target.name });
      return { RESTIC_PASSWORD: value };
    }
    if (!existsSync(password.file)) {
      if (!this.target.createPasswordFile) throw new EgovError('bad-config', `target "${this.target.name}": the repository password file ${password.file} does not exist`, { target: this.target.name });
      mkdirSync(path.dirname(password.file), { recursive: true, mode: 0o700 });
      // The default plan's password: made once, kept beside the repository's
      // parent. Copy it somewhere safe: without it the backups cannot be read.
      writeFileSync(password.file, randomBytes(32).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
    }
    let text: string;
    try {
      text = readFileSync(password.file, 'utf8');
    } catch (error) {
      throw new EgovError('bad-config', `target "${this.target.name}": the repository password file ${password.file} cannot be read: ${(error as Error).message}`, { target: this.target.name });
    }
    if (!text.split('\n')[0]) throw new EgovError('bad-config', `target "${this.target.name}": the repository password file ${password.file} is empty`, { target: this.target.name });
    return { RESTIC_PASSWORD_FILE: password.file };
  }

  /** A small environment: no CA passphrase or other secrets of this process leak into restic or ssh. */
  environment(): Record<string, string> {
    const pass = (name: string): Record<string, string> => (process.env[name] ? { [name]: process.env[name]! } : {});
    return {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? os.homedir(),
      LC_ALL: 'C',
      ...pass('TMPDIR'),
      ...pass('SSH_AUTH_SOCK'),
      RESTIC_REPOSITORY: this.target.repository,
      RESTIC_CACHE_DIR: path.join(this.options.workDir, 'cache'),
      RESTIC_PROGRESS_FPS: '2',
      ...this.passwordEnv(),
    };
  }

  /** `-o sftp.command=…` for a remote target: batch mode (never a prompt), strict host keys, a connect timeout. */
  sftpArgs(): string[] {
    const sftp = this.target.sftp;
    if (this.target.kind !== 'remote' || !sftp) return [];
    const m = /^sftp:(?:([^@/]+)@)?([^:/]+):/.exec(this.target.repository);
    if (!m) return [];
    const [, user, host] = m;
    const ssh = ['ssh'];
    if (sftp.port) ssh.push('-p', String(sftp.port));
    if (sftp.identityFile) ssh.push('-i', sftp.identityFile, '-o', 'IdentitiesOnly=yes');
    if (sftp.knownHostsFile) ssh.push('-o', `UserKnownHostsFile=${sftp.knownHostsFile}`);
    ssh.push('-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${sftp.connectTimeoutSeconds}`, '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4');
    ssh.push(user ? `${user}@${host}` : host!, '-s', 'sftp');
    return ['-o', `sftp.command=${ssh.map(shellQuote).join(' ')}`];
  }

  /** Runs restic; resolves with its exit code and output (never rejects on a non-zero exit). */
  run(args: string[], options: { onMessage?: (message: Record<string, unknown>) => void; signal?: AbortSignal; timeoutMs?: number } = {}): Promise<ResticResult> {
    const env = this.environment();
    mkdirSync(env.RESTIC_CACHE_DIR!, { recursive: true, mode: 0o700 });
    return new Promise((resolve) => {
      const child = spawn(this.binary, [...this.sftpArgs(), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.signal ? { signal: options.signal } : {}) });
      let stdout = '';
      let stderr = '';
      let pending = '';
      const messages: Array<Record<string, unknown>> = [];
      const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGTERM'), options.timeoutMs) : undefined;
      const take = (line: string) => {
        if (!line.startsWith('{')) return;
        try {
          const message = JSON.parse(line) as Record<string, unknown>;
          // Status lines are many: hand them on, keep only the rest.
          if (message.message_type !== 'status') messages.push(message);
          options.onMessage?.(message);
        } catch {
          /* not JSON: part of a plain output */
        }
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        // Keep stdout for callers that read plain or whole-document JSON, but not status floods.
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          if (!line.includes('"message_type":"status"')) stdout += line + '\n';
          take(line);
        }
      });
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => {
        if (stderr.length < 1_000_000) stderr += chunk;
      });
      const finish = (code: number) => {
        if (timer) clearTimeout(timer);
        if (pending) {
          stdout += pending;
          take(pending);
        }
        resolve({ code, stdout, stderr, messages });
      };
      child.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') stderr += `restic not found (${this.binary}): install the Debian package \`restic\``;
        else stderr += error.message;
        finish(127);
      });
      child.on('close', (code, signal) => finish(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 15) : 1)));
    });
  }

  /** Runs restic and throws the classified error on a non-zero exit. */
  async runOrThrow(what: string, args: string[], options: Parameters<ResticRepository['run']>[1] = {}): Promise<ResticResult> {
    const result = await this.run(args, options);
    if (result.code !== 0) throw resticError(what, this.target, result);
    return result;
  }

  /**
   * Opens the repository (checks it is reachable and the password is right);
   * creates it when there is none yet. A same-city repository is created only
   * when its parent directory exists: a NAS that is not mounted must not turn
   * into a repository on the local disk.
   */
  async openOrInit(): Promise<{ created: boolean }> {
    // A local repository shows itself by its config file: no need to pay
    // restic's key derivation (about half a second) just to ask. The backup
    // that follows opens it for real and reports any problem.
    if (this.target.kind === 'same-city' && existsSync(path.join(this.target.repository, 'config'))) return { created: false };
    const probe = await this.run(['cat', 'config', '--no-lock', '-q']);
    if (probe.code === 0) return { created: false };
    const problem = classifyResticError(probe.stderr);
    if (problem !== 'no-repository') throw resticError('opening the repository', this.target, probe);
    if (this.target.kind === 'same-city') {
      const parent = path.dirname(this.target.repository);
      if (!existsSync(parent)) {
        throw new EgovError('unavailable', `target "${this.target.name}" is unreachable: ${parent} does not exist (is the NAS mounted?); nothing was written`, {
          target: this.target.name,
          problem: 'unreachable',
          resticExitCode: probe.code,
          resticMessage: resticMessage(probe.stderr),
        });
      }
    }
    await this.runOrThrow('creating the repository', ['init', '-q']);
    return { created: true };
  }

  async snapshots(tags: string[] = []): Promise<ResticSnapshot[]> {
    const result = await this.runOrThrow('listing snapshots', ['snapshots', '--json', '--no-lock', ...(tags.length ? ['--tag', tags.join(',')] : [])]);
    const parsed = JSON.parse(result.stdout.trim() || '[]') as Array<Record<string, unknown>>;
    return (parsed ?? [])
      .map((s) => ({
        id: String(s.id),
        shortId: String(s.short_id ?? String(s.id).slice(0, 8)),
        time: String(s.time),
        paths: (s.paths as string[]) ?? [],
        tags: (s.tags as string[]) ?? [],
        hostname: String(s.hostname ?? ''),
      }))
      .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  }

  /** The repository's lock files, read without taking a lock. */
  async locks(now = new Date()): Promise<LockInfo[]> {
    const ids = (await this.runOrThrow('listing locks', ['list', 'locks', '--no-lock'])).stdout.split('\n').map((l) => l.trim()).filter((l) => /^[0-9a-f]{64}$/.test(l));
    const out: LockInfo[] = [];
    for (const id of ids) {
      const result = await this.run(['cat', 'lock', id, '--no-lock']);
      // A lock removed between list and cat is simply gone.
      if (result.code !== 0) continue;
      try {
        out.push(lockFromJson(id, JSON.parse(result.stdout) as Record<string, unknown>, now));
      } catch {
        out.push({ id, exclusive: false, stale: false, staleReason: 'unreadable lock file' });
      }
    }
    return out;
  }

  /** The files (not directories) of a snapshot with their sizes. */
  async listFiles(snapshot: string): Promise<Array<{ path: string; size: number; type: string }>> {
    const result = await this.runOrThrow('listing the snapshot', ['ls', '--json', '--no-lock', snapshot]);
    return result.messages
      .filter((m) => m.struct_type === 'node')
      .map((m) => ({ path: String(m.path), size: Number(m.size ?? 0), type: String(m.type) }));
  }
}

export function parseBackupSummary(messages: Array<Record<string, unknown>>): BackupSummary | undefined {
  const summary = [...messages].reverse().find((m) => m.message_type === 'summary');
  if (!summary) return undefined;
  const n = (key: string) => Number(summary[key] ?? 0);
  return {
    snapshotId: summary.snapshot_id ? String(summary.snapshot_id) : null,
    filesNew: n('files_new'),
    filesChanged: n('files_changed'),
    filesTotal: n('total_files_processed'),
    bytesAdded: n('data_added'),
    bytesTotal: n('total_bytes_processed'),
    durationSeconds: n('total_duration'),
  };
}

export function parseBackupProgress(message: Record<string, unknown>): BackupProgress | undefined {
  if (message.message_type !== 'status') return undefined;
  const n = (key: string) => Number(message[key] ?? 0);
  return { percentDone: n('percent_done'), filesDone: n('files_done'), totalFiles: n('total_files'), bytesDone: n('bytes_done'), totalBytes: n('total_bytes'), secondsElapsed: n('seconds_elapsed') };
}

export function retentionArgs(retention: { keepLast?: number; keepDaily?: number; keepWeekly?: number; keepMonthly?: number; keepYearly?: number }): string[] {
  const args: string[] = [];
  const add = (flag: string, value: number | undefined) => {
    if (value) args.push(flag, String(value));
  };
  add('--keep-last', retention.keepLast);
  add('--keep-daily', retention.keepDaily);
  add('--keep-weekly', retention.keepWeekly);
  add('--keep-monthly', retention.keepMonthly);
  add('--keep-yearly', retention.keepYearly);
  return args;
}
