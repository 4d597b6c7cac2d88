// The inventory on both real engines: nodes with sealed SNMP credentials,
// parents without cycles, links, validation that names the field, one audit
// record per change, and nothing half-written when a change is refused.

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EgovError, listAudit, openDatabase, secretBoxFromKey, verifyAuditLog, type Database } from '../core/index.js';
import { Inventory, type Actor } from '../monitor/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('inventory');

const admin: Actor = { actor: 'cli:netadmin', source: 'cli' };
// Distinctive secrets, so a search of the raw database bytes cannot match anything else.
const COMMUNITY = 'Zq7-community-城关-8842';
const AUTH_PASSWORD = 'Auth-Pass-77f1c0de';
const PRIV_PASSWORD = 'Priv-Pass-3b9e55aa';

const coreRouter = {
  name: 'core-1',
  kind: 'router',
  zone: 'internal',
  site: '市政务云机房',
  level: 'city',
  address: '10.0.0.1',
  snmp: { version: 'v3', user: 'egov-poller', authProtocol: 'sha256', authPassword: AUTH_PASSWORD, privProtocol: 'AES', privPassword: PRIV_PASSWORD },
};
const countySwitch = { name: 'county-a-sw', kind: 'switch', zone: 'internal', site: 'County A', level: 'county', address: 'sw-a.county.gov.cn', snmp: { version: 'v2c', community: COMMUNITY }, parents: ['core-1'] };
const township = { name: 'town-a1-fw', kind: 'firewall', zone: 'external', site: 'Town A1', level: 'township', address: '2001:db8::11', parents: ['county-a-sw'] };

async function expectError(work: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  const error = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgovError);
  expect((error as EgovError).code).toBe(code);
  expect((error as EgovError).message).toMatch(message);
}

async function rowCounts(database: Database) {
  const count = async (table: 'monitor_node' | 'monitor_node_parent' | 'monitor_link') =>
    Number((await database.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  return { nodes: await count('monitor_node'), parents: await count('monitor_node_parent'), links: await count('monitor_link') };
}

describe.each(engines)('inventory on $name', (engine) => {
  const open = async () => {
    const location = await engine.location();
    const database = await openDatabase(location);
    keep(database);
    const inventory = new Inventory({ database, secrets: secretBoxFromKey(randomBytes(32)) });
    return { database, inventory, location };
  };

  it('adds, lists, shows and updates nodes; views never carry a secret; the poller gets the credentials back', async () => {
    const { inventory } = await open();
    const core = await inventory.addNode(coreRouter, admin);
    expect(core).toMatchObject({
      name: 'core-1',
      kind: 'router',
      zone: 'internal',
      level: 'city',
      snmpPort: 161,
      parents: [],
      snmp: { version: 'v3', user: 'egov-poller', authProtocol: 'SHA-256', privProtocol: 'AES-128' },
    });
    await inventory.addNode(countySwitch, admin);
    await inventory.addNode(township, admin);

    const all = await inventory.listNodes();
    expect(all.map((n) => n.name)).toEqual(['core-1', 'county-a-sw', 'town-a1-fw']);
    expect(JSON.stringify(all)).not.toContain(COMMUNITY);
    expect(JSON.stringify(all)).not.toContain(AUTH_PASSWORD);
    expect((await inventory.getNode('county-a-sw')).snmp).toEqual({ version: 'v2c' });
    expect((await inventory.getNode('town-a1-fw')).snmp).toBeNull();
    expect((await inventory.listNodes({ zone: 'external' })).map((n) => n.name)).toEqual(['town-a1-fw']);
    expect((await inventory.listNodes({ level: 'county', kind: 'switch' })).map((n) => n.name)).toEqual(['county-a-sw']);

    expect(await inventory.snmpCredentials('county-a-sw', admin)).toEqual({ version: 'v2c', community: COMMUNITY });
    expect(await inventory.snmpCredentials('core-1', admin)).toEqual({
      version: 'v3',
      user: 'egov-poller',
      authProtocol: 'SHA-256',
      authPassword: AUTH_PASSWORD,
      privProtocol: 'AES-128',
      privPassword: PRIV_PASSWORD,
    });

    const updated = await inventory.updateNode('town-a1-fw', { site: 'Town A1 service hall', snmpPort: '1161', snmp: { version: 'v1', community: 'public-1' } }, admin);
    expect(updated).toMatchObject({ site: 'Town A1 service hall', snmpPort: 1161, snmp: { version: 'v1' }, parents: ['county-a-sw'] });
    expect(await inventory.snmpCredentials('town-a1-fw', admin)).toEqual({ version: 'v1', community: 'public-1' });
    expect((await inventory.updateNode('town-a1-fw', { snmp: null }, admin)).snmp).toBeNull();
  });

  it('refuses bad input with the field and what was expected, and writes nothing', async () => {
    const { inventory, database } = await open();
    await inventory.addNode(coreRouter, admin);
    const before = await rowCounts(database);
    await expectError(inventory.addNode({ ...countySwitch, kind: 'rooter' }, admin), 'bad-request', /^kind must be one of router, switch, firewall, gateway, server, other \(got "rooter"\)/);
    await expectError(inventory.addNode({ ...countySwitch, address: 'not an address!' }, admin), 'bad-request', /^address must be an IPv4 or IPv6 address or a DNS name/);
    await expectError(inventory.addNode({ ...countySwitch, level: undefined }, admin), 'bad-request', /^level must be one of city, county, township, village \(got nothing\)/);
    await expectError(inventory.addNode({ ...countySwitch, name: 'bad name' }, admin), 'bad-request', /^name must be 1-63 letters/);
    await expectError(inventory.addNode({ ...countySwitch, snmpPort: 70000 }, admin), 'bad-request', /^snmpPort must be a port number 1-65535/);
    await expectError(inventory.addNode({ ...countySwitch, snmp: { version: 'v2c' } }, admin), 'bad-request', /^snmp\.community must be 1-64 characters .*missing/);
    await expectError(
      inventory.addNode({ ...coreRouter, name: 'core-2', snmp: { ...coreRouter.snmp, authPassword: 'short' } }, admin),
      'bad-request',
      /^snmp\.authPassword must be 8-128 characters/,
    );
    await expectError(inventory.addNode({ ...coreRouter, name: 'core-2', snmp: { ...coreRouter.snmp, authProtocol: 'MD5' } }, admin), 'bad-request', /^snmp\.authProtocol must be one of SHA, SHA-224, SHA-256, SHA-384, SHA-512 \(got "MD5"\)/);
    await expectError(inventory.addNode({ ...coreRouter, name: 'core-2', snmp: { ...coreRouter.snmp, privProtocol: 'DES' } }, admin), 'bad-request', /^snmp\.privProtocol must be one of AES-128, AES-256/);
    await expectError(inventory.addNode({ ...countySwitch, snmp: { version: 'v2c', community: 'x', user: 'u' } }, admin), 'bad-request', /^snmp\.user belongs to SNMP v3/);
    await expectError(inventory.addNode({ ...countySwitch, colour: 'blue' }, admin), 'bad-request', /^node: unknown field colour/);
    await expectError(inventory.addNode({ ...countySwitch, parents: ['nowhere'] }, admin), 'bad-request', /^parents: no node named "nowhere"/);
    await expectError(inventory.addNode({ ...countySwitch, parents: ['county-a-sw'] }, admin), 'bad-request', /cannot be its own parent/);
    await expectError(inventory.addNode({ ...coreRouter }, admin), 'conflict', /a node named "core-1" already exists/);
    await expectError(inventory.updateNode('core-1', { name: 'core-9' }, admin), 'bad-request', /the name cannot change/);
    await expectError(inventory.updateNode('core-1', {}, admin), 'bad-request', /names no field to change/);
    await expectError(inventory.updateNode('ghost', { site: 'x' }, admin), 'not-found', /no node named "ghost"/);
    expect(await rowCounts(database)).toEqual(before);

    // Every refusal is in the audit log, with its reason; the chain holds.
    const refused = (await listAudit(database, { limit: 100 })).filter((r) => r.outcome === 'refused');
    expect(refused).toHaveLength(17);
    expect(refused.map((r) => r.detail.reason)).toContain('a node named "core-1" already exists');
    expect((await verifyAuditLog(database)).ok).toBe(true);
  });

  it('refuses parents that would make a cycle, naming the loop, and leaves the parents as they were', async () => {
    const { inventory, database } = await open();
    await inventory.addNode(coreRouter, admin);
    await inventory.addNode(countySwitch, admin);
    await inventory.addNode(township, admin);
    await inventory.addNode({ ...township, name: 'village-x', level: 'village', address: '10.9.9.9', parents: ['town-a1-fw', 'county-a-sw'] }, admin);
    const before = await rowCounts(database);

    await expectError(inventory.updateNode('core-1', { parents: ['village-x'] }, admin), 'bad-request', /cycle \(core-1 -> village-x -> county-a-sw -> core-1\)/);
    await expectError(inventory.updateNode('core-1', { parents: ['town-a1-fw'] }, admin), 'bad-request', /cycle \(core-1 -> town-a1-fw -> county-a-sw -> core-1\)/);
    await expectError(inventory.updateNode('county-a-sw', { parents: ['town-a1-fw'] }, admin), 'bad-request', /cycle \(county-a-sw -> town-a1-fw -> county-a-sw\)/);
    await expectError(inventory.updateNode('core-1', { parents: 'core-1' }, admin), 'bad-request', /cannot be its own parent/);
    expect(await rowCounts(database)).toEqual(before);
    expect((await inventory.getNode('core-1')).parents).toEqual([]);
    expect((await inventory.getNode('county-a-sw')).parents).toEqual(['core-1']);

    // A second path towards the core is no cycle.
    const village = await inventory.updateNode('village-x', { parents: ['town-a1-fw', 'core-1'] }, admin);
    expect(village.parents).toEqual(['core-1', 'town-a1-fw']);
  });

  it('keeps links between interfaces, one link per interface, and refuses to orphan anything on removal', async () => {
    const { inventory, database } = await open();
    await inventory.addNode(coreRouter, admin);
    await inventory.addNode(countySwitch, admin);
    await inventory.addNode(township, admin);
    const uplink = await inventory.addLink({ a: 'core-1:GigabitEthernet0/0/1', b: 'county-a-sw:XGE1/0/48', capacity: '10G', description: 'county A uplink' }, admin);
    expect(uplink).toMatchObject({ a: { node: 'core-1', interface: 'GigabitEthernet0/0/1' }, b: { node: 'county-a-sw', interface: 'XGE1/0/48' }, capacityBps: 10_000_000_000 });
    const town = await inventory.addLink({ a: { node: 'county-a-sw', interface: 'GE1/0/1' }, b: { node: 'town-a1-fw', interface: 'eth0' }, capacityBps: 100_000_000 }, admin);

    await expectError(inventory.addLink({ a: 'core-1:GigabitEthernet0/0/1', b: 'town-a1-fw:eth1', capacity: '1G' }, admin), 'conflict', /core-1:GigabitEthernet0\/0\/1 already ends link #/);
    await expectError(inventory.addLink({ a: 'core-1:Gi0/0/2', b: 'ghost:eth0', capacity: '1G' }, admin), 'bad-request', /^b\.node: no node named "ghost"/);
    await expectError(inventory.addLink({ a: 'core-1:Gi0/0/2', b: 'core-1:Gi0/0/2', capacity: '1G' }, admin), 'bad-request', /^b must be another interface than a/);
    await expectError(inventory.addLink({ a: 'core-1:Gi0/0/2', b: 'town-a1-fw:eth1', capacity: '12 apples' }, admin), 'bad-request', /^capacity must be bits per second/);
    await expectError(inventory.addLink({ a: 'core-1', b: 'town-a1-fw:eth1', capacity: '1G' }, admin), 'bad-request', /^a must be NODE:INTERFACE/);

    expect((await inventory.listLinks({ node: 'town-a1-fw' })).map((l) => l.id)).toEqual([town.id]);
    expect((await inventory.updateLink(town.id, { capacity: '1G' }, admin)).capacityBps).toBe(1_000_000_000);

    await expectError(inventory.removeNode('core-1', admin), 'conflict', /node "core-1" is the parent of "county-a-sw"/);
    await expectError(inventory.removeNode('town-a1-fw', admin), 'conflict', /links end on node "town-a1-fw": #\d+ county-a-sw:GE1\/0\/1 <-> town-a1-fw:eth0/);
    await inventory.removeLink(town.id, admin);
    await inventory.removeNode('town-a1-fw', admin);
    await expectError(inventory.getNode('town-a1-fw'), 'not-found', /no node named "town-a1-fw"/);
    await expectError(inventory.removeLink(town.id, admin), 'not-found', /no link #/);
    expect(await rowCounts(database)).toEqual({ nodes: 2, parents: 1, links: 1 });

    // One audit record per change, with facts but never a secret.
    const records = await listAudit(database, { limit: 100 });
    const successes = records.filter((r) => r.outcome === 'success').map((r) => r.action).reverse();
    expect(successes).toEqual([
      'monitor.node.add',
      'monitor.node.add',
      'monitor.node.add',
      'monitor.link.add',
      'monitor.link.add',
      'monitor.link.update',
      'monitor.link.remove',
      'monitor.node.remove',
    ]);
    expect(JSON.stringify(records)).not.toContain(COMMUNITY);
    expect(JSON.stringify(records)).not.toContain(AUTH_PASSWORD);
    expect((await verifyAuditLog(database)).ok).toBe(true);
  });

  it('never stores a community or password in clear', async () => {
    const { inventory, database, location } = await open();
    await inventory.addNode(coreRouter, admin);
    await inventory.addNode(countySwitch, admin);
    const secrets = [COMMUNITY, AUTH_PASSWORD, PRIV_PASSWORD].map((s) => Buffer.from(s, 'utf8'));
    const rows = await database.db.selectFrom('monitor_node').selectAll().execute();
    const asText = JSON.stringify(rows, (_k, v: unknown) => (v && typeof v === 'object' && 'type' in v && (v as { type: string }).type === 'Buffer' ? Buffer.from((v as unknown as { data: number[] }).data).toString('latin1') : v));
    for (const secret of secrets) expect(asText).not.toContain(secret.toString('utf8'));
    expect(rows.every((r) => r.snmp_secret && r.snmp_secret.length > 29)).toBe(true);
    if (engine.name === 'sqlite') {
      // The raw bytes of the database file and its WAL.
      await database.close();
      const files = readdirSync(location.dataDir).filter((f) => f.startsWith('egov-ops.sqlite'));
      expect(files).toContain('egov-ops.sqlite');
      const bytes = Buffer.concat(files.map((file) => readFileSync(path.join(location.dataDir, file))));
      for (const secret of secrets) expect(bytes.includes(secret)).toBe(false);
      // The v3 user name is no secret (it travels in clear on the wire) and is there: the search does find what is stored.
      expect(bytes.includes(Buffer.from('egov-poller'))).toBe(true);
      expect(bytes.includes(Buffer.from('sw-a.county.gov.cn'))).toBe(true);
    }
  });
});
