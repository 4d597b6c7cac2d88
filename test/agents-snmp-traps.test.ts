// The trap/inform receiver against net-snmp's own snmptrap and snmpinform:
// v1 and v2c traps and informs arrive as EventRecords; garbage, truncated
// and hostile datagrams are counted with their reason and the receiver
// keeps working.

import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventRecord } from '../monitor/index.js';
import { TrapReceiver } from '../agents/snmp/index.js';
import { runTool, toolEnvironment } from './support/snmpd.js';

const COMMUNITY = 'trap-community';
let dir: string;
let env: NodeJS.ProcessEnv;
let receiver: TrapReceiver;
let events: EventRecord[];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-traps-'));
  env = toolEnvironment(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => receiver?.close());

async function startReceiver(communities: string[] = [COMMUNITY]): Promise<TrapReceiver> {
  events = [];
  receiver = await TrapReceiver.start({
    port: 0,
    address: '127.0.0.1',
    communities,
    onEvent: (event) => events.push(event),
    nodeFor: (address) => (address === '127.0.0.1' ? 'core-router-1' : null),
  });
  return receiver;
}

async function waitFor<T>(check: () => T | undefined, what: string | (() => string), ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function send(bytes: Buffer, port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => socket.send(bytes, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  socket.close();
}

/** What snmptrap puts on the wire: captured on a plain socket, to replay cut short. */
async function captureTrap(args: string[]): Promise<Buffer> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const got = new Promise<Buffer>((resolve) => socket.once('message', (message) => resolve(message)));
  const r = await runTool('snmptrap', [...args.slice(0, 4), `127.0.0.1:${socket.address().port}`, ...args.slice(4)], env);
  expect(r.code, r.stderr).toBe(0);
  const message = await got;
  socket.close();
  return message;
}

describe('TrapReceiver with net-snmp snmptrap and snmpinform', () => {
  it('listens on an ephemeral port when asked for port 0 and reports it', async () => {
    const r = await startReceiver();
    expect(r.port).toBeGreaterThan(1023);
    expect(r.address).toBe('127.0.0.1');
  });

  it('v2c trap: an event named by snmpTrapOID with every varbind as an exact string', async () => {
    const r = await startReceiver();
    const result = await runTool(
      'snmptrap',
      ['-v2c', '-c', COMMUNITY, `127.0.0.1:${r.port}`, '12345', '.1.3.6.1.6.3.1.1.5.3', '.1.3.6.1.2.1.2.2.1.1.3', 'i', '3', '.1.3.6.1.4.1.99999.7', 's', '光纤中断 fibre cut', '.1.3.6.1.4.1.99999.8', 'C', '18446744073709551615'],
      env,
    );
    expect(result.code, result.stderr).toBe(0);
    const event = await waitFor(() => events[0], 'the v2c trap');
    expect(event).toMatchObject({ kind: 'trap', name: '1.3.6.1.6.3.1.1.5.3', node: 'core-router-1', sourceAddress: '127.0.0.1', severity: 'warning' });
    expect(event.detail).toMatchObject({
      version: 'v2c',
      '1.3.6.1.2.1.1.3.0': '12345',
      '1.3.6.1.2.1.2.2.1.1.3': '3',
      '1.3.6.1.4.1.99999.7': '光纤中断 fibre cut',
      '1.3.6.1.4.1.99999.8': '18446744073709551615',
    });
    expect(r.stats()).toMatchObject({ traps: 1, informs: 0 });
  });

  it('v1 trap: snmpTrapOID per RFC 3584 (enterprise.0.specific), agent address and enterprise in the detail', async () => {
    const r = await startReceiver();
    const result = await runTool('snmptrap', ['-v1', '-c', COMMUNITY, `127.0.0.1:${r.port}`, '.1.3.6.1.4.1.99999', '10.20.30.40', '6', '17', '500', '.1.3.6.1.4.1.99999.1', 's', 'disk full'], env);
    expect(result.code, result.stderr).toBe(0);
    const event = await waitFor(() => events[0], 'the v1 trap');
    expect(event).toMatchObject({ kind: 'trap', name: '1.3.6.1.4.1.99999.0.17', node: 'core-router-1' });
    expect(event.detail).toMatchObject({ version: 'v1', '1.3.6.1.2.1.1.3.0': '500', '1.3.6.1.6.3.18.1.3.0': '10.20.30.40', '1.3.6.1.6.3.1.1.4.3.0': '1.3.6.1.4.1.99999', '1.3.6.1.4.1.99999.1': 'disk full' });
  });

  it('v1 generic trap (linkDown) maps to the standard snmpTrapOID', async () => {
    const r = await startReceiver();
    await runTool('snmptrap', ['-v1', '-c', COMMUNITY, `127.0.0.1:${r.port}`, '.1.3.6.1.4.1.99999', '10.20.30.40', '2', '0', '', '.1.3.6.1.2.1.2.2.1.1.5', 'i', '5'], env);
    const event = await waitFor(() => events[0], 'the linkDown trap');
    expect(event.name).toBe('1.3.6.1.6.3.1.1.5.3');
    expect(event.detail['1.3.6.1.2.1.2.2.1.1.5']).toBe('5');
  });

  it('informs from snmpinform and snmptrap -Ci are acknowledged (the tools exit 0) and arrive as inform events', async () => {
    const r = await startReceiver();
    const inform = await runTool('snmpinform', ['-v2c', '-c', COMMUNITY, '-t', '1', '-r', '0', `127.0.0.1:${r.port}`, '', '.1.3.6.1.6.3.1.1.5.1'], env);
    expect(inform.code, inform.stderr).toBe(0);
    const ci = await runTool('snmptrap', ['-Ci', '-v2c', '-c', COMMUNITY, '-t', '1', '-r', '0', `127.0.0.1:${r.port}`, '', '.1.3.6.1.4.1.99999.0.2', '.1.3.6.1.4.1.99999.3', 'a', '192.0.2.1'], env);
    expect(ci.code, ci.stderr).toBe(0);
    await waitFor(() => (events.length >= 2 ? true : undefined), 'two informs');
    expect(events.map((e) => [e.kind, e.name])).toEqual([
      ['inform', '1.3.6.1.6.3.1.1.5.1'],
      ['inform', '1.3.6.1.4.1.99999.0.2'],
    ]);
    expect(events[1]!.detail['1.3.6.1.4.1.99999.3']).toBe('192.0.2.1');
    expect(r.stats()).toMatchObject({ traps: 0, informs: 2 });
  });

  it('an inform with a wrong community is not acknowledged (snmpinform times out) and is counted', async () => {
    const r = await startReceiver();
    const inform = await runTool('snmpinform', ['-v2c', '-c', 'not-ours', '-t', '0.3', '-r', '0', `127.0.0.1:${r.port}`, '', '.1.3.6.1.6.3.1.1.5.1'], env);
    expect(inform.code).not.toBe(0);
    await waitFor(() => (r.stats().rejected['unknown-community'] === 1 ? true : undefined), 'the rejection count');
    expect(events).toEqual([]);
    expect(r.recentRejections()[0]).toMatchObject({ reason: 'unknown-community', from: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
    expect(JSON.stringify(r.recentRejections())).not.toContain('not-ours');
  });
});

describe('TrapReceiver and SNMPv3', () => {
  it('a v3 trap from a user it does not know is refused as unauthorized (v3 users are not configured here)', async () => {
    const r = await startReceiver();
    const result = await runTool('snmptrap', ['-v3', '-l', 'noAuthNoPriv', '-u', 'stranger', '-e', '0x8000000001020304', `127.0.0.1:${r.port}`, '', '.1.3.6.1.6.3.1.1.5.1'], env);
    expect(result.code, result.stderr).toBe(0);
    await waitFor(() => (r.stats().rejected.unauthorized === 1 ? true : undefined), () => `an unauthorized rejection, got ${JSON.stringify(r.stats())}`);
    expect(events).toEqual([]);
  });
});

describe('TrapReceiver and bad datagrams', () => {
  it('garbage, every truncation of a real trap, and hostile encodings are counted with a reason; the receiver still works after', async () => {
    const r = await startReceiver();
    const real = await captureTrap(['-v2c', '-c', COMMUNITY, '-Ln', '', '.1.3.6.1.6.3.1.1.5.4', '.1.3.6.1.2.1.2.2.1.1.2', 'i', '2', '.1.3.6.1.4.1.99999.5', 's', 'some text to cut']);
    const bad: Buffer[] = [
      Buffer.from('this is not SNMP at all'),
      Buffer.alloc(0),
      Buffer.from([0x30]),
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), // a length far beyond the datagram
      Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff)),
      ...Array.from({ length: real.length - 1 }, (_, n) => real.subarray(0, n + 1)), // every prefix of a real trap
      informWithOversizedInteger(), // parses, but net-snmp cannot re-encode it for the acknowledgement: it throws inside the socket listener
      getRequestV2c(), // a GET to a trap port: not a notification
    ];
    for (const datagram of bad) await send(datagram, r.port);
    const expected = bad.length;
    await waitFor(() => {
      const s = r.stats().rejected;
      return s.malformed + s['unexpected-pdu'] + s['unknown-community'] + s.unauthorized >= expected ? true : undefined;
    }, () => `${expected} rejections, got ${JSON.stringify(r.stats())}`);
    const stats = r.stats();
    expect(stats.traps + stats.informs).toBe(0);
    // Every cut-short copy of the trap is refused (net-snmp alone would deliver some as traps missing their last varbinds).
    expect(stats.rejected.malformed).toBeGreaterThanOrEqual(real.length);
    expect(r.recentRejections().some((x) => /^truncated: the message declares \d+ bytes, the datagram has \d+$/.test(x.detail))).toBe(true);
    // The inform net-snmp cannot acknowledge: unguarded, this throw inside its socket listener ends the process.
    expect(r.recentRejections().some((x) => /Integer to write 549755813888 is outside the signed 32-bit range/.test(x.detail))).toBe(true);
    expect(stats.rejected['unexpected-pdu']).toBe(1);
    const reasons = r.recentRejections();
    expect(reasons.length).toBe(50); // bounded
    expect(reasons.every((x) => x.detail.length > 0 && /^127\.0\.0\.1:\d+$/.test(x.from))).toBe(true);
    // Still receiving: the untouched datagram is a good trap.
    await send(real, r.port);
    const event = await waitFor(() => events[0], 'a good trap after the garbage');
    expect(event.name).toBe('1.3.6.1.6.3.1.1.5.4');
    expect(event.detail['1.3.6.1.4.1.99999.5']).toBe('some text to cut');
  });

  it('a port already in use is a clear error, not a crash', async () => {
    const r = await startReceiver();
    const error = await TrapReceiver.start({ port: r.port, address: '127.0.0.1', onEvent: () => undefined }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(new RegExp(`cannot listen for SNMP traps on udp4 127.0.0.1:${r.port}: .*EADDRINUSE`));
  });
});

// ------------------------------------------------------------ hand-made BER

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const int = (bytes: number[]) => tlv(0x02, Buffer.from(bytes));
const str = (text: string) => tlv(0x04, Buffer.from(text));
function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** A v2c InformRequest whose one varbind is a 5-byte INTEGER (2^39): legal BER, outside Integer32. */
function informWithOversizedInteger(): Buffer {
  const varbinds = seq(seq(oid('1.3.6.1.2.1.1.3.0'), tlv(0x43, Buffer.from([1]))), seq(oid('1.3.6.1.6.3.1.1.4.1.0'), oid('1.3.6.1.4.1.99999.0.9')), seq(oid('1.3.6.1.4.1.99999.9'), int([0x00, 0x80, 0, 0, 0, 0])));
  const pdu = tlv(0xa6, Buffer.concat([int([0x12, 0x34]), int([0]), int([0]), varbinds]));
  return seq(int([1]), str(COMMUNITY), pdu);
}

function getRequestV2c(): Buffer {
  const pdu = tlv(0xa0, Buffer.concat([int([0x01]), int([0]), int([0]), seq(seq(oid('1.3.6.1.2.1.1.5.0'), tlv(0x05, Buffer.alloc(0))))]));
  return seq(int([1]), str(COMMUNITY), pdu);
}
