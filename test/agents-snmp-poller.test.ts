// SnmpPoller against a real snmpd: interface rates from real traffic on
// loopback, HOST-RESOURCES memory and disks equal to what the kernel says,
// reachability events when snmpd stops and comes back (and the counter
// reset its restart implies), extra OID groups from a config object, and
// the schedule with bounded concurrency.

import dgram from 'node:dgram';
import { readFileSync, statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord, MetricPoint } from '../monitor/index.js';
import { DEFAULT_OID_SETS, mergeOidSets, SnmpPoller, type AgentRecord, type PollTarget } from '../agents/snmp/index.js';
import { freeUdpPort, startSnmpd, type Snmpd } from './support/snmpd.js';

let agent: Snmpd;
let extraPorts: number[];

beforeAll(async () => {
  extraPorts = await Promise.all(Array.from({ length: 6 }, () => freeUdpPort()));
  agent = await startSnmpd({ extraPorts });
});
afterAll(async () => agent?.dispose());

const metrics = (records: AgentRecord[], measurement?: string) =>
  records.filter((r): r is { kind: 'metric'; record: MetricPoint } => r.kind === 'metric' && (!measurement || r.record.measurement === measurement)).map((r) => r.record);
const events = (records: AgentRecord[]) => records.filter((r): r is { kind: 'event'; record: EventRecord } => r.kind === 'event').map((r) => r.record);

function v3Target(name: string, kind: PollTarget['kind'] = 'server', port = agent.port): PollTarget {
  const u = agent.authPriv;
  return { name, address: '127.0.0.1', port, kind, credentials: { version: '3', user: u.user, level: 'authPriv', authProtocol: 'SHA-256', authPassword: u.authPassword, privProtocol: 'AES', privPassword: u.privPassword } };
}

/** Sends `bytes` over loopback to a socket of our own, so lo's counters move by at least that much. */
async function loopbackTraffic(bytes: number): Promise<void> {
  const sink = dgram.createSocket('udp4');
  const source = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sink.bind(0, '127.0.0.1', resolve));
  const chunk = Buffer.alloc(8000, 0x55);
  for (let sent = 0; sent < bytes; sent += chunk.length) await new Promise<void>((resolve) => source.send(chunk, sink.address().port, '127.0.0.1', () => resolve()));
  source.close();
  sink.close();
}

describe('SnmpPoller against snmpd', () => {
  it('a server over v3 authPriv: interface rates from real loopback traffic, host memory and disks as the kernel reports them', async () => {
    const records: AgentRecord[] = [];
    const poller = new SnmpPoller({ targets: [v3Target('web-1')], intervalMs: 60_000, onRecord: (r) => records.push(r) });
    try {
      const before = performance.now();
      await poller.pollOnce();
      const first = metrics(records, 'interface');
      expect(first.length).toBeGreaterThanOrEqual(1);
      expect(first.every((p) => p.fields.inOctetsPerSec === undefined)).toBe(true);

      records.length = 0;
      const sent = 2_000_000;
      await loopbackTraffic(sent);
      // snmpd refreshes its interface table every 3 s: wait past that so the traffic is in the second sample.
      await new Promise((r) => setTimeout(r, 3500));
      await poller.pollOnce();
      const after = performance.now();

      const lo = metrics(records, 'interface').find((p) => p.tags.ifName === 'lo')!;
      expect(lo.tags).toEqual({ node: 'web-1', ifIndex: '1', ifName: 'lo' });
      const seconds = (after - before) / 1000; // at least the poller's interval
      expect(lo.fields.inOctetsPerSec! * seconds).toBeGreaterThanOrEqual(sent);
      expect(lo.fields.outOctetsPerSec! * seconds).toBeGreaterThanOrEqual(sent);
      expect(lo.fields.inBitsPerSec).toBe(lo.fields.inOctetsPerSec! * 8);
      expect(lo.fields).toMatchObject({ operStatus: 1, adminStatus: 1, inErrorsPerSec: 0, outErrorsPerSec: 0, inDiscardsPerSec: 0, outDiscardsPerSec: 0 });
      if (lo.fields.highSpeedMbps! > 0) expect(lo.fields.inUtilisationPct).toBeCloseTo((lo.fields.inBitsPerSec! / (lo.fields.highSpeedMbps! * 1e6)) * 100, 9);

      const [system] = metrics(records, 'system');
      expect(system!.tags).toEqual({ node: 'web-1' });
      expect(system!.fields.reachable).toBe(1);
      expect(system!.fields.rttMs).toBeGreaterThan(0);
      expect(system!.fields.sysUpTime).toBeGreaterThan(0);
      expect(poller.nodeInfo('web-1')).toMatchObject({ sysObjectID: '1.3.6.1.4.1.8072.3.2.10', sysDescr: expect.stringMatching(/^Linux /) });

      const [host] = metrics(records, 'host');
      const memTotalKiB = Number(/MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]);
      expect(host!.fields.memoryTotalBytes).toBe(memTotalKiB * 1024);
      expect(host!.fields.memoryUsedPct).toBeGreaterThan(0);
      expect(host!.fields.memoryUsedPct).toBeLessThanOrEqual(100);
      // snmpd reports hrProcessorLoad (a one-minute average) only once it has run a minute: cpuLoadPct follows what it has.
      const loads = (await agent.tool('snmpbulkwalk', ['-v2c', '-c', agent.community, '-Oqv', agent.target, '.1.3.6.1.2.1.25.3.3.1.2'])).stdout.split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      if (loads.length === 0) expect(host!.fields.cpuLoadPct).toBeUndefined();
      else expect(Math.abs(host!.fields.cpuLoadPct! - loads.reduce((a, b) => a + b, 0) / loads.length)).toBeLessThanOrEqual(5);

      const root = metrics(records, 'storage').find((p) => p.tags.storage === '/')!;
      const fs = statfsSync('/');
      expect(root.fields.sizeBytes).toBe(fs.blocks * fs.bsize);
      expect(root.fields.usedBytes).toBeLessThanOrEqual(root.fields.sizeBytes!);
      expect(root.fields.usedPct).toBeCloseTo((root.fields.usedBytes! / root.fields.sizeBytes!) * 100, 9);
      expect(events(records)).toEqual([]);
      expect(poller.stats()).toMatchObject({ pollsOk: 2, pollsFailed: 0, targets: 1 });
    } finally {
      await poller.stop();
    }
  });

  it('a v1 router: 32-bit counters (v1 cannot carry Counter64), no host or storage points', async () => {
    const records: AgentRecord[] = [];
    const poller = new SnmpPoller({ targets: [{ name: 'r-v1', address: '127.0.0.1', port: agent.port, kind: 'router', credentials: { version: '1', community: agent.community } }], intervalMs: 60_000, onRecord: (r) => records.push(r) });
    try {
      await poller.pollOnce();
      await loopbackTraffic(500_000);
      await new Promise((r) => setTimeout(r, 3500));
      records.length = 0;
      await poller.pollOnce();
      const lo = metrics(records, 'interface').find((p) => p.tags.ifName === 'lo')!;
      expect(lo.fields.inOctetsPerSec).toBeGreaterThan(0);
      expect(metrics(records, 'host')).toEqual([]);
      expect(metrics(records, 'storage')).toEqual([]);
    } finally {
      await poller.stop();
    }
  });

  it('snmpd stops: reachable 0 and an unreachable event; it comes back: a reachable event, and a counter reset for its restart', async () => {
    const records: AgentRecord[] = [];
    const poller = new SnmpPoller({ targets: [v3Target('db-1', 'server')], intervalMs: 60_000, timing: { timeoutMs: 300, retries: 1 }, onRecord: (r) => records.push(r) });
    try {
      await poller.pollOnce();
      await agent.stop();
      records.length = 0;
      await poller.pollOnce();
      expect(metrics(records)).toEqual([expect.objectContaining({ measurement: 'system', tags: { node: 'db-1' }, fields: { reachable: 0 } })]);
      const [down] = events(records);
      expect(down).toMatchObject({ kind: 'reachability', name: 'unreachable', severity: 'error', node: 'db-1', sourceAddress: '127.0.0.1' });
      expect(down!.detail.error).toBe(`no answer from ${agent.target} after 2 tries (timeout 300 ms) (a wrong privacy password gets no answer either)`);

      records.length = 0;
      await poller.pollOnce(); // still down: no second event
      expect(events(records)).toEqual([]);

      await agent.start();
      records.length = 0;
      await poller.pollOnce();
      const names = events(records).map((e) => `${e.kind}/${e.name}`);
      expect(names).toEqual(['reachability/reachable', 'counter-reset/counter-reset']);
      expect(events(records)[1]!.detail.reason).toMatch(/sysUpTime went backwards/);
      expect(metrics(records, 'interface').every((p) => p.fields.inOctetsPerSec === undefined)).toBe(true);
      expect(metrics(records, 'system')[0]!.fields.reachable).toBe(1);
      expect(poller.stats()).toMatchObject({ pollsOk: 2, pollsFailed: 2, timeouts: 2 });
    } finally {
      await poller.stop();
      await agent.start();
    }
  });

  it('a wrong v3 password: the poll fails as an auth failure, the device counts as reachable (it answered)', async () => {
    const records: AgentRecord[] = [];
    const target = v3Target('fw-1', 'firewall');
    if (target.credentials.version === '3' && target.credentials.level === 'authPriv') target.credentials.authPassword = 'wrong-password';
    const poller = new SnmpPoller({ targets: [target], intervalMs: 60_000, onRecord: (r) => records.push(r) });
    try {
      await poller.pollOnce();
      expect(poller.stats()).toMatchObject({ pollsFailed: 1, authFailures: 1, timeouts: 0 });
      expect(metrics(records)).toEqual([expect.objectContaining({ measurement: 'system', fields: { reachable: 1 } })]);
      expect(JSON.stringify(records)).not.toContain('wrong-password');
    } finally {
      await poller.stop();
    }
  });

  it('extra OID groups from a config object land on the built-in points', async () => {
    const oidSets = mergeOidSets(DEFAULT_OID_SETS, {
      groups: {
        processes: { kind: 'scalar', measurement: 'host', objects: { count: { role: 'gauge', field: 'processes', oids: ['1.3.6.1.2.1.25.1.6.0'] } } },
        ifMtu: { kind: 'table', measurement: 'interface', indexTag: 'ifIndex', columns: { mtu: { role: 'gauge', field: 'mtu', oids: ['1.3.6.1.2.1.2.2.1.4'] } } },
      },
      kinds: { server: ['processes', 'ifMtu'] },
    });
    const records: AgentRecord[] = [];
    const poller = new SnmpPoller({ targets: [v3Target('app-1')], intervalMs: 60_000, oidSets, onRecord: (r) => records.push(r) });
    try {
      await poller.pollOnce();
      const tool = await agent.tool('snmpget', ['-v2c', '-c', agent.community, '-Oqv', agent.target, '.1.3.6.1.2.1.2.2.1.4.1']);
      const lo = metrics(records, 'interface').find((p) => p.tags.ifIndex === '1')!;
      expect(lo.fields.mtu).toBe(Number(tool.stdout.trim()));
      const host = metrics(records, 'host');
      expect(host.length).toBe(1); // merged with memory and CPU, not a second point
      expect(host[0]!.fields.processes).toBeGreaterThan(0);
      expect(host[0]!.fields.memoryTotalBytes).toBeGreaterThan(0);
    } finally {
      await poller.stop();
    }
  });

  it('polls many devices every interval with bounded concurrency until stopped', async () => {
    const targets: PollTarget[] = [agent.port, ...extraPorts].flatMap((port, i) => [
      { name: `sw-${i}`, address: '127.0.0.1', port, kind: 'switch' as const, credentials: { version: '2c' as const, community: agent.community } },
      v3Target(`srv-${i}`, 'server', port),
    ]);
    const records: AgentRecord[] = [];
    let inFlightPeak = 0;
    const poller = new SnmpPoller({
      targets,
      intervalMs: 400,
      concurrency: 3,
      onRecord: (r) => {
        records.push(r);
        inFlightPeak = Math.max(inFlightPeak, poller.stats().inFlight);
      },
    });
    poller.start();
    await new Promise((r) => setTimeout(r, 1500));
    await poller.stop();
    const stats = poller.stats();
    expect(stats.targets).toBe(14);
    expect(stats.cycles).toBeGreaterThanOrEqual(3);
    expect(stats.pollsFailed).toBe(0);
    expect(stats.pollsOk).toBeGreaterThanOrEqual(14 * 3);
    expect(inFlightPeak).toBeLessThanOrEqual(3);
    expect(stats.inFlight).toBe(0);
    const nodes = new Set(metrics(records, 'system').map((p) => p.tags.node));
    expect(nodes.size).toBe(14);
  });

  it('refuses a target list with a duplicate name', () => {
    expect(() => new SnmpPoller({ targets: [v3Target('x'), v3Target('x')], intervalMs: 1000, onRecord: () => undefined })).toThrow(/listed twice/);
  });
});
