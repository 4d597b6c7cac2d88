// RFC 5280 CRLReason codes, by the names people type.
import { EgovError } from '../core/index.js';

export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type RevocationReason = keyof typeof REVOCATION_REASONS;
export type RevocationCode = (typeof REVOCATION_REASONS)[RevocationReason];

/** Reasons an operator may give to revoke (removeFromCRL is what unsuspend writes). */
export const OPERATOR_REASONS = (Object.keys(REVOCATION_REASONS) as RevocationReason[]).filter((r) => r !== 'removeFromCRL');

export function parseReason(text: string): RevocationReason {
  const match = OPERATOR_REASONS.find((r) => r.toLowerCase() === text.trim().toLowerCase());
  if (!match) throw new EgovError('bad-request', `unknown revocation reason "${text}"; expected one of ${OPERATOR_REASONS.join(', ')}`);
  return match;
}

export function reasonName(code: number): RevocationReason {
  const entry = Object.entries(REVOCATION_REASONS).find(([, value]) => value === code);
  return (entry?.[0] ?? 'unspecified') as RevocationReason;
}
