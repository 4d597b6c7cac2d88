// What access control needs from the CA: who a presented certificate is
// (which of our hierarchies issued it, its status), which CAs TLS should
// trust for client certificates, and the server's own TLS certificate.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { EgovError, type CertificateDirectory, type PeerIdentity } from '../core/index.js';
import { toPem } from './asn1/der.js';
import type { Actor, Authority } from './authority.js';
import { readCertificate, certificatePem } from './certificate.js';
import { encryptPrivateKey, decryptPrivateKey } from './keys.js';
import { generateKeyPairFor } from './algorithms.js';
import { findCertificate } from './store.js';
import type { Serial } from './serial.js';

/** The hierarchy that issues people's, agents' and the server's TLS certificates: configured, else the first non-SM2 one (TLS stacks do not speak SM2). */
export async function accessHierarchy(authority: Authority, configured: string | undefined): Promise<string> {
  const hierarchies = await authority.listHierarchies();
  if (configured) {
    const found = hierarchies.find((h) => h.name === configured);
    if (!found) throw new EgovError('bad-config', `access.ca names CA "${configured}", which does not exist (have: ${hierarchies.map((h) => h.name).join(', ') || 'none'})`);
    if (found.algorithm === 'sm2') throw new EgovError('bad-config', `access.ca "${configured}" is an SM2 hierarchy; TLS client certificates need RSA or ECDSA`);
    return found.name;
  }
  const usable = hierarchies.find((h) => h.algorithm !== 'sm2');
  if (!usable) throw new EgovError('unavailable', 'no RSA, ECDSA or Ed25519 CA exists for sign-in certificates: create one with `egov-ops ca init --algorithm ecdsa-p256 ...`');
  return usable.name;
}

export function certificateDirectory(authority: Authority): CertificateDirectory {
  // Issuing certificates by their DER and by their subject name, refreshed when a hierarchy appears.
  let issuers: Array<{ ca: string; der: Buffer; subjectName: Buffer }> | undefined;
  const loadIssuers = async () => {
    const list = [];
    for (const h of await authority.listHierarchies()) {
      const [issuing] = await authority.chain(h.name);
      if (issuing) list.push({ ca: h.name, der: issuing, subjectName: readCertificate(issuing).subjectName });
    }
    issuers = list;
    return list;
  };
  return {
    async identify(der: Buffer, issuerDer: Buffer | undefined): Promise<PeerIdentity | null> {
      let certificate;
      try {
        certificate = readCertificate(der, 'client certificate');
      } catch {
        return null;
      }
      const find = (list: NonNullable<typeof issuers>) =>
        list.find((i) => (issuerDer ? i.der.equals(issuerDer) : false) || i.subjectName.equals(certificate.issuerName));
      let issuer = find(issuers ?? (await loadIssuers()));
      if (!issuer) issuer = find(await loadIssuers());
      if (!issuer) return null;
      const row = await findCertificate(authority.database.db, issuer.ca, certificate.serial);
      if (!row || !row.der.equals(der)) return null;
      const cn = certificate.subject.find((a) => a.type === 'CN')?.value ?? row.subject;
      return { ca: issuer.ca, serial: row.serial, holder: cn, notAfter: row.not_after, status: row.status };
    },
    onStatusChange(listener: () => void) {
      authority.events.on('status', listener);
      return () => authority.events.off('status', listener);
    },
  };
}

/** Every non-SM2 hierarchy's issuing and root certificates: the CAs whose certificates may sign in. */
export async function trustedClientCas(authority: Authority): Promise<string[]> {
  const pems: string[] = [];
  for (const h of await authority.listHierarchies()) {
    if (h.algorithm === 'sm2') continue;
    for (const der of await authority.chain(h.name)) pems.push(toPem('CERTIFICATE', der));
  }
  return pems;
}

const RENEW_BEFORE_MS = 30 * 86400_000;

/**
 * The HTTPS server's certificate and key, issued by the access hierarchy
 * (profile `server`) on first start and again when it nears expiry. The key
 * is kept encrypted with the CA passphrase, like the CA's own keys.
 */
export async function serverTlsMaterial(
  authority: Authority,
  options: { dataDir: string; ca: string; names: string[]; passphrase: () => Promise<string>; by: Actor },
): Promise<{ cert: string; key: string }> {
  const dir = path.join(options.dataDir, 'tls');
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key.p8');
  const passphrase = await options.passphrase();
  const names = [...new Set(['localhost', '127.0.0.1', ...options.names])];
  /** The certificate this one replaces, when the same CA issued it: revoked once its successor is on disk. */
  let superseded: Serial | undefined;
  if (existsSync(certFile)) {
    const pem = readFileSync(certFile, 'utf8');
    const current = readCertificate(pem, 'server TLS certificate');
    const [issuing] = await authority.chain(options.ca);
    const sameIssuer = issuing ? readCertificate(issuing).subjectName.equals(current.issuerName) : false;
    const covers = names.every((n) => current.sans.some((s) => s.value === n));
    if (sameIssuer && covers && current.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS && existsSync(keyFile)) {
      const key = decryptPrivateKey(readFileSync(keyFile), passphrase, 'the HTTPS server key');
      return { cert: pem + (await authority.chain(options.ca)).map((c) => toPem('CERTIFICATE', c)).slice(0, 1).join(''), key: key.export({ type: 'pkcs8', format: 'pem' }) as string };
    }
    if (sameIssuer) superseded = current.serial;
  }
  const summary = await authority.summary(options.ca);
  const keys = await generateKeyPairFor(summary.algorithm === 'ed25519' ? 'ecdsa-p256' : summary.algorithm.startsWith('rsa') ? 'rsa-2048' : 'ecdsa-p256');
  const sans = names.map((n) => (/^[0-9.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`));
  const issued = await authority.issueForPublicKey({ ca: options.ca, profile: 'server', subject: `CN=${names[2] ?? 'localhost'},O=egov-ops`, sans, publicKey: keys.publicKey, validityDays: 365 }, options.by);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(certFile, issued.certificatePem, { mode: 0o644 });
  writeFileSync(keyFile, encryptPrivateKey(keys.privateKey, passphrase), { mode: 0o600 });
  // A replaced certificate no longer serves anything: left good, it would stay valid (and raise expiry alerts) for nothing.
  if (superseded) await revokeSuperseded(authority, options.ca, superseded, options.by);
  const [issuing] = await authority.chain(options.ca);
  return { cert: certificatePem(issued.der) + (issuing ? toPem('CERTIFICATE', issuing) : ''), key: createPrivateKey(keys.privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ type: 'pkcs8', format: 'pem' }) as string };
}

async function revokeSuperseded(authority: Authority, ca: string, serial: Serial, by: Actor): Promise<void> {
  const row = await findCertificate(authority.database.db, ca, serial);
  if (row?.status !== 'good') return; // issued elsewhere, or already revoked by hand
  await authority.revoke({ ca, serial, reason: 'superseded' }, by);
}
