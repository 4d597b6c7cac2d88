// Inventory files: CSV (one file of nodes or one of links) and YAML (nodes
// and links together) in, the same out. Parsing keeps each row's line so a
// rejected row is reported where the operator can find it.
//
// CSV, nodes: a header row, then one node a row. Columns (any order; names
// case-insensitive):
//   name          required  1-63 letters, digits, . _ - (the `node` tag of its metrics)
//   kind          required  router | switch | firewall | gateway | server | other
//   zone          required  internal | external | dmz
//   site          required  free text, e.g. 城关镇政务服务中心
//   level         required  city | county | township | village
//   address       required  management address: IPv4, IPv6 or DNS name
//   snmp_port               default 161
//   snmp_version            v1 | v2c | v3; empty: not polled over SNMP
//   community               v1/v2c
//   v3_user, auth_protocol (SHA, SHA-224, SHA-256, SHA-384, SHA-512), auth_password,
//   priv_protocol (AES-128, AES-256), priv_password      v3 (authPriv only)
//   parents                 node names towards the core, separated by `;`
//   description
// CSV, links: a_node, a_interface, b_node, b_interface, capacity (bits/s,
// or with k/M/G/T: 1G), description.
//
// YAML: `nodes:` (objects with the API's field names: name, kind, zone,
// site, level, address, snmpPort, snmp {version, community | user,
// authProtocol, authPassword, privProtocol, privPassword}, parents [..],
// description) and `links:` ({a: NODE:IF, b: NODE:IF, capacity, description});
// a top-level list is a list of nodes.
//
// Exports never carry an SNMP community or password: the secret columns are
// left empty (YAML: only version, user and protocols), so an exported file
// re-imports only after the secrets are filled in.

import YAML, { isMap, isSeq, LineCounter, type Node as YamlNode } from 'yaml';
import { EgovError } from '../core/index.js';
import type { ImportRow } from './inventory.js';
import type { LinkView, NodeView } from './inventory-spec.js';

export type InventoryFormat = 'csv' | 'yaml';

export const NODE_COLUMNS = [
  'name', 'kind', 'zone', 'site', 'level', 'address', 'snmp_port', 'snmp_version', 'community',
  'v3_user', 'auth_protocol', 'auth_password', 'priv_protocol', 'priv_password', 'parents', 'description',
] as const;
export const LINK_COLUMNS = ['a_node', 'a_interface', 'b_node', 'b_interface', 'capacity', 'description'] as const;
const REQUIRED_NODE_COLUMNS = ['name', 'kind', 'zone', 'site', 'level', 'address'];
const REQUIRED_LINK_COLUMNS = ['a_node', 'a_interface', 'b_node', 'b_interface', 'capacity'];

/** The format from a file name, when the caller did not say. */
export function formatFromFileName(file: string): InventoryFormat {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.ya?ml$/i.test(file)) return 'yaml';
  throw new EgovError('bad-request', `cannot tell the format of ${file} from its name: give --format csv or --format yaml`);
}

export function parseInventory(text: string, format: InventoryFormat): ImportRow[] {
  return format === 'csv' ? parseCsvInventory(text) : parseYamlInventory(text);
}

// ------------------------------------------------------------ CSV

interface CsvRecord {
  line: number;
  fields: string[];
}

/** RFC 4180: quoted fields may hold commas, quotes ("") and line breaks; each record keeps the line it starts on. */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let fieldStarted = false;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const endRecord = () => {
    fields.push(field);
    // A blank line is no record.
    if (!(fields.length === 1 && fields[0] === '' && !fieldStarted)) records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    fieldStarted = false;
  };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quoted) {
      if (ch === '"') {
        if (body[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && field === '') {
      quoted = true;
      fieldStarted = true;
    } else if (ch === ',') {
      fields.push(field);
      field = '';
      fieldStarted = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && body[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += ch;
  }
  if (quoted) throw new EgovError('bad-request', `line ${recordLine}: a quoted field is not closed before the end of the file`);
  if (field !== '' || fields.length || fieldStarted) endRecord();
  return records;
}

function parseCsvInventory(text: string): ImportRow[] {
  const [header, ...records] = parseCsv(text);
  if (!header) throw new EgovError('bad-request', 'the CSV file is empty: the first row must name the columns');
  const columns = header.fields.map((c) => c.trim().toLowerCase());
  const isLinks = columns.includes('a_node');
  const known: readonly string[] = isLinks ? LINK_COLUMNS : NODE_COLUMNS;
  const unknown = columns.filter((c) => !known.includes(c));
  if (unknown.length) throw new EgovError('bad-request', `line ${header.line}: unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected ${known.join(', ')})`);
  const missing = (isLinks ? REQUIRED_LINK_COLUMNS : REQUIRED_NODE_COLUMNS).filter((c) => !columns.includes(c));
  if (missing.length) throw new EgovError('bad-request', `line ${header.line}: the header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`);
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate) throw new EgovError('bad-request', `line ${header.line}: column ${duplicate} is named twice`);

  return records.map((record): ImportRow => {
    const kind = isLinks ? 'link' : 'node';
    if (record.fields.length !== columns.length) {
      return { line: record.line, kind, input: null, problem: `the row has ${record.fields.length} fields; the header has ${columns.length}` };
    }
    const cells = Object.fromEntries(columns.map((c, i) => [c, record.fields[i]!]));
    return { line: record.line, kind, input: isLinks ? linkFromCells(cells) : nodeFromCells(cells) };
  });
}

const present = (value: string | undefined): string | undefined => (value === undefined || value.trim() === '' ? undefined : value);

function nodeFromCells(cells: Record<string, string>): Record<string, unknown> {
  const snmpCells = ['snmp_version', 'community', 'v3_user', 'auth_protocol', 'auth_password', 'priv_protocol', 'priv_password'];
  const hasSnmp = snmpCells.some((c) => present(cells[c]) !== undefined);
  const node: Record<string, unknown> = {
    name: cells.name,
    kind: cells.kind,
    zone: cells.zone,
    site: cells.site,
    level: cells.level,
    address: cells.address,
  };
  if (present(cells.snmp_port)) node.snmpPort = cells.snmp_port!.trim();
  if (present(cells.parents)) node.parents = cells.parents;
  if (present(cells.description)) node.description = cells.description;
  if (hasSnmp) {
    node.snmp = Object.fromEntries(
      Object.entries({
        version: present(cells.snmp_version)?.trim(),
        community: present(cells.community),
        user: present(cells.v3_user),
        authProtocol: present(cells.auth_protocol),
        authPassword: present(cells.auth_password),
        privProtocol: present(cells.priv_protocol),
        privPassword: present(cells.priv_password),
      }).filter(([, v]) => v !== undefined),
    );
  }
  return node;
}

function linkFromCells(cells: Record<string, string>): Record<string, unknown> {
  return {
    a: { node: cells.a_node?.trim(), interface: cells.a_interface },
    b: { node: cells.b_node?.trim(), interface: cells.b_interface },
    capacity: cells.capacity,
    ...(present(cells.description) ? { description: cells.description } : {}),
  };
}

// ------------------------------------------------------------ YAML

function parseYamlInventory(text: string): ImportRow[] {
  const lineCounter = new LineCounter();
  const document = YAML.parseDocument(text, { lineCounter, uniqueKeys: true });
  const [error] = document.errors;
  if (error) throw new EgovError('bad-request', `line ${error.linePos?.[0].line ?? '?'}: ${error.message.split('\n')[0]}`);
  const lineOf = (node: YamlNode | null) => (node?.range ? lineCounter.linePos(node.range[0]).line : 0);
  const rowsOf = (seq: unknown, kind: 'node' | 'link', key: string): ImportRow[] => {
    if (seq === null || seq === undefined) return [];
    if (!isSeq(seq)) throw new EgovError('bad-request', `line ${lineOf(seq as YamlNode)}: ${key} must be a list`);
    return seq.items.map((item) => ({ line: lineOf(item as YamlNode), kind, input: (item as YamlNode | null)?.toJSON() ?? null }));
  };
  const root = document.contents;
  if (root === null) return [];
  if (isSeq(root)) return rowsOf(root, 'node', 'the document');
  if (!isMap(root)) throw new EgovError('bad-request', 'the YAML document must be a list of nodes, or a map with nodes: and links:');
  const unknown = root.items.map((pair) => String((pair.key as { value?: unknown })?.value ?? pair.key)).filter((k) => k !== 'nodes' && k !== 'links');
  if (unknown.length) throw new EgovError('bad-request', `unknown top-level key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (expected nodes, links)`);
  return [...rowsOf(root.get('nodes', true), 'node', 'nodes'), ...rowsOf(root.get('links', true), 'link', 'links')];
}

// ------------------------------------------------------------ export

function csvField(value: string | number | undefined | null): string {
  const text = value === undefined || value === null ? '' : String(value);
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const csvLine = (values: ReadonlyArray<string | number | undefined | null>) => values.map(csvField).join(',') + '\r\n';

export function nodesToCsv(nodes: readonly NodeView[]): string {
  return (
    csvLine(NODE_COLUMNS) +
    nodes
      .map((n) => {
        const v3 = n.snmp?.version === 'v3' ? n.snmp : undefined;
        const row: Record<(typeof NODE_COLUMNS)[number], string | number | undefined> = {
          name: n.name,
          kind: n.kind,
          zone: n.zone,
          site: n.site,
          level: n.level,
          address: n.address,
          snmp_port: n.snmpPort,
          snmp_version: n.snmp?.version,
          community: undefined,
          v3_user: v3?.user,
          auth_protocol: v3?.authProtocol,
          auth_password: undefined,
          priv_protocol: v3?.privProtocol,
          priv_password: undefined,
          parents: n.parents.join(';'),
          description: n.description,
        };
        return csvLine(NODE_COLUMNS.map((c) => row[c]));
      })
      .join('')
  );
}

export function linksToCsv(links: readonly LinkView[]): string {
  return csvLine(LINK_COLUMNS) + links.map((l) => csvLine([l.a.node, l.a.interface, l.b.node, l.b.interface, l.capacityBps, l.description])).join('');
}

export function inventoryToYaml(nodes: readonly NodeView[], links: readonly LinkView[]): string {
  const document = {
    nodes: nodes.map(({ createdAt: _c, updatedAt: _u, ...node }) => ({
      ...node,
      ...(node.snmp ? {} : { snmp: null }),
      ...(node.description ? {} : { description: undefined }),
    })),
    links: links.map((l) => ({ a: `${l.a.node}:${l.a.interface}`, b: `${l.b.node}:${l.b.interface}`, capacityBps: l.capacityBps, ...(l.description ? { description: l.description } : {}) })),
  };
  return '# egov-ops inventory export: SNMP communities and passwords are never exported; fill them in before importing elsewhere.\n' + YAML.stringify(document);
}
