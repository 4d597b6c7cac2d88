// Certificate profiles as data, and the policy check that applies one.
// A profile says what a certificate of its kind may carry; anything that
// does not fit is refused with the reason.

import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { EgovError } from '../core/index.js';
import type { KeyDescription } from './algorithms.js';
import { attributeValues, NAME_ATTRIBUTES, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { formatSan, MAX_SANS, type SubjectAltName } from './sans.js';

export type KeyUsageName = 'digitalSignature' | 'nonRepudiation' | 'keyEncipherment' | 'dataEncipherment' | 'keyAgreement' | 'keyCertSign' | 'cRLSign';

export const KEY_USAGE_BITS: Record<KeyUsageName, number> = {
  digitalSignature: 0,
  nonRepudiation: 1,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
};

export type ExtendedKeyUsageName = 'serverAuth' | 'clientAuth' | 'codeSigning' | 'emailProtection' | 'timeStamping' | 'ocspSigning';

export const EXTENDED_KEY_USAGE_OIDS: Record<ExtendedKeyUsageName, string> = {
  serverAuth: OID.serverAuth,
  clientAuth: OID.clientAuth,
  codeSigning: OID.codeSigning,
  emailProtection: OID.emailProtection,
  timeStamping: OID.timeStamping,
  ocspSigning: OID.ocspSigning,
};

export interface KeyPolicy {
  rsa?: { minBits: number; maxBits: number };
  ecCurves?: Array<'P-256' | 'P-384'>;
  sm2?: boolean;
  ed25519?: boolean;
}

export interface Profile {
  name: string;
  description: string;
  keyUsage: KeyUsageName[];
  /** Added for RSA keys only (RSA key transport); EC keys must not assert it. */
  rsaKeyUsage?: KeyUsageName[];
  extendedKeyUsage: ExtendedKeyUsageName[];
  keys: KeyPolicy;
  validityDays: { default: number; max: number };
  subject: { required: string[]; allowed: string[] };
  sans: { types: Array<SubjectAltName['type']>; required: boolean; max: number };
}

const STRONG_KEYS: KeyPolicy = { rsa: { minBits: 2048, maxBits: 4096 }, ecCurves: ['P-256', 'P-384'], sm2: true, ed25519: true };

export const DEFAULT_PROFILES: Record<string, Profile> = {
  person: {
    name: 'person',
    description: 'a person: client authentication, email protection, non-repudiation',
    keyUsage: ['digitalSignature', 'nonRepudiation'],
    rsaKeyUsage: ['keyEncipherment'],
    extendedKeyUsage: ['clientAuth', 'emailProtection'],
    keys: { rsa: { minBits: 2048, maxBits: 4096 }, ecCurves: ['P-256', 'P-384'], sm2: true },
    validityDays: { default: 730, max: 1095 },
    subject: { required: ['CN', 'serialNumber', 'OU'], allowed: ['CN', 'serialNumber', 'OU', 'O', 'C', 'ST', 'L', 'emailAddress', 'title', 'UID'] },
    sans: { types: ['email'], required: false, max: 4 },
  },
  device: {
    name: 'device',
    description: 'a network device: client and server authentication, DNS/IP names',
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extendedKeyUsage: ['serverAuth', 'clientAuth'],
    keys: STRONG_KEYS,
    validityDays: { default: 730, max: 1095 },
    subject: { required: ['CN'], allowed: ['CN', 'O', 'OU', 'C', 'ST', 'L', 'serialNumber'] },
    sans: { types: ['dns', 'ip'], required: true, max: 32 },
  },
  software: {
    name: 'software',
    description: 'software publisher: code signing',
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['codeSigning'],
    keys: { rsa: { minBits: 3072, maxBits: 4096 }, ecCurves: ['P-256', 'P-384'], sm2: true },
    validityDays: { default: 1095, max: 1095 },
    subject: { required: ['CN', 'O'], allowed: ['CN', 'O', 'OU', 'C', 'ST', 'L'] },
    sans: { types: [], required: false, max: 0 },
  },
  server: {
    name: 'server',
    description: 'a TLS server: server authentication, SAN required',
    keyUsage: ['digitalSignature'],
    rsaKeyUsage: ['keyEncipherment'],
    extendedKeyUsage: ['serverAuth'],
    keys: STRONG_KEYS,
    validityDays: { default: 397, max: 398 },
    subject: { required: ['CN'], allowed: ['CN', 'O', 'OU', 'C', 'ST', 'L'] },
    sans: { types: ['dns', 'ip'], required: true, max: MAX_SANS },
  },
  agent: {
    name: 'agent',
    description: "an egov-ops agent: client authentication to the monitor, server authentication for syslog over TLS (RFC 5425)",
    keyUsage: ['digitalSignature'],
    extendedKeyUsage: ['clientAuth', 'serverAuth'],
    keys: STRONG_KEYS,
    validityDays: { default: 365, max: 397 },
    subject: { required: ['CN'], allowed: ['CN', 'O', 'OU', 'C'] },
    sans: { types: ['dns', 'ip'], required: false, max: 8 },
  },
};

export function getProfile(name: string, profiles: Record<string, Profile> = DEFAULT_PROFILES): Profile {
  const profile = Object.hasOwn(profiles, name) ? profiles[name] : undefined;
  if (!profile) throw new EgovError('unknown-profile', `unknown profile "${name}"; known: ${Object.keys(profiles).join(', ')}`);
  return profile;
}

function refuse(profile: Profile, why: string): EgovError {
  return new EgovError('policy-violation', `profile ${profile.name}: ${why}`);
}

function describeAllowedKeys(policy: KeyPolicy): string {
  const parts: string[] = [];
  if (policy.rsa) parts.push(`RSA ${policy.rsa.minBits}-${policy.rsa.maxBits} bits`);
  if (policy.ecCurves?.length) parts.push(`ECDSA ${policy.ecCurves.join('/')}`);
  if (policy.sm2) parts.push('SM2');
  if (policy.ed25519) parts.push('Ed25519');
  return parts.join(', ');
}

export function checkKey(profile: Profile, key: KeyDescription): void {
  const policy = profile.keys;
  const allowed = describeAllowedKeys(policy);
  if (key.type === 'rsa') {
    if (!policy.rsa) throw refuse(profile, `RSA keys are not allowed (allowed: ${allowed})`);
    if (key.bits < policy.rsa.minBits || key.bits > policy.rsa.maxBits) throw refuse(profile, `RSA key of ${key.bits} bits is not allowed (allowed: ${allowed})`);
    return;
  }
  if (key.type === 'ed25519') {
    if (!policy.ed25519) throw refuse(profile, `Ed25519 keys are not allowed (allowed: ${allowed})`);
    return;
  }
  if (key.curve === 'SM2') {
    if (!policy.sm2) throw refuse(profile, `SM2 keys are not allowed (allowed: ${allowed})`);
    return;
  }
  if (!policy.ecCurves?.includes(key.curve as 'P-256')) throw refuse(profile, `EC key on curve ${key.curve} is not allowed (allowed: ${allowed})`);
}

export function checkSubject(profile: Profile, subject: DistinguishedName): void {
  for (const required of profile.subject.required) {
    if (attributeValues(subject, required).length === 0) throw refuse(profile, `subject must carry ${required}`);
  }
  for (const attribute of subject) {
    if (!profile.subject.allowed.includes(attribute.type)) throw refuse(profile, `subject attribute ${attribute.type} is not allowed (allowed: ${profile.subject.allowed.join(', ')})`);
  }
}

export function checkSans(profile: Profile, sans: readonly SubjectAltName[]): void {
  if (profile.sans.required && sans.length === 0) throw refuse(profile, `at least one subject alternative name (${profile.sans.types.join('/')}) is required`);
  if (sans.length > profile.sans.max) throw refuse(profile, `${sans.length} subject alternative names, at most ${profile.sans.max} allowed`);
  for (const san of sans) {
    if (!profile.sans.types.includes(san.type)) throw refuse(profile, `subject alternative name ${formatSan(san)} is of a type not allowed here (allowed: ${profile.sans.types.join(', ') || 'none'})`);
  }
  const seen = new Set<string>();
  for (const san of sans) {
    const key = formatSan(san);
    if (seen.has(key)) throw refuse(profile, `subject alternative name ${key} is listed twice`);
    seen.add(key);
  }
}

export function validityFor(profile: Profile, requestedDays: number | undefined): number {
  if (requestedDays === undefined) return profile.validityDays.default;
  if (!Number.isInteger(requestedDays) || requestedDays < 1) throw new EgovError('bad-request', `validity must be a whole number of days >= 1, got ${requestedDays}`);
  if (requestedDays > profile.validityDays.max) throw refuse(profile, `validity of ${requestedDays} days is over the ${profile.validityDays.max}-day maximum`);
  return requestedDays;
}

export function keyUsageFor(profile: Profile, key: KeyDescription): KeyUsageName[] {
  return key.type === 'rsa' ? [...profile.keyUsage, ...(profile.rsaKeyUsage ?? [])] : profile.keyUsage;
}

// ---------------------------------------------------------------- profiles from a file

const KeyUsageSchema = Type.Union((Object.keys(KEY_USAGE_BITS) as KeyUsageName[]).map((k) => Type.Literal(k)));
const ExtendedKeyUsageSchema = Type.Union((Object.keys(EXTENDED_KEY_USAGE_OIDS) as ExtendedKeyUsageName[]).map((k) => Type.Literal(k)));
const SubjectAttributeSchema = Type.Union(Object.keys(NAME_ATTRIBUTES).map((k) => Type.Literal(k)));

export const ProfileSchema = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: 200 }),
    keyUsage: Type.Array(KeyUsageSchema, { minItems: 1 }),
    rsaKeyUsage: Type.Optional(Type.Array(KeyUsageSchema)),
    extendedKeyUsage: Type.Array(ExtendedKeyUsageSchema),
    keys: Type.Object(
      {
        rsa: Type.Optional(Type.Object({ minBits: Type.Integer({ minimum: 2048, maximum: 8192 }), maxBits: Type.Integer({ minimum: 2048, maximum: 8192 }) }, { additionalProperties: false })),
        ecCurves: Type.Optional(Type.Array(Type.Union([Type.Literal('P-256'), Type.Literal('P-384')]))),
        sm2: Type.Optional(Type.Boolean()),
        ed25519: Type.Optional(Type.Boolean()),
      },
      { additionalProperties: false },
    ),
    validityDays: Type.Object({ default: Type.Integer({ minimum: 1, maximum: 36500 }), max: Type.Integer({ minimum: 1, maximum: 36500 }) }, { additionalProperties: false }),
    subject: Type.Object({ required: Type.Array(SubjectAttributeSchema), allowed: Type.Array(SubjectAttributeSchema, { minItems: 1 }) }, { additionalProperties: false }),
    sans: Type.Object(
      {
        types: Type.Array(Type.Union([Type.Literal('dns'), Type.Literal('ip'), Type.Literal('email'), Type.Literal('uri')])),
        required: Type.Boolean(),
        max: Type.Integer({ minimum: 0, maximum: MAX_SANS }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/**
 * Profiles from a YAML or JSON file: a mapping of name to profile. A name
 * that exists replaces the built-in profile; a new name adds one. Every
 * mistake is reported with the profile and key it is in.
 */
export function loadProfiles(file: string, base: Record<string, Profile> = DEFAULT_PROFILES): Record<string, Profile> {
  let parsed: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    parsed = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (error) {
    throw new EgovError('bad-config', `profiles file ${file} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new EgovError('bad-config', `profiles file ${file}: expected a mapping of profile name to profile`);
  const profiles: Record<string, Profile> = { ...base };
  for (const [name, candidate] of Object.entries(parsed)) {
    if (!/^[a-z][a-z0-9-]{0,31}$/.test(name)) throw new EgovError('bad-config', `profiles file ${file}: profile name "${name}" must be lower-case letters, digits and hyphens`);
    const problem = Value.Errors(ProfileSchema, candidate).First();
    if (problem) {
      const key = problem.path.replace(/^\//, '').replace(/\//g, '.') || '(profile)';
      throw new EgovError('bad-config', `profiles file ${file}: profile "${name}", key "${key}": ${problem.message} (got ${JSON.stringify(problem.value)})`);
    }
    const profile = { name, ...(candidate as Omit<Profile, 'name'>) };
    if (profile.validityDays.default > profile.validityDays.max) throw new EgovError('bad-config', `profiles file ${file}: profile "${name}": validityDays.default is above validityDays.max`);
    if (profile.keys.rsa && profile.keys.rsa.minBits > profile.keys.rsa.maxBits) throw new EgovError('bad-config', `profiles file ${file}: profile "${name}": keys.rsa.minBits is above maxBits`);
    const disallowed = profile.subject.required.find((attribute) => !profile.subject.allowed.includes(attribute));
    if (disallowed) throw new EgovError('bad-config', `profiles file ${file}: profile "${name}": subject attribute ${disallowed} is required but not allowed`);
    profiles[name] = profile;
  }
  return profiles;
}
