// OCSP responder (RFC 6960): requests over GET or POST, answers signed by
// the delegated responder certificate or the issuing CA key. Answers to
// single requests without a nonce are cached until the status changes or
// the answer nears its nextUpdate: that is what makes tens of thousands a second.

import { createHash } from 'node:crypto';
import { EgovError, type Database } from '../core/index.js';
import * as der from './asn1/der.js';
import type { Authority, SigningContext } from './authority.js';
import { OID } from './oids.js';
import { serialFromBytes } from './serial.js';
import { findCertificate } from './store.js';

export const OcspStatus = { successful: 0, malformedRequest: 1, internalError: 2, tryLater: 3, sigRequired: 5, unauthorized: 6 } as const;

export const MAX_OCSP_REQUEST_BYTES = 16 * 1024;
const MAX_REQUESTS_PER_MESSAGE = 20;

interface SingleRequest {
  certId: Buffer;
  hashAlgorithm: string;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serialNumber: Buffer;
}

interface ParsedRequest {
  requests: SingleRequest[];
  nonce?: Buffer;
}

export function errorResponse(status: number): Buffer {
  return der.sequence(der.enumerated(status));
}

export function parseOcspRequest(input: Buffer): ParsedRequest {
  const root = der.readWhole(input, 'OCSP request');
  const [tbs] = der.children(der.expectTag(root, der.Tag.SEQUENCE, 'OCSP request'), 'OCSP request');
  const tbsFields = der.children(der.expectTag(tbs, der.Tag.SEQUENCE, 'OCSP tbsRequest'), 'OCSP tbsRequest');
  const list = tbsFields.find((f) => f.tag === der.Tag.SEQUENCE);
  const items = der.children(der.expectTag(list, der.Tag.SEQUENCE, 'OCSP requestList'), 'OCSP requestList');
  if (items.length === 0 || items.length > MAX_REQUESTS_PER_MESSAGE) throw new EgovError('bad-encoding', `OCSP request carries ${items.length} requests (1 to ${MAX_REQUESTS_PER_MESSAGE} accepted)`);
  const requests = items.map((item) => {
    const [certIdNode] = der.children(der.expectTag(item, der.Tag.SEQUENCE, 'OCSP request'), 'OCSP request');
    const [algorithm, nameHash, keyHash, serial] = der.children(der.expectTag(certIdNode, der.Tag.SEQUENCE, 'OCSP certID'), 'OCSP certID');
    const [algorithmOid] = der.children(der.expectTag(algorithm, der.Tag.SEQUENCE, 'OCSP hash algorithm'), 'OCSP hash algorithm');
    return {
      certId: der.raw(certIdNode!),
      hashAlgorithm: der.readOid(der.expectTag(algorithmOid, der.Tag.OID, 'OCSP hash algorithm')),
      issuerNameHash: der.content(der.expectTag(nameHash, der.Tag.OCTET_STRING, 'OCSP issuerNameHash')),
      issuerKeyHash: der.content(der.expectTag(keyHash, der.Tag.OCTET_STRING, 'OCSP issuerKeyHash')),
      serialNumber: der.content(der.expectTag(serial, der.Tag.INTEGER, 'OCSP serialNumber')),
    };
  });
  let nonce: Buffer | undefined;
  const extensionsNode = tbsFields.find((f) => f.tag === 0xa2);
  if (extensionsNode) {
    const [list2] = der.children(extensionsNode, 'OCSP extensions');
    for (const ext of der.children(der.expectTag(list2, der.Tag.SEQUENCE, 'OCSP extensions'), 'OCSP extensions')) {
      const parts = der.children(ext, 'OCSP extension');
      if (der.readOid(der.expectTag(parts[0], der.Tag.OID, 'OCSP extension')) === OID.ocspNonce) {
        nonce = der.content(der.expectTag(parts[parts.length - 1], der.Tag.OCTET_STRING, 'OCSP nonce'));
      }
    }
  }
  return { requests, ...(nonce ? { nonce } : {}) };
}

interface IssuerHashes {
  sha1: { name: Buffer; key: Buffer };
  sha256: { name: Buffer; key: Buffer };
}

function issuerHashes(context: SigningContext): IssuerHashes {
  const [, bits] = der.children(der.readWhole(context.issuing.spki));
  const keyBits = der.content(bits!).subarray(1);
  const hash = (alg: string, data: Buffer) => createHash(alg).update(data).digest();
  return {
    sha1: { name: hash('sha1', context.issuing.subjectName), key: hash('sha1', keyBits) },
    sha256: { name: hash('sha256', context.issuing.subjectName), key: hash('sha256', keyBits) },
  };
}

interface CachedAnswer {
  der: Buffer;
  /** Serve until then (well before nextUpdate). */
  freshUntil: number;
}

export interface OcspOptions {
  validitySeconds: number;
  now?: () => Date;
}

export class OcspResponder {
  private readonly cache = new Map<string, Map<string, CachedAnswer>>();
  private readonly hashes = new Map<string, IssuerHashes>();
  private readonly database: Database;
  private readonly now: () => Date;

  constructor(
    private readonly authority: Authority,
    private readonly options: OcspOptions,
  ) {
    this.database = authority.database;
    this.now = options.now ?? (() => new Date());
    authority.events.on('status', (change: { ca: string }) => this.cache.delete(change.ca));
  }

  /** Answers one DER OCSP request for CA `ca`; always returns a DER OCSPResponse. */
  async respond(ca: string, requestDer: Buffer): Promise<Buffer> {
    if (requestDer.length === 0 || requestDer.length > MAX_OCSP_REQUEST_BYTES) return errorResponse(OcspStatus.malformedRequest);
    const perCa = this.cache.get(ca);
    const cacheKey = requestDer.toString('latin1');
    const hit = perCa?.get(cacheKey);
    if (hit && hit.freshUntil > Date.now()) return hit.der;

    let parsed: ParsedRequest;
    try {
      parsed = parseOcspRequest(requestDer);
    } catch {
      return errorResponse(OcspStatus.malformedRequest);
    }
    const context = await this.authority.signingContext(ca);
    let hashes = this.hashes.get(ca);
    if (!hashes) this.hashes.set(ca, (hashes = issuerHashes(context)));
    const now = this.now();
    const singles: Buffer[] = [];
    for (const request of parsed.requests) {
      const expected = request.hashAlgorithm === OID.sha1 ? hashes.sha1 : request.hashAlgorithm === OID.sha256 ? hashes.sha256 : undefined;
      if (!expected || !expected.name.equals(request.issuerNameHash) || !expected.key.equals(request.issuerKeyHash)) {
        // Not our issuer (or a hash we do not speak): we are not authorised to answer.
        if (parsed.requests.length === 1) return errorResponse(OcspStatus.unauthorized);
        continue;
      }
      singles.push(await this.singleResponse(ca, request, now));
    }
    if (singles.length === 0) return errorResponse(OcspStatus.unauthorized);
    const response = await this.sign(context, singles, now, parsed.nonce);
    if (!parsed.nonce && parsed.requests.length === 1) {
      let map = this.cache.get(ca);
      if (!map) this.cache.set(ca, (map = new Map()));
      if (map.size > 100_000) map.clear();
      // Serve a cached answer for at most half its validity, so clients always get a comfortable nextUpdate.
      map.set(cacheKey, { der: response, freshUntil: Date.now() + (this.options.validitySeconds * 1000) / 2 });
    }
    return response;
  }

  private async singleResponse(ca: string, request: SingleRequest, now: Date): Promise<Buffer> {
    const serial = serialFromBytes(request.serialNumber);
    const row = await findCertificate(this.database.db, ca, serial);
    let status: Buffer;
    if (!row) status = der.implicitPrimitive(2, Buffer.alloc(0)); // unknown
    else if (row.status === 'good') status = der.implicitPrimitive(0, Buffer.alloc(0)); // good
    else {
      const reason = row.revocation_reason !== null ? [der.explicit(0, der.enumerated(row.revocation_reason))] : [];
      status = der.implicitConstructed(1, Buffer.concat([der.generalizedTime(new Date(row.revoked_at!)), ...reason]));
    }
    const nextUpdate = new Date(now.getTime() + this.options.validitySeconds * 1000);
    return der.sequence(request.certId, status, der.generalizedTime(now), der.explicit(0, der.generalizedTime(nextUpdate)));
  }

  private async sign(context: SigningContext, singles: Buffer[], now: Date, nonce: Buffer | undefined): Promise<Buffer> {
    const responder = context.ocsp ?? { certificate: context.issuing, signer: context.signer };
    const [, bits] = der.children(der.readWhole(responder.certificate.spki));
    const responderKeyHash = createHash('sha1').update(der.content(bits!).subarray(1)).digest();
    const extensions = nonce ? [der.explicit(1, der.sequence(der.sequence(der.oid(OID.ocspNonce), der.octetString(nonce))))] : [];
    const tbs = der.sequence(der.explicit(2, der.octetString(responderKeyHash)), der.generalizedTime(now), der.sequence(...singles), ...extensions);
    const signature = await responder.signer.sign(tbs);
    const certs = context.ocsp ? [der.explicit(0, der.sequence(context.ocsp.certificate.der))] : [];
    const basic = der.sequence(tbs, responder.signer.algorithmIdentifier, der.bitString(signature), ...certs);
    return der.sequence(der.enumerated(OcspStatus.successful), der.explicit(0, der.sequence(der.oid(OID.ocspBasic), der.octetString(basic))));
  }
}
