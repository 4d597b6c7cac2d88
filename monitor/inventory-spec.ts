// What an inventory node and link are, and how input (API bodies, CLI
// options, import rows) becomes one: every check names the field and says
// what was expected, so a rejected import row or request explains itself.

import { isIP } from 'node:net';
import { EgovError } from '../core/index.js';
import { NODE_NAME_PATTERN } from './schemas.js';

export const NODE_KINDS = ['router', 'switch', 'firewall', 'gateway', 'server', 'other'] as const;
export const ZONES = ['internal', 'external', 'dmz'] as const;
export const LEVELS = ['city', 'county', 'township', 'village'] as const;
export const SNMP_VERSIONS = ['v1', 'v2c', 'v3'] as const;
export const AUTH_PROTOCOLS = ['SHA', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] as const;
export const PRIV_PROTOCOLS = ['AES-128', 'AES-256'] as const;

export type NodeKind = (typeof NODE_KINDS)[number];
export type Zone = (typeof ZONES)[number];
export type Level = (typeof LEVELS)[number];
export type AuthProtocol = (typeof AUTH_PROTOCOLS)[number];
export type PrivProtocol = (typeof PRIV_PROTOCOLS)[number];

/**
 * SNMP credentials, in clear: only ever in memory. v3 is authPriv only:
 * management traffic on government networks must be both authenticated and
 * confidential (MLPS 2.0), so noAuthNoPriv and authNoPriv cannot be written.
 */
export type SnmpCredentials =
  | { version: 'v1' | 'v2c'; community: string }
  | { version: 'v3'; user: string; authProtocol: AuthProtocol; authPassword: string; privProtocol: PrivProtocol; privPassword: string };

/** What the API and CLI show of the credentials: never a community or a password. */
export type SnmpSummary = { version: 'v1' | 'v2c' } | { version: 'v3'; user: string; authProtocol: AuthProtocol; privProtocol: PrivProtocol };

export interface NodeSpec {
  name: string;
  kind: NodeKind;
  zone: Zone;
  site: string;
  level: Level;
  address: string;
  snmpPort: number;
  /** null: the node is not polled over SNMP (reachability only). */
  snmp: SnmpCredentials | null;
  /** Names of the nodes one step towards the core. */
  parents: string[];
  description: string;
}

/** A node as the API, CLI and export show it. */
export interface NodeView extends Omit<NodeSpec, 'snmp'> {
  snmp: SnmpSummary | null;
  createdAt: string;
  updatedAt: string;
}

/** Fields an update may change; the name is the node's identity in every metric, so it stays. */
export type NodePatch = Partial<Omit<NodeSpec, 'name'>>;

export interface LinkEnd {
  node: string;
  /** ifName as the device reports it (the `ifName` tag of the interface measurement). */
  interface: string;
}

export interface LinkSpec {
  a: LinkEnd;
  b: LinkEnd;
  /** Bits per second. */
  capacityBps: number;
  description: string;
}

export interface LinkView extends LinkSpec {
  id: number;
  createdAt: string;
  updatedAt: string;
}

export type LinkPatch = Partial<Pick<LinkSpec, 'capacityBps' | 'description'>>;

export const DEFAULT_SNMP_PORT = 161;
/** 10 Tbit/s: anything above is a unit mistake. */
const MAX_CAPACITY_BPS = 1e13;

const invalid = (message: string) => new EgovError('bad-request', message);
const shown = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function text(value: unknown, field: string, min: number, max: number, multiline = false): string {
  if (typeof value !== 'string') throw invalid(`${field} must be text of ${min}-${max} characters (got ${shown(value)})`);
  const trimmed = multiline ? value.replace(/\r\n?/g, '\n').trim() : value.trim();
  if (trimmed.length < min || trimmed.length > max) throw invalid(`${field} must be ${min}-${max} characters (got ${trimmed.length})`);
  if (CONTROL.test(multiline ? trimmed.replace(/[\n\t]/g, ' ') : trimmed)) throw invalid(`${field} must not contain control characters${multiline ? ' other than line breaks and tabs' : ''}`);
  return trimmed;
}

function oneOf<T extends string>(value: unknown, field: string, allowed: readonly T[]): T {
  const candidate = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof candidate === 'string' && (allowed as readonly string[]).includes(candidate)) return candidate as T;
  throw invalid(`${field} must be one of ${allowed.join(', ')} (got ${shown(value)})`);
}

export function checkNodeName(value: unknown, field = 'name'): string {
  if (typeof value !== 'string' || !new RegExp(NODE_NAME_PATTERN).test(value.trim())) {
    throw invalid(`${field} must be 1-63 letters, digits, dots, hyphens or underscores, starting with a letter or digit (got ${shown(value)})`);
  }
  return value.trim();
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function checkAddress(value: unknown): string {
  const address = typeof value === 'string' ? value.trim() : '';
  if (isIP(address) || HOSTNAME.test(address)) return address;
  throw invalid(`address must be an IPv4 or IPv6 address or a DNS name (got ${shown(value)})`);
}

function checkPort(value: unknown, field: string): number {
  const port = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) return port;
  throw invalid(`${field} must be a port number 1-65535 (got ${shown(value)})`);
}

// Accepts the spellings devices and net-snmp use (sha256, SHA256, aes, aes128).
function authProtocol(value: unknown): AuthProtocol {
  const key = typeof value === 'string' ? value.toUpperCase().replace(/[-_\s]/g, '') : '';
  const found = AUTH_PROTOCOLS.find((p) => p.replace('-', '') === key || (p === 'SHA' && key === 'SHA1'));
  if (found) return found;
  throw invalid(`snmp.authProtocol must be one of ${AUTH_PROTOCOLS.join(', ')} (got ${shown(value)})`);
}

function privProtocol(value: unknown): PrivProtocol {
  const key = typeof value === 'string' ? value.toUpperCase().replace(/[-_\s]/g, '') : '';
  const found = PRIV_PROTOCOLS.find((p) => p.replace('-', '') === key || (p === 'AES-128' && key === 'AES'));
  if (found) return found;
  throw invalid(`snmp.privProtocol must be one of ${PRIV_PROTOCOLS.join(', ')} (got ${shown(value)})`);
}

function secret(value: unknown, field: string, min: number, max: number): string {
  // Secrets are taken as given (no trim): a trailing space may be part of one. Never echoed back.
  if (typeof value !== 'string' || value.length < min || value.length > max || CONTROL.test(value)) {
    throw invalid(`${field} must be ${min}-${max} characters without control characters${value === undefined || value === '' ? ' (it is missing)' : ''}`);
  }
  return value;
}

export function checkSnmpCredentials(value: unknown): SnmpCredentials | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') throw invalid(`snmp must be an object {version, ...} or null (got ${shown(value)})`);
  const input = value as Record<string, unknown>;
  const version = oneOf(input.version, 'snmp.version', SNMP_VERSIONS);
  if (version !== 'v3') {
    for (const key of ['user', 'authPassword', 'privPassword'] as const) {
      if (input[key] !== undefined && input[key] !== '') throw invalid(`snmp.${key} belongs to SNMP v3; ${version} takes only a community`);
    }
    return { version, community: secret(input.community, 'snmp.community', 1, 64) };
  }
  if (input.community !== undefined && input.community !== '') throw invalid('snmp.community belongs to SNMP v1/v2c; v3 takes user, authProtocol, authPassword, privProtocol, privPassword');
  return {
    version,
    user: text(input.user, 'snmp.user', 1, 32),
    authProtocol: authProtocol(input.authProtocol),
    // RFC 3414 keys are localised from passwords of at least 8 characters (net-snmp refuses shorter).
    authPassword: secret(input.authPassword, 'snmp.authPassword', 8, 128),
    privProtocol: privProtocol(input.privProtocol),
    privPassword: secret(input.privPassword, 'snmp.privPassword', 8, 128),
  };
}

export function summariseSnmp(credentials: SnmpCredentials | null): SnmpSummary | null {
  if (!credentials) return null;
  if (credentials.version !== 'v3') return { version: credentials.version };
  return { version: 'v3', user: credentials.user, authProtocol: credentials.authProtocol, privProtocol: credentials.privProtocol };
}

function checkParents(value: unknown, self: string | undefined): string[] {
  if (value === undefined || value === null || value === '') return [];
  const list = typeof value === 'string' ? value.split(';') : value;
  if (!Array.isArray(list)) throw invalid(`parents must be a list of node names (got ${shown(value)})`);
  const names = new Set<string>();
  for (const item of list) {
    if (typeof item === 'string' && item.trim() === '') continue;
    const name = checkNodeName(item, 'parents');
    if (name === self) throw invalid(`parents: node "${name}" cannot be its own parent`);
    names.add(name);
  }
  if (names.size > 32) throw invalid(`parents must name at most 32 nodes (got ${names.size})`);
  return [...names];
}

function checkDescription(value: unknown): string {
  return value === undefined || value === null ? '' : text(value, 'description', 0, 1024, true);
}

function checkObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} must be an object (got ${shown(value)})`);
  return value as Record<string, unknown>;
}

function rejectUnknownKeys(input: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const unknown = Object.keys(input).filter((key) => !allowed.includes(key));
  if (unknown.length) throw invalid(`${what}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected ${allowed.join(', ')})`);
}

const NODE_FIELDS = ['name', 'kind', 'zone', 'site', 'level', 'address', 'snmpPort', 'snmp', 'parents', 'description'] as const;

/** A whole node from input; the error names the first field that is wrong. */
export function checkNodeSpec(value: unknown): NodeSpec {
  const input = checkObject(value, 'node');
  rejectUnknownKeys(input, NODE_FIELDS, 'node');
  const name = checkNodeName(input.name);
  return {
    name,
    kind: oneOf(input.kind, 'kind', NODE_KINDS),
    zone: oneOf(input.zone, 'zone', ZONES),
    site: text(input.site, 'site', 1, 128),
    level: oneOf(input.level, 'level', LEVELS),
    address: checkAddress(input.address),
    snmpPort: input.snmpPort === undefined || input.snmpPort === '' ? DEFAULT_SNMP_PORT : checkPort(input.snmpPort, 'snmpPort'),
    snmp: checkSnmpCredentials(input.snmp),
    parents: checkParents(input.parents, name),
    description: checkDescription(input.description),
  };
}

/** The fields an update names, each checked; absent fields stay as they are. */
export function checkNodePatch(value: unknown, name: string): NodePatch {
  const input = checkObject(value, 'update');
  rejectUnknownKeys(input, NODE_FIELDS.filter((f) => f !== 'name'), 'update (the name cannot change)');
  const patch: NodePatch = {};
  if (input.kind !== undefined) patch.kind = oneOf(input.kind, 'kind', NODE_KINDS);
  if (input.zone !== undefined) patch.zone = oneOf(input.zone, 'zone', ZONES);
  if (input.site !== undefined) patch.site = text(input.site, 'site', 1, 128);
  if (input.level !== undefined) patch.level = oneOf(input.level, 'level', LEVELS);
  if (input.address !== undefined) patch.address = checkAddress(input.address);
  if (input.snmpPort !== undefined) patch.snmpPort = checkPort(input.snmpPort, 'snmpPort');
  if (input.snmp !== undefined) patch.snmp = checkSnmpCredentials(input.snmp);
  if (input.parents !== undefined) patch.parents = checkParents(input.parents, name);
  if (input.description !== undefined) patch.description = checkDescription(input.description);
  if (Object.keys(patch).length === 0) throw invalid(`update names no field to change (expected some of ${NODE_FIELDS.slice(1).join(', ')})`);
  return patch;
}

/** Bits per second from a number or text with a decimal unit: 1000000000, "1G", "100M", "2.5Gbps". */
export function parseCapacity(value: unknown, field = 'capacityBps'): number {
  let bps: number | undefined;
  if (typeof value === 'number') bps = value;
  else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt])?\s*(?:bps|bit\/s|b\/s)?\s*$/i.exec(value);
    if (m) bps = Number(m[1]) * 1000 ** (m[2] ? 'kmgt'.indexOf(m[2].toLowerCase()) + 1 : 0);
  }
  if (bps !== undefined && Number.isFinite(bps) && bps >= 1 && bps <= MAX_CAPACITY_BPS) return Math.round(bps);
  throw invalid(`${field} must be bits per second, 1 to 10T, as a number or with a unit (k, M, G, T: "1G", "100M") (got ${shown(value)})`);
}

function checkLinkEnd(value: unknown, field: 'a' | 'b'): LinkEnd {
  // "node:ifName" (the CLI and CSV form) or {node, interface}.
  if (typeof value === 'string') {
    const at = value.indexOf(':');
    if (at < 1) throw invalid(`${field} must be NODE:INTERFACE, e.g. core-1:GigabitEthernet0/0/1 (got ${shown(value)})`);
    return { node: checkNodeName(value.slice(0, at), `${field}.node`), interface: text(value.slice(at + 1), `${field}.interface`, 1, 64) };
  }
  const input = checkObject(value, field);
  rejectUnknownKeys(input, ['node', 'interface'], field);
  return { node: checkNodeName(input.node, `${field}.node`), interface: text(input.interface, `${field}.interface`, 1, 64) };
}

export function checkLinkSpec(value: unknown): LinkSpec {
  const input = checkObject(value, 'link');
  rejectUnknownKeys(input, ['a', 'b', 'capacityBps', 'capacity', 'description'], 'link');
  if (input.capacity !== undefined && input.capacityBps !== undefined) throw invalid('link: give capacityBps or capacity, not both');
  const a = checkLinkEnd(input.a, 'a');
  const b = checkLinkEnd(input.b, 'b');
  if (a.node === b.node && a.interface === b.interface) throw invalid(`b must be another interface than a (both are ${a.node}:${a.interface})`);
  const capacityField = input.capacity !== undefined ? 'capacity' : 'capacityBps';
  return { a, b, capacityBps: parseCapacity(input[capacityField], capacityField), description: checkDescription(input.description) };
}

export function checkLinkPatch(value: unknown): LinkPatch {
  const input = checkObject(value, 'update');
  rejectUnknownKeys(input, ['capacityBps', 'capacity', 'description'], 'update (a link\'s ends cannot change; remove it and add another)');
  const patch: LinkPatch = {};
  if (input.capacityBps !== undefined) patch.capacityBps = parseCapacity(input.capacityBps);
  if (input.capacity !== undefined) patch.capacityBps = parseCapacity(input.capacity, 'capacity');
  if (input.description !== undefined) patch.description = checkDescription(input.description);
  if (Object.keys(patch).length === 0) throw invalid('update names no field to change (expected capacityBps or description)');
  return patch;
}

export function linkLabel(link: Pick<LinkSpec, 'a' | 'b'>): string {
  return `${link.a.node}:${link.a.interface} <-> ${link.b.node}:${link.b.interface}`;
}
