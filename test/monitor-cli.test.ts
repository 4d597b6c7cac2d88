// `egov-ops node|link|logs|status` registered on a program with the suite's
// global options (cli/main.ts adds them the same way), run in-process.

import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, openSecretBox } from '../core/index.js';
import { openMonitor } from '../monitor/index.js';
import { registerMonitorCommands } from '../cli/monitor.js';
import { inProcessCli } from './support/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const egov = inProcessCli(registerMonitorCommands);

describe('egov-ops node, link, logs, status', () => {
  it('adds nodes with secrets from files, lists, shows, imports with a report, links, logs and status', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'egov-monitor-cli-'));
    dirs.push(dataDir);
    const community = path.join(dataDir, 'community.txt');
    writeFileSync(community, 'cli-Community-4410\n');
    const authFile = path.join(dataDir, 'auth.txt');
    writeFileSync(authFile, 'auth-password-1\n');
    const privFile = path.join(dataDir, 'priv.txt');
    writeFileSync(privFile, 'priv-password-1\n');
    const d = ['--data-dir', dataDir];

    const added = await egov([...d, '--json', 'node', 'add', 'core-1', '--kind', 'router', '--zone', 'internal', '--site', '市数据中心', '--level', 'city', '--address', '10.0.0.1',
      '--snmp-version', 'v3', '--v3-user', 'poller', '--auth-protocol', 'SHA-256', '--auth-password-file', authFile, '--priv-protocol', 'AES-128', '--priv-password-file', privFile]);
    expect(added.error).toBeUndefined();
    expect(JSON.parse(added.stdout)).toMatchObject({ name: 'core-1', snmp: { version: 'v3', user: 'poller', authProtocol: 'SHA-256', privProtocol: 'AES-128' } });
    const sw = await egov([...d, 'node', 'add', 'sw-1', '--kind', 'switch', '--zone', 'internal', '--site', 'County A', '--level', 'county', '--address', '10.1.0.1', '--snmp-version', 'v2c', '--community-file', community, '--parents', 'core-1']);
    expect(sw.stdout).toMatch(/^added\nsw-1 {2}switch, internal network, county level, County A\n {2}address 10\.1\.0\.1, port 161, SNMP v2c\n {2}parents core-1/);
    expect(sw.stdout).not.toContain('cli-Community-4410');

    const refused = await egov([...d, 'node', 'add', 'sw-2', '--kind', 'switch', '--zone', 'internal', '--site', 'X', '--level', 'county', '--address', 'bad address']);
    expect(refused.error?.message).toMatch(/^address must be an IPv4 or IPv6 address or a DNS name/);

    const list = JSON.parse((await egov([...d, '--json', 'node', 'list'])).stdout) as Array<{ name: string }>;
    expect(list.map((n) => n.name)).toEqual(['core-1', 'sw-1']);
    expect((await egov([...d, 'node', 'list', '--level', 'county'])).stdout).toMatch(/^sw-1 +switch +internal +county +10\.1\.0\.1 +County A {2}<- core-1\n$/);

    // Import: valid rows stored, each rejected row with line and reason, exit code 4.
    const csv = path.join(dataDir, 'nodes.csv');
    writeFileSync(csv, 'name,kind,zone,site,level,address,parents\nacc-1,switch,internal,Town,township,10.2.0.1,sw-1\nacc-2,switch,internal,Town,hamlet,10.2.0.2,sw-1\nacc-3,switch,internal,Town,township,10.2.0.3,ghost\n');
    const imported = await egov([...d, 'node', 'import', csv]);
    expect(imported.exitCode).toBe(4);
    expect(imported.stdout).toBe(
      [
        'accepted 1 node and 0 links; rejected 2 rows',
        '  line 3: node acc-2: level must be one of city, county, township, village (got "hamlet")',
        '  line 4: node acc-3: parent "ghost" is neither in the inventory nor in this file',
        '',
      ].join('\n'),
    );
    const yaml = path.join(dataDir, 'more.yaml');
    writeFileSync(yaml, 'nodes:\n  - { name: acc-9, kind: switch, zone: dmz, site: Town, level: township, address: 10.2.0.9, parents: [sw-1] }\n');
    const clean = await egov([...d, '--json', 'node', 'import', yaml]);
    expect(clean.exitCode).toBeUndefined();
    expect(JSON.parse(clean.stdout)).toMatchObject({ accepted: { nodes: 1, links: 0 }, rejected: [] });
    expect((await egov([...d, 'node', 'import', path.join(dataDir, 'nodes.txt')])).error?.message).toMatch(/give --format csv or --format yaml/);

    const link = await egov([...d, '--json', 'link', 'add', '--a', 'core-1:Gi0/0/1', '--b', 'sw-1:XGE0/1', '--capacity', '10G', '--description', 'county A uplink']);
    expect(JSON.parse(link.stdout)).toMatchObject({ capacityBps: 1e10, description: 'county A uplink' });
    expect((await egov([...d, 'link', 'list'])).stdout).toMatch(/^#1 +core-1:Gi0\/0\/1 <-> sw-1:XGE0\/1 {2}10Gbit\/s {2}county A uplink\n$/);
    const shown = await egov([...d, 'node', 'show', 'sw-1']);
    expect(shown.stdout).toContain('link #1');

    const exported = path.join(dataDir, 'export.csv');
    await egov([...d, 'node', 'export', '--format', 'csv', '--out', exported]);
    expect(readFileSync(exported, 'utf8').split('\r\n')[0]).toBe('name,kind,zone,site,level,address,snmp_port,snmp_version,community,v3_user,auth_protocol,auth_password,priv_protocol,priv_password,parents,description');
    expect(readFileSync(exported, 'utf8')).not.toContain('cli-Community-4410');

    // Logs and status read what ingest stored.
    const database = await openDatabase({ dataDir });
    try {
      const monitor = await openMonitor({ database, secrets: openSecretBox(dataDir) });
      const now = Date.now();
      await monitor.ingestor.accept('agent-1', [
        { seq: 1, kind: 'metric', record: { measurement: 'system', tags: { node: 'core-1' }, fields: { reachable: 0 }, time: now - 5000 } },
        { seq: 2, kind: 'metric', record: { measurement: 'system', tags: { node: 'sw-1' }, fields: { reachable: 0 }, time: now - 5000 } },
        { seq: 3, kind: 'metric', record: { measurement: 'system', tags: { node: 'acc-1' }, fields: { reachable: 1, rttMs: 4 }, time: now - 5000 } },
        {
          seq: 4,
          kind: 'log',
          record: { time: now - 3_600_000, receivedAt: now, node: 'sw-1', sourceAddress: '10.1.0.1', facility: 4, severity: 'alert', host: null, app: 'login', procId: null, msgId: null, message: 'too many failures', structuredData: {}, format: 'rfc3164', transport: 'udp' },
        },
      ]);
      expect(await monitor.inventory.snmpCredentials('sw-1', { actor: 'test', source: 'test' })).toEqual({ version: 'v2c', community: 'cli-Community-4410' });
    } finally {
      await database.close();
    }
    expect((await egov([...d, 'logs', 'search', '--severity', 'critical', '--since', '2h'])).stdout).toMatch(/alert +sw-1 +login: too many failures\n$/);
    expect(JSON.parse((await egov([...d, '--json', 'logs', 'search', '--since', '30m'])).stdout)).toEqual([]);
    const status = JSON.parse((await egov([...d, '--json', 'status'])).stdout) as { counts: Record<string, number>; nodes: Array<{ name: string; status: string }> };
    expect(status.counts).toEqual({ up: 1, down: 1, unreachable: 1, unknown: 1 });
    expect(Object.fromEntries(status.nodes.map((n) => [n.name, n.status]))).toEqual({ 'core-1': 'down', 'sw-1': 'unreachable', 'acc-1': 'up', 'acc-9': 'unknown' });
    expect((await egov([...d, 'status'])).stdout).toMatch(/unreachable +sw-1 .*\(cut off by core-1\)/);

    expect((await egov([...d, 'node', 'remove', 'core-1'])).error?.message).toMatch(/is the parent of "sw-1"/);
    expect((await egov([...d, 'link', 'remove', '1'])).stdout).toBe('removed link #1\n');
    expect((await egov([...d, 'node', 'remove', 'acc-9'])).stdout).toBe('removed acc-9\n');
    // The secret key made on first use sits beside the database, readable by its owner only.
    expect(readdirSync(dataDir)).toContain('secret.key');
  });
});
