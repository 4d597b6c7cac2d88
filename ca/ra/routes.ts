// The registration desk's JSON API and the enrolment endpoint. Who may do
// what: ra-operator works requests; ca-admin, security-officer and auditor read.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, EgovError, type AccessControl } from '../../core/index.js';
import type { Authority } from '../authority.js';
import { DeviceSchema, PersonSchema, SoftwareSchema, type Applicant } from './applicants.js';
import { parseRequestId, REQUEST_STATES, type RegistrationDesk, type RequestFilter, type SubmitRequest } from './desk.js';
import { enrolWithCode } from './enrolment.js';

export interface RaRoutesOptions {
  desk: RegistrationDesk;
  authority: Authority;
  access: AccessControl;
  /** The hierarchy enrolment certificates come from. */
  accessCa: () => Promise<string>;
}

export const RA_WORK = { roles: ['ra-operator'] as const };
export const RA_READ = { roles: ['ra-operator', 'ca-admin', 'security-officer', 'auditor'] as const };

const IdParams = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,15}$' }) });
const CaName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' });
const Serial = Type.String({ pattern: '^[0-9a-fA-F]{1,40}$' });
const Csr = Type.String({ minLength: 1, maxLength: 65536 });

const SubmitSchema = Type.Union([
  Type.Object({ kind: Type.Literal('issue'), ca: CaName, profile: Type.String({ minLength: 1, maxLength: 64 }), subjectType: Type.Literal('person'), applicant: PersonSchema, csr: Type.Optional(Csr), keyAlgorithm: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('issue'), ca: CaName, profile: Type.String({ minLength: 1, maxLength: 64 }), subjectType: Type.Literal('device'), applicant: DeviceSchema, csr: Type.Optional(Csr), keyAlgorithm: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('issue'), ca: CaName, profile: Type.String({ minLength: 1, maxLength: 64 }), subjectType: Type.Literal('software'), applicant: SoftwareSchema, csr: Type.Optional(Csr), keyAlgorithm: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Union([Type.Literal('renew'), Type.Literal('suspend'), Type.Literal('unsuspend')]), ca: CaName, targetSerial: Serial }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('rekey'), ca: CaName, targetSerial: Serial, csr: Type.Optional(Csr), keyAlgorithm: Type.Optional(Type.String({ maxLength: 32 })) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('revoke'), ca: CaName, targetSerial: Serial, reason: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false }),
]);

type SubmitBody = { kind: string; ca: string; profile?: string; subjectType?: Applicant['type']; applicant?: Applicant['fields']; csr?: string; keyAlgorithm?: string; targetSerial?: string; reason?: string };

/** The API body as the desk's request type. */
export function toSubmitRequest(body: SubmitBody): SubmitRequest {
  if (body.kind === 'issue') {
    return {
      kind: 'issue',
      ca: body.ca,
      profile: body.profile!,
      applicant: { type: body.subjectType!, fields: body.applicant! } as Applicant,
      ...(body.csr ? { csr: body.csr } : {}),
      ...(body.keyAlgorithm ? { keyAlgorithm: body.keyAlgorithm } : {}),
    };
  }
  if (body.kind === 'revoke') return { kind: 'revoke', ca: body.ca, targetSerial: body.targetSerial!, reason: body.reason! };
  if (body.kind === 'rekey') return { kind: 'rekey', ca: body.ca, targetSerial: body.targetSerial!, ...(body.csr ? { csr: body.csr } : {}), ...(body.keyAlgorithm ? { keyAlgorithm: body.keyAlgorithm } : {}) };
  return { kind: body.kind as 'renew' | 'suspend' | 'unsuspend', ca: body.ca, targetSerial: body.targetSerial! };
}

export const ListQuery = Type.Object(
  {
    state: Type.Optional(Type.Union(REQUEST_STATES.map((s) => Type.Literal(s)))),
    profile: Type.Optional(Type.String({ maxLength: 64 })),
    submittedBy: Type.Optional(Type.String({ maxLength: 256 })),
    from: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}' })),
    to: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}' })),
    q: Type.Optional(Type.String({ maxLength: 128 })),
    before: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,3}$' })),
  },
  { additionalProperties: false },
);

/** A list filter from a query (the API's, validated by ListQuery, or a page's, not): a bad date or number is a 400, not a RangeError. */
export function toFilter(query: Record<string, string | undefined>): RequestFilter {
  const date = (key: 'from' | 'to') => {
    const value = query[key]!;
    const time = new Date(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(time.getTime())) throw new EgovError('bad-request', `${key} must be a date (YYYY-MM-DD), got ${JSON.stringify(value.slice(0, 40))}`);
    return time.toISOString();
  };
  const whole = (key: 'before' | 'limit', max: number) => {
    const value = query[key]!;
    if (!/^[0-9]{1,15}$/.test(value) || Number(value) > max) throw new EgovError('bad-request', `${key} must be a whole number up to ${max}, got ${JSON.stringify(value.slice(0, 40))}`);
    return Number(value);
  };
  return {
    ...(query.state ? { state: query.state as RequestFilter['state'] } : {}),
    ...(query.profile ? { profile: query.profile } : {}),
    ...(query.submittedBy ? { submittedBy: query.submittedBy } : {}),
    ...(query.from ? { from: date('from') } : {}),
    ...(query.to ? { to: date('to') } : {}),
    ...(query.q ? { search: query.q } : {}),
    ...(query.before ? { before: whole('before', Number.MAX_SAFE_INTEGER) } : {}),
    ...(query.limit ? { limit: whole('limit', 999) } : {}),
  };
}

function requestId(request: FastifyRequest<{ Params: { id: string } }>) {
  return parseRequestId(request.params.id);
}

export async function raRoutes(app: FastifyInstance, options: RaRoutesOptions): Promise<void> {
  const { desk } = options;

  app.get<{ Querystring: Record<string, string | undefined> }>('/api/ra/requests', { config: RA_READ, schema: { querystring: ListQuery } }, async (request) => desk.list(toFilter(request.query)));

  app.post<{ Body: SubmitBody }>('/api/ra/requests', { config: RA_WORK, schema: { body: SubmitSchema } }, async (request, reply) =>
    reply.status(201).send(await desk.submit(toSubmitRequest(request.body), actorOf(request))),
  );

  app.get<{ Params: { id: string } }>('/api/ra/requests/:id', { config: RA_READ, schema: { params: IdParams } }, async (request) => desk.get(requestId(request)));

  app.post<{ Params: { id: string }; Body: { documentType: string; documentNumber: string; presentedBy: string; notes?: string } }>(
    '/api/ra/requests/:id/vet',
    {
      config: RA_WORK,
      schema: {
        params: IdParams,
        body: Type.Object(
          { documentType: Type.String({ minLength: 1, maxLength: 64 }), documentNumber: Type.String({ minLength: 1, maxLength: 64 }), presentedBy: Type.String({ minLength: 1, maxLength: 128 }), notes: Type.Optional(Type.String({ maxLength: 2000 })) },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => desk.vet(requestId(request), request.body, actorOf(request)),
  );

  app.post<{ Params: { id: string } }>('/api/ra/requests/:id/approve', { config: RA_WORK, schema: { params: IdParams } }, async (request) => desk.approve(requestId(request), actorOf(request)));

  app.post<{ Params: { id: string }; Body: { reason: string } }>(
    '/api/ra/requests/:id/reject',
    { config: RA_WORK, schema: { params: IdParams, body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }) } },
    async (request) => desk.reject(requestId(request), request.body.reason, actorOf(request)),
  );

  app.post<{ Params: { id: string } }>('/api/ra/requests/:id/issue', { config: RA_WORK, schema: { params: IdParams } }, async (request) => desk.issue(requestId(request), actorOf(request)));

  app.post<{ Params: { id: string }; Body: { password: string } }>(
    '/api/ra/requests/:id/pkcs12',
    { config: RA_WORK, schema: { params: IdParams, body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const { pkcs12, serial } = await desk.downloadPkcs12(requestId(request), request.body.password, actorOf(request));
      return reply.type('application/x-pkcs12').header('content-disposition', `attachment; filename="${serial}.p12"`).send(pkcs12);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'pem' | 'der' | 'chain' } }>(
    '/api/ra/requests/:id/certificate',
    { config: RA_WORK, schema: { params: IdParams, querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('pem'), Type.Literal('der'), Type.Literal('chain')])) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const format = request.query.format ?? 'pem';
      const { body, serial } = await desk.downloadCertificate(requestId(request), format, actorOf(request));
      const type = format === 'der' ? 'application/pkix-cert' : 'application/x-pem-file';
      return reply.type(type).header('content-disposition', `attachment; filename="${serial}${format === 'der' ? '.cer' : format === 'chain' ? '-chain.pem' : '.pem'}"`).send(body);
    },
  );

  app.get<{ Querystring: { days?: string } }>(
    '/api/ca/expiring',
    { config: RA_READ, schema: { querystring: Type.Object({ days: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$' })) }, { additionalProperties: false }) } },
    async (request) => ({ days: Number(request.query.days ?? 30), certificates: await desk.expiring(Number(request.query.days ?? 30)) }),
  );

  // Public, but worth nothing without a one-time code: how the first ca-admin and each agent get in.
  app.post<{ Body: { code: string; name: string; department?: string; employeeNumber?: string; password?: string; csr?: string; publicKey?: string; names?: string[]; p12Password?: string } }>(
    '/api/access/enrol',
    {
      config: { roles: 'public', rateLimit: 'enrolment' },
      schema: {
        body: Type.Object(
          {
            code: Type.String({ minLength: 8, maxLength: 64 }),
            name: Type.String({ minLength: 1, maxLength: 64 }),
            department: Type.Optional(Type.String({ maxLength: 128 })),
            employeeNumber: Type.Optional(Type.String({ maxLength: 32 })),
            password: Type.Optional(Type.String({ maxLength: 1024 })),
            csr: Type.Optional(Csr),
            publicKey: Type.Optional(Type.String({ minLength: 1, maxLength: 16384 })),
            names: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 8 })),
            p12Password: Type.Optional(Type.String({ maxLength: 1024 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const result = await enrolWithCode({ authority: options.authority, access: options.access, ca: await options.accessCa() }, request.body, { actor: `enrolment:${request.body.name}`, source: request.ip });
      const { pkcs12, ...rest } = result;
      return reply.status(201).send({ ...rest, ...(pkcs12 ? { pkcs12Base64: pkcs12.toString('base64') } : {}) });
    },
  );
}
