// Benchmarks of the grade-protection audits (issue 12 section 7):
//   1. a full level-3 audit of the suite with 1,000 inventory nodes (SNMPv3
//      devices on a real snmpd, probed for default communities) and 10 hosts
//      over SSH (a real sshd on loopback serving a prepared root), with
//      progress, the bar 30 s;
//   2. the PDF report of that audit by chromium, the bar 10 s;
//   3. the same host checked by `oscap xccdf eval` (ssg-debian11, standard
//      profile, OSCAP_PROBE_ROOT on the same prepared root) against our read
//      and checks of it, as a ratio.
// EGOV_BENCH_AUDIT_NODES / _HOSTS change the sizes.

import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { AuditService, HOST_COLLECTORS, liveSources, readHost, reportHtml, reportPdf } from '../audit/index.js';
import { Authority, CrlService, OcspResponder, fixedPassphrase } from '../ca/index.js';
import { loadConfig, openDatabase, openSecretBox } from '../core/index.js';
import { openMonitor } from '../monitor/index.js';
import { prepareRoots } from '../test/support/audit-roots.js';
import { startSnmpd } from '../test/support/snmpd.js';
import { startSshd } from '../test/support/sshd.js';
import { median, tempDir } from './lib.js';

export interface AuditBenchOptions {
  nodes: number;
  hosts: number;
  log: (line: string) => void;
}

export interface AuditBenchReport {
  nodes: number;
  hosts: number;
  items: number;
  auditSeconds: number;
  auditMet: boolean;
  phases: Record<string, number>;
  score: number | null;
  pdfSeconds: number;
  pdfBytes: number;
  pdfMet: boolean;
  oscapSeconds: number | null;
  oursHostSeconds: number;
  oscapRatio: number | null;
  oscapError?: string;
}

const CONTENT = '/usr/share/xml/scap/ssg/content/ssg-debian11-ds.xml';

export async function runAuditBench(options: AuditBenchOptions): Promise<AuditBenchReport> {
  const { log } = options;
  const dir = tempDir('audit-bench');
  const roots = prepareRoots();
  const sshd = await startSshd();
  const snmpd = await startSnmpd();
  try {
    const config = loadConfig({ env: {}, flags: { dataDir: dir } });
    const database = await openDatabase({ dataDir: dir });
    const authority = new Authority({ database, publicUrl: config.server.publicUrl, passphrase: fixedPassphrase('bench passphrase 0123456789') });
    await authority.initHierarchy({ name: 'bench-ec', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Bench/CN=Bench Root' }, { actor: 'bench', source: 'bench' });
    const monitor = await openMonitor({ database, secrets: openSecretBox(dir) });
    const u = snmpd.authPriv;
    const rows = Array.from({ length: options.nodes }, (_, i) => ({
      line: i + 1,
      kind: 'node' as const,
      input: { name: `node-${String(i).padStart(4, '0')}`, kind: i % 10 === 0 ? 'router' : 'switch', zone: i % 2 ? 'internal' : 'external', site: `Site ${i % 50}`, level: 'county', address: '127.0.0.1', snmpPort: snmpd.port, snmp: { version: 'v3', user: u.user, authProtocol: u.authProtocol, authPassword: u.authPassword, privProtocol: u.privProtocol, privPassword: u.privPassword }, parents: [] },
    }));
    const seeded = performance.now();
    await monitor.inventory.importRows(rows, { actor: 'bench', source: 'bench' });
    log(`seeded ${options.nodes} nodes in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
    // The CA as serve has it: a CRL built on schedule and the OCSP responder (ca.crl-fresh, ca.ocsp).
    await new CrlService(authority, { validityHours: config.ca.crlValidityHours, intervalSeconds: config.ca.crlIntervalSeconds, afterChangeSeconds: config.ca.crlAfterRevokeSeconds }).build('bench-ec', 'full');
    const ocsp = new OcspResponder(authority, { validitySeconds: config.ca.ocspValiditySeconds });
    const service = new AuditService({ database, sources: liveSources({ config, authority, ocsp, monitor, snmpTimeoutMs: 1000 }) });
    for (let i = 0; i < options.hosts; i++) {
      await service.addHost({ name: `host-${i}`, kind: 'ssh', user: sshd.user, address: '127.0.0.1', port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, root: i % 2 ? roots.nonCompliant : roots.compliant }, { actor: 'bench', source: 'bench' });
    }
    const phases: Record<string, number> = {};
    let phaseStart = performance.now();
    let phase = '';
    const started = performance.now();
    const run = await service.run({ level: 3, onProgress: (p) => {
      if (p.phase !== phase) {
        if (phase) phases[phase] = (performance.now() - phaseStart) / 1000;
        phase = p.phase;
        phaseStart = performance.now();
      }
      if (p.phase === 'hosts' || p.phase === 'store') log(`  [${p.phase} ${p.done}/${p.total}] ${p.message}`);
    } }, { actor: 'bench', source: 'bench' });
    phases[phase] = (performance.now() - phaseStart) / 1000;
    const auditSeconds = (performance.now() - started) / 1000;
    log(`level-3 audit: ${run.results.length} items, score ${run.score}, ${auditSeconds.toFixed(2)} s`);

    const pdfStart = performance.now();
    const pdf = await reportPdf(reportHtml(run, [{ id: run.id, startedAt: run.startedAt, score: run.score, conclusion: run.conclusion, highRisks: run.summary.highRisks.length }]));
    const pdfSeconds = (performance.now() - pdfStart) / 1000;
    log(`PDF: ${pdf.length} bytes in ${pdfSeconds.toFixed(2)} s`);

    // One host: ours (read over SSH + 16 checks) vs oscap's standard profile on the same root.
    const ours: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const snap = await readHost({ name: 'one', kind: 'ssh', user: sshd.user, address: '127.0.0.1', port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, root: roots.compliant });
      for (const c of HOST_COLLECTORS) c.check(snap);
      ours.push((performance.now() - t0) / 1000);
    }
    const oursHostSeconds = median(ours);
    let oscapSeconds: number | null = null;
    let oscapError: string | undefined;
    const t0 = performance.now();
    const r = spawnSync('oscap', ['xccdf', 'eval', '--profile', 'xccdf_org.ssgproject.content_profile_standard', '--results', `${dir}/oscap.xml`, CONTENT], { env: { ...process.env, OSCAP_PROBE_ROOT: roots.compliant }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status === 0 || r.status === 2) oscapSeconds = (performance.now() - t0) / 1000;
    else oscapError = `oscap exited ${r.status}: ${(r.stderr ?? '').slice(-300)}`;
    log(`one host: ours ${oursHostSeconds.toFixed(3)} s, oscap ${oscapSeconds?.toFixed(2) ?? oscapError} s`);
    await monitor.close();
    await database.close();
    return {
      nodes: options.nodes,
      hosts: options.hosts,
      items: run.results.length,
      auditSeconds,
      auditMet: auditSeconds <= 30,
      phases,
      score: run.score,
      pdfSeconds,
      pdfBytes: pdf.length,
      pdfMet: pdfSeconds <= 10,
      oscapSeconds,
      oursHostSeconds,
      oscapRatio: oscapSeconds === null ? null : oscapSeconds / oursHostSeconds,
      ...(oscapError ? { oscapError } : {}),
    };
  } finally {
    await snmpd.dispose();
    await sshd.dispose();
    rmSync(roots.base, { recursive: true, force: true });
  }
}

export function renderAuditTable(r: AuditBenchReport): string {
  return [
    '| figure | ours | bar | met |',
    '|---|---|---|---|',
    `| full level-3 audit (${r.items} items), ${r.nodes} inventory nodes (SNMP probes), ${r.hosts} hosts over SSH | ${r.auditSeconds.toFixed(2)} s (hosts ${r.phases.hosts?.toFixed(2) ?? '-'} s, suite ${r.phases.suite?.toFixed(2) ?? '-'} s, store ${r.phases.store?.toFixed(2) ?? '-'} s) | <= 30 s | ${r.auditMet ? 'yes' : 'NO'} |`,
    `| PDF report of that audit (chromium) | ${r.pdfSeconds.toFixed(2)} s, ${(r.pdfBytes / 1024).toFixed(0)} KiB | <= 10 s | ${r.pdfMet ? 'yes' : 'NO'} |`,
    `| one host: oscap xccdf eval (ssg-debian11 standard) vs our SSH read + 16 checks | oscap ${r.oscapSeconds?.toFixed(2) ?? 'error'} s, ours ${r.oursHostSeconds.toFixed(3)} s | ratio | ${r.oscapRatio ? `${r.oscapRatio.toFixed(1)}x` : '-'} |`,
  ].join('\n');
}

