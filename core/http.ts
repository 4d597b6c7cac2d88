// The one HTTP server: fastify, with each module's routes as a plugin.
// Every route must declare the roles it admits (config.roles); a route
// without one is refused at start-up, so nothing is exposed by accident.

import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EgovError, asEgovError } from './errors.js';
import type { Logger } from './logging.js';

export const ROLES = ['ca-admin', 'ra-operator', 'security-officer', 'network-admin', 'auditor', 'agent'] as const;
export type Role = (typeof ROLES)[number];
/** `public`: anyone (CA certificates, CRLs, OCSP, health). */
export type RouteRoles = 'public' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    roles?: RouteRoles;
  }
  interface FastifyRequest {
    principal?: { name: string; roles: readonly Role[] };
  }
}

export interface ServerOptions {
  logger: Logger;
  /** SHA-256 (hex) of the admin token; until the RA desk brings certificates, it stands for `ca-admin`. */
  adminTokenSha256: string;
  bodyLimit?: number;
}

function tokenMatches(presented: string, expectedSha256: string): boolean {
  const digest = createHash('sha256').update(presented).digest();
  const expected = Buffer.from(expectedSha256, 'hex');
  return expected.length === digest.length && timingSafeEqual(digest, expected);
}

// Loaded when a server is made, not when the CLI starts: most commands never serve.
const require = createRequire(import.meta.url);

export function createServer(options: ServerOptions): FastifyInstance {
  const { default: Fastify, LogController } = require('fastify') as typeof import('fastify');
  const app = Fastify({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // Requests are not logged one by one (OCSP alone runs at thousands a second); errors are.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  // The check runs only on routes that admit roles: public ones (OCSP at
  // thousands a second) pay nothing for it.
  const checkRoles = async (request: FastifyRequest) => {
    const roles = request.routeOptions.config?.roles;
    if (roles === 'public' || roles === undefined) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new EgovError('unauthorized', 'this route needs the admin token: send "Authorization: Bearer TOKEN"');
    if (!tokenMatches(match[1]!, options.adminTokenSha256)) throw new EgovError('unauthorized', 'the admin token is not valid');
    const principal = { name: 'admin-token', roles: ['ca-admin'] as const };
    if (!roles.some((role) => principal.roles.includes(role as 'ca-admin'))) {
      throw new EgovError('forbidden', `this route admits ${roles.join(', ')}; the admin token holds ca-admin`);
    }
    request.principal = principal;
  };

  app.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (!roles) throw new Error(`route ${route.method} ${route.url} does not declare its roles`);
    if (roles !== 'public') route.onRequest = [checkRoles, ...[route.onRequest ?? []].flat()];
  });

  app.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number; code?: string }, request, reply: FastifyReply) => {
    if (error.validation) {
      return reply.status(400).send({ code: 'bad-request', message: `request ${error.message}` });
    }
    if (!(error instanceof EgovError) && error.statusCode && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ code: 'bad-request', message: error.message });
    }
    const egov = asEgovError(error);
    if (egov.httpStatus >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(egov.httpStatus).send(egov.toJSON());
  });

  app.setNotFoundHandler((request, reply) => reply.status(404).send({ code: 'not-found', message: `no route ${request.method} ${request.url.split('?')[0]}` }));

  app.get('/health', { config: { roles: 'public' } }, async () => ({ status: 'ok' }));
  return app;
}
