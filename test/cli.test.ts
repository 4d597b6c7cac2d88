// The egov-ops command as scripts call it: the demo server of the README's
// first command, `audit-log verify` catching a changed record (exit 6), and
// --json output. Runs the compiled CLI (npm test builds it first).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';

const cli = path.resolve('dist/egov-ops/main.js');
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-cli-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

function egov(dataDir: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [cli, '--data-dir', dataDir, ...args], {
    encoding: 'utf8',
    env: { ...process.env, EGOV_OPS_CA_PASSPHRASE: 'cli-test-passphrase', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('serve --demo (the README first command)', () => {
  it('creates the demo hierarchies and serves a chain and CRL openssl accepts', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, [cli, '--data-dir', dataDir, 'serve', '--demo', '--port', '0', '--tls-port', '0'], { env: { ...process.env, EGOV_OPS_CA_PASSPHRASE: '' } });
    let secure = '';
    try {
      const address = await new Promise<string>((resolve, reject) => {
        let seen = '';
        const timer = setTimeout(() => reject(new Error(`no address after 30 s: ${seen}`)), 30_000);
        child.stderr.on('data', (chunk: Buffer) => {
          seen += chunk.toString();
          const m = /serving on (http:\/\/[0-9.:]+).* and (https:\/\/[0-9a-z.:]+)/.exec(seen);
          if (m) {
            clearTimeout(timer);
            secure = m[2]!;
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${seen}`)));
      });
      expect(readFileSync(path.join(dataDir, 'demo-passphrase'), 'utf8').trim().length).toBeGreaterThanOrEqual(24);
      const chain = await (await fetch(`${address}/ca/city-ecdsa-chain.pem`)).text();
      const [issuing, root] = chain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/g)!;
      writeFileSync(path.join(dataDir, 'root.pem'), root!);
      writeFileSync(path.join(dataDir, 'issuing.pem'), issuing!);
      const verify = spawnSync('openssl', ['verify', '-CAfile', path.join(dataDir, 'root.pem'), path.join(dataDir, 'issuing.pem')], { encoding: 'utf8' });
      expect(verify.stdout).toContain('OK');
      const crl = Buffer.from(await (await fetch(`${address}/crl/city-sm2.crl`)).arrayBuffer());
      writeFileSync(path.join(dataDir, 'sm2.crl'), crl);
      const parsed = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', path.join(dataDir, 'sm2.crl'), '-noout', '-issuer', '-crlnumber'], { encoding: 'utf8' });
      expect(parsed.stdout).toContain('City E-Gov SM2 Issuing CA');
      expect(parsed.stdout).toMatch(/crlNumber=0x[0-9A-F]+/);
      const health = await (await fetch(`${address}/health`)).json();
      expect(health).toEqual({ status: 'ok' });

      // Demo operator A signs in on the HTTPS listener with its certificate and password: both roles active.
      const secrets = JSON.parse(readFileSync(path.join(dataDir, 'demo-operator-a.p12.passwords.json'), 'utf8')) as { p12Password: string; signInPassword: string };
      const p12 = path.join(dataDir, 'demo-operator-a.p12');
      const pem = spawnSync('openssl', ['pkcs12', '-in', p12, '-passin', `pass:${secrets.p12Password}`, '-nodes'], { encoding: 'utf8' }).stdout;
      const key = /-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----\n/.exec(pem)![0];
      const cert = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n/.exec(pem)![0];
      const https = await import('node:https');
      const signIn = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const request = https.request(`${secure}/api/access/sign-in`, { method: 'POST', cert, key, ca: chain, servername: 'localhost', headers: { 'content-type': 'application/json' } }, (response) => {
          let body = '';
          response.on('data', (c) => (body += c));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        request.on('error', reject);
        request.end(JSON.stringify({ password: secrets.signInPassword }));
      });
      expect(signIn.status).toBe(200);
      expect(JSON.parse(signIn.body).activeRoles).toEqual(['ca-admin', 'ra-operator', 'network-admin']);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the first ca-admin', () => {
  it('ca init prints a one-time enrolment code that access enrol spends once', () => {
    const dataDir = tempDir();
    const init = egov(dataDir, ['--json', 'ca', 'init', '--ca', 'city', '--algorithm', 'ecdsa-p256', '--subject', '/CN=City Root CA']);
    expect(init.code).toBe(0);
    const code = JSON.parse(init.stdout).enrolment.code as string;
    writeFileSync(path.join(dataDir, 'pw'), 'First-Admin-Pw1!');
    writeFileSync(path.join(dataDir, 'p12pw'), 'p12-password-1');
    const enrol = ['access', 'enrol', '--code', code, '--name', 'First Admin', '--password-file', path.join(dataDir, 'pw'), '--p12-password-file', path.join(dataDir, 'p12pw'), '--out', path.join(dataDir, 'admin.p12')];
    const first = egov(dataDir, ['--json', ...enrol]);
    expect(first.code).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ role: 'ca-admin', ca: 'city' });
    expect(spawnSync('openssl', ['pkcs12', '-in', path.join(dataDir, 'admin.p12'), '-passin', 'pass:p12-password-1', '-noout'], { encoding: 'utf8' }).status).toBe(0);
    const again = egov(dataDir, enrol);
    expect(again.code).toBe(5);
    expect(again.stderr).toMatch(/enrolment code already used/);
    const list = JSON.parse(egov(dataDir, ['--json', 'access', 'list']).stdout);
    expect(list).toEqual([expect.objectContaining({ holder: 'First Admin', roles: ['ca-admin'], passwordSet: true })]);
    // A second hierarchy does not print another code: a ca-admin exists.
    const second = egov(dataDir, ['--json', 'ca', 'init', '--ca', 'town', '--algorithm', 'ecdsa-p256', '--subject', '/CN=Town Root CA']);
    expect(JSON.parse(second.stdout).enrolment).toBeUndefined();
  });
});

describe('audit-log verify', () => {
  it('passes on an intact log and exits 6 naming the first changed record', () => {
    const dataDir = tempDir();
    expect(egov(dataDir, ['ca', 'init', '--ca', 'town', '--algorithm', 'ecdsa-p256', '--subject', '/CN=Town Root CA']).code).toBe(0);
    expect(egov(dataDir, ['ca', 'crl', '--ca', 'town', '--out', path.join(dataDir, 'town.crl')]).code).toBe(0);
    const ok = egov(dataDir, ['--json', 'audit-log', 'verify']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true, records: 3 });

    const db = new BetterSqlite(path.join(dataDir, 'egov-ops.sqlite'));
    db.prepare("update audit_log set actor = 'someone-else' where id = 1").run();
    db.close();
    const broken = egov(dataDir, ['--json', 'audit-log', 'verify']);
    expect(broken.code).toBe(6);
    expect(JSON.parse(broken.stdout)).toMatchObject({ ok: false, firstBreak: { id: 1 } });
    const human = egov(dataDir, ['audit-log', 'verify']);
    expect(human.stdout).toMatch(/BROKEN at record 1/);
  });
});

describe('--json and exit codes', () => {
  it('lists hierarchies as JSON and reports errors as {error:{code,message}}', () => {
    const dataDir = tempDir();
    egov(dataDir, ['ca', 'init', '--ca', 'village', '--algorithm', 'ed25519', '--subject', 'CN=Village Root CA,C=CN']);
    const list = egov(dataDir, ['--json', 'ca', 'list']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toMatchObject([{ name: 'village', algorithm: 'ed25519' }]);
    const missing = egov(dataDir, ['--json', 'ca', 'show', '--ca', 'village', '--serial', 'abcdef']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toMatchObject({ error: { code: 'not-found' } });
    const wrong = egov(dataDir, ['ca', 'crl', '--ca', 'village'], { EGOV_OPS_CA_PASSPHRASE: 'not-the-passphrase' });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toMatch(/passphrase/);
    const noPassphrase = egov(dataDir, ['ca', 'crl', '--ca', 'village'], { EGOV_OPS_CA_PASSPHRASE: '' });
    expect(noPassphrase.code).toBe(2);
    expect(noPassphrase.stderr).toMatch(/--passphrase-file/);
  });
});

describe('command groups (each loaded only when called)', () => {
  it('finds the group after global options that take a value, lists every group in --help, and rejects an unknown command', () => {
    const dataDir = tempDir();
    const passphraseFile = path.join(dataDir, 'passphrase');
    writeFileSync(passphraseFile, 'cli-test-passphrase\n');
    // The group word comes after --data-dir DIR and --passphrase-file FILE: their values are not commands.
    const help = egov(dataDir, ['--passphrase-file', passphraseFile, 'snmp', 'walk', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: egov-ops snmp walk/);
    const top = egov(dataDir, ['--help']);
    expect(top.code).toBe(0);
    for (const word of ['ca', 'audit-log', 'serve', 'backup', 'access', 'node', 'link', 'logs', 'status', 'agent', 'snmp']) expect(top.stdout).toMatch(new RegExp(`^  ${word}\\b`, 'm'));
    const unknown = egov(dataDir, ['cert', 'list']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/unknown command 'cert'/);
    // A group that opens the suite still works when the word is not first.
    const list = egov(dataDir, ['--json', '--data-dir', dataDir, 'ca', 'list']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});
