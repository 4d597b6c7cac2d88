// One real OCSP exchange with the suite's responder (the CA room's
// OcspResponder, through its front door): the request is built by
// `openssl ocsp` (with a nonce, so no cached answer serves it), answered by
// the responder, and the answer checked independently: `openssl ocsp`
// verifies the signature, the responder certificate's chain to the root and
// the nonce; for SM2 hierarchies, whose GM/T 0009 signing ID openssl 3.0
// cannot pass, openssl reads the status (-noverify) and the signatures (the
// answer's, and the responder certificate's by the issuing CA) are checked
// with SM3withSM2 under the default ID.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCertificate, sm2Verify, toPem } from '../../ca/index.js';

export interface OcspProbeInput {
  ca: string;
  algorithm: string;
  /** Issuing CA first, then the root (DER), as Authority.chain gives them. */
  chain: Buffer[];
  /** Hex serial to ask about, and the status the CA's store holds for it. */
  serial: string;
  expected: 'good' | 'revoked' | 'unknown';
  respond(ca: string, request: Buffer): Promise<Buffer>;
}

export interface OcspProbeResult {
  ok: boolean;
  status: string | null;
  verified: boolean;
  detail: string;
  /** What openssl printed, trimmed. */
  transcript: string;
}

function openssl(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile('openssl', args, { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = !error ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

// A minimal DER walk (definite lengths only) to find the signed parts of a BasicOCSPResponse.
interface Tlv {
  tag: number;
  start: number;
  headerEnd: number;
  end: number;
}
function readTlv(buf: Buffer, at: number): Tlv {
  const tag = buf[at]!;
  let length = buf[at + 1]!;
  let headerEnd = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[headerEnd + i]!;
    headerEnd += n;
  }
  if (headerEnd + length > buf.length) throw new Error('truncated DER in the OCSP answer');
  return { tag, start: at, headerEnd, end: headerEnd + length };
}
function childrenOf(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.headerEnd; at < parent.end; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The tbsResponseData, signature and responder certificate (if carried) of a DER OCSPResponse. */
function signedParts(response: Buffer): { tbs: Buffer; signature: Buffer; certificate?: Buffer } {
  const root = readTlv(response, 0);
  const [, bytesWrapper] = childrenOf(response, root);
  if (!bytesWrapper) throw new Error('the OCSP answer has no responseBytes');
  const [responseBytes] = childrenOf(response, bytesWrapper);
  const [, octets] = childrenOf(response, responseBytes!);
  const basicDer = response.subarray(octets!.headerEnd, octets!.end);
  const basic = readTlv(basicDer, 0);
  const [tbs, , sig, certs] = childrenOf(basicDer, basic);
  const signature = basicDer.subarray(sig!.headerEnd + 1, sig!.end); // BIT STRING: skip the unused-bits byte
  let certificate: Buffer | undefined;
  if (certs && certs.tag === 0xa0) {
    const [list] = childrenOf(basicDer, certs);
    const [first] = childrenOf(basicDer, list!);
    if (first) certificate = basicDer.subarray(first.start, first.end);
  }
  return { tbs: basicDer.subarray(tbs!.start, tbs!.end), signature, ...(certificate ? { certificate } : {}) };
}

export async function probeOcsp(input: OcspProbeInput): Promise<OcspProbeResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-audit-ocsp-'));
  try {
    const [issuingDer, rootDer] = input.chain;
    if (!issuingDer || !rootDer) return { ok: false, status: null, verified: false, detail: 'the hierarchy has no issuing or root certificate', transcript: '' };
    const file = (name: string, content: string | Buffer) => {
      const f = path.join(dir, name);
      writeFileSync(f, content);
      return f;
    };
    const issuing = file('issuing.pem', toPem('CERTIFICATE', issuingDer));
    const root = file('root.pem', toPem('CERTIFICATE', rootDer));
    const requestFile = path.join(dir, 'request.der');
    const serial = `0x${input.serial}`;
    const built = await openssl(['ocsp', '-issuer', issuing, '-serial', serial, '-reqout', requestFile]);
    if (built.code !== 0) return { ok: false, status: null, verified: false, detail: `openssl could not build the request: ${built.output.trim().split('\n')[0]}`, transcript: built.output.trim() };
    const answer = await input.respond(input.ca, readFileSync(requestFile));
    const responseFile = file('response.der', answer);
    const sm2 = /sm2/i.test(input.algorithm);
    // -reqin (not -issuer/-serial, which would build a second request with another nonce): openssl checks the nonce echoed.
    const read = await openssl(['ocsp', '-reqin', requestFile, '-respin', responseFile, '-CAfile', root, '-verify_other', issuing, '-resp_text', ...(sm2 ? ['-noverify'] : [])]);
    const transcript = read.output.trim().split('\n').filter((l) => /Response Status|Serial Number|Cert Status|verify|error/i.test(l)).slice(0, 8).join('\n');
    const statusMatch = /Serial Number: ([0-9A-F]+)\s+Cert Status: (good|revoked|unknown)/i.exec(read.output);
    const answeredSerial = statusMatch?.[1]?.toLowerCase().replace(/^0+/, '');
    const status = statusMatch && answeredSerial === input.serial.toLowerCase().replace(/^0+/, '') ? statusMatch[2]!.toLowerCase() : null;
    let verified: boolean;
    let how: string;
    if (!sm2) {
      verified = /Response verify OK/.test(read.output);
      how = verified ? 'openssl: Response verify OK (signature, responder chain, nonce)' : 'openssl did not verify the answer';
    } else {
      const parts = signedParts(answer);
      const issuingCert = readCertificate(issuingDer);
      const signer = parts.certificate ? readCertificate(parts.certificate) : issuingCert;
      const answerOk = sm2Verify(signer.publicKey, parts.tbs, parts.signature);
      const signerOk = parts.certificate ? sm2Verify(issuingCert.publicKey, signer.tbs, signer.signature) : true;
      verified = answerOk && signerOk;
      how = `SM3withSM2 (GM/T 0009 ID): answer signature ${answerOk ? 'valid' : 'INVALID'}${parts.certificate ? `, responder certificate ${signerOk ? 'signed by the issuing CA' : 'NOT signed by the issuing CA'}` : ' (signed by the issuing CA key)'}`;
    }
    const ok = verified && status === input.expected;
    const detail = status === null ? `no status for serial ${input.serial} in the answer (${read.output.trim().split('\n').slice(-1)[0] ?? ''})` : `serial ${input.serial}: ${status} (store says ${input.expected}); ${how}`;
    return { ok, status, verified, detail, transcript };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
