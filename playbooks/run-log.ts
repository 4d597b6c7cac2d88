// The record of a run: an append-only JSON-lines file per run under
// DATA_DIR/playbooks/runs/, one event a line (run start, each step, its
// commands with trimmed output, rollbacks, gates, run end). A lock file per
// runbook under DATA_DIR/playbooks/locks/ keeps two runs of one runbook apart.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { EgovError } from '../core/index.js';

export type RunStatus = 'succeeded' | 'failed' | 'rolled-back' | 'dry-run';

export interface RunEvent {
  at: string;
  event: string;
  [key: string]: unknown;
}

const OUTPUT_LIMIT = 4000;

/** Long outputs keep their head and tail. */
export function trimOutput(text: string, limit = OUTPUT_LIMIT): string {
  if (text.length <= limit) return text;
  const head = Math.floor(limit * 0.6);
  return `${text.slice(0, head)}\n… [${text.length - limit} characters left out] …\n${text.slice(text.length - (limit - head))}`;
}

export const playbooksDir = (dataDir: string) => path.join(dataDir, 'playbooks');
const runsDir = (dataDir: string) => path.join(playbooksDir(dataDir), 'runs');

export function newRunId(runbook: string, now = new Date()): string {
  return `${runbook}-${now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '')}-${randomBytes(3).toString('hex')}`;
}

export class RunLog {
  readonly file: string;
  constructor(dataDir: string, readonly runId: string, private readonly mask: (text: string) => string) {
    mkdirSync(runsDir(dataDir), { recursive: true, mode: 0o700 });
    this.file = path.join(runsDir(dataDir), `${runId}.jsonl`);
  }
  append(event: string, fields: Record<string, unknown> = {}): void {
    const line = this.mask(JSON.stringify({ at: new Date().toISOString(), event, runId: this.runId, ...fields }));
    appendFileSync(this.file, line + '\n', { mode: 0o600, flag: 'a' });
  }
}

export interface RunSummary {
  runId: string;
  runbook: string;
  file: string;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus | 'running' | 'interrupted';
  who: string;
  dryRun: boolean;
  failedStep: string | null;
  resumeOf: string | null;
}

export function readRunEvents(file: string): RunEvent[] {
  const text = readFileSync(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l, i) => {
      try {
        return JSON.parse(l) as RunEvent;
      } catch {
        throw new EgovError('bad-encoding', `run log ${file}, line ${i + 1}: not JSON`);
      }
    });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function summarizeRun(file: string, events = readRunEvents(file)): RunSummary {
  const start = events.find((e) => e.event === 'run-start');
  if (!start) throw new EgovError('bad-encoding', `${file} is not a run log (no run-start record)`);
  const end = [...events].reverse().find((e) => e.event === 'run-end');
  const failed = events.find((e) => e.event === 'step-end' && e.status === 'failed');
  const pid = Number(start.pid);
  const status = end ? (end.status as RunStatus) : start.host === os.hostname() && pid && !isAlive(pid) ? 'interrupted' : 'running';
  return {
    runId: String(start.runId),
    runbook: String(start.runbook),
    file,
    startedAt: start.at,
    endedAt: end?.at ?? null,
    status,
    who: String(start.who),
    dryRun: Boolean(start.dryRun),
    failedStep: failed ? String(failed.step) : null,
    resumeOf: (start.resumeOf as string | undefined) ?? null,
  };
}

/** Past runs, newest first (of one runbook when named). */
export function listRuns(dataDir: string, runbook?: string): RunSummary[] {
  const dir = runsDir(dataDir);
  if (!existsSync(dir)) return [];
  const out: RunSummary[] = [];
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
    try {
      const summary = summarizeRun(path.join(dir, name));
      if (!runbook || summary.runbook === runbook) out.push(summary);
    } catch {
      /* a file that is not a run log is left out of the list */
    }
  }
  return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
}

/** A run's log by its id only, inside DATA_DIR/playbooks/runs (what the console may open). */
export function runLogById(dataDir: string, runId: string): string {
  const file = path.join(runsDir(dataDir), `${runId}.jsonl`);
  if (!/^[a-z0-9][a-zA-Z0-9-]{0,127}$/.test(runId) || !existsSync(file)) throw new EgovError('not-found', `no run ${runId}`);
  return file;
}

/** A run's log by its id or by a file path. */
export function findRunLog(dataDir: string, idOrFile: string): string {
  if (/^[A-Za-z0-9-]+$/.test(idOrFile)) {
    const file = path.join(runsDir(dataDir), `${idOrFile}.jsonl`);
    if (existsSync(file)) return file;
  }
  if (existsSync(idOrFile)) return idOrFile;
  throw new EgovError('not-found', `no run log ${idOrFile} (see \`egov-ops playbook runs\`)`);
}

export interface LockHolder {
  runId: string;
  pid: number;
  host: string;
  since: string;
}

/** Takes the runbook's lock (a file made exclusively); a lock of a gone process on this host is taken over. */
export function takeLock(dataDir: string, runbook: string, runId: string): () => void {
  const dir = path.join(playbooksDir(dataDir), 'locks');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${runbook}.lock`);
  const mine: LockHolder = { runId, pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, JSON.stringify(mine), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          const holder = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
          if (holder.runId === runId) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = lockHolder(dataDir, runbook);
      if (holder && (holder.host !== os.hostname() || isAlive(holder.pid))) {
        throw new EgovError('conflict', `runbook ${runbook} is locked by run ${holder.runId} (pid ${holder.pid} on ${holder.host}, since ${holder.since}); wait for it to end`, { ...holder });
      }
      rmSync(file, { force: true }); // stale: its process is gone
    }
  }
  throw new EgovError('conflict', `runbook ${runbook}: could not take its lock`);
}

export function lockHolder(dataDir: string, runbook: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path.join(playbooksDir(dataDir), 'locks', `${runbook}.lock`), 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}
