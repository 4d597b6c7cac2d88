// Runs a runbook: checks its parameters, takes its lock, runs its steps in
// order with progress and timing (timeouts, retries, gates), stops at the
// first failure (or follows the step's policy), rolls the done steps back in
// reverse order, and records everything in the run log and the audit log.
// `from` resumes a failed run from its log.

import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EgovError, asEgovError } from '../core/index.js';
import { Operator, type CommandRecord, type OperatorOptions } from './operator.js';
import { MASK, maskParams, validateParams, type ParamValue } from './params.js';
import { findRunLog, listRuns, newRunId, playbooksDir, readRunEvents, RunLog, summarizeRun, takeLock, trimOutput, type RunEvent, type RunStatus } from './run-log.js';
import type { ParamSpecs, Runbook, Step, StepContext } from './types.js';

export interface AuditNote {
  action: 'playbook.start' | 'playbook.step' | 'playbook.end';
  object: string;
  outcome: 'success' | 'failure';
  detail: Record<string, unknown>;
}

export interface RunOptions {
  runbook: Runbook<any>;
  params: Record<string, string>;
  dryRun?: boolean;
  /** Answers yes to every confirm gate (not to four-eyes gates). */
  yes?: boolean;
  /** Resume from this step (of the failed run `resume`, else of this runbook's latest failed run). */
  from?: string;
  /** The run to resume: its id or its log file. */
  resume?: string;
  operator: OperatorOptions;
  /** Who runs it, as the audit log names them. */
  who: string;
  audit?: (note: AuditNote) => Promise<void>;
  progress?: (line: string) => void;
  /** Asks at a terminal; absent when there is none. */
  confirm?: (question: string) => Promise<boolean>;
  approvalPollMs?: number;
  approvalTimeoutMs?: number;
  /** The command line's: the first SIGINT or SIGTERM stops the step that runs, as a failure (rollbacks follow); a second one exits. */
  handleSignals?: boolean;
}

export interface StepOutcome {
  name: string;
  status: 'ok' | 'failed' | 'skipped' | 'carried' | 'dry-run';
  ms: number;
  attempts: number;
  error?: string;
  dryRun?: string;
}

export interface RunResult {
  runId: string;
  runbook: string;
  status: RunStatus;
  logFile: string;
  steps: StepOutcome[];
  rolledBack: Array<{ name: string; ok: boolean; error?: string }>;
  results: Record<string, unknown>;
  error?: { code: string; message: string; step?: string };
  ms: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Resume {
  fromIndex: number;
  resumeOf: string | null;
  params: Record<string, string | ParamValue>;
  results: Record<string, unknown>;
}

/** Works out where a resumed run starts and what it carries over; every mistake is found before anything runs. */
function planResume(options: RunOptions): Resume {
  const { runbook } = options;
  if (!options.from && !options.resume) return { fromIndex: 0, resumeOf: null, params: options.params, results: {} };
  const dataDir = options.operator.dataDir;
  let file: string;
  if (options.resume) file = findRunLog(dataDir, options.resume);
  else {
    const failed = listRuns(dataDir, runbook.name).find((r) => !r.dryRun && (r.status === 'failed' || r.status === 'rolled-back' || r.status === 'interrupted'));
    if (!failed) throw new EgovError('not-found', `no failed run of ${runbook.name} to resume from (see \`egov-ops playbook runs ${runbook.name}\`)`);
    file = failed.file;
  }
  const events = readRunEvents(file);
  const summary = summarizeRun(file, events);
  if (summary.runbook !== runbook.name) throw new EgovError('bad-request', `run ${summary.runId} is a run of ${summary.runbook}, not of ${runbook.name}`);
  if (summary.dryRun) throw new EgovError('bad-request', `run ${summary.runId} was a dry run: there is nothing to resume`);
  if (summary.status === 'succeeded') throw new EgovError('bad-request', `run ${summary.runId} succeeded: there is nothing to resume`);
  if (summary.status === 'running') throw new EgovError('conflict', `run ${summary.runId} is still running`);
  const from = options.from ?? summary.failedStep;
  if (!from) throw new EgovError('bad-request', `run ${summary.runId} has no failed step: say where to resume with --from STEP`);
  const fromIndex = runbook.steps.findIndex((s) => s.name === from);
  if (fromIndex < 0) throw new EgovError('bad-request', `runbook ${runbook.name} has no step ${from} (its steps: ${runbook.steps.map((s) => s.name).join(', ')})`);
  const start = events.find((e) => e.event === 'run-start')!;
  const results: Record<string, unknown> = {};
  for (const step of runbook.steps.slice(0, fromIndex)) {
    const done = [...events].reverse().find((e) => e.event === 'step-end' && e.step === step.name && (e.status === 'ok' || e.status === 'carried'));
    if (!done) throw new EgovError('bad-request', `cannot resume ${runbook.name} from ${from}: step ${step.name} before it did not succeed in run ${summary.runId}; resume from ${step.name} or earlier`);
    const undone = events.find((e) => e.event === 'rollback-end' && e.step === step.name && e.ok);
    if (undone) throw new EgovError('bad-request', `cannot resume ${runbook.name} from ${from}: step ${step.name} was rolled back in run ${summary.runId}; resume from ${step.name} or earlier`);
    results[step.name] = done.result ?? null;
  }
  // Parameters: those of the run resumed (secrets were masked there, so they are given again), then the ones given now.
  const logged = (start.params ?? {}) as Record<string, ParamValue | null>;
  const carried: Record<string, string | ParamValue> = {};
  for (const [key, value] of Object.entries(logged)) {
    if (value === null || value === MASK || runbook.params[key]?.secret) continue;
    if (key in runbook.params) carried[key] = value;
  }
  return { fromIndex, resumeOf: summary.runId, params: { ...carried, ...options.params }, results };
}

function maskerOf(secrets: string[]): (text: string) => string {
  const needles = secrets.filter((s) => s.length > 0).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]);
  return (text) => needles.reduce((t, n) => t.split(n).join(MASK), text);
}

/** Checks everything a run needs (parameters, --from, the log resumed) without running it: bad input fails here. */
export function prepareRun(options: RunOptions): { values: Record<string, ParamValue | undefined>; resume: Resume } {
  const resume = planResume(options);
  const values = validateParams(options.runbook.name, options.runbook.params, resume.params);
  return { values, resume };
}

export async function runRunbook(options: RunOptions): Promise<RunResult> {
  const { runbook } = options;
  const started = Date.now();
  const { values, resume } = prepareRun(options);
  const dryRun = options.dryRun ?? false;
  const dataDir = options.operator.dataDir;
  const runId = newRunId(runbook.name);
  const release = dryRun ? () => undefined : takeLock(dataDir, runbook.name, runId);
  // Secret parameters, and secrets steps come upon (an enrolment code), never reach the log or the output.
  const secrets = Object.entries(runbook.params as ParamSpecs).filter(([k, s]) => s.secret && typeof values[k] === 'string').map(([k]) => String(values[k]));
  const mask = (text: string) => maskerOf(secrets)(text);
  const log = new RunLog(dataDir, runId, mask);
  const progress = (line: string) => options.progress?.(mask(line));
  const object = `playbook:${runbook.name}/run:${runId}`;
  const audit = async (note: Omit<AuditNote, 'object'>) => {
    if (!dryRun && options.audit) await options.audit({ ...note, object });
  };
  const masked = maskParams(runbook.params, values);
  const workDir = path.join(playbooksDir(dataDir), 'work', runId);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });

  let currentStep: string | undefined;
  const record = (entry: CommandRecord) => log.append('command', { step: currentStep, command: entry.command, exitCode: entry.exitCode, ms: entry.ms, stdout: trimOutput(entry.stdout), stderr: trimOutput(entry.stderr) });
  const operator = new Operator(options.operator, record);
  const results: Record<string, unknown> = { ...resume.results };
  const outcomes: StepOutcome[] = [];
  const done: Array<{ step: Step; result: unknown }> = [];
  const total = runbook.steps.length;
  // An operator's Ctrl-C stops the running step as a failure, so the done steps are rolled back and the log says so.
  const interrupt = new AbortController();
  const interrupted = () => new EgovError('unavailable', 'the run was interrupted (signal)');
  let signals = 0;
  const onSignal = () => {
    if (++signals > 1) process.exit(130);
    progress('interrupted: stopping the running step, then rolling back (again to exit at once)');
    interrupt.abort();
  };
  if (options.handleSignals) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);

  try {
    log.append('run-start', { runbook: runbook.name, who: options.who, params: masked, dryRun, from: runbook.steps[resume.fromIndex]!.name, resumeOf: resume.resumeOf, pid: process.pid, host: os.hostname() });
    await audit({ action: 'playbook.start', outcome: 'success', detail: { runbook: runbook.name, params: masked, ...(resume.resumeOf ? { resumeOf: resume.resumeOf, from: runbook.steps[resume.fromIndex]!.name } : {}) } });
    if (resume.resumeOf && !dryRun && operator.hasApi) {
      // A run that died at a four-eyes gate left its request waiting: the resumed run asks anew.
      const left = (await operator.api('GET', '/api/playbooks/approvals?state=waiting', undefined, { allowFail: true }).catch(() => undefined));
      const waiting = left && left.status === 200 ? left.json<{ approvals: Array<{ id: number; runId: string }> }>().approvals.filter((a) => a.runId === resume.resumeOf) : [];
      for (const a of waiting) {
        await operator.api('POST', `/api/playbooks/approvals/${a.id}/withdraw`, {}, { allowFail: true });
        log.append('gate', { approval: a.id, state: 'withdrawn', reason: `left waiting by ${resume.resumeOf}` });
      }
    }
    progress(`${dryRun ? 'dry run of' : 'running'} ${runbook.name} (${runId})${resume.resumeOf ? `, resuming ${resume.resumeOf} from ${runbook.steps[resume.fromIndex]!.name}` : ''}`);

    const contextFor = (signal: AbortSignal): StepContext<any> => ({
      params: values,
      runId,
      results,
      signal,
      operator: operator.forStep(signal),
      workDir,
      note: (line) => {
        log.append('note', { step: currentStep, line });
        progress(`      ${line}`);
      },
      secret: (value) => void secrets.push(value),
    });

    let failure: { step: Step; error: EgovError } | undefined;
    /** The first failure of a step whose policy is to go on: the run still fails with it. */
    let continued: { step: Step; error: EgovError } | undefined;
    for (const [index, step] of runbook.steps.entries()) {
      currentStep = step.name;
      const label = `[${index + 1}/${total}] ${step.name}`;
      if (index < resume.fromIndex) {
        const carriedResult = results[step.name];
        log.append('step-end', { step: step.name, status: 'carried', from: resume.resumeOf, result: carriedResult ?? null, ms: 0 });
        outcomes.push({ name: step.name, status: 'carried', ms: 0, attempts: 0 });
        done.push({ step, result: carriedResult });
        progress(`${label}: done in ${resume.resumeOf}`);
        continue;
      }
      if (dryRun) {
        let shown: string;
        try {
          shown = typeof step.dryRun === 'function' ? await step.dryRun(contextFor(new AbortController().signal)) : (step.dryRun ?? (step.changes ? step.description : `(reads only) ${step.description}`));
        } catch (error) {
          // What the dry run found wrong (a missing hierarchy, a bad CSV) fails it, as the real run would.
          const egov = asEgovError(error);
          log.append('step-dry-run', { step: step.name, changes: step.changes, error: egov.message, code: egov.code });
          outcomes.push({ name: step.name, status: 'failed', ms: 0, attempts: 0, error: egov.message });
          continued ??= { step, error: egov };
          progress(`${label}: ${step.description}\n      the dry run cannot say: ${egov.message}`);
          continue;
        }
        const gate = step.gate === 'four-eyes' ? ' [needs a second operator\'s approval]' : step.gate === 'confirm' ? ' [asks for confirmation]' : '';
        log.append('step-dry-run', { step: step.name, changes: step.changes, gate: step.gate ?? null, shows: shown });
        outcomes.push({ name: step.name, status: 'dry-run', ms: 0, attempts: 0, dryRun: shown });
        progress(`${label}${step.changes ? ' (changes)' : ''}${gate}: ${step.description}\n      would: ${shown.split('\n').join('\n      ')}`);
        continue;
      }
      const stepStarted = Date.now();
      progress(`${label}${step.changes ? ' (changes)' : ''}: ${step.description}`);
      log.append('step-start', { step: step.name, description: step.description, changes: step.changes });
      let attempts = 0;
      let lastError: EgovError | undefined;
      let result: unknown;
      try {
        if (interrupt.signal.aborted) throw interrupted();
        if (step.gate) await passGate(step, runId, options, operator, log, progress, interrupt.signal);
        const tries = 1 + (step.retries ?? 0);
        while (attempts < tries) {
          attempts++;
          const controller = new AbortController();
          const timeoutMs = step.timeoutMs ?? DEFAULT_TIMEOUT_MS;
          const timer = setTimeout(() => controller.abort(), timeoutMs);
          const stop = () => controller.abort();
          interrupt.signal.addEventListener('abort', stop);
          try {
            result = await Promise.race([
              step.run(contextFor(controller.signal)),
              new Promise((_, reject) => controller.signal.addEventListener('abort', () => reject(interrupt.signal.aborted ? interrupted() : new EgovError('unavailable', `step ${step.name} timed out after ${seconds(timeoutMs)}`)))),
            ]);
            lastError = undefined;
            break;
          } catch (error) {
            lastError = asEgovError(error);
            log.append('step-attempt', { step: step.name, attempt: attempts, error: lastError.message, code: lastError.code });
            if (interrupt.signal.aborted) break;
            if (attempts < tries) {
              progress(`      attempt ${attempts} failed: ${lastError.message}; retrying`);
              await new Promise((r) => setTimeout(r, step.retryDelayMs ?? 1000));
            }
          } finally {
            clearTimeout(timer);
            interrupt.signal.removeEventListener('abort', stop);
          }
        }
      } catch (error) {
        lastError = asEgovError(error); // a gate refused
      }
      const ms = Date.now() - stepStarted;
      if (!lastError) {
        results[step.name] = result ?? null;
        done.push({ step, result });
        log.append('step-end', { step: step.name, status: 'ok', ms, attempts, result: result ?? null });
        outcomes.push({ name: step.name, status: 'ok', ms, attempts });
        if (step.changes) await audit({ action: 'playbook.step', outcome: 'success', detail: { step: step.name, ms } });
        progress(`      ok (${seconds(ms)})`);
        continue;
      }
      log.append('step-end', { step: step.name, status: 'failed', ms, attempts, error: lastError.message, code: lastError.code });
      outcomes.push({ name: step.name, status: 'failed', ms, attempts, error: lastError.message });
      if (step.changes) await audit({ action: 'playbook.step', outcome: 'failure', detail: { step: step.name, ms, reason: lastError.message } });
      progress(`      FAILED (${seconds(ms)}): ${lastError.message}`);
      if (step.onFailure === 'continue' && !interrupt.signal.aborted) {
        continued ??= { step, error: lastError };
        continue;
      }
      failure = { step, error: lastError };
      break;
    }
    currentStep = undefined;

    const rolledBack: RunResult['rolledBack'] = [];
    let status: RunStatus = dryRun ? 'dry-run' : failure ? 'failed' : outcomes.some((o) => o.status === 'failed') ? 'failed' : 'succeeded';
    if (failure && (failure.step.onFailure ?? 'rollback') === 'rollback') {
      const undoable = done.filter((d) => d.step.rollback).reverse();
      if (undoable.length) progress(`rolling back ${undoable.map((d) => d.step.name).join(', ')}`);
      for (const { step, result } of undoable) {
        currentStep = step.name;
        const t = Date.now();
        log.append('rollback-start', { step: step.name });
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), step.timeoutMs ?? DEFAULT_TIMEOUT_MS);
        try {
          await step.rollback!(contextFor(controller.signal), result);
          log.append('rollback-end', { step: step.name, ok: true, ms: Date.now() - t });
          rolledBack.push({ name: step.name, ok: true });
          progress(`      rolled back ${step.name} (${seconds(Date.now() - t)})`);
          await audit({ action: 'playbook.step', outcome: 'success', detail: { step: step.name, rollback: true } });
        } catch (error) {
          const message = asEgovError(error).message;
          log.append('rollback-end', { step: step.name, ok: false, ms: Date.now() - t, error: message });
          rolledBack.push({ name: step.name, ok: false, error: message });
          progress(`      rollback of ${step.name} FAILED: ${message}`);
          await audit({ action: 'playbook.step', outcome: 'failure', detail: { step: step.name, rollback: true, reason: message } });
        } finally {
          clearTimeout(timer);
        }
      }
      currentStep = undefined;
      if (rolledBack.length && rolledBack.every((r) => r.ok)) status = 'rolled-back';
    }
    const ms = Date.now() - started;
    log.append('run-end', { status, ms, ...(failure ? { failedStep: failure.step.name, error: failure.error.message } : {}) });
    await audit({ action: 'playbook.end', outcome: status === 'succeeded' ? 'success' : 'failure', detail: { status, ms, ...(failure ? { failedStep: failure.step.name, reason: failure.error.message } : {}) } });
    progress(`${runbook.name}: ${status} in ${seconds(ms)}; log ${log.file}${failure ? `\nresume with: egov-ops playbook run ${runbook.name} --from ${failure.step.name} (after fixing the cause)` : ''}`);
    const out: RunResult = {
      runId,
      runbook: runbook.name,
      status,
      logFile: log.file,
      steps: outcomes,
      rolledBack,
      results,
      ...((failure ?? continued) ? { error: { code: (failure ?? continued)!.error.code, message: (failure ?? continued)!.error.message, step: (failure ?? continued)!.step.name } } : {}),
      ms,
    };
    // What the caller prints is masked like the log.
    return JSON.parse(mask(JSON.stringify(out))) as RunResult;
  } finally {
    if (options.handleSignals) for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
    release();
  }
}

async function passGate(step: Step, runId: string, options: RunOptions, operator: Operator, log: RunLog, progress: (line: string) => void, interrupt: AbortSignal): Promise<void> {
  if (step.gate === 'confirm') {
    if (options.yes) {
      log.append('gate', { step: step.name, gate: 'confirm', by: 'yes-flag' });
      return;
    }
    if (!options.confirm) throw new EgovError('policy-violation', `step ${step.name} needs confirmation: answer at a terminal or give --yes`);
    const ok = await options.confirm(`${step.name}: ${step.description}. Go ahead? [y/N] `);
    log.append('gate', { step: step.name, gate: 'confirm', by: 'terminal', answer: ok ? 'yes' : 'no' });
    if (!ok) throw new EgovError('policy-violation', `step ${step.name} was not confirmed`);
    return;
  }
  // Four eyes: a request through the API, decided by another operator.
  const created = (await operator.api('POST', '/api/playbooks/approvals', { runbook: options.runbook.name, runId, step: step.name, summary: step.description })).json<{ id: number }>();
  log.append('gate', { step: step.name, gate: 'four-eyes', approval: created.id, state: 'waiting' });
  progress(`      waiting for a second operator to approve request ${created.id} (egov-ops console /playbooks, or POST /api/playbooks/approvals/${created.id}/approve)`);
  const deadline = Date.now() + (options.approvalTimeoutMs ?? 30 * 60_000);
  const withdraw = async (why: string) => {
    await operator.api('POST', `/api/playbooks/approvals/${created.id}/withdraw`, {}, { allowFail: true }).catch(() => undefined);
    log.append('gate', { step: step.name, gate: 'four-eyes', approval: created.id, state: 'withdrawn', reason: why });
  };
  for (;;) {
    if (interrupt.aborted) {
      await withdraw('interrupted');
      throw new EgovError('unavailable', `the run was interrupted (signal) while approval ${created.id} was waiting; it is withdrawn`);
    }
    const approval = (await operator.api('GET', `/api/playbooks/approvals/${created.id}`)).json<{ state: string; decidedBy: string | null; reason: string | null }>();
    if (approval.state === 'approved') {
      log.append('gate', { step: step.name, gate: 'four-eyes', approval: created.id, state: 'approved', by: approval.decidedBy });
      progress(`      approved by ${approval.decidedBy}`);
      return;
    }
    if (approval.state === 'rejected') {
      log.append('gate', { step: step.name, gate: 'four-eyes', approval: created.id, state: 'rejected', by: approval.decidedBy, reason: approval.reason });
      throw new EgovError('policy-violation', `step ${step.name}: approval ${created.id} was rejected by ${approval.decidedBy}${approval.reason ? `: ${approval.reason}` : ''}`);
    }
    if (Date.now() > deadline) {
      await withdraw('not given in time');
      throw new EgovError('policy-violation', `step ${step.name}: approval ${created.id} was not given in time; it is withdrawn`);
    }
    await new Promise((r) => setTimeout(r, options.approvalPollMs ?? 2000));
  }
}

export type { RunEvent };
