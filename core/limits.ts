// The HTTP servers' named limits (core/http.ts applies them to every route).
// A separate file so the console's page error handler can name them too.

import type { FastifyRequest } from 'fastify';
import { EgovError } from './errors.js';

/** Largest request body of a route that names no bodyLimit of its own (ingest and import name theirs). */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Largest url-encoded form (every console form). */
export const FORM_BODY_LIMIT_BYTES = 256 * 1024;
/** Time to receive a whole request, headers and body; a slower sender gets 408 and loses the socket. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** Time to receive the headers (slowloris). */
export const HEADERS_TIMEOUT_MS = 15_000;
/**
 * Time a route has to answer once its request is routed (hooks, parsing,
 * handler, serialisation); past it the client gets 503 and request.signal
 * is aborted. The handler is not stopped (fastify's timeout is cooperative),
 * so the message says the work may still finish.
 */
export const HANDLER_TIMEOUT_MS = 30_000;
/** For the few routes that do long work inside the request: an audit run, a PDF report, a bulk import. */
export const LONG_HANDLER_TIMEOUT_MS = 10 * 60_000;
/** Strict-Transport-Security on every HTTPS answer: browsers keep to HTTPS for a year. */
export const HSTS_HEADER = 'max-age=31536000';

/**
 * Requests a route admits per window, counted per client certificate and
 * address (an enrolment has no certificate: per address). `serve` counts
 * them in the database (core/rate-store.ts), so several instances behind a
 * balancer share one count per client; lockouts after wrong passwords are
 * in the database too.
 */
export interface RateLimit {
  max: number;
  windowSeconds: number;
}

/** The named limits routes declare (config.rateLimit) and their defaults. */
export const RATE_LIMITS = {
  'sign-in': { max: 30, windowSeconds: 60 },
  enrolment: { max: 10, windowSeconds: 60 },
} as const satisfies Record<string, RateLimit>;

export type RateLimitName = keyof typeof RATE_LIMITS;

/** The answer to a request whose route ran past its handler timeout (fastify's FST_ERR_HANDLER_TIMEOUT). */
export function handlerTimeoutError(request: FastifyRequest): EgovError {
  // The route's own limit, else the server's (fastify resolves it).
  const limitMs = request.routeOptions.handlerTimeout;
  return new EgovError(
    'unavailable',
    `${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} did not finish within its ${limitMs / 1000}-s limit; what it was doing may still complete, so look before you retry`,
    { limit: 'handler-timeout', limitMs },
  );
}

/** The body limit that applied to a request: the route's, or the form parser's for a form. */
export function bodyLimitOf(request: FastifyRequest, serverLimit = BODY_LIMIT_BYTES): number {
  const form = /^application\/x-www-form-urlencoded/i.test(String(request.headers['content-type'] ?? ''));
  const routeLimit = request.routeOptions.bodyLimit ?? serverLimit;
  return form ? Math.min(routeLimit, FORM_BODY_LIMIT_BYTES) : routeLimit;
}
