// `egov-ops backup …`: run, prune, drill, restore, status, snapshots, locks, unlock.
// Parses arguments, calls backup/, prints what happened.

import { Command } from 'commander';
import { BackupService, describeLock, type DrillResult, type PruneResult, type RunResult, type StatusReport, type TargetStatus } from '../backup/index.js';
import { EgovError, errorCodes, exitCodes, openDatabase } from '../core/index.js';
import { cliActor, passphraseSource, resolveConfig, type GlobalOptions } from './context.js';

const mib = (n: number | null | undefined) => (n == null ? '-' : n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

function describeRun(r: RunResult): string {
  const lines = [`${r.plan} -> ${r.target}: ${r.status}${r.repositoryCreated ? ' (repository created)' : ''}`, `  ${r.message}`];
  if (r.snapshotId) lines.push(`  files ${r.filesTotal} (${r.filesNew} new, ${r.filesChanged} changed), ${mib(r.bytesAdded)} added of ${mib(r.bytesTotal)}`);
  if (r.retention) lines.push(`  retention: ${r.retention.message}`);
  return lines.join('\n');
}

function describePrune(p: PruneResult): string {
  const counts = p.ok && p.removed !== null ? `, ${p.removed} snapshot(s) removed, ${p.kept} kept` : '';
  return [`${p.plan} -> ${p.target}: ${p.ok ? 'ok' : 'FAILED'}${counts} (${p.seconds} s)`, `  ${p.message}`].join('\n');
}

/** The keep-* rules as an operator wrote them: "keepLast 3, keepDaily 7". */
const describeRetention = (retention: TargetStatus['retention']) =>
  Object.entries(retention)
    .filter(([, n]) => n)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

function describeLastPrune(last: TargetStatus['lastPrune']): string[] {
  if (!last) return ['  last prune: never'];
  const head = `  last prune ${last.at}: ${last.ok ? 'ok' : 'FAILED'}${last.removed !== null ? `, ${last.removed} snapshot(s) removed` : ''}`;
  return [head, ...last.plans.map((p) => `    ${p.plan}: ${p.message}`)];
}

function describeDrill(d: DrillResult): string {
  return [
    `drill of ${d.plan} on ${d.target}: ${d.ok ? 'PASSED' : 'FAILED'}${d.snapshot ? ` (snapshot ${d.snapshot.slice(0, 8)} of ${d.snapshotTime})` : ''}`,
    `  RTO achieved ${d.rtoSeconds ?? '-'} s (restore ${d.restoreSeconds ?? '-'} s + verify ${d.verifySeconds ?? '-'} s), RPO achieved ${d.rpoSeconds ?? '-'} s`,
    ...d.checks.map((c) => `  [${c.skipped ? 'skip' : c.ok ? ' ok ' : 'FAIL'}] ${c.name}: ${c.detail}`),
  ].join('\n');
}

function describeStatus(s: StatusReport): string {
  const lines: string[] = [];
  for (const t of s.targets) {
    lines.push(`${t.target} (${t.kind}${t.offsite ? ', off-site' : ', on-site'}) ${t.repository}`);
    lines.push(`  schedule ${t.schedule}, next ${t.nextRun}`);
    lines.push(`  retention ${describeRetention(t.retention)}; prune schedule ${t.pruneSchedule}, next ${t.nextPrune}`);
    lines.push(t.lastRun ? `  last run ${t.lastRun.endedAt}: ${t.lastRun.status}${t.lastRun.resticExitCode !== null ? ` (restic exit ${t.lastRun.resticExitCode})` : ''}: ${t.lastRun.message}` : '  last run: never');
    lines.push(...describeLastPrune(t.lastPrune));
    lines.push(t.lastDrill ? `  last drill ${t.lastDrill.at}: ${t.lastDrill.ok ? 'passed' : `FAILED (${t.lastDrill.failedChecks.join(', ')})`}` : '  last drill: never');
    lines.push(`  RPO now ${t.rpoHoursNow ?? '-'} h (objective ${t.objectives.rpoHours} h${t.rpoMet === null ? '' : t.rpoMet ? ', met' : ', NOT met'}); RTO achieved ${t.rtoHoursAchieved ?? '-'} h (objective ${t.objectives.rtoHours} h${t.rtoMet === null ? '' : t.rtoMet ? ', met' : ', NOT met'})`);
    lines.push(`  DR level ${t.drLevel.level}${t.drLevel.name ? ` ${t.drLevel.name} (${t.drLevel.nameZh})` : ''}`);
  }
  const dr = s.drLevel;
  lines.push('', `disaster-recovery capability level: ${dr.level}${dr.name ? ` ${dr.name} (${dr.nameZh})` : ''}  [${dr.edition}]`);
  if (dr.nextLevel) lines.push(`level ${dr.nextLevel.level} (${dr.nextLevel.name}) not reached:`, ...dr.nextLevel.missing.map((m) => `  - ${m}`));
  return lines.join('\n');
}

/** Adds `backup` and its subcommands to the egov-ops program. */
export function registerBackupCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = (data: unknown, human: () => string) => {
    const text = globals().json ? JSON.stringify(data, null, 2) : human();
    process.stdout.write(text.endsWith('\n') ? text : text + '\n');
  };
  const withService = async <T>(work: (service: BackupService) => Promise<T>, withPassphrase = false): Promise<T> => {
    const options = globals();
    const config = resolveConfig(options);
    const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
    try {
      const service = new BackupService({
        config,
        database,
        actor: cliActor(),
        ...(options.config ? { configFile: options.config } : process.env.EGOV_OPS_CONFIG ? { configFile: process.env.EGOV_OPS_CONFIG } : {}),
        ...(withPassphrase ? { caPassphrase: passphraseSource(options) } : {}),
      });
      return await work(service);
    } finally {
      await database.close();
    }
  };

  const backup = program.command('backup').description('backups and disaster recovery: restic to same-city and remote repositories, restore drills, RTO/RPO, DR level');

  backup
    .command('run')
    .description("back up now: every plan to every target it names (or the ones given). Retention is not applied unless --prune is given: it runs on each target's pruneSchedule inside `serve`, or with `backup prune`")
    .option('--plan <name>', 'only this plan')
    .option('--target <name>', 'only this target')
    .option('--prune', 'also apply retention (restic forget --prune) right after each backup')
    .action(async (o) =>
      withService(async (service) => {
        const tty = !globals().json && process.stderr.isTTY;
        let results: RunResult[];
        try {
          results = await service.run({
            ...(o.plan ? { plan: o.plan } : {}),
            ...(o.target ? { target: o.target } : {}),
            prune: Boolean(o.prune),
            ...(tty
              ? {
                  onProgress: (p) =>
                    process.stderr.write(`\r${p.plan} -> ${p.target}: ${(p.percentDone * 100).toFixed(1)}%  ${p.filesDone}/${p.totalFiles} files  ${mib(p.bytesDone)}/${mib(p.totalBytes)}  ${p.secondsElapsed}s   `),
                }
              : {}),
          });
        } finally {
          if (tty) process.stderr.write('\n');
        }
        out(results, () => results.map(describeRun).join('\n'));
      }),
    );

  backup
    .command('prune')
    .description("apply retention now: restic forget --prune with each target's keep-* rules, for every plan that goes to it (or the ones given); `serve` does this on each target's pruneSchedule (default daily 04:30). Exits non-zero if any prune failed")
    .option('--plan <name>', 'only this plan')
    .option('--target <name>', 'only this target')
    .action(async (o) =>
      withService(async (service) => {
        const results = await service.prune({ ...(o.plan ? { plan: o.plan } : {}), ...(o.target ? { target: o.target } : {}) });
        out(results, () => results.map(describePrune).join('\n'));
        // Every pair was tried and reported; the exit code follows the first failure's kind (wrong password 5, unreachable 7, locked 4, ...).
        const failed = results.find((r) => !r.ok);
        if (failed) process.exitCode = errorCodes[failed.code ?? 'internal'].exit;
      }),
    );

  backup
    .command('drill')
    .description('restore the latest snapshot into a scratch directory and verify it; records RTO and RPO achieved')
    .option('--target <name>', 'target (default: the first)')
    .option('--plan <name>', 'plan (default: the first that goes to the target)')
    .option('--keep-scratch', 'keep the scratch directory for inspection')
    .action(async (o) =>
      withService(async (service) => {
        const result = await service.drill({ ...(o.target ? { target: o.target } : {}), ...(o.plan ? { plan: o.plan } : {}), keepScratch: Boolean(o.keepScratch) });
        out(result, () => describeDrill(result));
        if (!result.ok) process.exitCode = exitCodes.verificationFailed;
      }, true),
    );

  backup
    .command('restore')
    .description('restore a snapshot for a real recovery (refuses a non-empty directory without --force)')
    .requiredOption('--snapshot <id>', 'snapshot ID (or "latest")')
    .requiredOption('--to <dir>', 'directory to restore into')
    .option('--target <name>', 'target (default: the first)')
    .option('--dry-run', 'list what would be restored, write nothing')
    .option('--force', 'restore into a non-empty directory')
    .action(async (o) =>
      withService(async (service) => {
        const result = await service.restore({ snapshot: o.snapshot, to: o.to, ...(o.target ? { target: o.target } : {}), dryRun: Boolean(o.dryRun), force: Boolean(o.force) });
        out(result, () =>
          result.dryRun
            ? [...(result.list ?? []).map((f) => `${f.path}  ${f.size}`), `would restore ${result.files} files, ${mib(result.bytes)} into ${result.to}`].join('\n')
            : `restored ${result.files} files, ${mib(result.bytes)} from ${result.snapshot} into ${result.to} in ${result.seconds} s (verified by restic)`,
        );
      }),
    );

  backup
    .command('status')
    .description('per target: last run, last prune and the next, last drill, RPO/RTO against the objectives, and the DR capability level')
    .action(async () =>
      withService(async (service) => {
        const report = await service.status();
        out(report, () => describeStatus(report));
      }),
    );

  backup
    .command('snapshots')
    .description("a target's snapshots")
    .requiredOption('--target <name>', 'target')
    .option('--plan <name>', 'only this plan')
    .action(async (o) =>
      withService(async (service) => {
        const snapshots = await service.snapshots(o.target, o.plan);
        out(snapshots, () => snapshots.map((s) => `${s.shortId}  ${s.time}  ${s.tags.join(',')}  ${s.paths.join(' ')}`).join('\n') || 'no snapshots');
      }),
    );

  backup
    .command('locks')
    .description("a target's restic locks: who holds them, since when, stale or not (read without locking)")
    .requiredOption('--target <name>', 'target')
    .action(async (o) =>
      withService(async (service) => {
        const locks = await service.locks(o.target);
        out(locks, () => locks.map(describeLock).join('\n') || 'no locks');
      }),
    );

  backup
    .command('unlock')
    .description("remove a repository's stale restic locks (restic unlock: older than 30 minutes, or of a process on this host that is gone); says which were removed and which were left")
    .requiredOption('--target <name>', 'target')
    .option('--remove-all', 'remove every lock, not only stale ones (dangerous while a backup runs)')
    .action(async (o) =>
      withService(async (service) => {
        if (!o.target) throw new EgovError('bad-request', '--target is required');
        const result = await service.unlock(o.target, Boolean(o.removeAll));
        out(result, () => `${result.target}: ${result.message}`);
      }),
    );

  return backup;
}
