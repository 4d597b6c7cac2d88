// X.509 v3 certificates: the TBSCertificate written byte by byte, signed,
// and read back for display and import.

import { hash as oneShotHash, type KeyObject } from 'node:crypto';
import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';
import { publicKeyFromSpki, type Signer } from './algorithms.js';
import { decodeName, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { EXTENDED_KEY_USAGE_OIDS, KEY_USAGE_BITS, type ExtendedKeyUsageName, type KeyUsageName } from './profiles.js';
import { decodeGeneralNames, encodeGeneralNames, type SubjectAltName } from './sans.js';
import { serialBytes, serialFromBytes, type Serial } from './serial.js';

export function extension(extensionOid: string, critical: boolean, value: Buffer): Buffer {
  return critical ? der.sequence(der.oid(extensionOid), der.boolean(true), der.octetString(value)) : der.sequence(der.oid(extensionOid), der.octetString(value));
}

/** SKI method 1 (RFC 5280 4.2.1.2): SHA-1 of the subjectPublicKey BIT STRING's bits. */
export function keyIdentifier(spki: Buffer): Buffer {
  const [, bits] = der.children(der.readWhole(spki, 'public key'), 'public key');
  return oneShotHash('sha1', der.content(bits!).subarray(1), 'buffer');
}

export interface DistributionUrls {
  /** CRL distribution point (full CRL). */
  crl?: string;
  /** Freshest CRL (delta CRL). */
  deltaCrl?: string;
  ocsp?: string;
  caIssuers?: string;
}

export interface CertificateTemplate {
  serial: Serial;
  issuerName: Buffer;
  subjectName: Buffer;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** null for an end entity; a number (or undefined for no limit) for a CA. */
  ca?: { pathLength?: number };
  keyUsage: KeyUsageName[];
  extendedKeyUsage?: ExtendedKeyUsageName[];
  sans?: readonly SubjectAltName[];
  authorityKeyId?: Buffer;
  urls?: DistributionUrls;
  ocspNoCheck?: boolean;
}

const uriName = (url: string) => der.implicitPrimitive(6, Buffer.from(url, 'latin1'));
const distributionPoints = (url: string) => der.sequence(der.sequence(der.explicit(0, der.implicitConstructed(0, uriName(url)))));

/**
 * What every certificate a CA issues under one profile (and key usage) has in
 * common, encoded once: the signature algorithm and issuer name, and the
 * extensions around the two that vary (SKI and SANs), in their fixed order.
 */
export interface TbsFrame {
  signatureAlgorithm: Buffer;
  /** signature AlgorithmIdentifier then issuer Name, as the TBS carries them */
  algorithmAndIssuer: Buffer;
  /** basicConstraints, keyUsage, extKeyUsage */
  extensionsBeforeSki: Buffer;
  /** authorityKeyIdentifier */
  extensionsBeforeSans: Buffer;
  /** CRL distribution points, freshest CRL, AIA, OCSP no-check */
  extensionsAfterSans: Buffer;
}

export type TbsFrameInput = Pick<CertificateTemplate, 'issuerName' | 'ca' | 'keyUsage' | 'extendedKeyUsage' | 'authorityKeyId' | 'urls' | 'ocspNoCheck'>;

export function tbsFrame(template: TbsFrameInput, signatureAlgorithm: Buffer): TbsFrame {
  const head: Buffer[] = [];
  const basic = template.ca
    ? der.sequence(der.boolean(true), ...(template.ca.pathLength !== undefined ? [der.integer(template.ca.pathLength)] : []))
    : der.sequence();
  head.push(extension(OID.basicConstraints, true, basic));
  head.push(extension(OID.keyUsage, true, der.namedBits(template.keyUsage.map((u) => KEY_USAGE_BITS[u]))));
  if (template.extendedKeyUsage?.length) {
    head.push(extension(OID.extKeyUsage, false, der.sequence(...template.extendedKeyUsage.map((u) => der.oid(EXTENDED_KEY_USAGE_OIDS[u])))));
  }
  const middle: Buffer[] = [];
  if (template.authorityKeyId) middle.push(extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, template.authorityKeyId))));
  const tail: Buffer[] = [];
  const urls = template.urls ?? {};
  if (urls.crl) tail.push(extension(OID.crlDistributionPoints, false, distributionPoints(urls.crl)));
  if (urls.deltaCrl) tail.push(extension(OID.freshestCrl, false, distributionPoints(urls.deltaCrl)));
  const access: Buffer[] = [];
  if (urls.ocsp) access.push(der.sequence(der.oid(OID.ocspAccess), uriName(urls.ocsp)));
  if (urls.caIssuers) access.push(der.sequence(der.oid(OID.caIssuersAccess), uriName(urls.caIssuers)));
  if (access.length) tail.push(extension(OID.authorityInfoAccess, false, der.sequence(...access)));
  if (template.ocspNoCheck) tail.push(extension(OID.ocspNoCheck, false, der.NULL));
  return {
    signatureAlgorithm,
    algorithmAndIssuer: Buffer.concat([signatureAlgorithm, template.issuerName]),
    extensionsBeforeSki: Buffer.concat(head),
    extensionsBeforeSans: Buffer.concat(middle),
    extensionsAfterSans: Buffer.concat(tail),
  };
}

const VERSION_3 = der.explicit(0, der.integer(2));

/** The TBSCertificate for one certificate within a frame, written in one pass. */
export function buildTbsInFrame(
  frame: TbsFrame,
  serial: Serial,
  notBefore: Date,
  notAfter: Date,
  subjectName: Buffer,
  spki: Buffer,
  sans: readonly SubjectAltName[] | undefined,
): Buffer {
  const serialNumber = der.unsignedInteger(serialBytes(serial));
  const validity = der.sequence(der.time(notBefore), der.time(notAfter));
  const ski = extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(spki)));
  const san = sans?.length ? extension(OID.subjectAltName, false, encodeGeneralNames(sans)) : undefined;
  const listLength = frame.extensionsBeforeSki.length + ski.length + frame.extensionsBeforeSans.length + (san ? san.length : 0) + frame.extensionsAfterSans.length;
  const extensionsLength = der.headerSize(listLength) + listLength;
  const bodyLength =
    VERSION_3.length +
    serialNumber.length +
    frame.algorithmAndIssuer.length +
    validity.length +
    subjectName.length +
    spki.length +
    der.headerSize(extensionsLength) +
    extensionsLength;
  const out = Buffer.allocUnsafe(der.headerSize(bodyLength) + bodyLength);
  let offset = der.writeHeader(out, 0, der.Tag.SEQUENCE, bodyLength);
  offset += VERSION_3.copy(out, offset);
  offset += serialNumber.copy(out, offset);
  offset += frame.algorithmAndIssuer.copy(out, offset);
  offset += validity.copy(out, offset);
  offset += subjectName.copy(out, offset);
  offset += spki.copy(out, offset);
  offset = der.writeHeader(out, offset, 0xa3, extensionsLength);
  offset = der.writeHeader(out, offset, der.Tag.SEQUENCE, listLength);
  offset += frame.extensionsBeforeSki.copy(out, offset);
  offset += ski.copy(out, offset);
  offset += frame.extensionsBeforeSans.copy(out, offset);
  if (san) offset += san.copy(out, offset);
  frame.extensionsAfterSans.copy(out, offset);
  return out;
}

export function buildTbsCertificate(template: CertificateTemplate, signatureAlgorithm: Buffer): Buffer {
  return buildTbsInFrame(tbsFrame(template, signatureAlgorithm), template.serial, template.notBefore, template.notAfter, template.subjectName, template.spki, template.sans);
}

/** Signs a TBSCertificate: the whole certificate, written in one pass. */
export async function signTbs(tbs: Buffer, signer: Signer): Promise<Buffer> {
  const signature = await signer.sign(tbs);
  const algorithm = signer.algorithmIdentifier;
  const bitsLength = signature.length + 1;
  const length = tbs.length + algorithm.length + der.headerSize(bitsLength) + bitsLength;
  const out = Buffer.allocUnsafe(der.headerSize(length) + length);
  let offset = der.writeHeader(out, 0, der.Tag.SEQUENCE, length);
  offset += tbs.copy(out, offset);
  offset += algorithm.copy(out, offset);
  offset = der.writeHeader(out, offset, der.Tag.BIT_STRING, bitsLength);
  out[offset++] = 0;
  signature.copy(out, offset);
  return out;
}

export async function signCertificate(template: CertificateTemplate, signer: Signer): Promise<Buffer> {
  return signTbs(buildTbsCertificate(template, signer.algorithmIdentifier), signer);
}

export function spkiOf(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

/** What we read back out of a certificate. */
export interface CertificateInfo {
  der: Buffer;
  serial: Serial;
  issuer: DistinguishedName;
  issuerName: Buffer;
  subject: DistinguishedName;
  subjectName: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  publicKey: KeyObject;
  signatureAlgorithm: string;
  tbs: Buffer;
  signature: Buffer;
  isCa: boolean;
  sans: SubjectAltName[];
  subjectKeyId?: Buffer;
  fingerprintSha256: string;
}

export function readCertificate(input: Buffer | string, what = 'certificate'): CertificateInfo {
  const bytes = der.fromPemOrDer(input, ['CERTIFICATE'], what);
  const root = der.readWhole(bytes, what);
  const [tbsNode, algorithmNode, signatureNode] = der.children(der.expectTag(root, der.Tag.SEQUENCE, what), what);
  const fields = der.children(der.expectTag(tbsNode, der.Tag.SEQUENCE, what), what);
  let index = 0;
  if (fields[0]?.tag === 0xa0) index++;
  const serialNode = der.expectTag(fields[index++], der.Tag.INTEGER, `${what} serial`);
  index++; // signature algorithm inside TBS
  const issuerNode = der.expectTag(fields[index++], der.Tag.SEQUENCE, `${what} issuer`);
  const validity = der.children(der.expectTag(fields[index++], der.Tag.SEQUENCE, `${what} validity`), what);
  const subjectNode = der.expectTag(fields[index++], der.Tag.SEQUENCE, `${what} subject`);
  const spkiNode = der.expectTag(fields[index++], der.Tag.SEQUENCE, `${what} public key`);
  let isCa = false;
  let sans: SubjectAltName[] = [];
  let subjectKeyId: Buffer | undefined;
  const extensionsNode = fields.find((f) => f.tag === 0xa3);
  if (extensionsNode) {
    const [list] = der.children(extensionsNode, what);
    for (const ext of der.children(der.expectTag(list, der.Tag.SEQUENCE, `${what} extensions`), what)) {
      const parts = der.children(ext, what);
      const extOid = der.readOid(der.expectTag(parts[0], der.Tag.OID, `${what} extension`));
      const value = der.content(der.expectTag(parts[parts.length - 1], der.Tag.OCTET_STRING, `${what} extension`));
      if (extOid === OID.basicConstraints) {
        const [flag] = der.children(der.readWhole(value, 'basicConstraints'), 'basicConstraints');
        isCa = flag?.tag === der.Tag.BOOLEAN && der.content(flag)[0] !== 0;
      } else if (extOid === OID.subjectAltName) {
        sans = decodeGeneralNames(der.readWhole(value, 'subjectAltName'));
      } else if (extOid === OID.subjectKeyIdentifier) {
        subjectKeyId = der.content(der.readWhole(value, 'subjectKeyIdentifier'));
      }
    }
  }
  const [algorithmOid] = der.children(der.expectTag(algorithmNode, der.Tag.SEQUENCE, `${what} signature algorithm`), what);
  const signatureBits = der.content(der.expectTag(signatureNode, der.Tag.BIT_STRING, `${what} signature`));
  const spki = der.raw(spkiNode);
  return {
    der: bytes,
    serial: serialFromBytes(der.content(serialNode)),
    issuer: decodeName(issuerNode, `${what} issuer`),
    issuerName: der.raw(issuerNode),
    subject: decodeName(subjectNode, `${what} subject`),
    subjectName: der.raw(subjectNode),
    notBefore: der.readTime(validity[0]!),
    notAfter: der.readTime(validity[1]!),
    spki,
    publicKey: publicKeyFromSpki(spki),
    signatureAlgorithm: der.readOid(der.expectTag(algorithmOid, der.Tag.OID, what)),
    tbs: der.raw(tbsNode!),
    signature: signatureBits.subarray(1),
    isCa,
    sans,
    ...(subjectKeyId ? { subjectKeyId } : {}),
    fingerprintSha256: oneShotHash('sha256', bytes, 'hex'),
  };
}

export function certificatePem(certificateDer: Buffer): string {
  return der.toPem('CERTIFICATE', certificateDer);
}

/** Reads every certificate in a PEM bundle, in order. */
export function readPemBundle(text: string, what = 'certificate bundle'): Buffer[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new EgovError('bad-encoding', `${what}: no PEM certificate found`);
  return blocks.map((block) => der.fromPemOrDer(block, ['CERTIFICATE'], what));
}
