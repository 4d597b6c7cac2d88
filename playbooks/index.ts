// playbooks/: the operators' procedures as runnable zx runbooks. Each drives
// the suite as an operator does (its CLI, its HTTPS API with the operator's
// certificate), step by step, and leaves a record of what it did.

export { defineRunbook, type Runbook, type Step, type StepContext, type ParamSpec, type ParamSpecs, type Gate, type FailurePolicy } from './types.js';
export { parseParamPairs, validateParams, maskParams, MASK } from './params.js';
export { listRuns, readRunEvents, summarizeRun, findRunLog, lockHolder, trimOutput, type RunSummary, type RunEvent, type RunStatus } from './run-log.js';
export { Operator, defaultBin, type OperatorOptions, type ApiIdentity } from './operator.js';
export { runRunbook, prepareRun, type RunOptions, type RunResult, type StepOutcome, type AuditNote } from './runner.js';
export { Approvals, type Approval, type ApprovalState } from './approvals.js';
export { playbookRoutes, type PlaybookRoutesOptions } from './routes.js';
export { RUNBOOKS, findRunbook } from './registry.js';
export { playbookPages, type PlaybookPagesOptions } from './pages.js';
