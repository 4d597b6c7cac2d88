// The CA's rows: hierarchies, certificates and CRLs, on either engine.

import type { CaAuthorityTable, CertificateTable, Database, WriteTx } from '../core/index.js';
import { reasonName, type RevocationReason } from './revocation.js';
import type { Serial } from './serial.js';

export type CertificateStatus = CertificateTable['status'];

/** A certificate as the API and CLI show it. */
export interface CertificateRecord {
  ca: string;
  serial: Serial;
  profile: string;
  subject: string;
  sans: string[];
  keyAlgorithm: string;
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  fingerprintSha256: string;
  status: CertificateStatus;
  revokedAt?: string;
  revocationReason?: RevocationReason;
}

export function toRecord(row: Omit<CertificateTable, 'der'>): CertificateRecord {
  return {
    ca: row.ca_name,
    serial: row.serial as Serial,
    profile: row.profile,
    subject: row.subject,
    sans: JSON.parse(row.sans) as string[],
    keyAlgorithm: row.key_algorithm,
    notBefore: row.not_before,
    notAfter: row.not_after,
    issuedAt: row.issued_at,
    fingerprintSha256: row.fingerprint_sha256,
    status: row.status,
    ...(row.revoked_at ? { revokedAt: row.revoked_at } : {}),
    ...(row.revocation_reason !== null && row.status !== 'good' ? { revocationReason: reasonName(row.revocation_reason) } : {}),
  };
}

export const RECORD_COLUMNS = [
  'ca_name',
  'serial',
  'profile',
  'subject',
  'sans',
  'key_algorithm',
  'not_before',
  'not_after',
  'issued_at',
  'fingerprint_sha256',
  'status',
  'revoked_at',
  'revocation_reason',
  'status_changed_seq',
] as const;

export async function findAuthority(database: Database, name: string): Promise<CaAuthorityTable | undefined> {
  return database.db.selectFrom('ca_authority').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findCertificate(db: Database['db'], ca: string, serial: Serial): Promise<CertificateTable | undefined> {
  return db.selectFrom('certificate').selectAll().where('ca_name', '=', ca).where('serial', '=', serial).executeTakeFirst();
}

const STATUS_SEQUENCE = 'certificate_status_seq';

/** Next value of the status-change sequence (delta CRLs and OCSP caches follow it). */
export async function nextStatusSeq(tx: WriteTx): Promise<number> {
  const row = await tx
    .insertInto('counter')
    .values({ name: STATUS_SEQUENCE, value: 1 })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ value: eb('counter.value', '+', 1) })))
    .returning('value')
    .executeTakeFirstOrThrow();
  return row.value;
}

export async function currentStatusSeq(database: Database): Promise<number> {
  const row = await database.db.selectFrom('counter').select('value').where('name', '=', STATUS_SEQUENCE).executeTakeFirst();
  return row?.value ?? 0;
}
