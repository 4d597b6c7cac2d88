// The counter arithmetic on its own (exact bigint deltas near 2^64, wrap
// versus reset), then through the poller against a real SNMP agent whose
// counters and sysUpTime the test sets (net-snmp's Agent on loopback).

import { afterEach, describe, expect, it } from 'vitest';
import type { EventRecord, MetricPoint } from '../monitor/index.js';
import {
  classifyUptime,
  counterStep,
  decodeCounter64,
  maxOctetsForSpeed,
  ratePerSecond,
  SnmpPoller,
  TWO_32,
  TWO_64,
  type AgentRecord,
  type PollTarget,
} from '../agents/snmp/index.js';
import { startScriptedAgent, type ScriptedAgent } from './support/snmpd.js';

const c64 = (value: bigint) => ({ value, width: 64 as const });
const c32 = (value: bigint) => ({ value, width: 32 as const });

describe('counter arithmetic', () => {
  it('Counter64 is decoded exactly from its BER content octets', () => {
    expect(decodeCounter64(Buffer.from('00ffffffffffffffff', 'hex'))).toBe(TWO_64 - 1n);
    expect(decodeCounter64(Buffer.from('ffffffffffffffff', 'hex'))).toBe(TWO_64 - 1n); // agents that drop the leading 0x00
    expect(decodeCounter64(Buffer.from('0020000000000001', 'hex'))).toBe(9007199254740993n); // 2^53 + 1: a double would say ...992
    expect(decodeCounter64(Buffer.from([0]))).toBe(0n);
    expect(() => decodeCounter64(Buffer.from('01ffffffffffffffff', 'hex'))).toThrow(/does not fit in 64 bits/);
    expect(() => decodeCounter64(Buffer.alloc(0))).toThrow(/no content octets/);
  });

  it('deltas near 2^64 are exact', () => {
    expect(counterStep(c64(TWO_64 - 1001n), c64(TWO_64 - 1n), 'forward')).toEqual({ kind: 'delta', delta: 1000n, wrapped: false });
    expect(counterStep(c64(9007199254740993n), c64(9007199254740995n), 'forward')).toEqual({ kind: 'delta', delta: 2n, wrapped: false });
  });

  it('a counter that went backwards while sysUpTime went forward wrapped: add 2^64 or 2^32 by its width', () => {
    expect(counterStep(c64(TWO_64 - 100n), c64(50n), 'forward')).toEqual({ kind: 'delta', delta: 150n, wrapped: true });
    expect(counterStep(c32(TWO_32 - 10n), c32(5n), 'forward')).toEqual({ kind: 'delta', delta: 15n, wrapped: true });
    expect(counterStep(c32(4_000_000_000n), c32(100n), 'wrapped')).toEqual({ kind: 'delta', delta: TWO_32 - 4_000_000_000n + 100n, wrapped: true });
  });

  it('with sysUpTime gone backwards the same values are a reset, with no delta at all', () => {
    expect(counterStep(c64(TWO_64 - 100n), c64(50n), 'restarted')).toEqual({ kind: 'reset', reason: 'agent-restarted' });
    expect(counterStep(c64(1000n), c64(5000n), 'restarted')).toEqual({ kind: 'reset', reason: 'agent-restarted' }); // even going up
  });

  it('a 64-bit counter cleared on the device (small value, uptime forward) is not a 2^64 wrap: no "1 Ebps" spike', () => {
    expect(counterStep(c64(5_000_000n), c64(1_000n), 'forward')).toEqual({ kind: 'reset', reason: 'implausible-wrap' });
    // With the link speed known, a 32-bit "wrap" larger than the line could carry is refused too …
    const limit = maxOctetsForSpeed(1, 60_000); // 1 Mbit/s for a minute
    expect(counterStep(c32(4_000_000_000n), c32(100_000_000n), 'forward', limit)).toEqual({ kind: 'reset', reason: 'implausible-wrap' });
    // … while on a 10 Gbit/s link it is an ordinary wrap.
    expect(counterStep(c32(4_000_000_000n), c32(100_000_000n), 'forward', maxOctetsForSpeed(10_000, 60_000)).kind).toBe('delta');
    expect(counterStep(c32(1n), c64(2n), 'forward')).toEqual({ kind: 'reset', reason: 'width-changed' });
  });

  it('sysUpTime: forward, restarted, or wrapped past 2^32 ticks in step with the wall clock', () => {
    expect(classifyUptime(1000, 7000, 60_000)).toBe('forward');
    expect(classifyUptime(500_000, 300, 60_000)).toBe('restarted');
    expect(classifyUptime(2 ** 32 - 500, 5_500, 60_000)).toBe('wrapped'); // 2^32 - 500 + 6000 ticks = 5500 after the wrap
    expect(classifyUptime(2 ** 32 - 500, 900_000, 60_000)).toBe('restarted'); // not where the clock says it should be
    expect(classifyUptime(null, 5, 60_000)).toBe('unknown');
  });

  it('rates per second keep the exact delta until the last division', () => {
    expect(ratePerSecond(150n, 10_000)).toBe(15);
    expect(ratePerSecond(1n, 3)).toBeCloseTo(333.3333333, 6);
    expect(ratePerSecond(TWO_64 - 1n, 1000)).toBe(Number(TWO_64 - 1n));
    expect(() => ratePerSecond(1n, 0)).toThrow(/positive/);
  });
});

describe('SnmpPoller rates against an agent whose counters the test sets', () => {
  let agent: ScriptedAgent | undefined;
  let poller: SnmpPoller | undefined;
  afterEach(async () => {
    await poller?.stop();
    await agent?.close();
  });

  /** A poller on the scripted agent with a test-driven monotonic clock: rates are then exact. */
  function pollerFor(target: PollTarget, records: AgentRecord[], now: { ms: number }): SnmpPoller {
    return new SnmpPoller({ targets: [target], intervalMs: 10_000, timing: { timeoutMs: 1000, retries: 0 }, onRecord: (r) => records.push(r), monotonic: () => now.ms, clock: () => 1_700_000_000_000 + now.ms });
  }
  const interfacePoints = (records: AgentRecord[]) => records.filter((r): r is { kind: 'metric'; record: MetricPoint } => r.kind === 'metric' && r.record.measurement === 'interface').map((r) => r.record);
  const events = (records: AgentRecord[]) => records.filter((r): r is { kind: 'event'; record: EventRecord } => r.kind === 'event').map((r) => r.record);

  it('a Counter64 wrapping past 2^64 gives the small true rate; sysUpTime going backwards gives a counter-reset event and no rate', async () => {
    agent = await startScriptedAgent([{ hcInOctets: TWO_64 - 1000n, hcOutOctets: 5_000n, highSpeedMbps: 1000 }]);
    const records: AgentRecord[] = [];
    const now = { ms: 0 };
    poller = pollerFor({ name: 'edge-router', address: '127.0.0.1', port: agent.port, credentials: { version: '2c', community: agent.community }, kind: 'router' }, records, now);

    agent.setUptime(1_000);
    await poller.pollOnce();
    expect(interfacePoints(records)[0]!.fields.inOctetsPerSec).toBeUndefined(); // nothing to compare with yet

    records.length = 0;
    agent.setUptime(2_000);
    agent.setInterface(1, { hcInOctets: 500n, hcOutOctets: 6_000n }); // in wrapped: 1000 + 500 = 1500 octets
    now.ms = 10_000;
    await poller.pollOnce();
    const [wrapped] = interfacePoints(records);
    expect(wrapped!.tags).toEqual({ node: 'edge-router', ifIndex: '1', ifName: 'ge-0/0/0' });
    expect(wrapped!.fields).toMatchObject({ inOctetsPerSec: 150, outOctetsPerSec: 100, inBitsPerSec: 1200, outBitsPerSec: 800, highSpeedMbps: 1000, operStatus: 1, adminStatus: 1 });
    expect(wrapped!.fields.inUtilisationPct).toBeCloseTo((1200 / 1e9) * 100, 12);
    expect(poller.stats().counterWraps).toBe(1);

    records.length = 0;
    agent.setUptime(50); // the agent restarted; its counters did not
    agent.setInterface(1, { hcInOctets: 100n, hcOutOctets: 7_000n });
    now.ms = 20_000;
    await poller.pollOnce();
    const [afterRestart] = interfacePoints(records);
    expect(afterRestart!.fields.inOctetsPerSec).toBeUndefined();
    expect(afterRestart!.fields.outOctetsPerSec).toBeUndefined(); // even the one that went up
    const [reset] = events(records);
    expect(reset).toMatchObject({ kind: 'counter-reset', name: 'counter-reset', node: 'edge-router', detail: { previousSysUpTime: '2000', sysUpTime: '50' } });

    records.length = 0;
    agent.setUptime(1_050);
    agent.setInterface(1, { hcInOctets: 1_100n, hcOutOctets: 7_500n });
    now.ms = 30_000;
    await poller.pollOnce();
    expect(interfacePoints(records)[0]!.fields).toMatchObject({ inOctetsPerSec: 100, outOctetsPerSec: 50 }); // rates resume
    expect(events(records)).toEqual([]);
  });

  it('a counter cleared on the device while the agent ran: a counter-reset event naming it, no spike', async () => {
    agent = await startScriptedAgent([{ hcInOctets: 50_000_000n, hcOutOctets: 1_000n }]);
    const records: AgentRecord[] = [];
    const now = { ms: 0 };
    poller = pollerFor({ name: 'core-switch', address: '127.0.0.1', port: agent.port, credentials: { version: '2c', community: agent.community }, kind: 'switch' }, records, now);
    agent.setUptime(1_000);
    await poller.pollOnce();
    records.length = 0;
    agent.setUptime(2_000);
    agent.setInterface(1, { hcInOctets: 10n, hcOutOctets: 2_000n });
    now.ms = 10_000;
    await poller.pollOnce();
    const fields = interfacePoints(records)[0]!.fields;
    expect(fields.inOctetsPerSec).toBeUndefined();
    expect(fields.outOctetsPerSec).toBe(100);
    const [event] = events(records);
    expect(event!.kind).toBe('counter-reset');
    expect(event!.detail.counters).toBe('interfaces 1 inOctets 50000000 -> 10');
  });

  it('an agent without ifXTable (old devices): 32-bit counters, wrapped at 2^32, named by ifDescr', async () => {
    agent = await startScriptedAgent([{ inOctets: 2 ** 32 - 100, outOctets: 10, name: 'Serial0/1' }], { ifXTable: false });
    const records: AgentRecord[] = [];
    const now = { ms: 0 };
    poller = pollerFor({ name: 'old-gateway', address: '127.0.0.1', port: agent.port, credentials: { version: '1', community: agent.community }, kind: 'gateway' }, records, now);
    agent.setUptime(1_000);
    await poller.pollOnce();
    records.length = 0;
    agent.setUptime(2_000);
    agent.setInterface(1, { inOctets: 400, outOctets: 1_010 });
    now.ms = 10_000;
    await poller.pollOnce();
    const [point] = interfacePoints(records);
    expect(point!.tags).toEqual({ node: 'old-gateway', ifIndex: '1', ifName: 'Serial0/1' });
    expect(point!.fields).toMatchObject({ inOctetsPerSec: 50, outOctetsPerSec: 100, inBitsPerSec: 400 });
    expect(point!.fields.inUtilisationPct).toBeUndefined(); // no speed known
    expect(poller.stats()).toMatchObject({ counterWraps: 1, pollsOk: 2, pollsFailed: 0 });
  });

  it('a server\'s CPU load is the mean hrProcessorLoad over its processors', async () => {
    agent = await startScriptedAgent([{}], { processorLoads: [20, 60, 70] });
    const records: AgentRecord[] = [];
    poller = pollerFor({ name: 'app-2', address: '127.0.0.1', port: agent.port, credentials: { version: '2c', community: agent.community }, kind: 'server' }, records, { ms: 0 });
    await poller.pollOnce();
    const host = records.filter((r) => r.kind === 'metric' && r.record.measurement === 'host').map((r) => r.record as MetricPoint);
    expect(host).toEqual([expect.objectContaining({ tags: { node: 'app-2' }, fields: { cpuLoadPct: 50 } })]);
  });

  it('a consumer that throws loses that device\'s turn, not the poller', async () => {
    agent = await startScriptedAgent([{}]);
    let calls = 0;
    const warnings: string[] = [];
    poller = new SnmpPoller({
      targets: [{ name: 'sw-9', address: '127.0.0.1', port: agent.port, credentials: { version: '2c', community: agent.community }, kind: 'switch' }],
      intervalMs: 10_000,
      logger: { warn: (_o, message) => warnings.push(message), info: () => undefined },
      onRecord: () => {
        calls++;
        if (calls === 1) throw new Error('outbox full');
      },
    });
    await poller.pollOnce();
    await poller.pollOnce();
    expect(poller.stats()).toMatchObject({ cycles: 2, pollsOk: 1, pollsFailed: 1 });
    expect(warnings[0]).toMatch(/^SNMP poll of sw-9 stopped: Error: outbox full/);
    expect(calls).toBeGreaterThan(2); // the second cycle delivered its records
  });
});
