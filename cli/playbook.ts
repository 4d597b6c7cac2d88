// `egov-ops playbook ...`: list, show and run the runbooks (playbooks/),
// list past runs and read their logs, decide a four-eyes gate.

import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { EgovError, openDatabase, recordAudit } from '../core/index.js';
import { findRunbook, findRunLog, listRuns, Operator, parseParamPairs, readRunEvents, runRunbook, RUNBOOKS, type ApiIdentity, type ParamSpecs, type RunResult } from '../playbooks/index.js';
import { cliActor, outputFor, resolveConfig, type GlobalOptions } from './context.js';

interface ApiFlags {
  api?: string;
  cert?: string;
  key?: string;
  apiCa?: string;
  passwordFile?: string;
}

function apiIdentity(o: ApiFlags): ApiIdentity | undefined {
  const url = o.api ?? process.env.EGOV_OPS_API_URL;
  const certFile = o.cert ?? process.env.EGOV_OPS_CLIENT_CERT;
  const keyFile = o.key ?? process.env.EGOV_OPS_CLIENT_KEY;
  const caFile = o.apiCa ?? process.env.EGOV_OPS_API_CA;
  const passwordFile = o.passwordFile ?? process.env.EGOV_OPS_PASSWORD_FILE;
  if (!url && !certFile && !keyFile) return undefined;
  if (!url || !certFile || !keyFile || !caFile) throw new EgovError('bad-request', 'the operator\'s API identity needs all of --api URL, --cert FILE, --key FILE and --api-ca FILE');
  return { url: url.replace(/\/+$/, ''), certFile, keyFile, caFile, ...(passwordFile ? { passwordFile } : {}) };
}

const withApiOptions = (command: Command) =>
  command
    .option('--api <url>', 'the suite\'s HTTPS API, https://HOST:PORT (else EGOV_OPS_API_URL)')
    .option('--cert <file>', 'the operator\'s client certificate, PEM (else EGOV_OPS_CLIENT_CERT)')
    .option('--key <file>', 'its private key, PEM (else EGOV_OPS_CLIENT_KEY)')
    .option('--api-ca <file>', 'CA certificate(s) the server\'s certificate chains to, PEM (else EGOV_OPS_API_CA)')
    .option('--password-file <file>', 'the operator\'s password, to sign administrator roles in (else EGOV_OPS_PASSWORD_FILE)');

function humanRun(result: RunResult): string {
  const lines = result.steps.map((s) => `  ${s.status.padEnd(8)} ${s.name}${s.ms ? `  ${(s.ms / 1000).toFixed(1)} s` : ''}${s.attempts > 1 ? `  (${s.attempts} attempts)` : ''}${s.error ? `  ${s.error}` : ''}`);
  for (const r of result.rolledBack) lines.push(`  ${r.ok ? 'undone  ' : 'UNDO-ERR'} ${r.name}${r.error ? `  ${r.error}` : ''}`);
  return `${result.runbook} ${result.runId}: ${result.status}\n${lines.join('\n')}\nlog: ${result.logFile}`;
}

export function registerPlaybookCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const playbook = program.command('playbook').description('runbooks: the operators\' procedures, run step by step with a log (playbooks/)');

  playbook
    .command('list')
    .description('the runbooks')
    .action(() =>
      out(
        RUNBOOKS.map((r) => ({ name: r.name, title: r.title, description: r.description, steps: r.steps.length, changingSteps: r.steps.filter((s) => s.changes).length })),
        () => RUNBOOKS.map((r) => `${r.name.padEnd(26)} ${r.description}`).join('\n'),
      ),
    );

  playbook
    .command('show')
    .description('a runbook\'s parameters and steps')
    .argument('<name>', 'runbook')
    .action((name: string) => {
      const r = findRunbook(name);
      const params = Object.entries(r.params as ParamSpecs).map(([key, p]) => ({ name: key, type: p.type, required: Boolean(p.required), default: p.default ?? null, secret: Boolean(p.secret), values: p.values ?? null, description: p.description }));
      const steps = r.steps.map((s) => ({ name: s.name, description: s.description, changes: s.changes, gate: s.gate ?? null, timeoutMs: s.timeoutMs ?? 120_000, retries: s.retries ?? 0, rollback: Boolean(s.rollback), onFailure: s.onFailure ?? 'rollback' }));
      out({ name: r.name, title: r.title, description: r.description, params, steps }, () =>
        [
          `${r.name}: ${r.title}`,
          r.description,
          '',
          'parameters (--param KEY=VALUE):',
          ...params.map((p) => `  ${p.name.padEnd(16)} ${p.type}${p.values ? ` (${p.values.join('|')})` : ''}${p.required ? ', required' : p.default !== null ? `, default ${p.default}` : ', optional'}${p.secret ? ', secret' : ''}  ${p.description}`),
          '',
          'steps:',
          ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.name.padEnd(24)} ${s.changes ? 'changes' : 'reads  '}${s.gate ? ` gate:${s.gate}` : ''}${s.rollback ? ' rollback' : ''}${s.retries ? ` retries:${s.retries}` : ''}  ${s.description}`),
        ].join('\n'),
      );
    });

  withApiOptions(
    playbook
      .command('run')
      .description('run a runbook: each step with progress and timing; stops at the first failure (or follows the step\'s policy) and rolls back the done steps in reverse; writes DATA_DIR/playbooks/runs/RUN.jsonl and audit records; exits with the failure\'s code')
      .argument('<name>', 'runbook')
      .option('--param <key=value>', 'a parameter (repeat)', (v: string, all: string[]) => [...all, v], [] as string[])
      .option('--dry-run', 'show what each step would do (steps may read to say so); change nothing in the suite (the dry run is logged, not audited)')
      .option('--yes', 'answer yes to confirmation gates (four-eyes gates still wait for a second operator)')
      .option('--from <step>', 'resume a failed run from this step (the latest failed run of the runbook, or --run)')
      .option('--run <id-or-file>', 'the run to resume (default: the latest failed one)'),
  ).action(async (name: string, o: { param: string[]; dryRun?: boolean; yes?: boolean; from?: string; run?: string } & ApiFlags) => {
    const runbook = findRunbook(name);
    const params = parseParamPairs(o.param);
    const g = globals();
    const config = resolveConfig(g);
    const api = apiIdentity(o);
    const operatorOptions = { dataDir: config.dataDir, ...(g.config ? { configFile: g.config } : {}), ...(g.passphraseFile ? { passphraseFile: g.passphraseFile } : {}), ...(api ? { api } : {}) };
    let who = cliActor().actor;
    if (api) who = (await new Operator(operatorOptions, () => undefined).api('GET', '/api/access/me')).json<{ name: string }>().name;
    const database = o.dryRun ? undefined : await openDatabase({ dataDir: config.dataDir, url: config.database.url });
    const tty = process.stdin.isTTY && process.stderr.isTTY;
    try {
      const result = await runRunbook({
        runbook,
        params,
        dryRun: Boolean(o.dryRun),
        yes: Boolean(o.yes),
        ...(o.from ? { from: o.from } : {}),
        ...(o.run ? { resume: o.run } : {}),
        operator: operatorOptions,
        who,
        ...(database ? { audit: async (note) => void (await recordAudit(database, { actor: who, source: 'cli', ...note })) } : {}),
        progress: (line) => process.stderr.write(line + '\n'),
        handleSignals: true,
        ...(tty
          ? {
              confirm: async (question: string) => {
                const rl = createInterface({ input: process.stdin, output: process.stderr });
                try {
                  return /^y(es)?$/i.test((await rl.question(question)).trim());
                } finally {
                  rl.close();
                }
              },
            }
          : {}),
      });
      out(result, () => humanRun(result));
      if (result.error) process.exitCode = new EgovError(result.error.code as never, result.error.message).exitCode;
    } finally {
      await database?.close();
    }
  });

  playbook
    .command('runs')
    .description('past runs, newest first')
    .argument('[name]', 'only this runbook')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 50)
    .action((name: string | undefined, o: { limit: number }) => {
      if (name) findRunbook(name);
      const runs = listRuns(resolveConfig(globals()).dataDir, name).slice(0, o.limit);
      out(runs, () => runs.map((r) => `${r.runId.padEnd(44)} ${r.status.padEnd(12)} ${r.startedAt}  ${r.who}${r.failedStep ? `  failed at ${r.failedStep}` : ''}${r.resumeOf ? `  resumes ${r.resumeOf}` : ''}`).join('\n') || 'no runs');
    });

  playbook
    .command('log')
    .description('the log of one run, event by event')
    .argument('<run>', 'run id or log file')
    .action((run: string) => {
      const events = readRunEvents(findRunLog(resolveConfig(globals()).dataDir, run));
      out(events, () =>
        events
          .map((e) => {
            const { at, event, runId: _r, step, ...rest } = e;
            return `${at}  ${event.padEnd(13)} ${step ? `${String(step)}  ` : ''}${event === 'command' ? `${String(rest.command)} -> ${String(rest.exitCode)} (${String(rest.ms)} ms)` : JSON.stringify(rest)}`;
          })
          .join('\n'),
      );
    });

  for (const verb of ['approve', 'reject'] as const) {
    withApiOptions(
      playbook
        .command(verb)
        .description(`${verb} a run's waiting four-eyes gate, as a second operator (through the API with your certificate)`)
        .argument('<id>', 'the approval request, as the run printed it')
        .option('--reason <text>', 'why (kept in the audit log)'),
    ).action(async (id: string, o: { reason?: string } & ApiFlags) => {
      if (!/^\d+$/.test(id)) throw new EgovError('bad-request', `approval id ${id}: a number`);
      const api = apiIdentity(o);
      if (!api) throw new EgovError('bad-request', `playbook ${verb} goes through the API: give --api, --cert, --key and --api-ca`);
      const operator = new Operator({ dataDir: resolveConfig(globals()).dataDir, api }, () => undefined);
      const decided = (await operator.api('POST', `/api/playbooks/approvals/${id}/${verb}`, o.reason ? { reason: o.reason } : {})).json();
      out(decided, () => `approval ${decided.id} (${decided.runbook} ${decided.runId}, step ${decided.step}): ${decided.state} by ${decided.decidedBy}`);
    });
  }
  return playbook;
}
