// Who may do what. People and agents present a client certificate from our
// own CA (mTLS); a ca-admin binds certificates to roles. Administrator roles
// are active only after the holder also gives a password (two factors, as
// grade protection level 3 asks). Wrong passwords lock the certificate out
// for a while; sessions end when idle and after a maximum age. Every sign-in
// and every refusal is an audit record.

import { createHash, randomBytes } from 'node:crypto';
import { appendAudit, auditedWork, recordAudit, type AuditEvent } from '../audit-log.js';
import { EgovError } from '../errors.js';
import type { Database } from '../storage/database.js';
import type { AccessBindingTable } from '../storage/schema.js';
import { checkPasswordStrength, hashPassword, verifyPassword } from './passwords.js';

export const ROLES = ['ca-admin', 'ra-operator', 'security-officer', 'network-admin', 'auditor', 'agent'] as const;
export type Role = (typeof ROLES)[number];
/** Roles that need the password as a second factor before they are active. */
export const ADMIN_ROLES: readonly Role[] = ['ca-admin', 'security-officer'];

export function parseRole(text: string): Role {
  if ((ROLES as readonly string[]).includes(text)) return text as Role;
  throw new EgovError('bad-request', `unknown role "${text}"; roles are ${ROLES.join(', ')}`);
}

/** A presented certificate as the CA knows it. */
export interface PeerIdentity {
  ca: string;
  serial: string;
  /** The certificate's CN (or subject), for display and the audit log. */
  holder: string;
  notAfter: string;
  status: 'good' | 'revoked' | 'hold';
}

/** What access control asks the CA (ca/ implements it; core does not know certificates). */
export interface CertificateDirectory {
  /** The certificate as issued by one of our hierarchies, or null when none of them issued it. */
  identify(certificateDer: Buffer, issuerDer: Buffer | undefined): Promise<PeerIdentity | null>;
  /** Called whenever a certificate's status changes, so cached answers are dropped at once. */
  onStatusChange(listener: () => void): () => void;
}

/** The TLS facts of one connection. */
export interface PresentedCertificate {
  der: Buffer | undefined;
  issuerDer: Buffer | undefined;
  /** Whether the TLS layer verified the chain to one of our roots (and the validity period). */
  authorized: boolean;
  /** OpenSSL's reason when not authorized: CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ... */
  authorizationError: string | undefined;
}

export interface Principal {
  /** The certificate holder's name (CN), with the serial: what the audit log shows. */
  name: string;
  ca: string;
  serial: string;
  /** Roles bound to the certificate. */
  roles: readonly Role[];
  /** Roles in force now: administrator roles only after the password. */
  activeRoles: readonly Role[];
  session?: { idHash: string; csrf: string; expiresAt: string };
}

export interface AccessSettings {
  maxFailedSignIns: number;
  lockoutMinutes: number;
  sessionIdleMinutes: number;
  sessionMaxHours: number;
}

export interface AccessOptions {
  database: Database;
  directory: CertificateDirectory;
  settings: AccessSettings;
  now?: () => Date;
}

export interface SessionGrant {
  /** The cookie value: shown to the client once, stored only as a hash. */
  cookie: string;
  csrf: string;
  expiresAt: string;
  activeRoles: readonly Role[];
}

export interface BindingView {
  ca: string;
  serial: string;
  holder: string;
  roles: Role[];
  passwordSet: boolean;
  failedSignIns: number;
  lockedUntil: string | null;
  createdAt: string;
  createdBy: string;
}

interface CachedSession {
  idHash: string;
  ca: string;
  serial: string;
  csrf: string;
  passwordVerified: boolean;
  createdAt: number;
  lastSeenAt: number;
  /** When last_seen_at was last written; written at most once a minute. */
  flushedAt: number;
  /** When the row was last read: another instance may have ended the session (sign-out) since. */
  checkedAt: number;
}

export const SESSION_COOKIE = 'egov_session';
const IDENTITY_CACHE_MS = 2000;
const LAST_SEEN_FLUSH_MS = 60_000;
/** A cached session is read again after this long, so a sign-out on another instance ends it here too. */
const SESSION_RECHECK_MS = 2000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const bindingObject = (ca: string, serial: string) => `access:${ca}/serial:${serial}`;

function describeTlsRefusal(reason: string | undefined): string {
  switch (reason) {
    case 'CERT_HAS_EXPIRED':
      return 'your client certificate has expired';
    case 'CERT_NOT_YET_VALID':
      return 'your client certificate is not valid yet';
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'your client certificate was not issued by this suite\'s CA';
    default:
      return `your client certificate was not accepted (${reason ?? 'unknown reason'})`;
  }
}

export class AccessControl {
  private readonly database: Database;
  private readonly settings: AccessSettings;
  private readonly now: () => Date;
  private readonly identities = new Map<string, { at: number; identity: PeerIdentity | null; binding: AccessBindingTable | undefined }>();
  private readonly sessions = new Map<string, CachedSession>();

  constructor(private readonly options: AccessOptions) {
    this.database = options.database;
    this.settings = options.settings;
    this.now = options.now ?? (() => new Date());
    options.directory.onStatusChange(() => this.identities.clear());
  }

  // ------------------------------------------------------------ per request

  /**
   * The principal behind a request: the certificate must be ours, valid, not
   * revoked or suspended, and bound to roles. Refusals are audited and thrown.
   */
  async authenticate(presented: PresentedCertificate, sessionCookie: string | undefined, source: string): Promise<Principal> {
    const refuse = async (reason: string, object = 'access:unknown'): Promise<never> => {
      await recordAudit(this.database, { actor: 'anonymous', action: 'access.refuse', object, source, outcome: 'refused', detail: { reason } }).catch(() => undefined);
      throw new EgovError('unauthorized', reason);
    };
    if (!presented.der) return refuse('no client certificate: sign in with a certificate issued by this suite\'s CA');
    if (!presented.authorized) return refuse(describeTlsRefusal(presented.authorizationError));
    const { identity, binding } = await this.lookup(presented.der, presented.issuerDer);
    if (!identity) return refuse('your client certificate was not issued by this suite\'s CA');
    const object = bindingObject(identity.ca, identity.serial);
    if (identity.status === 'revoked') return refuse(`your client certificate (serial ${identity.serial}) has been revoked`, object);
    if (identity.status === 'hold') return refuse(`your client certificate (serial ${identity.serial}) is suspended`, object);
    if (!binding) {
      await recordAudit(this.database, { actor: identity.holder, action: 'access.refuse', object, source, outcome: 'refused', detail: { reason: 'no role' } }).catch(() => undefined);
      throw new EgovError('forbidden', `certificate ${identity.serial} (${identity.holder}) holds no role here; a ca-admin must bind it`);
    }
    const roles = JSON.parse(binding.roles) as Role[];
    const principal: Principal = { name: `${identity.holder} (${identity.serial})`, ca: identity.ca, serial: identity.serial, roles, activeRoles: roles.filter((r) => !ADMIN_ROLES.includes(r)) };
    const session = sessionCookie ? await this.activeSession(sessionCookie, identity) : undefined;
    if (session) {
      principal.session = { idHash: session.idHash, csrf: session.csrf, expiresAt: new Date(this.sessionEnds(session)).toISOString() };
      if (session.passwordVerified) principal.activeRoles = roles;
    }
    return principal;
  }

  private async lookup(der: Buffer, issuerDer: Buffer | undefined) {
    const key = sha256(der.toString('base64'));
    const cached = this.identities.get(key);
    if (cached && Date.now() - cached.at < IDENTITY_CACHE_MS) return cached;
    const identity = await this.options.directory.identify(der, issuerDer);
    const binding = identity ? await this.bindingRow(identity.ca, identity.serial) : undefined;
    const entry = { at: Date.now(), identity, binding };
    if (this.identities.size > 10_000) this.identities.clear();
    this.identities.set(key, entry);
    return entry;
  }

  private bindingRow(ca: string, serial: string): Promise<AccessBindingTable | undefined> {
    return this.database.db.selectFrom('access_binding').selectAll().where('ca_name', '=', ca).where('serial', '=', serial).executeTakeFirst();
  }

  private sessionEnds(session: CachedSession): number {
    return Math.min(session.lastSeenAt + this.settings.sessionIdleMinutes * 60_000, session.createdAt + this.settings.sessionMaxHours * 3_600_000);
  }

  /** The session behind a cookie, if it belongs to this certificate and has not timed out. */
  private async activeSession(cookie: string, identity: PeerIdentity): Promise<CachedSession | undefined> {
    const idHash = sha256(cookie);
    let session = this.sessions.get(idHash);
    if (session && Date.now() - session.checkedAt > SESSION_RECHECK_MS) {
      const row = await this.database.db.selectFrom('access_session').select(['ended_at', 'last_seen_at']).where('id_hash', '=', idHash).executeTakeFirst();
      if (!row || row.ended_at !== null) {
        this.sessions.delete(idHash);
        return undefined;
      }
      session.checkedAt = Date.now();
      session.lastSeenAt = Math.max(session.lastSeenAt, Date.parse(row.last_seen_at));
    }
    if (!session) {
      const row = await this.database.db.selectFrom('access_session').selectAll().where('id_hash', '=', idHash).where('ended_at', 'is', null).executeTakeFirst();
      if (!row) return undefined;
      const lastSeen = Date.parse(row.last_seen_at);
      session = { idHash, ca: row.ca_name, serial: row.serial, csrf: row.csrf_token, passwordVerified: row.password_verified === 1, createdAt: Date.parse(row.created_at), lastSeenAt: lastSeen, flushedAt: lastSeen, checkedAt: Date.now() };
      this.sessions.set(idHash, session);
    }
    // A session is bound to the certificate that opened it: a stolen cookie is useless without the key.
    if (session.ca !== identity.ca || session.serial !== identity.serial) return undefined;
    const now = this.now().getTime();
    if (now >= this.sessionEnds(session)) {
      await this.endSession(idHash, 'timed out');
      return undefined;
    }
    session.lastSeenAt = now;
    if (now - session.flushedAt > LAST_SEEN_FLUSH_MS) {
      session.flushedAt = now;
      await this.database.write((tx) => tx.updateTable('access_session').set({ last_seen_at: new Date(now).toISOString() }).where('id_hash', '=', idHash).execute());
    }
    return session;
  }

  private async endSession(idHash: string, why: string): Promise<void> {
    const session = this.sessions.get(idHash);
    this.sessions.delete(idHash);
    await this.database.write(async (tx) => {
      const ended = await tx.updateTable('access_session').set({ ended_at: this.now().toISOString() }).where('id_hash', '=', idHash).where('ended_at', 'is', null).executeTakeFirst();
      if (Number(ended.numUpdatedRows) > 0 && session) {
        await appendAudit(tx, { actor: 'system', action: 'access.session-end', object: bindingObject(session.ca, session.serial), source: 'server', outcome: 'success', detail: { why } });
      }
    });
  }

  /** A signed-in principal asked for something its roles do not allow: refused, and on record. */
  async refuse(principal: Principal, what: string, reason: string, source: string): Promise<void> {
    await recordAudit(this.database, { actor: principal.name, action: 'access.refuse', object: what, source, outcome: 'refused', detail: { reason } }).catch(() => undefined);
  }

  // ------------------------------------------------------------ sign-in

  /**
   * Opens a session for the certificate behind `principal`. Administrator
   * roles are active in it only when the password was given; wrong ones count
   * towards a lockout.
   */
  async signIn(principal: Principal, password: string | undefined, source: string): Promise<SessionGrant> {
    const object = bindingObject(principal.ca, principal.serial);
    const audit = (outcome: AuditEvent['outcome'], detail: Record<string, unknown>) =>
      recordAudit(this.database, { actor: principal.name, action: 'access.sign-in', object, source, outcome, detail });
    const binding = await this.bindingRow(principal.ca, principal.serial);
    if (!binding) throw new EgovError('forbidden', 'this certificate holds no role');
    const now = this.now();
    // Without a password: a session for the roles that need none (and for the
    // CSRF token of the sign-in form itself). With one: every role.
    let verified = false;
    // An empty field is not a guess: it does not count towards the lockout.
    if (password === '') throw new EgovError('bad-request', 'password: empty; give your password');
    if (password !== undefined) {
      if (binding.locked_until && Date.parse(binding.locked_until) > now.getTime()) {
        await audit('refused', { reason: 'locked out', lockedUntil: binding.locked_until });
        throw new EgovError('forbidden', `sign-in is locked until ${binding.locked_until} after ${binding.failed_sign_ins} wrong passwords; a ca-admin can unlock it`, { lockedUntil: binding.locked_until });
      }
      if (!binding.password_hash) {
        await audit('refused', { reason: 'no password set' });
        throw new EgovError('forbidden', 'no password is set for this certificate; a ca-admin sets one with `egov-ops access password`');
      }
      if (!(await verifyPassword(password, binding.password_hash))) await this.countFailure(principal, binding, source);
      verified = true;
    }
    const cookie = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    const idHash = sha256(cookie);
    const nowText = now.toISOString();
    const expiresAt = new Date(Math.min(now.getTime() + this.settings.sessionIdleMinutes * 60_000, now.getTime() + this.settings.sessionMaxHours * 3_600_000)).toISOString();
    await this.database.write(async (tx) => {
      await tx
        .insertInto('access_session')
        .values({ id_hash: idHash, ca_name: principal.ca, serial: principal.serial, csrf_token: csrf, password_verified: verified ? 1 : 0, created_at: nowText, last_seen_at: nowText, expires_at: expiresAt, ended_at: null })
        .execute();
      if (binding.failed_sign_ins > 0 || binding.locked_until) {
        await tx.updateTable('access_binding').set({ failed_sign_ins: 0, locked_until: null }).where('ca_name', '=', principal.ca).where('serial', '=', principal.serial).execute();
      }
      await appendAudit(tx, { actor: principal.name, action: 'access.sign-in', object, source, outcome: 'success', detail: { secondFactor: verified ? 'password' : 'none', roles: principal.roles } });
    });
    this.identities.clear();
    const activeRoles = verified ? principal.roles : principal.roles.filter((r) => !ADMIN_ROLES.includes(r));
    return { cookie, csrf, expiresAt, activeRoles };
  }

  private async countFailure(principal: Principal, binding: AccessBindingTable, source: string): Promise<never> {
    const failures = binding.failed_sign_ins + 1;
    const lock = failures >= this.settings.maxFailedSignIns;
    const lockedUntil = lock ? new Date(this.now().getTime() + this.settings.lockoutMinutes * 60_000).toISOString() : null;
    await this.database.write(async (tx) => {
      await tx.updateTable('access_binding').set({ failed_sign_ins: failures, locked_until: lockedUntil }).where('ca_name', '=', principal.ca).where('serial', '=', principal.serial).execute();
      await appendAudit(tx, {
        actor: principal.name,
        action: 'access.sign-in',
        object: bindingObject(principal.ca, principal.serial),
        source,
        outcome: 'refused',
        detail: { reason: 'wrong password', failures, ...(lockedUntil ? { lockedUntil } : {}) },
      });
    });
    this.identities.clear();
    if (lock) throw new EgovError('forbidden', `wrong password; ${failures} in a row, so sign-in is locked until ${lockedUntil}`, { lockedUntil });
    throw new EgovError('unauthorized', `wrong password (${failures} of ${this.settings.maxFailedSignIns} before a lockout)`);
  }

  async signOut(principal: Principal): Promise<void> {
    if (principal.session) await this.endSession(principal.session.idHash, 'signed out');
  }

  // ------------------------------------------------------------ bindings (ca-admin)

  async bind(request: { ca: string; serial: string; holder: string; roles: readonly Role[]; password?: string }, by: { actor: string; source: string }): Promise<BindingView> {
    const object = bindingObject(request.ca, request.serial);
    return this.audited(by, 'access.bind', object, async () => {
      if (request.roles.length === 0) throw new EgovError('bad-request', 'roles: give at least one role');
      const roles = [...new Set(request.roles.map(parseRole))];
      if (request.password !== undefined) checkPasswordStrength(request.password);
      const passwordHash = request.password !== undefined ? await hashPassword(request.password) : undefined;
      const nowText = this.now().toISOString();
      await this.database.write(async (tx) => {
        const existing = await tx.selectFrom('access_binding').select('password_hash').where('ca_name', '=', request.ca).where('serial', '=', request.serial).executeTakeFirst();
        if (existing) {
          await tx
            .updateTable('access_binding')
            .set({ roles: JSON.stringify(roles), holder: request.holder, ...(passwordHash ? { password_hash: passwordHash } : {}) })
            .where('ca_name', '=', request.ca)
            .where('serial', '=', request.serial)
            .execute();
        } else {
          await tx
            .insertInto('access_binding')
            .values({ ca_name: request.ca, serial: request.serial, holder: request.holder, roles: JSON.stringify(roles), password_hash: passwordHash ?? null, failed_sign_ins: 0, locked_until: null, created_at: nowText, created_by: by.actor })
            .execute();
        }
        await appendAudit(tx, { ...by, action: 'access.bind', object, outcome: 'success', detail: { holder: request.holder, roles, passwordSet: passwordHash !== undefined } });
      });
      this.identities.clear();
      return this.binding(request.ca, request.serial);
    });
  }

  async unbind(request: { ca: string; serial: string }, by: { actor: string; source: string }): Promise<void> {
    const object = bindingObject(request.ca, request.serial);
    await this.audited(by, 'access.unbind', object, async () => {
      await this.database.write(async (tx) => {
        const removed = await tx.deleteFrom('access_binding').where('ca_name', '=', request.ca).where('serial', '=', request.serial).executeTakeFirst();
        if (Number(removed.numDeletedRows) === 0) throw new EgovError('not-found', `no binding for certificate ${request.serial} of CA "${request.ca}"`);
        await tx.updateTable('access_session').set({ ended_at: this.now().toISOString() }).where('ca_name', '=', request.ca).where('serial', '=', request.serial).where('ended_at', 'is', null).execute();
        await appendAudit(tx, { ...by, action: 'access.unbind', object, outcome: 'success' });
      });
      this.identities.clear();
      this.sessions.clear();
    });
  }

  async setPassword(request: { ca: string; serial: string; password: string }, by: { actor: string; source: string }): Promise<void> {
    const object = bindingObject(request.ca, request.serial);
    await this.audited(by, 'access.password', object, async () => {
      checkPasswordStrength(request.password);
      const passwordHash = await hashPassword(request.password);
      await this.database.write(async (tx) => {
        const updated = await tx.updateTable('access_binding').set({ password_hash: passwordHash, failed_sign_ins: 0, locked_until: null }).where('ca_name', '=', request.ca).where('serial', '=', request.serial).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) throw new EgovError('not-found', `no binding for certificate ${request.serial} of CA "${request.ca}"`);
        await appendAudit(tx, { ...by, action: 'access.password', object, outcome: 'success' });
      });
      this.identities.clear();
    });
  }

  async unlock(request: { ca: string; serial: string }, by: { actor: string; source: string }): Promise<void> {
    const object = bindingObject(request.ca, request.serial);
    await this.audited(by, 'access.unlock', object, async () => {
      await this.database.write(async (tx) => {
        const updated = await tx.updateTable('access_binding').set({ failed_sign_ins: 0, locked_until: null }).where('ca_name', '=', request.ca).where('serial', '=', request.serial).executeTakeFirst();
        if (Number(updated.numUpdatedRows) === 0) throw new EgovError('not-found', `no binding for certificate ${request.serial} of CA "${request.ca}"`);
        await appendAudit(tx, { ...by, action: 'access.unlock', object, outcome: 'success' });
      });
      this.identities.clear();
    });
  }

  async binding(ca: string, serial: string): Promise<BindingView> {
    const row = await this.bindingRow(ca, serial);
    if (!row) throw new EgovError('not-found', `no binding for certificate ${serial} of CA "${ca}"`);
    return toBindingView(row);
  }

  async listBindings(): Promise<BindingView[]> {
    const rows = await this.database.db.selectFrom('access_binding').selectAll().orderBy('created_at').limit(10_000).execute();
    return rows.map(toBindingView);
  }

  async hasAdministrator(): Promise<boolean> {
    const rows = await this.database.db.selectFrom('access_binding').select('roles').execute();
    return rows.some((r) => (JSON.parse(r.roles) as Role[]).includes('ca-admin'));
  }

  // ------------------------------------------------------------ enrolment codes

  /** A one-time code that lets its bearer obtain one certificate with `role` (the first ca-admin, an agent). */
  async createEnrolmentCode(role: Role, by: { actor: string; source: string }, validHours = 72): Promise<{ code: string; expiresAt: string }> {
    const code = randomBytes(18).toString('base64url');
    const now = this.now();
    const expiresAt = new Date(now.getTime() + validHours * 3_600_000).toISOString();
    await this.database.write(async (tx) => {
      await tx.insertInto('access_enrolment').values({ code_hash: sha256(code), role, created_at: now.toISOString(), created_by: by.actor, expires_at: expiresAt, used_at: null, used_by: null }).execute();
      await appendAudit(tx, { ...by, action: 'access.enrolment-code', object: `access:enrolment/${sha256(code).slice(0, 12)}`, outcome: 'success', detail: { role, expiresAt } });
    });
    return { code, expiresAt };
  }

  /** The role an unused, unexpired code grants; throws a clear error otherwise. Does not spend it. */
  async enrolmentRole(code: string, via: Database['db'] = this.database.db): Promise<Role> {
    const row = await via.selectFrom('access_enrolment').selectAll().where('code_hash', '=', sha256(code)).executeTakeFirst();
    if (!row) throw new EgovError('unauthorized', 'enrolment code not recognised');
    if (row.used_at) throw new EgovError('unauthorized', `enrolment code already used on ${row.used_at}`);
    if (Date.parse(row.expires_at) <= this.now().getTime()) throw new EgovError('unauthorized', `enrolment code expired on ${row.expires_at}`);
    return parseRole(row.role);
  }

  /**
   * Spends a code inside the caller's transaction (with the certificate it
   * paid for) and binds the new certificate to the code's role.
   */
  async redeemEnrolmentCode(
    tx: Parameters<Parameters<Database['write']>[0]>[0],
    request: { code: string; ca: string; serial: string; holder: string; password?: string },
    by: { actor: string; source: string },
  ): Promise<Role> {
    // Read through the transaction: on SQLite another connection would wait for this one.
    const role = await this.enrolmentRole(request.code, tx);
    const passwordHash = request.password !== undefined ? await hashPassword(request.password) : null;
    const nowText = this.now().toISOString();
    const spent = await tx.updateTable('access_enrolment').set({ used_at: nowText, used_by: request.holder }).where('code_hash', '=', sha256(request.code)).where('used_at', 'is', null).executeTakeFirst();
    if (Number(spent.numUpdatedRows) === 0) throw new EgovError('unauthorized', 'enrolment code already used');
    await tx
      .insertInto('access_binding')
      .values({ ca_name: request.ca, serial: request.serial, holder: request.holder, roles: JSON.stringify([role]), password_hash: passwordHash, failed_sign_ins: 0, locked_until: null, created_at: nowText, created_by: `enrolment:${by.actor}` })
      .execute();
    await appendAudit(tx, { ...by, action: 'access.enrol', object: bindingObject(request.ca, request.serial), outcome: 'success', detail: { holder: request.holder, role } });
    return role;
  }

  /** The password check for enrolments that create an administrator. */
  checkNewPassword(role: Role, password: string | undefined): void {
    if (ADMIN_ROLES.includes(role)) {
      if (password === undefined) throw new EgovError('bad-request', `password: the role ${role} needs a password (the second factor)`);
      checkPasswordStrength(password);
    }
  }

  private audited<T>(by: { actor: string; source: string }, action: string, object: string, work: () => Promise<T>): Promise<T> {
    return auditedWork(this.database, { ...by, action, object }, work);
  }
}

function toBindingView(row: AccessBindingTable): BindingView {
  return {
    ca: row.ca_name,
    serial: row.serial,
    holder: row.holder,
    roles: JSON.parse(row.roles) as Role[],
    passwordSet: row.password_hash !== null,
    failedSignIns: row.failed_sign_ins,
    lockedUntil: row.locked_until,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}
