// HTTP for events from outside the metrics: a script, a UPS or building
// management system, a playbook raises and clears alerts of `kind: event`
// rules (POST /api/alerts/events, POST /api/alerts/events/clear). Only
// network-admin; each call is in the audit log. Rules of other kinds (node
// down, the audit chain, ...) are judged by the suite itself and cannot be
// raised by hand.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { EgovError } from '../../core/index.js';
import { AlertView } from './routes.js';
import type { AlertService, ExternalEvent } from './service.js';

export interface AlertEventRoutesOptions {
  alerts: AlertService;
}

const ADMIN = { roles: ['network-admin'] as const };
const actorOf = (request: FastifyRequest) => ({ actor: request.principal?.name ?? 'anonymous', source: request.ip });
const Strict = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });
const Answer = Strict({ alert: Type.Union([AlertView, Type.Null()]) });

export async function alertEventRoutes(app: FastifyInstance, { alerts }: AlertEventRoutesOptions): Promise<void> {
  const eventRule = (name: string) => {
    const rule = alerts.engine.rule(name);
    if (!rule) throw new EgovError('not-found', `no alert rule ${JSON.stringify(name)} (see GET /api/alerts/rules)`);
    if (rule.kind !== 'event') throw new EgovError('bad-request', `rule ${name} is of kind ${rule.kind}: the suite judges it itself; only rules of kind event are raised through the API`);
  };
  app.post<{ Body: ExternalEvent }>(
    '/api/alerts/events',
    {
      config: ADMIN,
      schema: {
        body: Strict({ rule: Text(64), object: Text(300), summary: Type.String({ maxLength: 2000 }), labels: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 300 }), { maxProperties: 30 })), node: Type.Optional(Text(128)), value: Type.Optional(Type.Number()) }),
        response: { 201: Answer },
      },
    },
    async (request, reply) => {
      eventRule(request.body.rule);
      const alert = await alerts.raiseEvent(request.body, actorOf(request));
      return reply.code(201).send({ alert: alert ?? null });
    },
  );
  app.post<{ Body: { rule: string; object: string; summary?: string } }>(
    '/api/alerts/events/clear',
    { config: ADMIN, schema: { body: Strict({ rule: Text(64), object: Text(300), summary: Type.Optional(Type.String({ maxLength: 2000 })) }), response: { 200: Answer } } },
    async (request) => {
      eventRule(request.body.rule);
      return { alert: (await alerts.clearEvent(request.body, actorOf(request))) ?? null };
    },
  );
}
