// The HTTP servers: fastify, with each module's routes as a plugin. Every
// route must declare the roles it admits (config.roles); a route without one
// is refused at start-up, so nothing is exposed by accident.
//
// Two listeners share the routes: plain HTTP answers only `public` routes
// (CRLs, OCSP, CA certificates: what certificates point at), HTTPS asks for a
// client certificate and admits the roles bound to it (core/access).

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AccessControl, SESSION_COOKIE, type PresentedCertificate, type Principal, type Role } from './access/access.js';
import { EgovError, asEgovError } from './errors.js';
import { ConsoleRegistry } from './console/frame.js';
import type { Logger } from './logging.js';

export { ROLES, type Role } from './access/access.js';

/**
 * `public`: anyone (CA certificates, CRLs, OCSP, health). `signed-in`: any
 * certificate bound to a role, before the password (sign-in itself, who-am-I).
 * Otherwise the roles admitted; administrator roles count only after the password.
 */
export type RouteRoles = 'public' | 'signed-in' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    roles?: RouteRoles;
    /** Requests per client certificate and address (see RATE_LIMITS). */
    rateLimit?: RateLimitName;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
  interface FastifyInstance {
    /** Every route with the roles it admits, as registered: what the access test walks. */
    declaredRoutes: Array<{ method: string; url: string; roles: RouteRoles; handlerTimeoutMs: number }>;
  }
}

export interface TlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** Roots and issuing CAs whose certificates may sign in. */
  ca: Array<string | Buffer>;
}

import { MemoryRateStore, type RateStore } from './rate-store.js';
import { BODY_LIMIT_BYTES, FORM_BODY_LIMIT_BYTES, HANDLER_TIMEOUT_MS, HEADERS_TIMEOUT_MS, HSTS_HEADER, RATE_LIMITS, REQUEST_TIMEOUT_MS, bodyLimitOf, handlerTimeoutError, type RateLimit, type RateLimitName } from './limits.js';

export { BODY_LIMIT_BYTES, FORM_BODY_LIMIT_BYTES, HANDLER_TIMEOUT_MS, HEADERS_TIMEOUT_MS, HSTS_HEADER, LONG_HANDLER_TIMEOUT_MS, RATE_LIMITS, REQUEST_TIMEOUT_MS, type RateLimit, type RateLimitName } from './limits.js';

export interface ServerOptions {
  logger: Logger;
  /** With TLS and access control: the mTLS server. Without: the plain server for public routes only. */
  tls?: TlsOptions;
  access?: AccessControl;
  /** Where to send people who reach a non-public route over plain HTTP. */
  secureUrl?: string;
  bodyLimit?: number;
  /** Default REQUEST_TIMEOUT_MS (tests lower it). */
  requestTimeoutMs?: number;
  /** Default HANDLER_TIMEOUT_MS, for routes that name no handlerTimeout of their own (tests lower it). */
  handlerTimeoutMs?: number;
  /** Overrides of RATE_LIMITS (tests lower them). */
  rateLimits?: Partial<Record<RateLimitName, RateLimit>>;
  /** Where requests are counted against the limits (default: this process's memory). */
  rateStore?: RateStore;
}

// Loaded when a server is made, not when the CLI starts: most commands never serve.
const require = createRequire(import.meta.url);

/** The `egov_session` cookie of a request, if any. */
export function sessionCookieOf(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE) return value.join('=');
  }
  return undefined;
}

const presentedBySocket = new WeakMap<object, PresentedCertificate>();

/** The client certificate of a connection, read once per TLS connection. */
function presentedCertificate(request: FastifyRequest): PresentedCertificate {
  const socket = request.raw.socket as TLSSocket;
  let presented = presentedBySocket.get(socket);
  if (!presented) {
    const peer = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate(true) : undefined;
    const der = peer && peer.raw ? peer.raw : undefined;
    const issuer = peer?.issuerCertificate;
    presented = {
      der,
      issuerDer: issuer && issuer.raw && !issuer.raw.equals(der ?? Buffer.alloc(0)) ? issuer.raw : undefined,
      authorized: socket.authorized === true,
      authorizationError: socket.authorizationError ? String(socket.authorizationError) : undefined,
    };
    presentedBySocket.set(socket, presented);
  }
  return presented;
}

// What a cross-site form or a no-cors fetch can send: these need the session's CSRF token.
const SIMPLE_CONTENT_TYPES = /^(application\/x-www-form-urlencoded|multipart\/form-data|text\/plain)\b/i;

export function createServer(options: ServerOptions): FastifyInstance {
  const { default: Fastify, LogController } = require('fastify') as typeof import('fastify');
  // One instance type for both listeners (the https options do not change the request API we use).
  const requestTimeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  // Node checks the timeouts every connectionsCheckingInterval (30 s by default): often enough to keep them.
  const timeouts = { headersTimeout: Math.min(HEADERS_TIMEOUT_MS, requestTimeout), connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(requestTimeout / 4))) };
  const app = (Fastify as unknown as (options: object) => FastifyInstance)({
    loggerInstance: options.logger as unknown as FastifyBaseLogger,
    bodyLimit: options.bodyLimit ?? BODY_LIMIT_BYTES,
    requestTimeout,
    handlerTimeout: options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS,
    http: timeouts,
    // Requests are not logged one by one (OCSP alone runs at thousands a second); errors are.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
    ...(options.tls
      ? { https: { key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' as const, ...timeouts } }
      : {}),
  });

  // HTML forms post url-encoded bodies; parsed here so every module's form routes get an object.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: FORM_BODY_LIMIT_BYTES }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const access = options.tls ? options.access : undefined;

  // The check runs only on routes that admit roles: public ones (OCSP at
  // thousands a second) pay nothing for it.
  const checkRoles = async (request: FastifyRequest) => {
    const roles = request.routeOptions.config?.roles as Exclude<RouteRoles, 'public'>;
    if (!access) {
      throw new EgovError('unauthorized', `this route needs a client certificate: use ${options.secureUrl ?? 'the HTTPS port'}${request.url}`);
    }
    const principal = await access.authenticate(presentedCertificate(request), sessionCookieOf(request), request.ip);
    request.principal = principal;
    if (roles === 'signed-in') return;
    if (roles.some((role) => principal.activeRoles.includes(role))) return;
    const what = `http:${request.method} ${request.routeOptions.url}`;
    if (roles.some((role) => principal.roles.includes(role))) {
      throw new EgovError('unauthorized', `this route needs your ${roles.filter((r) => principal.roles.includes(r)).join(', ')} role, which is active only after you sign in with your password`, { signIn: '/sign-in' });
    }
    const reason = `this route admits ${roles.join(', ')}; your certificate holds ${principal.roles.join(', ') || 'no role'}`;
    await access.refuse(principal, what, reason, request.ip);
    throw new EgovError('forbidden', reason);
  };

  // Client certificates, like cookies, go with any request the browser makes:
  // a state change sent the way a cross-site form can send it needs the token.
  const checkCsrf = async (request: FastifyRequest) => {
    // Only POST can cross sites without a CORS preflight (forms, no-cors fetch); PUT and DELETE cannot.
    if (request.method !== 'POST') return;
    const type = request.headers['content-type'] ?? '';
    if (type && !SIMPLE_CONTENT_TYPES.test(type)) return;
    const sent = (request.headers['x-csrf-token'] as string | undefined) ?? (request.body as Record<string, unknown> | undefined)?._csrf;
    const expected = request.principal?.session?.csrf;
    // API clients avoid this by sending JSON (Content-Type: application/json), which no cross-site form can.
    if (!expected) throw new EgovError('forbidden', 'a form was posted without a session (open the page again and resubmit); API clients send Content-Type: application/json');
    if (sent !== expected) throw new EgovError('forbidden', 'the form was posted without this session\'s CSRF token (expired page or a cross-site request): open the page again and resubmit; API clients send Content-Type: application/json');
  };

  // Rate limits: counted before anything else runs (authentication, a password hash, a key).
  const limiter = options.rateStore ?? new MemoryRateStore();
  const limits: Record<RateLimitName, RateLimit> = { ...RATE_LIMITS, ...(options.rateLimits ?? {}) };
  const checkRate = async (request: FastifyRequest, reply: FastifyReply) => {
    const name = request.routeOptions.config?.rateLimit as RateLimitName;
    const limit = limits[name];
    const der = options.tls ? presentedCertificate(request).der : undefined;
    const holder = der ? createHash('sha256').update(der).digest('base64url') : 'no-certificate';
    const wait = await limiter.take(`${name}|${holder}|${request.ip}`, limit);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new EgovError('rate-limited', `too many ${name} requests from this ${der ? 'certificate and ' : ''}address: at most ${limit.max} in ${limit.windowSeconds} s; try again in ${wait} s`, { retryAfterSeconds: wait, limit: name });
    }
  };

  if (options.tls) app.addHook('onSend', async (_request, reply) => void reply.header('strict-transport-security', HSTS_HEADER));

  // The console's sections, assets and styles, filled by each module's pages plugin.
  app.decorate('console', new ConsoleRegistry());
  if (options.tls) {
    // The language switch of every page: ?lang=en|zh-CN sets the cookie (and counts for this request).
    app.addHook('onRequest', async (request, reply) => {
      if (!request.url.includes('lang=')) return;
      const lang = (request.query as Record<string, unknown> | undefined)?.lang;
      if (lang === 'en' || lang === 'zh-CN') {
        reply.header('set-cookie', `egov_lang=${lang}; Path=/; Secure; SameSite=Lax; Max-Age=31536000`);
        request.headers.cookie = `${request.headers.cookie ? request.headers.cookie + '; ' : ''}egov_lang=${lang}`;
      }
    });
  }

  // The shapes handlers may count on (found by test/fuzz-http.test.ts): every
  // query parameter is one string (no route takes a list, and a repeated key
  // would reach SQL as a row value), and a route without a body schema (a
  // console form) gets a flat object of text fields, never null, a list or a
  // number; a binary body (OCSP) stays a Buffer for its route to check.
  app.addHook('preValidation', async (request) => {
    const query = request.query as Record<string, unknown> | undefined;
    if (query && typeof query === 'object') {
      const repeated = Object.keys(query).find((key) => Array.isArray(query[key]));
      if (repeated !== undefined) throw new EgovError('bad-request', `query parameter "${repeated.slice(0, 64)}" is given more than once`);
    }
    if (request.method === 'GET' || request.method === 'HEAD' || request.method === 'DELETE' || request.routeOptions.schema?.body) return;
    const body = request.body as unknown;
    if (body === undefined || body === null) {
      request.body = {};
      return;
    }
    if (Buffer.isBuffer(body)) return;
    const isForm = typeof body === 'object' && !Array.isArray(body) && Object.values(body as object).every((value) => typeof value === 'string');
    if (!isForm) throw new EgovError('bad-request', 'this route takes a form: an object of text fields (application/x-www-form-urlencoded, or JSON of strings)');
  });

  const declaredRoutes: FastifyInstance['declaredRoutes'] = [];
  app.decorate('declaredRoutes', declaredRoutes);
  app.addHook('onRoute', (route) => {
    const roles = route.config?.roles;
    if (!roles) throw new Error(`route ${route.method} ${route.url} does not declare its roles`);
    const handlerTimeoutMs = route.handlerTimeout ?? options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS;
    for (const method of [route.method].flat()) if (method !== 'HEAD') declaredRoutes.push({ method, url: route.url, roles, handlerTimeoutMs });
    const rateLimit = route.config?.rateLimit;
    if (rateLimit !== undefined && !(rateLimit in RATE_LIMITS)) throw new Error(`route ${route.method} ${route.url} names an unknown rate limit ${rateLimit}`);
    if (roles !== 'public') {
      route.onRequest = [checkRoles, ...[route.onRequest ?? []].flat()];
      route.preHandler = [checkCsrf, ...[route.preHandler ?? []].flat()];
    }
    if (rateLimit !== undefined) route.onRequest = [checkRate, ...[route.onRequest ?? []].flat()];
  });

  app.setErrorHandler((error: Error & { validation?: unknown; statusCode?: number; code?: string }, request, reply: FastifyReply) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const limit = bodyLimitOf(request, options.bodyLimit);
      return reply.status(413).send({ code: 'too-large', message: `the request body is over this route's ${limit}-byte limit`, details: { limitBytes: limit } });
    }
    if (error.code === 'FST_ERR_HANDLER_TIMEOUT') {
      const timeout = handlerTimeoutError(request);
      request.log.warn({ route: request.routeOptions.url, limitMs: timeout.details?.limitMs }, 'handler timeout');
      return reply.status(timeout.httpStatus).send(timeout.toJSON());
    }
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
