// The UDP and TCP syslog receivers against the real `logger` (util-linux)
// and raw sockets: every framing, bad input of every kind (each counted with
// its reason, the receiver still working after), a 1 MB line, the largest
// UDP datagram, an absurd octet count, slow and idle connections, too many
// connections.

import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogRecord } from '../monitor/index.js';
import {
  batchedUdpUnavailable,
  loadBatchedUdp,
  RECEIVER_SD_ID,
  TcpSyslogReceiver,
  UdpSyslogReceiver,
  type Receipt,
  type StreamReceiverOptions,
  type SyslogCounters,
  type UdpReceiverOptions,
} from '../agents/syslog/index.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
const NODES: Record<string, string> = { '127.0.0.1': 'county-core-router' };
const nodeForAddress = (address: string) => NODES[address] ?? null;

interface Collected {
  records: LogRecord[];
  receipts: Receipt[];
}

const openReceivers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const receiver of openReceivers.splice(0)) await receiver.close();
});

function collector(): Collected & { sink: (record: LogRecord, receipt: Receipt) => void } {
  const records: LogRecord[] = [];
  const receipts: Receipt[] = [];
  return { records, receipts, sink: (record, receipt) => (records.push(record), receipts.push(receipt)) };
}

async function udpReceiver(options: Partial<UdpReceiverOptions> = {}) {
  const collected = collector();
  const receiver = new UdpSyslogReceiver({ host: HOST, port: 0, sink: collected.sink, nodeForAddress, ...options });
  await receiver.listen();
  openReceivers.push(receiver);
  return { receiver, ...collected };
}

async function tcpReceiver(options: Partial<StreamReceiverOptions> = {}) {
  const collected = collector();
  const receiver = new TcpSyslogReceiver({ host: HOST, port: 0, sink: collected.sink, nodeForAddress, ...options });
  await receiver.listen();
  openReceivers.push(receiver);
  return { receiver, ...collected };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** received = parsed + every rejection: nothing is lost between the counters. */
function expectBalanced(counters: SyslogCounters): void {
  const rejected = Object.values(counters.rejected).reduce((sum, n) => sum + (n ?? 0), 0);
  expect(counters.received).toBe(counters.parsed + rejected);
}

async function sendUdp(port: number, ...datagrams: (string | Buffer)[]): Promise<void> {
  const socket = dgram.createSocket('udp4');
  try {
    for (const datagram of datagrams) await new Promise<void>((resolve, reject) => socket.send(datagram, port, HOST, (error) => (error ? reject(error) : resolve())));
  } finally {
    socket.close();
  }
}

/** Connects, writes each chunk (optionally pausing between), ends, and resolves when the server has closed too. */
async function sendTcp(port: number, chunks: (string | Buffer)[], pauseMs = 0): Promise<void> {
  const socket = net.connect(port, HOST);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined); // the server may close on us: that is what some tests check
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  for (const chunk of chunks) {
    if (socket.destroyed) break;
    await new Promise<void>((resolve) => socket.write(chunk, () => resolve()));
    if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  socket.end();
  socket.resume(); // drain whatever comes back so 'close' can fire
  await closed;
}

async function logger(port: number, ...args: string[]): Promise<void> {
  await run('logger', ['-n', HOST, '-P', String(port), ...args]);
}

describe('logger (util-linux) to our receivers', () => {
  it('UDP, RFC 3164 and RFC 5424', async () => {
    const { receiver, records } = await udpReceiver();
    await logger(receiver.port, '--udp', '--rfc3164', '-t', 'APP', '-p', 'local0.warning', 'link GigabitEthernet0/1 down');
    await logger(receiver.port, '--udp', '--rfc5424', '-t', 'APP', '-p', 'local0.warning', '--msgid', 'LINK', '--sd-id', 'ifmgr@32473', '--sd-param', 'ifIndex="3"', 'link GigabitEthernet0/1 up');
    await waitFor(() => records.length === 2, 'two records');
    const [bsd, modern] = records as [LogRecord, LogRecord];
    expect(bsd).toMatchObject({ format: 'rfc3164', transport: 'udp', facility: 16, severity: 'warning', app: 'APP', message: 'link GigabitEthernet0/1 down', node: 'county-core-router', sourceAddress: '127.0.0.1' });
    expect(bsd.host).toBeTruthy();
    expect(modern).toMatchObject({ format: 'rfc5424', transport: 'udp', facility: 16, severity: 'warning', app: 'APP', msgId: 'LINK', message: 'link GigabitEthernet0/1 up', node: 'county-core-router' });
    expect(modern.structuredData['ifmgr@32473']).toEqual({ ifIndex: '3' });
    // logger writes a microsecond timestamp: it must be close to when we received it.
    expect(Math.abs(modern.time - modern.receivedAt)).toBeLessThan(5000);
    expect(receiver.counters).toMatchObject({ received: 2, parsed: 2, rejected: {} });
  });

  it('TCP: LF framing (RFC 3164 and 5424) and octet counting, many lines in order on one connection', async () => {
    const { receiver, records, receipts } = await tcpReceiver();
    await logger(receiver.port, '--tcp', '--rfc3164', '-i', '-t', 'APP', '-p', 'local0.warning', 'bsd over tcp');
    await logger(receiver.port, '--tcp', '--rfc5424', '-t', 'APP', '-p', 'local0.err', 'lf over tcp');
    await logger(receiver.port, '--tcp', '--rfc5424', '--octet-count', '-t', 'APP', '-p', 'local0.info', 'counted over tcp');
    await waitFor(() => records.length === 3, 'three records');
    expect(records.map((r) => [r.format, r.severity, r.message, r.transport])).toEqual([
      ['rfc3164', 'warning', 'bsd over tcp', 'tcp'],
      ['rfc5424', 'error', 'lf over tcp', 'tcp'],
      ['rfc5424', 'info', 'counted over tcp', 'tcp'],
    ]);
    expect(records[0]!.procId).toMatch(/^\d+$/);
    expect(receipts.map((r) => r.framing)).toEqual(['lf', 'lf', 'octet-counting']);

    // One logger process, 300 lines from stdin, one connection, octet counted.
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} of the batch`).join('\n');
    const child = execFile('logger', ['-n', HOST, '-P', String(receiver.port), '--tcp', '--rfc5424', '--octet-count', '-t', 'BATCH']);
    child.stdin!.end(lines + '\n');
    await new Promise((resolve) => child.once('exit', resolve));
    await waitFor(() => records.length === 303, '300 more records');
    expect(records.slice(3).map((r) => r.message)).toEqual(lines.split('\n'));
    await waitFor(() => receiver.counters.connections.open === 0, 'the connections to close');
    expect(receiver.counters.connections).toMatchObject({ accepted: 4, closed: { 'peer-closed': 4 } });
    expectBalanced(receiver.counters);
  });
});

describe('raw sockets: every framing', () => {
  it('octet counting, LF, CR LF and a missing final LF, mixed on one connection and split into single bytes', async () => {
    const { receiver, records, receipts } = await tcpReceiver();
    const counted = '<13>1 2026-11-23T12:00:00Z h app - - - has a\nnewline inside';
    const stream = `${Buffer.byteLength(counted)} ${counted}<14>Nov 23 12:00:00 h app: lf\n<15>Nov 23 12:00:00 h app: crlf\r\n<12>1 - h app - - - last, no newline`;
    await sendTcp(receiver.port, [...Buffer.from(stream)].map((byte) => Buffer.from([byte])));
    await waitFor(() => records.length === 4, 'four records');
    expect(records.map((r) => r.message)).toEqual(['has a\nnewline inside', 'lf', 'crlf', 'last, no newline']);
    expect(records.map((r) => r.severity)).toEqual(['notice', 'info', 'debug', 'warning']);
    expect(receipts.map((r) => r.framing)).toEqual(['octet-counting', 'lf', 'lf', 'lf']);
    expect(receiver.counters.connections.closed).toEqual({ 'peer-closed': 1 });
  });

  it('many messages in one write, and a message split across writes', async () => {
    const { receiver, records } = await tcpReceiver();
    const messages = Array.from({ length: 1000 }, (_, i) => `<134>1 2026-11-23T12:00:00.${String(i % 1000).padStart(3, '0')}Z sw-${i % 7} snmpd - - - message ${i}`);
    const framed = messages.map((m, i) => (i % 2 ? `${Buffer.byteLength(m)} ${m}` : `${m}\n`)).join('');
    const cut = Math.floor(framed.length / 2) + 3;
    await sendTcp(receiver.port, [framed.slice(0, cut), framed.slice(cut)]);
    await waitFor(() => records.length === 1000, '1000 records');
    expect(records.map((r) => r.message)).toEqual(messages.map((_, i) => `message ${i}`));
  });
});

describe('bad input is counted with its reason and the receiver keeps working', () => {
  it('UDP: garbage, truncated packets, PRI <999>, invalid UTF-8, empty datagrams', async () => {
    const rejections: string[] = [];
    const { receiver, records } = await udpReceiver({ onReject: (rejection) => rejections.push(rejection.reason) });
    await sendUdp(
      receiver.port,
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]),
      '<13>1 2026-11-23T12:0', // cut inside the timestamp
      '<13>1 2026-11-23T12:00:00Z host', // cut inside the header
      '<1', // cut inside PRI
      '<999>1 2026-11-23T12:00:00Z h a - - - x',
      '<13>1 - h a - - [broken',
      Buffer.alloc(0),
      Buffer.concat([Buffer.from('<13>1 - h a - - - caf'), Buffer.from([0xe9]), Buffer.from(' ordered')]),
      '<13>1 - h a - - - still works',
    );
    await waitFor(() => receiver.counters.received === 9, 'nine datagrams');
    expect(receiver.counters.rejected).toEqual({ 'missing-pri': 1, 'bad-timestamp': 1, 'bad-header': 1, 'bad-pri': 2, 'bad-structured-data': 1, empty: 1 });
    expect(rejections.sort()).toEqual(['bad-header', 'bad-pri', 'bad-pri', 'bad-structured-data', 'bad-timestamp', 'empty', 'missing-pri']);
    expect(receiver.counters).toMatchObject({ parsed: 2, invalidUtf8: 1 });
    expect(records.map((r) => r.message)).toEqual(['caf\uFFFD ordered', 'still works']);
    expect(records[0]!.structuredData[RECEIVER_SD_ID]).toEqual({ invalidUtf8Sequences: '1' });
    expectBalanced(receiver.counters);
  });

  it('UDP: the largest datagram (65507 bytes) whole under the default maximum, truncated and flagged under an 8 KiB one', async () => {
    const header = '<13>1 - h a - - - ';
    const datagram = header + 'u'.repeat(65507 - header.length);
    const whole = await udpReceiver();
    await sendUdp(whole.receiver.port, datagram);
    await waitFor(() => whole.records.length === 1, 'the big datagram');
    expect(whole.records[0]!.message.length).toBe(65507 - header.length);
    expect(whole.receiver.counters.truncated).toBe(0);

    const small = await udpReceiver({ maxMessageBytes: 8192 });
    await sendUdp(small.receiver.port, datagram, '<13>1 - h a - - - next');
    await waitFor(() => small.records.length === 2, 'two records');
    expect(small.records[0]!.message.length).toBe(8192 - header.length);
    expect(small.records[0]!.structuredData[RECEIVER_SD_ID]).toEqual({ truncated: 'true', originalBytes: '65507' });
    expect(small.receipts[0]).toMatchObject({ truncated: true, originalBytes: 65507 });
    expect(small.receiver.counters).toMatchObject({ truncated: 1, parsed: 2 });
  });

  it('TCP: a 1 MB line keeps its first 64 KiB, is flagged, and the next message on the connection arrives', async () => {
    const { receiver, records, receipts } = await tcpReceiver();
    const header = '<13>Nov 23 12:00:00 h app: ';
    const line = header + 'L'.repeat(1024 * 1024 - header.length);
    await sendTcp(receiver.port, [line + '\n', '<13>Nov 23 12:00:01 h app: after the big one\n']);
    await waitFor(() => records.length === 2, 'two records');
    expect(records[0]!.message.length).toBe(64 * 1024 - header.length);
    expect(receipts[0]).toMatchObject({ truncated: true, originalBytes: 1024 * 1024, framing: 'lf' });
    expect(records[1]!.message).toBe('after the big one');
    expect(receiver.counters).toMatchObject({ truncated: 1, parsed: 2 });
  });

  it('TCP: a 1 MB octet-counted frame is truncated and the stream stays in step', async () => {
    const { receiver, records } = await tcpReceiver({ maxMessageBytes: 4096 });
    const big = '<13>1 - h a - - - ' + 'O'.repeat(1024 * 1024);
    const next = '<13>1 - h a - - - in step';
    await sendTcp(receiver.port, [`${Buffer.byteLength(big)} ${big}`, `${next.length} ${next}`]);
    await waitFor(() => records.length === 2, 'two records');
    expect(records[0]!.message.length).toBe(4096 - 18);
    expect(records[1]!.message).toBe('in step');
  });

  it('TCP: an octet count of 999999999 closes that connection with its reason; other connections carry on', async () => {
    const { receiver, records } = await tcpReceiver();
    const bystander = net.connect(receiver.port, HOST);
    await new Promise((resolve) => bystander.once('connect', resolve));
    await sendTcp(receiver.port, ['999999999 <13>1 - h a - - - pretends to be huge', 'more bytes that are never read']);
    await waitFor(() => receiver.counters.connections.open === 1, 'the server to close it');
    expect(receiver.counters.rejected).toEqual({ 'octet-count-too-large': 1 });
    expect(receiver.counters.connections.closed).toMatchObject({ 'octet-count-too-large': 1 });
    bystander.end('<13>1 - h a - - - from the bystander\n');
    await sendTcp(receiver.port, ['<13>1 - h a - - - a new connection\n']);
    await waitFor(() => records.length === 2, 'two records');
    expect(records.map((r) => r.message).sort()).toEqual(['a new connection', 'from the bystander']);
    expectBalanced(receiver.counters);
  });

  it('TCP: invalid UTF-8 and PRI <999> on a stream', async () => {
    const { receiver, records } = await tcpReceiver();
    await sendTcp(receiver.port, [Buffer.concat([Buffer.from('<13>1 - h a - - - '), Buffer.from([0xf0, 0x28, 0x8c, 0x28]), Buffer.from('\n<999>bad\n<13>1 - h a - - - ok\n')])]);
    await waitFor(() => receiver.counters.received === 3, 'three messages');
    expect(receiver.counters).toMatchObject({ parsed: 2, invalidUtf8: 1, rejected: { 'bad-pri': 1 } });
    expect(records.map((r) => r.message)).toEqual(['\uFFFD(\uFFFD(', 'ok']);
  });

  it('TCP: a sender that starts a message and never finishes it is closed (slow-frame); a silent one too (idle-timeout)', async () => {
    const { receiver } = await tcpReceiver({ frameTimeoutMs: 200, idleTimeoutMs: 1500 }); // far apart: a loaded machine delays timers
    const slow = net.connect(receiver.port, HOST);
    slow.on('error', () => undefined);
    slow.write('<13>1 - h a - - - this line never ends');
    const silent = net.connect(receiver.port, HOST);
    silent.on('error', () => undefined);
    await Promise.all([new Promise((resolve) => slow.once('close', resolve)), new Promise((resolve) => silent.once('close', resolve))]);
    await waitFor(() => receiver.counters.connections.open === 0, 'the server side to close');
    expect(receiver.counters.connections.closed).toEqual({ 'slow-frame': 1, 'idle-timeout': 1 });
    expect(receiver.counters.rejected).toEqual({ 'incomplete-frame': 1 });
    expect(receiver.counters.connections.open).toBe(0);
  });

  it('TCP: a busy sender whose writes always end mid-message is not taken for a slow one', async () => {
    const { receiver, records } = await tcpReceiver({ frameTimeoutMs: 300 });
    const messages = Array.from({ length: 40 }, (_, i) => `<13>1 - h a - - - busy ${i}\n`).join('');
    // 24 writes, 50 ms apart (1.2 s in all, four times the frame timeout), each cut in the middle of a message.
    const step = Math.ceil(messages.length / 24);
    const chunks = Array.from({ length: 24 }, (_, i) => messages.slice(i * step, (i + 1) * step));
    expect(chunks.slice(0, -1).every((chunk) => !chunk.endsWith('\n'))).toBe(true);
    await sendTcp(receiver.port, chunks, 50);
    await waitFor(() => records.length === 40, '40 records');
    expect(receiver.counters.connections.closed).toEqual({ 'peer-closed': 1 });
  });

  it('TCP: connections beyond the per-address and total limits are closed and counted', async () => {
    const { receiver, records } = await tcpReceiver({ maxConnectionsPerAddress: 2, maxConnections: 3 });
    const held = [net.connect(receiver.port, HOST), net.connect(receiver.port, HOST)];
    await Promise.all(held.map((socket) => new Promise((resolve) => socket.once('connect', resolve))));
    await waitFor(() => receiver.counters.connections.open === 2, 'two open connections');
    await sendTcp(receiver.port, ['<13>1 - h a - - - refused\n']);
    await waitFor(() => receiver.counters.connections.open === 2, 'the refused one to close');
    expect(receiver.counters.connections.closed).toEqual({ 'too-many-from-address': 1 });
    // From another loopback address: the total limit (3) lets one more in, then refuses.
    const other = await new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ port: receiver.port, host: HOST, localAddress: '127.0.0.2' }, () => resolve(socket)).once('error', reject);
    });
    await waitFor(() => receiver.counters.connections.open === 3, 'three open connections');
    const overTotal = net.connect({ port: receiver.port, host: HOST, localAddress: '127.0.0.3' });
    overTotal.on('error', () => undefined);
    await new Promise((resolve) => overTotal.once('close', resolve));
    await waitFor(() => receiver.counters.connections.open === 3, 'the refused one to close');
    expect(receiver.counters.connections.closed).toMatchObject({ 'too-many-connections': 1 });
    for (const socket of [...held, other]) socket.end();
    await waitFor(() => receiver.counters.connections.open === 0, 'all closed');
    await sendTcp(receiver.port, ['<13>1 - h a - - - accepted again\n']);
    await waitFor(() => records.length === 1, 'one record');
    expect(records[0]!.message).toBe('accepted again');
  });

  it('a sink that throws is counted and does not stop the receiver', async () => {
    let calls = 0;
    const receiver = new UdpSyslogReceiver({
      host: HOST,
      port: 0,
      sink: () => {
        calls++;
        if (calls === 1) throw new Error('store down');
      },
    });
    await receiver.listen();
    openReceivers.push(receiver);
    await sendUdp(receiver.port, '<13>1 - h a - - - one', '<13>1 - h a - - - two');
    await waitFor(() => calls === 2, 'two sink calls');
    expect(receiver.counters).toMatchObject({ parsed: 2, sinkErrors: 1 });
  });

  it('a source address with no inventory node gives node null; closing the receiver frees the port', async () => {
    const collected = collector();
    const receiver = new UdpSyslogReceiver({ host: HOST, port: 0, sink: collected.sink, nodeForAddress: () => null });
    const { port } = await receiver.listen();
    await sendUdp(port, '<13>1 - h a - - - unmapped');
    await waitFor(() => collected.records.length === 1, 'one record');
    expect(collected.records[0]).toMatchObject({ node: null, sourceAddress: '127.0.0.1' });
    await receiver.close();
    const again = new UdpSyslogReceiver({ host: HOST, port, sink: () => undefined });
    await again.listen();
    expect(again.port).toBe(port);
    await again.close();
  });
});

describe('UDP engines: the batched native socket (Linux, the default) and node dgram (the fallback)', () => {
  it('an agent on Linux reads UDP with the batched engine (npm test builds the addon)', async () => {
    expect(batchedUdpUnavailable()).toBe('');
    expect(loadBatchedUdp()).not.toBeNull();
    const { receiver } = await udpReceiver();
    expect(receiver.engine).toBe('batched');
  });

  describe.each(['batched', 'dgram'] as const)('%s', (engine) => {
    it('IPv4 and IPv6 senders are named by address; a dual-stack socket names an IPv4 sender without ::ffff:', async () => {
      const v4 = await udpReceiver({ engine });
      expect(v4.receiver.engine).toBe(engine);
      await sendUdp(v4.receiver.port, '<13>1 - h a - - - over IPv4');
      await waitFor(() => v4.records.length === 1, 'the IPv4 record');
      expect(v4.records[0]).toMatchObject({ sourceAddress: '127.0.0.1', node: 'county-core-router', message: 'over IPv4' });

      const dual = await udpReceiver({ engine, host: '::' });
      const v6 = dgram.createSocket('udp6');
      await new Promise<void>((resolve, reject) => v6.send('<13>1 - h a - - - over IPv6', dual.receiver.port, '::1', (error) => (error ? reject(error) : resolve())));
      v6.close();
      await sendUdp(dual.receiver.port, '<13>1 - h a - - - mapped IPv4');
      await waitFor(() => dual.records.length === 2, 'two records on the dual-stack socket');
      const byMessage = Object.fromEntries(dual.records.map((r) => [r.message, r]));
      expect(byMessage['over IPv6']).toMatchObject({ sourceAddress: '::1', node: null });
      expect(byMessage['mapped IPv4']).toMatchObject({ sourceAddress: '127.0.0.1', node: 'county-core-router' });
    });

    it('a port in use is refused with EADDRINUSE naming it; a second listen is refused; close frees the port', async () => {
      const { receiver } = await udpReceiver({ engine });
      const clash = new UdpSyslogReceiver({ host: HOST, port: receiver.port, sink: () => undefined, engine });
      await expect(clash.listen()).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(String(receiver.port)) });
      await expect(receiver.listen()).rejects.toThrow(/already listening/);
      const port = receiver.port;
      await receiver.close();
      const again = new UdpSyslogReceiver({ host: HOST, port, sink: () => undefined, engine });
      await again.listen();
      openReceivers.push(again);
      expect(again.port).toBe(port);
    });

    it('a burst of 2,000 datagrams arrives whole and in order', async () => {
      const { receiver, records } = await udpReceiver({ engine });
      const messages = Array.from({ length: 2000 }, (_, i) => `<13>1 - h a - - - burst ${i}`);
      await sendUdp(receiver.port, ...messages);
      await waitFor(() => records.length === 2000, '2000 records');
      expect(records.map((r) => r.message)).toEqual(messages.map((_, i) => `burst ${i}`));
      expect(receiver.counters.overflow).toBe(0);
    });
  });

  it('a host name (not an address) is bound through dgram, which resolves it', async () => {
    const { receiver, records } = await udpReceiver({ host: 'localhost' });
    expect(receiver.engine).toBe('dgram');
    await sendUdp(receiver.port, '<13>1 - h a - - - by name');
    await waitFor(() => records.length === 1, 'the record');
    await expect(new UdpSyslogReceiver({ host: 'localhost', port: 0, sink: () => undefined, engine: 'batched' }).listen()).rejects.toThrow(/localhost is not an IP address/);
  });

  it('batched: while JavaScript is blocked the thread keeps reading; what its bounded queue cannot hold is counted as overflow, never lost silently', async () => {
    let reported = 0;
    const { receiver } = await udpReceiver({ engine: 'batched', onOverflow: (dropped) => (reported += dropped) });
    // Another process sends (this thread is about to be blocked): 4,000 datagrams of 8 KB over about 1.6 s, 32 MB, twice what
    // the thread may hold for JavaScript (16 batches of at most 1 MiB).
    const sender = execFile(process.execPath, [
      '-e',
      `const s = require('dgram').createSocket('udp4');
       let i = 0;
       const tick = () => { for (let k = 0; k < 10 && i < 4000; k++, i++) s.send('<13>1 - h a - - - held ' + i + ' ' + 'x'.repeat(8000), ${receiver.port}, '127.0.0.1');
         if (i < 4000) setTimeout(tick, 4); else setTimeout(() => s.close(), 200); };
       process.stdout.write('sending\\n');
       tick();`,
    ]);
    const senderDone = new Promise<void>((resolve) => sender.once('exit', () => resolve()));
    await new Promise((resolve) => sender.stdout!.once('data', resolve)); // block only once it sends, however slow its start
    const blockedUntil = Date.now() + 2500;
    while (Date.now() < blockedUntil) {
      /* JavaScript busy: no batch can be handed over */
    }
    await senderDone;
    await waitFor(() => receiver.counters.received + receiver.counters.overflow === 4000, 'every datagram received or counted as overflow');
    expect(receiver.counters.overflow).toBeGreaterThan(0);
    expect(reported).toBe(receiver.counters.overflow);
    expect(receiver.counters.parsed).toBe(receiver.counters.received);
  });
});
