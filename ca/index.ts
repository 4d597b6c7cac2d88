// ca: certificate hierarchies, profiles, issuance, revocation, CRL, OCSP, PKCS#12.
export { Authority, checkCaName, defaultSubjectKey, CA_NAME_PATTERN, type Actor, type AuthorityOptions, type HierarchySummary, type IssuedCertificate, type IssueFromCsrRequest, type IssueWithKeygenRequest, type SigningContext, type StatusChange } from './authority.js';
export { KEY_ALGORITHMS, parseKeyAlgorithm, describeKey, keyLabel, generateKeyPairFor, type KeyAlgorithm } from './algorithms.js';
export { readCertificate, readPemBundle, certificatePem, type CertificateInfo } from './certificate.js';
export { readCsr, type CertificationRequest } from './csr.js';
export { CrlService, assertCrlKind, type BuiltCrl, type CrlKind, type CrlServiceOptions } from './crl.js';
export { OcspResponder, OcspStatus, MAX_OCSP_REQUEST_BYTES, type OcspOptions } from './ocsp.js';
export { fixedPassphrase, checkPassphraseStrength, MIN_PASSPHRASE_LENGTH, type PassphraseSource } from './keys.js';
export { DEFAULT_PROFILES, getProfile, loadProfiles, type Profile } from './profiles.js';
export { parseName, formatName } from './names.js';
export { parseSan, formatSan } from './sans.js';
export { parseSerial, newSerial, type Serial } from './serial.js';
export { REVOCATION_REASONS, OPERATOR_REASONS, parseReason, type RevocationReason } from './revocation.js';
export { toPem } from './asn1/der.js';
export type { CertificateRecord, CertificateStatus } from './store.js';
export { caRoutes, type CaRoutesOptions } from './routes.js';
