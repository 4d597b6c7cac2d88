// Scheduled work on several instances sharing one PostgreSQL: one holds the
// scheduler lease and runs each due time once; when it dies (its heartbeat
// stops without giving the lease up) another takes over and runs the due
// times nobody ran. Migrations run once when instances open the database together.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { JobRunner, migrations, openDatabase, PostgresCoordinator, schedulerLease, type ClusterStatus, type Database } from '../core/index.js';
import { usePostgres } from './support/postgres.js';

const postgres = usePostgres();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const open: Database[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close().catch(() => undefined);
});

interface Instance {
  name: string;
  coordinator: PostgresCoordinator;
  runner: JobRunner;
  ran: string[];
}

function instance(database: Database, name: string, everyMs: number, ttlMs: number): Instance {
  const coordinator = new PostgresCoordinator(database, { instance: name, ttlMs, heartbeatMs: 250, catchUpMs: 10_000 });
  const runner = new JobRunner({ coordinator });
  const ran: string[] = [];
  runner.add({
    name: 'tick',
    schedule: { everyMs },
    run: async ({ due }) => {
      ran.push(due.toISOString());
      await sleep(50);
    },
  });
  return { name, coordinator, runner, ran };
}

/** Dies as SIGKILL would leave it: no more heartbeats, no more runs, the lease left in place to expire. */
function die(victim: Instance): void {
  clearInterval((victim.coordinator as unknown as { timer: NodeJS.Timeout }).timer);
  (victim.coordinator as unknown as { closed: boolean }).closed = true;
  (victim.coordinator as unknown as { leading: boolean }).leading = false;
  victim.coordinator.close = async () => undefined; // a killed process gives nothing up
  void victim.runner.stop();
}

describe('the PostgreSQL scheduler lease', () => {
  it('runs every due time exactly once across three instances and takes over when the holder dies', async () => {
    const url = await postgres.createDatabase('cluster_lease');
    // Three instances open (and migrate) the database at once.
    const databases = await Promise.all([0, 1, 2].map(() => openDatabase({ dataDir: '/nonexistent', url })));
    open.push(...databases);
    const applied = await databases[0]!.db.selectFrom('kysely_migration' as never).select('name' as never).execute();
    expect(applied.length).toBe(Object.keys(migrations).length);

    const everyMs = 500;
    const ttlMs = 2000;
    const instances = databases.map((d, i) => instance(d, `i${i}`, everyMs, ttlMs));
    const startedAt = Date.now();
    for (const i of instances) i.runner.start();
    await sleep(3000);
    const lease = await schedulerLease(databases[0]!);
    expect(lease).not.toBeNull();
    const holder = instances.find((i) => i.name === lease!.holder)!;
    expect(holder.coordinator.isLeader).toBe(true);
    expect(instances.filter((i) => i.coordinator.isLeader)).toHaveLength(1);

    const killedAt = Date.now();
    die(holder);
    // Wait for another to hold the lease.
    let takenOver: number | undefined;
    while (Date.now() - killedAt < 20_000) {
      const now = await schedulerLease(databases[1]!);
      if (now && now.holder !== holder.name) {
        takenOver = Date.now();
        break;
      }
      await sleep(100);
    }
    expect(takenOver).toBeDefined();
    const takeOverMs = takenOver! - killedAt;
    expect(takeOverMs).toBeLessThan(30_000);
    await sleep(3000);
    const endedAt = Date.now();
    for (const i of instances) if (i !== holder) await i.runner.stop();

    // Every due time in the window ran once, and only once, wherever it ran.
    const rows = await databases[0]!.db.selectFrom('cluster_job_run').selectAll().where('job', '=', 'tick').orderBy('due').execute();
    const all = instances.flatMap((i) => i.ran);
    expect(new Set(all).size).toBe(all.length);
    expect(rows.map((r) => r.due).sort()).toEqual([...all].sort());
    expect(rows.every((r) => r.ended_at !== null && r.ok === 1)).toBe(true);
    // No gaps: from the first claimed due time to the last, each period has its run (the dead holder's gap was caught up).
    const dues = rows.map((r) => Date.parse(r.due));
    for (let i = 1; i < dues.length; i++) expect(dues[i]! - dues[i - 1]!).toBe(everyMs);
    expect(dues[0]!).toBeLessThanOrEqual(startedAt + 2 * everyMs + ttlMs);
    expect(dues[dues.length - 1]!).toBeGreaterThanOrEqual(endedAt - 4 * everyMs);
    // Runs happened on more than one instance: the holder before, another after.
    expect(new Set(rows.map((r) => r.instance)).size).toBeGreaterThanOrEqual(2);
    console.log(`take-over after the holder died: ${takeOverMs} ms (lease ttl ${ttlMs} ms); ${rows.length} due times, each run once`);
  }, 90_000);

  it('runs again a due time whose runner died before it ended, once', async () => {
    const url = await postgres.createDatabase('cluster_orphan');
    const [a, b] = await Promise.all([0, 1].map(() => openDatabase({ dataDir: '/nonexistent', url })));
    open.push(a!, b!);
    // (url is used by the CLI below)
    const first = new PostgresCoordinator(a!, { instance: 'first', ttlMs: 1000, heartbeatMs: 200 });
    await first.start();
    expect(first.isLeader).toBe(true);
    const due = new Date(Math.floor(Date.now() / 1000) * 1000);
    expect(await first.claim('nightly', due, 1000)).toBe(true);
    expect(await first.claim('nightly', due, 1000)).toBe(false);
    // first dies mid-run: its heartbeat stops, the run never ends.
    clearInterval((first as unknown as { timer: NodeJS.Timeout }).timer);
    const second = new PostgresCoordinator(b!, { instance: 'second', ttlMs: 1000, heartbeatMs: 200 });
    await second.start();
    expect(second.isLeader).toBe(false); // the lease has not expired yet
    expect(await second.claim('nightly', due, 1000)).toBe(false);
    await sleep(1600);
    expect(second.isLeader).toBe(true);
    expect(await second.claim('nightly', due, 1000)).toBe(true);
    await second.finished('nightly', due, { job: 'nightly', due: due.toISOString(), startedAt: '', endedAt: '', ok: true });
    // Ended: nobody claims it again.
    expect(await second.claim('nightly', due, 1000)).toBe(false);
    const row = await a!.db.selectFrom('cluster_job_run').selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ instance: 'second', attempts: 2, ok: 1 });
    // `egov-ops cluster status` shows the same.
    const shown = spawnSync(process.execPath, [path.resolve('dist/egov-ops/main.js'), '--data-dir', '/nonexistent', '--json', 'cluster', 'status'], { env: { ...process.env, EGOV_OPS_DATABASE_URL: url }, encoding: 'utf8' });
    expect(shown.status, shown.stderr).toBe(0);
    const status = JSON.parse(shown.stdout) as ClusterStatus;
    expect(status.lease?.holder).toBe('second');
    expect(status.instances.find((i) => i.id === 'second')?.holdsLease).toBe(true);
    expect(status.runs).toEqual([expect.objectContaining({ job: 'nightly', instance: 'second', attempts: 2, ended: true, ok: true })]);
    await second.close();
    expect(await schedulerLease(a!)).toBeNull();
  }, 60_000);
  it('catches up the due times refused while its own lease had lapsed (a heartbeat held up past the lease)', async () => {
    const url = await postgres.createDatabase('cluster_lapse');
    const database = await openDatabase({ dataDir: '/nonexistent', url });
    open.push(database);
    const everyMs = 200;
    const ttlMs = 1000;
    const alone = instance(database, 'alone', everyMs, ttlMs);
    alone.runner.start();
    await sleep(1500);
    expect(alone.coordinator.isLeader).toBe(true);
    // The heartbeat is held up (a stalled connection, a paused VM) for more than the lease:
    // the process still thinks it leads, the database refuses its claims.
    clearInterval((alone.coordinator as unknown as { timer: NodeJS.Timeout }).timer);
    await sleep(ttlMs + 1200);
    const refusedSoFar = await database.db.selectFrom('cluster_job_run').select('due').where('job', '=', 'tick').orderBy('due').execute();
    const last = Date.parse(refusedSoFar[refusedSoFar.length - 1]!.due);
    expect(Date.now() - last, 'claims went on while the lease had expired').toBeGreaterThan(everyMs * 3);
    // The heartbeat comes back and renews the lease: the gap is caught up.
    (alone.coordinator as unknown as { timer: NodeJS.Timeout | undefined }).timer = undefined;
    const renewedAt = Date.now();
    await alone.coordinator.start();
    // The catch-up runs the missed due times one after the other (each takes ~100 ms here).
    const contiguous = async () => {
      const dues = (await database.db.selectFrom('cluster_job_run').select('due').where('job', '=', 'tick').orderBy('due').execute()).map((r) => Date.parse(r.due));
      return dues[dues.length - 1]! > renewedAt + 2 * everyMs && dues.every((d, i) => i === 0 || d - dues[i - 1]! === everyMs);
    };
    for (let n = 0; n < 60 && !(await contiguous()); n++) await sleep(250);
    await alone.runner.stop();
    const rows = await database.db.selectFrom('cluster_job_run').selectAll().where('job', '=', 'tick').orderBy('due').execute();
    const dues = rows.map((r) => Date.parse(r.due));
    expect(dues[dues.length - 1]!, 'no runs after the lease was renewed').toBeGreaterThan(renewedAt);
    for (let i = 1; i < dues.length; i++) expect(dues[i]! - dues[i - 1]!, `a gap after ${rows[i - 1]!.due}`).toBe(everyMs);
    expect(new Set(alone.ran).size).toBe(alone.ran.length);
  }, 60_000);
});
