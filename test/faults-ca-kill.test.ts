// The CA killed at any moment, on both engines: `egov-ops serve` is killed
// with SIGKILL at random moments while four clients issue and revoke through
// the API as fast as it answers and the CLI issues from another process; on
// PostgreSQL the database itself is also stopped with `pg_ctl stop -m
// immediate` during issuance. EGOV_FAULT_KILLS sets the kills per engine
// (3 inside `npm test`, 20 for the full campaign). Afterwards: no serial
// twice; each certificate row has its audit record and each issuance record
// its row; the audit chain verifies; every certificate a client was told it
// got exists; every revoked one is on the next CRL and OCSP answers revoked.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toPem } from '../ca/index.js';
import { openSuite } from '../cli/context.js';
import { openDatabase, verifyAuditLog } from '../core/index.js';
import { call, cookieFrom, type Person } from './support/desk.js';
import { usePostgres } from './support/postgres.js';
import { CLI, exited, freePort, startServe } from './support/processes.js';

const KILLS = Math.max(1, Number(process.env.EGOV_FAULT_KILLS ?? 3));
// synchronous_commit on, as a deployment must keep it (the default): the test
// harness turns it off for speed, and then PostgreSQL may lose commits it
// acknowledged when it is stopped immediately, which this test does. (fsync
// may stay off: an immediate stop is not an OS crash, the page cache survives.)
const postgres = usePostgres({ settings: { synchronous_commit: 'on' } });
const PASSPHRASE = 'fault injection passphrase 2026';
const PASSWORD = 'Fault-Admin-Passw0rd!';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = mkdtempSync(path.join(os.tmpdir(), 'egov-faults-ca-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function opensslText(args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`openssl ${args.slice(0, 6).join(' ')} ... exited ${result.status}: ${result.stderr}${result.stdout}`);
  return result.stdout;
}

interface Told {
  issued: Set<string>;
  revoked: Set<string>;
  cliIssued: Set<string>;
}

describe.each(['sqlite', 'postgres'] as const)('the CA killed at random moments (%s)', (engine) => {
  it(`survives ${KILLS} SIGKILLs of serve${engine === 'postgres' ? ' and an immediate stop of PostgreSQL' : ''} with nothing lost or doubled`, async () => {
    const dataDir = path.join(root, engine);
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const tlsPort = await freePort();
    const url = engine === 'postgres' ? await postgres.createDatabase('faults_ca') : undefined;
    const env: NodeJS.ProcessEnv = { ...process.env, EGOV_OPS_CA_PASSPHRASE: PASSPHRASE, EGOV_OPS_SECRET_KEY: randomBytes(32).toString('base64'), ...(url ? { EGOV_OPS_DATABASE_URL: url } : {}) };
    writeFileSync(
      path.join(dataDir, 'config.yaml'),
      [`server: { host: 127.0.0.1, port: ${port}, tlsPort: ${tlsPort}, publicUrl: "http://127.0.0.1:${port}" }`, 'ca: { crlAfterRevokeSeconds: 1 }', 'log: { level: warn }'].join('\n') + '\n',
    );

    // The CA and a ca-admin, made in-process before serve starts.
    const saved = { ...process.env };
    Object.assign(process.env, { EGOV_OPS_CA_PASSPHRASE: PASSPHRASE, EGOV_OPS_SECRET_KEY: env.EGOV_OPS_SECRET_KEY, ...(url ? { EGOV_OPS_DATABASE_URL: url } : {}) });
    let admin: Person;
    let caPem: string;
    let issuingPem: string;
    try {
      const setup = await openSuite({ dataDir });
      await setup.authority.initHierarchy({ name: 'city', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Fault City/CN=Fault Root CA' }, { actor: 'test', source: 'test' });
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const person = await setup.authority.issueForPublicKey({ ca: 'city', profile: 'person', subject: 'CN=Fault Admin,serialNumber=EMP-7,OU=Test', publicKey }, { actor: 'test', source: 'test' });
      await setup.access.bind({ ca: 'city', serial: person.serial, holder: 'Fault Admin', roles: ['ca-admin'], password: PASSWORD }, { actor: 'test', source: 'test' });
      admin = { name: 'Fault Admin', serial: person.serial, certPem: person.certificatePem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
      const chain = await setup.authority.chain('city');
      caPem = chain.map((c) => toPem('CERTIFICATE', c)).join('');
      issuingPem = toPem('CERTIFICATE', chain[0]!);
      await setup.close();
    } finally {
      for (const key of ['EGOV_OPS_CA_PASSPHRASE', 'EGOV_OPS_SECRET_KEY', 'EGOV_OPS_DATABASE_URL']) if (saved[key] === undefined) delete process.env[key];
      Object.assign(process.env, saved);
    }
    const issuerFile = path.join(dataDir, 'issuing.pem');
    writeFileSync(issuerFile, issuingPem);
    const csrFile = path.join(dataDir, 'host.csr');
    opensslText(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', path.join(dataDir, 'host.key'), '-subj', '/CN=host.city.example', '-addext', 'subjectAltName=DNS:host.city.example', '-out', csrFile]);
    const csr = readFileSync(csrFile, 'utf8');
    const base = `https://127.0.0.1:${tlsPort}`;

    const told: Told = { issued: new Set(), revoked: new Set(), cliIssued: new Set() };
    // The CLI issues from another process the whole time, serve up or down.
    let cliRunning = true;
    const cliErrors: string[] = [];
    const cliLoop = (async () => {
      while (cliRunning) {
        const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, '--json', 'ca', 'issue', '--ca', 'city', '--profile', 'server', '--csr', csrFile], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        let out = '';
        let err = '';
        child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
        const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
        children.delete(child);
        if (code === 0) told.cliIssued.add((JSON.parse(out) as { serial: string }).serial);
        else if (!/unavailable|connect|ECONNREFUSED|terminat|shut ?down|database system/i.test(err)) cliErrors.push(err.slice(0, 300));
      }
    })();

    const rounds: Array<{ round: number; issued: number; revoked: number; aliveMs: number; pgStopped?: boolean }> = [];
    const unexpected: string[] = [];
    const serverErrors: string[] = [];
    for (let round = 0; round < KILLS; round++) {
      const serve = startServe(dataDir, env, children);
      await serve.up;
      if (!admin.cookie) {
        // Signed in once: the session is in the database and outlives every kill.
        const reply = await call(base, caPem, admin, 'POST', '/api/access/sign-in', { json: { password: PASSWORD } });
        expect(reply.status).toBe(200);
        admin.cookie = cookieFrom(reply);
        admin.csrf = reply.json().csrf;
      }
      let dead = false;
      const before = { issued: told.issued.size, revoked: told.revoked.size };
      const worker = async (w: number) => {
        for (let n = 0; !dead; n++) {
          try {
            const pool = [...told.issued].filter((s) => !told.revoked.has(s));
            if (n % 3 === 2 && pool.length) {
              const serial = pool[(n * 7 + w) % pool.length]!;
              const reply = await call(base, caPem, admin, 'POST', `/api/ca/city/certificates/${serial}/revoke`, { json: { reason: 'keyCompromise' }, headers: { 'x-csrf-token': admin.csrf! } });
              if (reply.status === 200) told.revoked.add(serial);
              else if (reply.status === 409) told.revoked.add(serial); // revoked by an earlier request whose answer was lost
              else if (reply.status < 500) unexpected.push(`revoke ${reply.status} ${reply.text.slice(0, 200)}`);
            } else {
              const reply = await call(base, caPem, admin, 'POST', '/api/ca/city/certificates', { json: { profile: 'server', csr }, headers: { 'x-csrf-token': admin.csrf! } });
              if (reply.status === 201) told.issued.add(reply.json().serial);
              else if (reply.status < 500) unexpected.push(`issue ${reply.status} ${reply.text.slice(0, 200)}`);
              else serverErrors.push(`issue ${reply.status} ${reply.text.slice(0, 200)}`);
            }
          } catch {
            if (dead) return;
            await sleep(50); // the database away (PostgreSQL restarting): try again
          }
        }
      };
      const workers = [0, 1, 2, 3].map(worker);
      const aliveMs = 1000 + Math.floor(Math.random() * 3000);
      let pgStopped = false;
      if (engine === 'postgres' && round === Math.floor(KILLS / 2)) {
        // PostgreSQL itself goes down mid-issuance, then comes back; serve goes on.
        await sleep(aliveMs);
        await postgres.server.crash();
        await sleep(1000);
        await postgres.server.restart();
        pgStopped = true;
        const after = told.issued.size;
        for (let n = 0; n < 200 && told.issued.size < after + 5; n++) await sleep(100);
        expect(told.issued.size, `serve issued nothing after PostgreSQL came back: ${serverErrors.slice(-3).join(' | ')}\n${serve.log().slice(-1500)}`).toBeGreaterThanOrEqual(after + 5);
      } else await sleep(aliveMs);
      serve.child.kill('SIGKILL');
      await exited(serve.child);
      dead = true;
      await Promise.all(workers);
      rounds.push({ round, issued: told.issued.size - before.issued, revoked: told.revoked.size - before.revoked, aliveMs, ...(pgStopped ? { pgStopped } : {}) });
    }
    cliRunning = false;
    await cliLoop;

    // After the last kill: serve once more, and look at everything.
    const serve = startServe(dataDir, env, children);
    await serve.up;
    const database = await openDatabase({ dataDir, url, migrate: false });
    try {
      expect(unexpected).toEqual([]);
      expect(cliErrors).toEqual([]);
      const rows = await database.db.selectFrom('certificate').select(['serial', 'status']).where('ca_name', '=', 'city').execute();
      const serials = rows.map((r) => r.serial);
      expect(new Set(serials).size, 'a serial twice').toBe(serials.length);
      const byStatus = new Map(rows.map((r) => [r.serial, r.status]));
      const audits = await database.db.selectFrom('audit_log').select(['action', 'object']).where('outcome', '=', 'success').where('action', 'in', ['ca.issue', 'ca.revoke']).execute();
      const issuedAudit = audits.filter((a) => a.action === 'ca.issue').map((a) => a.object.replace(/^ca:city\/serial:/, ''));
      expect(new Set(issuedAudit).size).toBe(issuedAudit.length);
      expect([...issuedAudit].sort(), 'certificate rows and ca.issue records differ').toEqual([...serials].sort());
      const revokedAudit = new Set(audits.filter((a) => a.action === 'ca.revoke').map((a) => a.object.replace(/^ca:city\/serial:/, '')));
      const revokedRows = rows.filter((r) => r.status === 'revoked').map((r) => r.serial);
      expect([...revokedAudit].sort(), 'revoked rows and ca.revoke records differ').toEqual([...revokedRows].sort());
      expect(await verifyAuditLog(database)).toMatchObject({ ok: true });
      for (const s of [...told.issued, ...told.cliIssued]) expect(byStatus.has(s), `told ${s} was issued, but it is not there`).toBe(true);
      for (const s of told.revoked) expect(byStatus.get(s), `told ${s} was revoked`).toBe('revoked');

      // The next CRL lists every revoked certificate; OCSP says revoked for each.
      const built = await call(base, caPem, admin, 'POST', '/api/ca/city/crl', { json: { kind: 'full' }, headers: { 'x-csrf-token': admin.csrf! } });
      expect(built.status).toBeLessThan(300);
      const crl = Buffer.from(await (await fetch(`http://127.0.0.1:${port}/crl/city.crl`)).arrayBuffer());
      const crlFile = path.join(dataDir, 'next.crl');
      writeFileSync(crlFile, crl);
      const crlText = opensslText(['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      const onCrl = new Set([...crlText.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase().replace(/^0+/, '')));
      for (const s of revokedRows) expect(onCrl.has(s.toLowerCase().replace(/^0+/, '')), `revoked ${s} is not on the CRL`).toBe(true);
      for (let i = 0; i < revokedRows.length; i += 20) {
        const chunk = revokedRows.slice(i, i + 20); // the responder takes 20 requests a message
        const text = opensslText(['ocsp', '-issuer', issuerFile, ...chunk.flatMap((s) => ['-serial', `0x${s}`]), '-url', `http://127.0.0.1:${port}/ocsp/city`, '-noverify', '-no_nonce']);
        const statuses = [...text.matchAll(/^0x[0-9a-fA-F]+: (\w+)/gm)].map((m) => m[1]);
        expect(statuses).toHaveLength(chunk.length);
        expect(statuses.every((s) => s === 'revoked'), text).toBe(true);
      }
      const total = { kills: rounds.length, apiIssued: told.issued.size, apiRevoked: told.revoked.size, cliIssued: told.cliIssued.size, rows: rows.length, revokedOnCrl: revokedRows.length };
      expect(total.apiIssued).toBeGreaterThan(0);
      expect(total.apiRevoked).toBeGreaterThan(0);
      console.log(`faults (${engine}): ${JSON.stringify(total)}; rounds ${JSON.stringify(rounds)}`);
    } finally {
      await database.close();
      serve.child.kill('SIGTERM');
      await exited(serve.child);
    }
  }, 120_000 + KILLS * 30_000);
});
