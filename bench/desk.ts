// The registration desk with 100,000 certificates and 100,000 requests: how
// long the pages take, server time (the Server-Timing the desk reports) and
// the whole HTTPS round trip, first page and the usual filters and searches.
// The bar (issue 3): first page in under 300 ms server time.

import { generateKeyPairSync } from 'node:crypto';
import { Authority, fixedPassphrase } from '../ca/index.js';
import { openDatabase, type Database } from '../core/index.js';
import { median, percentile, removeTempDir, stopChild, tempDir } from './lib.js';
import { httpsRequest, makeClient, signInClient, startServe } from './serve.js';

export interface DeskPageTiming {
  page: string;
  path: string;
  rows: number;
  serverMsMedian: number;
  serverMsP95: number;
  roundTripMsMedian: number;
}

export interface DeskBenchReport {
  certificates: number;
  requests: number;
  seedSeconds: { certificates: number; requests: number };
  pages: DeskPageTiming[];
  worstServerMs: number;
  met: boolean;
}

const ACTOR = { actor: 'bench', source: 'bench' };
const STATES = ['submitted', 'vetted', 'approved', 'issued', 'delivered', 'rejected'] as const;
const SURNAMES = ['Zhang', 'Wang', 'Li', 'Zhao', 'Chen', 'Liu', 'Yang', 'Huang', 'Zhou', 'Wu'];

/** Real certificates, issued by the Authority (one key, many certificates: issuance is not what is measured here). */
async function seedCertificates(authority: Authority, count: number, log: (line: string) => void): Promise<string[]> {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serials: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const issued = await authority.issueForPublicKey({ ca: 'bench-ecdsa', profile: 'device', subject: `CN=host-${i}.city.gov.cn`, sans: [`DNS:host-${i}.city.gov.cn`], publicKey }, ACTOR);
      serials.push(issued.serial);
      if (i % 20_000 === 0) log(`  certificates: ${i}/${count}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  return serials;
}

/** Requests as the desk stores them, in every state, spread over a year. */
async function seedRequests(database: Database, count: number, serials: string[]): Promise<void> {
  const start = Date.now() - 365 * 86400_000;
  for (let batch = 0; batch < count; batch += 5000) {
    await database.write(async (tx) => {
      const rows = [];
      for (let i = batch; i < Math.min(count, batch + 5000); i++) {
        const state = STATES[i % STATES.length]!;
        const isPerson = i % 3 !== 0;
        const at = new Date(start + Math.floor((i / count) * 365 * 86400_000)).toISOString();
        const name = isPerson ? `${SURNAMES[i % SURNAMES.length]} ${i}` : `host-${i}.city.gov.cn`;
        rows.push({
          kind: 'issue' as const,
          subject_type: isPerson ? ('person' as const) : ('device' as const),
          profile: isPerson ? 'person' : 'device',
          ca_name: 'bench-ecdsa',
          state,
          name,
          id_number: isPerson ? `EMP${String(i).padStart(8, '0')}` : null,
          hostname: isPerson ? null : name,
          applicant: JSON.stringify({ type: isPerson ? 'person' : 'device', fields: { name }, subject: `CN=${name}`, sans: [] }),
          key_source: 'keygen' as const,
          csr: null,
          key_algorithm: 'ecdsa-p256',
          target_serial: null,
          revoke_reason: null,
          dedupe_key: ['submitted', 'vetted', 'approved'].includes(state) ? `bench:${i}` : null,
          submitted_by: `Operator ${i % 7}`,
          submitted_at: at,
          vetted_by: null,
          vetted_at: null,
          vetting: null,
          approved_by: null,
          approved_at: null,
          rejected_by: null,
          rejected_at: null,
          reject_reason: null,
          issued_serial: state === 'issued' || state === 'delivered' ? (serials[i % serials.length] ?? null) : null,
          issued_at: null,
          delivered_at: null,
          pending_key: null,
          updated_at: at,
        });
      }
      // SQLite allows 32,766 parameters a statement: 500 rows of 31 columns at a time.
      for (let i = 0; i < rows.length; i += 500) await tx.insertInto('ra_request').values(rows.slice(i, i + 500)).execute();
    });
  }
}

export async function runDeskBench(options: { cliMain: string; count: number; repeats: number; log: (line: string) => void }): Promise<DeskBenchReport> {
  const { log } = options;
  const dir = tempDir('desk');
  const passphrase = 'desk-bench-passphrase';
  let server: Awaited<ReturnType<typeof startServe>> | undefined;
  try {
    const database = await openDatabase({ dataDir: dir });
    const authority = new Authority({ database, publicUrl: 'http://127.0.0.1:1', passphrase: fixedPassphrase(passphrase) });
    await authority.initHierarchy({ name: 'bench-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Bench/CN=Bench ECDSA Root CA' }, ACTOR);
    let t = performance.now();
    log(`desk: issuing ${options.count} certificates`);
    const serials = await seedCertificates(authority, options.count, log);
    const certSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    await seedRequests(database, options.count, serials);
    const requestSeconds = (performance.now() - t) / 1000;
    log(`desk: seeded ${options.count} certificates in ${certSeconds.toFixed(1)} s and ${options.count} requests in ${requestSeconds.toFixed(1)} s`);
    const operator = await makeClient(database, authority, 'bench-ecdsa', 'Bench Operator', ['ra-operator']);
    await database.close();

    server = await startServe(options.cliMain, dir, passphrase);
    await signInClient(server.secureUrl, operator);
    // Request 50,001 is issued (state cycles with i % 6), so its serial is one the queue holds.
    const sample = serials[50_001 % serials.length]!;
    const pages: Array<[string, string]> = [
      ['queue, first page', '/desk/requests'],
      ['queue, state = vetted', '/desk/requests?state=vetted'],
      ['queue, profile = device', '/desk/requests?profile=device'],
      ['queue, submitted by one operator', `/desk/requests?submittedBy=${encodeURIComponent('Operator 3')}`],
      ['queue, date range', `/desk/requests?from=${new Date(Date.now() - 200 * 86400_000).toISOString().slice(0, 10)}&to=${new Date(Date.now() - 100 * 86400_000).toISOString().slice(0, 10)}`],
      ['search, name prefix', `/desk/requests?q=${encodeURIComponent('Zhang 5')}`],
      ['search, ID number', '/desk/requests?q=EMP00050000'],
      ['search, host name', '/desk/requests?q=host-9999'],
      ['search, serial', `/desk/requests?q=${sample}`],
      ['queue, deep page (before id 5,000)', '/desk/requests?before=5000'],
      ['API: requests, first page', '/api/ra/requests'],
      ['certificates, first page', '/desk/certificates?ca=bench-ecdsa'],
      ['API: certificates, first page', '/api/ca/bench-ecdsa/certificates?limit=50'],
    ];
    const timings: DeskPageTiming[] = [];
    for (const [page, path] of pages) {
      const server_ms: number[] = [];
      const round: number[] = [];
      let rows = 0;
      for (let i = 0; i < options.repeats; i++) {
        const started = performance.now();
        const reply = await httpsRequest(server.secureUrl, operator, 'GET', path);
        round.push(performance.now() - started);
        if (reply.status !== 200) throw new Error(`${path} answered ${reply.status}: ${reply.text.slice(0, 300)}`);
        const timing = /dur=([0-9.]+)/.exec(String(reply.headers['server-timing'] ?? ''));
        // Pages without Server-Timing: the whole round trip stands for the server time.
        server_ms.push(timing ? Number(timing[1]) : performance.now() - started);
        rows = path.startsWith('/api/ra') ? (JSON.parse(reply.text) as { requests: unknown[] }).requests.length : path.startsWith('/api/ca') ? (JSON.parse(reply.text) as { certificates: unknown[] }).certificates.length : (reply.text.match(/<tr( data-id="\d+")?><td><a href="\/desk\/(requests|certificates)\//g) ?? []).length;
      }
      timings.push({ page, path, rows, serverMsMedian: median(server_ms), serverMsP95: percentile(server_ms, 95), roundTripMsMedian: median(round) });
      log(`desk: ${page}: ${rows} rows, server ${median(server_ms).toFixed(1)} ms (p95 ${percentile(server_ms, 95).toFixed(1)}), round trip ${median(round).toFixed(1)} ms`);
    }
    const worst = Math.max(...timings.map((p) => p.serverMsP95));
    return { certificates: options.count, requests: options.count, seedSeconds: { certificates: certSeconds, requests: requestSeconds }, pages: timings, worstServerMs: worst, met: worst < 300 };
  } finally {
    if (server) await stopChild(server.child);
    removeTempDir(dir);
  }
}
