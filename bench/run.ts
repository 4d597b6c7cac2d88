// `npm run bench`: the CA benchmarks of issue 2 section 7, ours and the
// peer's side by side in one run on this machine, one table, JSON under
// bench/results/. Not a test: bars are reported, never asserted; the exit
// code is non-zero only when a figure could not be measured at all.
//
// Sizes: EGOV_BENCH_QUICK=1 for a short run; EGOV_BENCH_SECONDS (library
// issuance), EGOV_BENCH_HTTP_SECONDS, EGOV_BENCH_CRL_ENTRIES,
// EGOV_BENCH_CONCURRENCY, EGOV_BENCH_CONNECTIONS, EGOV_BENCH_SPEED_SECONDS,
// EGOV_BENCH_X509_CERTS, EGOV_BENCH_REVOKES; EGOV_BENCH_GENCRL=0 skips the
// `openssl ca -gencrl` peer; EGOV_BENCH_ONLY=1,3,6 runs only those figures;
// EGOV_BENCH_SERVER_NODE_FLAGS adds node flags to the `egov-ops serve` child
// (e.g. "--cpu-prof --cpu-prof-dir=/var/tmp/prof").
//
// Suites: EGOV_BENCH_SUITE=ca|desk|monitor|backup|dashboards|kb|audit|all (default all), or --ca / --desk / --monitor / --backup / --dashboards / --kb / --audit.
// The kb suite (issue 11, bench/kb.ts): EGOV_BENCH_KB_ARTICLES, _INCIDENTS, _QUERIES (default 100,000, 1,000,000, 200).
// The desk suite (issue 3, bench/desk.ts): EGOV_BENCH_DESK_RECORDS (default 100,000).
// The monitor suite (issue 4, bench/monitor.ts): SNMP walk and poller, syslog, metrics.
// The audit suite (issue 12, bench/audit.ts): EGOV_BENCH_AUDIT_NODES, _HOSTS (default 1,000 nodes, 10 hosts).
// The dashboards suite (issue 13, bench/dashboards.ts): EGOV_BENCH_DASH_DEVICES, _INTERFACES, _DAYS (default 100 x 20 x 7).
// The backup suite (issue 5 section 6, bench/backup.ts): EGOV_BENCH_BACKUP_MB
// (default 2048, 100 with EGOV_BENCH_QUICK=1), EGOV_BENCH_BACKUP_DATA=DIR to
// use an existing data set (it is changed by the incremental step).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type AutocannonResult } from 'autocannon';
import SqliteDatabase from 'better-sqlite3';
import { Authority, CrlService, OcspResponder, fixedPassphrase, newSerial, toPem, type Actor } from '../ca/index.js';
import { openDatabase, verifyAuditLog, type Database } from '../core/index.js';
import { renderBackupTable, runBackupBench } from './backup.js';
import { renderDashboardsTable, runDashboardsBench } from './dashboards.js';
import { renderAlertsTable, runAlertsBench } from './alerts.js';
import { renderKbTable, runKbBench } from './kb.js';
import { renderAuditTable, runAuditBench } from './audit.js';
import { runDeskBench } from './desk.js';
import { renderMonitorTables, runMonitorBench } from './monitor.js';
import { httpsRequest, makeClient, signInClient, startServe, type Client, type Server } from './serve.js';
import { makeCsrs, type CsrSet } from './csr.js';
import {
  cleanup,
  collectGarbage,
  cpuSnapshot,
  median,
  othersShare,
  opensslSpeed,
  percentile,
  removeTempDir,
  rssMiB,
  run,
  runOk,
  runPool,
  sleep,
  spawnTracked,
  stopChild,
  tempDir,
  type PoolResult,
  type SpeedResult,
} from './lib.js';

// ------------------------------------------------------------ settings

const QUICK = process.env.EGOV_BENCH_QUICK === '1';
const num = (name: string, full: number, quick: number) => {
  const raw = process.env[name];
  const value = raw !== undefined && raw !== '' ? Number(raw) : QUICK ? quick : full;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${raw}"`);
  return value;
};
const SETTINGS = {
  quick: QUICK,
  issueSeconds: num('EGOV_BENCH_SECONDS', 8, 2),
  httpSeconds: num('EGOV_BENCH_HTTP_SECONDS', 10, 3),
  concurrency: num('EGOV_BENCH_CONCURRENCY', 64, 64),
  connections: num('EGOV_BENCH_CONNECTIONS', 64, 64),
  speedSeconds: num('EGOV_BENCH_SPEED_SECONDS', 3, 1),
  csrCount: num('EGOV_BENCH_CSRS', 512, 256),
  x509Certs: num('EGOV_BENCH_X509_CERTS', 100, 20),
  crlEntries: num('EGOV_BENCH_CRL_ENTRIES', 1_000_000, 100_000),
  revokes: num('EGOV_BENCH_REVOKES', 50, 20),
  gencrlPeer: process.env.EGOV_BENCH_GENCRL !== '0',
  only: (process.env.EGOV_BENCH_ONLY ?? '').split(',').filter(Boolean).map(Number),
};
const wanted = (figure: number) => SETTINGS.only.length === 0 || SETTINGS.only.includes(figure);

const PASSPHRASE = 'bench-passphrase-' + randomBytes(8).toString('hex');
const ADMIN_PASSWORD = 'Bench-Admin-' + randomBytes(6).toString('hex');
const ACTOR: Actor = { actor: 'bench', source: 'bench' };
const PUBLIC_URL = 'http://127.0.0.1:8080';
const CLI_MAIN = fileURLToPath(new URL('../egov-ops/main.js', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('../../bench/results/', import.meta.url));
const CORES = os.availableParallelism?.() ?? os.cpus().length;

const log = (line: string) => process.stderr.write(`${line}\n`);
const fmt = (n: number | null | undefined, digits = 0) =>
  n === null || n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ------------------------------------------------------------ figures

interface Figure {
  id: number;
  name: string;
  unit: string;
  ours: number | null;
  oursText: string;
  peer: number | null;
  peerText: string;
  /** ours / peer for rates; peer / ours for times (so > 1 always means we are better). */
  ratio: number | null;
  bar: string;
  met: boolean | null;
  notes: string[];
  details: Record<string, unknown>;
  /** Share of the machine's CPU used by processes other than ours while the figure ran. */
  othersCpu?: number | null;
  error?: string;
}

const figures: Figure[] = [];

function figure(id: number, name: string, unit: string, bar: string): Figure {
  const f: Figure = { id, name, unit, ours: null, oursText: '-', peer: null, peerText: '-', ratio: null, bar, met: null, notes: [], details: {} };
  figures.push(f);
  return f;
}

async function measure(f: Figure, work: () => Promise<void>): Promise<void> {
  const started = performance.now();
  log(`\n[${f.id}] ${f.name} ...`);
  const cpuBefore = cpuSnapshot();
  try {
    await work();
    const others = othersShare(cpuBefore, cpuSnapshot());
    f.othersCpu = others;
    if (others !== null && others >= 0.05) f.notes.push(`other processes used ${(100 * others).toFixed(0)}% of the machine's CPU while this figure ran: it may read low`);
    log(`[${f.id}] ours ${f.oursText}${f.peer !== null || f.peerText !== '-' ? `, peer ${f.peerText}` : ''}${f.met === null ? '' : f.met ? '  (bar met)' : '  (bar NOT met)'}  [${((performance.now() - started) / 1000).toFixed(1)} s]`);
  } catch (error) {
    f.error = (error as Error).stack ?? String(error);
    f.met = f.met ?? null;
    log(`[${f.id}] FAILED: ${(error as Error).message}`);
  }
}

// ------------------------------------------------------------ machine and peers

interface Machine {
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  nodeOpenssl: string;
  openssl: string;
  platform: string;
}

async function machine(): Promise<Machine> {
  const openssl = (await run('openssl', ['version'])).stdout.trim();
  return {
    cores: CORES,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    nodeOpenssl: process.versions.openssl,
    openssl,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

const speeds: Record<string, (SpeedResult & { othersCpu: number | null }) | { error: string }> = {};
async function speed(algorithm: string): Promise<SpeedResult | undefined> {
  if (!(algorithm in speeds)) {
    log(`openssl speed -seconds ${SETTINGS.speedSeconds} ${algorithm} ...`);
    try {
      const before = cpuSnapshot();
      const result = await opensslSpeed(algorithm, SETTINGS.speedSeconds);
      speeds[algorithm] = { ...result, othersCpu: othersShare(before, cpuSnapshot()) };
    } catch (error) {
      speeds[algorithm] = { error: (error as Error).message };
    }
  }
  const s = speeds[algorithm]!;
  return 'sign' in s ? s : undefined;
}

// ------------------------------------------------------------ library issuance

interface Lib {
  dir: string;
  database: Database;
  authority: Authority;
}

async function openLib(label: string): Promise<Lib> {
  const dir = tempDir(label);
  const database = await openDatabase({ dataDir: dir });
  const authority = new Authority({ database, publicUrl: PUBLIC_URL, passphrase: fixedPassphrase(PASSPHRASE) });
  return { dir, database, authority };
}

const HIERARCHIES = {
  'bench-ecdsa': { algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Government/OU=Bench/CN=Bench ECDSA Root CA' },
  'bench-sm2': { algorithm: 'sm2', subject: '/C=CN/O=City E-Government/OU=Bench/CN=Bench SM2 Root CA' },
  'bench-rsa': { algorithm: 'rsa-2048', subject: '/C=CN/O=City E-Government/OU=Bench/CN=Bench RSA Root CA' },
} as const;
type CaName = keyof typeof HIERARCHIES;

async function initCa(authority: Authority, name: CaName | 'bench-crl'): Promise<void> {
  const spec = name === 'bench-crl' ? { algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Government/OU=Bench/CN=Bench CRL Root CA' } : HIERARCHIES[name];
  await authority.initHierarchy({ name, ...spec }, ACTOR);
  await authority.signingContext(name); // open the keys now, not inside the timed loop
}

async function certificateCount(database: Database, ca: string): Promise<number> {
  const row = await database.db.selectFrom('certificate').select((eb) => eb.fn.countAll<number>().as('n')).where('ca_name', '=', ca).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Issues from the CSR set with `concurrency` in flight: 1 s warm-up, then the timed run. */
async function issueRate(lib: Lib, ca: string, csrs: CsrSet, seconds: number, concurrency = SETTINGS.concurrency): Promise<PoolResult & { persisted: number }> {
  let next = 0;
  const task = () => lib.authority.issueFromCsr({ ca, profile: 'server', csr: csrs.pems[next++ % csrs.pems.length]! }, ACTOR);
  const warm = await runPool({ durationMs: Math.min(1000, seconds * 250), concurrency, task });
  if (warm.ops === 0) throw new Error(`warm-up issued nothing: ${warm.firstError}`);
  const before = await certificateCount(lib.database, ca);
  collectGarbage();
  const result = await runPool({ durationMs: seconds * 1000, concurrency, task });
  const persisted = (await certificateCount(lib.database, ca)) - before;
  if (result.errors) throw new Error(`${result.errors} issuances failed: ${result.firstError}`);
  return { ...result, persisted };
}

/** openssl verify of one certificate we issued, against our chain: the output is real. */
async function verifyWithOpenssl(lib: Lib, ca: string, csrPem: string, work: string, sm2 = false): Promise<{ ok: boolean; text: string }> {
  const issued = await lib.authority.issueFromCsr({ ca, profile: 'server', csr: csrPem }, ACTOR);
  const [issuing, root] = await lib.authority.chain(ca);
  const certFile = path.join(work, `${ca}-leaf.pem`);
  const rootFile = path.join(work, `${ca}-root.pem`);
  const issuingFile = path.join(work, `${ca}-issuing.pem`);
  writeFileSync(certFile, issued.certificatePem);
  writeFileSync(rootFile, toPem('CERTIFICATE', root!));
  writeFileSync(issuingFile, toPem('CERTIFICATE', issuing!));
  if (!sm2) {
    const result = await run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', issuingFile, certFile]);
    return { ok: result.code === 0, text: result.code === 0 ? 'openssl verify (leaf, issuing, root): OK' : `openssl verify FAILED: ${(result.stdout + result.stderr).trim().slice(0, 200)}` };
  }
  // OpenSSL 3.0 fails SM2 chains with an intermediate (openssl issue 23471):
  // each link is checked on its own, with the GM/T 0009 default ID.
  const links = [
    ['leaf by issuing', ['verify', '-vfyopt', 'distid:1234567812345678', '-partial_chain', '-CAfile', issuingFile, certFile]],
    ['issuing by root', ['verify', '-vfyopt', 'distid:1234567812345678', '-CAfile', rootFile, issuingFile]],
  ] as const;
  const outcomes: string[] = [];
  let ok = true;
  for (const [label, args] of links) {
    const result = await run('openssl', [...args]);
    ok &&= result.code === 0;
    outcomes.push(result.code === 0 ? `${label} OK` : `${label} FAILED: ${(result.stdout + result.stderr).trim().replace(/\s+/g, ' ').slice(0, 200)}`);
  }
  return { ok, text: `openssl verify -vfyopt distid:1234567812345678, link by link: ${outcomes.join('; ')}` };
}

// ------------------------------------------------------------ the server as a child process

function summariseCannon(result: AutocannonResult) {
  return {
    durationSeconds: result.duration,
    ok2xx: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => [code, (stat as { count: number }).count])),
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    rate2xx: result['2xx'] / result.duration,
  };
}

// ------------------------------------------------------------ main

async function main(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  log(`egov-ops CA benchmarks${QUICK ? ' (QUICK sizes)' : ''}`);
  log(`machine: ${info.cores} cores (${info.cpu}), ${info.memoryGiB} GiB, node ${info.node} (OpenSSL ${info.nodeOpenssl}), ${info.openssl}`);
  const work = tempDir('work');
  const idleBefore = cpuSnapshot();
  await sleep(1000);
  const busyAtStart = othersShare(idleBefore, cpuSnapshot());
  if (busyAtStart !== null) log(`other processes are using ${(100 * busyAtStart).toFixed(0)}% of the machine's CPU before the start${busyAtStart >= 0.1 ? ': expect low and noisy numbers' : ''}`);

  // Peers first, on a quiet machine.
  if (wanted(1) || wanted(2)) await speed('ecdsap256');
  if (wanted(3)) await speed('sm2');
  if (wanted(4)) await speed('rsa2048');

  const needLib = [1, 2, 3, 4, 5, 8].some(wanted);
  const lib = needLib ? await openLib('lib') : undefined;
  let ecdsaCsrs: CsrSet | undefined;
  let ecdsaRate: number | null = null;
  if (lib) {
    log('setting up: three hierarchies (ECDSA P-256, SM2, RSA-2048) and the CSRs ...');
    for (const name of Object.keys(HIERARCHIES) as CaName[]) {
      if ((name === 'bench-sm2' && !wanted(3)) || (name === 'bench-rsa' && !wanted(4))) continue;
      await initCa(lib.authority, name);
    }
    ecdsaCsrs = await makeCsrs('ecdsa-p256', SETTINGS.csrCount);
  }

  // ---- 1. ECDSA P-256 from CSRs, persisted, library
  const f1 = figure(1, 'ECDSA P-256 certs/s from CSRs, persisted (library)', '/s', '>= 5,000/s');
  if (wanted(1) && lib && ecdsaCsrs) {
    await measure(f1, async () => {
      const r = await issueRate(lib, 'bench-ecdsa', ecdsaCsrs!, SETTINGS.issueSeconds);
      ecdsaRate = r.rate;
      const single = await runPool({ durationMs: 1500, concurrency: 1, task: (i) => lib.authority.issueFromCsr({ ca: 'bench-ecdsa', profile: 'server', csr: ecdsaCsrs!.pems[i % ecdsaCsrs!.pems.length]! }, ACTOR) });
      const peer = await speed('ecdsap256');
      f1.ours = r.rate;
      f1.oursText = `${fmt(r.rate)}/s`;
      if (peer) {
        f1.peer = peer.sign;
        f1.peerText = `${fmt(peer.sign)} signs/s (openssl speed, 1 core)`;
        f1.ratio = r.rate / peer.sign;
      }
      f1.met = r.rate >= 5000;
      f1.notes.push(
        `${r.ops} certificates in ${r.seconds.toFixed(2)} s, ${SETTINGS.concurrency} in flight, ${r.persisted} rows persisted with audit records; ${ecdsaCsrs!.pems.length} distinct CSRs (distinct keys) cycled, profile "server" (CN + DNS SAN)`,
        `one at a time (concurrency 1): ${fmt(single.rate)}/s, ${((1000 * single.seconds) / Math.max(1, single.ops)).toFixed(2)} ms per certificate`,
        'EJBCA publishes 20-200 certificates/s by default (>100/s tuned): ours is ' + `${fmt(r.rate / 200, 1)}x its upper figure`,
      );
      const verified = await verifyWithOpenssl(lib, 'bench-ecdsa', ecdsaCsrs!.pems[0]!, work);
      f1.notes.push(verified.text);
      if (!verified.ok) f1.met = false;
      f1.details = { ...r, concurrency: SETTINGS.concurrency, singleFlight: single, opensslSpeed: peer ?? speeds.ecdsap256, ejbcaPublished: '20-200/s' };
    });
  }

  // ---- 3. SM2 persisted
  const f3 = figure(3, 'SM2 certs/s from CSRs, persisted (library)', '/s', '>= 1,000/s');
  if (wanted(3) && lib) {
    await measure(f3, async () => {
      const csrs = await makeCsrs('sm2', SETTINGS.csrCount);
      const r = await issueRate(lib, 'bench-sm2', csrs, SETTINGS.issueSeconds);
      const peer = await speed('sm2');
      f3.ours = r.rate;
      f3.oursText = `${fmt(r.rate)}/s`;
      if (peer) {
        f3.peer = peer.sign;
        f3.peerText = `${fmt(peer.sign)} signs/s (openssl speed sm2, 1 core)`;
        f3.ratio = r.rate / peer.sign;
      }
      f3.met = r.rate >= 1000;
      f3.notes.push(
        `${r.ops} certificates in ${r.seconds.toFixed(2)} s, ${SETTINGS.concurrency} in flight, ${r.persisted} rows persisted; each needs one SM2 verify (the CSR) and one SM2 sign (SM3withSM2, ID 1234567812345678)`,
        peer ? `openssl speed sm2 on this machine: ${fmt(peer.sign)} sign/s, ${fmt(peer.verify)} verify/s per core` : 'openssl speed sm2 failed',
      );
      const verified = await verifyWithOpenssl(lib, 'bench-sm2', csrs.pems[0]!, work, true);
      f3.notes.push(verified.text);
      if (!verified.ok) f3.met = false;
      f3.details = { ...r, opensslSpeed: peer ?? speeds.sm2 };
    });
  }

  // ---- 4. RSA-2048
  const f4 = figure(4, 'RSA-2048 certs/s from CSRs, persisted (library)', '/s', '>= 70% of openssl speed rsa2048 sign');
  if (wanted(4) && lib) {
    await measure(f4, async () => {
      const csrs = await makeCsrs('rsa-2048', SETTINGS.csrCount, 32);
      const r = await issueRate(lib, 'bench-rsa', csrs, SETTINGS.issueSeconds);
      const peer = await speed('rsa2048');
      f4.ours = r.rate;
      f4.oursText = `${fmt(r.rate)}/s`;
      if (peer) {
        f4.peer = peer.sign;
        f4.peerText = `${fmt(peer.sign)} signs/s (openssl speed, 1 core)`;
        f4.ratio = r.rate / peer.sign;
        f4.bar = `>= ${fmt(0.7 * peer.sign)}/s (70% of ${fmt(peer.sign)})`;
        f4.met = r.rate >= 0.7 * peer.sign;
      }
      const verified = await verifyWithOpenssl(lib, 'bench-rsa', csrs.pems[0]!, work);
      f4.notes.push(`${r.ops} certificates in ${r.seconds.toFixed(2)} s, ${SETTINGS.concurrency} in flight, ${r.persisted} rows persisted; ${csrs.pems.length} CSRs over ${csrs.distinctKeys} RSA keys`, verified.text);
      if (!verified.ok) f4.met = false;
      f4.details = { ...r, opensslSpeed: peer ?? speeds.rsa2048 };
    });
  }

  // ---- 5. versus openssl x509 -req, one process per certificate
  const f5 = figure(5, 'vs `openssl x509 -req` spawned per cert (ECDSA P-256)', '/s', 'ratio reported');
  if (wanted(5) && lib && ecdsaCsrs) {
    await measure(f5, async () => {
      const dir = path.join(work, 'openssl-ca');
      mkdirSync(dir);
      await runOk('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', path.join(dir, 'ca.key')]);
      await runOk('openssl', ['req', '-x509', '-new', '-key', path.join(dir, 'ca.key'), '-subj', '/C=CN/O=City E-Government/CN=Peer Issuing CA', '-days', '3650', '-out', path.join(dir, 'ca.pem')]);
      writeFileSync(
        path.join(dir, 'ext.cnf'),
        [
          '[v3]',
          'basicConstraints = critical, CA:FALSE',
          'keyUsage = critical, digitalSignature',
          'extendedKeyUsage = serverAuth',
          'subjectKeyIdentifier = hash',
          'authorityKeyIdentifier = keyid',
          `crlDistributionPoints = URI:${PUBLIC_URL}/crl/peer.crl`,
          `authorityInfoAccess = OCSP;URI:${PUBLIC_URL}/ocsp/peer, caIssuers;URI:${PUBLIC_URL}/ca/peer.crt`,
          '',
        ].join('\n'),
      );
      const count = SETTINGS.x509Certs;
      for (let i = 0; i < count; i++) writeFileSync(path.join(dir, `req-${i}.pem`), ecdsaCsrs!.pems[i % ecdsaCsrs!.pems.length]!);
      const args = (i: number) => [
        'x509', '-req', '-in', path.join(dir, `req-${i}.pem`), '-CA', path.join(dir, 'ca.pem'), '-CAkey', path.join(dir, 'ca.key'),
        '-set_serial', `0x${newSerial()}`, '-days', '397', '-sha256', '-copy_extensions', 'copy', '-extfile', path.join(dir, 'ext.cnf'), '-extensions', 'v3',
        '-out', path.join(dir, `cert-${i}.pem`),
      ];
      const peer = await runPool({ durationMs: 600_000, concurrency: CORES, maxOps: count, task: (i) => runOk('openssl', args(i)) });
      if (peer.errors) throw new Error(`openssl x509 -req failed: ${peer.firstError}`);
      const sequential = await runPool({ durationMs: 600_000, concurrency: 1, maxOps: Math.min(count, 30), task: (i) => runOk('openssl', args(i)) });
      const ours = ecdsaRate ?? (await issueRate(lib, 'bench-ecdsa', ecdsaCsrs!, 2)).rate;
      f5.ours = ours;
      f5.oursText = `${fmt(ours)}/s (fig. 1)`;
      f5.peer = peer.rate;
      f5.peerText = `${fmt(peer.rate)}/s (${CORES} at a time)`;
      f5.ratio = ours / peer.rate;
      f5.notes.push(
        `openssl x509 -req -CA -CAkey (key in clear, same extensions, SAN copied from the CSR), one process per certificate: ${count} certs in ${peer.seconds.toFixed(2)} s with ${CORES} processes at a time; one at a time: ${fmt(sequential.rate)}/s (${((1000 * sequential.seconds) / sequential.ops).toFixed(1)} ms each)`,
        'openssl writes files only: no database row, no audit record, no policy check; ours does all three',
      );
      f5.details = { opensslParallel: peer, opensslSequential: sequential, oursRate: ours };
    });
  }

  // ---- 8 (library part). OCSP respond() in a loop, cached
  let ocspLibrary: { rate: number; ops: number; uncachedRate: number } | undefined;
  if (wanted(8) && lib && ecdsaCsrs) {
    try {
      const ocsp = new OcspResponder(lib.authority, { validitySeconds: 3600 });
      const issued = await lib.authority.issueFromCsr({ ca: 'bench-ecdsa', profile: 'server', csr: ecdsaCsrs.pems[1]! }, ACTOR);
      const request = await ocspRequest(lib.authority, 'bench-ecdsa', issued.serial, work);
      await ocsp.respond('bench-ecdsa', request);
      const r = await runPool({ durationMs: 2000, concurrency: 1, task: () => ocsp.respond('bench-ecdsa', request) });
      // Uncached for context: a fresh responder each time means a DB lookup and a signature per answer.
      const uncached = await runPool({
        durationMs: 1500,
        concurrency: SETTINGS.concurrency,
        task: async () => {
          const fresh = new OcspResponder(lib.authority, { validitySeconds: 3600 });
          await fresh.respond('bench-ecdsa', request);
        },
      });
      ocspLibrary = { rate: r.rate, ops: r.ops, uncachedRate: uncached.rate };
    } catch (error) {
      log(`OCSP library rate failed: ${(error as Error).message}`);
    }
  }

  if (lib) {
    try {
      const audit = await verifyAuditLog(lib.database);
      log(`library database: audit chain ${audit.ok ? 'intact' : 'BROKEN'} over ${audit.records} records`);
      for (const f of [f1, f3, f4]) if (f.ours !== null) f.notes.push(`audit chain verified after the run: ${audit.ok ? 'intact' : 'BROKEN'} (${audit.records} records)`);
    } catch (error) {
      log(`audit verify failed: ${(error as Error).message}`);
    }
    await lib.database.close();
    removeTempDir(lib.dir);
  }

  // ---- 6 and 7. CRL with 1,000,000 revoked; one revoke on top
  const f6 = figure(6, `CRL with ${fmt(SETTINGS.crlEntries)} revoked: build time`, 's', '<= 10 s, <= 45 MB, openssl parses it');
  const f7 = figure(7, `one revoke with ${fmt(SETTINGS.crlEntries)} already revoked (median)`, 'ms', '<= 5 ms');
  if (wanted(6) || wanted(7)) {
    const crlLib = await openLib('crl');
    const ca = 'bench-crl';
    let insertNote = '';
    let goodSerials: string[] = [];
    try {
      await initCa(crlLib.authority, ca);
      const csrs = await makeCsrs('ecdsa-p256', SETTINGS.revokes + 2, SETTINGS.revokes + 2, 'revoke');
      for (const pem of csrs.pems) goodSerials.push((await crlLib.authority.issueFromCsr({ ca, profile: 'server', csr: pem }, ACTOR)).serial);
      const t0 = performance.now();
      insertRevokedRows(crlLib.database.location, ca, SETTINGS.crlEntries);
      insertNote = `${fmt(SETTINGS.crlEntries)} revoked rows were inserted straight into the certificate table with SQL (status revoked, reason keyCompromise, random 9-byte serials, distinct revocation times, 16-byte dummy DER), not through issueFromCsr; took ${((performance.now() - t0) / 1000).toFixed(1)} s`;
      log(insertNote);
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      f6.error = f7.error = message;
      log(`CRL set-up failed: ${message}`);
    }

    if (wanted(6) && !f6.error) {
      await measure(f6, async () => {
        const crls = new CrlService(crlLib.authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 2 });
        collectGarbage();
        const rssBefore = process.memoryUsage().rss;
        const t0 = performance.now();
        const built = await crls.build(ca, 'full');
        const seconds = (performance.now() - t0) / 1000;
        const peakRss = process.resourceUsage().maxRSS / 1024;
        const crlFile = path.join(work, 'big.crl');
        writeFileSync(crlFile, built.der);
        const [issuing, root] = await crlLib.authority.chain(ca);
        const chainFile = path.join(work, 'crl-chain.pem');
        writeFileSync(chainFile, toPem('CERTIFICATE', issuing!) + toPem('CERTIFICATE', root!));
        const parse = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-crlnumber']);
        const verify = await run('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-CAfile', chainFile]);
        const parsed = parse.code === 0 && /crlNumber=/.test(parse.stdout);
        const verified = verify.code === 0 && /verify OK/.test(verify.stdout + verify.stderr);
        const mb = built.der.length / 1e6;
        f6.ours = seconds;
        f6.oursText = `${seconds.toFixed(2)} s, ${mb.toFixed(1)} MB`;
        f6.met = seconds <= 10 && mb <= 45 && parsed;
        f6.notes.push(
          insertNote,
          `${fmt(built.entries)} entries, ${built.der.length} bytes DER (${(built.der.length / built.entries).toFixed(1)} B/entry), CRL number ${built.number}; the build reads the rows, encodes, signs, stores the CRL and its audit record`,
          `openssl crl -noout -crlnumber parses it in ${(parse.ms / 1000).toFixed(2)} s: ${parsed ? parse.stdout.trim() : 'FAILED ' + parse.stderr.trim().slice(0, 200)}; openssl crl -CAfile (signature): ${verified ? 'verify OK' : 'FAILED ' + (verify.stdout + verify.stderr).trim().slice(0, 200)} in ${(verify.ms / 1000).toFixed(2)} s`,
          `process RSS ${fmt(rssBefore / 2 ** 20)} MiB before the build, peak ${fmt(peakRss)} MiB`,
        );
        f6.details = { seconds, bytes: built.der.length, entries: built.entries, opensslParse: { ok: parsed, seconds: parse.ms / 1000, out: parse.stdout.trim() }, opensslVerify: { ok: verified, seconds: verify.ms / 1000 }, rssBeforeMiB: rssBefore / 2 ** 20, peakRssMiB: peakRss };
        if (SETTINGS.gencrlPeer) {
          const peer = await opensslGencrl(work, SETTINGS.crlEntries);
          f6.peer = peer.seconds;
          f6.peerText = `${peer.seconds.toFixed(2)} s (openssl ca -gencrl)`;
          f6.ratio = peer.seconds / seconds;
          f6.notes.push(`peer: openssl ca -gencrl over an index.txt of ${fmt(SETTINGS.crlEntries)} revoked entries (ECDSA P-256 key in clear): ${peer.seconds.toFixed(2)} s, ${(peer.derBytes / 1e6).toFixed(1)} MB DER, peak RSS ${fmt(peer.maxRssMiB)} MiB; ratio = its time / ours`);
          f6.details.opensslGencrl = peer;
        } else {
          f6.peerText = 'openssl crl parse ' + `${(parse.ms / 1000).toFixed(2)} s`;
        }
        f6.notes.push('Vault PKI (published): 2-3 s per CRL rebuild at 16.9k entries (~38 B/entry)');
        // A delta after a few revokes, for context: what a revoke triggers in a running server.
      });
    }

    if (wanted(7) && !f7.error) {
      await measure(f7, async () => {
        const times: number[] = [];
        const serials = goodSerials.slice(0, SETTINGS.revokes);
        // One revoke untimed first: it opens statements and warms the page cache like a running server.
        await crlLib.authority.revoke({ ca, serial: goodSerials[goodSerials.length - 1]!, reason: 'keyCompromise' }, ACTOR);
        collectGarbage();
        for (const serial of serials) {
          const t0 = performance.now();
          await crlLib.authority.revoke({ ca, serial, reason: 'keyCompromise' }, ACTOR);
          times.push(performance.now() - t0);
        }
        const med = median(times);
        f7.ours = med;
        f7.oursText = `${med.toFixed(2)} ms`;
        f7.peer = 2500;
        f7.peerText = 'Vault 2-3 s (published, 16.9k entries)';
        f7.ratio = 2500 / med;
        f7.met = med <= 5;
        const crls = new CrlService(crlLib.authority, { validityHours: 24, intervalSeconds: 3600, afterChangeSeconds: 2 });
        const t0 = performance.now();
        const delta = await crls.build(ca, 'delta');
        const deltaMs = performance.now() - t0;
        f7.notes.push(
          `${times.length} revokes one after another on good certificates in a database holding ${fmt(SETTINGS.crlEntries)} revoked rows: median ${med.toFixed(2)} ms, p95 ${percentile(times, 95).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms; each is one transaction with its audit record, no CRL work`,
          `the delta CRL that follows (built separately, as the server does ~2 s later): ${delta.entries} entries in ${deltaMs.toFixed(0)} ms`,
        );
        f7.details = { timesMs: times, medianMs: med, p95Ms: percentile(times, 95), maxMs: Math.max(...times), deltaCrl: { entries: delta.entries, ms: deltaMs, kind: delta.kind } };
      });
    }
    await crlLib.database.close();
    removeTempDir(crlLib.dir);
  }

  // ---- 9, 2, 8: egov-ops serve as a child process
  const f2 = figure(2, 'ECDSA P-256 certs/s through the HTTP API', '/s', '>= 2,000/s');
  const f8 = figure(8, 'OCSP responses/s, cached, over HTTP', '/s', '>= 10,000/s');
  const f9 = figure(9, '`egov-ops serve` resident memory, idle', 'MiB', '<= 150 MB');
  if (wanted(2) || wanted(8) || wanted(9)) {
    let server: Server | undefined;
    const srvDir = tempDir('serve');
    try {
      // The data directory a deployment would have: an SM2 and an ECDSA hierarchy (like `serve --demo`).
      const database = await openDatabase({ dataDir: srvDir });
      const authority = new Authority({ database, publicUrl: PUBLIC_URL, passphrase: fixedPassphrase(PASSPHRASE) });
      await initCa(authority, 'bench-ecdsa');
      await initCa(authority, 'bench-sm2');
      const csrs = await makeCsrs('ecdsa-p256', SETTINGS.csrCount, SETTINGS.csrCount, 'http');
      const ocspTarget = await authority.issueFromCsr({ ca: 'bench-ecdsa', profile: 'server', csr: csrs.pems[0]! }, ACTOR);
      const ocspReq = await ocspRequest(authority, 'bench-ecdsa', ocspTarget.serial, work);
      const [issuingDer] = await authority.chain('bench-ecdsa');
      const admin: Client = await makeClient(database, authority, 'bench-ecdsa', 'Bench Admin', ['ca-admin'], ADMIN_PASSWORD);
      await database.close();

      server = await startServe(CLI_MAIN, srvDir, PASSPHRASE);
      await signInClient(server.secureUrl, admin);
      const pid = server.child.pid!;
      log(`egov-ops serve pid ${pid} listening on ${server.url}`);

      // ---- 9. idle RSS
      if (wanted(9)) {
        await measure(f9, async () => {
          await sleep(3000);
          const rss = rssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
          f9.ours = rss;
          f9.oursText = `${rss.toFixed(1)} MiB`;
          f9.met = rss * 1.048576 <= 150;
          f9.peerText = 'n/a (no peer serves this)';
          f9.notes.push(`VmRSS of \`node dist/egov-ops/main.js serve\` 3 s after it listened, two hierarchies (ECDSA P-256, SM2), full CRLs built at start; bar read as 150 MB = ${(150 / 1.048576).toFixed(1)} MiB`);
          f9.details = { rssMiB: rss, pid };
        });
      }

      // ---- 2. issuance over HTTP
      if (wanted(2)) {
        await measure(f2, async () => {
          const bodies = csrs.pems.map((csr) => JSON.stringify({ profile: 'server', csr }));
          // A ca-admin signed in with certificate and password, over the mTLS listener, as a real client calls it.
          const headers = { 'content-type': 'application/json', cookie: `egov_session=${admin.cookie}` };
          const probe = await httpsRequest(server!.secureUrl, admin, 'POST', '/api/ca/bench-ecdsa/certificates', JSON.parse(bodies[0]!));
          if (probe.status !== 201) throw new Error(`POST /api/ca/bench-ecdsa/certificates answered ${probe.status}: ${probe.text.slice(0, 300)}`);
          let next = 0;
          const requests = [{ method: 'POST', path: '/api/ca/bench-ecdsa/certificates', headers, setupRequest: (req: { body?: string | Buffer }) => ({ ...req, body: bodies[next++ % bodies.length]! }) }];
          const tlsOptions = { cert: admin.certPem, key: admin.keyPem };
          await autocannon({ url: server!.secureUrl, connections: SETTINGS.connections, duration: Math.min(2, SETTINGS.httpSeconds), requests, tlsOptions } as Parameters<typeof autocannon>[0]);
          // Three rounds, the median kept: on a two-core machine that also runs
          // the load generator, single runs of this figure spread widely.
          const rounds: ReturnType<typeof summariseCannon>[] = [];
          for (let round = 0; round < 3; round++) {
            const result = await autocannon({ url: server!.secureUrl, connections: SETTINGS.connections, duration: Math.max(3, Math.round(SETTINGS.httpSeconds / 2)), requests, tlsOptions } as Parameters<typeof autocannon>[0]);
            rounds.push(summariseCannon(result));
          }
          const s = [...rounds].sort((a, b) => a.rate2xx - b.rate2xx)[1]!;
          const allClean = rounds.every((r) => r.non2xx === 0 && r.errors === 0);
          f2.ours = s.rate2xx;
          f2.oursText = `${fmt(s.rate2xx)}/s`;
          f2.peer = 200;
          f2.peerText = 'EJBCA 20-200/s (published)';
          f2.ratio = s.rate2xx / 200;
          f2.met = s.rate2xx >= 2000 && allClean;
          f2.notes.push(
            `autocannon, ${SETTINGS.connections} connections, 3 rounds of ${s.durationSeconds} s after a 2 s warm-up: ${rounds.map((r) => `${fmt(r.rate2xx)}/s`).join(', ')} (the median is the figure); ${rounds.reduce((n, r) => n + r.ok2xx, 0)} x 201, ${rounds.reduce((n, r) => n + r.non2xx, 0)} non-2xx, ${rounds.reduce((n, r) => n + r.errors, 0)} errors; median round's latency p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms`,
            `POST /api/ca/NAME/certificates {profile, csr PEM} over HTTPS with a ca-admin client certificate and password session (mTLS, keep-alive); ${bodies.length} distinct CSR bodies cycled; server is \`egov-ops serve\` in its own process, load generator in this one`,
            ecdsaRate !== null ? `library rate (fig. 1): ${fmt(ecdsaRate)}/s, so HTTP keeps ${((100 * s.rate2xx) / ecdsaRate).toFixed(0)}% of it` : '',
          );
          f2.details = { median: s, rounds };
        });
      }

      // ---- 8. OCSP over HTTP, cached
      if (wanted(8)) {
        await measure(f8, async () => {
          const headers = { 'content-type': 'application/ocsp-request' };
          const probe = await fetch(`${server!.url}/ocsp/bench-ecdsa`, { method: 'POST', headers, body: new Uint8Array(ocspReq) });
          const answer = Buffer.from(await probe.arrayBuffer());
          if (probe.status !== 200) throw new Error(`POST /ocsp/bench-ecdsa answered ${probe.status}: ${answer.toString('utf8').slice(0, 300)}`);
          const respFile = path.join(work, 'ocsp-resp.der');
          const issuingFile = path.join(work, 'ocsp-issuing.pem');
          writeFileSync(respFile, answer);
          writeFileSync(issuingFile, toPem('CERTIFICATE', issuingDer!));
          const check = await run('openssl', ['ocsp', '-respin', respFile, '-resp_text', '-noverify', '-issuer', issuingFile, '-serial', `0x${ocspTarget.serial}`]);
          const good = /Cert Status: good/.test(check.stdout) || new RegExp(`0x${ocspTarget.serial}: good`, 'i').test(check.stdout);
          const requests = [{ method: 'POST', path: '/ocsp/bench-ecdsa', headers, body: ocspReq }];
          await autocannon({ url: server!.url, connections: SETTINGS.connections, duration: 1, requests });
          const result = await autocannon({ url: server!.url, connections: SETTINGS.connections, duration: SETTINGS.httpSeconds, requests });
          const s = summariseCannon(result);
          f8.ours = s.rate2xx;
          f8.oursText = `${fmt(s.rate2xx)}/s`;
          f8.peer = 100_000;
          f8.peerText = "Let's Encrypt ~100,000/s (published, a fleet); EJBCA 'hundreds'/s";
          f8.ratio = null;
          f8.met = s.rate2xx >= 10_000 && s.non2xx === 0 && s.errors === 0;
          f8.notes.push(
            `autocannon, ${SETTINGS.connections} connections, ${s.durationSeconds} s after a 1 s warm-up: ${s.ok2xx} x 200, ${s.non2xx} non-2xx, ${s.errors} errors; latency p50 ${s.latencyMs.p50} ms, p99 ${s.latencyMs.p99} ms`,
            `one fixed no-nonce request (made by openssl ocsp -reqout) for a good certificate; openssl reads the answer: ${good ? 'Cert Status: good' : 'NOT good: ' + check.stdout.slice(0, 200)}`,
            ocspLibrary
              ? `library: OcspResponder.respond() cached, one at a time, in this process: ${fmt(ocspLibrary.rate)}/s; uncached (lookup + signature each): ${fmt(ocspLibrary.uncachedRate)}/s`
              : 'library rate not measured',
          );
          f8.details = { ...s, library: ocspLibrary, opensslCheck: good };
        });
      }
      const after = rssMiB(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (f9.ours !== null) f9.notes.push(`after the HTTP load of figures 2 and 8: ${after.toFixed(1)} MiB`);
      f9.details.afterLoadMiB = after;
    } catch (error) {
      const message = (error as Error).stack ?? String(error);
      for (const f of [f2, f8, f9]) if (wanted(f.id) && f.ours === null && !f.error) f.error = message;
      log(`server figures failed: ${message}${server ? `\nserver stderr: ${server.stderr().slice(-2000)}` : ''}`);
    } finally {
      if (server) await stopChild(server.child);
      removeTempDir(srvDir);
    }
  }

  // ------------------------------------------------------------ report
  const measured = figures.filter((f) => wanted(f.id)).sort((a, b) => a.id - b.id);
  const table = renderTable(measured);
  const totalSeconds = (performance.now() - started) / 1000;
  process.stdout.write('\n' + table + '\n');
  for (const f of measured) {
    const notes = f.notes.filter(Boolean);
    if (notes.length === 0 && !f.error) continue;
    process.stdout.write(`\n${f.id}. ${f.name}\n`);
    for (const note of notes) process.stdout.write(`   - ${note}\n`);
    if (f.error) process.stdout.write(`   - ERROR: ${f.error.split('\n')[0]}\n`);
  }
  const contention = measured.filter((f) => f.othersCpu !== undefined && f.othersCpu !== null).map((f) => `${f.id}: ${(100 * f.othersCpu!).toFixed(0)}%`);
  const speedContention = Object.entries(speeds).flatMap(([alg, r]) => ('othersCpu' in r && r.othersCpu !== null ? [`openssl speed ${alg}: ${(100 * r.othersCpu).toFixed(0)}%`] : []));
  if (contention.length) process.stdout.write(`\nCPU used by other processes while each figure ran (share of the machine): ${[...contention, ...speedContention].join(', ')}${busyAtStart !== null ? `; before the start: ${(100 * busyAtStart).toFixed(0)}%` : ''}\n`);
  const met = measured.filter((f) => f.met === true).map((f) => f.id);
  const missed = measured.filter((f) => f.met === false).map((f) => f.id);
  const failed = measured.filter((f) => f.error).map((f) => f.id);
  process.stdout.write(`\nbars met: ${met.join(', ') || 'none'}; not met: ${missed.join(', ') || 'none'}${failed.length ? `; could not measure: ${failed.join(', ')}` : ''}\n`);
  process.stdout.write(`machine: ${info.cores} cores (${info.cpu}), node ${info.node} (OpenSSL ${info.nodeOpenssl}), ${info.openssl}; run took ${totalSeconds.toFixed(0)} s${QUICK ? ' (QUICK sizes)' : ''}\n`);

  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `ca-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'ca', at: new Date().toISOString(), machine: info, settings: SETTINGS, seconds: totalSeconds, othersCpuAtStart: busyAtStart, opensslSpeed: speeds, figures: measured }, null, 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  if (failed.length) process.exitCode = 1;
}

// ------------------------------------------------------------ helpers needing the CA

/** A fixed no-nonce OCSP request made by openssl for `serial` of CA `ca`. */
async function ocspRequest(authority: Authority, ca: string, serial: string, work: string): Promise<Buffer> {
  const [issuing] = await authority.chain(ca);
  const issuerFile = path.join(work, `${ca}-ocsp-issuer-${serial}.pem`);
  const reqFile = path.join(work, `${ca}-ocsp-${serial}.der`);
  writeFileSync(issuerFile, toPem('CERTIFICATE', issuing!));
  await runOk('openssl', ['ocsp', '-issuer', issuerFile, '-serial', `0x${serial}`, '-no_nonce', '-reqout', reqFile]);
  return readFileSync(reqFile);
}

/** Inserts `count` revoked rows for `ca` with SQL on a handle of its own, in big transactions. */
function insertRevokedRows(file: string, ca: string, count: number): void {
  const handle = new SqliteDatabase(file);
  try {
    handle.pragma('journal_mode = WAL');
    handle.pragma('synchronous = OFF');
    handle.pragma('cache_size = -524288');
    handle.pragma('busy_timeout = 10000');
    const insert = handle.prepare(
      `insert into certificate (ca_name, serial, profile, subject, sans, key_algorithm, not_before, not_after, issued_at, fingerprint_sha256, der, status, revoked_at, revocation_reason, status_changed_seq)
       values (?, ?, 'server', ?, '[]', 'ecdsa-p256', ?, ?, ?, ?, ?, 'revoked', ?, 1, ?)`,
    );
    const seqRow = handle.prepare(`select value from counter where name = 'certificate_status_seq'`).get() as { value: number } | undefined;
    const baseSeq = Number(seqRow?.value ?? 0);
    const dummyDer = Buffer.from('3010300e0201000609608648016503040201', 'hex').subarray(0, 16);
    const fingerprint = '0'.repeat(64);
    const start = Date.now() - 365 * 86400_000;
    const batch = 100_000;
    const insertBatch = handle.transaction((from: number, to: number) => {
      const serials = randomBytes(9 * (to - from));
      for (let i = from; i < to; i++) {
        const o = 9 * (i - from);
        serials[o] = (serials[o]! % 0x7f) + 1;
        const serial = serials.toString('hex', o, o + 9);
        // Revocations spread over the past year, one every ~30 s: every entry gets its own time.
        const revokedMs = start + i * 30_000;
        const issued = new Date(revokedMs - 200 * 86400_000).toISOString();
        const notAfter = new Date(revokedMs + 197 * 86400_000).toISOString();
        insert.run(ca, serial, `CN=revoked-${i}`, issued, notAfter, issued, fingerprint, dummyDer, new Date(revokedMs).toISOString(), baseSeq + i + 1);
      }
    });
    for (let from = 0; from < count; from += batch) insertBatch(from, Math.min(count, from + batch));
    handle
      .prepare(`insert into counter (name, value) values ('certificate_status_seq', ?) on conflict (name) do update set value = excluded.value`)
      .run(baseSeq + count);
    handle.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    handle.close();
  }
}

/** The peer of figure 6: `openssl ca -gencrl` over an index.txt of `count` revoked entries. */
async function opensslGencrl(work: string, count: number): Promise<{ seconds: number; derBytes: number; maxRssMiB: number }> {
  const dir = path.join(work, 'openssl-gencrl');
  mkdirSync(dir, { recursive: true });
  await runOk('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', path.join(dir, 'ca.key')]);
  await runOk('openssl', ['req', '-x509', '-new', '-key', path.join(dir, 'ca.key'), '-subj', '/CN=Peer CRL CA', '-days', '3650', '-out', path.join(dir, 'ca.pem')]);
  const lines: string[] = [];
  const serials = randomBytes(9 * count);
  const start = Date.now() - 365 * 86400_000;
  const utc = (ms: number) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  for (let i = 0; i < count; i++) {
    serials[9 * i] = (serials[9 * i]! % 0x7f) + 1;
    const revoked = start + i * 30_000;
    lines.push(`R\t${utc(revoked + 197 * 86400_000)}\t${utc(revoked)},keyCompromise\t${serials.toString('hex', 9 * i, 9 * i + 9).toUpperCase()}\tunknown\t/CN=revoked-${i}`);
  }
  writeFileSync(path.join(dir, 'index.txt'), lines.join('\n') + '\n');
  writeFileSync(path.join(dir, 'crlnumber'), '01\n');
  writeFileSync(
    path.join(dir, 'ca.cnf'),
    ['[ca]', 'default_ca = peer', '[peer]', `database = ${dir}/index.txt`, `certificate = ${dir}/ca.pem`, `private_key = ${dir}/ca.key`, 'default_md = sha256', 'default_crl_days = 1', `crlnumber = ${dir}/crlnumber`, 'unique_subject = no', ''].join('\n'),
  );
  const gencrl = ['ca', '-config', path.join(dir, 'ca.cnf'), '-gencrl', '-out', path.join(dir, 'crl.pem')];
  const t0 = performance.now();
  // /usr/bin/time (when present) reports openssl's peak RSS; it adds a fork, nothing more.
  const gen = existsSync('/usr/bin/time') ? await runOk('/usr/bin/time', ['-f', 'maxrss=%M', 'openssl', ...gencrl]) : await runOk('openssl', gencrl);
  const seconds = (performance.now() - t0) / 1000;
  const maxRssKb = Number(/maxrss=(\d+)/.exec(gen.stderr)?.[1] ?? NaN);
  await runOk('openssl', ['crl', '-in', path.join(dir, 'crl.pem'), '-outform', 'DER', '-out', path.join(dir, 'crl.der')]);
  const derBytes = readFileSync(path.join(dir, 'crl.der')).length;
  return { seconds, derBytes, maxRssMiB: maxRssKb / 1024 };
}

function renderTable(rows: Figure[]): string {
  const header = ['#', 'figure', 'ours', 'peer (same run unless marked)', 'ratio', 'bar', 'met?'];
  const body = rows.map((f) => [
    String(f.id),
    f.name,
    f.error && f.ours === null ? 'ERROR' : f.oursText,
    f.peerText,
    f.ratio === null ? '-' : `${f.ratio >= 10 ? fmt(f.ratio, 0) : f.ratio.toFixed(2)}x`,
    f.bar,
    f.error && f.ours === null ? 'error' : f.met === null ? 'n/a' : f.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...body.map(line)].join('\n');
}

// ------------------------------------------------------------ suites

const SUITES = ['ca', 'desk', 'monitor', 'backup', 'dashboards', 'alerts', 'kb', 'audit'] as const;
const SUITE = SUITES.find((s) => process.argv.includes(`--${s}`)) ?? process.env.EGOV_BENCH_SUITE ?? 'all';
if (![...SUITES, 'all'].includes(SUITE)) throw new Error(`EGOV_BENCH_SUITE must be ${SUITES.join(', ')} or all, got "${SUITE}"`);

/** Issue 4: SNMP walks and polling, syslog, metrics (bench/monitor.ts). */
async function monitorSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  log(`\negov-ops monitoring benchmarks${QUICK ? ' (QUICK sizes)' : ''}`);
  // A yardstick of the machine's speed at the start and the end: on a shared
  // two-core VM it moves by a third within an hour, and every figure with it.
  const yardstick = async () => (await opensslSpeed('ecdsap256', 1).catch(() => undefined))?.sign;
  const speedBefore = await yardstick();
  const report = await runMonitorBench({ quick: QUICK, log });
  const speedAfter = await yardstick();
  process.stdout.write('\n' + renderMonitorTables(report) + '\n');
  process.stdout.write(`\nmachine yardstick, openssl speed ecdsap256 signs/s on one core: ${speedBefore ? fmt(speedBefore) : '-'} at the start, ${speedAfter ? fmt(speedAfter) : '-'} at the end\n`);
  const totalSeconds = (performance.now() - started) / 1000;
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `monitor-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ benchmark: 'monitor', at: new Date().toISOString(), machine: { ...info, opensslEcdsaSignsPerSecond: { start: speedBefore ?? null, end: speedAfter ?? null } }, seconds: totalSeconds, ...report }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) + '\n');
  process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  if (Object.values(report).some((part) => typeof part === 'object' && part !== null && 'error' in part)) process.exitCode = 1;
}

/** Issue 3: the desk's pages with 100,000 certificates and requests (bench/desk.ts). */
async function deskSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const count = num('EGOV_BENCH_DESK_RECORDS', 100_000, 10_000);
  log(`\negov-ops desk benchmarks: ${fmt(count)} certificates and ${fmt(count)} requests${QUICK ? ' (QUICK sizes)' : ''}`);
  try {
    const report = await runDeskBench({ cliMain: CLI_MAIN, count, repeats: 20, log });
    const rows = report.pages.map((p) => `| ${p.page} | ${p.rows} | ${p.serverMsMedian.toFixed(1)} | ${p.serverMsP95.toFixed(1)} | ${p.roundTripMsMedian.toFixed(1)} |`);
    process.stdout.write(
      [
        '',
        `| desk page (${fmt(count)} certificates, ${fmt(count)} requests) | rows | server ms median | server ms p95 | HTTPS round trip ms median |`,
        '|---|---|---|---|---|',
        ...rows,
        '',
        `bar: first page under 300 ms server time: worst p95 ${report.worstServerMs.toFixed(1)} ms, ${report.met ? 'met' : 'NOT met'}`,
        `seeding: ${fmt(count)} real certificates in ${report.seedSeconds.certificates.toFixed(1)} s; requests in ${report.seedSeconds.requests.toFixed(1)} s`,
        '',
      ].join('\n'),
    );
    const totalSeconds = (performance.now() - started) / 1000;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `desk-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'desk', at: new Date().toISOString(), machine: info, seconds: totalSeconds, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  } catch (error) {
    log(`desk benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

async function backupSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const sizeMiB = num('EGOV_BENCH_BACKUP_MB', 2048, 100);
  log(`\negov-ops backup benchmarks: ${sizeMiB} MiB data set${QUICK ? ' (QUICK sizes)' : ''}`);
  try {
    const report = await runBackupBench({ sizeMiB, cliMain: CLI_MAIN, log, ...(process.env.EGOV_BENCH_BACKUP_DATA ? { dataDir: process.env.EGOV_BENCH_BACKUP_DATA } : {}) });
    const totalSeconds = (performance.now() - started) / 1000;
    process.stdout.write('\n' + renderBackupTable(report) + '\n');
    process.stdout.write(`\nmachine: ${info.cores} cores (${info.cpu}), node ${info.node}; backup suite took ${totalSeconds.toFixed(0)} s\n`);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `backup-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'backup', at: new Date().toISOString(), machine: info, settings: { sizeMiB }, seconds: totalSeconds, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  } catch (error) {
    log(`backup benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

/** Issue 13: the graphs' 7-day query on both stores and the device-detail page in chromium (bench/dashboards.ts). */
async function dashboardsSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const options = { devices: num('EGOV_BENCH_DASH_DEVICES', 100, 20), interfaces: num('EGOV_BENCH_DASH_INTERFACES', 20, 20), days: num('EGOV_BENCH_DASH_DAYS', 7, 7), log };
  log(`\negov-ops dashboards benchmarks${QUICK ? ' (QUICK sizes)' : ''}`);
  try {
    const report = await runDashboardsBench(options);
    process.stdout.write('\n' + renderDashboardsTable(report) + '\n');
    const totalSeconds = (performance.now() - started) / 1000;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `dashboards-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'dashboards', at: new Date().toISOString(), machine: info, seconds: totalSeconds, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
    if ('error' in report.influx || 'error' in report.page) process.exitCode = 1;
  } catch (error) {
    log(`dashboards benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

/** Issue 11: rule evaluation CPU, the alert storm, webhook notifications vs Alertmanager, trap -> webhook (bench/alerts.ts). */
async function alertsSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const options = {
    nodes: num('EGOV_BENCH_ALERTS_NODES', 10_000, 1000),
    interfaces: 20,
    storm: num('EGOV_BENCH_ALERTS_STORM', 1000, 200),
    notifications: num('EGOV_BENCH_ALERTS_NOTIFICATIONS', 3000, 500),
    traps: num('EGOV_BENCH_ALERTS_TRAPS', 200, 50),
    cliMain: CLI_MAIN,
    log,
  };
  log(`\negov-ops alerts benchmarks${QUICK ? ' (QUICK sizes)' : ''}`);
  try {
    const report = await runAlertsBench(options);
    process.stdout.write('\n' + renderAlertsTable(report) + '\n');
    const totalSeconds = (performance.now() - started) / 1000;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `alerts-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'alerts', at: new Date().toISOString(), machine: info, seconds: totalSeconds, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  } catch (error) {
    log(`alerts benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

/** Issue 11 section 8: knowledge-base search, matching and seen-before with 100,000 articles and 1,000,000 incidents on both engines (bench/kb.ts). */
async function kbSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const options = { articles: num('EGOV_BENCH_KB_ARTICLES', 100_000, 10_000), incidents: num('EGOV_BENCH_KB_INCIDENTS', 1_000_000, 100_000), queries: num('EGOV_BENCH_KB_QUERIES', 200, 100), log };
  log(`\negov-ops knowledge-base benchmarks: ${fmt(options.articles)} articles, ${fmt(options.incidents)} incidents${QUICK ? ' (QUICK sizes)' : ''}`);
  try {
    const report = await runKbBench(options);
    process.stdout.write('\n' + renderKbTable(report) + '\n');
    const totalSeconds = (performance.now() - started) / 1000;
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `kb-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'kb', at: new Date().toISOString(), machine: info, seconds: totalSeconds, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
    if (report.engines.some((e) => 'error' in e)) process.exitCode = 1;
  } catch (error) {
    log(`kb benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

/** Issue 12: a full level-3 audit with 1,000 nodes and 10 SSH hosts, its PDF, oscap on one host (bench/audit.ts). */
async function auditSuite(): Promise<void> {
  const started = performance.now();
  const info = await machine();
  const options = { nodes: num('EGOV_BENCH_AUDIT_NODES', 1000, 1000), hosts: num('EGOV_BENCH_AUDIT_HOSTS', 10, 10), log };
  log(`\negov-ops audit benchmarks: ${options.nodes} nodes, ${options.hosts} hosts`);
  try {
    const report = await runAuditBench(options);
    process.stdout.write('\n' + renderAuditTable(report) + '\n');
    mkdirSync(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, `audit-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ benchmark: 'audit', at: new Date().toISOString(), machine: info, seconds: (performance.now() - started) / 1000, ...report }, null, 2) + '\n');
    process.stdout.write(`results: ${path.relative(process.cwd(), file)}\n`);
  } catch (error) {
    log(`audit benchmarks failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  }
}

(async () => {
  if (SUITE === 'ca' || SUITE === 'all') await main();
  if (SUITE === 'desk' || SUITE === 'all') await deskSuite();
  if (SUITE === 'monitor' || SUITE === 'all') await monitorSuite();
  if (SUITE === 'backup' || SUITE === 'all') await backupSuite();
  if (SUITE === 'dashboards' || SUITE === 'all') await dashboardsSuite();
  if (SUITE === 'alerts' || SUITE === 'all') await alertsSuite();
  if (SUITE === 'kb' || SUITE === 'all') await kbSuite();
  if (SUITE === 'audit' || SUITE === 'all') await auditSuite();
})()
  .catch((error) => {
    log(`benchmark crashed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  })
  .finally(() => {
    cleanup();
    // Nothing of ours is left running; do not wait on stray handles (autocannon's timers, sockets).
    process.exit(process.exitCode ?? 0);
  });
