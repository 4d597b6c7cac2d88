// One-time enrolment: the bearer of a code made by `egov-ops ca init` (the
// first ca-admin) or by a ca-admin (agents, further people) obtains one
// certificate bound to the code's role. The code is spent in the same
// transaction that stores the certificate.

import { createPublicKey, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { ADMIN_ROLES, EgovError, type AccessControl, type Role } from '../../core/index.js';
import { generateKeyPairFor, publicKeyFromSpki } from '../algorithms.js';
import { defaultSubjectKey, type Actor, type Authority } from '../authority.js';
import { readCsr } from '../csr.js';
import { toPem } from '../asn1/der.js';
import { buildPkcs12, checkPkcs12Password } from '../pkcs12.js';
import type { KeyAlgorithm } from '../algorithms.js';

export interface EnrolmentRequest {
  code: string;
  /** The holder's name (people) or the agent's name. */
  name: string;
  department?: string;
  employeeNumber?: string;
  /** The second factor, required for administrator roles. */
  password?: string;
  /** A CSR, or a bare public key (SPKI PEM) from a holder that keeps its own key (agents); otherwise a key is made here and returned as PKCS#12 under p12Password. */
  csr?: string;
  publicKey?: string;
  /** Agents: the DNS names and IP addresses devices reach it by (its certificate serves syslog over TLS). */
  names?: string[];
  p12Password?: string;
}

export interface EnrolmentResult {
  role: Role;
  ca: string;
  serial: string;
  certificatePem: string;
  chainPem: string[];
  pkcs12?: Buffer;
}

const NAME = /^[\p{L}\p{N} ._-]{1,64}$/u;

function parsePublicKey(pem: string): KeyObject {
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new EgovError('bad-encoding', `publicKey: not a PEM public key (${(error as Error).message})`);
  }
}

export async function enrolWithCode(deps: { authority: Authority; access: AccessControl; ca: string }, request: EnrolmentRequest, by: Actor): Promise<EnrolmentResult> {
  const role = await deps.access.enrolmentRole(request.code);
  if (!NAME.test(request.name)) throw new EgovError('bad-request', 'name: 1-64 letters, digits, spaces, dots, underscores or hyphens');
  deps.access.checkNewPassword(role, request.password);
  if (!ADMIN_ROLES.includes(role) && request.password !== undefined) deps.access.checkNewPassword('ca-admin', request.password);
  const isAgent = role === 'agent';
  const subject = isAgent
    ? `CN=${request.name},OU=agents,O=egov-ops`
    : `CN=${request.name},serialNumber=EMP-${(request.employeeNumber ?? 'enrolled').replace(/[^A-Za-z0-9-]/g, '')},OU=${(request.department ?? 'IT').replace(/[,+"\\<>;=]/g, ' ')}`;
  const profile = isAgent ? 'agent' : 'person';
  const chain = await deps.authority.chain(deps.ca);
  const redeem = (serial: string) => (tx: Parameters<NonNullable<Parameters<Authority['issueForPublicKey']>[0]['alsoWrite']>>[0]) =>
    deps.access.redeemEnrolmentCode(tx, { code: request.code, ca: deps.ca, serial, holder: request.name, ...(request.password !== undefined ? { password: request.password } : {}) }, by).then(() => undefined);
  if (request.csr || request.publicKey) {
    const publicKey = request.csr ? publicKeyFromSpki((await readCsr(request.csr)).spki) : parsePublicKey(request.publicKey!);
    const sans = isAgent ? (request.names ?? []).map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)) : [];
    const issued = await deps.authority.issueForPublicKey({ ca: deps.ca, profile, subject, publicKey, sans, alsoWrite: (tx, record) => redeem(record.serial)(tx) }, by);
    return { role, ca: deps.ca, serial: issued.serial, certificatePem: issued.certificatePem, chainPem: chain.map((c) => toPem('CERTIFICATE', c)) };
  }
  if (!request.p12Password) throw new EgovError('bad-request', 'p12Password: without a CSR the key is made here and handed over as PKCS#12 under this password');
  checkPkcs12Password(request.p12Password);
  const summary = await deps.authority.summary(deps.ca);
  const keys = await generateKeyPairFor(defaultSubjectKey(summary.algorithm as KeyAlgorithm));
  const issued = await deps.authority.issueForPublicKey({ ca: deps.ca, profile, subject, publicKey: keys.publicKey, alsoWrite: (tx, record) => redeem(record.serial)(tx) }, by);
  const pkcs12 = buildPkcs12({ privateKey: keys.privateKey, certificates: [issued.der, ...chain], password: request.p12Password, friendlyName: request.name });
  return { role, ca: deps.ca, serial: issued.serial, certificatePem: issued.certificatePem, chainPem: chain.map((c) => toPem('CERTIFICATE', c)), pkcs12 };
}
