// One error type for the whole suite: a stable machine code and a human
// message. HTTP maps the code to a status; the CLI maps it to an exit code.

export const errorCodes = {
  'bad-request': { http: 400, exit: 2 },
  'bad-encoding': { http: 400, exit: 2 },
  'bad-config': { http: 500, exit: 2 },
  'unknown-ca': { http: 404, exit: 3 },
  'unknown-profile': { http: 404, exit: 3 },
  'not-found': { http: 404, exit: 3 },
  'policy-violation': { http: 422, exit: 4 },
  'bad-signature': { http: 422, exit: 4 },
  conflict: { http: 409, exit: 4 },
  'already-revoked': { http: 409, exit: 4 },
  'wrong-passphrase': { http: 403, exit: 5 },
  'too-large': { http: 413, exit: 2 },
  'rate-limited': { http: 429, exit: 7 },
  unauthorized: { http: 401, exit: 5 },
  forbidden: { http: 403, exit: 5 },
  'chain-broken': { http: 500, exit: 6 },
  unavailable: { http: 503, exit: 7 },
  internal: { http: 500, exit: 1 },
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class EgovError extends Error {
  override readonly name = 'EgovError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return errorCodes[this.code].http;
  }

  get exitCode(): number {
    return errorCodes[this.code].exit;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

/** Anything thrown, as an EgovError (unknown errors become `internal`, keeping their message). */
export function asEgovError(error: unknown): EgovError {
  if (error instanceof EgovError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new EgovError('internal', message);
}

export const exitCodes = {
  ok: 0,
  internal: 1,
  usage: 2,
  notFound: 3,
  refused: 4,
  authentication: 5,
  verificationFailed: 6,
  unavailable: 7,
} as const;
