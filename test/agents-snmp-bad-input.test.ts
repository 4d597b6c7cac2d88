// The client against agents that misbehave, played by a plain UDP socket
// on loopback: one that never answers, and one that answers every request
// with a chosen malformed response (its request-id copied so net-snmp
// takes it as the answer). Each gives a clear error; nothing crashes.

import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { EgovError } from '../core/index.js';
import { mergeOidSets, DEFAULT_OID_SETS, parseEndpoint, SnmpSession, type Credentials } from '../agents/snmp/index.js';

const V2C: Credentials = { version: '2c', community: 'public' };
const sockets: dgram.Socket[] = [];
const sessions: SnmpSession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.close();
  for (const s of sockets.splice(0)) s.close();
});

interface FakeAgent {
  port: number;
  requests: Buffer[];
  /** Where each request came from (the session's socket). */
  senders: dgram.RemoteInfo[];
}

/** A UDP "agent": answers each request with `reply(requestId)`, or never when reply is null. */
async function fakeAgent(reply: ((requestId: Buffer, request: Buffer) => Buffer) | null): Promise<FakeAgent> {
  const socket = dgram.createSocket('udp4');
  sockets.push(socket);
  const agent: FakeAgent = { port: 0, requests: [], senders: [] };
  socket.on('message', (message, rinfo) => {
    agent.requests.push(message);
    agent.senders.push(rinfo);
    if (reply) socket.send(reply(requestIdOf(message), message), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  agent.port = socket.address().port;
  return agent;
}

function open(port: number, timing = { timeoutMs: 300, retries: 1 }): SnmpSession {
  const session = SnmpSession.open(parseEndpoint(`127.0.0.1:${port}`), V2C, { timing });
  sessions.push(session);
  return session;
}

async function failure(promise: Promise<unknown>): Promise<EgovError> {
  const error = await promise.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EgovError);
  return error as EgovError;
}

describe('agents that misbehave', () => {
  it('never answers: a timeout error naming the target, after exactly 1 + retries tries', async () => {
    const agent = await fakeAgent(null);
    const started = performance.now();
    const error = await failure(open(agent.port, { timeoutMs: 200, retries: 2 }).get(['1.3.6.1.2.1.1.5.0']));
    expect(error.code).toBe('unavailable');
    expect(error.exitCode).toBe(7);
    expect(error.message).toBe(`no answer from 127.0.0.1:${agent.port} after 3 tries (timeout 200 ms) (a wrong community gets no answer either)`);
    expect(agent.requests.length).toBe(3);
    expect(performance.now() - started).toBeGreaterThanOrEqual(590);
  });

  const malformed: Array<[string, (id: Buffer) => Buffer, RegExp]> = [
    ['garbage bytes', () => Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'), /not an SNMP message: starts with 0x48/],
    ['a truncated response', (id) => response(id, [varbind('1.3.6.1.2.1.1.5.0', tlv(0x04, Buffer.from('router-1')))]).subarray(0, 20), /truncated: the message declares \d+ bytes, the datagram has 20/],
    ['trailing bytes after the message', (id) => Buffer.concat([response(id, [varbind('1.3.6.1.2.1.1.5.0', tlv(0x04, Buffer.from('x')))]), Buffer.from([0, 0])]), /2 bytes after the end of the message/],
    ['a 10-byte Counter64', (id) => response(id, [varbind('1.3.6.1.2.1.1.5.0', tlv(0x46, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])))]), /Counter64 of 10 octets \(0102030405060708090a\) does not fit in 64 bits/],
    ['a 5-byte IpAddress', (id) => response(id, [varbind('1.3.6.1.2.1.1.5.0', tlv(0x40, Buffer.from([10, 0, 0, 1, 9])))]), /IP address .* is not 4/],
    ['a value of an unknown ASN.1 type', (id) => response(id, [varbind('1.3.6.1.2.1.1.5.0', tlv(0x49, Buffer.from([1])))]), /Unknown type '73'/],
    ['a response with fewer varbinds than asked', (id) => response(id, []), /Requested OIDs do not match response OIDs/],
    ['a response for another OID', (id) => response(id, [varbind('1.3.6.1.2.1.1.6.0', tlv(0x04, Buffer.from('x')))]), /does not match OID/],
  ];
  for (const [label, reply, reason] of malformed) {
    it(`answers with ${label}: a malformed-response error naming the target, at once`, async () => {
      const agent = await fakeAgent(reply);
      const started = performance.now();
      const error = await failure(open(agent.port, { timeoutMs: 2000, retries: 0 }).get(['1.3.6.1.2.1.1.5.0']));
      expect(error.code).toBe('unavailable');
      expect(error.message).toMatch(new RegExp(`^malformed response from 127\\.0\\.0\\.1:${agent.port}: `));
      expect(error.message).toMatch(reason);
      expect(performance.now() - started).toBeLessThan(1500); // failed on the bad answer, not by waiting out the timeout
    });
  }

  it('a GETBULK answer that is malformed fails a walk the same way', async () => {
    const agent = await fakeAgent((id) => response(id, [varbind('1.3.6.1.2.1.2.2.1.1.1', tlv(0x46, Buffer.alloc(0)))]));
    const error = await failure(open(agent.port).walkAll('1.3.6.1.2.1.2'));
    expect(error.message).toMatch(/Counter64 with no content octets/);
  });

  it('a walk whose agent returns the same OID again stops with "OID not increasing" instead of looping', async () => {
    const agent = await fakeAgent((id) => response(id, [varbind('1.3.6.1.2.1.2.1.0', tlv(0x02, Buffer.from([4]))), varbind('1.3.6.1.2.1.2.1.0', tlv(0x02, Buffer.from([4])))]));
    const seen: string[] = [];
    const error = await failure(open(agent.port).walk('1.3.6.1.2.1.2', (v) => seen.push(v.oid)));
    expect(error.message).toBe(`agent 127.0.0.1:${agent.port} returned OID .1.3.6.1.2.1.2.1.0 after .1.3.6.1.2.1.2.1.0 during a walk (OID not increasing)`);
    expect(seen).toEqual(['1.3.6.1.2.1.2.1.0']);
  });

  it('a well-formed answer from another port than the agent\'s is dropped unread and counted (no spoofed answers)', async () => {
    const agent = await fakeAgent(null);
    const session = open(agent.port, { timeoutMs: 400, retries: 0 });
    const pending = session.get(['1.3.6.1.2.1.1.5.0']);
    while (agent.senders.length === 0) await new Promise((r) => setTimeout(r, 5));
    const intruder = dgram.createSocket('udp4');
    sockets.push(intruder);
    const forged = response(requestIdOf(agent.requests[0]!), [varbind('1.3.6.1.2.1.1.5.0', tlv(0x04, Buffer.from('forged')))]);
    await new Promise<void>((resolve) => intruder.send(forged, agent.senders[0]!.port, '127.0.0.1', () => resolve()));
    const error = await failure(pending);
    expect(error.message).toMatch(/^no answer from/);
    expect(session.counters).toMatchObject({ strayDatagrams: 1, timeouts: 1, malformedDatagrams: 0 });
  });
});

describe('OID sets from a config object', () => {
  it('adds groups to kinds, and refuses mistakes naming the group and key', () => {
    const merged = mergeOidSets(DEFAULT_OID_SETS, {
      groups: { ifAlias: { kind: 'table', measurement: 'interface', indexTag: 'ifIndex', columns: { alias: { role: 'tag', tag: 'ifAlias', oids: ['1.3.6.1.2.1.31.1.1.1.18'] } } } },
      kinds: { router: ['ifAlias'] },
    });
    expect(merged.kinds.router).toEqual(['system', 'interfaces', 'ifAlias']);
    expect(merged.kinds.switch).toEqual(['system', 'interfaces']);
    expect(DEFAULT_OID_SETS.kinds.router).toEqual(['system', 'interfaces']); // the defaults are not changed
    const bad: Array<[unknown, RegExp]> = [
      [{ groups: { interfaces: { kind: 'scalar', measurement: 'system', objects: { a: { role: 'gauge', field: 'a', oids: ['1.3.6'] } } } } }, /"interfaces" is built in/],
      [{ groups: { x: { kind: 'scalar', measurement: 'cpu', objects: {} } } }, /measurement must be one of system, interface, host, storage/],
      [{ groups: { x: { kind: 'scalar', measurement: 'host', objects: { a: { role: 'gauge', field: 'a', oids: ['1.3.x'] } } } } }, /objects\.a: "1\.3\.x" is not an OID/],
      [{ groups: { x: { kind: 'scalar', measurement: 'host', objects: { a: { role: 'average', field: 'a', oids: ['1.3.6'] } } } } }, /objects\.a: role must be rate, gauge, tag or info/],
      [{ groups: { x: { kind: 'table', measurement: 'host', columns: { a: { role: 'gauge', field: 'a', oids: ['1.3.6'] } } } } }, /indexTag/],
      [{ kinds: { toaster: ['system'] } }, /"toaster" is not a device kind/],
      [{ kinds: { router: ['nope'] } }, /kinds\.router: no group "nope"/],
      [{ extra: 1 }, /unknown key "extra"/],
    ];
    for (const [config, message] of bad) {
      const error = (() => {
        try {
          mergeOidSets(DEFAULT_OID_SETS, config);
          return null;
        } catch (e) {
          return e as EgovError;
        }
      })();
      expect(error?.code).toBe('bad-config');
      expect(error?.message).toMatch(message);
    }
  });
});

// ------------------------------------------------------------ hand-made BER

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
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
const varbind = (dotted: string, value: Buffer) => seq(oid(dotted), value);

/** A v2c GetResponse carrying `varbinds`, answering the request with this request-id TLV. */
function response(requestId: Buffer, varbinds: Buffer[]): Buffer {
  const pdu = tlv(0xa2, Buffer.concat([requestId, tlv(0x02, Buffer.from([0])), tlv(0x02, Buffer.from([0])), seq(...varbinds)]));
  return seq(tlv(0x02, Buffer.from([1])), tlv(0x04, Buffer.from('public')), pdu);
}

/** The request-id TLV of a v1/v2c request: SEQUENCE { version, community, PDU { request-id … } }. */
function requestIdOf(message: Buffer): Buffer {
  let at = 0;
  const header = () => {
    const tag = message[at]!;
    let length = message[at + 1]!;
    let size = 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      length = 0;
      for (let i = 0; i < octets; i++) length = length * 256 + message[at + 2 + i]!;
      size += octets;
    }
    return { tag, length, size };
  };
  at += header().size; // message SEQUENCE
  for (let i = 0; i < 2; i++) {
    const h = header();
    at += h.size + h.length; // version, community
  }
  at += header().size; // PDU
  const id = header();
  return message.subarray(at, at + id.size + id.length);
}
