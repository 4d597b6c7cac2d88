// Who or what a request is for, validated field by field, and how a vetted
// applicant becomes a certificate subject. Resident ID numbers are checked
// with their GB 11643-1999 check digit and never shown in full outside the desk.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { EgovError } from '../../core/index.js';

export const SUBJECT_TYPES = ['person', 'device', 'software'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

export const PersonSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 64 }),
    idType: Type.Union([Type.Literal('resident-id'), Type.Literal('employee-number')]),
    idNumber: Type.String({ minLength: 1, maxLength: 32 }),
    department: Type.String({ minLength: 1, maxLength: 128 }),
    phone: Type.Optional(Type.String({ maxLength: 32 })),
    email: Type.Optional(Type.String({ maxLength: 254 })),
  },
  { additionalProperties: false },
);
export const DeviceSchema = Type.Object(
  {
    hostname: Type.String({ minLength: 1, maxLength: 253 }),
    ipAddresses: Type.Array(Type.String({ maxLength: 45 }), { maxItems: 16 }),
    assetTag: Type.Optional(Type.String({ maxLength: 64 })),
    zone: Type.Union([Type.Literal('internal'), Type.Literal('external')]),
    site: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);
export const SoftwareSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    vendor: Type.String({ minLength: 1, maxLength: 128 }),
    version: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type PersonApplicant = Static<typeof PersonSchema>;
export type DeviceApplicant = Static<typeof DeviceSchema>;
export type SoftwareApplicant = Static<typeof SoftwareSchema>;
export type Applicant =
  | { type: 'person'; fields: PersonApplicant }
  | { type: 'device'; fields: DeviceApplicant }
  | { type: 'software'; fields: SoftwareApplicant };

const RESIDENT_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const RESIDENT_ID_CHECK = '10X98765432';

/** Why an 18-digit resident ID number is not valid, or null when it is (GB 11643-1999: birth date and ISO 7064 MOD 11-2 check digit). */
export function residentIdProblem(idNumber: string): string | null {
  if (!/^[0-9]{17}[0-9Xx]$/.test(idNumber)) return 'a resident ID number is 17 digits and a check character (0-9 or X)';
  const year = Number(idNumber.slice(6, 10));
  const month = Number(idNumber.slice(10, 12));
  const day = Number(idNumber.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  if (year < 1900 || birth.getUTCMonth() !== month - 1 || birth.getUTCDate() !== day || birth.getTime() > Date.now()) {
    return `its birth date ${idNumber.slice(6, 14)} is not a real date`;
  }
  const sum = RESIDENT_ID_WEIGHTS.reduce((acc, weight, i) => acc + weight * Number(idNumber[i]), 0);
  const expected = RESIDENT_ID_CHECK[sum % 11]!;
  if (idNumber[17]!.toUpperCase() !== expected) return `its check digit is ${idNumber[17]!.toUpperCase()}, but the first 17 digits give ${expected}`;
  return null;
}

/** 110105********123X: enough to recognise, not enough to misuse. */
export function maskIdNumber(idNumber: string): string {
  if (idNumber.length <= 6) return '*'.repeat(idNumber.length);
  if (idNumber.length < 12) return idNumber.slice(0, 2) + '*'.repeat(idNumber.length - 4) + idNumber.slice(-2);
  return idNumber.slice(0, 6) + '*'.repeat(idNumber.length - 10) + idNumber.slice(-4);
}

/** Masks anything that looks like a resident ID number inside free text (reasons, notes) before it is logged or shown. */
export function maskIdNumbersIn(text: string): string {
  return text.replace(/(?<![0-9])[0-9]{17}[0-9Xx](?![0-9])/g, (m) => maskIdNumber(m));
}

const HOSTNAME_LABEL = /^(?!-)[a-zA-Z0-9-]{1,63}(?<!-)$/;

export function hostnameProblem(hostname: string): string | null {
  if (isIP(hostname)) return `"${hostname}" is an IP address; put it under IP addresses and give the device's host name here`;
  if (hostname.length > 253) return 'a host name is at most 253 characters';
  const labels = hostname.replace(/\.$/, '').split('.');
  const bad = labels.find((label) => !HOSTNAME_LABEL.test(label));
  if (bad !== undefined) return `"${hostname}" is not a host name: label "${bad}" must be 1-63 letters, digits or hyphens, not starting or ending with a hyphen`;
  if (/^[0-9]+$/.test(labels[labels.length - 1]!)) return `"${hostname}" is not a host name: its last label is all digits`;
  return null;
}

const EMAIL = /^[^\s@<>()",;]+@[a-zA-Z0-9-]+(\.[a-zA-Z0-9-]+)+$/;
const PHONE = /^\+?[0-9][0-9 -]{5,20}$/;

/** Checks every field; the first problem is thrown as a bad-request naming the field. */
export function validateApplicant(applicant: Applicant): void {
  const bad = (field: string, why: string) => new EgovError('bad-request', `${applicant.type}.${field}: ${why}`, { field });
  if (applicant.type === 'person') {
    const p = applicant.fields;
    if (!p.name.trim()) throw bad('name', 'is empty');
    if (p.idType === 'resident-id') {
      const problem = residentIdProblem(p.idNumber);
      if (problem) throw bad('idNumber', `resident ID number ${maskIdNumber(p.idNumber)} is not valid: ${problem}`);
    } else if (!/^[A-Za-z0-9-]{1,32}$/.test(p.idNumber)) {
      throw bad('idNumber', 'an employee number is 1-32 letters, digits or hyphens');
    }
    if (p.email && !EMAIL.test(p.email)) throw bad('email', `"${p.email}" is not an e-mail address`);
    if (p.phone && !PHONE.test(p.phone)) throw bad('phone', `"${p.phone}" is not a phone number`);
  } else if (applicant.type === 'device') {
    const d = applicant.fields;
    const problem = hostnameProblem(d.hostname);
    if (problem) throw bad('hostname', problem);
    for (const ip of d.ipAddresses) if (!isIP(ip)) throw bad('ipAddresses', `"${ip}" is not an IPv4 or IPv6 address`);
    if (d.assetTag !== undefined && !/^[A-Za-z0-9._/-]{0,64}$/.test(d.assetTag)) throw bad('assetTag', 'letters, digits and . _ / - only');
  } else {
    const s = applicant.fields;
    for (const field of ['name', 'vendor', 'version'] as const) if (!s[field].trim()) throw bad(field, 'is empty');
  }
}

/** The name the queue shows and searches. */
export function displayName(applicant: Applicant): string {
  if (applicant.type === 'person') return applicant.fields.name.trim();
  if (applicant.type === 'device') return applicant.fields.hostname.toLowerCase();
  return `${applicant.fields.name.trim()} ${applicant.fields.version.trim()}`;
}

/** What makes two open requests the same: the same person, host or software release. */
export function identityKey(applicant: Applicant): string {
  if (applicant.type === 'person') return `${applicant.fields.idType}:${applicant.fields.idNumber.toUpperCase()}`;
  if (applicant.type === 'device') return `host:${applicant.fields.hostname.toLowerCase()}`;
  return `software:${applicant.fields.vendor.trim()}/${applicant.fields.name.trim()}@${applicant.fields.version.trim()}`;
}

const escapeDn = (value: string) => value.replace(/([,+"\\<>;=])/g, '\\$1').replace(/^([ #])/, '\\$1');

/**
 * The certificate subject and SANs for a vetted applicant. A resident ID is
 * not written into the certificate: serialNumber carries a keyed-free
 * pseudonym (SHA-256 of the number), unique and checkable by whoever holds the number.
 */
export function subjectFor(applicant: Applicant): { subject: string; sans: string[] } {
  if (applicant.type === 'person') {
    const p = applicant.fields;
    const serialNumber = p.idType === 'resident-id' ? `RID-${createHash('sha256').update(p.idNumber.toUpperCase()).digest('hex').slice(0, 24)}` : `EMP-${p.idNumber}`;
    return { subject: `CN=${escapeDn(p.name.trim())},serialNumber=${serialNumber},OU=${escapeDn(p.department.trim())}`, sans: p.email ? [`email:${p.email}`] : [] };
  }
  if (applicant.type === 'device') {
    const d = applicant.fields;
    const parts = [`CN=${d.hostname.toLowerCase()}`, `OU=${d.zone}`, `L=${escapeDn(d.site.trim())}`];
    if (d.assetTag) parts.push(`serialNumber=${d.assetTag}`);
    return { subject: parts.join(','), sans: [`DNS:${d.hostname.toLowerCase()}`, ...d.ipAddresses.map((ip) => `IP:${ip}`)] };
  }
  const s = applicant.fields;
  return { subject: `CN=${escapeDn(`${s.name.trim()} ${s.version.trim()}`)},O=${escapeDn(s.vendor.trim())}`, sans: [] };
}

/** The applicant as the audit log and the queue may show it: ID numbers masked. */
export function maskedApplicant(applicant: Applicant): Record<string, unknown> {
  if (applicant.type !== 'person') return { ...applicant.fields };
  return { ...applicant.fields, idNumber: maskIdNumber(applicant.fields.idNumber) };
}
