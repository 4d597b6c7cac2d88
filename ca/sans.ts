// Subject alternative names: parsed from "DNS:host", "IP:10.0.0.1",
// "email:a@b", "URI:https://..." (or a bare host name or address), validated,
// and encoded as GeneralNames.

import { isIP } from 'node:net';
import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';

export type SubjectAltName =
  | { type: 'dns'; value: string }
  | { type: 'ip'; value: string }
  | { type: 'email'; value: string }
  | { type: 'uri'; value: string };

export const MAX_SANS = 100;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

function invalid(text: string, why: string): EgovError {
  return new EgovError('bad-request', `subject alternative name "${text}" ${why}`);
}

export function checkDnsName(name: string, original = name): void {
  if (name.length > 253) throw invalid(original, 'is longer than 253 characters');
  if (isIP(name)) throw invalid(original, 'is an IP address, not a DNS name (write IP:' + name + ')');
  const labels = name.split('.');
  labels.forEach((label, index) => {
    if (index === 0 && label === '*' && labels.length > 2) return;
    if (!LABEL.test(label)) throw invalid(original, `is not a valid DNS name (label "${label}")`);
  });
  if (/^\d+$/.test(labels[labels.length - 1]!)) throw invalid(original, 'is not a valid DNS name (numeric top-level label)');
}

export function parseSan(text: string): SubjectAltName {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const prefix = colon > 0 ? trimmed.slice(0, colon).toLowerCase() : '';
  const rest = trimmed.slice(colon + 1);
  switch (prefix) {
    case 'dns':
      checkDnsName(rest.toLowerCase(), trimmed);
      return { type: 'dns', value: rest.toLowerCase() };
    case 'ip':
      if (!isIP(rest)) throw invalid(trimmed, 'is not a valid IPv4 or IPv6 address');
      return { type: 'ip', value: rest };
    case 'email':
      if (!/^[^\s@]{1,64}@[^\s@]{1,253}$/.test(rest)) throw invalid(trimmed, 'is not a valid email address');
      checkDnsName(rest.split('@')[1]!.toLowerCase(), trimmed);
      return { type: 'email', value: rest };
    case 'uri':
      try {
        new URL(rest);
      } catch {
        throw invalid(trimmed, 'is not a valid URI');
      }
      return { type: 'uri', value: rest };
    default:
      if (isIP(trimmed)) return { type: 'ip', value: trimmed };
      if (colon > 0 && !isIP(trimmed)) throw invalid(trimmed, `has unknown type "${trimmed.slice(0, colon)}" (use DNS:, IP:, email: or URI:)`);
      checkDnsName(trimmed.toLowerCase(), trimmed);
      return { type: 'dns', value: trimmed.toLowerCase() };
  }
}

export function formatSan(san: SubjectAltName): string {
  const prefix = { dns: 'DNS', ip: 'IP', email: 'email', uri: 'URI' }[san.type];
  return `${prefix}:${san.value}`;
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  // IPv6: expand "::" then write 8 groups.
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}

function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

export function encodeGeneralNames(sans: readonly SubjectAltName[]): Buffer {
  return der.sequence(
    ...sans.map((san) => {
      switch (san.type) {
        case 'email':
          return der.implicitPrimitive(1, Buffer.from(san.value, 'latin1'));
        case 'dns':
          return der.implicitPrimitive(2, Buffer.from(san.value, 'latin1'));
        case 'uri':
          return der.implicitPrimitive(6, Buffer.from(san.value, 'latin1'));
        case 'ip':
          return der.implicitPrimitive(7, ipBytes(san.value));
      }
    }),
  );
}

/** Reads GeneralNames (from a CSR's extension request); other name forms are refused by name. */
export function decodeGeneralNames(node: der.Node): SubjectAltName[] {
  const names: SubjectAltName[] = [];
  for (const child of der.children(der.expectTag(node, der.Tag.SEQUENCE, 'subjectAltName'), 'subjectAltName')) {
    const body = der.content(child);
    switch (child.tag) {
      case 0x81:
        names.push(parseSan('email:' + body.toString('latin1')));
        break;
      case 0x82:
        names.push(parseSan('DNS:' + body.toString('latin1')));
        break;
      case 0x86:
        names.push(parseSan('URI:' + body.toString('latin1')));
        break;
      case 0x87:
        if (body.length !== 4 && body.length !== 16) throw new EgovError('bad-request', `subject alternative name: an IP address of ${body.length} bytes`);
        names.push({ type: 'ip', value: ipText(body) });
        break;
      default:
        throw new EgovError('bad-request', `subject alternative name of form [${child.tag & 0x1f}] is not supported (DNS, IP, email and URI are)`);
    }
  }
  return names;
}
