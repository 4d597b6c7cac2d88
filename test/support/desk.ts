// A whole suite served as `egov-ops serve` serves it (both listeners, real
// TLS with client certificates), in a temp data directory, plus people with
// certificates and roles to call it with.

import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { Authority, toPem } from '../../ca/index.js';
import { openSuite, type Suite } from '../../cli/context.js';
import { startServer, type Started } from '../../cli/serve.js';
import type { Role } from '../../core/index.js';

export const PASSPHRASE = 'desk-test-passphrase-0123';
export const ADMIN_PASSWORD = 'Admin-Passw0rd!';

export interface Person {
  name: string;
  serial: string;
  certPem: string;
  keyPem: string;
  /** The session cookie after sign-in (administrators sign in with the password). */
  cookie?: string;
  csrf?: string;
}

export interface DeskSuite {
  dir: string;
  suite: Suite;
  started: Started;
  /** https://127.0.0.1:PORT */
  secureBase: string;
  plainBase: string;
  caPem: string;
  person(name: string, roles: Role[] | null, options?: { authority?: Authority; validityDays?: number; password?: string }): Promise<Person>;
  close(): Promise<void>;
}

export async function startDeskSuite(extraConfig = ''): Promise<DeskSuite> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-desk-'));
  const passphraseFile = path.join(dir, 'passphrase');
  writeFileSync(passphraseFile, PASSPHRASE, { mode: 0o600 });
  writeFileSync(path.join(dir, 'config.yaml'), `log:\n  level: silent\n${extraConfig}`);
  const suite = await openSuite({ dataDir: dir, passphraseFile });
  await suite.authority.initHierarchy({ name: 'city-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Test City/CN=Test ECDSA Root CA' }, { actor: 'test', source: 'test' });
  await suite.authority.initHierarchy({ name: 'city-sm2', algorithm: 'sm2', subject: '/C=CN/O=Test City/CN=Test SM2 Root CA' }, { actor: 'test', source: 'test' });
  const started = await startServer(suite, { port: 0, tlsPort: 0, host: '127.0.0.1', passphrase: async () => PASSPHRASE, announce: () => undefined });
  const chain = await suite.authority.chain('city-ecdsa');
  const caPem = chain.map((c) => toPem('CERTIFICATE', c)).join('');
  return {
    dir,
    suite,
    started,
    secureBase: started.secure!.address.replace('localhost', '127.0.0.1'),
    plainBase: started.address,
    caPem,
    async person(name, roles, options = {}) {
      const authority = options.authority ?? suite.authority;
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' }) as { publicKey: KeyObject; privateKey: KeyObject };
      const issued = await authority.issueForPublicKey(
        { ca: 'city-ecdsa', profile: 'person', subject: `CN=${name},serialNumber=EMP-${name.replace(/[^A-Za-z0-9]/g, '')},OU=Test`, publicKey, ...(options.validityDays ? { validityDays: options.validityDays } : {}) },
        { actor: 'test', source: 'test' },
      );
      if (roles) {
        await suite.access.bind({ ca: 'city-ecdsa', serial: issued.serial, holder: name, roles, ...(options.password ? { password: options.password } : {}) }, { actor: 'test', source: 'test' });
      }
      return { name, serial: issued.serial, certPem: issued.certificatePem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    },
    async close() {
      await started.app.close();
      await suite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json<T = any>(): T;
}

/** One HTTPS request over a fresh connection, presenting `who`'s certificate (or none). */
export function call(base: string, caPem: string, who: Person | undefined, method: string, url: string, options: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  let body: Buffer | undefined;
  if (options.json !== undefined) {
    body = Buffer.from(JSON.stringify(options.json));
    headers['content-type'] = 'application/json';
  } else if (options.form) {
    body = Buffer.from(new URLSearchParams(options.form).toString());
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (who?.cookie && !headers.cookie) headers.cookie = `egov_session=${who.cookie}`;
  return new Promise((resolve, reject) => {
    const request = https.request(
      base + url,
      { method, headers, ca: caPem, ...(who ? { cert: who.certPem, key: who.keyPem } : {}), agent: false, servername: 'localhost' },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.on('end', () => {
          const buffer = Buffer.concat(chunks);
          resolve({ status: response.statusCode ?? 0, headers: response.headers, body: buffer, text: buffer.toString('utf8'), json: () => JSON.parse(buffer.toString('utf8')) });
        });
      },
    );
    request.on('error', reject);
    if (body) request.end(body);
    else request.end();
  });
}

/** The session cookie a response set, if any. */
export function cookieFrom(reply: Reply): string | undefined {
  const set = [reply.headers['set-cookie'] ?? []].flat();
  for (const line of set) {
    const match = /^egov_session=([^;]*)/.exec(line);
    if (match && match[1]) return match[1];
  }
  return undefined;
}

/** Signs `who` in (with the password when given) and keeps the cookie and CSRF token on it. */
export async function signIn(desk: DeskSuite, who: Person, password?: string): Promise<Reply> {
  const reply = await call(desk.secureBase, desk.caPem, who, 'POST', '/api/access/sign-in', { json: password === undefined ? {} : { password } });
  if (reply.status === 200) {
    who.cookie = cookieFrom(reply);
    who.csrf = reply.json().csrf;
  }
  return reply;
}
