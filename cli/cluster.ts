// `egov-ops cluster status`: several `serve` instances on one PostgreSQL:
// who holds the scheduler lease, which instances heartbeat, which due times
// ran where (docs/deployment.md).

import type { Command } from 'commander';
import { clusterStatus, openDatabase } from '../core/index.js';
import { outputFor, resolveConfig, type GlobalOptions } from './context.js';

/** Adds `cluster status` to the egov-ops program. */
export function registerClusterCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const cluster = program.command('cluster').description('several serve instances on one PostgreSQL: the scheduler lease, instances, job runs');
  cluster
    .command('status')
    .description('who holds the scheduler lease, which instances heartbeat, the newest scheduled runs')
    .option('--limit <n>', 'job runs to show', (v) => Number(v), 20)
    .action(async (o) => {
      const config = resolveConfig(globals());
      const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
      try {
        const status = await clusterStatus(database, o.limit);
        out(status, () => {
          if (status.dialect === 'sqlite') return `one instance (SQLite at ${database.location}): scheduled work runs in it, no lease`;
          const lines = [
            status.lease ? `scheduler lease: ${status.lease.holder}, ${status.lease.expiresInMs > 0 ? `renewed, expires in ${Math.round(status.lease.expiresInMs / 1000)} s` : `EXPIRED ${Math.round(-status.lease.expiresInMs / 1000)} s ago (its holder is gone; the next heartbeat takes it over)`}` : 'scheduler lease: nobody holds it (no instance running, or all stopped cleanly)',
            ...status.instances.map((i) => `instance ${i.id}${i.holdsLease ? ' (holder)' : ''}: heartbeat ${Math.round(i.heartbeatAgeMs / 1000)} s ago, since ${i.startedAt}`),
            ...status.runs.map((r) => `${r.due}  ${r.job.padEnd(28)} ${r.instance}  ${r.ended ? (r.ok ? 'ok' : `FAILED ${r.error ?? ''}`) : 'running'}${r.attempts > 1 ? ` (taken over, attempt ${r.attempts})` : ''}`),
          ];
          return lines.join('\n');
        });
      } finally {
        await database.close();
      }
    });
  return cluster;
}
