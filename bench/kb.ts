// Knowledge-base benchmarks (issue 11, section 8): with 100,000 articles and
// 1,000,000 past incidents, on SQLite and on PostgreSQL, the latency of
// search with long terms (the trigram index: FTS5 / pg_trgm), with 1-2
// character terms (the short path: 光衰, 端口, ip), of matchAlert, and of
// seenBefore. Bar: search p95 <= 50 ms on both engines.
//
// The articles are loaded through importArticles (the path a knowledge base
// kept in git takes), 500 a transaction; they are variations of the starter
// set (each starter article at many sites), so terms have the selectivity of
// real text. Incidents go in as rows, 2,000 a transaction.
//
// Sizes: EGOV_BENCH_KB_ARTICLES (default 100,000), EGOV_BENCH_KB_INCIDENTS
// (default 1,000,000), EGOV_BENCH_KB_QUERIES (timed calls per figure, 200).

import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sql, type Insertable } from 'kysely';
import { openDatabase, type Database, type KbIncidentTable } from '../core/index.js';
import { KNOWN_RULES, KnowledgeBase, readArticleFiles, starterDirectory, type AlertKey, type ArticleInput } from '../monitor/kb/index.js';
import { percentile } from './lib.js';

export interface KbBenchOptions {
  articles: number;
  incidents: number;
  queries: number;
  log: (line: string) => void;
}

export interface Timing {
  name: string;
  calls: number;
  medianMs: number;
  p95Ms: number;
  /** Results of the last call (hits, matches, incidents counted). */
  results: number;
}

export interface EngineReport {
  engine: 'sqlite' | 'postgres';
  seedSeconds: { articles: number; incidents: number };
  timings: Timing[];
  searchP95Ms: number;
  met: boolean;
}

export interface KbBenchReport {
  articles: number;
  incidents: number;
  engines: Array<EngineReport | { engine: string; error: string }>;
}

export const LONG_QUERIES = ['optical power', '收光功率', 'session table', '防火墙', 'BGP neighbour', 'certificate expired', 'broadcast storm', 'UPS battery', 'zzqx-never'];
export const SHORT_QUERIES = ['光衰', '端口', '环路', '光', 'ip'];

const SITES_EN = ['Chengguan', 'Dongcheng', 'Xiba', 'Heping', 'Qinglong', 'Baima', 'Shuikou', 'Longtan', 'Huashan', 'Yuquan'];
const SITES_ZH = ['城关', '东城', '西坝', '和平', '青龙', '白马', '水口', '龙潭', '华山', '玉泉'];
const VENDORS = ['1.3.6.1.4.1.2011', '1.3.6.1.4.1.25506', '1.3.6.1.4.1.9', '1.3.6.1.4.1.4881'];

/** Article i: a starter article at a township and village, some for one vendor. */
export function syntheticArticle(starter: ArticleInput[], i: number): ArticleInput {
  const base = starter[i % starter.length]!;
  const town = Math.floor(i / starter.length);
  const site = `${SITES_EN[town % 10]} ${Math.floor(town / 10) % 100}`;
  const siteZh = `${SITES_ZH[town % 10]}${Math.floor(town / 10) % 100}号村`;
  const vendor = i % 5 === 0 ? [VENDORS[i % VENDORS.length]!] : [];
  return {
    ...base,
    id: `${base.id}-${i}`,
    title: { en: `${base.title!.en} (${site})`, zh: `${base.title!.zh}（${siteZh}）` },
    symptoms: { en: `${base.symptoms!.en} Seen at ${site}.`, zh: `${base.symptoms!.zh}见于${siteZh}。` },
    appliesTo: { ...base.appliesTo, sysObjectIds: [...(base.appliesTo?.sysObjectIds ?? []), ...vendor] },
    tags: [...(base.tags ?? []), `site-${town % 500}`],
    state: 'published',
    author: `admin-${i % 40}`,
  };
}

// ---------------------------------------------------------------- PostgreSQL

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'pg_ctl'))) return path.join(root, v, 'bin');
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** A throwaway cluster on loopback (as root, run as the postgres user: initdb refuses root). */
async function startBenchPostgres(): Promise<{ url: string; stop: () => void }> {
  const bin = postgresBin();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-kb-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  const wrap = (command: string, args: string[]): [string, string[]] => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const data = path.join(dir, 'data');
  const run = (command: string, args: string[]) => {
    const [file, argv] = wrap(command, args);
    const result = spawnSync(file, argv, { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', LANG: 'C' } });
    if (result.status !== 0) throw new Error(`${command} failed: ${result.stdout}${result.stderr}`);
  };
  run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  appendFileSync(
    path.join(data, 'postgresql.conf'),
    `\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\nshared_buffers = '256MB'\nwork_mem = '16MB'\nmax_wal_size = '2GB'\n`,
  );
  run(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', 'start']);
  const stop = () => {
    try {
      run(path.join(bin, 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate', '-w']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', () => existsSync(dir) && stop());
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return { url, stop };
}

// ---------------------------------------------------------------- the runs

async function seed(kb: KnowledgeBase, database: Database, options: KbBenchOptions): Promise<{ articles: number; incidents: number }> {
  const starter = readArticleFiles(starterDirectory()).flatMap((f) => f.articles);
  let started = performance.now();
  const batch = 500;
  for (let i = 0; i < options.articles; i += batch) {
    const inputs: ArticleInput[] = [];
    for (let j = i; j < Math.min(options.articles, i + batch); j++) inputs.push(syntheticArticle(starter, j));
    await kb.importArticles(inputs, { by: 'bench', source: 'bench' });
    if ((i / batch) % 40 === 39) options.log(`  ${database.dialect}: ${i + batch} articles (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }
  const articleSeconds = (performance.now() - started) / 1000;
  started = performance.now();
  const day = 86_400_000;
  const t0 = Date.parse('2024-01-01T00:00:00Z');
  for (let i = 0; i < options.incidents; i += 2000) {
    const rows: Array<Insertable<KbIncidentTable>> = [];
    for (let j = i; j < Math.min(options.incidents, i + 2000); j++) {
      const startedAt = t0 + ((j * 7919) % (700 * day));
      const duration = 60_000 + ((j * 104_729) % (6 * 3_600_000));
      const node = j % 10_000;
      rows.push({
        alert_id: `bench-${j}`,
        rule: KNOWN_RULES[j % KNOWN_RULES.length]!,
        node: `node-${node}`,
        site: `site-${node % 500}`,
        started_at: new Date(startedAt).toISOString(),
        resolved_at: new Date(startedAt + duration).toISOString(),
        duration_ms: duration,
        note: j % 3 === 0 ? 'replaced the SFP' : null,
        by: `admin-${j % 40}`,
      });
    }
    await database.write(async (tx) => {
      for (let k = 0; k < rows.length; k += 500) await tx.insertInto('kb_incident').values(rows.slice(k, k + 500)).execute();
    });
  }
  await sql`analyze`.execute(database.db);
  return { articles: articleSeconds, incidents: (performance.now() - started) / 1000 };
}

async function time(name: string, calls: number, work: (i: number) => Promise<number>): Promise<Timing> {
  // Warm up: the first calls prepare statements and fill caches.
  for (let i = 0; i < Math.min(10, calls); i++) await work(i);
  const samples: number[] = [];
  let results = 0;
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    results = await work(i);
    samples.push(performance.now() - started);
  }
  return { name, calls, medianMs: percentile(samples, 50), p95Ms: percentile(samples, 95), results };
}

const ALERTS: AlertKey[] = [
  { rule: 'syslog-pattern', kind: 'router', logMessage: '%BGP-5-ADJCHANGE: neighbor 10.1.0.1 Down BGP Notification sent' },
  { rule: 'syslog-pattern', kind: 'switch', sysObjectId: '1.3.6.1.4.1.2011.2.23', logMessage: 'The RX power of port GigabitEthernet0/0/24 is too low' },
  { rule: 'node-down', kind: 'switch', node: 'node-17', site: 'site-17' },
  { rule: 'interface-down', kind: 'router', sysObjectId: '1.3.6.1.4.1.9.1.1' },
  { rule: 'trap-link-down', trapOid: '1.3.6.1.6.3.1.1.5.3', kind: 'switch' },
  { rule: 'cpu-high', kind: 'firewall' },
];

async function runEngine(engine: 'sqlite' | 'postgres', database: Database, options: KbBenchOptions): Promise<EngineReport> {
  const kb = new KnowledgeBase(database);
  options.log(`  ${engine}: loading ${options.articles.toLocaleString('en')} articles and ${options.incidents.toLocaleString('en')} incidents`);
  const seedSeconds = await seed(kb, database, options);
  options.log(`  ${engine}: loaded in ${seedSeconds.articles.toFixed(0)} s + ${seedSeconds.incidents.toFixed(0)} s; timing`);
  const n = options.queries;
  const timings: Timing[] = [];
  for (const q of LONG_QUERIES) timings.push(await time(`search "${q}"`, Math.ceil(n / 4), async () => (await kb.search(q)).length));
  for (const q of SHORT_QUERIES) timings.push(await time(`search "${q}" (short path)`, Math.ceil(n / 4), async () => (await kb.search(q)).length));
  timings.push(await time('search, long terms, mixed', n, async (i) => (await kb.search(LONG_QUERIES[i % LONG_QUERIES.length]!)).length));
  timings.push(await time('search, 1-2 character terms, mixed', n, async (i) => (await kb.search(SHORT_QUERIES[i % SHORT_QUERIES.length]!)).length));
  timings.push(await time('matchAlert, mixed alerts', n, async (i) => (await kb.matchAlert(ALERTS[i % ALERTS.length]!)).length));
  timings.push(await time('seenBefore (rule on node, then site)', n, async (i) => (await kb.seenBefore({ rule: KNOWN_RULES[i % KNOWN_RULES.length]!, node: `node-${(i * 37) % 10_000}`, site: `site-${((i * 37) % 10_000) % 500}` })).count));
  const searchP95Ms = Math.max(...timings.filter((t) => t.name.startsWith('search, ')).map((t) => t.p95Ms));
  return { engine, seedSeconds, timings, searchP95Ms, met: searchP95Ms <= 50 };
}

export async function runKbBench(options: KbBenchOptions): Promise<KbBenchReport> {
  const report: KbBenchReport = { articles: options.articles, incidents: options.incidents, engines: [] };
  const sqliteDir = mkdtempSync(path.join(os.tmpdir(), 'egov-kb-bench-'));
  try {
    const database = await openDatabase({ dataDir: sqliteDir });
    try {
      report.engines.push(await runEngine('sqlite', database, options));
    } finally {
      await database.close();
    }
  } catch (error) {
    report.engines.push({ engine: 'sqlite', error: (error as Error).stack ?? String(error) });
  } finally {
    rmSync(sqliteDir, { recursive: true, force: true });
  }
  let postgres: { url: string; stop: () => void } | undefined;
  try {
    postgres = await startBenchPostgres();
    const database = await openDatabase({ dataDir: '/nonexistent', url: postgres.url });
    try {
      report.engines.push(await runEngine('postgres', database, options));
    } finally {
      await database.close();
    }
  } catch (error) {
    report.engines.push({ engine: 'postgres', error: (error as Error).stack ?? String(error) });
  } finally {
    postgres?.stop();
  }
  return report;
}

export function renderKbTable(report: KbBenchReport): string {
  const lines: string[] = [];
  const ok = report.engines.filter((e): e is EngineReport => 'timings' in e);
  if (ok.length) {
    lines.push(`| knowledge base, ${report.articles.toLocaleString('en')} articles, ${report.incidents.toLocaleString('en')} incidents | ${ok.map((e) => `${e.engine} median ms | ${e.engine} p95 ms`).join(' | ')} | results |`);
    lines.push('|---|' + ok.map(() => '---|---|').join('') + '---|');
    for (let i = 0; i < ok[0]!.timings.length; i++) {
      const name = ok[0]!.timings[i]!.name;
      lines.push(`| ${name} | ${ok.map((e) => `${e.timings[i]!.medianMs.toFixed(1)} | ${e.timings[i]!.p95Ms.toFixed(1)}`).join(' | ')} | ${ok[0]!.timings[i]!.results} |`);
    }
    lines.push('');
    for (const e of ok) {
      lines.push(`${e.engine}: search p95 (worst of long and short) ${e.searchP95Ms.toFixed(1)} ms, bar 50 ms: ${e.met ? 'met' : 'NOT met'}; loaded in ${e.seedSeconds.articles.toFixed(0)} s (articles, through importArticles) + ${e.seedSeconds.incidents.toFixed(0)} s (incidents)`);
    }
  }
  for (const e of report.engines) if ('error' in e) lines.push(`${e.engine}: failed: ${e.error.split('\n')[0]}`);
  return lines.join('\n');
}
