// The inventory's rows on either engine: nodes (credentials sealed), parent
// edges and links, read back as views that never carry a secret.

import type { Db, MonitorLinkTable, MonitorNodeTable, SecretBox, WriteTx } from '../core/index.js';
import type { Selectable } from 'kysely';
import type { LinkSpec, LinkView, NodeSpec, NodeView, SnmpCredentials, SnmpSummary } from './inventory-spec.js';

type NodeRow = Selectable<MonitorNodeTable>;
type LinkRow = Selectable<MonitorLinkTable>;

/** The secret half of the credentials, sealed as one JSON value; the rest stays readable (it is no secret). */
type SealedPart = { community: string } | { authPassword: string; privPassword: string };

export function credentialColumns(credentials: SnmpCredentials | null, secrets: SecretBox) {
  if (!credentials) return { snmp_version: null, snmp_user: null, snmp_auth_protocol: null, snmp_priv_protocol: null, snmp_secret: null };
  if (credentials.version !== 'v3') {
    const sealed: SealedPart = { community: credentials.community };
    return { snmp_version: credentials.version, snmp_user: null, snmp_auth_protocol: null, snmp_priv_protocol: null, snmp_secret: secrets.seal(JSON.stringify(sealed)) };
  }
  const sealed: SealedPart = { authPassword: credentials.authPassword, privPassword: credentials.privPassword };
  return {
    snmp_version: 'v3' as const,
    snmp_user: credentials.user,
    snmp_auth_protocol: credentials.authProtocol,
    snmp_priv_protocol: credentials.privProtocol,
    snmp_secret: secrets.seal(JSON.stringify(sealed)),
  };
}

export function openCredentials(row: NodeRow, secrets: SecretBox): SnmpCredentials | null {
  if (!row.snmp_version || !row.snmp_secret) return null;
  const part = JSON.parse(secrets.open(Buffer.from(row.snmp_secret), `SNMP credentials of node "${row.name}"`)) as SealedPart;
  if (row.snmp_version !== 'v3') return { version: row.snmp_version, community: (part as { community: string }).community };
  const { authPassword, privPassword } = part as { authPassword: string; privPassword: string };
  return {
    version: 'v3',
    user: row.snmp_user!,
    authProtocol: row.snmp_auth_protocol as Extract<SnmpCredentials, { version: 'v3' }>['authProtocol'],
    authPassword,
    privProtocol: row.snmp_priv_protocol as Extract<SnmpCredentials, { version: 'v3' }>['privProtocol'],
    privPassword,
  };
}

function snmpSummary(row: NodeRow): SnmpSummary | null {
  if (!row.snmp_version) return null;
  if (row.snmp_version !== 'v3') return { version: row.snmp_version };
  return {
    version: 'v3',
    user: row.snmp_user!,
    authProtocol: row.snmp_auth_protocol as Extract<SnmpSummary, { version: 'v3' }>['authProtocol'],
    privProtocol: row.snmp_priv_protocol as Extract<SnmpSummary, { version: 'v3' }>['privProtocol'],
  };
}

export function toNodeView(row: NodeRow, parents: string[]): NodeView {
  return {
    name: row.name,
    kind: row.kind,
    zone: row.zone,
    site: row.site,
    level: row.level,
    address: row.address,
    snmpPort: Number(row.snmp_port),
    snmp: snmpSummary(row),
    parents: [...parents].sort(),
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NodeFilter {
  zone?: NodeSpec['zone'];
  kind?: NodeSpec['kind'];
  level?: NodeSpec['level'];
  site?: string;
  /** Only these names. */
  names?: readonly string[];
}

/** Node views with their parents' names: two queries, whatever the count. */
export async function readNodeViews(db: Db, filter: NodeFilter = {}): Promise<NodeView[]> {
  let query = db.selectFrom('monitor_node').selectAll().orderBy('name');
  if (filter.zone) query = query.where('zone', '=', filter.zone);
  if (filter.kind) query = query.where('kind', '=', filter.kind);
  if (filter.level) query = query.where('level', '=', filter.level);
  if (filter.site) query = query.where('site', '=', filter.site);
  if (filter.names) {
    if (filter.names.length === 0) return [];
    query = query.where('name', 'in', [...filter.names]);
  }
  const rows = await query.execute();
  const parents = await readParentNames(db);
  return rows.map((row) => toNodeView(row, parents.get(row.name) ?? []));
}

/** Every node's parents, by name: the whole graph (an inventory holds thousands of nodes, not millions). */
export async function readParentNames(db: Db): Promise<Map<string, string[]>> {
  const edges = await db
    .selectFrom('monitor_node_parent as e')
    .innerJoin('monitor_node as child', 'child.id', 'e.node_id')
    .innerJoin('monitor_node as parent', 'parent.id', 'e.parent_id')
    .select(['child.name as child', 'parent.name as parent'])
    .execute();
  const byChild = new Map<string, string[]>();
  for (const { child, parent } of edges) {
    const list = byChild.get(child);
    if (list) list.push(parent);
    else byChild.set(child, [parent]);
  }
  // Sorted, so a cycle is always reported along the same path.
  for (const list of byChild.values()) list.sort();
  return byChild;
}

export async function findNodeRow(db: Db, name: string): Promise<NodeRow | undefined> {
  return db.selectFrom('monitor_node').selectAll().where('name', '=', name).executeTakeFirst();
}

/** Ids of the named nodes that exist. */
export async function nodeIds(db: Db, names: readonly string[]): Promise<Map<string, number>> {
  if (names.length === 0) return new Map();
  const rows = await db.selectFrom('monitor_node').select(['id', 'name']).where('name', 'in', [...names]).execute();
  return new Map(rows.map((r) => [r.name, Number(r.id)]));
}

export async function insertNodeRow(tx: WriteTx, spec: NodeSpec, secrets: SecretBox, now: string): Promise<number> {
  const row = await tx
    .insertInto('monitor_node')
    .values({
      name: spec.name,
      kind: spec.kind,
      zone: spec.zone,
      site: spec.site,
      level: spec.level,
      address: spec.address,
      snmp_port: spec.snmpPort,
      ...credentialColumns(spec.snmp, secrets),
      description: spec.description,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function replaceParents(tx: WriteTx, nodeId: number, parentIds: readonly number[]): Promise<void> {
  await tx.deleteFrom('monitor_node_parent').where('node_id', '=', nodeId).execute();
  if (parentIds.length) await tx.insertInto('monitor_node_parent').values(parentIds.map((parent_id) => ({ node_id: nodeId, parent_id }))).execute();
}

/**
 * The path that would close a loop if `node` took `parents`: node -> parent
 * -> ... -> node, or null. `parentsOf` is the graph as it stands.
 */
export function cyclePath(parentsOf: ReadonlyMap<string, readonly string[]>, node: string, parents: readonly string[]): string[] | null {
  // Depth-first up from each new parent, looking for the node itself.
  const seen = new Set<string>();
  const walk = (current: string, path: string[]): string[] | null => {
    if (current === node) return path;
    if (seen.has(current)) return null;
    seen.add(current);
    for (const next of parentsOf.get(current) ?? []) {
      const found = walk(next, [...path, next]);
      if (found) return found;
    }
    return null;
  };
  for (const parent of parents) {
    const found = walk(parent, [node, parent]);
    if (found) return found;
  }
  return null;
}

export function toLinkView(row: LinkRow, names: ReadonlyMap<number, string>): LinkView {
  return {
    id: Number(row.id),
    a: { node: names.get(Number(row.a_node_id)) ?? `#${row.a_node_id}`, interface: row.a_interface },
    b: { node: names.get(Number(row.b_node_id)) ?? `#${row.b_node_id}`, interface: row.b_interface },
    capacityBps: Number(row.capacity_bps),
    description: row.description,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function readLinkViews(db: Db, filter: { node?: string; id?: number } = {}): Promise<LinkView[]> {
  let query = db.selectFrom('monitor_link').selectAll().orderBy('id');
  if (filter.id !== undefined) query = query.where('id', '=', filter.id);
  if (filter.node !== undefined) {
    const node = await findNodeRow(db, filter.node);
    if (!node) return [];
    query = query.where((eb) => eb.or([eb('a_node_id', '=', node.id), eb('b_node_id', '=', node.id)]));
  }
  const rows = await query.execute();
  const ids = [...new Set(rows.flatMap((r) => [Number(r.a_node_id), Number(r.b_node_id)]))];
  const names = ids.length ? await db.selectFrom('monitor_node').select(['id', 'name']).where('id', 'in', ids).execute() : [];
  const byId = new Map(names.map((n) => [Number(n.id), n.name]));
  return rows.map((row) => toLinkView(row, byId));
}

/** The link that already ends on this interface, if any. */
export async function linkOnInterface(db: Db, nodeId: number, ifName: string): Promise<number | undefined> {
  const row = await db
    .selectFrom('monitor_link')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('a_node_id', '=', nodeId), eb('a_interface', '=', ifName)]),
        eb.and([eb('b_node_id', '=', nodeId), eb('b_interface', '=', ifName)]),
      ]),
    )
    .executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

export async function insertLinkRow(tx: WriteTx, spec: LinkSpec, aId: number, bId: number, now: string): Promise<number> {
  const row = await tx
    .insertInto('monitor_link')
    .values({
      a_node_id: aId,
      a_interface: spec.a.interface,
      b_node_id: bId,
      b_interface: spec.b.interface,
      capacity_bps: spec.capacityBps,
      description: spec.description,
      created_at: now,
      updated_at: now,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}
