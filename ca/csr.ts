// PKCS#10 certification requests: read (PEM or DER), signature checked.

import { EgovError } from '../core/index.js';
import * as der from './asn1/der.js';
import { describeSpki, isSupportedSignatureAlgorithm, verifyWithSpki, type KeyDescription } from './algorithms.js';
import { decodeName, type DistinguishedName } from './names.js';
import { OID } from './oids.js';
import { decodeGeneralNames, type SubjectAltName } from './sans.js';

export const MAX_CSR_BYTES = 64 * 1024;

export interface CertificationRequest {
  subject: DistinguishedName;
  /** SubjectPublicKeyInfo DER, as the certificate will carry it. */
  spki: Buffer;
  key: KeyDescription;
  /** SANs from the extensionRequest attribute, if any. */
  sans: SubjectAltName[];
  signatureAlgorithm: string;
}

function bad(message: string): EgovError {
  return new EgovError('bad-encoding', `CSR: ${message}`);
}

/** SM2 keys tagged with the SM2 OID as algorithm (GM/T 0015-2023) are rewritten as id-ecPublicKey on the SM2 curve. */
function normaliseSpki(spkiNode: der.Node): Buffer {
  const [algorithm, keyBits] = der.children(spkiNode, 'CSR public key');
  const [algorithmOid] = der.children(der.expectTag(algorithm, der.Tag.SEQUENCE, 'CSR public key'), 'CSR public key');
  if (algorithmOid && algorithmOid.tag === der.Tag.OID && der.readOid(algorithmOid) === OID.sm2Curve && keyBits) {
    return der.sequence(der.sequence(der.oid(OID.ecPublicKey), der.oid(OID.sm2Curve)), der.raw(keyBits));
  }
  return der.raw(spkiNode);
}

function readRequestedSans(attributesNode: der.Node | undefined): SubjectAltName[] {
  if (!attributesNode) return [];
  for (const attribute of der.children(attributesNode, 'CSR attributes')) {
    const [typeNode, values] = der.children(der.expectTag(attribute, der.Tag.SEQUENCE, 'CSR attribute'), 'CSR attribute');
    if (der.readOid(der.expectTag(typeNode, der.Tag.OID, 'CSR attribute')) !== OID.extensionRequest) continue;
    const [extensions] = der.children(der.expectTag(values, der.Tag.SET, 'CSR extension request'), 'CSR extension request');
    for (const extension of der.children(der.expectTag(extensions, der.Tag.SEQUENCE, 'CSR extensions'), 'CSR extensions')) {
      const parts = der.children(extension, 'CSR extension');
      if (der.readOid(der.expectTag(parts[0], der.Tag.OID, 'CSR extension')) !== OID.subjectAltName) continue;
      const value = der.expectTag(parts[parts.length - 1], der.Tag.OCTET_STRING, 'CSR subjectAltName');
      return decodeGeneralNames(der.readWhole(der.content(value), 'CSR subjectAltName'));
    }
  }
  return [];
}

/** Parses a CSR and checks its self-signature (proof of possession of the key). */
export async function readCsr(input: Buffer | string): Promise<CertificationRequest> {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size === 0) throw bad('empty input');
  if (size > MAX_CSR_BYTES) throw bad(`${size} bytes is over the ${MAX_CSR_BYTES}-byte limit`);
  const bytes = der.fromPemOrDer(input, ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST'], 'CSR');
  const root = der.readWhole(bytes, 'CSR');
  const [info, algorithm, signatureBits] = der.children(der.expectTag(root, der.Tag.SEQUENCE, 'CSR'), 'CSR');
  der.expectTag(info, der.Tag.SEQUENCE, 'CSR request info');
  const [version, subjectNode, spkiNode, attributesNode] = der.children(info!, 'CSR request info');
  if (der.readSmallInteger(der.expectTag(version, der.Tag.INTEGER, 'CSR version')) !== 0) throw bad('version is not v1 (0)');
  const subject = decodeName(der.expectTag(subjectNode, der.Tag.SEQUENCE, 'CSR subject'), 'CSR subject');
  const spki = normaliseSpki(der.expectTag(spkiNode, der.Tag.SEQUENCE, 'CSR public key'));
  const [algorithmOidNode] = der.children(der.expectTag(algorithm, der.Tag.SEQUENCE, 'CSR signature algorithm'), 'CSR signature algorithm');
  const signatureAlgorithm = der.readOid(der.expectTag(algorithmOidNode, der.Tag.OID, 'CSR signature algorithm'));
  const signatureContent = der.content(der.expectTag(signatureBits, der.Tag.BIT_STRING, 'CSR signature'));
  if (signatureContent.length < 2 || signatureContent[0] !== 0) throw bad('signature BIT STRING is malformed');
  if (!isSupportedSignatureAlgorithm(signatureAlgorithm)) {
    throw new EgovError('policy-violation', `CSR is signed with algorithm ${signatureAlgorithm}, which is not accepted (SHA-256 or stronger with RSA or ECDSA, Ed25519, or SM3withSM2)`);
  }
  if (attributesNode && attributesNode.tag !== 0xa0) throw bad('attributes are not tagged [0]');
  const sans = readRequestedSans(attributesNode);
  const key = describeSpki(spki);
  const valid = await verifyWithSpki(signatureAlgorithm, spki, der.raw(info!), signatureContent.subarray(1));
  if (!valid) throw new EgovError('bad-signature', 'CSR signature does not verify: the request was altered or was not signed by the key it carries');
  return { subject, spki, key, sans, signatureAlgorithm };
}
