// The registration desk (RA): requests for certificates and for changes to
// them, taken through submitted → vetted → approved → issued → delivered, or
// rejected before issue. Each step is one transaction with its audit record;
// issuing commits the certificate and the request's new state together.

import { createPrivateKey } from 'node:crypto';
import type { Selectable } from 'kysely';
import { appendAudit, auditedWork, EgovError, type Database, type RaRequestTable, type SecretBox, type WriteTx } from '../../core/index.js';
import { generateKeyPairFor, parseKeyAlgorithm, publicKeyFromSpki, type KeyAlgorithm } from '../algorithms.js';
import { toPem } from '../asn1/der.js';
import { defaultSubjectKey, type Actor, type Authority } from '../authority.js';
import { readCertificate } from '../certificate.js';
import { readCsr } from '../csr.js';
import { buildPkcs12, checkPkcs12Password } from '../pkcs12.js';
import { checkKey, checkSans, checkSubject, getProfile } from '../profiles.js';
import { parseName } from '../names.js';
import { parseSan } from '../sans.js';
import { parseReason } from '../revocation.js';
import { parseSerial } from '../serial.js';
import { displayName, identityKey, maskedApplicant, maskIdNumber, maskIdNumbersIn, residentIdProblem, subjectFor, validateApplicant, type Applicant, type SubjectType } from './applicants.js';

export const REQUEST_STATES = ['submitted', 'vetted', 'approved', 'issued', 'delivered', 'rejected'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];
export const REQUEST_KINDS = ['issue', 'renew', 'rekey', 'revoke', 'suspend', 'unsuspend'] as const;
export type RequestKind = (typeof REQUEST_KINDS)[number];

/** A request id: a positive integer, never a free string. */
export type RequestId = number & { readonly __requestId: true };
export function parseRequestId(value: string | number): RequestId {
  const n = typeof value === 'number' ? value : /^[0-9]{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new EgovError('bad-request', `request id "${value}" is not a request number`);
  return n as RequestId;
}

export type NewCertificateRequest = {
  kind: 'issue';
  ca: string;
  profile: string;
  applicant: Applicant;
  /** PEM or DER (base64) CSR; absent means the desk generates the key. */
  csr?: string;
  keyAlgorithm?: string;
};
export type ChangeRequest =
  | { kind: 'renew'; ca: string; targetSerial: string }
  | { kind: 'rekey'; ca: string; targetSerial: string; csr?: string; keyAlgorithm?: string }
  | { kind: 'revoke'; ca: string; targetSerial: string; reason: string }
  | { kind: 'suspend'; ca: string; targetSerial: string }
  | { kind: 'unsuspend'; ca: string; targetSerial: string };
export type SubmitRequest = NewCertificateRequest | ChangeRequest;

export interface Vetting {
  documentType: string;
  documentNumber: string;
  presentedBy: string;
  notes?: string;
}

export interface RequestView {
  id: RequestId;
  kind: RequestKind;
  subjectType: SubjectType;
  profile: string;
  ca: string;
  state: RequestState;
  name: string;
  /** Masked (110105********123X); the full number stays in the database for the desk's search. */
  idNumber: string | null;
  hostname: string | null;
  applicant: Record<string, unknown>;
  keySource: 'csr' | 'keygen' | 'existing';
  keyAlgorithm: string | null;
  targetSerial: string | null;
  revokeReason: string | null;
  submittedBy: string;
  submittedAt: string;
  vettedBy: string | null;
  vettedAt: string | null;
  vetting: Record<string, unknown> | null;
  approvedBy: string | null;
  approvedAt: string | null;
  rejectedBy: string | null;
  rejectedAt: string | null;
  rejectReason: string | null;
  issuedSerial: string | null;
  issuedAt: string | null;
  deliveredAt: string | null;
  /** True while a server-generated PKCS#12 waits for its one download. */
  awaitingDownload: boolean;
  fourEyes: boolean;
}

export interface RequestFilter {
  state?: RequestState;
  profile?: string;
  submittedBy?: string;
  from?: string;
  to?: string;
  /** Name or host name prefix, an ID number, a serial. */
  search?: string;
  /** Keyset pagination: requests with a smaller id. */
  before?: number;
  limit?: number;
}

export interface DeskOptions {
  database: Database;
  authority: Authority;
  secrets: SecretBox;
  /** Per profile: approval needs a second operator who did not vet. */
  fourEyes: Record<string, boolean>;
  now?: () => Date;
}

type RequestRow = Selectable<RaRequestTable>;

const OPEN_STATES: readonly RequestState[] = ['submitted', 'vetted', 'approved'];

function profileSubjectType(profile: string): SubjectType {
  if (profile === 'person') return 'person';
  if (profile === 'software') return 'software';
  return 'device';
}

export class RegistrationDesk {
  private readonly database: Database;
  private readonly authority: Authority;
  private readonly now: () => Date;

  constructor(private readonly options: DeskOptions) {
    this.database = options.database;
    this.authority = options.authority;
    this.now = options.now ?? (() => new Date());
  }

  fourEyesFor(profile: string): boolean {
    return this.options.fourEyes[profile] === true;
  }

  // ------------------------------------------------------------ steps

  async submit(request: SubmitRequest, by: Actor): Promise<RequestView> {
    return this.audited(by, 'ra.submit', 'ra:new', async () => {
      const { applicant_masked: maskedText, ...row } = request.kind === 'issue' ? await this.newCertificateRow(request, by) : await this.changeRow(request, by);
      const id = await this.database.write(async (tx) => {
        const duplicate = await tx.selectFrom('ra_request').select(['id', 'state']).where('dedupe_key', '=', row.dedupe_key).executeTakeFirst();
        if (duplicate) throw new EgovError('conflict', `a request for the same ${row.kind === 'issue' ? 'applicant and profile' : 'certificate and change'} is already open: #${duplicate.id} (${duplicate.state})`, { existing: duplicate.id });
        const inserted = await tx.insertInto('ra_request').values(row).returning('id').executeTakeFirstOrThrow();
        await appendAudit(tx, { ...by, action: 'ra.submit', object: `ra:request/${inserted.id}`, outcome: 'success', detail: { kind: row.kind, profile: row.profile, ca: row.ca_name, applicant: JSON.parse(maskedText), keySource: row.key_source } });
        return inserted.id;
      }).catch((error: Error) => {
        // Two submissions racing past the check: the unique index is the last word.
        if (!(error instanceof EgovError) && /unique|duplicate/i.test(error.message)) throw new EgovError('conflict', 'a request for the same applicant and profile is already open');
        throw error;
      });
      return this.get(parseRequestId(id));
    });
  }

  private async newCertificateRow(request: NewCertificateRequest, by: Actor) {
    // The subject must pass the profile at submission, not at issue: nothing is accepted that cannot be issued.
    const profile = getProfile(request.profile, this.authority.profiles);
    const expected = profileSubjectType(profile.name);
    if (request.applicant.type !== expected) throw new EgovError('bad-request', `profile ${profile.name} is for a ${expected}, not a ${request.applicant.type}`);
    validateApplicant(request.applicant);
    const summary = await this.authority.summary(request.ca);
    let csr: Buffer | null = null;
    let keyAlgorithm: string | null = null;
    if (request.csr) {
      const parsed = await readCsr(request.csr);
      checkKey(profile, parsed.key);
      this.checkFamily(summary.algorithm, parsed.key.type === 'ec' && parsed.key.curve === 'SM2', request.ca);
      csr = Buffer.isBuffer(request.csr) ? request.csr : Buffer.from(request.csr);
    } else {
      keyAlgorithm = this.keygenAlgorithm(summary.algorithm as KeyAlgorithm, profile.name, request.keyAlgorithm);
    }
    const { subject, sans } = subjectFor(request.applicant);
    checkSubject(profile, parseName(subject));
    checkSans(profile, sans.map(parseSan));
    const now = this.now().toISOString();
    return {
      kind: 'issue' as const,
      subject_type: request.applicant.type,
      profile: profile.name,
      ca_name: request.ca,
      state: 'submitted' as const,
      name: displayName(request.applicant),
      id_number: request.applicant.type === 'person' ? request.applicant.fields.idNumber.toUpperCase() : null,
      hostname: request.applicant.type === 'device' ? request.applicant.fields.hostname.toLowerCase() : null,
      applicant: JSON.stringify({ type: request.applicant.type, fields: request.applicant.fields, subject, sans }),
      applicant_masked: JSON.stringify(maskedApplicant(request.applicant)),
      key_source: request.csr ? ('csr' as const) : ('keygen' as const),
      csr,
      key_algorithm: keyAlgorithm,
      target_serial: null,
      revoke_reason: null,
      dedupe_key: `issue:${request.ca}:${profile.name}:${identityKey(request.applicant)}`,
      submitted_by: by.actor,
      submitted_at: now,
      updated_at: now,
    };
  }

  private async changeRow(request: ChangeRequest, by: Actor) {
    const serial = parseSerial(request.targetSerial);
    const target = await this.authority.getCertificate(request.ca, serial);
    if (request.kind === 'revoke') parseReason(request.reason);
    if (request.kind === 'unsuspend' && target.status !== 'hold') throw new EgovError('conflict', `certificate ${serial} is not suspended`);
    if ((request.kind === 'revoke' || request.kind === 'suspend' || request.kind === 'renew' || request.kind === 'rekey') && target.status === 'revoked') {
      throw new EgovError('already-revoked', `certificate ${serial} is revoked; nothing can change it`);
    }
    let csr: Buffer | null = null;
    let keyAlgorithm: string | null = null;
    if (request.kind === 'rekey') {
      const profile = getProfile(target.profile, this.authority.profiles);
      const summary = await this.authority.summary(request.ca);
      if (request.csr) {
        const parsed = await readCsr(request.csr);
        checkKey(profile, parsed.key);
        const certificate = readCertificate(target.der);
        if (certificate.spki.equals(parsed.spki)) throw new EgovError('bad-request', 'a rekey needs a new key: the CSR carries the key of the current certificate');
        csr = Buffer.from(request.csr);
      } else {
        keyAlgorithm = this.keygenAlgorithm(summary.algorithm as KeyAlgorithm, profile.name, request.keyAlgorithm);
      }
    }
    const certificate = readCertificate(target.der);
    const cn = certificate.subject.find((a) => a.type === 'CN')?.value ?? target.subject;
    const now = this.now().toISOString();
    return {
      kind: request.kind,
      subject_type: profileSubjectType(target.profile),
      profile: target.profile,
      ca_name: request.ca,
      state: 'submitted' as const,
      name: cn,
      id_number: null,
      hostname: certificate.sans.find((s) => s.type === 'dns')?.value ?? null,
      applicant: JSON.stringify({ type: 'existing', subject: target.subject, sans: target.sans }),
      applicant_masked: JSON.stringify({ subject: target.subject }),
      key_source: request.kind === 'rekey' ? (csr ? ('csr' as const) : ('keygen' as const)) : ('existing' as const),
      csr,
      key_algorithm: keyAlgorithm,
      target_serial: serial,
      revoke_reason: request.kind === 'revoke' ? parseReason(request.reason) : request.kind === 'suspend' ? 'certificateHold' : null,
      dedupe_key: `${request.kind}:${request.ca}:${serial}`,
      submitted_by: by.actor,
      submitted_at: now,
      updated_at: now,
    };
  }

  private checkFamily(caAlgorithm: string, isSm2Key: boolean, ca: string): void {
    if (caAlgorithm === 'sm2' && !isSm2Key) throw new EgovError('policy-violation', `CA "${ca}" is an SM2 hierarchy and issues only SM2 keys; the CSR carries another key type`);
    if (caAlgorithm !== 'sm2' && isSm2Key) throw new EgovError('policy-violation', `CA "${ca}" is not an SM2 hierarchy; an SM2 CSR goes to an SM2 CA`);
  }

  /** The key the desk will generate: the one asked for, else the CA's default if the profile takes it, else the first the profile allows. */
  private keygenAlgorithm(caAlgorithm: KeyAlgorithm, profileName: string, asked: string | undefined): string {
    const profile = getProfile(profileName, this.authority.profiles);
    const candidates: KeyAlgorithm[] = asked ? [parseKeyAlgorithm(asked)] : [defaultSubjectKey(caAlgorithm), 'ecdsa-p256', 'rsa-3072'];
    const describe = (a: KeyAlgorithm) =>
      a.startsWith('rsa') ? { type: 'rsa' as const, bits: Number(a.slice(4)) } : a === 'sm2' ? { type: 'ec' as const, curve: 'SM2' as const } : a === 'ed25519' ? { type: 'ed25519' as const } : { type: 'ec' as const, curve: (a === 'ecdsa-p384' ? 'P-384' : 'P-256') as 'P-256' };
    let lastError: unknown;
    for (const candidate of candidates) {
      try {
        checkKey(profile, describe(candidate) as Parameters<typeof checkKey>[1]);
        this.checkFamily(caAlgorithm, candidate === 'sm2', 'the chosen');
        return candidate;
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  async vet(id: RequestId, vetting: Vetting, by: Actor): Promise<RequestView> {
    return this.step(id, by, 'ra.vet', ['submitted'], async (tx, row) => {
      for (const field of ['documentType', 'documentNumber', 'presentedBy'] as const) {
        if (!vetting[field]?.trim()) throw new EgovError('bad-request', `vetting.${field}: say what was checked`, { field });
      }
      const applicant = JSON.parse(row.applicant) as { type: string; fields?: { idType?: string; idNumber?: string } };
      if (/resident|身份证/i.test(vetting.documentType) || applicant.fields?.idType === 'resident-id') {
        if (/resident|身份证/i.test(vetting.documentType)) {
          const problem = residentIdProblem(vetting.documentNumber.trim());
          if (problem) throw new EgovError('bad-request', `vetting.documentNumber: resident ID ${maskIdNumber(vetting.documentNumber.trim())} is not valid: ${problem}`, { field: 'documentNumber' });
        }
        if (applicant.fields?.idType === 'resident-id' && /resident|身份证/i.test(vetting.documentType) && applicant.fields.idNumber?.toUpperCase() !== vetting.documentNumber.trim().toUpperCase()) {
          throw new EgovError('policy-violation', 'the document presented does not carry the ID number on the request');
        }
      }
      const record = { documentType: vetting.documentType.trim(), documentNumber: maskIdNumber(vetting.documentNumber.trim()), presentedBy: vetting.presentedBy.trim(), ...(vetting.notes ? { notes: maskIdNumbersIn(vetting.notes.trim()) } : {}) };
      await tx.updateTable('ra_request').set({ state: 'vetted', vetted_by: by.actor, vetted_at: this.nowText(), vetting: JSON.stringify(record), updated_at: this.nowText() }).where('id', '=', row.id).execute();
      return record;
    });
  }

  async approve(id: RequestId, by: Actor): Promise<RequestView> {
    return this.step(id, by, 'ra.approve', ['vetted'], async (tx, row) => {
      if (this.fourEyesFor(row.profile) && row.vetted_by === by.actor) {
        throw new EgovError('policy-violation', `four eyes: profile ${row.profile} needs a second operator to approve; ${by.actor} vetted this request`);
      }
      await tx.updateTable('ra_request').set({ state: 'approved', approved_by: by.actor, approved_at: this.nowText(), updated_at: this.nowText() }).where('id', '=', row.id).execute();
      return { fourEyes: this.fourEyesFor(row.profile) };
    });
  }

  async reject(id: RequestId, reason: string, by: Actor): Promise<RequestView> {
    return this.step(id, by, 'ra.reject', OPEN_STATES, async (tx, row) => {
      if (!reason.trim()) throw new EgovError('bad-request', 'reason: say why the request is rejected');
      const masked = maskIdNumbersIn(reason.trim()).slice(0, 1000);
      await tx.updateTable('ra_request').set({ state: 'rejected', rejected_by: by.actor, rejected_at: this.nowText(), reject_reason: masked, dedupe_key: null, updated_at: this.nowText() }).where('id', '=', row.id).execute();
      return { reason: masked };
    });
  }

  /** Carries out an approved request: issues (new, renewed, rekeyed certificate) or changes the target's status. */
  async issue(id: RequestId, by: Actor): Promise<RequestView> {
    return this.audited(by, 'ra.issue', `ra:request/${id}`, async () => {
      const row = await this.row(id);
      if (row.state !== 'approved') throw this.wrongState(row, 'ra.issue', ['approved']);
      const markDone = (serial: string, pendingKey: Buffer | null) => async (tx: WriteTx) => {
        const updated = await tx
          .updateTable('ra_request')
          .set({ state: 'issued', issued_serial: serial, issued_at: this.nowText(), pending_key: pendingKey, dedupe_key: null, updated_at: this.nowText() })
          .where('id', '=', row.id)
          .where('state', '=', 'approved')
          .executeTakeFirst();
        // Another operator got there first: roll the whole thing back.
        if (Number(updated.numUpdatedRows) !== 1) throw new EgovError('conflict', `request #${row.id} changed while it was being issued; reload it`);
        await appendAudit(tx, { ...by, action: 'ra.issue', object: `ra:request/${row.id}`, outcome: 'success', detail: { kind: row.kind, serial } });
      };
      if (row.kind === 'revoke' || row.kind === 'suspend') {
        await this.authority.revoke({ ca: row.ca_name, serial: row.target_serial!, reason: row.revoke_reason!, alsoWrite: (tx) => markDone(row.target_serial!, null)(tx) }, by);
      } else if (row.kind === 'unsuspend') {
        await this.authority.unsuspend({ ca: row.ca_name, serial: row.target_serial!, alsoWrite: (tx) => markDone(row.target_serial!, null)(tx) }, by);
      } else {
        await this.issueCertificate(row, by, markDone);
      }
      return this.get(id);
    });
  }

  private async issueCertificate(row: RequestRow, by: Actor, markDone: (serial: string, pendingKey: Buffer | null) => (tx: WriteTx) => Promise<void>): Promise<void> {
    const stored = JSON.parse(row.applicant) as { subject: string; sans: string[] };
    let publicKey;
    let sealedKey: Buffer | null = null;
    if (row.kind === 'renew') {
      const target = await this.authority.getCertificate(row.ca_name, row.target_serial!);
      publicKey = publicKeyFromSpki(readCertificate(target.der).spki);
    } else if (row.key_source === 'csr') {
      publicKey = publicKeyFromSpki((await readCsr(row.csr!)).spki);
    } else {
      const keys = await generateKeyPairFor(parseKeyAlgorithm(row.key_algorithm!));
      publicKey = keys.publicKey;
      // Kept sealed until the applicant downloads it once; never in clear at rest.
      sealedKey = this.options.secrets.seal((keys.privateKey.export({ type: 'pkcs8', format: 'der' }) as Buffer).toString('base64'));
    }
    await this.authority.issueForPublicKey(
      { ca: row.ca_name, profile: row.profile, subject: stored.subject, sans: stored.sans, publicKey, alsoWrite: (tx, record) => markDone(record.serial, sealedKey)(tx) },
      by,
    );
  }

  /** The server-generated key and certificate as PKCS#12, protected by the applicant's password: once only. */
  async downloadPkcs12(id: RequestId, password: string, by: Actor): Promise<{ pkcs12: Buffer; serial: string }> {
    return this.audited(by, 'ra.deliver', `ra:request/${id}`, async () => {
      checkPkcs12Password(password);
      const row = await this.row(id);
      if (row.key_source !== 'keygen') throw new EgovError('bad-request', `request #${id} was made from a CSR: download the certificate as PEM, DER or chain`);
      if (row.state === 'delivered' || (row.state === 'issued' && !row.pending_key)) {
        throw new EgovError('conflict', `the PKCS#12 of request #${id} was already downloaded${row.delivered_at ? ` on ${row.delivered_at}` : ''}; it can be downloaded only once (submit a rekey if it was lost)`);
      }
      if (row.state !== 'issued') throw this.wrongState(row, 'ra.deliver', ['issued']);
      const certificate = await this.authority.getCertificate(row.ca_name, row.issued_serial!);
      const chain = await this.authority.chain(row.ca_name);
      const privateKey = createPrivateKey({ key: Buffer.from(this.options.secrets.open(row.pending_key!, `the pending key of request #${id}`), 'base64'), format: 'der', type: 'pkcs8' });
      const cn = readCertificate(certificate.der).subject.find((a) => a.type === 'CN')?.value ?? certificate.serial;
      const pkcs12 = buildPkcs12({ privateKey, certificates: [certificate.der, ...chain], password, friendlyName: cn });
      await this.database.write(async (tx) => {
        const taken = await tx
          .updateTable('ra_request')
          .set({ state: 'delivered', delivered_at: this.nowText(), pending_key: null, updated_at: this.nowText() })
          .where('id', '=', row.id)
          .where('state', '=', 'issued')
          .where('pending_key', 'is not', null)
          .executeTakeFirst();
        if (Number(taken.numUpdatedRows) !== 1) throw new EgovError('conflict', `the PKCS#12 of request #${id} was already downloaded; it can be downloaded only once`);
        await appendAudit(tx, { ...by, action: 'ra.deliver', object: `ra:request/${row.id}`, outcome: 'success', detail: { format: 'pkcs12', serial: row.issued_serial } });
      });
      return { pkcs12, serial: row.issued_serial! };
    });
  }

  /** A CSR-based certificate, as PEM, DER or PEM with its chain; the first download marks the request delivered. */
  async downloadCertificate(id: RequestId, format: 'pem' | 'der' | 'chain', by: Actor): Promise<{ body: Buffer | string; serial: string }> {
    return this.audited(by, 'ra.deliver', `ra:request/${id}`, async () => {
      const row = await this.row(id);
      if (!['issue', 'renew', 'rekey'].includes(row.kind)) throw new EgovError('bad-request', `request #${id} is a ${row.kind}; it issues no certificate`);
      if (row.state !== 'issued' && row.state !== 'delivered') throw this.wrongState(row, 'ra.deliver', ['issued', 'delivered']);
      if (row.key_source === 'keygen' && row.pending_key) throw new EgovError('conflict', `request #${id} has a server-generated key: download the PKCS#12 first (once, with the applicant's password)`);
      const certificate = await this.authority.getCertificate(row.ca_name, row.issued_serial!);
      const body = format === 'der' ? certificate.der : format === 'pem' ? certificate.certificatePem : certificate.certificatePem + (await this.authority.chain(row.ca_name)).map((c) => toPem('CERTIFICATE', c)).join('');
      if (row.state === 'issued') {
        await this.database.write(async (tx) => {
          await tx.updateTable('ra_request').set({ state: 'delivered', delivered_at: this.nowText(), updated_at: this.nowText() }).where('id', '=', row.id).where('state', '=', 'issued').execute();
          await appendAudit(tx, { ...by, action: 'ra.deliver', object: `ra:request/${row.id}`, outcome: 'success', detail: { format, serial: row.issued_serial } });
        });
      }
      return { body, serial: row.issued_serial! };
    });
  }

  // ------------------------------------------------------------ reading

  async get(id: RequestId): Promise<RequestView> {
    return this.toView(await this.row(id));
  }

  async list(filter: RequestFilter = {}): Promise<{ requests: RequestView[]; next: number | null }> {
    const limit = Math.min(Math.max(filter.limit ?? 50, 1), 500);
    let q = this.database.db.selectFrom('ra_request').selectAll().orderBy('id', 'desc').limit(limit + 1);
    if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.profile) q = q.where('profile', '=', filter.profile);
    if (filter.submittedBy) q = q.where('submitted_by', '=', filter.submittedBy);
    // Ids grow with submission time, so a date range is an id range: two index
    // seeks, then the primary key order the page needs anyway (a range on
    // submitted_at sorted by id read every row of the range).
    if (filter.from) {
      const first = await this.database.db.selectFrom('ra_request').select('id').where('submitted_at', '>=', filter.from).orderBy('submitted_at').limit(1).executeTakeFirst();
      q = q.where('id', '>=', first?.id ?? Number.MAX_SAFE_INTEGER);
    }
    if (filter.to) {
      const last = await this.database.db.selectFrom('ra_request').select('id').where('submitted_at', '<', filter.to).orderBy('submitted_at', 'desc').limit(1).executeTakeFirst();
      q = q.where('id', '<=', last?.id ?? 0);
    }
    if (filter.before) q = q.where('id', '<', filter.before);
    const search = filter.search?.trim();
    if (search) {
      const upper = search + '\uffff';
      const serialLike = /^[0-9a-fA-F]{2,40}$/.test(search) ? search.toLowerCase() : undefined;
      // A long hex string is a serial: look only there (two index seeks, not five).
      if (serialLike && serialLike.length >= 16) q = q.where((eb) => eb.or([eb('issued_serial', '=', serialLike), eb('target_serial', '=', serialLike)]));
      else q = q.where((eb) =>
        eb.or([
          eb.and([eb('name', '>=', search), eb('name', '<', upper)]),
          eb.and([eb('hostname', '>=', search.toLowerCase()), eb('hostname', '<', search.toLowerCase() + '\uffff')]),
          eb('id_number', '=', search.toUpperCase()),
          ...(serialLike ? [eb('issued_serial', '=', serialLike), eb('target_serial', '=', serialLike)] : []),
        ]),
      );
    }
    const rows = await q.execute();
    const page = rows.slice(0, limit);
    return { requests: page.map((r) => this.toView(r)), next: rows.length > limit ? page[page.length - 1]!.id : null };
  }

  /** Certificates that expire within `days`, still good, across every hierarchy. */
  async expiring(days: number, limit = 1000): Promise<Array<{ ca: string; serial: string; subject: string; profile: string; notAfter: string; daysLeft: number }>> {
    if (!Number.isInteger(days) || days < 0 || days > 3650) throw new EgovError('bad-request', `days must be a whole number from 0 to 3650, got ${days}`);
    const now = this.now();
    const until = new Date(now.getTime() + days * 86400_000).toISOString();
    const rows = await this.database.db
      .selectFrom('certificate')
      .select(['ca_name', 'serial', 'subject', 'profile', 'not_after'])
      .where('status', '=', 'good')
      .where('not_after', '<', until)
      .where('not_after', '>=', now.toISOString())
      .orderBy('not_after')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ca: r.ca_name, serial: r.serial, subject: r.subject, profile: r.profile, notAfter: r.not_after, daysLeft: Math.floor((Date.parse(r.not_after) - now.getTime()) / 86400_000) }));
  }

  // ------------------------------------------------------------ internals

  private nowText(): string {
    return this.now().toISOString();
  }

  private async row(id: RequestId): Promise<RequestRow> {
    const row = await this.database.db.selectFrom('ra_request').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new EgovError('not-found', `no request #${id}`);
    return row;
  }

  private wrongState(row: RequestRow, action: string, allowed: readonly RequestState[]): EgovError {
    const verb = action.replace('ra.', '');
    return new EgovError('conflict', `request #${row.id} is ${row.state}; ${verb} needs it to be ${allowed.join(' or ')}`, { state: row.state });
  }

  /** One step: checked against the current state inside the write transaction, audited whatever happens. */
  private async step(id: RequestId, by: Actor, action: string, allowed: readonly RequestState[], apply: (tx: WriteTx, row: RequestRow) => Promise<Record<string, unknown>>): Promise<RequestView> {
    return this.audited(by, action, `ra:request/${id}`, async () => {
      await this.database.write(async (tx) => {
        const row = await tx.selectFrom('ra_request').selectAll().where('id', '=', id).executeTakeFirst();
        if (!row) throw new EgovError('not-found', `no request #${id}`);
        if (!allowed.includes(row.state)) throw this.wrongState(row, action, allowed);
        const detail = await apply(tx, row);
        await appendAudit(tx, { ...by, action, object: `ra:request/${id}`, outcome: 'success', detail });
      });
      return this.get(id);
    });
  }

  private audited<T>(by: Actor, action: string, object: string, work: () => Promise<T>): Promise<T> {
    return auditedWork(this.database, { ...by, action, object }, work, maskIdNumbersIn);
  }

  private toView(row: RequestRow): RequestView {
    const applicant = JSON.parse(row.applicant) as { type: string; fields?: Record<string, unknown>; subject?: string; sans?: string[] };
    const fields: Record<string, unknown> = applicant.fields ? { ...applicant.fields } : { subject: applicant.subject, sans: applicant.sans };
    if (typeof fields.idNumber === 'string') fields.idNumber = maskIdNumber(fields.idNumber);
    return {
      id: row.id as RequestId,
      kind: row.kind,
      subjectType: row.subject_type,
      profile: row.profile,
      ca: row.ca_name,
      state: row.state,
      name: row.name,
      idNumber: row.id_number ? maskIdNumber(row.id_number) : null,
      hostname: row.hostname,
      applicant: { ...fields, ...(applicant.subject && applicant.fields ? { subject: applicant.subject, sans: applicant.sans } : {}) },
      keySource: row.key_source,
      keyAlgorithm: row.key_algorithm,
      targetSerial: row.target_serial,
      revokeReason: row.revoke_reason,
      submittedBy: row.submitted_by,
      submittedAt: row.submitted_at,
      vettedBy: row.vetted_by,
      vettedAt: row.vetted_at,
      vetting: row.vetting ? (JSON.parse(row.vetting) as Record<string, unknown>) : null,
      approvedBy: row.approved_by,
      approvedAt: row.approved_at,
      rejectedBy: row.rejected_by,
      rejectedAt: row.rejected_at,
      rejectReason: row.reject_reason,
      issuedSerial: row.issued_serial,
      issuedAt: row.issued_at,
      deliveredAt: row.delivered_at,
      awaitingDownload: row.pending_key !== null,
      fourEyes: this.fourEyesFor(row.profile),
    };
  }
}

