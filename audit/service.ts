// Audits: systems under evaluation (定级对象) and their assets, audited
// hosts, officers' attestations and waivers with attachments, and runs that
// evaluate every item of a level's checklist, keep each result with its
// evidence, the collector's version and the time, and score the run.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { EgovError, appendAudit, recordAudit, type Database, type MlpsFindingTable } from '../core/index.js';
import { CATEGORIES, LEVELS, loadChecklist, loadHighRisks, loadRemedies, parseLevel, type AuditLevel, type Bilingual, type ChecklistItem, type Remedy } from './checklist.js';
import { COLLECTORS, COLLECTOR_NAMES, HOST_COLLECTORS, SUITE_COLLECTORS, probeHost, readHost, type CheckResult, type HostSnapshot, type HostTarget, type SuiteSources } from './collectors/index.js';
import { conclude, loadScoring, scoreItems, type ItemStatus, type ScoreBreakdown, type Scoring } from './scoring.js';

export interface AuditActor {
  actor: string;
  source: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const DEFAULT_SYSTEM = 'egov-ops';
export const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
export const ATTACHMENT_TYPES = ['application/pdf', 'image/png', 'image/jpeg', 'text/plain'] as const;

export interface SystemSpec {
  name: string;
  level: AuditLevel;
  suite: boolean;
  nodes: string[];
  hosts: string[];
  notApplicable: Record<string, string>;
}
export interface SystemView extends SystemSpec {
  createdAt: string;
  createdBy: string;
}

export interface HostView extends HostTarget {
  createdAt: string;
}

export interface Finding {
  id: number;
  kind: 'attestation' | 'waiver';
  code: string;
  system: string | null;
  result: 'pass' | 'partial' | 'fail' | 'na' | null;
  note: string;
  attachments: string[];
  validUntil: string;
  recordedAt: string;
  recordedBy: string;
}

export interface AttachmentInfo {
  sha256: string;
  name: string;
  mediaType: string;
  size: number;
  storedAt: string;
  storedBy: string;
}

export interface ItemResult {
  code: string;
  category: string;
  controlPoint: Bilingual;
  zh: string;
  en: string;
  weight: number;
  status: ItemStatus;
  /** How the status was reached: collectors, an attestation, not applicable, pending. */
  basis: string;
  checks: CheckResult[];
  attestation?: Finding;
  waiver?: Finding;
  highRisks: string[];
  hints: string[];
  /** Runbooks and knowledge-base articles that fix the checks that did not pass (when the item fails or is partial). */
  remedies?: Remedy[];
}

export interface HighRiskFinding {
  id: string;
  zh: string;
  en: string;
  items: string[];
  targets: string[];
  waived: boolean;
}

export interface RunSummary extends ScoreBreakdown {
  conclusion: { grade: string; en: string };
  highRisks: HighRiskFinding[];
  scoring: { template: string; name: Bilingual; label: Bilingual; rule: Bilingual };
  collectors: Record<string, string>;
  assets: { suite: boolean; nodes: number; hosts: string[] };
  hostErrors: Array<{ host: string; message: string }>;
}

export interface RunView {
  id: number;
  system: string;
  level: AuditLevel;
  startedAt: string;
  endedAt: string;
  startedBy: string;
  score: number | null;
  conclusion: string;
  summary: RunSummary;
  results: ItemResult[];
}

export interface RunProgress {
  phase: 'hosts' | 'suite' | 'items' | 'store';
  done: number;
  total: number;
  message: string;
}

export interface AuditServiceOptions {
  database: Database;
  /** Live sources for suite collectors; what is absent makes those items `error`. */
  sources?: Omit<SuiteSources, 'database'>;
  /** Inventory node names that exist (for systems add); default: anything. */
  nodeExists?: (name: string) => Promise<boolean>;
  now?: () => Date;
  checklistDir?: string;
}

const json = <T>(text: string): T => JSON.parse(text) as T;

function checkName(what: string, name: string): string {
  if (!NAME_PATTERN.test(name)) throw new EgovError('bad-request', `${what} name ${JSON.stringify(name)}: letters, digits, dot, dash and underscore, up to 64`);
  return name;
}

/** A date (YYYY-MM-DD or ISO) strictly after now, as ISO end of that day for bare dates. */
export function parseUntil(text: string, now: Date): string {
  const t = String(text ?? '').trim();
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T23:59:59.999Z` : t;
  const ms = Date.parse(iso);
  if (!t || Number.isNaN(ms)) throw new EgovError('bad-request', `--until ${JSON.stringify(text)} is not a date (YYYY-MM-DD)`);
  if (ms <= now.getTime()) throw new EgovError('bad-request', `--until ${t} is in the past: an attestation or waiver must expire in the future`);
  return new Date(ms).toISOString();
}

/** The media type of an attachment from its first bytes; null when not allowed. */
export function sniffType(content: Buffer): (typeof ATTACHMENT_TYPES)[number] | null {
  if (content.subarray(0, 5).toString('latin1') === '%PDF-') return 'application/pdf';
  if (content.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (content[0] === 0xff && content[1] === 0xd8 && content[2] === 0xff) return 'image/jpeg';
  if (!content.includes(0) && Buffer.from(content.toString('utf8'), 'utf8').equals(content)) return 'text/plain';
  return null;
}

export class AuditService {
  readonly database: Database;
  private readonly now: () => Date;

  constructor(private readonly options: AuditServiceOptions) {
    this.database = options.database;
    this.now = options.now ?? (() => new Date());
  }

  checklist(level: AuditLevel) {
    return loadChecklist(level, COLLECTOR_NAMES, this.options.checklistDir);
  }

  /** The item of a code, from the checklist of the code's level. */
  item(code: string): ChecklistItem {
    const m = /^L([23])-/.exec(code);
    const found = m ? this.checklist(Number(m[1]) as AuditLevel).items.find((i) => i.code === code) : undefined;
    if (!found) throw new EgovError('not-found', `no checklist item ${JSON.stringify(code)} (codes look like L3-CES1-01; egov-ops audit items lists them)`);
    return found;
  }

  // ------------------------------------------------------------ systems and hosts

  async addSystem(input: { name: string; level: unknown; nodes?: string[]; hosts?: string[]; suite?: boolean; notApplicable?: Record<string, string> }, by: AuditActor): Promise<SystemView> {
    const name = checkName('system', input.name);
    const level = parseLevel(input.level);
    const nodes = [...new Set(input.nodes ?? [])];
    const hosts = [...new Set(input.hosts ?? [])];
    for (const node of nodes) if (this.options.nodeExists && !(await this.options.nodeExists(node))) throw new EgovError('not-found', `system ${name}: no inventory node ${node}`);
    for (const host of hosts) if (!(await this.database.db.selectFrom('mlps_host').select('name').where('name', '=', host).executeTakeFirst())) throw new EgovError('not-found', `system ${name}: no audited host ${host} (add it with egov-ops audit hosts add)`);
    const notApplicable = input.notApplicable ?? {};
    for (const [code, reason] of Object.entries(notApplicable)) {
      if (this.item(code).level !== level) throw new EgovError('bad-request', `system ${name}: ${code} is not a level-${level} item`);
      if (!String(reason).trim()) throw new EgovError('bad-request', `system ${name}: not applicable ${code} needs a reason`);
    }
    const row = { name, level, suite: input.suite === false ? 0 : 1, nodes: JSON.stringify(nodes), hosts: JSON.stringify(hosts), not_applicable: JSON.stringify(notApplicable), created_at: this.now().toISOString(), created_by: by.actor };
    await this.database.write(async (tx) => {
      if (await tx.selectFrom('mlps_system').select('name').where('name', '=', name).executeTakeFirst()) throw new EgovError('conflict', `system ${name} exists already`);
      await tx.insertInto('mlps_system').values(row).execute();
      await appendAudit(tx, { ...by, action: 'audit.system-add', object: `audit-system:${name}`, outcome: 'success', detail: { level, nodes: nodes.length, hosts, suite: row.suite === 1 } });
    });
    return this.getSystem(name);
  }

  async setNotApplicable(system: string, code: string, reason: string | null, by: AuditActor): Promise<SystemView> {
    const view = await this.getSystem(system);
    if (this.item(code).level !== view.level) throw new EgovError('bad-request', `${code} is not a level-${view.level} item`);
    if (reason !== null && !reason.trim()) throw new EgovError('bad-request', `not applicable ${code} needs a reason`);
    const na = { ...view.notApplicable };
    if (reason === null) delete na[code];
    else na[code] = reason.trim();
    await this.database.write(async (tx) => {
      await tx.updateTable('mlps_system').set({ not_applicable: JSON.stringify(na) }).where('name', '=', system).execute();
      await appendAudit(tx, { ...by, action: 'audit.not-applicable', object: `audit-system:${system}/${code}`, outcome: 'success', detail: { reason } });
    });
    return this.getSystem(system);
  }

  async getSystem(name: string): Promise<SystemView> {
    const row = await this.database.db.selectFrom('mlps_system').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new EgovError('not-found', `no system under evaluation ${JSON.stringify(name)} (egov-ops audit systems list)`);
    return { name: row.name, level: row.level as AuditLevel, suite: row.suite === 1, nodes: json(row.nodes), hosts: json(row.hosts), notApplicable: json(row.not_applicable), createdAt: row.created_at, createdBy: row.created_by };
  }

  async listSystems(): Promise<SystemView[]> {
    const rows = await this.database.db.selectFrom('mlps_system').select('name').orderBy('name').execute();
    return Promise.all(rows.map((r) => this.getSystem(r.name)));
  }

  /** Adds a host after a probe connection works: a refusing host or a wrong key leaves nothing behind. */
  async addHost(input: HostTarget, by: AuditActor): Promise<HostView> {
    const name = checkName('host', input.name);
    const target: HostTarget = { ...input, name, root: input.root ?? '/' };
    if (target.kind === 'ssh') {
      if (!target.user || !target.address) throw new EgovError('bad-request', `host ${name}: --ssh USER@HOST is needed (or --local)`);
      if (!target.identityFile) throw new EgovError('bad-request', `host ${name}: --identity FILE is needed for ssh`);
      for (const [what, file] of [['identity', target.identityFile], ['known-hosts', target.knownHostsFile]] as const) {
        if (file && !statSync(file, { throwIfNoEntry: false })?.isFile()) throw new EgovError('bad-request', `host ${name}: --${what} ${file} is not a readable file`);
      }
      if (target.port !== undefined && !(Number.isInteger(target.port) && target.port > 0 && target.port < 65536)) throw new EgovError('bad-request', `host ${name}: port ${target.port} is not a TCP port`);
      target.identityFile = path.resolve(target.identityFile);
      if (target.knownHostsFile) target.knownHostsFile = path.resolve(target.knownHostsFile);
    }
    if (await this.database.db.selectFrom('mlps_host').select('name').where('name', '=', name).executeTakeFirst()) throw new EgovError('conflict', `host ${name} exists already`);
    try {
      await probeHost(target);
    } catch (error) {
      await recordAudit(this.database, { ...by, action: 'audit.host-add', object: `audit-host:${name}`, outcome: 'refused', detail: { reason: (error as Error).message } }).catch(() => undefined);
      throw error;
    }
    await this.database.write(async (tx) => {
      await tx
        .insertInto('mlps_host')
        .values({ name, kind: target.kind, ssh_user: target.user ?? null, address: target.address ?? null, port: target.kind === 'ssh' ? (target.port ?? 22) : null, identity_file: target.identityFile ?? null, known_hosts_file: target.knownHostsFile ?? null, root: target.root!, created_at: this.now().toISOString(), created_by: by.actor })
        .execute();
      await appendAudit(tx, { ...by, action: 'audit.host-add', object: `audit-host:${name}`, outcome: 'success', detail: { kind: target.kind, address: target.address ?? 'local', root: target.root } });
    });
    return (await this.listHosts()).find((h) => h.name === name)!;
  }

  async listHosts(): Promise<HostView[]> {
    const rows = await this.database.db.selectFrom('mlps_host').selectAll().orderBy('name').execute();
    return rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      root: r.root,
      createdAt: r.created_at,
      ...(r.ssh_user ? { user: r.ssh_user } : {}),
      ...(r.address ? { address: r.address } : {}),
      ...(r.port ? { port: r.port } : {}),
      ...(r.identity_file ? { identityFile: r.identity_file } : {}),
      ...(r.known_hosts_file ? { knownHostsFile: r.known_hosts_file } : {}),
    }));
  }

  // ------------------------------------------------------------ findings

  private async storeAttachments(files: string[]): Promise<Array<{ sha256: string; name: string; media_type: string; size: number; content: Buffer }>> {
    return files.map((file) => {
      const stat = statSync(file, { throwIfNoEntry: false });
      if (!stat?.isFile()) throw new EgovError('bad-request', `attachment ${file} is not a readable file`);
      if (stat.size > MAX_ATTACHMENT_BYTES) throw new EgovError('bad-request', `attachment ${file} is ${stat.size} bytes, over the ${MAX_ATTACHMENT_BYTES / 1024 / 1024} MiB limit`);
      const content = readFileSync(file);
      const type = sniffType(content);
      if (!type) throw new EgovError('bad-request', `attachment ${file} is not of an allowed type (${ATTACHMENT_TYPES.join(', ')}, judged by content)`);
      return { sha256: createHash('sha256').update(content).digest('hex'), name: path.basename(file), media_type: type, size: content.length, content };
    });
  }

  async attest(input: { code: string; system?: string; result: string; note: string; files?: string[]; until: string }, by: AuditActor): Promise<Finding> {
    const item = this.item(input.code);
    if (!['pass', 'partial', 'fail', 'na'].includes(input.result)) throw new EgovError('bad-request', `--result must be pass, partial, fail or na, not ${JSON.stringify(input.result)}`);
    if (!input.note?.trim()) throw new EgovError('bad-request', 'an attestation needs a note saying what was checked');
    if (input.system && (await this.getSystem(input.system)).level !== item.level) throw new EgovError('bad-request', `${item.code} is not an item of system ${input.system}'s level`);
    const until = parseUntil(input.until, this.now());
    const attachments = await this.storeAttachments(input.files ?? []);
    return this.recordFinding({ kind: 'attestation', code: item.code, system: input.system ?? null, result: input.result, note: input.note.trim(), attachments: JSON.stringify(attachments.map((a) => a.sha256)), valid_until: until }, attachments, by);
  }

  async waive(input: { code: string; system?: string; reason: string; until: string }, by: AuditActor): Promise<Finding> {
    const item = this.item(input.code);
    if (!input.reason?.trim()) throw new EgovError('bad-request', 'a waiver needs a reason (why the failure is accepted)');
    if (input.system) await this.getSystem(input.system);
    const until = parseUntil(input.until, this.now());
    return this.recordFinding({ kind: 'waiver', code: item.code, system: input.system ?? null, result: null, note: input.reason.trim(), attachments: '[]', valid_until: until }, [], by);
  }

  private async recordFinding(row: Omit<MlpsFindingTable, 'id' | 'recorded_at' | 'recorded_by'>, attachments: Array<{ sha256: string; name: string; media_type: string; size: number; content: Buffer }>, by: AuditActor): Promise<Finding> {
    const at = this.now().toISOString();
    const id = await this.database.write(async (tx) => {
      for (const a of attachments) {
        const exists = await tx.selectFrom('mlps_attachment').select('sha256').where('sha256', '=', a.sha256).executeTakeFirst();
        if (!exists) await tx.insertInto('mlps_attachment').values({ ...a, stored_at: at, stored_by: by.actor }).execute();
      }
      const inserted = await tx.insertInto('mlps_finding').values({ ...row, recorded_at: at, recorded_by: by.actor }).returning('id').executeTakeFirstOrThrow();
      await appendAudit(tx, { ...by, action: row.kind === 'waiver' ? 'audit.waive' : 'audit.attest', object: `audit-item:${row.code}${row.system ? `@${row.system}` : ''}`, outcome: 'success', detail: { finding: inserted.id, result: row.result, until: row.valid_until, attachments: attachments.map((a) => ({ sha256: a.sha256, name: a.name, type: a.media_type, size: a.size })) } });
      return Number(inserted.id);
    });
    return (await this.findings({ id }))[0]!;
  }

  async findings(filter: { id?: number; code?: string; system?: string; validAt?: Date } = {}): Promise<Finding[]> {
    let q = this.database.db.selectFrom('mlps_finding').selectAll().orderBy('id', 'desc');
    if (filter.id !== undefined) q = q.where('id', '=', filter.id);
    if (filter.code) q = q.where('code', '=', filter.code);
    if (filter.validAt) q = q.where('valid_until', '>', filter.validAt.toISOString());
    const rows = await q.execute();
    return rows
      .filter((r) => filter.system === undefined || r.system === null || r.system === filter.system)
      .map((r) => ({ id: Number(r.id), kind: r.kind, code: r.code, system: r.system, result: r.result as Finding['result'], note: r.note, attachments: json(r.attachments), validUntil: r.valid_until, recordedAt: r.recorded_at, recordedBy: r.recorded_by }));
  }

  async attachment(sha256: string): Promise<{ name: string; mediaType: string; size: number; content: Buffer }> {
    const row = await this.database.db.selectFrom('mlps_attachment').selectAll().where('sha256', '=', sha256).executeTakeFirst();
    if (!row) throw new EgovError('not-found', `no attachment ${sha256}`);
    return { name: row.name, mediaType: row.media_type, size: row.size, content: Buffer.from(row.content) };
  }

  /** Names, types and sizes of stored attachments (no content), by SHA-256. */
  async attachmentInfo(shas: readonly string[]): Promise<Map<string, AttachmentInfo>> {
    if (!shas.length) return new Map();
    const rows = await this.database.db.selectFrom('mlps_attachment').select(['sha256', 'name', 'media_type', 'size', 'stored_at', 'stored_by']).where('sha256', 'in', [...new Set(shas)]).execute();
    return new Map(rows.map((r) => [r.sha256, { sha256: r.sha256, name: r.name, mediaType: r.media_type, size: Number(r.size), storedAt: r.stored_at, storedBy: r.stored_by }]));
  }

  /**
   * An attachment handed out (API download, CLI export): the content checked
   * against its SHA-256 before it leaves, and the read audited, as report
   * downloads and credential reads are.
   */
  async exportAttachment(sha256: string, by: AuditActor): Promise<AttachmentInfo & { content: Buffer }> {
    const sha = String(sha256 ?? '').trim().toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(sha)) throw new EgovError('bad-request', `attachment ${JSON.stringify(sha256)} is not a SHA-256 (64 hexadecimal digits)`);
    const row = await this.database.db.selectFrom('mlps_attachment').selectAll().where('sha256', '=', sha).executeTakeFirst();
    if (!row) {
      await recordAudit(this.database, { ...by, action: 'audit.attachment-download', object: `audit-attachment:${sha}`, outcome: 'failure', detail: { reason: 'not found' } });
      throw new EgovError('not-found', `no attachment ${sha} (the SHA-256s are listed with each attestation: egov-ops audit show RUN --json)`);
    }
    const content = Buffer.from(row.content);
    if (createHash('sha256').update(content).digest('hex') !== sha) {
      await recordAudit(this.database, { ...by, action: 'audit.attachment-download', object: `audit-attachment:${sha}`, outcome: 'failure', detail: { reason: 'content does not match its SHA-256' } });
      throw new EgovError('internal', `attachment ${sha}: the stored content does not match its SHA-256; it was changed after it was stored`);
    }
    await recordAudit(this.database, { ...by, action: 'audit.attachment-download', object: `audit-attachment:${sha}`, outcome: 'success', detail: { name: row.name, type: row.media_type, size: content.length } });
    return { sha256: sha, name: row.name, mediaType: row.media_type, size: content.length, storedAt: row.stored_at, storedBy: row.stored_by, content };
  }

  // ------------------------------------------------------------ runs

  /** The system a run is of: a named one, or the suite with every node and host when none is named. */
  private async systemFor(name: string | undefined, level: AuditLevel | undefined): Promise<SystemView> {
    if (name) {
      const system = await this.getSystem(name);
      if (level !== undefined && level !== system.level) throw new EgovError('bad-request', `system ${name} is graded level ${system.level}; --level ${level} contradicts it`);
      return system;
    }
    const nodes = this.options.sources?.nodes ? (await this.options.sources.nodes()).map((n) => n.name) : [];
    const hosts = (await this.listHosts()).map((h) => h.name);
    return { name: DEFAULT_SYSTEM, level: level ?? 3, suite: true, nodes, hosts, notApplicable: {}, createdAt: '', createdBy: '' };
  }

  async run(request: { system?: string; level?: unknown; scoringFile?: string; onProgress?: (p: RunProgress) => void } = {}, by: AuditActor): Promise<RunView> {
    const level = request.level === undefined ? undefined : parseLevel(request.level);
    const scoring = loadScoring(request.scoringFile);
    const system = await this.systemFor(request.system, level);
    const checklist = this.checklist(system.level);
    const startedAt = this.now();
    const progress = request.onProgress ?? (() => undefined);
    const wanted = new Set(checklist.items.flatMap((i) => i.collectors));

    // Hosts: one read each, at most 10 at a time.
    const hostRows = (await this.listHosts()).filter((h) => system.hosts.includes(h.name));
    const snapshots = new Map<string, HostSnapshot>();
    const hostErrors: Array<{ host: string; message: string }> = [];
    const needHosts = HOST_COLLECTORS.some((c) => wanted.has(c.name));
    let hostsDone = 0;
    const queue = needHosts ? [...hostRows] : [];
    progress({ phase: 'hosts', done: 0, total: queue.length, message: `reading ${queue.length} host(s)` });
    await Promise.all(
      Array.from({ length: Math.min(10, queue.length) }, async () => {
        for (let host = queue.shift(); host; host = queue.shift()) {
          try {
            snapshots.set(host.name, await readHost(host));
          } catch (error) {
            hostErrors.push({ host: host.name, message: (error as Error).message });
          }
          progress({ phase: 'hosts', done: ++hostsDone, total: hostRows.length, message: `host ${host.name}` });
        }
      }),
    );

    // Suite collectors: each once.
    const suiteResults = new Map<string, CheckResult>();
    const sources: SuiteSources | undefined = this.options.sources ? { ...this.options.sources, database: this.database } : undefined;
    const nodeFilter = system.name === DEFAULT_SYSTEM ? undefined : new Set(system.nodes);
    const suiteWanted = system.suite ? SUITE_COLLECTORS.filter((c) => wanted.has(c.name)) : [];
    let suiteDone = 0;
    await Promise.all(
      suiteWanted.map(async (c) => {
        const scoped: SuiteSources = sources
          ? {
              ...sources,
              ...(nodeFilter && sources.nodes ? { nodes: async () => (await sources.nodes!()).filter((n) => nodeFilter.has(n.name)) } : {}),
              ...(nodeFilter && sources.nodeStatuses ? { nodeStatuses: async () => (await sources.nodeStatuses!()).filter((n) => nodeFilter.has(n.name)) } : {}),
            }
          : ({ database: this.database } as SuiteSources);
        const result = sources ? await c.collect(scoped) : { collector: c.name, version: c.version, target: 'suite', at: this.now().toISOString(), status: 'error' as const, summary: 'the suite is not open to this audit', evidence: [] };
        suiteResults.set(c.name, result);
        progress({ phase: 'suite', done: ++suiteDone, total: suiteWanted.length, message: `${c.name}: ${result.status}` });
      }),
    );

    // Items.
    const now = this.now();
    const findings = await this.findings({ system: system.name, validAt: now });
    const remedies = loadRemedies(COLLECTOR_NAMES, this.options.checklistDir);
    const latest = (kind: Finding['kind'], code: string) => findings.find((f) => f.kind === kind && f.code === code && (f.system === system.name || f.system === null));
    const results: ItemResult[] = checklist.items.map((item) => {
      const base = { code: item.code, category: item.category, controlPoint: item.controlPoint, zh: item.zh, en: item.en, weight: item.weight };
      const waiver = latest('waiver', item.code);
      const attestation = latest('attestation', item.code);
      const na = system.notApplicable[item.code];
      if (na) return { ...base, status: 'na', basis: `not applicable: ${na}`, checks: [], highRisks: [], hints: [] };
      const checks: CheckResult[] = [];
      for (const name of item.collectors) {
        const collector = COLLECTORS.get(name)!;
        if (collector.kind === 'suite') {
          const r = suiteResults.get(name);
          if (r) checks.push(r);
        } else {
          for (const host of hostRows) {
            const snap = snapshots.get(host.name);
            checks.push(snap ? collector.check(snap) : { collector: name, version: collector.version, target: `host:${host.name}`, at: now.toISOString(), status: 'error', summary: hostErrors.find((e) => e.host === host.name)?.message ?? 'not read', evidence: [] });
          }
        }
      }
      let status: ItemStatus;
      let basis: string;
      const judged = checks.filter((c) => c.status !== 'na');
      if (!checks.length) {
        status = attestation?.result ? (attestation.result as ItemStatus) : 'manual-pending';
        basis = attestation ? `attested by ${attestation.recordedBy} on ${attestation.recordedAt.slice(0, 10)}, valid until ${attestation.validUntil.slice(0, 10)}` : item.manual ? 'manual item: no valid attestation' : 'no asset of this system is checked by its collectors: needs an attestation';
      } else if (!judged.length) {
        status = 'na';
        basis = 'every check found nothing to judge';
      } else {
        const s = new Set(judged.map((c) => c.status));
        status = s.has('error') && !s.has('fail') ? 'error' : s.size === 1 ? (judged[0]!.status as ItemStatus) : 'partial';
        basis = `${judged.length} automatic check(s)`;
        if (status === 'error' && attestation?.result) {
          status = attestation.result as ItemStatus;
          basis = `collector error; attested by ${attestation.recordedBy}, valid until ${attestation.validUntil.slice(0, 10)}`;
        }
      }
      const revealed = new Set<string>();
      for (const c of checks) for (const r of c.highRisks ?? []) if (item.highRisks.includes(r)) revealed.add(r);
      if (status === 'fail' && item.manual) for (const r of item.highRisks) revealed.add(r);
      const result: ItemResult = { ...base, status, basis, checks, highRisks: status === 'fail' || status === 'partial' ? [...revealed] : [], hints: [...new Set(checks.filter((c) => c.hint && c.status !== 'pass').map((c) => c.hint!))] };
      if (status === 'fail' || status === 'partial' || status === 'error') {
        const seen = new Set<string>();
        const fixes = checks.filter((c) => c.status !== 'pass' && c.status !== 'na').flatMap((c) => remedies.get(c.collector) ?? []).filter((r) => !seen.has(`${r.kind}:${r.id}`) && seen.add(`${r.kind}:${r.id}`));
        if (fixes.length) result.remedies = fixes;
      }
      if (attestation) result.attestation = attestation;
      if (waiver && (status === 'fail' || status === 'partial')) result.waiver = waiver;
      return result;
    });
    progress({ phase: 'items', done: results.length, total: results.length, message: `${results.length} items evaluated` });

    const catalogue = loadHighRisks(this.options.checklistDir);
    const risks = new Map<string, HighRiskFinding>();
    for (const r of results)
      for (const id of r.highRisks) {
        const entry = risks.get(id) ?? { id, zh: catalogue[id]?.zh ?? id, en: catalogue[id]?.en ?? id, items: [], targets: [], waived: true };
        entry.items.push(r.code);
        for (const c of r.checks) if (c.highRisks?.includes(id) && !entry.targets.includes(c.target)) entry.targets.push(c.target);
        entry.waived &&= !!r.waiver;
        risks.set(id, entry);
      }
    const breakdown = scoreItems(scoring, results.map((r) => ({ item: checklist.items.find((i) => i.code === r.code)!, status: r.status })));
    const conclusion = conclude(scoring, breakdown.score, risks.size);
    const collectors = Object.fromEntries([...wanted].sort().map((n) => [n, COLLECTORS.get(n)!.version]));
    const summary: RunSummary = {
      ...breakdown,
      conclusion,
      highRisks: [...risks.values()],
      scoring: { template: scoring.template, name: scoring.name, label: scoring.label, rule: scoring.rule },
      collectors,
      assets: { suite: system.suite, nodes: system.nodes.length, hosts: hostRows.map((h) => h.name) },
      hostErrors,
    };
    const endedAt = this.now();
    progress({ phase: 'store', done: 0, total: 1, message: 'storing the results' });
    const id = await this.database.write(async (tx) => {
      const run = await tx
        .insertInto('mlps_run')
        .values({ system: system.name, level: system.level, started_at: startedAt.toISOString(), ended_at: endedAt.toISOString(), started_by: by.actor, scoring: scoring.template, score: breakdown.score, conclusion: conclusion.grade, summary: JSON.stringify(summary) })
        .returning('id')
        .executeTakeFirstOrThrow();
      const runId = Number(run.id);
      for (let i = 0; i < results.length; i += 100) {
        await tx
          .insertInto('mlps_result')
          .values(results.slice(i, i + 100).map((r) => ({ run_id: runId, code: r.code, status: r.status, detail: JSON.stringify(r) })))
          .execute();
      }
      await appendAudit(tx, { ...by, action: 'audit.run', object: `audit-run:${runId}`, outcome: 'success', detail: { system: system.name, level: system.level, score: breakdown.score, conclusion: conclusion.grade, highRisks: [...risks.keys()], counts: breakdown.counts } });
      return runId;
    });
    progress({ phase: 'store', done: 1, total: 1, message: `run ${id} stored` });
    return this.getRun(id);
  }

  async getRun(id: number | string): Promise<RunView> {
    const n = Number(id);
    if (!Number.isInteger(n) || n < 1) throw new EgovError('bad-request', `run ${JSON.stringify(id)} is not a run number`);
    const row = await this.database.db.selectFrom('mlps_run').selectAll().where('id', '=', n).executeTakeFirst();
    if (!row) throw new EgovError('not-found', `no audit run ${n}`);
    const results = await this.database.db.selectFrom('mlps_result').select('detail').where('run_id', '=', n).execute();
    const order = new Map(this.checklist(row.level as AuditLevel).items.map((it, i) => [it.code, i]));
    return {
      id: n,
      system: row.system,
      level: row.level as AuditLevel,
      startedAt: row.started_at,
      endedAt: row.ended_at,
      startedBy: row.started_by,
      score: row.score,
      conclusion: row.conclusion,
      summary: json(row.summary),
      results: results.map((r) => json<ItemResult>(r.detail)).sort((a, b) => (order.get(a.code) ?? 0) - (order.get(b.code) ?? 0)),
    };
  }

  /** Runs, newest first, without their results. */
  async listRuns(filter: { system?: string; limit?: number } = {}): Promise<Array<Omit<RunView, 'results' | 'summary'> & { highRisks: number }>> {
    let q = this.database.db.selectFrom('mlps_run').selectAll().orderBy('id', 'desc').limit(filter.limit ?? 50);
    if (filter.system) q = q.where('system', '=', filter.system);
    return (await q.execute()).map((r) => ({ id: Number(r.id), system: r.system, level: r.level as AuditLevel, startedAt: r.started_at, endedAt: r.ended_at, startedBy: r.started_by, score: r.score, conclusion: r.conclusion, highRisks: json<RunSummary>(r.summary).highRisks.length }));
  }
}

export { LEVELS, CATEGORIES };
