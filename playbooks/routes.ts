// HTTP for runbooks: four-eyes approvals of waiting gates. The operator
// running a runbook asks (POST), a second operator approves or rejects.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { principalOf, type Database } from '../core/index.js';
import { Approvals, type Approver } from './approvals.js';

export interface PlaybookRoutesOptions {
  database: Database;
}

/** Who may run runbooks and decide their gates; auditors read. */
export const OPERATE = { roles: ['ca-admin', 'network-admin', 'security-officer'] as const };
export const VIEW = { roles: ['ca-admin', 'network-admin', 'security-officer', 'auditor'] as const };

const ApprovalView = Type.Object(
  {
    id: Type.Integer(),
    runbook: Type.String(),
    runId: Type.String(),
    step: Type.String(),
    summary: Type.String(),
    state: Type.String(),
    requestedBy: Type.String(),
    requestedAt: Type.String(),
    decidedBy: Type.Union([Type.String(), Type.Null()]),
    decidedAt: Type.Union([Type.String(), Type.Null()]),
    reason: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,63}$' });
const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) });

export function approverOf(request: FastifyRequest): Approver {
  const p = principalOf(request);
  return { name: p.name, ca: p.ca, serial: p.serial, source: request.ip };
}

export async function playbookRoutes(app: FastifyInstance, { database }: PlaybookRoutesOptions): Promise<void> {
  const approvals = new Approvals(database);
  app.post<{ Body: { runbook: string; runId: string; step: string; summary: string } }>(
    '/api/playbooks/approvals',
    {
      config: OPERATE,
      schema: {
        body: Type.Object({ runbook: Name, runId: Type.String({ pattern: '^[a-z0-9][a-zA-Z0-9-]{0,127}$' }), step: Name, summary: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }),
        response: { 201: ApprovalView },
      },
    },
    async (request, reply) => reply.code(201).send(await approvals.request(request.body, approverOf(request))),
  );
  app.get<{ Querystring: { state?: 'waiting' | 'approved' | 'rejected' | 'withdrawn' } }>(
    '/api/playbooks/approvals',
    { config: VIEW, schema: { querystring: Type.Object({ state: Type.Optional(Type.Union([Type.Literal('waiting'), Type.Literal('approved'), Type.Literal('rejected'), Type.Literal('withdrawn')])) }, { additionalProperties: false }), response: { 200: Type.Object({ approvals: Type.Array(ApprovalView) }) } } },
    async (request) => ({ approvals: await approvals.list(request.query.state ? { state: request.query.state } : {}) }),
  );
  app.get<{ Params: { id: string } }>('/api/playbooks/approvals/:id', { config: VIEW, schema: { params: IdParams, response: { 200: ApprovalView } } }, async (request) => approvals.get(Number(request.params.id)));
  app.post<{ Params: { id: string } }>('/api/playbooks/approvals/:id/withdraw', { config: OPERATE, schema: { params: IdParams, response: { 200: ApprovalView } } }, async (request) =>
    approvals.withdraw(Number(request.params.id), approverOf(request)),
  );
  for (const [verb, decision] of [['approve', 'approved'], ['reject', 'rejected']] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } | undefined }>(
      `/api/playbooks/approvals/:id/${verb}`,
      { config: OPERATE, schema: { params: IdParams, body: Type.Optional(Type.Object({ reason: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false })), response: { 200: ApprovalView } } },
      async (request) => approvals.decide(Number(request.params.id), decision, approverOf(request), request.body?.reason),
    );
  }
}
