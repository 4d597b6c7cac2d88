// Inventory import (CSV and YAML) and export, on both engines: valid rows
// stored, each bad row reported with its line and reason, nothing partial.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EgovError, listAudit, openDatabase, secretBoxFromKey, verifyAuditLog, type Database } from '../core/index.js';
import { Inventory, inventoryToYaml, linksToCsv, nodesToCsv, parseCsv, parseInventory, type Actor } from '../monitor/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('import');

const operator: Actor = { actor: 'cli:netadmin', source: 'cli' };
const COMMUNITY = 'csv-Community-5521';

// Line numbers matter: the description on line 4 spans two lines, so the next row starts on line 6.
const NODES_CSV = [
  'name,kind,zone,site,level,address,snmp_port,snmp_version,community,v3_user,auth_protocol,auth_password,priv_protocol,priv_password,parents,description', // 1
  `county-b,switch,internal,County B,county,10.2.0.1,,v2c,${COMMUNITY},,,,,,core,`, // 2  (its parent comes later in the file)
  'core,router,internal,City DC,city,10.0.0.1,,v3,,poller,SHA-512,Auth-Pass-1234,AES-256,Priv-Pass-5678,,core router', // 3
  'town-b1,firewall,external,"Town B1, hall 2",township,10.2.1.1,161,,,,,,,,county-b,"first line', // 4
  'second line"', // 5
  'town-b2,firewall,external,Town B2,township,10.2.2.1,,,,,,,,,county-b', // 6  wrong field count
  'town-b3,gateway,dmz,Town B3,township,10.2.3.1,,v2c,,,,,,,county-b,', // 7  v2c without community
  'village-b3a,other,internal,Village,village,10.2.3.10,,,,,,,,,town-b3,', // 8  parent rejected on line 7
  'loop-1,switch,internal,Nowhere,village,10.9.0.1,,,,,,,,,loop-2,', // 9  cycle
  'loop-2,switch,internal,Nowhere,village,10.9.0.2,,,,,,,,,loop-1,', // 10 cycle
  'core,router,internal,City DC,city,10.0.0.9,,,,,,,,,,', // 11 duplicate name
  'orphan,server,internal,Somewhere,city,10.7.0.1,,,,,,,,,ghost,', // 12 unknown parent
  'server-1,server,dmz,City DC,city,server-1.gov.cn,,,,,,,,,core;county-b,two parents', // 13
  '', // blank line: no row
].join('\r\n');

const INVENTORY_YAML = `# the second county
nodes:
  - name: county-c
    kind: switch
    zone: internal
    site: County C
    level: county
    address: 10.3.0.1
    snmp: { version: v2c, community: yaml-comm-1 }
    parents: [core]
  - name: town-c1
    kind: firewall
    zone: external
    site: Town C1
    level: township
    address: 10.3.1.1
    parents: [county-c]
  - name: town-c2
    kind: router
    zone: sideways
    site: Town C2
    level: township
    address: 10.3.2.1
links:
  - { a: "core:Gi0/0/1", b: "county-c:XGE1/0/1", capacity: 10G }
  - { a: "county-c:GE1/0/2", b: "town-c1:eth0", capacity: 100M, description: leased line }
  - { a: "county-c:GE1/0/3", b: "town-c2:eth0", capacity: 100M }
  - { a: "county-c:GE1/0/2", b: "core:Gi0/0/9", capacity: 1G }
  - { a: "core:Gi0/0/7", b: "county-c:GE1/0/7", capacity: lots }
`;

async function counts(database: Database) {
  const count = async (table: 'monitor_node' | 'monitor_node_parent' | 'monitor_link') =>
    Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { nodes: await count('monitor_node'), parents: await count('monitor_node_parent'), links: await count('monitor_link') };
}

describe('CSV reading', () => {
  it('keeps quoted commas, quotes and line breaks, and the line each record starts on', () => {
    const records = parseCsv('\uFEFFa,b\r\n"x, y","he said ""hi"""\n"multi\nline",z\n\n');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'he said "hi"'] },
      { line: 3, fields: ['multi\nline', 'z'] },
    ]);
    expect(() => parseCsv('a,b\n"open,b\n')).toThrow(/line 2: a quoted field is not closed/);
  });

  it('refuses a file whose header is wrong, naming the column', () => {
    expect(() => parseInventory('name,kind,zone,site,level,address,colour\n', 'csv')).toThrow(/line 1: unknown column colour/);
    expect(() => parseInventory('name,kind,zone,site,level\n', 'csv')).toThrow(/line 1: the header lacks column address/);
    expect(() => parseInventory('', 'csv')).toThrow(/the CSV file is empty/);
    expect(() => parseInventory('nodes: [\n', 'yaml')).toThrow(EgovError);
    expect(() => parseInventory('hosts: []\n', 'yaml')).toThrow(/unknown top-level key hosts/);
  });
});

describe.each(engines)('import on $name', (engine) => {
  const open = async () => {
    const database = await openDatabase(await engine.location());
    keep(database);
    return { database, inventory: new Inventory({ database, secrets: secretBoxFromKey(randomBytes(32)) }) };
  };

  it('CSV: stores the valid rows, reports each bad one with its line and reason, leaves nothing partial', async () => {
    const { database, inventory } = await open();
    const report = await inventory.importRows(parseInventory(NODES_CSV, 'csv'), operator, 'test.csv');
    expect(report.accepted).toEqual({ nodes: 4, links: 0 });
    expect([...report.stored].sort()).toEqual(['core', 'county-b', 'server-1', 'town-b1']);
    expect(report.rejected.map((r) => [r.line, r.subject, r.reason])).toEqual([
      [6, null, 'the row has 15 fields; the header has 16'],
      [7, 'town-b3', 'snmp.community must be 1-64 characters without control characters (it is missing)'],
      [8, 'village-b3a', 'parent "town-b3" was rejected (line 7)'],
      [9, 'loop-1', 'parents form a cycle (loop-1 -> loop-2 -> loop-1)'],
      [10, 'loop-2', 'parents form a cycle (loop-2 -> loop-1 -> loop-2)'],
      [11, 'core', 'name "core" is also on line 3'],
      [12, 'orphan', 'parent "ghost" is neither in the inventory nor in this file'],
    ]);
    // Exactly the accepted nodes and their parent edges: no partial node from any rejected row.
    expect(await counts(database)).toEqual({ nodes: 4, parents: 4, links: 0 });
    expect((await inventory.getNode('town-b1')).description).toBe('first line\nsecond line');
    expect((await inventory.getNode('town-b1')).site).toBe('Town B1, hall 2');
    expect((await inventory.getNode('server-1')).parents).toEqual(['core', 'county-b']);
    expect((await inventory.getNode('core')).snmp).toEqual({ version: 'v3', user: 'poller', authProtocol: 'SHA-512', privProtocol: 'AES-256' });
    expect(await inventory.snmpCredentials('county-b', operator)).toEqual({ version: 'v2c', community: COMMUNITY });

    // Importing the same file again stores nothing new: every name is taken.
    const again = await inventory.importRows(parseInventory(NODES_CSV, 'csv'), operator, 'test.csv');
    expect(again.accepted).toEqual({ nodes: 0, links: 0 });
    expect(again.rejected.find((r) => r.line === 3)?.reason).toBe('a node named "core" already exists');
    expect(await counts(database)).toEqual({ nodes: 4, parents: 4, links: 0 });

    // One audit record per stored node, and one for each import with its rejects.
    const records = await listAudit(database, { limit: 100 });
    expect(records.filter((r) => r.action === 'monitor.node.add' && r.outcome === 'success')).toHaveLength(4);
    const imports = records.filter((r) => r.action === 'monitor.import');
    expect(imports).toHaveLength(2);
    expect(imports[1]!.detail).toMatchObject({ nodes: 4, links: 0 });
    expect((imports[1]!.detail.rejected as unknown[]).length).toBe(7);
    expect(JSON.stringify(records)).not.toContain(COMMUNITY);
    expect((await verifyAuditLog(database)).ok).toBe(true);
  });

  it('YAML: nodes and links, links checked against the nodes stored by the same import', async () => {
    const { database, inventory } = await open();
    await inventory.importRows(parseInventory(NODES_CSV, 'csv'), operator);
    const report = await inventory.importRows(parseInventory(INVENTORY_YAML, 'yaml'), operator, 'test.yaml');
    expect(report.accepted).toEqual({ nodes: 2, links: 2 });
    expect(report.rejected.map((r) => [r.line, r.kind, r.reason])).toEqual([
      [18, 'node', 'zone must be one of internal, external, dmz (got "sideways")'],
      [27, 'link', 'b.node: node "town-c2" was rejected (line 18)'],
      [28, 'link', 'interface county-c:GE1/0/2 already ends the link on line 26'],
      [29, 'link', 'capacity must be bits per second, 1 to 10T, as a number or with a unit (k, M, G, T: "1G", "100M") (got "lots")'],
    ]);
    const links = await inventory.listLinks();
    expect(links.map((l) => [l.a.node, l.a.interface, l.b.node, l.b.interface, l.capacityBps, l.description])).toEqual([
      ['core', 'Gi0/0/1', 'county-c', 'XGE1/0/1', 10_000_000_000, ''],
      ['county-c', 'GE1/0/2', 'town-c1', 'eth0', 100_000_000, 'leased line'],
    ]);
    expect(await counts(database)).toEqual({ nodes: 6, parents: 6, links: 2 });
  });

  it('a name given twice: the first row stands, and links to it still go in', async () => {
    const { inventory } = await open();
    const yaml = [
      'nodes:',
      '  - { name: a, kind: router, zone: internal, site: S, level: city, address: 10.0.0.1 }',
      '  - { name: a, kind: router, zone: internal, site: S, level: city, address: 10.0.0.2 }',
      '  - { name: b, kind: switch, zone: internal, site: S, level: county, address: 10.0.0.3, parents: [a] }',
      'links:',
      '  - { a: "a:eth0", b: "b:eth0", capacity: 1G }',
      '',
    ].join('\n');
    const report = await inventory.importRows(parseInventory(yaml, 'yaml'), operator);
    expect(report.accepted).toEqual({ nodes: 2, links: 1 });
    expect(report.rejected).toEqual([{ line: 3, kind: 'node', subject: 'a', reason: 'name "a" is also on line 2' }]);
    expect((await inventory.getNode('a')).address).toBe('10.0.0.1');
  });

  it('links CSV, and exports that carry no secret and read back in', async () => {
    const { inventory } = await open();
    await inventory.importRows(parseInventory(NODES_CSV, 'csv'), operator);
    const linkReport = await inventory.importRows(
      parseInventory('a_node,a_interface,b_node,b_interface,capacity,description\ncore,Gi0/0/1,county-b,XGE1/0/1,10G,uplink\ncounty-b,GE1/0/1,town-b1,eth0,100000000,\ncore,Gi0/0/1,server-1,eth0,1G,\n', 'csv'),
      operator,
    );
    expect(linkReport.accepted).toEqual({ nodes: 0, links: 2 });
    expect(linkReport.rejected).toEqual([{ line: 4, kind: 'link', subject: 'core:Gi0/0/1 <-> server-1:eth0', reason: 'interface core:Gi0/0/1 already ends the link on line 2' }]);

    const nodes = await inventory.listNodes();
    const links = await inventory.listLinks();
    const csv = nodesToCsv(nodes);
    const yaml = inventoryToYaml(nodes, links);
    for (const text of [csv, yaml, linksToCsv(links)]) {
      expect(text).not.toContain(COMMUNITY);
      expect(text).not.toContain('Auth-Pass-1234');
      expect(text).not.toContain('Priv-Pass-5678');
    }
    expect(csv).toContain('"first line\nsecond line"');

    // Into a fresh inventory: nodes without SNMP go in; those with SNMP need their secrets filled in first.
    const fresh = await open();
    const reimport = await fresh.inventory.importRows(parseInventory(yaml, 'yaml'), operator);
    expect(reimport.rejected.map((r) => [r.subject, r.reason])).toEqual([
      ['core', 'snmp.authPassword must be 8-128 characters without control characters (it is missing)'],
      ['county-b', 'snmp.community must be 1-64 characters without control characters (it is missing)'],
      ['server-1', 'parent "core" was rejected (line 3)'],
      ['town-b1', 'parent "county-b" was rejected (line 17)'],
      ['core:Gi0/0/1 <-> county-b:XGE1/0/1', 'a.node: node "core" was rejected (line 3)'],
      ['county-b:GE1/0/1 <-> town-b1:eth0', 'a.node: node "county-b" was rejected (line 17)'],
    ]);
    const filled = yaml.replace('user: poller', 'user: poller\n      authPassword: Auth-Pass-1234\n      privPassword: Priv-Pass-5678').replace(/version: v2c/, `version: v2c\n      community: ${COMMUNITY}`);
    const third = await open();
    const complete = await third.inventory.importRows(parseInventory(filled, 'yaml'), operator);
    expect(complete.rejected).toEqual([]);
    expect(complete.accepted).toEqual({ nodes: 4, links: 2 });
    const strip = (views: Array<{ createdAt: string; updatedAt: string }>) => views.map(({ createdAt: _c, updatedAt: _u, ...rest }) => rest);
    expect(strip(await third.inventory.listNodes())).toEqual(strip(nodes));
    expect((await third.inventory.listLinks()).map(({ id: _i, createdAt: _c, updatedAt: _u, ...rest }) => rest)).toEqual(links.map(({ id: _i, createdAt: _c, updatedAt: _u, ...rest }) => rest));
  });
});
