// HTTP for the monitor: inventory CRUD, import and export, metrics, logs,
// events, status, and the agents' ingest. Every route names its roles;
// response schemas list every field, so nothing else (a sealed credential,
// say) can ever be serialised.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { EgovError, LONG_HANDLER_TIMEOUT_MS } from '../core/index.js';
import { inventoryToYaml, linksToCsv, nodesToCsv, parseInventory } from './import.js';
import { MAX_ITEMS_PER_DELIVERY } from './ingest.js';
import type { Actor } from './inventory.js';
import { AUTH_PROTOCOLS, LEVELS, NODE_KINDS, PRIV_PROTOCOLS, ZONES } from './inventory-spec.js';
import { checkMeasurement, type TagFilter } from './metric-store.js';
import type { Monitor } from './monitor.js';
import { MEASUREMENT_NAMES, MEASUREMENT_TAGS, SEVERITIES, type MeasurementName, type Severity } from './records.js';
import { NodeName } from './schemas.js';
import { NODE_STATES } from './status.js';

export interface MonitorRoutesOptions {
  monitor: Monitor;
}

const ADMIN = { roles: ['network-admin'] as const };
const VIEW = { roles: ['network-admin', 'auditor', 'security-officer'] as const };
const AGENT = { roles: ['agent'] as const };
/** An agent ships up to 50,000 items a delivery; the server's default body limit is 1 MiB. */
const INGEST_BODY_LIMIT = 64 * 1024 * 1024;
const IMPORT_BODY_LIMIT = 16 * 1024 * 1024;

const actorOf = (request: FastifyRequest): Actor => ({ actor: request.principal?.name ?? 'anonymous', source: request.ip });
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Strict = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false });

// ---- schemas

const SnmpInput = Type.Union([
  Strict({ version: literals(['v1', 'v2c']), community: Type.String({ minLength: 1, maxLength: 64 }) }),
  Strict({
    version: Type.Literal('v3'),
    user: Type.String({ minLength: 1, maxLength: 32 }),
    authProtocol: Type.String({ description: AUTH_PROTOCOLS.join(', ') }),
    authPassword: Type.String({ minLength: 8, maxLength: 128 }),
    privProtocol: Type.String({ description: PRIV_PROTOCOLS.join(', ') }),
    privPassword: Type.String({ minLength: 8, maxLength: 128 }),
  }),
  Type.Null(),
]);
const nodeFields = {
  kind: literals(NODE_KINDS),
  zone: literals(ZONES),
  site: Type.String({ minLength: 1, maxLength: 128 }),
  level: literals(LEVELS),
  address: Type.String({ minLength: 1, maxLength: 253 }),
  snmpPort: Type.Integer({ minimum: 1, maximum: 65535 }),
  snmp: SnmpInput,
  parents: Type.Array(NodeName, { maxItems: 32 }),
  description: Type.String({ maxLength: 1024 }),
};
const NodeInput = Strict({
  name: NodeName,
  kind: nodeFields.kind,
  zone: nodeFields.zone,
  site: nodeFields.site,
  level: nodeFields.level,
  address: nodeFields.address,
  snmpPort: Type.Optional(nodeFields.snmpPort),
  snmp: Type.Optional(nodeFields.snmp),
  parents: Type.Optional(nodeFields.parents),
  description: Type.Optional(nodeFields.description),
});
const NodePatchInput = Type.Partial(Strict({ ...nodeFields }), { additionalProperties: false, minProperties: 1 });

const SnmpView = Type.Union([
  Strict({ version: literals(['v1', 'v2c']) }),
  Strict({ version: Type.Literal('v3'), user: Type.String(), authProtocol: Type.String(), privProtocol: Type.String() }),
  Type.Null(),
]);
const NodeView = Strict({
  name: Type.String(),
  kind: Type.String(),
  zone: Type.String(),
  site: Type.String(),
  level: Type.String(),
  address: Type.String(),
  snmpPort: Type.Integer(),
  snmp: SnmpView,
  parents: Type.Array(Type.String()),
  description: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

const LinkEnd = Type.Union([Type.String({ minLength: 3, maxLength: 130, description: 'NODE:INTERFACE' }), Strict({ node: NodeName, interface: Type.String({ minLength: 1, maxLength: 64 }) })]);
const Capacity = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ maxLength: 32, description: 'bits/s, or with k, M, G, T: "10G"' })]);
const LinkInput = Strict({ a: LinkEnd, b: LinkEnd, capacityBps: Type.Optional(Capacity), capacity: Type.Optional(Capacity), description: Type.Optional(Type.String({ maxLength: 1024 })) });
const LinkPatchInput = Type.Object(
  { capacityBps: Type.Optional(Capacity), capacity: Type.Optional(Capacity), description: Type.Optional(Type.String({ maxLength: 1024 })) },
  { additionalProperties: false, minProperties: 1 },
);
const LinkEndView = Strict({ node: Type.String(), interface: Type.String() });
const linkViewFields = {
  id: Type.Integer(),
  a: LinkEndView,
  b: LinkEndView,
  capacityBps: Type.Number(),
  description: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
};
const LinkView = Strict(linkViewFields);
const NameParams = Strict({ name: NodeName });
const IdParams = Strict({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) });

const ImportInput = Strict({ format: literals(['csv', 'yaml']), content: Type.String({ maxLength: IMPORT_BODY_LIMIT }) });
const ImportReport = Strict({
  accepted: Strict({ nodes: Type.Integer(), links: Type.Integer() }),
  stored: Type.Array(Type.String()),
  rejected: Type.Array(Strict({ line: Type.Integer(), kind: literals(['node', 'link']), subject: Type.Union([Type.String(), Type.Null()]), reason: Type.String() })),
});

const NumberMap = Type.Record(Type.String(), Type.Number());
const StringMap = Type.Record(Type.String(), Type.String());
const MetricPointView = Strict({ measurement: Type.String(), tags: StringMap, fields: NumberMap, time: Type.Number() });
const SeriesView = Strict({ tags: StringMap, points: Type.Array(Strict({ time: Type.Number(), value: Type.Number() })) });
const MeasurementParams = Strict({ measurement: literals(MEASUREMENT_NAMES) });
const allTagNames = [...new Set(Object.values(MEASUREMENT_TAGS).flat())];
const tagQuery = Object.fromEntries(allTagNames.map((t) => [t, Type.Optional(Type.String({ minLength: 1, maxLength: 256 }))]));
/** Epoch milliseconds or an ISO-8601 time. */
const TimeParam = Type.String({ maxLength: 40, description: 'epoch milliseconds or ISO-8601' });
const LimitParam = Type.String({ pattern: '^[0-9]{1,5}$' });

const LogView = Strict({
  id: Type.Integer(),
  time: Type.Number(),
  receivedAt: Type.Number(),
  node: Type.Union([Type.String(), Type.Null()]),
  sourceAddress: Type.String(),
  facility: Type.Integer(),
  severity: Type.String(),
  host: Type.Union([Type.String(), Type.Null()]),
  app: Type.Union([Type.String(), Type.Null()]),
  procId: Type.Union([Type.String(), Type.Null()]),
  msgId: Type.Union([Type.String(), Type.Null()]),
  message: Type.String(),
  structuredData: Type.Record(Type.String(), StringMap),
  format: Type.String(),
  transport: Type.String(),
  agent: Type.String(),
});
const EventView = Strict({
  id: Type.Integer(),
  time: Type.Number(),
  receivedAt: Type.Number(),
  node: Type.Union([Type.String(), Type.Null()]),
  sourceAddress: Type.String(),
  kind: Type.String(),
  name: Type.String(),
  severity: Type.String(),
  detail: StringMap,
  agent: Type.String(),
});

const Nullable = (schema: TSchema) => Type.Union([schema, Type.Null()]);
const NodeStatusView = Strict({
  name: Type.String(),
  kind: Type.String(),
  zone: Type.String(),
  site: Type.String(),
  level: Type.String(),
  address: Type.String(),
  parents: Type.Array(Type.String()),
  status: literals(NODE_STATES),
  sampledAt: Nullable(Type.Number()),
  rttMs: Nullable(Type.Number()),
  cutOffBy: Type.Array(Type.String()),
});
const LinkStatusView = Strict({
  ...linkViewFields,
  status: literals(['up', 'down', 'unknown']),
  aToBPct: Nullable(Type.Number()),
  bToAPct: Nullable(Type.Number()),
  utilisationPct: Nullable(Type.Number()),
  measuredAt: Nullable(literals(['a', 'b'])),
  sampledAt: Nullable(Type.Number()),
});
const InterfaceStatusView = Strict({
  node: Type.String(),
  ifName: Nullable(Type.String()),
  ifIndex: Nullable(Type.String()),
  operStatus: Nullable(Type.String()),
  adminStatus: Nullable(Type.String()),
  inBitsPerSec: Nullable(Type.Number()),
  outBitsPerSec: Nullable(Type.Number()),
  inErrorsPerSec: Nullable(Type.Number()),
  outErrorsPerSec: Nullable(Type.Number()),
  sampledAt: Type.Number(),
  fresh: Type.Boolean(),
});
const StatusView = Strict({
  at: Type.String(),
  counts: Strict(Object.fromEntries(NODE_STATES.map((s) => [s, Type.Integer()]))),
  nodes: Type.Array(NodeStatusView),
  links: Type.Array(LinkStatusView),
  worstLinks: Type.Array(LinkStatusView),
});

const IngestInput = Strict({ items: Type.Array(Type.Unknown(), { maxItems: MAX_ITEMS_PER_DELIVERY }) });
const IngestResultView = Strict({
  accepted: Type.Integer(),
  duplicates: Type.Integer(),
  rejected: Type.Array(Strict({ index: Type.Integer(), seq: Nullable(Type.Integer()), reason: Type.String() })),
  expired: Type.Integer(),
  highWater: Type.Integer(),
});
const AgentView = Strict({
  agent: Type.String(),
  highWater: Type.Integer(),
  accepted: Type.Integer(),
  rejected: Type.Integer(),
  duplicates: Type.Integer(),
  lastSeenAt: Type.String(),
  lastRejectReason: Nullable(Type.String()),
});

// ---- query helpers

function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) throw new EgovError('bad-request', `${name} must be epoch milliseconds or an ISO-8601 time (got ${JSON.stringify(value)})`);
  return ms;
}

function tagsFrom(measurement: MeasurementName, query: Record<string, string | undefined>): TagFilter {
  const allowed: readonly string[] = MEASUREMENT_TAGS[measurement];
  const tags: Record<string, string> = {};
  for (const key of allTagNames) {
    const value = query[key];
    if (value === undefined) continue;
    if (!allowed.includes(key)) throw new EgovError('bad-request', `${key} is not a tag of ${measurement} (its tags: ${allowed.join(', ')})`);
    tags[key] = value;
  }
  return tags;
}

/**
 * The agent's name for its high-water mark: the principal's name without
 * the certificate serial the access layer appends ("agent-dmz (0a1b…)"),
 * so a renewed certificate keeps the agent's mark and nothing is stored twice.
 */
export function agentName(principalName: string): string {
  return principalName.replace(/\s+\([0-9A-Fa-f:]{2,}\)$/, '');
}

const optionalNumber = (value: string | undefined) => (value === undefined ? undefined : Number(value));
const defined = <T extends Record<string, unknown>>(object: T) => Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };

export async function monitorRoutes(app: FastifyInstance, options: MonitorRoutesOptions): Promise<void> {
  const { monitor } = options;
  const { inventory } = monitor;

  // ---- inventory: nodes
  app.get<{ Querystring: { zone?: string; kind?: string; level?: string; site?: string } }>(
    '/api/monitor/nodes',
    {
      config: VIEW,
      schema: {
        querystring: Strict({ zone: Type.Optional(literals(ZONES)), kind: Type.Optional(literals(NODE_KINDS)), level: Type.Optional(literals(LEVELS)), site: Type.Optional(Type.String({ maxLength: 128 })) }),
        response: { 200: Strict({ nodes: Type.Array(NodeView) }) },
      },
    },
    async (request) => ({ nodes: await inventory.listNodes(defined(request.query) as Parameters<typeof inventory.listNodes>[0]) }),
  );

  app.get<{ Params: { name: string } }>('/api/monitor/nodes/:name', { config: VIEW, schema: { params: NameParams, response: { 200: NodeView } } }, async (request) =>
    inventory.getNode(request.params.name),
  );

  app.post('/api/monitor/nodes', { config: ADMIN, bodyLimit: 64 * 1024, schema: { body: NodeInput, response: { 201: NodeView } } }, async (request, reply) =>
    reply.status(201).send(await inventory.addNode(request.body, actorOf(request))),
  );

  app.patch<{ Params: { name: string } }>('/api/monitor/nodes/:name', { config: ADMIN, schema: { params: NameParams, body: NodePatchInput, response: { 200: NodeView } } }, async (request) =>
    inventory.updateNode(request.params.name, request.body, actorOf(request)),
  );

  app.delete<{ Params: { name: string } }>('/api/monitor/nodes/:name', { config: ADMIN, schema: { params: NameParams } }, async (request, reply) => {
    await inventory.removeNode(request.params.name, actorOf(request));
    return reply.status(204).send();
  });

  // ---- inventory: links
  app.get<{ Querystring: { node?: string } }>(
    '/api/monitor/links',
    { config: VIEW, schema: { querystring: Strict({ node: Type.Optional(NodeName) }), response: { 200: Strict({ links: Type.Array(LinkView) }) } } },
    async (request) => ({ links: await inventory.listLinks(defined(request.query)) }),
  );

  app.get<{ Params: { id: string } }>('/api/monitor/links/:id', { config: VIEW, schema: { params: IdParams, response: { 200: LinkView } } }, async (request) =>
    inventory.getLink(Number(request.params.id)),
  );

  app.post('/api/monitor/links', { config: ADMIN, schema: { body: LinkInput, response: { 201: LinkView } } }, async (request, reply) =>
    reply.status(201).send(await inventory.addLink(request.body, actorOf(request))),
  );

  app.patch<{ Params: { id: string } }>('/api/monitor/links/:id', { config: ADMIN, schema: { params: IdParams, body: LinkPatchInput, response: { 200: LinkView } } }, async (request) =>
    inventory.updateLink(Number(request.params.id), request.body, actorOf(request)),
  );

  app.delete<{ Params: { id: string } }>('/api/monitor/links/:id', { config: ADMIN, schema: { params: IdParams } }, async (request, reply) => {
    await inventory.removeLink(Number(request.params.id), actorOf(request));
    return reply.status(204).send();
  });

  // ---- import / export
  app.post<{ Body: { format: 'csv' | 'yaml'; content: string } }>(
    '/api/monitor/import',
    { config: ADMIN, bodyLimit: IMPORT_BODY_LIMIT + 1024, handlerTimeout: LONG_HANDLER_TIMEOUT_MS, schema: { body: ImportInput, response: { 200: ImportReport } } },
    async (request) => inventory.importRows(parseInventory(request.body.content, request.body.format), actorOf(request), `api:${request.body.format}`),
  );

  app.get<{ Querystring: { format?: 'csv' | 'yaml'; what?: 'nodes' | 'links' } }>(
    '/api/monitor/export',
    { config: VIEW, schema: { querystring: Strict({ format: Type.Optional(literals(['csv', 'yaml'])), what: Type.Optional(literals(['nodes', 'links'])) }) } },
    async (request, reply) => {
      const format = request.query.format ?? 'yaml';
      if (format === 'yaml') return reply.type('application/yaml').send(inventoryToYaml(await inventory.listNodes(), await inventory.listLinks()));
      const csv = request.query.what === 'links' ? linksToCsv(await inventory.listLinks()) : nodesToCsv(await inventory.listNodes());
      return reply.type('text/csv; charset=utf-8').send(csv);
    },
  );

  // ---- metrics
  app.get<{ Params: { measurement: string }; Querystring: Record<string, string | undefined> }>(
    '/api/monitor/metrics/:measurement/latest',
    { config: VIEW, schema: { params: MeasurementParams, querystring: Strict(tagQuery), response: { 200: Strict({ points: Type.Array(MetricPointView) }) } } },
    async (request) => {
      const measurement = checkMeasurement(request.params.measurement);
      return { points: await monitor.metrics.latest(measurement, tagsFrom(measurement, request.query)) };
    },
  );

  app.get<{ Params: { measurement: string }; Querystring: Record<string, string | undefined> }>(
    '/api/monitor/metrics/:measurement/series',
    {
      config: VIEW,
      schema: {
        params: MeasurementParams,
        querystring: Strict({ ...tagQuery, field: Type.String({ minLength: 1, maxLength: 64 }), from: TimeParam, to: Type.Optional(TimeParam), step: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$', description: 'milliseconds' })) }),
        response: { 200: Strict({ series: Type.Array(SeriesView) }) },
      },
    },
    async (request) => {
      const measurement = checkMeasurement(request.params.measurement);
      const { field, from, to, step } = request.query;
      const series = await monitor.metrics.series(
        measurement,
        field!,
        tagsFrom(measurement, request.query),
        parseTime(from, 'from')!,
        parseTime(to, 'to') ?? Date.now(),
        optionalNumber(step),
      );
      return { series };
    },
  );

  // ---- logs and events
  app.get<{ Querystring: { node?: string; severity?: string; from?: string; to?: string; text?: string; limit?: string; before?: string } }>(
    '/api/monitor/logs',
    {
      config: VIEW,
      schema: {
        querystring: Strict({
          node: Type.Optional(NodeName),
          severity: Type.Optional(literals(SEVERITIES)),
          from: Type.Optional(TimeParam),
          to: Type.Optional(TimeParam),
          text: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          limit: Type.Optional(LimitParam),
          before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the last id of the previous page' })),
        }),
        response: { 200: Strict({ logs: Type.Array(LogView), next: Nullable(Type.Integer()) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const logs = await monitor.logs.search(
        defined({
          node: q.node,
          severity: q.severity as Severity | undefined,
          from: parseTime(q.from, 'from'),
          to: parseTime(q.to, 'to'),
          text: q.text,
          limit: optionalNumber(q.limit),
          beforeId: optionalNumber(q.before),
        }),
      );
      return { logs, next: logs.length ? logs[logs.length - 1]!.id : null };
    },
  );

  app.get<{ Querystring: { node?: string; kind?: string; from?: string; to?: string; limit?: string; before?: string } }>(
    '/api/monitor/events',
    {
      config: VIEW,
      schema: {
        querystring: Strict({
          node: Type.Optional(NodeName),
          kind: Type.Optional(literals(['trap', 'inform', 'reachability', 'counter-reset'])),
          from: Type.Optional(TimeParam),
          to: Type.Optional(TimeParam),
          limit: Type.Optional(LimitParam),
          before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
        }),
        response: { 200: Strict({ events: Type.Array(EventView), next: Nullable(Type.Integer()) }) },
      },
    },
    async (request) => {
      const q = request.query;
      const events = await monitor.events.list(
        defined({
          node: q.node,
          kind: q.kind as 'trap' | undefined,
          from: parseTime(q.from, 'from'),
          to: parseTime(q.to, 'to'),
          limit: optionalNumber(q.limit),
          beforeId: optionalNumber(q.before),
        }),
      );
      return { events, next: events.length ? events[events.length - 1]!.id : null };
    },
  );

  // ---- status
  app.get<{ Querystring: { worst?: string } }>(
    '/api/monitor/status',
    { config: VIEW, schema: { querystring: Strict({ worst: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })) }), response: { 200: StatusView } } },
    async (request) => monitor.status.overview(optionalNumber(request.query.worst) ?? 10),
  );

  app.get<{ Querystring: { limit?: string } }>(
    '/api/monitor/status/links/worst',
    { config: VIEW, schema: { querystring: Strict({ limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })) }), response: { 200: Strict({ links: Type.Array(LinkStatusView) }) } } },
    async (request) => ({ links: await monitor.status.worstLinks(optionalNumber(request.query.limit) ?? 10) }),
  );

  app.get<{ Querystring: { node?: string } }>(
    '/api/monitor/status/interfaces',
    { config: VIEW, schema: { querystring: Strict({ node: Type.Optional(NodeName) }), response: { 200: Strict({ interfaces: Type.Array(InterfaceStatusView) }) } } },
    async (request) => ({ interfaces: await monitor.status.interfaces(request.query.node) }),
  );

  app.get('/api/monitor/agents', { config: VIEW, schema: { response: { 200: Strict({ agents: Type.Array(AgentView) }) } } }, async () => ({ agents: await monitor.ingestor.agents() }));

  // ---- what an agent polls: its zone's nodes with their SNMP credentials, opened for it (each opening audited);
  // the zone's nodes it does not poll come as names and addresses only, so their traps and syslog are still theirs.
  app.get<{ Querystring: { zone: 'internal' | 'external' | 'dmz' } }>(
    '/api/monitor/agent/targets',
    { config: AGENT, schema: { querystring: Strict({ zone: literals(ZONES) }) } },
    async (request) => {
      const nodes = await inventory.listNodes({ zone: request.query.zone });
      const targets = [];
      const unpolled = [];
      for (const node of nodes) {
        const snmp = node.snmp ? await inventory.snmpCredentials(node.name, actorOf(request)) : null;
        if (snmp) targets.push({ name: node.name, kind: node.kind, address: node.address, snmpPort: node.snmpPort, snmp });
        else unpolled.push({ name: node.name, address: node.address });
      }
      return { targets, unpolled };
    },
  );

  // ---- ingest (agents)
  app.post<{ Body: { items: unknown[] } }>(
    '/api/monitor/ingest',
    { config: AGENT, bodyLimit: INGEST_BODY_LIMIT, schema: { body: IngestInput, response: { 200: IngestResultView } } },
    async (request) => {
      const principal = request.principal?.name;
      if (!principal) throw new EgovError('unauthorized', 'ingest needs an agent certificate: the agent name comes from it');
      return monitor.ingestor.accept(agentName(principal), request.body.items);
    },
  );
}
