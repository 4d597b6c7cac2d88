// Several `serve` instances on one PostgreSQL: who runs the scheduled work.
//
// One instance at a time holds the scheduler lease (a row of cluster_lease),
// renewed by a heartbeat every few seconds and expiring in the database's
// own clock, so skewed application clocks do not matter. Only the holder
// claims due times, and each (job, due) is one row of cluster_job_run whose
// primary key admits it once: even two instances that both believe they hold
// the lease (a paused process waking up) cannot both run the same due time.
//
// When the holder dies, its lease expires (ttlMs) and the next instance to
// heartbeat takes it over; it then catches up (JobRunner.catchUp): the
// latest due time of each job that nobody ran, or whose runner's heartbeat
// stopped before the run ended, is claimed again and run once. So a due
// time is run to its end exactly once, whoever dies when.
//
// On SQLite there is one instance (the file lives on one machine), and the
// single-instance coordinator is used.

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { sql } from 'kysely';
import type { Coordinator, JobRunRecord } from './jobs.js';
import { singleInstance } from './jobs.js';
import type { Database } from './storage/database.js';

export const SCHEDULER_LEASE = 'scheduler';

export interface ClusterOptions {
  /** This instance's name (default host:pid:random). */
  instance?: string;
  /** How long a lease or a heartbeat holds without renewal (default 15 s). */
  ttlMs?: number;
  /** How often the lease and the heartbeat are renewed (default ttlMs / 3). */
  heartbeatMs?: number;
  /** How far back a new holder looks for due times nobody ran (default 60 s). */
  catchUpMs?: number;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', line: string, fields?: Record<string, unknown>) => void;
}

export interface LeaseView {
  name: string;
  holder: string;
  acquiredAt: number;
  expiresAt: number;
}

// The database's clock, in epoch milliseconds.
const NOW_MS = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** The coordinator for `database`: the PostgreSQL lease, or the single instance on SQLite. */
export function coordinatorFor(database: Database, options: ClusterOptions = {}): Coordinator {
  return database.dialect === 'postgres' ? new PostgresCoordinator(database, options) : singleInstance;
}

export class PostgresCoordinator implements Coordinator {
  readonly instance: string;
  readonly catchUpMs: number;
  private readonly ttlMs: number;
  private readonly heartbeatMs: number;
  private readonly listeners: Array<(takeOver: boolean) => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private leading = false;
  private closed = false;

  constructor(
    private readonly database: Database,
    private readonly options: ClusterOptions = {},
  ) {
    if (database.dialect !== 'postgres') throw new Error('the PostgreSQL coordinator needs a PostgreSQL database');
    this.instance = options.instance ?? `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.ttlMs = options.ttlMs ?? 15_000;
    this.heartbeatMs = options.heartbeatMs ?? Math.max(100, Math.floor(this.ttlMs / 3));
    this.catchUpMs = options.catchUpMs ?? 60_000;
  }

  /** Whether this instance held the lease at its last heartbeat. */
  get isLeader(): boolean {
    return this.leading;
  }

  onLeadership(listener: (takeOver: boolean) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.beat(), this.heartbeatMs);
    this.timer.unref();
    await this.beat();
  }

  /** One heartbeat: the instance row, then the lease (renewed if ours, taken if expired). */
  beat(): Promise<void> {
    if (this.beating) return this.beating;
    this.beating = (async () => {
      try {
        const db = this.database.db;
        await sql`insert into cluster_instance (id, host, pid, started_at, heartbeat_at)
                  values (${this.instance}, ${os.hostname()}, ${process.pid}, ${NOW_MS}, ${NOW_MS})
                  on conflict (id) do update set heartbeat_at = excluded.heartbeat_at`.execute(db);
        // A lease row left behind (a holder that died, or this instance after a
        // database outage) means due times may have gone unrun: catch them up.
        // No row: a fresh cluster, or every instance stopped cleanly; nothing to catch up.
        const before = this.leading ? undefined : await db.selectFrom('cluster_lease').select('holder').where('name', '=', SCHEDULER_LEASE).executeTakeFirst();
        // `previous` is read in the statement's snapshot, before the upsert: a
        // lease of ours that had already expired (a heartbeat held up longer
        // than the lease) means our claims were refused meanwhile.
        const won = await sql<{ holder: string; acquired_at: number; lapsed: boolean | null }>`
          with previous as (select holder, expires_at from cluster_lease where name = ${SCHEDULER_LEASE})
          insert into cluster_lease as l (name, holder, acquired_at, expires_at)
          values (${SCHEDULER_LEASE}, ${this.instance}, ${NOW_MS}, ${NOW_MS} + ${this.ttlMs})
          on conflict (name) do update
            set holder = excluded.holder,
                acquired_at = case when l.holder = excluded.holder then l.acquired_at else excluded.acquired_at end,
                expires_at = excluded.expires_at
            where l.holder = excluded.holder or l.expires_at < excluded.acquired_at
          returning holder, acquired_at,
            (select p.holder = l.holder and p.expires_at < ${NOW_MS} from previous p) as lapsed`.execute(db);
        const leading = won.rows.length === 1 && !this.closed;
        if (leading && this.leading && won.rows[0]!.lapsed) {
          // Still ours, but it lapsed in between: due times in the gap went unrun.
          this.options.log?.('warn', `instance ${this.instance}: the scheduler lease lapsed before this heartbeat renewed it; catching up`, { instance: this.instance });
          for (const listener of this.listeners) listener(true);
        } else if (leading && !this.leading) {
          this.leading = true;
          this.options.log?.('info', `instance ${this.instance} holds the scheduler lease`, { instance: this.instance });
          for (const listener of this.listeners) listener(before !== undefined);
        } else if (!leading && this.leading) {
          this.leading = false;
          this.options.log?.('warn', `instance ${this.instance} lost the scheduler lease`, { instance: this.instance });
        }
      } catch (error) {
        // The database is away: stop claiming until a heartbeat gets through (the lease may expire meanwhile).
        if (this.leading) this.options.log?.('error', `scheduler lease heartbeat failed: ${(error as Error).message}`);
        this.leading = false;
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  async claim(job: string, due: Date, _leaseMs: number): Promise<boolean> {
    if (!this.leading || this.closed) return false;
    // Ours if the lease is still ours in the database's clock and the due
    // time is unclaimed, or claimed by an instance whose heartbeat stopped
    // before the run ended.
    const result = await sql<{ instance: string }>`
      insert into cluster_job_run as r (job, due, instance, claimed_at, attempts)
      select ${job}, ${due.toISOString()}, ${this.instance}, ${NOW_MS}, 1
        where exists (select 1 from cluster_lease where name = ${SCHEDULER_LEASE} and holder = ${this.instance} and expires_at > ${NOW_MS})
      on conflict (job, due) do update
        set instance = excluded.instance, claimed_at = excluded.claimed_at, attempts = r.attempts + 1
        where r.ended_at is null and r.instance <> excluded.instance
          and not exists (select 1 from cluster_instance i where i.id = r.instance and i.heartbeat_at > ${NOW_MS} - ${this.ttlMs})
      returning instance`.execute(this.database.db);
    return result.rows.length === 1;
  }

  async finished(job: string, due: Date, outcome: JobRunRecord): Promise<void> {
    await sql`update cluster_job_run set ended_at = ${NOW_MS}, ok = ${outcome.ok ? 1 : 0}, error = ${outcome.error ?? null}
              where job = ${job} and due = ${due.toISOString()} and instance = ${this.instance}`.execute(this.database.db);
  }

  /** Gives the lease up (another instance takes it at its next heartbeat) and stops the heartbeat. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    this.leading = false;
    await sql`delete from cluster_lease where name = ${SCHEDULER_LEASE} and holder = ${this.instance}`.execute(this.database.db).catch(() => undefined);
    await sql`delete from cluster_instance where id = ${this.instance}`.execute(this.database.db).catch(() => undefined);
  }
}

/** The scheduler lease as the database has it now, or null. */
export async function schedulerLease(database: Database): Promise<LeaseView | null> {
  const row = await database.db.selectFrom('cluster_lease').selectAll().where('name', '=', SCHEDULER_LEASE).executeTakeFirst();
  return row ? { name: row.name, holder: row.holder, acquiredAt: Number(row.acquired_at), expiresAt: Number(row.expires_at) } : null;
}

export interface ClusterStatus {
  dialect: Database['dialect'];
  /** The scheduler lease, with how long it has left in the database's clock. */
  lease: (LeaseView & { expiresInMs: number }) | null;
  /** Instances with their heartbeat's age (the lease's holder among them). */
  instances: Array<{ id: string; host: string; pid: number; startedAt: string; heartbeatAgeMs: number; holdsLease: boolean }>;
  /** The newest claimed due times, newest first. */
  runs: Array<{ job: string; due: string; instance: string; attempts: number; ended: boolean; ok: boolean | null; error: string | null }>;
}

/** What `egov-ops cluster status` shows: who holds the lease, who heartbeats, what ran. */
export async function clusterStatus(database: Database, limit = 20): Promise<ClusterStatus> {
  const now = database.dialect === 'postgres' ? Number((await sql<{ now: number }>`select ${NOW_MS} as now`.execute(database.db)).rows[0]!.now) : Date.now();
  const lease = await schedulerLease(database);
  const instances = await database.db.selectFrom('cluster_instance').selectAll().orderBy('started_at').execute();
  const runs = await database.db.selectFrom('cluster_job_run').selectAll().orderBy('claimed_at', 'desc').limit(limit).execute();
  return {
    dialect: database.dialect,
    lease: lease ? { ...lease, expiresInMs: lease.expiresAt - now } : null,
    instances: instances.map((i) => ({ id: i.id, host: i.host, pid: i.pid, startedAt: new Date(Number(i.started_at)).toISOString(), heartbeatAgeMs: now - Number(i.heartbeat_at), holdsLease: lease?.holder === i.id })),
    runs: runs.map((r) => ({ job: r.job, due: r.due, instance: r.instance, attempts: r.attempts, ended: r.ended_at !== null, ok: r.ok === null ? null : r.ok === 1, error: r.error })),
  };
}
