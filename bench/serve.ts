// `egov-ops serve` as a child process for the benchmarks, and people with
// client certificates to call its HTTPS listener with.

import { generateKeyPairSync } from 'node:crypto';
import https from 'node:https';
import type { ChildProcess } from 'node:child_process';
import type { Authority } from '../ca/index.js';
import { certificateDirectory } from '../ca/index.js';
import { AccessControl, defaultConfig, type Database, type Role } from '../core/index.js';
import { spawnTracked } from './lib.js';

export interface Server {
  child: ChildProcess;
  /** The plain HTTP listener (CRLs, OCSP). */
  url: string;
  /** The mTLS listener (API, desk). */
  secureUrl: string;
  stderr: () => string;
}

export async function startServe(cliMain: string, dataDir: string, passphrase: string): Promise<Server> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('EGOV_')) env[key] = value;
  env.EGOV_OPS_CA_PASSPHRASE = passphrase;
  // EGOV_BENCH_SERVER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=DIR" profiles the server (written when it stops).
  const nodeFlags = (process.env.EGOV_BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawnTracked(process.execPath, [...nodeFlags, cliMain, '--data-dir', dataDir, 'serve', '--port', '0', '--tls-port', '0', '--host', '127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stdout!.on('data', () => undefined);
  child.stderr!.on('data', (chunk: Buffer) => {
    if (err.length < 64 * 1024) err += chunk.toString('utf8');
  });
  const urls = await new Promise<[string, string]>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`egov-ops serve did not start within 30 s: ${err.slice(0, 500)}`)), 30_000);
    const onData = () => {
      const m = /serving on (http:\/\/\S+) .*and (https:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off('data', onData);
        resolve([m[1]!.replace('0.0.0.0', '127.0.0.1'), m[2]!.replace('0.0.0.0', '127.0.0.1').replace('localhost', '127.0.0.1')]);
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`egov-ops serve exited ${code} before listening: ${err.slice(0, 500)}`));
    });
  });
  return { child, url: urls[0], secureUrl: urls[1], stderr: () => err };
}

export interface Client {
  certPem: string;
  keyPem: string;
  password?: string;
  cookie?: string;
}

/** A person certificate bound to `roles` (with a password for administrator roles), made straight in the database before the server starts. */
export async function makeClient(database: Database, authority: Authority, ca: string, name: string, roles: Role[], password?: string): Promise<Client> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const issued = await authority.issueForPublicKey({ ca, profile: 'person', subject: `CN=${name},serialNumber=EMP-BENCH,OU=Bench`, publicKey }, { actor: 'bench', source: 'bench' });
  const access = new AccessControl({ database, directory: certificateDirectory(authority), settings: defaultConfig().access });
  await access.bind({ ca, serial: issued.serial, holder: name, roles, ...(password ? { password } : {}) }, { actor: 'bench', source: 'bench' });
  return { certPem: issued.certificatePem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, ...(password ? { password } : {}) };
}

export function httpsRequest(base: string, client: Client, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = https.request(
      base + path,
      {
        method,
        cert: client.certPem,
        key: client.keyPem,
        rejectUnauthorized: false,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...(client.cookie ? { cookie: `egov_session=${client.cookie}` } : {}) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (c: string) => (text += c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
      },
    );
    request.on('error', reject);
    request.end(payload);
  });
}

/** Signs in (with the password for administrators) and keeps the session cookie on the client. */
export async function signInClient(base: string, client: Client): Promise<void> {
  const reply = await httpsRequest(base, client, 'POST', '/api/access/sign-in', client.password ? { password: client.password } : {});
  if (reply.status !== 200) throw new Error(`sign-in answered ${reply.status}: ${reply.text.slice(0, 300)}`);
  const cookie = [reply.headers['set-cookie'] ?? []].flat().map((l) => /^egov_session=([^;]+)/.exec(l)?.[1]).find(Boolean);
  if (!cookie) throw new Error('sign-in set no session cookie');
  client.cookie = cookie;
}
