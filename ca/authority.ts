// The Authority: every hierarchy of the deployment, and every operation on
// them. Each state change and each refusal lands in the audit log; a
// certificate row and its audit record are written in one transaction.

import { EventEmitter } from 'node:events';
import { createPublicKey, hash as oneShotHash, type KeyObject } from 'node:crypto';
import { appendAudit, auditedWork, EgovError, recordAudit, runReusable, type AuditEvent, type CaAuthorityTable, type Database, type WriteTx } from '../core/index.js';
import { algorithmOfKey, describeKey, generateKeyPairFor, keyLabel, parseKeyAlgorithm, signerFor, verifySignatureSync, type KeyAlgorithm, type KeyDescription, type Signer } from './algorithms.js';
import { buildTbsInFrame, certificatePem, keyIdentifier, readCertificate, signCertificate, signTbs, spkiOf, tbsFrame, type CertificateInfo, type DistributionUrls, type TbsFrame } from './certificate.js';
import { readCsr } from './csr.js';
import { decryptPrivateKey, encryptPrivateKey, checkPassphraseStrength, readPrivateKey, type PassphraseSource } from './keys.js';
import { checkName, encodeName, formatName, parseName, type DistinguishedName } from './names.js';
import { buildPkcs12, checkPkcs12Password } from './pkcs12.js';
import { checkKey, checkSans, checkSubject, DEFAULT_PROFILES, getProfile, keyUsageFor, validityFor, type Profile } from './profiles.js';
import { parseReason, REVOCATION_REASONS, type RevocationReason } from './revocation.js';
import { formatSan, parseSan, type SubjectAltName } from './sans.js';
import { newSerial, parseSerial, type Serial } from './serial.js';
import { currentStatusSeq, findAuthority, findCertificate, nextStatusSeq, RECORD_COLUMNS, toRecord, type CertificateRecord, type CertificateStatus } from './store.js';
import type { KeyUsageName } from './profiles.js';

/** Who asks, and from where: goes into every audit record. */
export interface Actor {
  actor: string;
  source: string;
}

export const CA_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function checkCaName(name: string): void {
  if (!CA_NAME_PATTERN.test(name)) throw new EgovError('bad-request', `CA name "${name}" must be 1-63 lower-case letters, digits or hyphens, starting with a letter or digit`);
}

export interface AuthorityOptions {
  database: Database;
  /** Base URL for CRL, OCSP and CA-certificate links in issued certificates. */
  publicUrl: string;
  passphrase: PassphraseSource;
  profiles?: Record<string, Profile>;
  /** Sign OCSP responses with the delegated responder certificate (default) or the issuing CA key. */
  ocspSigner?: 'delegated' | 'issuer';
  now?: () => Date;
}

export interface HierarchySummary {
  name: string;
  algorithm: string;
  createdAt: string;
  root: { subject: string; notAfter: string; fingerprintSha256: string; keyHeld: boolean };
  issuing: { subject: string; notAfter: string; fingerprintSha256: string };
  ocspResponder?: { subject: string; notAfter: string };
  crlNumber: number;
}

/** A hierarchy with its keys open, ready to sign. */
export interface SigningContext {
  name: string;
  algorithm: KeyAlgorithm;
  root: CertificateInfo;
  issuing: CertificateInfo;
  issuingKey: KeyObject;
  signer: Signer;
  issuingKeyId: Buffer;
  ocsp?: { certificate: CertificateInfo; key: KeyObject; signer: Signer };
  urls: DistributionUrls;
}

export interface IssuedCertificate extends CertificateRecord {
  certificatePem: string;
  der: Buffer;
}

export interface IssueFromCsrRequest {
  ca: string;
  profile: string;
  csr: Buffer | string;
  validityDays?: number;
  /** Replace the CSR's SANs (the RA decides what is vetted). */
  sans?: string[];
  /** More writes that must commit with the certificate or not at all (the RA's request state). */
  alsoWrite?: AlsoWrite;
}

/** Writes a caller adds to the same transaction as a CA state change, so neither lands without the other. */
export type AlsoWrite = (tx: WriteTx, record: CertificateRecord) => Promise<void>;

export interface IssueForKeyRequest {
  ca: string;
  profile: string;
  subject: string;
  sans?: string[];
  publicKey: KeyObject;
  validityDays?: number;
  alsoWrite?: AlsoWrite;
}

export interface IssueWithKeygenRequest {
  ca: string;
  profile: string;
  subject: string;
  sans?: string[];
  keyAlgorithm?: string;
  validityDays?: number;
  p12Password: string;
  alsoWrite?: AlsoWrite;
}

const YEAR_MS = 365.25 * 86400_000;
const BACKDATE_MS = 60_000;

export type StatusChange = { ca: string; serial: Serial; status: CertificateStatus };

export class Authority {
  readonly database: Database;
  readonly profiles: Record<string, Profile>;
  /** Emits 'status' (StatusChange) after a revoke or unsuspend commits. */
  readonly events = new EventEmitter();
  private readonly contexts = new Map<string, Promise<SigningContext>>();
  // What every certificate of one hierarchy, profile and key usage shares, encoded once.
  private readonly frames = new WeakMap<SigningContext, WeakMap<Profile, Map<string, TbsFrame>>>();
  private readonly now: () => Date;

  constructor(private readonly options: AuthorityOptions) {
    this.database = options.database;
    this.profiles = options.profiles ?? DEFAULT_PROFILES;
    this.now = options.now ?? (() => new Date());
  }

  urlsFor(name: string): DistributionUrls {
    const base = this.options.publicUrl.replace(/\/+$/, '');
    return { crl: `${base}/crl/${name}.crl`, deltaCrl: `${base}/crl/${name}-delta.crl`, ocsp: `${base}/ocsp/${name}`, caIssuers: `${base}/ca/${name}.crt` };
  }

  // ------------------------------------------------------------ auditing

  /** Runs `work`; a refusal or failure is recorded in the audit log before it is rethrown. */
  private audited<T>(by: Actor, action: string, object: string, work: () => Promise<T>): Promise<T> {
    return auditedWork(this.database, { ...by, action, object }, work);
  }

  // ------------------------------------------------------------ hierarchies

  async initHierarchy(
    request: { name: string; algorithm: string; subject: string; issuingSubject?: string; rootValidityYears?: number; issuingValidityYears?: number },
    by: Actor,
  ): Promise<HierarchySummary> {
    return this.audited(by, 'ca.init', `ca:${request.name}`, async () => {
      checkCaName(request.name);
      const algorithm = parseKeyAlgorithm(request.algorithm);
      const rootName = parseName(request.subject);
      if (!rootName.some((a) => a.type === 'CN')) throw new EgovError('bad-request', 'subject: a CA subject needs a CN');
      const issuingName = request.issuingSubject ? parseName(request.issuingSubject) : rootName.map((a) => (a.type === 'CN' ? { ...a, value: issuingCommonName(a.value) } : a));
      if (await findAuthority(this.database, request.name)) throw new EgovError('conflict', `CA "${request.name}" already exists`);
      const passphrase = await this.options.passphrase();
      checkPassphraseStrength(passphrase);
      const now = this.now();
      const notBefore = new Date(now.getTime() - BACKDATE_MS);
      const rootYears = request.rootValidityYears ?? 20;
      const issuingYears = Math.min(request.issuingValidityYears ?? 10, rootYears);
      const rootKeys = await generateKeyPairFor(algorithm);
      const issuingKeys = await generateKeyPairFor(algorithm);
      const rootSpki = spkiOf(rootKeys.publicKey);
      const rootSigner = signerFor(rootKeys.privateKey);
      const rootKeyId = keyIdentifier(rootSpki);
      // Both CA certificates are signed by the root key; only the issuing CA is limited to pathLen 0.
      const caCertificate = (subject: DistinguishedName, spki: Buffer, years: number, ca: { pathLength?: number }) =>
        signCertificate(
          {
            serial: newSerial(),
            issuerName: encodeName(rootName),
            subjectName: encodeName(subject),
            spki,
            notBefore,
            notAfter: new Date(notBefore.getTime() + years * YEAR_MS),
            ca,
            keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
            authorityKeyId: rootKeyId,
          },
          rootSigner,
        );
      const rootDer = await caCertificate(rootName, rootSpki, rootYears, {});
      const issuingSpki = spkiOf(issuingKeys.publicKey);
      const issuingDer = await caCertificate(issuingName, issuingSpki, issuingYears, { pathLength: 0 });
      const ocsp = await this.makeOcspResponder(algorithm, issuingName, issuingSpki, issuingKeys.privateKey, readCertificate(issuingDer).notAfter);
      await this.storeHierarchy(
        { name: request.name, algorithm, root: rootDer, rootKey: rootKeys.privateKey, issuing: issuingDer, issuingKey: issuingKeys.privateKey, ocsp, passphrase },
        { ...by, action: 'ca.init', object: `ca:${request.name}`, outcome: 'success', detail: { algorithm, subject: formatName(rootName) } },
      );
      return this.summary(request.name);
    });
  }

  private async makeOcspResponder(algorithm: KeyAlgorithm, issuingName: DistinguishedName, issuingSpki: Buffer, issuingKey: KeyObject, issuingNotAfter: Date) {
    const keys = await generateKeyPairFor(algorithm);
    const now = this.now();
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const subject = issuingName.map((a) => (a.type === 'CN' ? { ...a, value: `${a.value} OCSP Responder`.slice(0, 64) } : a));
    const notAfter = new Date(Math.min(notBefore.getTime() + 2 * YEAR_MS, issuingNotAfter.getTime()));
    const der = await signCertificate(
      {
        serial: newSerial(),
        issuerName: encodeName(issuingName),
        subjectName: encodeName(subject),
        spki: spkiOf(keys.publicKey),
        notBefore,
        notAfter,
        keyUsage: ['digitalSignature'],
        extendedKeyUsage: ['ocspSigning'],
        authorityKeyId: keyIdentifier(issuingSpki),
        ocspNoCheck: true,
      },
      signerFor(issuingKey),
    );
    return { der, key: keys.privateKey };
  }

  /** Imports an existing hierarchy: its root certificate, and the issuing CA certificate with its key. */
  async importHierarchy(
    request: { name: string; rootCertificate: string | Buffer; issuingCertificate: string | Buffer; issuingKey: string | Buffer; issuingKeyPassphrase?: string },
    by: Actor,
  ): Promise<HierarchySummary> {
    return this.audited(by, 'ca.import', `ca:${request.name}`, async () => {
      checkCaName(request.name);
      if (await findAuthority(this.database, request.name)) throw new EgovError('conflict', `CA "${request.name}" already exists`);
      const root = readCertificate(request.rootCertificate, 'root certificate');
      const issuing = readCertificate(request.issuingCertificate, 'issuing CA certificate');
      const key = readPrivateKey(request.issuingKey, request.issuingKeyPassphrase, 'issuing CA key');
      if (!root.isCa || !issuing.isCa) throw new EgovError('policy-violation', 'both certificates must be CA certificates (basicConstraints cA=TRUE)');
      if (!issuing.issuerName.equals(root.subjectName)) throw new EgovError('policy-violation', 'the issuing CA certificate was not issued by that root (issuer and subject names differ)');
      if (!verifySignatureSync(issuing.signatureAlgorithm, root.publicKey, issuing.tbs, issuing.signature)) {
        throw new EgovError('bad-signature', 'the issuing CA certificate signature does not verify with the root key');
      }
      // The key read is the private key: compare its public half (export as spki needs a public KeyObject).
      if (!spkiOf(createPublicKey(key)).equals(issuing.spki)) throw new EgovError('policy-violation', 'the key does not belong to the issuing CA certificate');
      const algorithm = algorithmOfKey(key);
      if (!algorithm) throw new EgovError('policy-violation', `key ${keyLabel(describeKey(key))} is not a supported CA key`);
      const passphrase = await this.options.passphrase();
      checkPassphraseStrength(passphrase);
      const ocsp = await this.makeOcspResponder(algorithm, issuing.subject, issuing.spki, key, issuing.notAfter);
      await this.storeHierarchy(
        { name: request.name, algorithm, root: root.der, rootKey: null, issuing: issuing.der, issuingKey: key, ocsp, passphrase },
        { ...by, action: 'ca.import', object: `ca:${request.name}`, outcome: 'success', detail: { algorithm, subject: formatName(issuing.subject) } },
      );
      return this.summary(request.name);
    });
  }

  /** One hierarchy row, keys encrypted under the passphrase, with its audit record. */
  private async storeHierarchy(
    h: { name: string; algorithm: KeyAlgorithm; root: Buffer; rootKey: KeyObject | null; issuing: Buffer; issuingKey: KeyObject; ocsp: { der: Buffer; key: KeyObject }; passphrase: string },
    audit: AuditEvent,
  ): Promise<void> {
    await this.database.write(async (tx) => {
      await tx
        .insertInto('ca_authority')
        .values({
          name: h.name,
          algorithm: h.algorithm,
          created_at: this.now().toISOString(),
          root_cert: h.root,
          root_key: h.rootKey ? encryptPrivateKey(h.rootKey, h.passphrase) : null,
          issuing_cert: h.issuing,
          issuing_key: encryptPrivateKey(h.issuingKey, h.passphrase),
          ocsp_cert: h.ocsp.der,
          ocsp_key: encryptPrivateKey(h.ocsp.key, h.passphrase),
          crl_number: 0,
        })
        .execute();
      await appendAudit(tx, audit);
    });
  }

  private summarise(row: CaAuthorityTable): HierarchySummary {
    const root = readCertificate(row.root_cert);
    const issuing = readCertificate(row.issuing_cert);
    const ocsp = row.ocsp_cert ? readCertificate(row.ocsp_cert) : undefined;
    return {
      name: row.name,
      algorithm: row.algorithm,
      createdAt: row.created_at,
      root: { subject: formatName(root.subject), notAfter: root.notAfter.toISOString(), fingerprintSha256: root.fingerprintSha256, keyHeld: row.root_key !== null },
      issuing: { subject: formatName(issuing.subject), notAfter: issuing.notAfter.toISOString(), fingerprintSha256: issuing.fingerprintSha256 },
      ...(ocsp ? { ocspResponder: { subject: formatName(ocsp.subject), notAfter: ocsp.notAfter.toISOString() } } : {}),
      crlNumber: row.crl_number,
    };
  }

  async summary(name: string): Promise<HierarchySummary> {
    return this.summarise(await this.authorityRow(name));
  }

  async listHierarchies(): Promise<HierarchySummary[]> {
    const rows = await this.database.db.selectFrom('ca_authority').selectAll().orderBy('name').execute();
    return rows.map((row) => this.summarise(row));
  }

  private async authorityRow(name: string): Promise<CaAuthorityTable> {
    const row = await findAuthority(this.database, name);
    if (!row) {
      const known = (await this.database.db.selectFrom('ca_authority').select('name').execute()).map((r) => r.name);
      throw new EgovError('unknown-ca', `unknown CA "${name}"${known.length ? `; known: ${known.join(', ')}` : '; create one with `egov-ops ca init`'}`);
    }
    return row;
  }

  /** Issuing CA first, then the root (DER). */
  async chain(name: string): Promise<Buffer[]> {
    const row = await this.authorityRow(name);
    return [row.issuing_cert, row.root_cert];
  }

  /** The hierarchy with its keys decrypted; cached for the life of the process. */
  signingContext(name: string): Promise<SigningContext> {
    let context = this.contexts.get(name);
    if (!context) {
      context = this.openContext(name);
      this.contexts.set(name, context);
      context.catch(() => this.contexts.delete(name));
    }
    return context;
  }

  private async openContext(name: string): Promise<SigningContext> {
    const row = await this.authorityRow(name);
    const passphrase = await this.options.passphrase();
    const issuingKey = decryptPrivateKey(row.issuing_key, passphrase, `the issuing key of CA "${name}"`);
    const root = readCertificate(row.root_cert);
    const issuing = readCertificate(row.issuing_cert);
    let ocsp: SigningContext['ocsp'];
    if (row.ocsp_cert && row.ocsp_key && this.options.ocspSigner !== 'issuer') {
      const key = decryptPrivateKey(row.ocsp_key, passphrase, `the OCSP responder key of CA "${name}"`);
      ocsp = { certificate: readCertificate(row.ocsp_cert), key, signer: signerFor(key) };
    }
    return {
      name,
      algorithm: row.algorithm as KeyAlgorithm,
      root,
      issuing,
      issuingKey,
      signer: signerFor(issuingKey),
      issuingKeyId: keyIdentifier(issuing.spki),
      ...(ocsp ? { ocsp } : {}),
      urls: this.urlsFor(name),
    };
  }

  // ------------------------------------------------------------ issuance

  private checkFamily(context: SigningContext, key: KeyDescription): void {
    const isSm2 = key.type === 'ec' && key.curve === 'SM2';
    if (context.algorithm === 'sm2' && !isSm2) throw new EgovError('policy-violation', `CA "${context.name}" is an SM2 hierarchy and issues only SM2 keys`);
    if (context.algorithm !== 'sm2' && isSm2) throw new EgovError('policy-violation', `CA "${context.name}" is not an SM2 hierarchy; SM2 keys go to an SM2 CA`);
  }

  private async issue(
    context: SigningContext,
    profile: Profile,
    subject: DistinguishedName,
    keyDescription: KeyDescription,
    spki: Buffer,
    sans: SubjectAltName[],
    validityDays: number | undefined,
    by: Actor,
    extraDetail: Record<string, unknown>,
    alsoWrite?: AlsoWrite,
  ): Promise<IssuedCertificate> {
    const subjectText = formatName(subject);
    checkName(subject, subjectText);
    checkSubject(profile, subject);
    checkKey(profile, keyDescription);
    this.checkFamily(context, keyDescription);
    checkSans(profile, sans);
    const days = validityFor(profile, validityDays);
    const now = this.now();
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const notAfter = new Date(Math.min(notBefore.getTime() + days * 86400_000, context.issuing.notAfter.getTime()));
    const frame = this.frameFor(context, profile, keyUsageFor(profile, keyDescription));
    const subjectName = encodeName(subject);
    const sanTexts = sans.map(formatSan);
    const sansJson = JSON.stringify(sanTexts);
    const keyAlgorithm = keyLabel(keyDescription);
    const notBeforeText = notBefore.toISOString();
    const notAfterText = notAfter.toISOString();
    const issuedAt = now.toISOString();
    // A serial is unique by primary key and rows are never deleted, so a
    // serial is never reused; a collision (2^-64 odds) just signs again.
    for (let attempt = 1; ; attempt++) {
      const serial = newSerial();
      const der = await signTbs(buildTbsInFrame(frame, serial, notBefore, notAfter, subjectName, spki, sans), context.signer);
      const fingerprint = oneShotHash('sha256', der, 'hex');
      const row = {
        ca_name: context.name,
        serial,
        profile: profile.name,
        subject: subjectText,
        sans: sansJson,
        key_algorithm: keyAlgorithm,
        not_before: notBeforeText,
        not_after: notAfterText,
        issued_at: issuedAt,
        fingerprint_sha256: fingerprint,
        der,
        status: 'good' as const,
        revoked_at: null,
        revocation_reason: null,
        status_changed_seq: null,
      };
      // The record as toRecord(row) gives it, without reading the JSON back.
      const record: CertificateRecord = {
        ca: context.name,
        serial,
        profile: profile.name,
        subject: subjectText,
        sans: sanTexts,
        keyAlgorithm,
        notBefore: notBeforeText,
        notAfter: notAfterText,
        issuedAt,
        fingerprintSha256: fingerprint,
        status: 'good',
      };
      try {
        await this.database.write(async (tx) => {
          await runReusable(tx, 'certificate.insert', () => tx.insertInto('certificate').values(row), Object.values(row));
          await appendAudit(tx, {
            ...by,
            action: 'ca.issue',
            object: `ca:${context.name}/serial:${serial}`,
            outcome: 'success',
            detail: { profile: profile.name, subject: subjectText, sans: sansJson, keyAlgorithm, notAfter: notAfterText, ...extraDetail },
          });
          if (alsoWrite) await alsoWrite(tx, record);
        });
      } catch (error) {
        if (attempt < 3 && /unique|duplicate|primary key/i.test((error as Error).message)) continue;
        throw error;
      }
      return { ...record, certificatePem: certificatePem(der), der };
    }
  }

  private frameFor(context: SigningContext, profile: Profile, keyUsage: KeyUsageName[]): TbsFrame {
    let byProfile = this.frames.get(context);
    if (!byProfile) this.frames.set(context, (byProfile = new WeakMap()));
    let byUsage = byProfile.get(profile);
    if (!byUsage) byProfile.set(profile, (byUsage = new Map()));
    const key = keyUsage.join(',');
    let frame = byUsage.get(key);
    if (!frame) {
      frame = tbsFrame(
        { issuerName: context.issuing.subjectName, keyUsage, extendedKeyUsage: profile.extendedKeyUsage, authorityKeyId: context.issuingKeyId, urls: context.urls },
        context.signer.algorithmIdentifier,
      );
      byUsage.set(key, frame);
    }
    return frame;
  }

  async issueFromCsr(request: IssueFromCsrRequest, by: Actor): Promise<IssuedCertificate> {
    return this.audited(by, 'ca.issue', `ca:${request.ca}`, async () => {
      const context = await this.signingContext(request.ca);
      const profile = getProfile(request.profile, this.profiles);
      const csr = await readCsr(request.csr);
      const sans = request.sans ? request.sans.map(parseSan) : csr.sans;
      return this.issue(context, profile, csr.subject, csr.key, csr.spki, sans, request.validityDays, by, { source: 'csr' }, request.alsoWrite);
    });
  }

  async issueWithKeygen(request: IssueWithKeygenRequest, by: Actor): Promise<{ certificate: IssuedCertificate; pkcs12: Buffer }> {
    return this.audited(by, 'ca.issue', `ca:${request.ca}`, async () => {
      checkPkcs12Password(request.p12Password);
      const context = await this.signingContext(request.ca);
      const profile = getProfile(request.profile, this.profiles);
      const subject = parseName(request.subject);
      const sans = (request.sans ?? []).map(parseSan);
      const algorithm = request.keyAlgorithm ? parseKeyAlgorithm(request.keyAlgorithm) : defaultSubjectKey(context.algorithm);
      const keys = await generateKeyPairFor(algorithm);
      const certificate = await this.issue(context, profile, subject, describeKey(keys.publicKey), spkiOf(keys.publicKey), sans, request.validityDays, by, { source: 'server-keygen' }, request.alsoWrite);
      const pkcs12 = buildPkcs12({
        privateKey: keys.privateKey,
        certificates: [certificate.der, context.issuing.der, context.root.der],
        password: request.p12Password,
        friendlyName: subject.find((a) => a.type === 'CN')?.value ?? certificate.serial,
      });
      return { certificate, pkcs12 };
    });
  }

  /** Issues for a public key the caller holds (server-side keys kept by the RA until delivery, renewals with the same key). */
  async issueForPublicKey(request: IssueForKeyRequest, by: Actor): Promise<IssuedCertificate> {
    return this.audited(by, 'ca.issue', `ca:${request.ca}`, async () => {
      const context = await this.signingContext(request.ca);
      const profile = getProfile(request.profile, this.profiles);
      const subject = parseName(request.subject);
      const sans = (request.sans ?? []).map(parseSan);
      return this.issue(context, profile, subject, describeKey(request.publicKey), spkiOf(request.publicKey), sans, request.validityDays, by, { source: 'public-key' }, request.alsoWrite);
    });
  }

  // ------------------------------------------------------------ lookup

  async getCertificate(ca: string, serialText: string): Promise<IssuedCertificate> {
    await this.authorityRow(ca);
    const serial = parseSerial(serialText);
    const row = await findCertificate(this.database.db, ca, serial);
    if (!row) throw new EgovError('not-found', `no certificate with serial ${serial} was issued by CA "${ca}"`);
    return { ...toRecord(row), certificatePem: certificatePem(row.der), der: row.der };
  }

  async listCertificates(ca: string, query: { status?: CertificateStatus; limit?: number; after?: string; expiringBefore?: string } = {}): Promise<CertificateRecord[]> {
    await this.authorityRow(ca);
    let q = this.database.db
      .selectFrom('certificate')
      .select(RECORD_COLUMNS)
      .where('ca_name', '=', ca)
      .orderBy('serial')
      .limit(Math.min(Math.max(query.limit ?? 100, 1), 10_000));
    if (query.status) q = q.where('status', '=', query.status);
    if (query.after) q = q.where('serial', '>', parseSerial(query.after));
    if (query.expiringBefore) q = q.where('not_after', '<', query.expiringBefore);
    return (await q.execute()).map(toRecord);
  }

  /** Per hierarchy: issued and revoked in [since, until), valid ones expiring before `expiringBefore`, valid in all (the dashboards' CA figures). */
  async certificateCounts(window: { since: string; until: string; expiringBefore: string }): Promise<Array<{ ca: string; issued: number; revoked: number; expiringSoon: number; valid: number }>> {
    const db = this.database.db;
    const count = async (build: (q: ReturnType<typeof db.selectFrom<'certificate'>>) => ReturnType<typeof db.selectFrom<'certificate'>>) =>
      new Map((await build(db.selectFrom('certificate')).select((eb) => ['ca_name', eb.fn.countAll<number | string>().as('n')]).groupBy('ca_name').execute()).map((r) => [r.ca_name, Number(r.n)]));
    const [issued, revoked, expiring, valid] = await Promise.all([
      count((q) => q.where('issued_at', '>=', window.since).where('issued_at', '<', window.until)),
      count((q) => q.where('revoked_at', '>=', window.since).where('revoked_at', '<', window.until)),
      count((q) => q.where('status', '=', 'good').where('not_after', '>=', window.until).where('not_after', '<', window.expiringBefore)),
      count((q) => q.where('status', '=', 'good').where('not_after', '>=', window.until)),
    ]);
    return (await this.listHierarchies()).map((h) => ({ ca: h.name, issued: issued.get(h.name) ?? 0, revoked: revoked.get(h.name) ?? 0, expiringSoon: expiring.get(h.name) ?? 0, valid: valid.get(h.name) ?? 0 }));
  }

  // ------------------------------------------------------------ revocation

  /** `reason` is an RFC 5280 name (keyCompromise, certificateHold, ...); a bad one is refused and audited like any other. */
  async revoke(request: { ca: string; serial: string; reason: RevocationReason | string; alsoWrite?: AlsoWrite }, by: Actor): Promise<CertificateRecord> {
    const object = `ca:${request.ca}/serial:${request.serial}`;
    return this.audited(by, request.reason === 'certificateHold' ? 'ca.suspend' : 'ca.revoke', object, async () => {
      const reason = parseReason(request.reason);
      await this.authorityRow(request.ca);
      const serial = parseSerial(request.serial);
      const code = REVOCATION_REASONS[reason];
      const status: CertificateStatus = reason === 'certificateHold' ? 'hold' : 'revoked';
      const now = this.now().toISOString();
      const record = await this.database.write(async (tx) => {
        const row = await findCertificate(tx, request.ca, serial);
        if (!row) throw new EgovError('not-found', `no certificate with serial ${serial} was issued by CA "${request.ca}"`);
        if (row.status === 'revoked') throw new EgovError('already-revoked', `certificate ${serial} was already revoked on ${row.revoked_at}`);
        if (row.status === 'hold' && status === 'hold') throw new EgovError('already-revoked', `certificate ${serial} is already suspended (certificateHold)`);
        const seq = await nextStatusSeq(tx);
        // A held certificate revoked for good keeps its original revocation date (RFC 5280 5.3.2).
        const revokedAt = row.status === 'hold' ? row.revoked_at! : now;
        await tx
          .updateTable('certificate')
          .set({ status, revoked_at: revokedAt, revocation_reason: code, status_changed_seq: seq })
          .where('ca_name', '=', request.ca)
          .where('serial', '=', serial)
          .execute();
        await appendAudit(tx, { ...by, action: status === 'hold' ? 'ca.suspend' : 'ca.revoke', object: `ca:${request.ca}/serial:${serial}`, outcome: 'success', detail: { reason } });
        const changed = toRecord({ ...row, status, revoked_at: revokedAt, revocation_reason: code, status_changed_seq: seq });
        if (request.alsoWrite) await request.alsoWrite(tx, changed);
        return changed;
      });
      this.events.emit('status', { ca: request.ca, serial, status } satisfies StatusChange);
      return record;
    });
  }

  /** Releases a certificateHold: the certificate is good again and leaves the CRL (removeFromCRL in the delta). */
  async unsuspend(request: { ca: string; serial: string; alsoWrite?: AlsoWrite }, by: Actor): Promise<CertificateRecord> {
    return this.audited(by, 'ca.unsuspend', `ca:${request.ca}/serial:${request.serial}`, async () => {
      await this.authorityRow(request.ca);
      const serial = parseSerial(request.serial);
      const record = await this.database.write(async (tx) => {
        const row = await findCertificate(tx, request.ca, serial);
        if (!row) throw new EgovError('not-found', `no certificate with serial ${serial} was issued by CA "${request.ca}"`);
        if (row.status !== 'hold') throw new EgovError('conflict', `certificate ${serial} is ${row.status === 'good' ? 'not suspended' : 'revoked for good'}; only a certificateHold can be released`);
        const seq = await nextStatusSeq(tx);
        await tx
          .updateTable('certificate')
          .set({ status: 'good', revoked_at: null, revocation_reason: REVOCATION_REASONS.removeFromCRL, status_changed_seq: seq })
          .where('ca_name', '=', request.ca)
          .where('serial', '=', serial)
          .execute();
        await appendAudit(tx, { ...by, action: 'ca.unsuspend', object: `ca:${request.ca}/serial:${serial}`, outcome: 'success' });
        const changed = toRecord({ ...row, status: 'good', revoked_at: null, revocation_reason: null, status_changed_seq: seq });
        if (request.alsoWrite) await request.alsoWrite(tx, changed);
        return changed;
      });
      this.events.emit('status', { ca: request.ca, serial, status: 'good' } satisfies StatusChange);
      return record;
    });
  }

  statusSequence(): Promise<number> {
    return currentStatusSeq(this.database);
  }

  /**
   * Notices status changes made by other processes (a CLI revoke while the
   * server runs) and emits 'status' for each CA touched, so OCSP caches drop
   * and a delta CRL follows.
   */
  watchStatusChanges(intervalMs = 1000): () => void {
    let seen = -1;
    let running = false;
    // A notification that came while a check was going: look once more after it.
    let again = false;
    const check = async (): Promise<void> => {
      if (running) {
        again = true;
        return;
      }
      running = true;
      try {
        const seq = await currentStatusSeq(this.database);
        if (seen !== -1 && seq > seen) {
          const changed = await this.database.db
            .selectFrom('certificate')
            .select(['ca_name', 'serial', 'status'])
            .where('status_changed_seq', '>', seen)
            .limit(1000)
            .execute();
          for (const row of changed) this.events.emit('status', { ca: row.ca_name, serial: row.serial as Serial, status: row.status } satisfies StatusChange);
        }
        seen = seq;
      } finally {
        running = false;
        if (again) {
          again = false;
          void check().catch(() => undefined);
        }
      }
    };
    void check().catch(() => undefined);
    const timer = setInterval(() => void check().catch(() => undefined), intervalMs);
    timer.unref();
    // On PostgreSQL a trigger (0016-cluster) notifies every instance of a status
    // change as it commits: look at once (a check going on is followed by another).
    const unlisten = this.database.listen?.('egov_ca_status', () => void check().catch(() => undefined));
    return () => {
      clearInterval(timer);
      void unlisten?.();
    };
  }
}

/** "City Root CA" -> "City Issuing CA"; any other CN gets " Issuing CA" after it. */
function issuingCommonName(rootCn: string): string {
  const name = /\bRoot\b( CA)?/.test(rootCn) ? rootCn.replace(/\bRoot\b( CA)?/, 'Issuing CA') : `${rootCn} Issuing CA`;
  return name.slice(0, 64);
}

export function defaultSubjectKey(caAlgorithm: KeyAlgorithm): KeyAlgorithm {
  if (caAlgorithm === 'sm2') return 'sm2';
  if (caAlgorithm.startsWith('rsa')) return 'rsa-2048';
  return 'ecdsa-p256';
}
