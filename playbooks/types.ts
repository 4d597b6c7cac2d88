// What a runbook declares: its parameters (typed, validated before anything
// runs) and its steps (what each does, whether it changes anything, what a
// dry run shows instead, a timeout, retries, a rollback, a gate).

import type { Operator } from './operator.js';

export type ParamType = 'string' | 'integer' | 'boolean' | 'file' | 'url' | 'enum';

export interface ParamSpec {
  type: ParamType;
  description: string;
  required?: boolean;
  default?: string | number | boolean;
  /** Masked in the run log, the audit log and the output; never taken back from a log on resume. */
  secret?: boolean;
  /** For `enum`: the allowed values. */
  values?: readonly string[];
  /** For `integer`: bounds. */
  min?: number;
  max?: number;
  /** For `string`: a pattern the value must match. */
  pattern?: RegExp;
}

export type ParamSpecs = Record<string, ParamSpec>;

type ValueOf<S extends ParamSpec> = S['type'] extends 'integer' ? number : S['type'] extends 'boolean' ? boolean : string;
/** The values a runbook's steps see: required or defaulted parameters are always there. */
export type ParamsOf<S extends ParamSpecs> = {
  [K in keyof S]: S[K] extends { required: true } | { default: string | number | boolean } ? ValueOf<S[K]> : ValueOf<S[K]> | undefined;
};

export type Gate = 'confirm' | 'four-eyes';
/** What a failure of the step does: roll back the done steps (default), stop and leave them for `--from`, or go on. */
export type FailurePolicy = 'rollback' | 'stop' | 'continue';

export interface StepContext<P> {
  params: P;
  /** This run's id (the run log's name). */
  runId: string;
  /** What earlier steps returned, by step name (from this run, or from the log of the run being resumed). */
  results: Record<string, unknown>;
  signal: AbortSignal;
  /** The suite as an operator uses it: its CLI, its HTTPS API with the operator's certificate, other tools. */
  operator: Operator;
  /** A scratch directory of this run (DATA_DIR/playbooks/work/RUN). */
  workDir: string;
  /** A line of progress, kept in the run log. */
  note(line: string): void;
  /** A value to mask from here on in the log and the output (a code, a password a step made). */
  secret(value: string): void;
}

export interface Step<P = any> {
  name: string;
  description: string;
  /** Whether the step changes anything (then it is audited, gated if it says so, and skipped in a dry run). */
  changes: boolean;
  /** What a dry run shows instead of running the step; a function may read (never change) to say more. */
  dryRun?: string | ((ctx: StepContext<P>) => string | Promise<string>);
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
  gate?: Gate;
  onFailure?: FailurePolicy;
  run(ctx: StepContext<P>): Promise<unknown>;
  /** Undoes the step; gets what the step returned. */
  rollback?(ctx: StepContext<P>, result: unknown): Promise<void>;
}

export interface Runbook<S extends ParamSpecs = ParamSpecs> {
  name: string;
  title: string;
  description: string;
  params: S;
  steps: Array<Step<ParamsOf<S>>>;
}

/** Declares a runbook with its parameter types carried into its steps. */
export function defineRunbook<const S extends ParamSpecs>(runbook: Runbook<S>): Runbook<S> {
  return runbook;
}
