// The job runner of `serve`: due times aligned to the clock, no stacking,
// a coordinator that decides which instance runs a due time, stop that waits.
import { describe, expect, it } from 'vitest';
import { JobRunner, parseSchedule, type Coordinator } from '../core/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('JobRunner', () => {
  it('runs an interval job at aligned due times and reports it', async () => {
    const dues: number[] = [];
    const runner = new JobRunner();
    runner.add({ name: 'tick', schedule: { everyMs: 40 }, run: async ({ due }) => void dues.push(due.getTime()) });
    runner.start();
    await sleep(260);
    await runner.stop();
    expect(dues.length).toBeGreaterThanOrEqual(3);
    for (const due of dues) expect(due % 40).toBe(0);
    const [status] = runner.status();
    expect(status).toMatchObject({ name: 'tick', runs: dues.length, failures: 0, running: false, nextDue: null });
  });

  it('skips a due time while the previous run is still going, never stacks', async () => {
    let concurrent = 0;
    let most = 0;
    const runner = new JobRunner();
    runner.add({
      name: 'slow',
      schedule: { everyMs: 20 },
      run: async () => {
        concurrent++;
        most = Math.max(most, concurrent);
        await sleep(90);
        concurrent--;
      },
    });
    runner.start();
    await sleep(300);
    await runner.stop();
    expect(most).toBe(1);
    expect(runner.status()[0]!.skipped).toBeGreaterThan(0);
  });

  it('runs only the due times the coordinator gives this instance, and tells it how each ended', async () => {
    const finished: string[] = [];
    let asked = 0;
    // Every other due time of each job is ours (counted per job: one shared count can give one job only the even ones).
    const askedPerJob = new Map<string, number>();
    const everyOther: Coordinator = {
      claim: async (job) => {
        asked++;
        const n = (askedPerJob.get(job) ?? 0) + 1;
        askedPerJob.set(job, n);
        return n % 2 === 1;
      },
      finished: async (job, _due, record) => void finished.push(`${job}:${record.ok ? 'ok' : record.error}`),
    };
    let runs = 0;
    const runner = new JobRunner({ coordinator: everyOther });
    runner.add({ name: 'half', schedule: { everyMs: 30 }, run: async () => void runs++ });
    runner.add({ name: 'broken', schedule: { everyMs: 30 }, run: async () => { throw new Error('disk full'); } });
    runner.start();
    await sleep(250);
    await runner.stop();
    expect(asked).toBeGreaterThanOrEqual(4);
    expect(runs + finished.filter((f) => f.startsWith('broken')).length).toBe(finished.length);
    expect(finished.some((f) => f === 'broken:disk full')).toBe(true);
    expect(runner.status().find((s) => s.name === 'broken')!.failures).toBeGreaterThan(0);
  });

  it('aborts a running job on stop and waits for it', async () => {
    let sawAbort = false;
    const runner = new JobRunner();
    runner.add({
      name: 'long',
      schedule: { everyMs: 10 },
      run: ({ signal }) =>
        new Promise<void>((resolve) => signal.addEventListener('abort', () => {
          sawAbort = true;
          resolve();
        })),
    });
    runner.start();
    await sleep(40);
    await runner.stop();
    expect(sawAbort).toBe(true);
    expect(runner.status()[0]!.running).toBe(false);
  });

  it('computes cron due times and refuses a job added twice', () => {
    const runner = new JobRunner();
    const job = { name: 'nightly', schedule: parseSchedule('30 4 * * *'), run: async () => undefined };
    runner.add(job);
    expect(() => runner.add(job)).toThrow(/added twice/);
    const next = JobRunner.nextDue(job.schedule, new Date(2026, 11, 7, 5, 0));
    expect([next.getDate(), next.getHours(), next.getMinutes()]).toEqual([8, 4, 30]);
    expect(JobRunner.nextDue({ everyMs: 60_000 }, new Date(90_500)).getTime()).toBe(120_000);
  });
});
