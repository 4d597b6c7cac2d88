// Property tests of what the agents read from devices: syslog messages
// (RFC 3164 and 5424, parseSyslog, which must never throw), the stream
// framings (octet counting and LF, SyslogStreamFramer, fed in random chunks),
// a real TCP receiver fed random streams, and the SNMP trap receiver (the
// net-snmp decoder behind its guarded socket) fed random and mutated
// datagrams captured from the real snmptrap. Inputs: random bytes and
// mutations of valid samples (test/support/fuzz.ts), fixed seed.

import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSyslog, REJECT_REASONS, SyslogStreamFramer, TcpSyslogReceiver } from '../agents/syslog/index.js';
import { TrapReceiver } from '../agents/snmp/index.js';
import type { EventRecord, LogRecord } from '../monitor/index.js';
import { FUZZ_SEED, fuzzParser, fuzzRuns, randomBytes, reportTally, untrustedBytes } from './support/fuzz.js';
import { runTool, toolEnvironment } from './support/snmpd.js';

const SYSLOG_SAMPLES = [
  `<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' failed for lonvick on /dev/pts/8`,
  `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event`,
  `<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [a@1 x="es\\"c\\]ape"] %% It's time`,
  '<34>Oct 11 22:14:15 mymachine su: \'su root\' failed for lonvick on /dev/pts/8',
  '<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!',
  '<189>123: *Mar  1 00:00:01.123: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up',
  '<187>Nov 23 2026 20:00:00 HUAWEI %%01IFNET/4/IF_STATE(l)[0]:Interface GE0/0/1 has turned into DOWN state.',
  '<30>sshd[1234]: 接口 GE1/0/1 光纤中断',
  '<0>1 - - - - - -',
].map((s) => Buffer.from(s, 'utf8'));

describe('parseSyslog: never throws, always a typed outcome, in bounded time', () => {
  it('random bytes and mutated messages', async () => {
    const inputs = fc.tuple(untrustedBytes(SYSLOG_SAMPLES, 512), fc.constantFrom(64, 100, 1024, 64 * 1024), fc.integer({ min: -720, max: 840 }));
    const tally = await fuzzParser('syslog message', inputs, ([bytes, maxMessageBytes, offset]) => parseSyslog(bytes, { maxMessageBytes, receivedAt: Date.UTC(2026, 11, 7), rfc3164OffsetMinutes: offset }), {
      runs: fuzzRuns(4000),
      check: (outcome, [bytes, maxMessageBytes]) => {
        if (!outcome.ok) {
          expect(REJECT_REASONS).toContain(outcome.reason);
          return;
        }
        const { fields } = outcome;
        expect(fields.facility).toBeGreaterThanOrEqual(0);
        expect(fields.facility).toBeLessThanOrEqual(23);
        expect(typeof fields.message).toBe('string');
        expect(fields.time === null || Number.isFinite(fields.time)).toBe(true);
        expect(Buffer.byteLength(fields.message)).toBeLessThanOrEqual(Math.max(bytes.length, maxMessageBytes) * 3);
        if (bytes.length > maxMessageBytes + 2) expect(outcome.truncated).toBe(true);
      },
    });
    expect(tally.accepted).toBeGreaterThan(0);
    expect(tally.refused).toBe(0); // rejections are outcomes, not throws
  });

  it('structured text: any header fields, any structured data', async () => {
    const token = fc.oneof(fc.constant('-'), fc.string({ minLength: 1, maxLength: 40 }), fc.stringMatching(/^[!-~]{1,48}$/));
    const sd = fc.oneof(fc.constant('-'), fc.array(fc.tuple(fc.stringMatching(/^[!-~]{0,40}$/), fc.array(fc.tuple(fc.stringMatching(/^[^= \]"]{0,20}$/), fc.string({ maxLength: 30 })), { maxLength: 4 })), { maxLength: 3 }).map((elements) => elements.map(([id, params]) => `[${id}${params.map(([k, v]) => ` ${k}="${v}"`).join('')}]`).join('')));
    const message5424 = fc.tuple(fc.integer({ min: -5, max: 1000 }), fc.oneof(fc.constant('1'), fc.string({ maxLength: 3 })), fc.oneof(fc.constant('-'), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 35 })), token, token, token, token, sd, fc.string({ maxLength: 200 }))
      .map(([pri, version, time, host, app, proc, msgId, data, text]) => Buffer.from(`<${pri}>${version} ${time} ${host} ${app} ${proc} ${msgId} ${data} ${text}`, 'utf8'));
    const message3164 = fc.tuple(fc.integer({ min: 0, max: 191 }), fc.string({ maxLength: 20 }), fc.string({ maxLength: 100 })).map(([pri, head, text]) => Buffer.from(`<${pri}>${head} ${text}`));
    await fuzzParser('syslog message (structured)', fc.oneof(message5424, message3164), (bytes) => parseSyslog(bytes, { receivedAt: Date.UTC(2026, 11, 7) }), {
      runs: fuzzRuns(2000),
      check: (outcome) => expect(typeof outcome.ok).toBe('boolean'),
    });
  });
});

/** A byte stream cut into chunks at the given points. */
function chunksOf(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) chunks.push(stream.subarray(at, p));
    at = Math.max(at, p);
  }
  if (at < stream.length) chunks.push(stream.subarray(at));
  return chunks;
}

describe('SyslogStreamFramer: octet counting and LF framing', () => {
  it('random streams in random chunks: never throws, never holds more than the limit', async () => {
    const inputs = fc.tuple(fc.oneof(randomBytes(4096), untrustedBytes([Buffer.from('27 <13>1 - host app - - - hello\n<13>Feb  5 17:32:18 h m\n12 <1>1 - - - -')], 2048)), fc.array(fc.nat(), { maxLength: 20 }), fc.constantFrom(64, 200, 4096));
    await fuzzParser('syslog framing', inputs, ([stream, cuts, maxMessageBytes]) => {
      const frames: Array<{ bytes: Buffer; received: number }> = [];
      const framer = new SyslogStreamFramer({ maxMessageBytes, maxFrameBytes: 8192 }, (bytes, received) => frames.push({ bytes: Buffer.from(bytes), received }));
      let failed = false;
      for (const chunk of chunksOf(stream, cuts)) {
        if (framer.push(chunk)) {
          failed = true;
          break;
        }
        expect(framer.bufferedBytes).toBeLessThanOrEqual(maxMessageBytes + 16);
      }
      if (!failed) framer.end();
      for (const frame of frames) {
        expect(frame.bytes.length).toBeLessThanOrEqual(maxMessageBytes);
        expect(frame.received).toBeGreaterThanOrEqual(frame.bytes.length);
      }
      return frames;
    }, { runs: fuzzRuns(3000) });
  });

  it('valid messages in mixed framing, cut anywhere, come out whole and in order', async () => {
    // An LF-framed message has no LF and starts with "<" (a leading digit and a space would read as a count).
    const lfMessage = fc.string({ maxLength: 120 }).map((s) => '<13>' + s.replace(/[\n]/g, ' '));
    const countedMessage = fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b));
    const messages = fc.array(fc.oneof(lfMessage.map((text) => ({ framing: 'lf' as const, bytes: Buffer.from(text, 'utf8') })), countedMessage.map((bytes) => ({ framing: 'octet-counting' as const, bytes }))), { minLength: 1, maxLength: 30 });
    await fc.assert(
      fc.property(messages, fc.array(fc.nat(), { maxLength: 40 }), (list, cuts) => {
        const stream = Buffer.concat(list.map((m) => (m.framing === 'lf' ? Buffer.concat([m.bytes, Buffer.from('\n')]) : Buffer.concat([Buffer.from(`${m.bytes.length} `), m.bytes]))));
        const frames: Array<{ bytes: Buffer; framing: string }> = [];
        const framer = new SyslogStreamFramer({ maxMessageBytes: 64 * 1024, maxFrameBytes: 1 << 20 }, (bytes, _received, framing) => frames.push({ bytes: Buffer.from(bytes), framing }));
        for (const chunk of chunksOf(stream, cuts)) expect(framer.push(chunk)).toBeNull();
        expect(framer.end()).toBe(false);
        expect(frames.map((f) => f.framing)).toEqual(list.map((m) => m.framing));
        expect(frames.map((f) => f.bytes.toString('hex'))).toEqual(list.map((m) => m.bytes.toString('hex')));
      }),
      { seed: FUZZ_SEED, numRuns: fuzzRuns(500) },
    );
  });
});

async function waitFor(condition: () => boolean, what: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a TCP syslog receiver fed random streams keeps receiving', () => {
  it('every connection is handled, and a good message afterwards is stored', async () => {
    const records: LogRecord[] = [];
    const receiver = new TcpSyslogReceiver({ host: '127.0.0.1', port: 0, sink: (record) => void records.push(record), maxFrameBytes: 64 * 1024, maxMessageBytes: 1024, frameTimeoutMs: 2000 });
    await receiver.listen();
    try {
      const framed = SYSLOG_SAMPLES.map((s) => Buffer.concat([Buffer.from(`${s.length} `), s, Buffer.from('\n'), s]));
      const stream = fc.oneof(randomBytes(8192), untrustedBytes(framed, 4096));
      const streams = fc.sample(fc.tuple(stream, fc.array(fc.nat(), { maxLength: 8 })), { seed: FUZZ_SEED, numRuns: fuzzRuns(60, 0.05) });
      let sent = 0;
      for (const [stream, cuts] of streams) {
        await new Promise<void>((resolve) => {
          const socket = net.connect(receiver.port, '127.0.0.1', async () => {
            for (const chunk of chunksOf(stream, cuts)) if (!socket.destroyed) socket.write(chunk);
            socket.end();
          });
          socket.on('error', () => resolve()); // the receiver may close a connection it cannot frame
          socket.on('close', () => resolve());
          socket.resume();
        });
        sent++;
      }
      await waitFor(() => receiver.counters.connections.open === 0 && receiver.counters.connections.accepted >= sent, () => `all ${sent} connections closed: ${JSON.stringify(receiver.counters.connections)}`);
      const before = records.length;
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(receiver.port, '127.0.0.1', () => socket.end('<13>1 2026-12-07T11:00:00Z host app - - - after the fuzz\n'));
        socket.on('close', () => resolve());
        socket.on('error', reject);
      });
      await waitFor(() => records.length > before, () => 'the message after the fuzz');
      expect(records.at(-1)!.message).toBe('after the fuzz');
      const c = receiver.counters;
      reportTally({ parser: 'syslog tcp stream', tried: sent, accepted: c.parsed, refused: Object.values(c.rejected).reduce((a, b) => a + (b ?? 0), 0), byCode: { ...c.rejected, ...Object.fromEntries(Object.entries(c.connections.closed).map(([k, v]) => [`closed:${k}`, v ?? 0])) }, slowestMs: 0, findings: [] });
      expect(receiver.counters.received).toBe(receiver.counters.parsed + Object.values(receiver.counters.rejected).reduce((a, b) => a + (b ?? 0), 0));
    } finally {
      await receiver.close();
    }
  });
});

describe('the SNMP trap receiver fed random and mutated datagrams', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const samples: Buffer[] = [];

  async function capture(command: string, args: string[]): Promise<Buffer> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const got = new Promise<Buffer>((resolve) => socket.once('message', (message) => resolve(message)));
    await runTool(command, [...args.slice(0, args.indexOf('@')), `127.0.0.1:${socket.address().port}`, ...args.slice(args.indexOf('@') + 1)], env);
    const message = await got;
    socket.close();
    return message;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'egov-fuzz-traps-'));
    env = toolEnvironment(dir);
    samples.push(await capture('snmptrap', ['-v2c', '-c', 'public', '@', '12345', '.1.3.6.1.6.3.1.1.5.3', '.1.3.6.1.2.1.2.2.1.1.3', 'i', '3', '.1.3.6.1.4.1.99999.7', 's', '光纤中断 fibre cut', '.1.3.6.1.4.1.99999.8', 'C', '18446744073709551615', '.1.3.6.1.4.1.99999.9', 'o', '.1.3.6.1.2.1', '.1.3.6.1.4.1.99999.10', 'a', '10.1.2.3', '.1.3.6.1.4.1.99999.11', 't', '12345', '.1.3.6.1.4.1.99999.12', 'x', 'DEADBEEF']));
    samples.push(await capture('snmptrap', ['-v1', '-c', 'public', '@', '.1.3.6.1.4.1.99999', '10.20.30.40', '6', '17', '500', '.1.3.6.1.4.1.99999.1', 's', 'disk full', '.1.3.6.1.4.1.99999.2', 'u', '4294967295']));
    samples.push(await capture('snmpinform', ['-v2c', '-c', 'public', '-t', '1', '-r', '0', '@', '', '.1.3.6.1.6.3.1.1.5.1', '.1.3.6.1.4.1.99999.3', 'i', '-2147483648']));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every datagram is an event or a counted rejection; the receiver keeps working', async () => {
    const events: EventRecord[] = [];
    const receiver = await TrapReceiver.start({ port: 0, address: '127.0.0.1', communities: ['public'], onEvent: (event) => events.push(event), nodeFor: () => null });
    const client = dgram.createSocket('udp4');
    try {
      const datagrams = fc.sample(untrustedBytes(samples, 600), { seed: FUZZ_SEED, numRuns: fuzzRuns(500, 0.25) });
      const accounted = () => {
        const s = receiver.stats();
        return s.traps + s.informs + Object.values(s.rejected).reduce((a, b) => a + b, 0);
      };
      let sent = 0;
      for (const datagram of datagrams) {
        if (datagram.length === 0) continue; // an empty datagram is not delivered as a message at all
        await new Promise<void>((resolve, reject) => client.send(datagram, receiver.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
        sent++;
        // Paced so loopback never drops: each datagram is accounted for before the next.
        await waitFor(() => accounted() >= sent, () => `datagram ${sent} (${datagram.toString('hex').slice(0, 120)}) accounted for: ${JSON.stringify(receiver.stats())}`);
      }
      expect(accounted()).toBe(sent);
      const stats = receiver.stats();
      expect(stats.rejected.malformed).toBeGreaterThan(0);
      expect(stats.traps).toBeGreaterThan(0);
      // Still decoding after all that: the unmutated v2c sample.
      const before = events.length;
      await new Promise<void>((resolve, reject) => client.send(samples[0]!, receiver.port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
      await waitFor(() => events.length > before, () => 'the trap after the fuzz');
      expect(events.at(-1)!.name).toBe('1.3.6.1.6.3.1.1.5.3');
      const refused = Object.values(stats.rejected).reduce((a, b) => a + b, 0);
      reportTally({ parser: 'snmp trap datagram', tried: sent, accepted: stats.traps + stats.informs, refused, byCode: stats.rejected, slowestMs: 0, findings: [] });
    } finally {
      client.close();
      await receiver.close();
    }
  });
});
