// The schedule runner for `egov-ops serve`: each target's cron-like schedule
// runs every plan that goes to it. One run per target at a time; a run that
// is still going when the next is due is skipped (and said so), never stacked.
// Failures are recorded by the service and emitted as its 'run' events.

import type { BackupService } from './service.js';

export interface SchedulerOptions {
  /** Told about each start, skip, result and failure. */
  log?: (line: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
}

export class BackupScheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<string>();
  private stopped = true;

  constructor(
    private readonly service: BackupService,
    private readonly options: SchedulerOptions = {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    for (const target of this.service.settings.targets.values()) this.arm(target.name);
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }

  /** When each target runs next. */
  nextRuns(): Record<string, string> {
    const now = (this.options.now ?? (() => new Date()))();
    return Object.fromEntries([...this.service.settings.targets.values()].map((t) => [t.name, t.schedule.next(now).toISOString()]));
  }

  private arm(targetName: string): void {
    if (this.stopped) return;
    const target = this.service.settings.targets.get(targetName)!;
    const now = (this.options.now ?? (() => new Date()))();
    const due = target.schedule.next(now);
    // setTimeout holds at most ~24.8 days: re-arm in steps.
    const delay = Math.min(due.getTime() - now.getTime(), 2 ** 31 - 1);
    const timer = setTimeout(() => {
      if (Date.now() + 1000 < due.getTime()) return this.arm(targetName);
      void this.fire(targetName).finally(() => this.arm(targetName));
    }, delay);
    timer.unref();
    this.timers.set(targetName, timer);
  }

  /** Runs the target's plans now (the timer's work; exposed for tests and a "run now" button). */
  async fire(targetName: string): Promise<void> {
    const log = this.options.log ?? (() => undefined);
    if (this.running.has(targetName)) {
      log(`backup to ${targetName} skipped: the previous run is still going`, { target: targetName });
      return;
    }
    this.running.add(targetName);
    try {
      log(`scheduled backup to ${targetName} starting`, { target: targetName });
      const results = await this.service.run({ target: targetName });
      for (const r of results) log(`scheduled backup ${r.plan} -> ${r.target}: ${r.status}, ${r.message}`, { ...r });
    } catch (error) {
      log(`scheduled backup to ${targetName} failed: ${(error as Error).message}`, { target: targetName, error: (error as Error).message });
    } finally {
      this.running.delete(targetName);
    }
  }
}
