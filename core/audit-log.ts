// The tamper-evident audit log: append-only, each record hash-chained to
// the one before. The head (last id and hash) is also kept in `counter`, so
// cutting rows off the end is caught as well as changing or removing one.

import { hash as oneShotHash } from 'node:crypto';
import { EgovError } from './errors.js';
import { atCommit, transactionMemo, type Database, type WriteTx } from './storage/database.js';
import { queryReusable, runReusable } from './storage/reusable.js';
import type { AuditLogTable } from './storage/schema.js';

export type AuditOutcome = 'success' | 'failure' | 'refused';

export interface AuditEvent {
  /** Who: a user, a certificate subject, `cli:<os user>`, `system`. */
  actor: string;
  /** What, as `module.verb`: `ca.issue`, `ca.revoke`, `auth.sign-in`. */
  action: string;
  /** On what: `ca:city-rsa/serial:0a1b…`. */
  object: string;
  /** From where: an IP address, `cli`, `scheduler`. */
  source: string;
  outcome: AuditOutcome;
  /** Facts worth keeping; never a secret. */
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Omit<AuditEvent, 'detail'> {
  id: number;
  at: string;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

export const GENESIS_HASH = '0'.repeat(64);
const HEAD_COUNTER = 'audit_head_id';

function recordHash(prevHash: string, row: Omit<AuditLogTable, 'prev_hash' | 'hash' | 'id'> & { id: number }): string {
  // A fixed field order: the same record hashes the same on every engine.
  const canonical = JSON.stringify([row.id, row.at, row.actor, row.action, row.object, row.source, row.outcome, row.detail]);
  return oneShotHash('sha256', prevHash + '\n' + canonical, 'hex');
}

/** Appends one record inside the caller's write transaction (so the state change and its record land together). */
interface ChainHead {
  id: number;
  hash: string;
}

/** The head of the chain as this transaction sees it: read once, then carried in memory while the write lock is held. */
async function chainHead(tx: WriteTx): Promise<ChainHead> {
  const memo = transactionMemo(tx);
  const known = memo.get('audit-head') as ChainHead | undefined;
  if (known) return known;
  const [last] = await queryReusable(tx, 'audit_log.last', () => tx.selectFrom('audit_log').select(['id', 'hash']).orderBy('id', 'desc').limit(1), [1]);
  // Number after the recorded head too, not only after the last row: if rows
  // were cut off the end, the next record must not reuse their ids and so
  // hide the cut (verifyAuditLog then reports the gap).
  const [counter] = await queryReusable(tx, 'audit_head.read', () => tx.selectFrom('counter').select('value').where('name', '=', HEAD_COUNTER), [HEAD_COUNTER]);
  return { id: Math.max(last?.id ?? 0, Number(counter?.value ?? 0)), hash: last?.hash ?? GENESIS_HASH };
}

/** Appends one record inside the caller's write transaction (so the state change and its record land together). */
export async function appendAudit(tx: WriteTx, event: AuditEvent, now: Date = new Date()): Promise<AuditRecord> {
  const head = await chainHead(tx);
  const row = {
    id: head.id + 1,
    at: now.toISOString(),
    actor: event.actor,
    action: event.action,
    object: event.object,
    source: event.source,
    outcome: event.outcome,
    detail: JSON.stringify(event.detail ?? {}),
  };
  const prevHash = head.hash;
  const hash = recordHash(prevHash, row);
  const values = { ...row, prev_hash: prevHash, hash };
  await runReusable(tx, 'audit_log.insert', () => tx.insertInto('audit_log').values(values), Object.values(values));
  // The recorded head moves once per transaction, just before it commits
  // (a group of writes on SQLite shares one), to the last record written.
  const id = row.id;
  const upsertHead = (t: WriteTx) =>
    runReusable(
      t,
      'audit_head.upsert',
      () =>
        t
          .insertInto('counter')
          .values({ name: HEAD_COUNTER, value: id })
          .onConflict((oc) => oc.column('name').doUpdateSet({ value: id })),
      [HEAD_COUNTER, id, id],
    );
  if (!atCommit(tx, 'audit-head', upsertHead)) await upsertHead(tx);
  transactionMemo(tx).set('audit-head', { id: row.id, hash });
  return { ...row, detail: event.detail ?? {}, prevHash, hash };
}

/** Appends a record in a transaction of its own: for refusals and failures, where nothing else is written. */
export function recordAudit(database: Database, event: AuditEvent): Promise<AuditRecord> {
  return database.write((tx) => appendAudit(tx, event));
}

export interface ChainBreak {
  /** The first record that does not check out (or the id where one is missing). */
  id: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  headId: number;
  firstBreak?: ChainBreak;
}

export async function verifyAuditLog(database: Database, onProgress?: (checked: number) => void): Promise<VerifyResult> {
  const pageSize = 10_000;
  let expectedId = 1;
  let prevHash = GENESIS_HASH;
  let records = 0;
  const fail = (id: number, reason: string): VerifyResult => ({ ok: false, records, headId: expectedId - 1, firstBreak: { id, reason } });
  for (;;) {
    const rows = await database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('id', '>=', expectedId)
      .orderBy('id')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (row.id !== expectedId) return fail(expectedId, `record ${expectedId} is missing (next present is ${row.id})`);
      if (row.prev_hash !== prevHash) return fail(row.id, `record ${row.id} does not point at the hash of record ${row.id - 1}`);
      if (recordHash(prevHash, row) !== row.hash) return fail(row.id, `record ${row.id} was changed after it was written (hash mismatch)`);
      prevHash = row.hash;
      expectedId++;
      records++;
    }
    onProgress?.(records);
    if (rows.length < pageSize) break;
  }
  const head = await database.db.selectFrom('counter').select('value').where('name', '=', HEAD_COUNTER).executeTakeFirst();
  const headId = Number(head?.value ?? 0);
  if (headId > records) return fail(records + 1, `records ${records + 1}..${headId} were removed from the end of the log`);
  if (headId < records) {
    return fail(headId + 1, `the recorded head is record ${headId} but the log holds ${records} records (the head counter was changed or records were added outside the log)`);
  }
  return { ok: true, records, headId };
}

export interface AuditQuery {
  action?: string;
  actor?: string;
  since?: string;
  limit?: number;
}

export async function listAudit(database: Database, query: AuditQuery = {}): Promise<AuditRecord[]> {
  let q = database.db.selectFrom('audit_log').selectAll().orderBy('id', 'desc').limit(Math.min(query.limit ?? 100, 10_000));
  if (query.action) q = q.where('action', '=', query.action);
  if (query.actor) q = q.where('actor', '=', query.actor);
  if (query.since) q = q.where('at', '>=', query.since);
  const rows = await q.execute();
  return rows.map((row) => ({
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    object: row.object,
    source: row.source,
    outcome: row.outcome,
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
  }));
}

export function assertChainIntact(result: VerifyResult): void {
  if (!result.ok) throw new EgovError('chain-broken', `audit log chain is broken: ${result.firstBreak!.reason}`, { ...result.firstBreak });
}

/**
 * Runs `work`; when it throws, records the refusal (an error a client caused)
 * or the failure, with the error's code and reason, then rethrows. Successes
 * are recorded by the work itself, in its own transaction. `describe` may
 * mask the reason before it is kept (ID numbers, say).
 */
export async function auditedWork<T>(
  database: Database,
  event: Omit<AuditEvent, 'outcome' | 'detail'>,
  work: () => Promise<T>,
  describe: (reason: string) => string = (reason) => reason,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const egov = error instanceof EgovError ? error : undefined;
    const reason = describe(error instanceof Error ? error.message : String(error));
    await recordAudit(database, { ...event, outcome: egov && egov.httpStatus < 500 ? 'refused' : 'failure', detail: { code: egov?.code ?? 'internal', reason } }).catch(() => undefined);
    throw error;
  }
}
