// Four-eyes approvals: a run reaches a gate that needs a second operator, asks
// for an approval through the API, and waits; another operator (never the one
// who asked) approves or rejects it through the API or the console.

import { appendAudit, EgovError, recordAudit, type Database } from '../core/index.js';
import type { PlaybookApprovalTable } from '../core/index.js';

type Row = Omit<PlaybookApprovalTable, 'id'> & { id: number };

export type ApprovalState = 'waiting' | 'approved' | 'rejected' | 'withdrawn';

export interface Approval {
  id: number;
  runbook: string;
  runId: string;
  step: string;
  summary: string;
  state: ApprovalState;
  requestedBy: string;
  requestedAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  reason: string | null;
}

export interface Approver {
  name: string;
  ca: string;
  serial: string;
  source: string;
}

const view = (row: Row): Approval => ({
  id: Number(row.id),
  runbook: row.runbook,
  runId: row.run_id,
  step: row.step,
  summary: row.summary,
  state: row.state as ApprovalState,
  requestedBy: row.requested_by,
  requestedAt: row.requested_at,
  decidedBy: row.decided_by,
  decidedAt: row.decided_at,
  reason: row.reason,
});

/** The operator who asked: the same certificate, or the same holder name. */
const sameOperator = (row: Row, by: Approver) => row.requested_by === by.name || (row.requested_ca === by.ca && row.requested_serial === by.serial);

export class Approvals {
  constructor(private readonly database: Database) {}

  async request(input: { runbook: string; runId: string; step: string; summary: string }, by: Approver): Promise<Approval> {
    return this.database.write(async (tx) => {
      const open = await tx.selectFrom('playbook_approval').select('id').where('run_id', '=', input.runId).where('step', '=', input.step).where('state', '=', 'waiting').executeTakeFirst();
      if (open) throw new EgovError('conflict', `run ${input.runId} already waits for approval ${open.id} of step ${input.step}`);
      const at = new Date().toISOString();
      const row = await tx
        .insertInto('playbook_approval')
        .values({ runbook: input.runbook, run_id: input.runId, step: input.step, summary: input.summary, state: 'waiting', requested_by: by.name, requested_ca: by.ca, requested_serial: by.serial, requested_at: at, decided_by: null, decided_at: null, reason: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      await appendAudit(tx, { actor: by.name, source: by.source, action: 'playbook.approval-request', object: `playbook:${input.runbook}/run:${input.runId}/step:${input.step}`, outcome: 'success', detail: { approval: Number(row.id) } });
      return view(row);
    });
  }

  async get(id: number): Promise<Approval> {
    const row = await this.database.db.selectFrom('playbook_approval').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new EgovError('not-found', `no approval ${id}`);
    return view(row);
  }

  async list(query: { state?: ApprovalState; limit?: number } = {}): Promise<Approval[]> {
    let q = this.database.db.selectFrom('playbook_approval').selectAll().orderBy('id', 'desc').limit(query.limit ?? 100);
    if (query.state) q = q.where('state', '=', query.state);
    return (await q.execute()).map(view);
  }

  /** The operator who asked takes a waiting request back (the run stopped, or a resumed run asks anew). */
  async withdraw(id: number, by: Approver): Promise<Approval> {
    return this.database.write(async (tx) => {
      const row = await tx.selectFrom('playbook_approval').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new EgovError('not-found', `no approval ${id}`);
      if (!sameOperator(row, by)) throw new EgovError('policy-violation', `approval ${id} can be withdrawn only by ${row.requested_by}, who asked for it`);
      if (row.state !== 'waiting') throw new EgovError('conflict', `approval ${id} was already ${row.state}`);
      const at = new Date().toISOString();
      await tx.updateTable('playbook_approval').set({ state: 'withdrawn', decided_by: by.name, decided_at: at }).where('id', '=', id).where('state', '=', 'waiting').execute();
      await appendAudit(tx, { actor: by.name, source: by.source, action: 'playbook.withdraw', object: `playbook:${row.runbook}/run:${row.run_id}/step:${row.step}`, outcome: 'success', detail: { approval: id } });
      return view({ ...row, state: 'withdrawn', decided_by: by.name, decided_at: at });
    });
  }

  /** Approves or rejects a waiting request; the operator who asked cannot decide it. */
  async decide(id: number, decision: 'approved' | 'rejected', by: Approver, reason?: string): Promise<Approval> {
    const asked = await this.database.db.selectFrom('playbook_approval').selectAll().where('id', '=', id).executeTakeFirst();
    if (!asked) throw new EgovError('not-found', `no approval ${id}`);
    const object = `playbook:${asked.runbook}/run:${asked.run_id}/step:${asked.step}`;
    if (asked.state === 'waiting' && sameOperator(asked, by)) {
      // A refusal is recorded on its own: nothing else is written.
      await recordAudit(this.database, { actor: by.name, source: by.source, action: decision === 'approved' ? 'playbook.approve' : 'playbook.reject', object, outcome: 'refused', detail: { approval: id, reason: 'the operator who asked cannot decide' } });
      throw new EgovError('policy-violation', `approval ${id} needs a second operator: ${by.name} asked for it`);
    }
    return this.database.write(async (tx) => {
      const row = await tx.selectFrom('playbook_approval').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      if (row.state !== 'waiting') throw new EgovError('conflict', `approval ${id} was already ${row.state} by ${row.decided_by}`);
      const at = new Date().toISOString();
      // Only a waiting request moves: of two decisions at once, the second finds nothing to update.
      const [updated] = await tx.updateTable('playbook_approval').set({ state: decision, decided_by: by.name, decided_at: at, reason: reason ?? null }).where('id', '=', id).where('state', '=', 'waiting').execute();
      if (!updated || Number(updated.numUpdatedRows) !== 1) throw new EgovError('conflict', `approval ${id} was decided meanwhile`);
      await appendAudit(tx, { actor: by.name, source: by.source, action: decision === 'approved' ? 'playbook.approve' : 'playbook.reject', object, outcome: 'success', detail: { approval: id, requestedBy: row.requested_by, ...(reason ? { reason } : {}) } });
      return view({ ...row, state: decision, decided_by: by.name, decided_at: at, reason: reason ?? null });
    });
  }
}
