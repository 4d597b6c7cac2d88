// Grade-protection audits as alerts (issue 12 §3: "a lower score or a new
// high risk raises an event the alerts can act on"). Each system's newest
// run is compared with the one before it:
//   - a lower score raises `audit-score-dropped` for `audit:SYSTEM`; it
//     clears when a later run scores at least what the system scored before
//     the drop (kept on the alert as the label previousScore);
//   - each high risk the previous run did not have raises `audit-high-risk`
//     for `audit:SYSTEM/RISK`; it clears when a later run no longer has it.
// The audit room announces changes at once (onAuditChange: wire `changed`);
// the timer's check reads the runs from the database, so runs made by the
// CLI in another process, and recoveries, which are not announced, are seen
// at the next evaluation, and a restart forgets nothing.

import type { AuditChange, AuditService, HighRiskFinding, RunView } from '../../audit/index.js';
import type { AlertService, ExternalCheck, ExternalObservation } from './service.js';

export const AUDIT_SCORE_RULE = 'audit-score-dropped';
export const AUDIT_HIGH_RISK_RULE = 'audit-high-risk';

type RunsSource = Pick<AuditService, 'listRuns' | 'getRun'>;

export interface AuditAlerts {
  /** The timer's check (AlertService.addCheck). */
  check: ExternalCheck;
  /** An onAuditChange listener: looks at the system's runs now instead of at the next evaluation. */
  changed(change: Pick<AuditChange, 'system'>): Promise<void>;
  /** Observations for one system's newest run (what both paths apply). */
  observe(system: string): Promise<ExternalObservation[]>;
}

const score = (n: number | null) => (n === null ? '-' : String(Math.round(n * 100) / 100));

export function auditAlerts(alerts: Pick<AlertService, 'liveOf' | 'raiseEvent' | 'clearEvent'>, audits: RunsSource): AuditAlerts {
  /** The newest run each system was looked at in (a run already judged is not read again). */
  const seen = new Map<string, number>();

  async function observe(system: string): Promise<ExternalObservation[]> {
    const [latestRow, previousRow] = await audits.listRuns({ system, limit: 2 });
    if (!latestRow) return [];
    const latest: RunView = await audits.getRun(latestRow.id);
    const previous: RunView | undefined = previousRow ? await audits.getRun(previousRow.id) : undefined;
    const out: ExternalObservation[] = [];
    const labels = (extra: Record<string, string>) => ({ system, run: String(latest.id), ...extra });
    // The score.
    const scoreObject = `audit:${system}`;
    const liveScore = (await alerts.liveOf(AUDIT_SCORE_RULE)).find((a) => a.fingerprint === `${AUDIT_SCORE_RULE}|${scoreObject}`);
    if (latest.score !== null && previous && previous.score !== null && latest.score < previous.score) {
      out.push({ rule: AUDIT_SCORE_RULE, object: scoreObject, raised: true, value: latest.score, labels: labels({ previousScore: String(previous.score), previousRun: String(previous.id) }), summary: `audit of ${system}: run ${latest.id} scored ${score(latest.score)} (${latest.conclusion}), lower than run ${previous.id} (${score(previous.score)})` });
    } else if (liveScore) {
      const before = Number(liveScore.labels.previousScore);
      const judgedRun = Number(liveScore.labels.run);
      if (latest.id > judgedRun && latest.score !== null && Number.isFinite(before) && latest.score >= before)
        out.push({ rule: AUDIT_SCORE_RULE, object: scoreObject, raised: false, value: latest.score, summary: `audit of ${system}: run ${latest.id} scored ${score(latest.score)}, back to at least ${score(before)}` });
    }
    // High risks: one alert each (a waived one is accepted by whoever signed the waiver: not alerted).
    const had = new Set((previous?.summary.highRisks ?? []).map((h) => h.id));
    const now = new Map(latest.summary.highRisks.filter((h) => !h.waived).map((h) => [h.id, h]));
    if (previous)
      for (const [id, finding] of now)
        if (!had.has(id)) out.push({ rule: AUDIT_HIGH_RISK_RULE, object: `${scoreObject}/${id}`, raised: true, labels: labels({ risk: id }), summary: `audit of ${system}: run ${latest.id} found a new high risk ${id}${describe(finding)}` });
    for (const live of await alerts.liveOf(AUDIT_HIGH_RISK_RULE)) {
      if (live.labels.system !== system) continue;
      const id = live.labels.risk ?? '';
      if (latest.id > Number(live.labels.run) && !now.has(id)) out.push({ rule: AUDIT_HIGH_RISK_RULE, object: `${scoreObject}/${id}`, raised: false, summary: `audit of ${system}: run ${latest.id} no longer finds high risk ${id}` });
    }
    seen.set(system, latest.id);
    return out;
  }

  return {
    observe,
    check: {
      name: 'audit-runs',
      async run() {
        // The systems of recent runs (the suite as a whole has runs without a declared system).
        const recent = await audits.listRuns({ limit: 200 });
        const newest = new Map<string, number>();
        for (const r of recent) if (!newest.has(r.system)) newest.set(r.system, r.id);
        const out: ExternalObservation[] = [];
        for (const [system, id] of newest) if (seen.get(system) !== id) out.push(...(await observe(system)));
        return out;
      },
    },
    async changed(change) {
      for (const o of await observe(change.system)) {
        if (o.raised) await alerts.raiseEvent(o);
        else await alerts.clearEvent(o);
      }
    },
  };
}

function describe(finding: HighRiskFinding): string {
  return `${finding.en ? `: ${finding.en}` : ''}${finding.items.length ? ` (${finding.items.slice(0, 5).join(', ')})` : ''}`;
}
