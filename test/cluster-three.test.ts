// Three `egov-ops serve` processes on one PostgreSQL, each with its own
// ports and data directory (the same EGOV_OPS_SECRET_KEY and CA passphrase,
// as docs/deployment.md says). A ca-admin signs in on one instance and
// issues through the others at full speed; the holder of the scheduler lease
// is killed with SIGKILL just after a due time. Afterwards: every scheduled
// job ran exactly once per period (each due time once, none missing, by the
// processes' own logs and by cluster_job_run), another instance took the
// lease over within 30 s (the default 15-s lease), and issuance went on.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSuite } from '../cli/context.js';
import { openDatabase, schedulerLease, verifyAuditLog } from '../core/index.js';
import { call, cookieFrom, type Person } from './support/desk.js';
import { usePostgres } from './support/postgres.js';
import { freePort, startServe } from './support/processes.js';

const postgres = usePostgres();
const PASSPHRASE = 'three instances passphrase 2026';
const PASSWORD = 'Cluster-Admin-Passw0rd!';
const CRL_INTERVAL_S = 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-cluster-three-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Instance {
  index: number;
  dataDir: string;
  port: number;
  tlsPort: number;
  child: ChildProcess;
  readonly log: string;
  up: Promise<void>;
}

function startInstance(index: number, dataDir: string, port: number, tlsPort: number, env: NodeJS.ProcessEnv): Instance {
  const serve = startServe(dataDir, env);
  children.push(serve.child);
  return { index, dataDir, port, tlsPort, child: serve.child, up: serve.up, get log() { return serve.log(); } };
}

/**
 * The (job, due) pairs a process says it ran, from its JSON log lines, and
 * those it says it skipped because the previous run was still going (a
 * 1-s delta CRL on a loaded machine can take longer than its period; the
 * runner then skips that due time and says so, never silently).
 */
function runsInLog(log: string, kind: 'ran' | 'skipped' = 'ran'): Array<{ job: string; due: string }> {
  const pattern = kind === 'ran' ? /^job \S+ (ran|failed)/ : /^job \S+: the run due \S+ is skipped/;
  const runs: Array<{ job: string; due: string }> = [];
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; job?: string; due?: string };
      if (entry.job && entry.due && pattern.test(entry.msg ?? '')) runs.push({ job: entry.job, due: entry.due });
    } catch {
      /* a line cut by the kill */
    }
  }
  return runs;
}

describe('three instances on one PostgreSQL', () => {
  it('runs each scheduled job once per period, takes over from a killed lease holder within 30 s, and keeps issuing', async () => {
    const url = await postgres.createDatabase('cluster_three');
    const env = {
      ...process.env,
      EGOV_OPS_CA_PASSPHRASE: PASSPHRASE,
      EGOV_OPS_SECRET_KEY: randomBytes(32).toString('base64'),
      EGOV_OPS_DATABASE_URL: url,
    };
    const ports = await Promise.all([0, 1, 2, 3, 4, 5].map(() => freePort()));
    const dataDirs = [0, 1, 2].map((i) => path.join(dir, `instance-${i}`));
    for (const [i, dataDir] of dataDirs.entries()) {
      spawnSync('mkdir', ['-p', dataDir]);
      writeFileSync(
        path.join(dataDir, 'config.yaml'),
        [
          `server: { host: 127.0.0.1, port: ${ports[2 * i]}, tlsPort: ${ports[2 * i + 1]}, publicUrl: "http://127.0.0.1:${ports[2 * i]}" }`,
          `ca: { crlIntervalSeconds: ${CRL_INTERVAL_S}, crlAfterRevokeSeconds: 1 }`,
          'log: { level: debug }',
        ].join('\n') + '\n',
      );
    }

    // The CA and a ca-admin, made once in the shared database.
    Object.assign(process.env, { EGOV_OPS_CA_PASSPHRASE: PASSPHRASE, EGOV_OPS_SECRET_KEY: env.EGOV_OPS_SECRET_KEY, EGOV_OPS_DATABASE_URL: url });
    const setup = await openSuite({ dataDir: dataDirs[0]! });
    const admin: Person = await (async () => {
      await setup.authority.initHierarchy({ name: 'city', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Cluster City/CN=Cluster Root CA' }, { actor: 'test', source: 'test' });
      const { generateKeyPairSync } = await import('node:crypto');
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = await setup.authority.issueForPublicKey({ ca: 'city', profile: 'person', subject: 'CN=Cluster Admin,serialNumber=EMP-1,OU=Test', publicKey }, { actor: 'test', source: 'test' });
      await setup.access.bind({ ca: 'city', serial: issued.serial, holder: 'Cluster Admin', roles: ['ca-admin'], password: PASSWORD }, { actor: 'test', source: 'test' });
      return { name: 'Cluster Admin', serial: issued.serial, certPem: issued.certificatePem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    })();
    const caPem = (await setup.authority.chain('city')).map((c) => `-----BEGIN CERTIFICATE-----\n${c.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`).join('');
    await setup.close();
    delete process.env.EGOV_OPS_DATABASE_URL;
    delete process.env.EGOV_OPS_SECRET_KEY;

    const keyFile = path.join(dir, 'host.key');
    const csrFile = path.join(dir, 'host.csr');
    spawnSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-subj', '/CN=host.city.example', '-addext', 'subjectAltName=DNS:host.city.example', '-out', csrFile]);
    const csr = readFileSync(csrFile, 'utf8');

    // Three instances start together (migrations run once, under the advisory lock).
    const instances = dataDirs.map((d, i) => startInstance(i, d, ports[2 * i]!, ports[2 * i + 1]!, env));
    await Promise.all(instances.map((i) => i.up));
    const watch = await openDatabase({ dataDir: '/nonexistent', url, migrate: false });
    try {
      let lease = await schedulerLease(watch);
      for (let n = 0; n < 100 && !lease; n++) lease = (await sleep(200), await schedulerLease(watch));
      expect(lease).not.toBeNull();
      const holderIndex = () => instances.findIndex((i) => lease!.holder.includes(`:${i.child.pid}:`));
      const holder = instances[holderIndex()]!;
      expect(holder).toBeDefined();
      const others = instances.filter((i) => i !== holder);

      // Sign in on one of the others; the session (in the database) is used on both.
      const base = (i: Instance) => `https://127.0.0.1:${i.tlsPort}`;
      const signIn = await call(base(others[0]!), caPem, admin, 'POST', '/api/access/sign-in', { json: { password: PASSWORD } });
      expect(signIn.status).toBe(200);
      admin.cookie = cookieFrom(signIn);
      admin.csrf = signIn.json().csrf;

      const issued: Array<{ serial: string; via: number; at: number }> = [];
      const failures: string[] = [];
      let issuing = true;
      const alive = new Set(instances);
      const issuer = async (worker: number) => {
        for (let n = 0; issuing; n++) {
          const targets = others;
          const target = targets[(worker + n) % targets.length]!;
          try {
            const reply = await call(base(target), caPem, admin, 'POST', '/api/ca/city/certificates', { json: { profile: 'server', csr }, headers: { 'x-csrf-token': admin.csrf! } });
            if (reply.status === 201 || reply.status === 200) issued.push({ serial: reply.json().serial, via: target.index, at: Date.now() });
            else failures.push(`${reply.status} ${reply.text.slice(0, 200)}`);
          } catch (error) {
            if (alive.has(target)) failures.push((error as Error).message);
          }
        }
      };
      const workers = [0, 1, 2, 3].map((w) => issuer(w));

      // Past two CRL periods, then kill the holder just after a due time (mid-schedule).
      await sleep(2 * CRL_INTERVAL_S * 1000 + 2000);
      const period = CRL_INTERVAL_S * 1000;
      await sleep(period - (Date.now() % period) + 30);
      const killedAt = Date.now();
      holder.child.kill('SIGKILL');
      alive.delete(holder);
      const issuedBeforeKill = issued.length;
      let takenOverAt: number | undefined;
      let newHolder: string | undefined;
      while (Date.now() - killedAt < 60_000) {
        const now = await schedulerLease(watch);
        if (now && now.holder !== lease!.holder) {
          takenOverAt = Date.now();
          newHolder = now.holder;
          break;
        }
        await sleep(100);
      }
      expect(takenOverAt, 'no instance took the lease over').toBeDefined();
      const takeOverMs = takenOverAt! - killedAt;
      // Two more CRL periods under the new holder.
      await sleep(2 * period + 3000);
      issuing = false;
      await Promise.all(workers);
      const issuedAfterKill = issued.filter((i) => i.at > killedAt).length;
      const endedAt = Date.now();
      for (const i of others) i.child.kill('SIGTERM');
      await Promise.all(others.map((i) => new Promise((r) => (i.child.exitCode !== null ? r(null) : i.child.once('exit', r)))));

      // Issuance went on through the others, each certificate once.
      expect(failures).toEqual([]);
      expect(issuedBeforeKill).toBeGreaterThan(0);
      expect(issuedAfterKill).toBeGreaterThan(0);
      const serials = issued.map((i) => i.serial);
      expect(new Set(serials).size).toBe(serials.length);
      const stored = await watch.db.selectFrom('certificate').select('serial').where('ca_name', '=', 'city').execute();
      const storedSet = new Set(stored.map((r) => r.serial));
      for (const s of serials) expect(storedSet.has(s)).toBe(true);
      expect(await verifyAuditLog(watch)).toMatchObject({ ok: true });

      // Each scheduled job: every due time from its first to its last ran once, by the processes' own words.
      const logged = instances.flatMap((i) => runsInLog(i.log).map((r) => ({ ...r, instance: i.index })));
      // What the instances said about the lease and catching up, for a failure's message.
      const leaseEvents = instances
        .flatMap((i) => i.log.split('\n').filter((l) => /lease|catch|claim/.test(l)).map((l) => `instance ${i.index}: ${l.slice(0, 300)}`))
        .join('\n');
      const skipped = instances.flatMap((i) => runsInLog(i.log, 'skipped').map((r) => ({ ...r, instance: i.index })));
      const everyMs: Record<string, number> = { 'crl.full': period, 'crl.delta': 1000, 'metrics.rollup': 60_000, 'dashboards.suite-metrics': 60_000 };
      const perPeriod: Record<string, { periods: number; runs: number; skipped: number; byInstance: Record<number, number> }> = {};
      for (const [job, step] of Object.entries(everyMs)) {
        const runs = logged.filter((r) => r.job === job);
        const dues = runs.map((r) => Date.parse(r.due));
        const distinct = [...new Set(dues)].sort((a, b) => a - b);
        expect(dues.length, `${job}: a due time ran twice`).toBe(distinct.length);
        if (step < 60_000) {
          // Short periods: none missing between the first and the last, across the kill.
          // A due time between two runs either ran or was reported skipped (the previous run still going).
          const saidSkipped = new Set(skipped.filter((r) => r.job === job).map((r) => Date.parse(r.due)));
          for (let k = 1; k < distinct.length; k++) {
            for (let due = distinct[k - 1]! + step; due < distinct[k]!; due += step) {
              expect(saidSkipped.has(due), `${job}: the due time ${new Date(due).toISOString()} neither ran nor was reported skipped; the instances said:\n${leaseEvents}`).toBe(true);
            }
            expect((distinct[k]! - distinct[k - 1]!) % step, `${job}: a run off the schedule at ${new Date(distinct[k]!).toISOString()}`).toBe(0);
          }
          expect(distinct[distinct.length - 1]!).toBeGreaterThan(endedAt - 3 * step - 5000);
          expect(distinct[0]!).toBeLessThan(killedAt - step);
        }
        const byInstance: Record<number, number> = {};
        for (const r of runs) byInstance[r.instance] = (byInstance[r.instance] ?? 0) + 1;
        perPeriod[job] = { periods: distinct.length, runs: runs.length, skipped: new Set(skipped.filter((r) => r.job === job && !dues.includes(Date.parse(r.due))).map((r) => r.due)).size, byInstance };
      }
      // Runs before the kill were the holder's, after the take-over another's.
      expect(perPeriod['crl.full']!.byInstance[holder.index]).toBeGreaterThan(0);
      expect(Object.keys(perPeriod['crl.full']!.byInstance).length).toBe(2);
      // The database's record agrees: one row per (job, due), each ended.
      const rows = await watch.db.selectFrom('cluster_job_run').select(['job', 'due', 'ended_at', 'instance']).execute();
      for (const r of logged) expect(rows.some((row) => row.job === r.job && row.due === r.due)).toBe(true);
      const open = rows.filter((r) => r.ended_at === null);
      expect(open, `runs never ended: ${JSON.stringify(open)}`).toEqual([]);

      expect(takeOverMs).toBeLessThanOrEqual(30_000);
      console.log(
        `three instances: take-over ${takeOverMs} ms after SIGKILL of the lease holder (instance ${holder.index}; new holder ${newHolder}); ` +
          `issued ${issuedBeforeKill} before the kill and ${issuedAfterKill} after, through the other two; ` +
          `runs per job (due times = runs, skipped while the previous ran): ${Object.entries(perPeriod).map(([j, p]) => `${j} ${p.periods}=${p.runs} skipped ${p.skipped} ${JSON.stringify(p.byInstance)}`).join('; ')}`,
      );
    } finally {
      await watch.close();
    }
  }, 300_000);
});
