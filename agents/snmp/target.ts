// Where an agent is and how to talk to it: `127.0.0.1:16101`,
// `udp:host:port`, `udp6:[::1]:161`; community or v3 user. Types make a v3
// authPriv user without a privacy password impossible to write down.

import { isIP } from 'node:net';
import { EgovError } from '../../core/errors.js';

export interface Endpoint {
  host: string;
  port: number;
  transport: 'udp4' | 'udp6';
}

export const AUTH_PROTOCOLS = ['MD5', 'SHA', 'SHA-224', 'SHA-256', 'SHA-384', 'SHA-512'] as const;
export type AuthProtocol = (typeof AUTH_PROTOCOLS)[number];

/** AES is AES-128 (RFC 3826); AES-256 is the Blumenthal key localisation net-snmp's tools use, AES-256C the Reeder one (Cisco). */
export const PRIV_PROTOCOLS = ['DES', 'AES', 'AES-256', 'AES-256C'] as const;
export type PrivProtocol = (typeof PRIV_PROTOCOLS)[number];

export const SECURITY_LEVELS = ['noAuthNoPriv', 'authNoPriv', 'authPriv'] as const;
export type SecurityLevel = (typeof SECURITY_LEVELS)[number];

export type CommunityCredentials = { version: '1' | '2c'; community: string };
export type V3Credentials =
  | { version: '3'; user: string; level: 'noAuthNoPriv' }
  | { version: '3'; user: string; level: 'authNoPriv'; authProtocol: AuthProtocol; authPassword: string }
  | { version: '3'; user: string; level: 'authPriv'; authProtocol: AuthProtocol; authPassword: string; privProtocol: PrivProtocol; privPassword: string };
export type Credentials = CommunityCredentials | V3Credentials;

export interface Timing {
  /** Per try, milliseconds. */
  timeoutMs: number;
  /** Tries after the first. */
  retries: number;
}

/** net-snmp's command-line tools: 1 s, 5 retries. */
export const DEFAULT_TIMING: Timing = { timeoutMs: 1000, retries: 5 };

/** `host`, `host:port`, `udp:host:port`, `udp6:[addr]:port`, `[addr]:port`; default port 161. */
export function parseEndpoint(text: string, defaultPort = 161): Endpoint {
  let rest = text.trim();
  let transport: Endpoint['transport'] | undefined;
  const prefix = /^(udp6|udpv6|udp|tcp6?|tcpv6|unix|tls|dtls(?:udp)?):/i.exec(rest);
  if (prefix) {
    const name = prefix[1]!.toLowerCase();
    if (name !== 'udp' && name !== 'udp6' && name !== 'udpv6') throw new EgovError('bad-request', `transport "${prefix[1]}" is not supported (net-snmp speaks UDP only): give udp:HOST:PORT or udp6:[ADDR]:PORT`);
    transport = name === 'udp' ? 'udp4' : 'udp6';
    rest = rest.slice(prefix[0].length);
  }
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
  } else if (isIP(rest) === 6) {
    host = rest; // a bare IPv6 address: its colons are not a port
  } else {
    const colon = rest.lastIndexOf(':');
    host = colon === -1 ? rest : rest.slice(0, colon);
    portText = colon === -1 ? undefined : rest.slice(colon + 1);
  }
  if (!host || /\s/.test(host)) throw new EgovError('bad-request', `"${text}" is not a target: give HOST, HOST:PORT or udp:HOST:PORT`);
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535 || (portText !== undefined && !/^\d+$/.test(portText))) throw new EgovError('bad-request', `"${text}": port must be 1-65535`);
  const family = isIP(host);
  if (transport === 'udp4' && family === 6) throw new EgovError('bad-request', `"${text}": ${host} is IPv6; write udp6:[${host}]:${port}`);
  return { host, port, transport: transport ?? (family === 6 ? 'udp6' : 'udp4') };
}

export function describeEndpoint(endpoint: Endpoint): string {
  return endpoint.transport === 'udp6' ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** What a person may write for -a / -x, net-snmp tools style (case-insensitive, SHA1 = SHA). */
export function parseAuthProtocol(text: string): AuthProtocol {
  const upper = text.trim().toUpperCase().replace(/^SHA1$/, 'SHA').replace(/^SHA(\d{3})$/, 'SHA-$1');
  const found = AUTH_PROTOCOLS.find((p) => p === upper);
  if (!found) throw new EgovError('bad-request', `auth protocol "${text}" is not one of ${AUTH_PROTOCOLS.join(', ')}`);
  return found;
}

export function parsePrivProtocol(text: string): PrivProtocol {
  const upper = text.trim().toUpperCase().replace(/^AES128$/, 'AES').replace(/^AES-128$/, 'AES').replace(/^AES256$/, 'AES-256').replace(/^AES256C$/, 'AES-256C');
  const found = PRIV_PROTOCOLS.find((p) => p === upper);
  if (!found) throw new EgovError('bad-request', `privacy protocol "${text}" is not one of ${PRIV_PROTOCOLS.join(', ')}`);
  return found;
}

export function parseSecurityLevel(text: string): SecurityLevel {
  const found = SECURITY_LEVELS.find((l) => l.toLowerCase() === text.trim().toLowerCase());
  if (!found) throw new EgovError('bad-request', `security level "${text}" is not one of ${SECURITY_LEVELS.join(', ')}`);
  return found;
}

/** RFC 3414 section 11.2: USM passphrases shorter than 8 characters are refused (net-snmp's tools refuse them too). */
export function checkPassphrase(what: string, passphrase: string): void {
  if (passphrase.length < 8) throw new EgovError('bad-request', `the ${what} passphrase must be at least 8 characters (RFC 3414 section 11.2)`);
}

/** The credentials record with passwords replaced, for logs and error details. */
export function redactCredentials(credentials: Credentials): Record<string, string> {
  if (credentials.version !== '3') return { version: credentials.version, community: '[redacted]' };
  const base: Record<string, string> = { version: '3', user: credentials.user, level: credentials.level };
  if (credentials.level !== 'noAuthNoPriv') Object.assign(base, { authProtocol: credentials.authProtocol, authPassword: '[redacted]' });
  if (credentials.level === 'authPriv') Object.assign(base, { privProtocol: credentials.privProtocol, privPassword: '[redacted]' });
  return base;
}
