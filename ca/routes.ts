// HTTP for the CA: public distribution points (CA certificates, CRLs, OCSP)
// and the JSON API to issue, revoke and look up certificates.

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { actorOf, EgovError } from '../core/index.js';
import { toPem } from './asn1/der.js';
import type { Authority } from './authority.js';
import type { CrlService } from './crl.js';
import { MAX_OCSP_REQUEST_BYTES, type OcspResponder } from './ocsp.js';
import { OPERATOR_REASONS } from './revocation.js';

export interface CaRoutesOptions {
  authority: Authority;
  crls: CrlService;
  ocsp: OcspResponder;
}


const CaParams = Type.Object({ ca: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }) });
const CertParams = Type.Object({ ca: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }), serial: Type.String({ pattern: '^[0-9a-fA-F:]{1,60}$' }) });
// Response schemas let fastify serialise with a compiled stringifier
// (and never leak a field that is not listed).
const CertificateRecordSchema = Type.Object({
  ca: Type.String(),
  serial: Type.String(),
  profile: Type.String(),
  subject: Type.String(),
  sans: Type.Array(Type.String()),
  keyAlgorithm: Type.String(),
  notBefore: Type.String(),
  notAfter: Type.String(),
  issuedAt: Type.String(),
  fingerprintSha256: Type.String(),
  status: Type.String(),
  revokedAt: Type.Optional(Type.String()),
  revocationReason: Type.Optional(Type.String()),
});
const IssuedSchema = Type.Composite([CertificateRecordSchema, Type.Object({ certificatePem: Type.String() })]);

const ADMIN = { roles: ['ca-admin'] as const };
const READ = { roles: ['ca-admin', 'ra-operator', 'security-officer', 'auditor'] as const };
const PUBLIC = { roles: 'public' as const };

export async function caRoutes(app: FastifyInstance, options: CaRoutesOptions): Promise<void> {
  const { authority, crls, ocsp } = options;

  // ---- public distribution points
  app.get<{ Params: { file: string } }>('/ca/:file', { config: PUBLIC }, async (request, reply) => {
    const m = /^([a-z0-9][a-z0-9-]{0,62}?)(?:\.(crt|der|pem)|-chain\.pem)$/.exec(request.params.file);
    if (!m) throw new EgovError('not-found', `no CA file "${request.params.file}"; try NAME.crt (DER), NAME.pem or NAME-chain.pem`);
    const [issuing, root] = await authority.chain(m[1]!);
    if (request.params.file.endsWith('-chain.pem')) return reply.type('application/x-pem-file').send(toPem('CERTIFICATE', issuing!) + toPem('CERTIFICATE', root!));
    if (m[2] === 'pem') return reply.type('application/x-pem-file').send(toPem('CERTIFICATE', issuing!));
    return reply.type('application/pkix-cert').send(issuing);
  });

  app.get<{ Params: { file: string } }>('/crl/:file', { config: PUBLIC }, async (request, reply) => {
    const m = /^([a-z0-9][a-z0-9-]{0,62}?)(-delta)?\.crl$/.exec(request.params.file);
    if (!m) throw new EgovError('not-found', `no CRL "${request.params.file}"; try NAME.crl or NAME-delta.crl`);
    const crl = await crls.current(m[1]!, m[2] ? 'delta' : 'full');
    const maxAge = Math.max(0, Math.floor((crl.nextUpdate.getTime() - Date.now()) / 1000 / 4));
    return reply.type('application/pkix-crl').header('cache-control', `public, max-age=${maxAge}`).send(crl.der);
  });

  const answerOcsp = async (ca: string, body: Buffer) => {
    // 404 for an unknown CA rather than an OCSP error; the context is cached, so this costs nothing per request.
    await authority.signingContext(ca);
    return ocsp.respond(ca, body);
  };

  app.register(async (scope) => {
    scope.addContentTypeParser('application/ocsp-request', { parseAs: 'buffer', bodyLimit: MAX_OCSP_REQUEST_BYTES }, (_req, body, done) => done(null, body));
    scope.post<{ Params: { ca: string }; Body: Buffer }>('/ocsp/:ca', { config: PUBLIC, schema: { params: CaParams } }, async (request, reply) => {
      if (!Buffer.isBuffer(request.body)) throw new EgovError('bad-request', 'send the OCSP request as application/ocsp-request');
      return reply.type('application/ocsp-response').send(await answerOcsp(request.params.ca, request.body));
    });
  });

  app.get<{ Params: { ca: string; '*': string } }>('/ocsp/:ca/*', { config: PUBLIC }, async (request, reply) => {
    // RFC 6960 appendix A: base64 of the DER request, URL-encoded, after the responder URL.
    // fastify has decoded the path once; some clients encode twice (%2B as %252B), so decode again where that is valid.
    const raw = request.params['*'];
    let encoded: string;
    try {
      encoded = decodeURIComponent(raw);
    } catch {
      throw new EgovError('bad-request', 'the OCSP GET request is not valid URL-encoded base64');
    }
    if (encoded.length > MAX_OCSP_REQUEST_BYTES * 2) throw new EgovError('bad-request', 'OCSP GET request too long');
    const body = Buffer.from(encoded, 'base64');
    return reply.type('application/ocsp-response').header('cache-control', 'public, max-age=300').send(await answerOcsp(request.params.ca, body));
  });

  // ---- JSON API: ca-admin changes things; the desk and the auditors read
  app.get('/api/ca', { config: READ }, async () => ({ hierarchies: await authority.listHierarchies() }));

  app.get<{ Params: { ca: string } }>('/api/ca/:ca', { config: READ, schema: { params: CaParams } }, async (request) => authority.summary(request.params.ca));

  app.get<{ Params: { ca: string } }>('/api/ca/:ca/chain', { config: READ, schema: { params: CaParams } }, async (request) => {
    const chain = await authority.chain(request.params.ca);
    return { chainPem: chain.map((c) => toPem('CERTIFICATE', c)).join('') };
  });

  app.post<{ Params: { ca: string }; Body: { profile: string; csr: string; validityDays?: number; sans?: string[] } }>(
    '/api/ca/:ca/certificates',
    {
      config: ADMIN,
      schema: {
        params: CaParams,
        body: Type.Object(
          {
            profile: Type.String({ minLength: 1, maxLength: 64 }),
            csr: Type.String({ minLength: 1, maxLength: 65536 }),
            validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
            sans: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: IssuedSchema },
      },
    },
    async (request, reply) => {
      const issued = await authority.issueFromCsr({ ca: request.params.ca, ...request.body }, actorOf(request));
      const { der: _der, ...record } = issued;
      return reply.status(201).send(record);
    },
  );

  app.post<{ Params: { ca: string }; Body: { profile: string; subject: string; sans?: string[]; keyAlgorithm?: string; validityDays?: number; p12Password: string } }>(
    '/api/ca/:ca/certificates/keygen',
    {
      config: ADMIN,
      schema: {
        params: CaParams,
        body: Type.Object(
          {
            profile: Type.String({ minLength: 1, maxLength: 64 }),
            subject: Type.String({ minLength: 1, maxLength: 2048 }),
            sans: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 100 })),
            keyAlgorithm: Type.Optional(Type.String({ maxLength: 32 })),
            validityDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
            p12Password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      const { certificate, pkcs12 } = await authority.issueWithKeygen({ ca: request.params.ca, ...request.body }, actorOf(request));
      const { der: _der, ...record } = certificate;
      return reply.status(201).send({ ...record, pkcs12Base64: pkcs12.toString('base64') });
    },
  );

  app.get<{ Params: { ca: string }; Querystring: { status?: 'good' | 'revoked' | 'hold'; limit?: string; after?: string; expiringBefore?: string } }>(
    '/api/ca/:ca/certificates',
    {
      config: READ,
      schema: {
        params: CaParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Union([Type.Literal('good'), Type.Literal('revoked'), Type.Literal('hold')])),
            limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,5}$' })),
            after: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{1,40}$' })),
            expiringBefore: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const q = request.query;
      const certificates = await authority.listCertificates(request.params.ca, {
        ...(q.status ? { status: q.status } : {}),
        ...(q.limit ? { limit: Number(q.limit) } : {}),
        ...(q.after ? { after: q.after } : {}),
        ...(q.expiringBefore ? { expiringBefore: new Date(q.expiringBefore).toISOString() } : {}),
      });
      return { certificates, next: certificates.length ? certificates[certificates.length - 1]!.serial : null };
    },
  );

  app.get<{ Params: { ca: string; serial: string } }>('/api/ca/:ca/certificates/:serial', { config: READ, schema: { params: CertParams, response: { 200: IssuedSchema } } }, async (request) => {
    const { der: _der, ...record } = await authority.getCertificate(request.params.ca, request.params.serial);
    return record;
  });

  app.post<{ Params: { ca: string; serial: string }; Body: { reason: string } }>(
    '/api/ca/:ca/certificates/:serial/revoke',
    {
      config: ADMIN,
      schema: { params: CertParams, body: Type.Object({ reason: Type.String({ description: OPERATOR_REASONS.join(', ') }) }, { additionalProperties: false }) },
    },
    async (request) => authority.revoke({ ca: request.params.ca, serial: request.params.serial, reason: request.body.reason }, actorOf(request)),
  );

  app.post<{ Params: { ca: string; serial: string } }>('/api/ca/:ca/certificates/:serial/unsuspend', { config: ADMIN, schema: { params: CertParams } }, async (request) =>
    authority.unsuspend({ ca: request.params.ca, serial: request.params.serial }, actorOf(request)),
  );

  app.post<{ Params: { ca: string }; Body: { kind?: 'full' | 'delta' } }>(
    '/api/ca/:ca/crl',
    { config: ADMIN, schema: { params: CaParams, body: Type.Optional(Type.Object({ kind: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('delta')])) }, { additionalProperties: false })) } },
    async (request) => {
      const built = await crls.build(request.params.ca, request.body?.kind ?? 'full');
      return { ca: built.ca, kind: built.kind, number: built.number, entries: built.entries, thisUpdate: built.thisUpdate, nextUpdate: built.nextUpdate };
    },
  );
}
