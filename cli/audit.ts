// `egov-ops audit …`: grade-protection audits: items, systems, hosts, run,
// show, attest, waive, report. Parses arguments, calls audit/, prints.
// (`audit-log` is another group: the suite's own tamper-evident log.)

import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { AuditService, RunView, RunProgress } from '../audit/index.js';
import { EgovError, openDatabase, openSecretBox } from '../core/index.js';
import { cliActor, openSuite, outputFor, resolveConfig, type GlobalOptions } from './context.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

function describeRun(run: RunView): string {
  const s = run.summary;
  const lines = [
    `audit run #${run.id}: system ${run.system}, level ${run.level}, ${run.startedAt}`,
    `score ${run.score ?? '-'}  conclusion ${run.conclusion} (${s.conclusion.en})  [${s.scoring.template} template; ${s.scoring.label.en}]`,
    `items: ${Object.entries(s.counts).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `high risks: ${s.highRisks.length ? '' : 'none'}`,
    ...s.highRisks.map((h) => `  - ${h.en} (${h.zh}): ${h.items.join(', ')}${h.targets.length ? ` on ${h.targets.join(', ')}` : ''}${h.waived ? ' [waived]' : ''}`),
    ...s.categories.map((c) => `  ${c.code} ${c.en.padEnd(28)} ${String(c.score ?? '-').padStart(5)}  pass ${c.counts.pass}, partial ${c.counts.partial}, fail ${c.counts.fail}, pending ${c.counts['manual-pending']}, n/a ${c.counts.na}, error ${c.counts.error}`),
    ...(s.hostErrors.length ? ['hosts not read:', ...s.hostErrors.map((e) => `  ${e.host}: ${e.message}`)] : []),
  ];
  return lines.join('\n');
}

function describeItems(run: RunView): string {
  return run.results
    .filter((r) => r.status !== 'manual-pending')
    .map((r) => [`${r.code} ${r.status.toUpperCase()}  ${r.en}`, ...r.checks.map((c) => `    ${c.collector} @ ${c.target}: ${c.status}: ${c.summary}`), ...r.hints.map((h) => `    hint: ${h}`)].join('\n'))
    .join('\n');
}

export function registerAuditCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const audit = program.command('audit').description('grade-protection (等级保护 / MLPS 2.0) audits: checklists, evidence, findings, scores, reports');

  /** The audit service on the data dir; with `live`, the CA, access control, monitor and backups feed the suite collectors. */
  const withAudit = async <T>(live: boolean, work: (service: AuditService) => Promise<T>): Promise<T> => {
    const { AuditService, liveSources } = await import('../audit/index.js');
    if (!live) {
      const config = resolveConfig(globals());
      const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
      try {
        return await work(new AuditService({ database }));
      } finally {
        await database.close();
      }
    }
    const suite = await openSuite(globals());
    const { openMonitor } = await import('../monitor/index.js');
    const { BackupService } = await import('../backup/index.js');
    const monitor = await openMonitor({ database: suite.database, secrets: openSecretBox(suite.config.dataDir), metrics: (suite.config.metrics ?? {}) as never, logRetentionDays: suite.config.monitor.logRetentionDays });
    try {
      let backup;
      try {
        backup = new BackupService({ config: suite.config, database: suite.database, actor: cliActor() });
      } catch {
        backup = undefined; // no backup configuration: the backup items report it as an error
      }
      const sources = liveSources({ config: suite.config, authority: suite.authority, ocsp: suite.ocsp, access: suite.access, monitor, ...(backup ? { backup } : {}), ...(process.env.EGOV_AUDIT_SNMP_TIMEOUT_MS ? { snmpTimeoutMs: Number(process.env.EGOV_AUDIT_SNMP_TIMEOUT_MS) } : {}) });
      const service = new AuditService({ database: suite.database, sources, nodeExists: async (name) => (await monitor.inventory.getNode(name).then(() => true, () => false)) });
      return await work(service);
    } finally {
      await monitor.close();
      await suite.close();
    }
  };

  audit
    .command('items')
    .description('the checklist items of a level (default 3)')
    .option('--level <level>', '2 or 3', '3')
    .option('--category <code>', 'PES, CNS, ABS, CES, SMC, PSS, ORS, HRS, CMS or MMS')
    .action(async (opts: { level: string; category?: string }) => {
      const { loadChecklist, parseLevel, COLLECTOR_NAMES, CATEGORY_CODES } = await import('../audit/index.js');
      const level = parseLevel(opts.level);
      const category = opts.category?.toUpperCase();
      if (category && !(CATEGORY_CODES as string[]).includes(category)) throw new EgovError('bad-request', `--category must be one of ${CATEGORY_CODES.join(', ')}, not ${opts.category}`);
      const items = loadChecklist(level, COLLECTOR_NAMES).items.filter((i) => !category || i.category === category);
      out(items, () => items.map((i) => `${i.code}  ${i.controlPoint.zh}/${i.controlPoint.en}  [${i.manual ? 'manual' : i.collectors.join(', ')}]${i.highRisks.length ? ` high risks: ${i.highRisks.join(', ')}` : ''}\n    ${i.zh}\n    ${i.en}`).join('\n') + `\n${items.length} items`);
    });

  const systems = audit.command('systems').description('systems under evaluation (定级对象)');
  systems
    .command('add <name>')
    .description('a system with its level and assets (the suite itself unless --no-suite, inventory nodes, hosts)')
    .requiredOption('--level <level>', '2 or 3')
    .option('--node <node>', 'an inventory node (repeat)', collect, [])
    .option('--host <host>', 'an audited host (repeat)', collect, [])
    .option('--no-suite', 'the suite itself is not an asset of this system')
    .option('--na <code=reason>', 'an item not applicable, with the reason (repeat)', collect, [])
    .action(async (name: string, opts: { level: string; node: string[]; host: string[]; suite: boolean; na: string[] }) => {
      const notApplicable: Record<string, string> = {};
      for (const entry of opts.na) {
        const at = entry.indexOf('=');
        if (at < 1) throw new EgovError('bad-request', `--na ${entry}: write CODE=REASON`);
        notApplicable[entry.slice(0, at).trim()] = entry.slice(at + 1);
      }
      const view = await withAudit(true, (s) => s.addSystem({ name, level: opts.level, nodes: opts.node, hosts: opts.host, suite: opts.suite, notApplicable }, cliActor()));
      out(view, () => `system ${view.name} (level ${view.level}) added: ${view.suite ? 'the suite, ' : ''}${view.nodes.length} node(s), hosts ${view.hosts.join(', ') || 'none'}`);
    });
  systems
    .command('list')
    .description('the systems under evaluation')
    .action(async () => {
      const list = await withAudit(false, (s) => s.listSystems());
      out(list, () => (list.length ? list.map((v) => `${v.name}  level ${v.level}  ${v.suite ? 'suite, ' : ''}${v.nodes.length} node(s), hosts ${v.hosts.join(', ') || '-'}${Object.keys(v.notApplicable).length ? `, ${Object.keys(v.notApplicable).length} item(s) n/a` : ''}`).join('\n') : 'no systems under evaluation'));
    });

  const hosts = audit.command('hosts').description('Linux hosts read over SSH or locally');
  hosts
    .command('add <name>')
    .description('a host, after a probe connection works')
    .option('--ssh <user@host>', 'SSH login')
    .option('--port <port>', 'SSH port', '22')
    .option('--identity <file>', 'private key for SSH')
    .option('--known-hosts <file>', "known_hosts with the host's key")
    .option('--local', 'this machine, read directly')
    .option('--root <dir>', 'read this directory as / (a prepared or mounted root)', '/')
    .action(async (name: string, opts: { ssh?: string; port: string; identity?: string; knownHosts?: string; local?: boolean; root: string }) => {
      if (!!opts.local === !!opts.ssh) throw new EgovError('bad-request', 'give --ssh USER@HOST or --local (one of them)');
      let target;
      if (opts.local) target = { name, kind: 'local' as const, root: opts.root };
      else {
        const m = /^([^@\s]+)@([^@\s]+)$/.exec(opts.ssh!);
        if (!m) throw new EgovError('bad-request', `--ssh ${opts.ssh}: write USER@HOST`);
        if (!/^\d+$/.test(opts.port)) throw new EgovError('bad-request', `--port ${opts.port} is not a number`);
        target = { name, kind: 'ssh' as const, user: m[1]!, address: m[2]!, port: Number(opts.port), ...(opts.identity ? { identityFile: opts.identity } : {}), ...(opts.knownHosts ? { knownHostsFile: opts.knownHosts } : {}), root: opts.root };
      }
      const view = await withAudit(false, (s) => s.addHost(target, cliActor()));
      out(view, () => `host ${view.name} added (${view.kind === 'ssh' ? `${view.user}@${view.address}:${view.port}` : 'local'}, root ${view.root})`);
    });
  hosts
    .command('list')
    .action(async () => {
      const list = await withAudit(false, (s) => s.listHosts());
      out(list, () => list.map((h) => `${h.name}  ${h.kind === 'ssh' ? `${h.user}@${h.address}:${h.port}` : 'local'}  root ${h.root}`).join('\n') || 'no hosts');
    });

  audit
    .command('run')
    .description('evaluate every item of the level; exit 0 whatever it finds (see --fail-under)')
    .option('--system <name>', 'a system under evaluation (default: the suite with every node and host)')
    .option('--level <level>', '2 or 3 (default the system\'s, else 3)')
    .option('--scoring <file>', 'scoring rules (default audit/scoring/2021.yaml)')
    .option('--fail-under <score>', 'exit 4 when the score is below this')
    .action(async (opts: { system?: string; level?: string; scoring?: string; failUnder?: string }) => {
      const { parseLevel } = await import('../audit/index.js');
      if (opts.level !== undefined) parseLevel(opts.level);
      const failUnder = opts.failUnder === undefined ? undefined : Number(opts.failUnder);
      if (failUnder !== undefined && !(failUnder >= 0 && failUnder <= 100)) throw new EgovError('bad-request', `--fail-under ${opts.failUnder} must be a score from 0 to 100`);
      const progress = (p: RunProgress) => process.stderr.write(`[${p.phase} ${p.done}/${p.total}] ${p.message}\n`);
      const run = await withAudit(true, (s) => s.run({ ...(opts.system ? { system: opts.system } : {}), ...(opts.level ? { level: opts.level } : {}), ...(opts.scoring ? { scoringFile: opts.scoring } : {}), onProgress: progress }, cliActor()));
      out(run, () => describeRun(run));
      if (failUnder !== undefined && (run.score === null || run.score < failUnder)) {
        process.stderr.write(`egov-ops: score ${run.score ?? '-'} is below --fail-under ${failUnder}\n`);
        process.exitCode = 4;
      }
    });

  audit
    .command('runs')
    .description('earlier runs, newest first')
    .option('--system <name>')
    .action(async (opts: { system?: string }) => {
      const list = await withAudit(false, (s) => s.listRuns(opts.system ? { system: opts.system } : {}));
      out(list, () => list.map((r) => `#${r.id}  ${r.startedAt}  ${r.system} L${r.level}  score ${r.score ?? '-'}  ${r.conclusion}  high risks ${r.highRisks}`).join('\n') || 'no runs');
    });

  audit
    .command('show <run>')
    .description('a run as it was: score, high risks, every item with its evidence')
    .action(async (id: string) => {
      const run = await withAudit(false, (s) => s.getRun(id));
      out(run, () => `${describeRun(run)}\n\n${describeItems(run)}`);
    });

  audit
    .command('attest <code>')
    .description('record a finding: a person checked the item (符合/部分符合/不符合/不适用)')
    .requiredOption('--result <result>', 'pass, partial, fail or na')
    .requiredOption('--note <text>', 'what was checked')
    .option('--file <file>', 'attachment: PDF, PNG, JPEG or text, up to 10 MiB (repeat)', collect, [])
    .requiredOption('--until <date>', 'valid until (YYYY-MM-DD, in the future)')
    .option('--system <name>', 'only for this system (default: every system)')
    .action(async (code: string, opts: { result: string; note: string; file: string[]; until: string; system?: string }) => {
      const f = await withAudit(false, (s) => s.attest({ code, result: opts.result, note: opts.note, files: opts.file, until: opts.until, ...(opts.system ? { system: opts.system } : {}) }, cliActor()));
      out(f, () => `attestation #${f.id}: ${f.code} ${f.result}, valid until ${f.validUntil.slice(0, 10)}${f.attachments.length ? `, ${f.attachments.length} attachment(s) ${f.attachments.map((a) => a.slice(0, 12)).join(', ')}` : ''}`);
    });

  audit
    .command('waive <code>')
    .description('accept a failure, by whom and until when (a waiver does not make it pass)')
    .requiredOption('--reason <text>', 'why it is accepted')
    .requiredOption('--until <date>', 'valid until (YYYY-MM-DD, in the future)')
    .option('--system <name>', 'only for this system')
    .action(async (code: string, opts: { reason: string; until: string; system?: string }) => {
      const f = await withAudit(false, (s) => s.waive({ code, reason: opts.reason, until: opts.until, ...(opts.system ? { system: opts.system } : {}) }, cliActor()));
      out(f, () => `waiver #${f.id}: ${f.code} accepted by ${f.recordedBy} until ${f.validUntil.slice(0, 10)}`);
    });

  audit
    .command('attachment <sha256>')
    .description('export an attachment of an attestation by its SHA-256 (the export is audited)')
    .requiredOption('--out <file>', 'where to write it')
    .option('--force', 'overwrite an existing file')
    .action(async (sha: string, opts: { out: string; force?: boolean }) => {
      if (existsSync(opts.out) && !opts.force) throw new EgovError('conflict', `${opts.out} exists already (--force overwrites it)`);
      const file = await withAudit(false, (s) => s.exportAttachment(sha, cliActor()));
      // Written beside the target and renamed: an interrupted export leaves no half file under the name.
      const partial = `${opts.out}.partial-${process.pid}`;
      writeFileSync(partial, file.content, { mode: 0o600 });
      renameSync(partial, opts.out);
      const { content, ...info } = file;
      out({ ...info, out: opts.out }, () => `attachment ${file.sha256.slice(0, 12)} (${file.name}, ${file.mediaType}, ${content.length} bytes, stored by ${file.storedBy} on ${file.storedAt.slice(0, 10)}) written to ${opts.out}`);
    });

  audit
    .command('report <run>')
    .description('write a report of a run: html, pdf, json or csv')
    .requiredOption('--format <format>', 'html, pdf, json or csv')
    .requiredOption('--out <file>', 'where to write it')
    .option('--lang <lang>', 'zh-CN or en (html, pdf)', 'zh-CN')
    .action(async (id: string, opts: { format: string; out: string; lang: string }) => {
      const { parseFormat, reportCsv, reportHtml, reportJson, reportPdf } = await import('../audit/index.js');
      const format = parseFormat(opts.format);
      if (opts.lang !== 'zh-CN' && opts.lang !== 'en') throw new EgovError('bad-request', `--lang must be zh-CN or en, not ${opts.lang}`);
      const { run, trend } = await withAudit(false, async (s) => {
        const run = await s.getRun(id);
        const trend = (await s.listRuns({ system: run.system, limit: 20 })).filter((r) => r.id <= run.id).reverse().map((r) => ({ id: r.id, startedAt: r.startedAt, score: r.score, conclusion: r.conclusion, highRisks: r.highRisks }));
        return { run, trend };
      });
      const content = format === 'json' ? reportJson(run, trend) : format === 'csv' ? reportCsv(run) : format === 'html' ? reportHtml(run, trend, opts.lang as 'zh-CN') : await reportPdf(reportHtml(run, trend, opts.lang as 'zh-CN'));
      writeFileSync(opts.out, content);
      out({ run: run.id, format, out: opts.out, bytes: Buffer.byteLength(content) }, () => `report of run #${run.id} written to ${opts.out} (${format}, ${Buffer.byteLength(content)} bytes)`);
    });

  return audit;
}
