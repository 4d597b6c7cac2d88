// `egov-ops audit-log ...`: verify the hash chain, list records.

import type { Command } from 'commander';
import { exitCodes, listAudit, verifyAuditLog } from '../core/index.js';
import { outputFor, withOpenSuite, type GlobalOptions, type Suite } from './context.js';

/** Adds `audit-log verify|list` to the egov-ops program. */
export function registerAuditLogCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const withSuite = <T>(work: (suite: Suite) => Promise<T>): Promise<T> => withOpenSuite(globals(), work);

  const auditLog = program.command('audit-log').description('the tamper-evident audit log');

  auditLog
    .command('verify')
    .description('check every link of the hash chain; reports the first broken one')
    .action(async () =>
      withSuite(async (suite) => {
        const showProgress = !globals().json && process.stderr.isTTY;
        const result = await verifyAuditLog(suite.database, showProgress ? (n) => process.stderr.write(`\rchecked ${n} records`) : undefined);
        if (showProgress) process.stderr.write('\n');
        out(result, () => (result.ok ? `audit log intact: ${result.records} records, chain verified` : `audit log BROKEN at record ${result.firstBreak!.id}: ${result.firstBreak!.reason} (${result.records} records verified before it)`));
        if (!result.ok) process.exitCode = exitCodes.verificationFailed;
      }),
    );

  auditLog
    .command('list')
    .description('the newest audit records')
    .option('--action <action>', 'only this action, e.g. ca.issue')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .action(async (o) =>
      withSuite(async (suite) => {
        const records = await listAudit(suite.database, { ...(o.action ? { action: o.action } : {}), limit: o.limit });
        out(records, () => records.map((r) => `${r.id}  ${r.at}  ${r.outcome.padEnd(8)} ${r.action.padEnd(14)} ${r.actor}@${r.source}  ${r.object}${r.outcome !== 'success' ? `  ${String(r.detail.reason ?? '')}` : ''}`).join('\n') || 'no records');
      }),
    );
  return auditLog;
}
