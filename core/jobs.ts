// Scheduled work inside `egov-ops serve`: CRL builds, backups and prunes,
// alert timers, audits, rollups, retention. Every module hands its periodic
// work to one JobRunner instead of keeping timers of its own, so there is one
// place that says what runs when, one place that stops it, and one place
// that decides which instance runs it when several share a database.
//
// Due times are aligned to the clock (an interval job of 60 s is due at every
// whole minute, a cron job at its schedule's times), so that every instance
// computes the same due times and a coordinator can give each (job, due) to
// exactly one of them. A run still going when the next is due is not stacked:
// the later due time is skipped and said so.

import type { Schedule } from './schedule.js';

export interface JobContext {
  /** The due time this run is for (not when it started). */
  due: Date;
  /** Aborted when the runner stops: long work should give up at the next safe point. */
  signal: AbortSignal;
}

export interface Job {
  /** Unique per runner: `crl.full`, `backup.run:nas`, `alerts.absence`. */
  name: string;
  /** A cron schedule, or a fixed interval aligned to the epoch. */
  schedule: Schedule | { everyMs: number };
  run(context: JobContext): Promise<unknown>;
  /** How long a claim on one due time holds before another instance may take over (default: the interval, at most 10 min). */
  leaseMs?: number;
}

/**
 * Who runs a due time when several instances share a database. The
 * single-instance coordinator says yes to everything; the PostgreSQL one
 * (several `serve` instances) gives each (job, due) to one instance.
 */
export interface Coordinator {
  /** Whether this instance runs `job` for `due`. Asked once per due time by every instance. */
  claim(job: string, due: Date, leaseMs: number): Promise<boolean>;
  /** The run of (job, due) ended here (ok or not). */
  finished?(job: string, due: Date, outcome: JobRunRecord): Promise<void>;
  close?(): Promise<void>;
  /**
   * Calls `listener` whenever this instance becomes the one that runs
   * scheduled work: `takeOver` when it took the lease over from a holder
   * that stopped renewing it (died, or lost the database). The runner then
   * catches up (catchUp): each due time within `catchUpMs` before now is
   * claimed, so a run the dead holder never started, or started and never
   * finished, is run once by the new holder.
   */
  onLeadership?(listener: (takeOver: boolean) => void): void;
  /** How far back a new holder looks for due times nobody ran (default 60 s). */
  catchUpMs?: number;
  /** Starts heartbeats and the lease (called by JobRunner.start). */
  start?(): Promise<void>;
}

export const singleInstance: Coordinator = { claim: async () => true };

export interface JobRunRecord {
  job: string;
  due: string;
  startedAt: string;
  endedAt: string;
  ok: boolean;
  error?: string;
}

export interface JobStatus {
  name: string;
  nextDue: string | null;
  running: boolean;
  last: JobRunRecord | null;
  runs: number;
  failures: number;
  skipped: number;
}

export interface JobRunnerOptions {
  coordinator?: Coordinator;
  /** Told about each failure and skip (and, at debug level, each run). */
  log?: (level: 'debug' | 'info' | 'warn' | 'error', line: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

interface Entry {
  job: Job;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  nextDue: Date | null;
  last: JobRunRecord | null;
  runs: number;
  failures: number;
  skipped: number;
}

/** Longest a single timer waits; longer waits are re-armed (setTimeout tops out at about 24.8 days). */
const MAX_TIMER_MS = 6 * 3600_000;

export class JobRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly coordinator: Coordinator;
  private readonly now: () => Date;
  private controller = new AbortController();
  private started = false;
  private listening = false;

  constructor(private readonly options: JobRunnerOptions = {}) {
    this.coordinator = options.coordinator ?? singleInstance;
    this.now = options.now ?? (() => new Date());
  }

  /** Adds a job; added after start, it is armed at once. */
  add(job: Job): void {
    if (this.entries.has(job.name)) throw new Error(`job ${job.name} is added twice`);
    if ('everyMs' in job.schedule && !(job.schedule.everyMs >= 1)) throw new Error(`job ${job.name}: everyMs must be at least 1`);
    const entry: Entry = { job, timer: undefined, running: undefined, nextDue: null, last: null, runs: 0, failures: 0, skipped: 0 };
    this.entries.set(job.name, entry);
    if (this.started) this.arm(entry);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.controller = new AbortController();
    for (const entry of this.entries.values()) this.arm(entry);
    if (!this.listening) {
      this.listening = true;
      this.coordinator.onLeadership?.((takeOver) => {
        if (takeOver) void this.catchUp();
      });
    }
    void this.coordinator.start?.().catch((error: Error) => this.options.log?.('error', `the job coordinator did not start: ${error.message}`));
  }

  /**
   * Claims, for each job, every due time in the catch-up window (now minus
   * the coordinator's catchUpMs) and up to now, oldest first, one after the
   * other: a due time somebody already ran is refused by the coordinator, one
   * nobody ran (the lease had no live holder then) or whose runner died is
   * run here, once. Due times that come while catching up (their timer finds
   * the job busy) are taken in the same loop. Called when this instance
   * takes the lease over.
   */
  async catchUp(): Promise<void> {
    if (!this.started) return;
    const window = this.coordinator.catchUpMs ?? 60_000;
    await Promise.allSettled(
      [...this.entries.values()].map(async (entry) => {
        if (entry.running) await entry.running;
        let after = new Date(this.now().getTime() - window);
        for (let n = 0; n < 1000 && this.started; n++) {
          const due = JobRunner.nextDue(entry.job.schedule, after);
          if (due.getTime() > this.now().getTime()) break;
          after = due;
          if (entry.running) await entry.running;
          await this.execute(entry, due, true);
        }
      }),
    );
  }

  /** Stops arming, aborts what runs, and waits for it to end. */
  async stop(): Promise<void> {
    this.started = false;
    this.controller.abort();
    for (const entry of this.entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.nextDue = null;
    }
    await Promise.allSettled([...this.entries.values()].map((e) => e.running));
    await this.coordinator.close?.();
  }

  /** Runs a job now, outside its schedule, here (no claim): for `--now` commands and tests. */
  async runNow(name: string): Promise<JobRunRecord> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no job ${name}`);
    if (entry.running) await entry.running;
    return this.execute(entry, this.now(), false);
  }

  status(): JobStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.job.name,
      nextDue: e.nextDue?.toISOString() ?? null,
      running: e.running !== undefined,
      last: e.last,
      runs: e.runs,
      failures: e.failures,
      skipped: e.skipped,
    }));
  }

  /** The first due time strictly after `from`. */
  static nextDue(schedule: Job['schedule'], from: Date): Date {
    if ('everyMs' in schedule) return new Date((Math.floor(from.getTime() / schedule.everyMs) + 1) * schedule.everyMs);
    return schedule.next(from);
  }

  private leaseOf(job: Job): number {
    if (job.leaseMs) return job.leaseMs;
    return 'everyMs' in job.schedule ? Math.min(job.schedule.everyMs, 600_000) : 600_000;
  }

  private arm(entry: Entry, after: Date = this.now()): void {
    if (!this.started) return;
    const due = JobRunner.nextDue(entry.job.schedule, after);
    entry.nextDue = due;
    const wait = due.getTime() - this.now().getTime();
    if (wait > MAX_TIMER_MS) {
      entry.timer = setTimeout(() => this.arm(entry, after), MAX_TIMER_MS).unref();
      return;
    }
    entry.timer = setTimeout(() => this.fire(entry, due), Math.max(0, wait)).unref();
  }

  private fire(entry: Entry, due: Date): void {
    this.arm(entry, due);
    if (entry.running) {
      entry.skipped++;
      this.options.log?.('warn', `job ${entry.job.name}: the run due ${due.toISOString()} is skipped, the previous one is still going`, { job: entry.job.name, due: due.toISOString() });
      return;
    }
    void this.execute(entry, due, true);
  }

  private execute(entry: Entry, due: Date, claim: boolean): Promise<JobRunRecord> {
    const run = (async (): Promise<JobRunRecord> => {
      if (claim) {
        let mine = false;
        try {
          mine = await this.coordinator.claim(entry.job.name, due, this.leaseOf(entry.job));
        } catch (error) {
          this.options.log?.('error', `job ${entry.job.name}: cannot claim the run due ${due.toISOString()}: ${(error as Error).message}`, { job: entry.job.name });
        }
        if (!mine) return { job: entry.job.name, due: due.toISOString(), startedAt: this.now().toISOString(), endedAt: this.now().toISOString(), ok: true, error: 'claimed by another instance' };
      }
      const startedAt = this.now().toISOString();
      let record: JobRunRecord;
      try {
        await entry.job.run({ due, signal: this.controller.signal });
        record = { job: entry.job.name, due: due.toISOString(), startedAt, endedAt: this.now().toISOString(), ok: true };
        this.options.log?.('debug', `job ${entry.job.name} ran`, { job: entry.job.name, due: record.due });
      } catch (error) {
        entry.failures++;
        record = { job: entry.job.name, due: due.toISOString(), startedAt, endedAt: this.now().toISOString(), ok: false, error: (error as Error).message };
        this.options.log?.('error', `job ${entry.job.name} failed: ${record.error}`, { job: entry.job.name, due: record.due });
      }
      entry.runs++;
      entry.last = record;
      await this.coordinator.finished?.(entry.job.name, due, record).catch((error: Error) => this.options.log?.('error', `job ${entry.job.name}: recording the run failed: ${error.message}`));
      return record;
    })();
    const tracked = run.then(() => undefined);
    entry.running = tracked;
    void tracked.finally(() => {
      if (entry.running === tracked) entry.running = undefined;
    });
    return run;
  }
}
