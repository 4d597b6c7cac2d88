// Property tests of the files operators hand the suite: inventory CSV and
// YAML (parsed, then imported into a real SQLite inventory, so a row that
// parses but breaks a constraint would show), and config files (YAML and
// JSON, read by loadConfig as `serve` reads them). Only EgovError may
// escape, every input in bounded time; an import that succeeds leaves a
// verifiable audit chain.

import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, openDatabase, secretBoxFromKey, verifyAuditLog, type Database } from '../core/index.js';
import { Inventory, parseInventory } from '../monitor/index.js';
import { fuzzParser, fuzzRuns, randomBytes, untrustedBytes } from './support/fuzz.js';

const NODES_CSV = [
  'name,kind,zone,site,level,address,snmp_port,snmp_version,community,v3_user,auth_protocol,auth_password,priv_protocol,priv_password,parents,description',
  'core,router,internal,City DC,city,10.0.0.1,,v3,,poller,SHA-512,Auth-Pass-1234,AES-256,Priv-Pass-5678,,core router',
  'county-b,switch,internal,County B,county,10.2.0.1,,v2c,csv-Community-5521,,,,,,core,',
  'town-b1,firewall,external,"Town B1, hall 2",township,10.2.1.1,161,,,,,,,,county-b,"first line\nsecond line"',
  'server-1,server,dmz,城关镇政务服务中心,city,server-1.gov.cn,,,,,,,,,core;county-b,two parents',
].join('\r\n');
const LINKS_CSV = ['a_node,a_interface,b_node,b_interface,capacity,description', 'core,Gi0/0/1,county-b,XGE1/0/1,10G,', 'county-b,GE1/0/2,town-b1,eth0,100M,leased line'].join('\n');
const INVENTORY_YAML = `nodes:
  - name: county-c
    kind: switch
    zone: internal
    site: County C
    level: county
    address: 10.3.0.1
    snmp: { version: v2c, community: yaml-comm-1 }
    parents: [core]
  - { name: town-c1, kind: firewall, zone: external, site: Town C1, level: township, address: "fe80::1", snmpPort: 1161, parents: [county-c] }
links:
  - { a: "core:Gi0/0/1", b: "county-c:XGE1/0/1", capacity: 10G }
  - { a: "county-c:GE1/0/2", b: "town-c1:eth0", capacity: 100M, description: leased line }
`;
const ALIAS_YAML = 'nodes:\n  - &n { name: a1, kind: router, zone: internal, site: s, level: city, address: 10.0.0.1 }\n  - *n\n  - <<: *n\n    name: a2\n';

let dir: string;
let database: Database;
let inventory: Inventory;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-fuzz-files-'));
  database = await openDatabase({ dataDir: dir });
  inventory = new Inventory({ database, secrets: secretBoxFromKey(cryptoRandomBytes(32)) });
});

afterAll(async () => {
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = (bytes: Buffer) => bytes.toString('utf8');
const operator = { actor: 'cli:fuzz', source: 'cli' as const };

describe('inventory files: parsed and imported, only EgovError escapes', () => {
  it('CSV (nodes and links)', async () => {
    const samples = [NODES_CSV, LINKS_CSV].map((s) => Buffer.from(s, 'utf8'));
    const tally = await fuzzParser('inventory csv', untrustedBytes(samples, 600).map(text), async (csv) => inventory.importRows(parseInventory(csv, 'csv'), operator, 'fuzz'), {
      runs: fuzzRuns(400),
      check: (report) => expect(report.accepted.nodes + report.accepted.links + report.rejected.length).toBeGreaterThanOrEqual(0),
    });
    expect(tally.accepted).toBeGreaterThan(0);
  });

  it('YAML (nodes and links, anchors and merge keys)', async () => {
    const samples = [INVENTORY_YAML, ALIAS_YAML].map((s) => Buffer.from(s, 'utf8'));
    const tally = await fuzzParser('inventory yaml', untrustedBytes(samples, 600).map(text), async (yaml) => inventory.importRows(parseInventory(yaml, 'yaml'), operator, 'fuzz'), { runs: fuzzRuns(400) });
    expect(tally.accepted).toBeGreaterThan(0);
  });

  it('YAML of any shape: random JSON-like values as the document', async () => {
    const documents = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ nodes: fc.array(fc.dictionary(fc.constantFrom('name', 'kind', 'zone', 'site', 'level', 'address', 'snmpPort', 'snmp', 'parents', 'description', 'x'), fc.jsonValue({ maxDepth: 2 })), { maxLength: 4 }), links: fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 3 }) }));
    await fuzzParser('inventory yaml (shapes)', documents.map((d) => JSON.stringify(d)), async (yaml) => inventory.importRows(parseInventory(yaml, 'yaml'), operator, 'fuzz'), { runs: fuzzRuns(300) });
  });

  it('the audit chain still verifies after every import', async () => {
    const result = await verifyAuditLog(database);
    expect(result.ok).toBe(true);
  });
});

const CONFIG_YAML = `log:
  level: info
server:
  port: 8080
  tlsPort: 8443
  publicUrl: https://ops.city.gov.cn
backup:
  targets:
    - name: same-city
      repository: /srv/restic/same-city
`;

describe('config files: only EgovError (bad-config) escapes', () => {
  let n = 0;
  const load = (content: Buffer, ext: string) => {
    const file = path.join(dir, `config-${n++ % 8}.${ext}`);
    writeFileSync(file, content);
    return loadConfig({ file, env: {}, flags: { dataDir: dir } });
  };

  it('YAML config files, random and mutated', async () => {
    await fuzzParser('config yaml', fc.oneof(untrustedBytes([Buffer.from(CONFIG_YAML)], 400), randomBytes(200)), (bytes) => load(bytes, 'yaml'), { runs: fuzzRuns(500) });
  });

  it('JSON config files of any shape', async () => {
    const docs = fc.oneof(fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')), untrustedBytes([Buffer.from(JSON.stringify({ log: { level: 'warn' }, server: { port: 80 } }))], 200));
    await fuzzParser('config json', docs, (bytes) => load(bytes, 'json'), { runs: fuzzRuns(500) });
  });
});
