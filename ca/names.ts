// Distinguished names: parsed from the two ways people write them, encoded
// to DER, and read back for display.
//   OpenSSL style "/C=CN/O=City/CN=Zhang San": written in encoding order.
//   RFC 4514 style "CN=Zhang San,O=City,C=CN": written most specific first.
// Display uses RFC 4514 style, so what we print parses back to the same name.

import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';
import { OID } from './oids.js';

interface AttributeSpec {
  oid: string;
  /** Longest value allowed (RFC 5280 upper bounds). */
  max: number;
  encoding: 'utf8' | 'printable' | 'ia5';
}

export const NAME_ATTRIBUTES: Record<string, AttributeSpec> = {
  CN: { oid: OID.commonName, max: 64, encoding: 'utf8' },
  SN: { oid: OID.surname, max: 64, encoding: 'utf8' },
  GN: { oid: OID.givenName, max: 64, encoding: 'utf8' },
  serialNumber: { oid: OID.serialNumber, max: 64, encoding: 'printable' },
  C: { oid: OID.countryName, max: 2, encoding: 'printable' },
  L: { oid: OID.localityName, max: 128, encoding: 'utf8' },
  ST: { oid: OID.stateOrProvinceName, max: 128, encoding: 'utf8' },
  street: { oid: OID.streetAddress, max: 128, encoding: 'utf8' },
  O: { oid: OID.organizationName, max: 64, encoding: 'utf8' },
  OU: { oid: OID.organizationalUnitName, max: 64, encoding: 'utf8' },
  title: { oid: OID.title, max: 64, encoding: 'utf8' },
  emailAddress: { oid: OID.emailAddress, max: 255, encoding: 'ia5' },
  UID: { oid: OID.userId, max: 256, encoding: 'utf8' },
  DC: { oid: OID.domainComponent, max: 63, encoding: 'ia5' },
};

const ALIASES: Record<string, string> = {
  commonname: 'CN',
  cn: 'CN',
  sn: 'SN',
  surname: 'SN',
  gn: 'GN',
  givenname: 'GN',
  serialnumber: 'serialNumber',
  c: 'C',
  countryname: 'C',
  l: 'L',
  localityname: 'L',
  st: 'ST',
  s: 'ST',
  stateorprovincename: 'ST',
  street: 'street',
  o: 'O',
  organizationname: 'O',
  ou: 'OU',
  organizationalunitname: 'OU',
  title: 'title',
  emailaddress: 'emailAddress',
  email: 'emailAddress',
  e: 'emailAddress',
  uid: 'UID',
  userid: 'UID',
  dc: 'DC',
};

const NAME_BY_OID = new Map(Object.entries(NAME_ATTRIBUTES).map(([name, spec]) => [spec.oid, name]));

export type AttributeName = keyof typeof NAME_ATTRIBUTES;

/** One attribute of a name, in encoding order. Multi-valued RDNs are not written by us. */
export interface NameAttribute {
  type: string;
  value: string;
}

/** A parsed name: attributes in encoding order (root-most first). */
export type DistinguishedName = readonly NameAttribute[];

export const MAX_NAME_BYTES = 1024;

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

function invalid(message: string): EgovError {
  return new EgovError('bad-request', `subject: ${message}`);
}

function checkValue(type: string, value: string): void {
  const spec = NAME_ATTRIBUTES[type]!;
  if (value.length === 0) throw invalid(`${type} is empty`);
  if ([...value].length > spec.max) throw invalid(`${type} is ${[...value].length} characters, the limit is ${spec.max}`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw invalid(`${type} contains a control character`);
  if (type === 'C' && !/^[A-Z]{2}$/.test(value)) throw invalid(`C must be a two-letter country code such as CN, got "${value}"`);
  if (spec.encoding === 'printable' && !PRINTABLE.test(value)) throw invalid(`${type} allows only letters, digits, spaces and '()+,-./:=? (got "${value}")`);
  if (spec.encoding === 'ia5' && !/^[\x20-\x7e]*$/.test(value)) throw invalid(`${type} must be ASCII (got "${value}")`);
}

function canonicalType(raw: string): string {
  const type = ALIASES[raw.trim().toLowerCase()];
  if (!type) throw invalid(`unknown attribute "${raw.trim()}"; known: ${Object.keys(NAME_ATTRIBUTES).join(', ')}`);
  return type;
}

/** Splits on an unescaped separator, honouring backslash escapes. */
function splitEscaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\' && i + 1 < text.length) {
      current += text[++i];
      continue;
    }
    if (ch === separator) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  return parts;
}

export function parseName(text: string): DistinguishedName {
  const trimmed = text.trim();
  if (!trimmed) throw invalid('empty');
  if (Buffer.byteLength(trimmed) > MAX_NAME_BYTES) throw invalid(`longer than ${MAX_NAME_BYTES} bytes`);
  const slashStyle = trimmed.startsWith('/');
  const pieces = slashStyle ? splitEscaped(trimmed.slice(1), '/') : splitEscaped(trimmed, ',');
  const attributes = pieces
    .filter((piece) => piece.trim() !== '' || !slashStyle)
    .map((piece) => {
      const eq = piece.indexOf('=');
      if (eq <= 0) throw invalid(`"${piece.trim()}" is not TYPE=value`);
      const type = canonicalType(piece.slice(0, eq));
      const value = piece.slice(eq + 1).trim();
      checkValue(type, value);
      return { type, value };
    });
  if (attributes.length === 0) throw invalid('no attributes');
  return slashStyle ? attributes : attributes.reverse();
}

function encodeValue(type: string, value: string): Buffer {
  const spec = NAME_ATTRIBUTES[type]!;
  if (spec.encoding === 'printable') return der.printableString(value);
  if (spec.encoding === 'ia5') return der.ia5String(value);
  return der.utf8String(value);
}

export function encodeName(name: DistinguishedName): Buffer {
  return der.sequence(
    ...name.map((attribute) => der.setOf(der.sequence(der.oid(NAME_ATTRIBUTES[attribute.type]!.oid), encodeValue(attribute.type, attribute.value)))),
  );
}

const escapeRfc4514 = (value: string) => value.replace(/([,+"\\<>;])/g, '\\$1').replace(/^([ #])/, '\\$1').replace(/ $/, '\\ ');

/** RFC 4514 text, most specific first. */
export function formatName(name: DistinguishedName): string {
  return [...name]
    .reverse()
    .map((a) => `${a.type}=${escapeRfc4514(a.value)}`)
    .join(',');
}

/** Reads a DER Name (as found in a CSR or certificate). Unknown attribute types are kept by OID. */
export function decodeName(node: der.Node, what = 'name'): DistinguishedName {
  der.expectTag(node, der.Tag.SEQUENCE, what);
  const attributes: NameAttribute[] = [];
  for (const rdn of der.children(node, what)) {
    der.expectTag(rdn, der.Tag.SET, what);
    for (const atv of der.children(rdn, what)) {
      const [typeNode, valueNode] = der.children(der.expectTag(atv, der.Tag.SEQUENCE, what), what);
      const typeOid = der.readOid(der.expectTag(typeNode, der.Tag.OID, what));
      if (!valueNode) throw new EgovError('bad-encoding', `${what}: attribute ${typeOid} has no value`);
      const bytes = der.content(valueNode);
      const value = valueNode.tag === der.Tag.BMP_STRING ? Buffer.from(bytes).swap16().toString('utf16le') : bytes.toString(valueNode.tag === der.Tag.UTF8_STRING ? 'utf8' : 'latin1');
      attributes.push({ type: NAME_BY_OID.get(typeOid) ?? typeOid, value });
    }
  }
  return attributes;
}

/** Checks that every attribute of a name read from a CSR is one we know and within its limits (`formatted`: its formatName text, if already made). */
export function checkName(name: DistinguishedName, formatted: string = formatName(name)): void {
  if (Buffer.byteLength(formatted) > MAX_NAME_BYTES) throw invalid(`longer than ${MAX_NAME_BYTES} bytes`);
  for (const attribute of name) {
    if (!NAME_ATTRIBUTES[attribute.type]) throw invalid(`attribute ${attribute.type} is not allowed`);
    checkValue(attribute.type, attribute.value);
  }
}

export function attributeValues(name: DistinguishedName, type: string): string[] {
  return name.filter((a) => a.type === type).map((a) => a.value);
}
