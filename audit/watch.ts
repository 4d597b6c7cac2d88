// Scheduled audits (the `audit.scheduled` job in serve) and the hook the
// alerts can turn into an alert: after each run, its score and high risks
// are compared with the system's previous run; a lower score or a new high
// risk is announced to every listener.

import type { Job } from '../core/index.js';
import type { AuditService, RunView } from './service.js';

export interface AuditChange {
  kind: 'score-dropped' | 'new-high-risk';
  system: string;
  run: number;
  previousRun: number;
  score: number | null;
  previousScore: number | null;
  conclusion: string;
  /** For new-high-risk: the ids that were not in the previous run. */
  newHighRisks: string[];
  at: string;
}

export type AuditChangeListener = (change: AuditChange) => void | Promise<void>;

const listeners = new Set<AuditChangeListener>();

/** Subscribe to "score dropped or new high risk"; returns the unsubscribe. */
export function onAuditChange(listener: AuditChangeListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** What changed for the worse between two runs of a system (nothing when it did not). */
export function compareRuns(previous: RunView | undefined, current: RunView): AuditChange[] {
  if (!previous) return [];
  const base = { system: current.system, run: current.id, previousRun: previous.id, score: current.score, previousScore: previous.score, conclusion: current.conclusion, at: current.endedAt };
  const changes: AuditChange[] = [];
  if (current.score !== null && previous.score !== null && current.score < previous.score) changes.push({ kind: 'score-dropped', ...base, newHighRisks: [] });
  const before = new Set(previous.summary.highRisks.map((h) => h.id));
  const added = current.summary.highRisks.map((h) => h.id).filter((id) => !before.has(id));
  if (added.length) changes.push({ kind: 'new-high-risk', ...base, newHighRisks: added });
  return changes;
}

/** Compares a run with the system's previous one and tells the listeners (a failing listener does not stop the others). */
export async function announceRun(service: AuditService, run: RunView): Promise<AuditChange[]> {
  const previous = (await service.listRuns({ system: run.system, limit: 2 })).find((r) => r.id < run.id);
  const changes = compareRuns(previous ? await service.getRun(previous.id) : undefined, run);
  for (const change of changes) for (const listener of [...listeners]) await Promise.resolve(listener(change)).catch(() => undefined);
  return changes;
}

/** The scheduled audit: every system (or the suite as a whole when none is defined), then the comparison. */
export function scheduledAuditJob(service: AuditService, options: { everyMs?: number; log?: (line: string) => void } = {}): Job {
  return {
    name: 'audit.scheduled',
    schedule: { everyMs: options.everyMs ?? 24 * 3600_000 },
    async run() {
      const systems = await service.listSystems();
      const names = systems.length ? systems.map((s) => s.name) : [undefined];
      const done: Array<{ system: string; run: number; score: number | null; changes: string[] }> = [];
      for (const name of names) {
        const run = await service.run(name ? { system: name } : {}, { actor: 'system', source: 'scheduler' });
        const changes = await announceRun(service, run);
        options.log?.(`audit of ${run.system}: run ${run.id}, score ${run.score ?? '-'} ${run.conclusion}${changes.length ? `; ${changes.map((c) => c.kind).join(', ')}` : ''}`);
        done.push({ system: run.system, run: run.id, score: run.score, changes: changes.map((c) => c.kind) });
      }
      return done;
    },
  };
}
