// The inventory: nodes (with sealed SNMP credentials and parents towards the
// core) and links. Every change is one transaction holding the row(s) and
// its audit record; every refusal is audited too, like the CA's.

import { appendAudit, auditedWork, EgovError, recordAudit, type AuditEvent, type Database, type SecretBox, type WriteTx } from '../core/index.js';
import {
  checkLinkPatch,
  checkLinkSpec,
  checkNodePatch,
  checkNodeSpec,
  linkLabel,
  type LinkSpec,
  type LinkView,
  type NodeSpec,
  type NodeView,
  type SnmpCredentials,
} from './inventory-spec.js';
import {
  credentialColumns,
  cyclePath,
  findNodeRow,
  insertLinkRow,
  insertNodeRow,
  linkOnInterface,
  nodeIds,
  openCredentials,
  readLinkViews,
  readNodeViews,
  readParentNames,
  replaceParents,
  type NodeFilter,
} from './inventory-store.js';

/** Who asks, and from where: goes into every audit record. */
export interface Actor {
  actor: string;
  source: string;
}

export interface InventoryOptions {
  database: Database;
  /** Seals SNMP credentials at rest (core's openSecretBox). */
  secrets: SecretBox;
  now?: () => Date;
}

/** One row of an import: a node or a link, with the line it came from. */
export interface ImportRow {
  line: number;
  kind: 'node' | 'link';
  input: unknown;
  /** Set when the row could not even be read (a CSV row with the wrong number of fields). */
  problem?: string;
}

export interface ImportRejection {
  line: number;
  kind: 'node' | 'link';
  /** The node name or link ends, when the row got that far. */
  subject: string | null;
  reason: string;
}

export interface ImportReport {
  accepted: { nodes: number; links: number };
  /** Names of the nodes and labels of the links stored. */
  stored: string[];
  rejected: ImportRejection[];
}

const nodeObject = (name: string) => `monitor:node/${name}`;
const linkObject = (id: number | string) => `monitor:link/${id}`;
const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

export class Inventory {
  private readonly database: Database;
  private readonly secrets: SecretBox;
  private readonly now: () => Date;

  constructor(options: InventoryOptions) {
    this.database = options.database;
    this.secrets = options.secrets;
    this.now = options.now ?? (() => new Date());
  }

  // ------------------------------------------------------------ auditing

  /** Runs `work`; a refusal or failure is recorded in the audit log before it is rethrown. */
  private audited<T>(by: Actor, action: string, object: string, work: () => Promise<T>): Promise<T> {
    return auditedWork(this.database, { ...by, action, object }, work);
  }

  // ------------------------------------------------------------ nodes

  listNodes(filter: NodeFilter = {}): Promise<NodeView[]> {
    return readNodeViews(this.database.db, filter);
  }

  async getNode(name: string): Promise<NodeView> {
    const [view] = await readNodeViews(this.database.db, { names: [name] });
    if (!view) throw new EgovError('not-found', `no node named "${name}" in the inventory`);
    return view;
  }

  async addNode(input: unknown, by: Actor): Promise<NodeView> {
    const claimed = typeof (input as { name?: unknown })?.name === 'string' ? (input as { name: string }).name : '?';
    return this.audited(by, 'monitor.node.add', nodeObject(claimed), async () => {
      const spec = checkNodeSpec(input);
      await this.database.write(async (tx) => {
        if (await findNodeRow(tx, spec.name)) throw new EgovError('conflict', `a node named "${spec.name}" already exists`);
        const parentIds = await this.parentIds(tx, spec.parents);
        const id = await insertNodeRow(tx, spec, this.secrets, this.now().toISOString());
        await replaceParents(tx, id, [...parentIds.values()]);
        await appendAudit(tx, { ...by, action: 'monitor.node.add', object: nodeObject(spec.name), outcome: 'success', detail: auditFacts(spec) });
      });
      return this.getNode(spec.name);
    });
  }

  async updateNode(name: string, input: unknown, by: Actor): Promise<NodeView> {
    return this.audited(by, 'monitor.node.update', nodeObject(name), async () => {
      const patch = checkNodePatch(input, name);
      await this.database.write(async (tx) => {
        const row = await findNodeRow(tx, name);
        if (!row) throw new EgovError('not-found', `no node named "${name}" in the inventory`);
        if (patch.parents) {
          const parentIds = await this.parentIds(tx, patch.parents);
          const loop = cyclePath(await readParentNames(tx), name, patch.parents);
          if (loop) throw new EgovError('bad-request', `parents: that would make a cycle (${loop.join(' -> ')}); a parent must be nearer the core`);
          await replaceParents(tx, Number(row.id), [...parentIds.values()]);
        }
        const { parents: _parents, snmp, snmpPort, ...plain } = patch;
        await tx
          .updateTable('monitor_node')
          .set({
            ...plain,
            ...(snmpPort !== undefined ? { snmp_port: snmpPort } : {}),
            ...(snmp !== undefined ? credentialColumns(snmp, this.secrets) : {}),
            updated_at: this.now().toISOString(),
          })
          .where('id', '=', row.id)
          .execute();
        // Which fields changed, never to what for the credentials.
        const detail: Record<string, unknown> = { changed: Object.keys(patch).sort() };
        for (const key of ['kind', 'zone', 'site', 'level', 'address', 'snmpPort', 'parents'] as const) if (patch[key] !== undefined) detail[key] = patch[key];
        if (snmp !== undefined) detail.snmpVersion = snmp?.version ?? null;
        await appendAudit(tx, { ...by, action: 'monitor.node.update', object: nodeObject(name), outcome: 'success', detail });
      });
      return this.getNode(name);
    });
  }

  /** Refused while other nodes name it as a parent or links end on it: say which, so nothing is orphaned silently. */
  async removeNode(name: string, by: Actor): Promise<void> {
    return this.audited(by, 'monitor.node.remove', nodeObject(name), async () => {
      await this.database.write(async (tx) => {
        const row = await findNodeRow(tx, name);
        if (!row) throw new EgovError('not-found', `no node named "${name}" in the inventory`);
        const children = await tx
          .selectFrom('monitor_node_parent as e')
          .innerJoin('monitor_node as n', 'n.id', 'e.node_id')
          .select('n.name')
          .where('e.parent_id', '=', row.id)
          .orderBy('n.name')
          .execute();
        if (children.length) {
          throw new EgovError('conflict', `node "${name}" is the parent of ${children.map((c) => `"${c.name}"`).join(', ')}; give those other parents first`);
        }
        const links = await readLinkViews(tx, { node: name });
        if (links.length) throw new EgovError('conflict', `links end on node "${name}": ${links.map((l) => `#${l.id} ${linkLabel(l)}`).join('; ')}; remove them first`);
        await tx.deleteFrom('monitor_node_parent').where('node_id', '=', row.id).execute();
        await tx.deleteFrom('monitor_node').where('id', '=', row.id).execute();
        await appendAudit(tx, { ...by, action: 'monitor.node.remove', object: nodeObject(name), outcome: 'success', detail: { kind: row.kind, address: row.address } });
      });
    });
  }

  /** The credentials in clear, for the poller in this process; never for the API. Each opening is audited. */
  async snmpCredentials(name: string, by: Actor): Promise<SnmpCredentials | null> {
    return this.audited(by, 'monitor.node.credentials-read', nodeObject(name), async () => {
      const row = await findNodeRow(this.database.db, name);
      if (!row) throw new EgovError('not-found', `no node named "${name}" in the inventory`);
      const credentials = openCredentials(row, this.secrets);
      await recordAudit(this.database, { ...by, action: 'monitor.node.credentials-read', object: nodeObject(name), outcome: 'success', detail: { version: credentials?.version ?? null } });
      return credentials;
    });
  }

  private async parentIds(tx: WriteTx, parents: readonly string[]): Promise<Map<string, number>> {
    const ids = await nodeIds(tx, parents);
    const missing = parents.filter((p) => !ids.has(p));
    if (missing.length) throw new EgovError('bad-request', `parents: no node named ${missing.map((m) => `"${m}"`).join(', ')} in the inventory`);
    return ids;
  }

  // ------------------------------------------------------------ links

  listLinks(filter: { node?: string } = {}): Promise<LinkView[]> {
    return readLinkViews(this.database.db, filter);
  }

  async getLink(id: number): Promise<LinkView> {
    const [view] = await readLinkViews(this.database.db, { id });
    if (!view) throw new EgovError('not-found', `no link #${id} in the inventory`);
    return view;
  }

  async addLink(input: unknown, by: Actor): Promise<LinkView> {
    return this.audited(by, 'monitor.link.add', linkObject('new'), async () => {
      const spec = checkLinkSpec(input);
      const id = await this.database.write(async (tx) => {
        const ends = await this.linkEnds(tx, spec, new Map());
        const linkId = await insertLinkRow(tx, spec, ends.a, ends.b, this.now().toISOString());
        await appendAudit(tx, { ...by, action: 'monitor.link.add', object: linkObject(linkId), outcome: 'success', detail: { link: linkLabel(spec), capacityBps: spec.capacityBps } });
        return linkId;
      });
      return this.getLink(id);
    });
  }

  async updateLink(id: number, input: unknown, by: Actor): Promise<LinkView> {
    return this.audited(by, 'monitor.link.update', linkObject(id), async () => {
      const patch = checkLinkPatch(input);
      await this.database.write(async (tx) => {
        const existing = await tx.selectFrom('monitor_link').select('id').where('id', '=', id).executeTakeFirst();
        if (!existing) throw new EgovError('not-found', `no link #${id} in the inventory`);
        await tx
          .updateTable('monitor_link')
          .set({
            ...(patch.capacityBps !== undefined ? { capacity_bps: patch.capacityBps } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            updated_at: this.now().toISOString(),
          })
          .where('id', '=', id)
          .execute();
        await appendAudit(tx, { ...by, action: 'monitor.link.update', object: linkObject(id), outcome: 'success', detail: { ...patch } });
      });
      return this.getLink(id);
    });
  }

  async removeLink(id: number, by: Actor): Promise<void> {
    return this.audited(by, 'monitor.link.remove', linkObject(id), async () => {
      await this.database.write(async (tx) => {
        const [link] = await readLinkViews(tx, { id });
        if (!link) throw new EgovError('not-found', `no link #${id} in the inventory`);
        await tx.deleteFrom('monitor_link').where('id', '=', id).execute();
        await appendAudit(tx, { ...by, action: 'monitor.link.remove', object: linkObject(id), outcome: 'success', detail: { link: linkLabel(link) } });
      });
    });
  }

  /** Node ids of both ends, checking each interface is free; `pending` holds nodes and interfaces added earlier in this transaction. */
  private async linkEnds(tx: WriteTx, spec: LinkSpec, pending: Map<string, number>): Promise<{ a: number; b: number }> {
    const ids = await nodeIds(tx, [spec.a.node, spec.b.node].filter((n) => !pending.has(n)));
    const idOf = (end: 'a' | 'b') => {
      const id = pending.get(spec[end].node) ?? ids.get(spec[end].node);
      if (id === undefined) throw new EgovError('bad-request', `${end}.node: no node named "${spec[end].node}" in the inventory`);
      return id;
    };
    const a = idOf('a');
    const b = idOf('b');
    for (const [end, id] of [['a', a], ['b', b]] as const) {
      const taken = await linkOnInterface(tx, id, spec[end].interface);
      if (taken !== undefined) throw new EgovError('conflict', `${end}: interface ${spec[end].node}:${spec[end].interface} already ends link #${taken}`);
    }
    return { a, b };
  }

  // ------------------------------------------------------------ import

  /**
   * Stores the valid rows of an import in one transaction and reports each
   * rejected row with its line and reason. A row is checked whole before
   * anything is written, so a bad row never leaves part of a node; parents
   * may come later in the file than their children.
   */
  async importRows(rows: readonly ImportRow[], by: Actor, source = 'import'): Promise<ImportReport> {
    const checked = checkImportRows(rows);
    return this.audited(by, 'monitor.import', `monitor:import/${source}`, () =>
      this.database.write(async (tx) => {
        const context: ImportContext = { tx, by, source, now: this.now().toISOString() };
        const existing = new Set((await tx.selectFrom('monitor_node').select('name').execute()).map((r) => r.name));
        const plan = planNodes(checked.nodes, existing, checked.rejected);
        const newIds = await this.storeImportedNodes(context, plan.accepted, existing);
        const rejectedNodes = [...checked.rejected, ...plan.rejected].filter((r) => r.kind === 'node' && r.subject && !existing.has(r.subject) && !newIds.has(r.subject));
        const links = await this.storeImportedLinks(context, checked.links, newIds, new Map(rejectedNodes.map((r) => [r.subject!, r.line])));
        const report: ImportReport = {
          accepted: { nodes: plan.accepted.length, links: links.stored.length },
          stored: [...plan.accepted.map((r) => r.spec.name), ...links.stored],
          rejected: [...checked.rejected, ...plan.rejected, ...links.rejected].sort((x, y) => x.line - y.line),
        };
        await appendAudit(tx, {
          ...by,
          action: 'monitor.import',
          object: `monitor:import/${source}`,
          outcome: 'success',
          detail: { nodes: report.accepted.nodes, links: report.accepted.links, rejected: report.rejected.map((r) => ({ line: r.line, reason: r.reason })) },
        });
        return report;
      }),
    );
  }

  /** Inserts planned nodes parents first; returns the new ids by name. */
  private async storeImportedNodes(context: ImportContext, accepted: NodePlan['accepted'], existing: ReadonlySet<string>): Promise<Map<string, number>> {
    const { tx, by, source, now } = context;
    const newIds = new Map<string, number>();
    const existingParents = await nodeIds(tx, [...new Set(accepted.flatMap((r) => r.spec.parents))].filter((p) => existing.has(p)));
    for (const { spec } of accepted) {
      const id = await insertNodeRow(tx, spec, this.secrets, now);
      newIds.set(spec.name, id);
      await replaceParents(tx, id, spec.parents.map((p) => newIds.get(p) ?? existingParents.get(p)!));
      await appendAudit(tx, { ...by, action: 'monitor.node.add', object: nodeObject(spec.name), outcome: 'success', detail: { ...auditFacts(spec), import: source } });
    }
    return newIds;
  }

  /** Each link whose ends exist (or were stored by this import) and whose interfaces are free; the others rejected with the reason. */
  private async storeImportedLinks(
    context: ImportContext,
    links: ReadonlyArray<{ line: number; spec: LinkSpec }>,
    newIds: Map<string, number>,
    rejectedNodeLine: ReadonlyMap<string, number>,
  ): Promise<{ stored: string[]; rejected: ImportRejection[] }> {
    const { tx, by, source, now } = context;
    const result: { stored: string[]; rejected: ImportRejection[] } = { stored: [], rejected: [] };
    const usedOnLine = new Map<string, number>();
    const interfaceKey = (end: LinkSpec['a']) => `${end.node}\0${end.interface}`;
    for (const { line, spec } of links) {
      try {
        for (const end of ['a', 'b'] as const) {
          const rejectedLine = rejectedNodeLine.get(spec[end].node);
          if (rejectedLine !== undefined) throw new EgovError('bad-request', `${end}.node: node "${spec[end].node}" was rejected (line ${rejectedLine})`);
        }
        for (const end of [spec.a, spec.b]) {
          const earlier = usedOnLine.get(interfaceKey(end));
          if (earlier !== undefined) throw new EgovError('conflict', `interface ${end.node}:${end.interface} already ends the link on line ${earlier}`);
        }
        const ends = await this.linkEnds(tx, spec, newIds);
        const id = await insertLinkRow(tx, spec, ends.a, ends.b, now);
        for (const end of [spec.a, spec.b]) usedOnLine.set(interfaceKey(end), line);
        await appendAudit(tx, { ...by, action: 'monitor.link.add', object: linkObject(id), outcome: 'success', detail: { link: linkLabel(spec), capacityBps: spec.capacityBps, import: source } });
        result.stored.push(linkLabel(spec));
      } catch (error) {
        result.rejected.push({ line, kind: 'link', subject: linkLabel(spec), reason: reasonOf(error) });
      }
    }
    return result;
  }
}

interface ImportContext {
  tx: WriteTx;
  by: Actor;
  source: string;
  now: string;
}

/** Every row checked whole, before anything is written. */
function checkImportRows(rows: readonly ImportRow[]) {
  const checked = { nodes: [] as Array<{ line: number; spec: NodeSpec }>, links: [] as Array<{ line: number; spec: LinkSpec }>, rejected: [] as ImportRejection[] };
  for (const row of rows) {
    try {
      if (row.problem) throw new EgovError('bad-request', row.problem);
      if (row.kind === 'node') checked.nodes.push({ line: row.line, spec: checkNodeSpec(row.input) });
      else checked.links.push({ line: row.line, spec: checkLinkSpec(row.input) });
    } catch (error) {
      checked.rejected.push({ line: row.line, kind: row.kind, subject: subjectOf(row), reason: reasonOf(error) });
    }
  }
  return checked;
}

function auditFacts(spec: NodeSpec): Record<string, unknown> {
  return { kind: spec.kind, zone: spec.zone, site: spec.site, level: spec.level, address: spec.address, snmpVersion: spec.snmp?.version ?? null, parents: spec.parents };
}

function subjectOf(row: ImportRow): string | null {
  const input = row.input as Record<string, unknown> | null;
  if (row.kind === 'node') return typeof input?.name === 'string' ? input.name : null;
  return typeof input?.a === 'string' && typeof input?.b === 'string' ? `${input.a} <-> ${input.b}` : null;
}

interface NodePlan {
  /** In an order where every parent comes before its children. */
  accepted: Array<{ line: number; spec: NodeSpec }>;
  rejected: ImportRejection[];
}

/**
 * Which node rows can be stored: names not taken, parents that exist or are
 * stored by this import. Order-independent: rows are taken in rounds until
 * none more can be; what is left depends on a rejected row or on a loop.
 */
export function planNodes(rows: ReadonlyArray<{ line: number; spec: NodeSpec }>, existing: ReadonlySet<string>, invalid: readonly ImportRejection[]): NodePlan {
  const rejected: ImportRejection[] = [];
  const rejectedLine = new Map<string, number>(invalid.filter((r) => r.kind === 'node' && r.subject).map((r) => [r.subject!, r.line]));
  const firstLine = new Map<string, number>();
  let pending: Array<{ line: number; spec: NodeSpec }> = [];
  for (const row of rows) {
    const { name } = row.spec;
    if (existing.has(name)) rejected.push({ line: row.line, kind: 'node', subject: name, reason: `a node named "${name}" already exists` });
    else if (firstLine.has(name)) rejected.push({ line: row.line, kind: 'node', subject: name, reason: `name "${name}" is also on line ${firstLine.get(name)}` });
    else {
      firstLine.set(name, row.line);
      pending.push(row);
    }
  }
  const available = new Set(existing);
  const accepted: NodePlan['accepted'] = [];
  for (let progress = true; progress && pending.length; ) {
    progress = false;
    const next: typeof pending = [];
    for (const row of pending) {
      if (row.spec.parents.every((p) => available.has(p))) {
        accepted.push(row);
        available.add(row.spec.name);
        progress = true;
      } else next.push(row);
    }
    pending = next;
  }
  const pendingGraph = new Map(pending.map((r) => [r.spec.name, r.spec.parents]));
  for (const row of pending) {
    const missing = row.spec.parents.find((p) => !available.has(p))!;
    const loop = cyclePath(pendingGraph, row.spec.name, row.spec.parents);
    let reason: string;
    if (loop) reason = `parents form a cycle (${loop.join(' -> ')})`;
    else if (rejectedLine.has(missing)) reason = `parent "${missing}" was rejected (line ${rejectedLine.get(missing)})`;
    else if (pendingGraph.has(missing)) reason = `parent "${missing}" (line ${firstLine.get(missing)}) could not be stored`;
    else reason = `parent "${missing}" is neither in the inventory nor in this file`;
    rejected.push({ line: row.line, kind: 'node', subject: row.spec.name, reason });
  }
  return { accepted, rejected };
}
