// HTTP for the alerts: /api/alerts (list, one alert, ack, resolve, silences,
// rules, receivers, deliveries, test a receiver) and /api/alerts/maintenance.
// network-admin acts; auditor and security-officer read. Receiver secrets
// go in and never come out (the response schemas list every field).

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { EgovError } from '../../core/index.js';
import { ALERT_STATES, type AlertState } from './engine.js';
import { RECEIVER_TYPES, type ReceiverInput } from './notify.js';
import { ALERT_SEVERITIES, describeRule, parseDuration, type AlertSeverity } from './rules.js';
import { parseMatcher, type AlertService } from './service.js';

export interface AlertRoutesOptions {
  alerts: AlertService;
}

const ADMIN = { roles: ['network-admin'] as const };
const VIEW = { roles: ['network-admin', 'auditor', 'security-officer'] as const };
const actorOf = (request: FastifyRequest) => ({ actor: request.principal?.name ?? 'anonymous', source: request.ip });
const Strict = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false });
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Nullable = (t: TSchema) => Type.Union([t, Type.Null()]);

export const AlertView = Strict({
  id: Type.Integer(),
  fingerprint: Type.String(),
  rule: Type.String(),
  severity: Type.String(),
  state: Type.String(),
  node: Nullable(Type.String()),
  site: Nullable(Type.String()),
  zone: Nullable(Type.String()),
  labels: Type.Record(Type.String(), Type.String()),
  summary: Type.String(),
  value: Nullable(Type.Number()),
  startedAt: Type.String(),
  firedAt: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
  ackBy: Nullable(Type.String()),
  ackComment: Nullable(Type.String()),
  ackAt: Nullable(Type.String()),
  foldedInto: Nullable(Type.Integer()),
  held: Type.Boolean(),
  notified: Type.Boolean(),
  mutedBy: Nullable(Type.String()),
  flapping: Type.Boolean(),
  escalated: Type.Integer(),
  updatedAt: Type.String(),
});
const TimelineView = Strict({ at: Type.String(), kind: Type.String(), actor: Type.String(), text: Type.String() });
const ArticleView = Strict({ id: Type.String(), title: Type.String(), titleZh: Type.Optional(Type.String()), score: Type.Number(), reasons: Type.Array(Type.String()) });
const SeenBeforeView = Strict({
  count: Type.Integer(),
  incidents: Type.Array(
    Strict({ alertId: Type.String(), node: Type.Optional(Type.String()), site: Type.Optional(Type.String()), startedAt: Type.String(), resolvedAt: Type.String(), durationMs: Type.Number(), note: Type.Optional(Type.String()), by: Type.String() }),
  ),
});
const DetailView = Strict({ alert: AlertView, timeline: Type.Array(TimelineView), folded: Type.Integer(), articles: Type.Array(ArticleView), seenBefore: Nullable(SeenBeforeView) });
const MatcherView = Strict({ name: Type.String(), value: Type.String(), regex: Type.Optional(Type.Boolean()) });
const SilenceView = Strict({ id: Type.Integer(), matchers: Type.Array(MatcherView), startsAt: Type.String(), endsAt: Type.String(), reason: Type.String(), createdBy: Type.String(), createdAt: Type.String() });
const WindowView = Strict({
  id: Type.Integer(),
  scope: Type.String(),
  target: Type.String(),
  startsAt: Nullable(Type.String()),
  endsAt: Nullable(Type.String()),
  cron: Nullable(Type.String()),
  durationMs: Nullable(Type.Number()),
  reason: Type.String(),
  createdBy: Type.String(),
  createdAt: Type.String(),
});
const ReceiverView = Strict({
  name: Type.String(),
  type: Type.String(),
  url: Type.Optional(Type.String()),
  language: Type.Optional(Type.String()),
  ratePerMinute: Type.Optional(Type.Integer()),
  host: Type.Optional(Type.String()),
  port: Type.Optional(Type.Integer()),
  from: Type.Optional(Type.String()),
  to: Type.Optional(Type.Array(Type.String())),
  user: Type.Optional(Type.String()),
  tlsCa: Type.Optional(Type.String()),
  severities: Type.Optional(Type.Array(Type.String())),
  secrets: Type.Array(Type.String()),
  createdAt: Type.String(),
});
const ReceiverInputSchema = Strict({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  type: literals(RECEIVER_TYPES),
  url: Type.Optional(Type.String({ maxLength: 2048 })),
  language: Type.Optional(literals(['en', 'zh-CN'])),
  ratePerMinute: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
  host: Type.Optional(Type.String({ maxLength: 253 })),
  port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  from: Type.Optional(Type.String({ maxLength: 320 })),
  to: Type.Optional(Type.Array(Type.String({ maxLength: 320 }), { maxItems: 50 })),
  user: Type.Optional(Type.String({ maxLength: 320 })),
  tlsCa: Type.Optional(Type.String({ maxLength: 65_536 })),
  severities: Type.Optional(Type.Array(literals(ALERT_SEVERITIES))),
  secret: Type.Optional(Type.String({ maxLength: 1024 })),
  token: Type.Optional(Type.String({ maxLength: 1024 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
});
const DeliveryView = Strict({
  id: Type.Integer(),
  receiver: Type.String(),
  groupKey: Type.String(),
  kind: Type.String(),
  alertIds: Type.Array(Type.Integer()),
  status: Type.String(),
  attempts: Type.Integer(),
  nextAt: Type.String(),
  lastAnswer: Nullable(Type.String()),
  createdAt: Type.String(),
  sentAt: Nullable(Type.String()),
  body: Nullable(Type.String()),
});
const IdParams = Strict({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

export async function alertRoutes(app: FastifyInstance, { alerts }: AlertRoutesOptions): Promise<void> {
  app.get<{ Querystring: { state?: AlertState; severity?: AlertSeverity; node?: string; site?: string; zone?: string; limit?: string } }>(
    '/api/alerts',
    {
      config: VIEW,
      schema: {
        querystring: Strict({ state: Type.Optional(literals(ALERT_STATES)), severity: Type.Optional(literals(ALERT_SEVERITIES)), node: Type.Optional(Text(128)), site: Type.Optional(Text(128)), zone: Type.Optional(Text(32)), limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })) }),
        response: { 200: Strict({ alerts: Type.Array(AlertView) }) },
      },
    },
    async (request) => {
      const { limit, ...filter } = request.query;
      return { alerts: await alerts.list({ ...filter, ...(limit ? { limit: Number(limit) } : {}) }) };
    },
  );
  app.get('/api/alerts/counts', { config: VIEW, schema: { response: { 200: Strict({ firing: Type.Record(Type.String(), Type.Integer()) }) } } }, async () => ({ firing: await alerts.firingCounts() }));
  app.get<{ Params: { id: string } }>('/api/alerts/:id', { config: VIEW, schema: { params: IdParams, response: { 200: DetailView } } }, async (request) => {
    const detail = await alerts.detail(Number(request.params.id));
    if (!detail) throw new EgovError('not-found', `no alert ${request.params.id}`);
    return detail;
  });
  app.post<{ Params: { id: string }; Body: { comment: string } }>('/api/alerts/:id/ack', { config: ADMIN, schema: { params: IdParams, body: Strict({ comment: Text(2000) }), response: { 200: AlertView } } }, async (request) =>
    alerts.acknowledge(Number(request.params.id), request.body.comment, actorOf(request)),
  );
  app.post<{ Params: { id: string }; Body: { note?: string } }>('/api/alerts/:id/resolve', { config: ADMIN, schema: { params: IdParams, body: Strict({ note: Type.Optional(Type.String({ maxLength: 8000 })) }), response: { 200: AlertView } } }, async (request) =>
    alerts.resolve(Number(request.params.id), request.body.note ?? '', actorOf(request)),
  );
  app.get('/api/alerts/silences', { config: VIEW, schema: { response: { 200: Strict({ silences: Type.Array(SilenceView) }) } } }, async () => ({ silences: await alerts.engine.silences() }));
  app.post<{ Body: { match: string[]; for: string; reason: string } }>(
    '/api/alerts/silences',
    { config: ADMIN, schema: { body: Strict({ match: Type.Array(Text(300), { minItems: 1, maxItems: 20 }), for: Text(20), reason: Text(1000) }), response: { 201: SilenceView } } },
    async (request, reply) => reply.code(201).send(await alerts.silence({ matchers: request.body.match.map(parseMatcher), forMs: parseDuration(request.body.for, 'for'), reason: request.body.reason }, actorOf(request))),
  );
  app.get('/api/alerts/rules', { config: VIEW }, async () => ({ rules: alerts.rules.rules.map(describeRule), routes: alerts.rules.routes, escalations: alerts.rules.escalations }));
  app.get('/api/alerts/receivers', { config: VIEW, schema: { response: { 200: Strict({ receivers: Type.Array(ReceiverView) }) } } }, async () => ({ receivers: await alerts.notifier.receivers() }));
  app.put<{ Body: ReceiverInput }>('/api/alerts/receivers', { config: ADMIN, schema: { body: ReceiverInputSchema, response: { 200: ReceiverView } } }, async (request) => alerts.putReceiver(request.body, actorOf(request)));
  app.post<{ Params: { name: string } }>('/api/alerts/receivers/:name/test', { config: ADMIN, schema: { params: Strict({ name: Text(64) }), response: { 200: Strict({ ok: Type.Boolean(), answer: Type.String() }) } } }, async (request) =>
    alerts.testReceiver(request.params.name, actorOf(request)),
  );
  app.get<{ Querystring: { receiver?: string } }>('/api/alerts/deliveries', { config: VIEW, schema: { querystring: Strict({ receiver: Type.Optional(Text(64)) }), response: { 200: Strict({ deliveries: Type.Array(DeliveryView) }) } } }, async (request) => ({
    deliveries: await alerts.notifier.deliveries(request.query.receiver ? { receiver: request.query.receiver } : {}),
  }));
  app.get('/api/alerts/maintenance', { config: VIEW, schema: { response: { 200: Strict({ windows: Type.Array(WindowView) }) } } }, async () => ({ windows: await alerts.engine.maintenance() }));
  app.post<{ Body: { scope: 'node' | 'site' | 'zone'; target: string; from?: string; to?: string; cron?: string; duration?: string; reason: string } }>(
    '/api/alerts/maintenance',
    {
      config: ADMIN,
      schema: {
        body: Strict({ scope: literals(['node', 'site', 'zone']), target: Text(128), from: Type.Optional(Text(40)), to: Type.Optional(Text(40)), cron: Type.Optional(Text(100)), duration: Type.Optional(Text(20)), reason: Text(1000) }),
        response: { 201: WindowView },
      },
    },
    async (request, reply) => {
      const { duration, ...rest } = request.body;
      return reply.code(201).send(await alerts.addMaintenance({ ...rest, ...(duration ? { durationMs: parseDuration(duration, 'duration') } : {}) }, actorOf(request)));
    },
  );
}
