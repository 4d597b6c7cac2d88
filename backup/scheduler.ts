// The schedule runner for `egov-ops serve`: each target has two timers, its
// schedule (runs every plan that goes to it) and its pruneSchedule (applies
// its retention with restic forget --prune). A run that is still going when
// the next run is due is skipped (and said so), never stacked; likewise a
// prune. A run and a prune of the same target never overlap: prune takes
// restic's exclusive lock, so the backup would fail on it (or the prune on
// the backup's). Whichever comes second waits for the first to finish, then
// goes (and says it waited): skipping would lose a backup's RPO slot or a
// day's retention to the other's timing.
// Failures are recorded by the service and emitted as its 'run' and 'prune' events.

import type { Job as JobRunnerJob } from '../core/index.js';
import type { BackupService } from './service.js';
import type { BackupTarget } from './plans.js';

export interface SchedulerOptions {
  /** Told about each start, skip, wait, result and failure. */
  log?: (line: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

type Job = 'run' | 'prune';

const scheduleOf = (target: BackupTarget, job: Job) => (job === 'run' ? target.schedule : target.pruneSchedule);

export class BackupScheduler {
  /** Keyed `${job}:${target}`. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** `${job}:${target}` going or waiting: a second one of the same job is skipped. */
  private readonly running = new Set<string>();
  /** Per target, the end of the work queued on it: the next job starts after it. */
  private readonly queues = new Map<string, Promise<void>>();
  private stopped = true;

  constructor(
    private readonly service: BackupService,
    private readonly options: SchedulerOptions = {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const target of this.service.settings.targets.values()) {
      this.arm(target.name, 'run');
      this.arm(target.name, 'prune');
    }
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /**
   * The same schedule as named jobs for `serve`'s JobRunner, instead of
   * start(): `backup.run:<target>` on the target's schedule and
   * `backup.prune:<target>` on its pruneSchedule, each doing what the timer
   * does (fire, firePrune: skipped if still going, queued behind the
   * target's other work). Under the scheduler lease they run once across
   * instances.
   */
  jobs(): JobRunnerJob[] {
    return [...this.service.settings.targets.values()].flatMap((target) => [
      { name: `backup.run:${target.name}`, schedule: target.schedule, leaseMs: 6 * 3600_000, run: () => this.fire(target.name) },
      { name: `backup.prune:${target.name}`, schedule: target.pruneSchedule, leaseMs: 6 * 3600_000, run: () => this.firePrune(target.name) },
    ]);
  }

  /** When each target runs next. */
  nextRuns(): Record<string, string> {
    return this.next('run');
  }

  /** When each target's retention (forget --prune) runs next. */
  nextPrunes(): Record<string, string> {
    return this.next('prune');
  }

  private next(job: Job): Record<string, string> {
    const now = this.now();
    return Object.fromEntries([...this.service.settings.targets.values()].map((t) => [t.name, scheduleOf(t, job).next(now).toISOString()]));
  }

  private now(): Date {
    return (this.options.now ?? (() => new Date()))();
  }

  private arm(targetName: string, job: Job): void {
    if (this.stopped) return;
    const target = this.service.settings.targets.get(targetName)!;
    const now = this.now();
    const due = scheduleOf(target, job).next(now);
    // setTimeout holds at most ~24.8 days: re-arm in steps.
    const delay = Math.min(due.getTime() - now.getTime(), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      if (Date.now() + 1000 < due.getTime()) return this.arm(targetName, job);
      const work = job === 'run' ? this.fire(targetName) : this.firePrune(targetName);
      void work.finally(() => this.arm(targetName, job));
    }, delay);
    timer.unref();
    this.timers.set(`${job}:${targetName}`, timer);
  }

  /** Runs the target's plans now (the timer's work; exposed for tests and a "run now" button). */
  async fire(targetName: string): Promise<void> {
    await this.once(targetName, 'run', async (log) => {
      const results = await this.service.run({ target: targetName });
      for (const r of results) log(`scheduled backup ${r.plan} -> ${r.target}: ${r.status}, ${r.message}`, { ...r });
    });
  }

  /** Applies the target's retention now (the prune timer's work; exposed for tests). */
  async firePrune(targetName: string): Promise<void> {
    await this.once(targetName, 'prune', async (log) => {
      const results = await this.service.prune({ target: targetName });
      for (const r of results) log(`scheduled prune ${r.plan} -> ${r.target}: ${r.ok ? 'ok' : 'FAILED'}, ${r.message}`, { ...r });
    });
  }

  /** One job on one target: skipped if the same job is already going or waiting there, else queued behind the target's other work. */
  private async once(targetName: string, job: Job, work: (log: NonNullable<SchedulerOptions['log']>) => Promise<void>): Promise<void> {
    const log = this.options.log ?? (() => undefined);
    const what = job === 'run' ? `backup to ${targetName}` : `prune of ${targetName}`;
    const key = `${job}:${targetName}`;
    if (this.running.has(key)) {
      log(`${what} skipped: the previous ${job} is still going`, { target: targetName, job });
      return;
    }
    this.running.add(key);
    try {
      if (this.queues.has(targetName)) log(`${what} waits: a ${job === 'run' ? 'prune' : 'run'} of the target is still going`, { target: targetName, job });
      await this.serially(targetName, async () => {
        try {
          log(`scheduled ${what} starting`, { target: targetName, job });
          await work(log);
        } catch (error) {
          log(`scheduled ${what} failed: ${(error as Error).message}`, { target: targetName, job, error: (error as Error).message });
        }
      });
    } finally {
      this.running.delete(key);
    }
  }

  /** Runs work once everything queued before it on the target is done. */
  private serially(targetName: string, work: () => Promise<void>): Promise<void> {
    const ahead = this.queues.get(targetName) ?? Promise.resolve();
    const mine = ahead.then(work);
    this.queues.set(targetName, mine);
    return mine.finally(() => {
      if (this.queues.get(targetName) === mine) this.queues.delete(targetName);
    });
  }
}
