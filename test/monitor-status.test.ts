// Node status (up, down, unreachable behind down parents, unknown when
// silent), interface status and link utilisation, on the embedded store and
// a real influxd.

import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, secretBoxFromKey, type Database } from '../core/index.js';
import { nodeStates, openMonitor, type MetricPoint, type Monitor } from '../monitor/index.js';
import { useInfluxd } from './support/influxd-suite.js';

const { influxd, tempDataDir, keep } = useInfluxd();

const admin = { actor: 'test', source: 'test' };
const NOW = Math.floor(Date.now() / 1000) * 1000;
const MINUTE = 60_000;

//            core
//          /      \
//       agg-1    agg-2
//       /    \   /
//    acc-1   acc-2          acc-2 has two paths towards the core
//      |
//    leaf-1                 leaf-2 (no parent, never polled), stale-1 (last sample 20 min ago)
const TOPOLOGY: Array<[string, string[]]> = [
  ['core', []],
  ['agg-1', ['core']],
  ['agg-2', ['core']],
  ['acc-1', ['agg-1']],
  ['acc-2', ['agg-1', 'agg-2']],
  ['leaf-1', ['acc-1']],
  ['leaf-2', []],
  ['stale-1', ['core']],
];
const REACHABLE: Record<string, 0 | 1> = { core: 1, 'agg-1': 0, 'agg-2': 1, 'acc-1': 0, 'acc-2': 0, 'leaf-1': 0 };

const reach = (node: string, reachable: 0 | 1, time: number): MetricPoint => ({ measurement: 'system', tags: { node }, fields: { reachable, ...(reachable ? { rttMs: 1.5 } : {}) }, time });
const iface = (node: string, ifIndex: string, ifName: string, inBps: number, outBps: number, operStatus: number, time = NOW - MINUTE): MetricPoint => ({
  measurement: 'interface',
  tags: { node, ifIndex, ifName },
  fields: { inBitsPerSec: inBps, outBitsPerSec: outBps, operStatus, adminStatus: 1, inErrorsPerSec: 0, outErrorsPerSec: 0 },
  time,
});

let influxDatabases = 0;
describe.each([
  { name: 'embedded store', influx: false },
  { name: 'influxdb', influx: true },
])('status on the $name', (backend) => {
  let monitor: Monitor;
  beforeAll(async () => {
    const dataDir = tempDataDir('monitor-status');
    const database = await openDatabase({ dataDir });
    keep(database);
    monitor = await openMonitor({
      database,
      secrets: secretBoxFromKey(randomBytes(32)),
      now: () => new Date(NOW),
      ...(backend.influx ? { metrics: { influx: { url: influxd.url, database: `egov_status_${++influxDatabases}` } } } : {}),
    });
    for (const [name, parents] of TOPOLOGY) {
      await monitor.inventory.addNode({ name, kind: 'switch', zone: 'internal', site: 'City', level: 'county', address: `${name}.gov.cn`, parents }, admin);
    }
    await monitor.inventory.addLink({ a: 'core:Gi0/0/1', b: 'agg-1:XGE0/1', capacity: '10G' }, admin);
    await monitor.inventory.addLink({ a: 'core:Gi0/0/2', b: 'agg-2:XGE0/1', capacity: '1G' }, admin);
    await monitor.inventory.addLink({ a: 'agg-2:GE0/2', b: 'acc-2:GE0/1', capacity: '100M' }, admin);
    await monitor.inventory.addLink({ a: 'acc-1:GE0/9', b: 'leaf-1:eth0', capacity: '100M' }, admin);

    const points: MetricPoint[] = [];
    // Older samples first: a node up ten minutes ago and down now is down.
    for (const node of Object.keys(REACHABLE)) points.push(reach(node, 1, NOW - 10 * MINUTE), reach(node, REACHABLE[node]!, NOW - 30_000));
    points.push(reach('stale-1', 1, NOW - 20 * MINUTE));
    points.push(
      iface('core', '1', 'Gi0/0/1', 2e9, 7.5e9, 1), // 75 % towards agg-1
      iface('core', '2', 'Gi0/0/2', 123e6, 456e6, 1),
      iface('agg-2', '2', 'GE0/2', 10e6, 95e6, 2), // a says down
      // acc-1's end of its link reports nothing; leaf-1's end does (in = acc-1 -> leaf-1).
      iface('leaf-1', '1', 'eth0', 30e6, 5e6, 1),
      // An old sample, past staleAfter: it says nothing about now.
      iface('acc-2', '1', 'GE0/1', 99e6, 99e6, 1, NOW - 30 * MINUTE),
    );
    await monitor.metrics.write(points);
  });

  it('node status: down parents make their down children unreachable; one working path keeps a child merely down', async () => {
    const statuses = await monitor.status.nodeStatuses();
    const byName = Object.fromEntries(statuses.map((s) => [s.name, [s.status, s.cutOffBy]]));
    expect(byName).toEqual({
      core: ['up', []],
      'agg-1': ['down', []],
      'agg-2': ['up', []],
      'acc-1': ['unreachable', ['agg-1']],
      'acc-2': ['down', []],
      'leaf-1': ['unreachable', ['acc-1']],
      'leaf-2': ['unknown', []],
      'stale-1': ['unknown', []],
    });
    expect(statuses.find((s) => s.name === 'core')).toMatchObject({ rttMs: 1.5, sampledAt: NOW - 30_000 });
    expect(statuses.find((s) => s.name === 'stale-1')).toMatchObject({ rttMs: null, sampledAt: NOW - 20 * MINUTE });
  });

  it('link utilisation from either end, link status from the interfaces, worst links first', async () => {
    const links = await monitor.status.links();
    const summary = links.map((l) => [`${l.a.node}-${l.b.node}`, l.status, l.aToBPct, l.bToAPct, l.utilisationPct, l.measuredAt]);
    expect(summary).toEqual([
      ['core-agg-1', 'up', 75, 20, 75, 'a'],
      ['core-agg-2', 'up', 45.6, 12.3, 45.6, 'a'],
      ['agg-2-acc-2', 'down', 95, 10, 95, 'a'],
      ['acc-1-leaf-1', 'up', 30, 5, 30, 'b'],
    ]);
    expect((await monitor.status.worstLinks(3)).map((l) => l.id)).toEqual([links[2]!.id, links[0]!.id, links[1]!.id]);

    const interfaces = await monitor.status.interfaces('agg-2');
    expect(interfaces).toEqual([
      { node: 'agg-2', ifName: 'GE0/2', ifIndex: '2', operStatus: 'down', adminStatus: 'up', inBitsPerSec: 10e6, outBitsPerSec: 95e6, inErrorsPerSec: 0, outErrorsPerSec: 0, sampledAt: NOW - MINUTE, fresh: true },
    ]);
    expect((await monitor.status.interfaces('acc-2'))[0]!.fresh).toBe(false);
  });

  it('overview: counts, nodes, links and the worst links in one answer', async () => {
    const overview = await monitor.status.overview(2);
    expect(overview.at).toBe(new Date(NOW).toISOString());
    expect(overview.counts).toEqual({ up: 2, down: 2, unreachable: 2, unknown: 2 });
    expect(overview.worstLinks.map((l) => l.utilisationPct)).toEqual([95, 75]);
    expect(overview.links).toHaveLength(4);
  });
});

describe('the status rule on its own', () => {
  it('a chain of down nodes below a down root: the first is down, the rest unreachable', () => {
    const nodes = [
      { name: 'a', parents: [] },
      { name: 'b', parents: ['a'] },
      { name: 'c', parents: ['b'] },
      { name: 'd', parents: ['c', 'x'] },
      { name: 'x', parents: [] },
    ];
    const down = nodeStates(nodes, (n) => (n === 'x' ? 'unknown' : 'down'));
    expect(Object.fromEntries([...down].map(([n, s]) => [n, s.state]))).toEqual({ a: 'down', b: 'unreachable', c: 'unreachable', d: 'down', x: 'unknown' });
  });

  it('a loop that got into the data does not hang it', () => {
    const states = nodeStates(
      [
        { name: 'p', parents: ['q'] },
        { name: 'q', parents: ['p'] },
      ],
      () => 'down',
    );
    expect([...states.keys()].sort()).toEqual(['p', 'q']);
  });
});
