// Sign-in, sign-out, who-am-I, role bindings and enrolment codes: the access plugin.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EgovError } from '../errors.js';
import { ROLES, SESSION_COOKIE, type AccessControl, type Principal, type Role } from './access.js';

export interface AccessRoutesOptions {
  access: AccessControl;
}

const SerialParams = Type.Object({ ca: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }), serial: Type.String({ pattern: '^[0-9a-fA-F]{1,40}$' }) });
const RoleList = Type.Array(Type.Union(ROLES.map((r) => Type.Literal(r))), { minItems: 1, maxItems: ROLES.length });

export function actorOf(request: FastifyRequest): { actor: string; source: string } {
  return { actor: request.principal?.name ?? 'anonymous', source: request.ip };
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new EgovError('unauthorized', 'not signed in');
  return request.principal;
}

/** Sets the session cookie: HttpOnly, Secure, SameSite=Strict, scoped to the whole site. */
export function setSessionCookie(reply: FastifyReply, cookie: string): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=${cookie}; Path=/; HttpOnly; Secure; SameSite=Strict`);
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`);
}

export async function accessRoutes(app: FastifyInstance, { access }: AccessRoutesOptions): Promise<void> {
  app.get('/api/access/me', { config: { roles: 'signed-in' } }, async (request) => {
    const p = principalOf(request);
    return { name: p.name, ca: p.ca, serial: p.serial, roles: p.roles, activeRoles: p.activeRoles, session: p.session ? { expiresAt: p.session.expiresAt, csrf: p.session.csrf } : null };
  });

  app.post<{ Body: { password?: string } }>(
    '/api/access/sign-in',
    { config: { roles: 'signed-in', rateLimit: 'sign-in' }, schema: { body: Type.Object({ password: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false }) } },
    async (request, reply) => {
      const grant = await access.signIn(principalOf(request), request.body.password, request.ip);
      setSessionCookie(reply, grant.cookie);
      return { activeRoles: grant.activeRoles, csrf: grant.csrf, expiresAt: grant.expiresAt };
    },
  );

  app.post('/api/access/sign-out', { config: { roles: 'signed-in' } }, async (request, reply) => {
    await access.signOut(principalOf(request));
    clearSessionCookie(reply);
    return { signedOut: true };
  });

  app.get('/api/access/bindings', { config: { roles: ['ca-admin', 'security-officer', 'auditor'] } }, async () => ({ bindings: await access.listBindings() }));

  app.put<{ Params: { ca: string; serial: string }; Body: { holder: string; roles: Role[]; password?: string } }>(
    '/api/access/bindings/:ca/:serial',
    {
      config: { roles: ['ca-admin'] },
      schema: {
        params: SerialParams,
        body: Type.Object({ holder: Type.String({ minLength: 1, maxLength: 256 }), roles: RoleList, password: Type.Optional(Type.String({ maxLength: 1024 })) }, { additionalProperties: false }),
      },
    },
    async (request) => access.bind({ ...request.params, ...request.body }, actorOf(request)),
  );

  app.delete<{ Params: { ca: string; serial: string } }>('/api/access/bindings/:ca/:serial', { config: { roles: ['ca-admin'] }, schema: { params: SerialParams } }, async (request) => {
    await access.unbind(request.params, actorOf(request));
    return { removed: true };
  });

  app.post<{ Params: { ca: string; serial: string } }>('/api/access/bindings/:ca/:serial/unlock', { config: { roles: ['ca-admin'] }, schema: { params: SerialParams } }, async (request) => {
    await access.unlock(request.params, actorOf(request));
    return { unlocked: true };
  });

  app.post<{ Body: { role: Role; validHours?: number } }>(
    '/api/access/enrolment-codes',
    { config: { roles: ['ca-admin'] }, schema: { body: Type.Object({ role: Type.Union(ROLES.map((r) => Type.Literal(r))), validHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 30 })) }, { additionalProperties: false }) } },
    async (request, reply) => reply.status(201).send(await access.createEnrolmentCode(request.body.role, actorOf(request), request.body.validHours)),
  );
}
