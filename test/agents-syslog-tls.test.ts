// Syslog over TLS (RFC 5425): certificates made by the real openssl
// (`openssl req -x509`: a CA, a server certificate and a client certificate
// it issued, and a rogue CA's client certificate), the real `openssl
// s_client` as a sender that verifies our server certificate, and node's
// TLS client for the client-certificate policies none / optional / required.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogRecord } from '../monitor/index.js';
import { TlsSyslogReceiver, type Receipt, type TlsReceiverOptions } from '../agents/syslog/index.js';

const HOST = '127.0.0.1';
let dir = '';
const pem = (name: string) => readFileSync(path.join(dir, name));

function opensslOk(...args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`);
}

/** `openssl req -x509` makes a self-signed CA, or with -CA a certificate that CA signs. */
function certificate(name: string, subject: string, options: { signer?: string; extensions?: string[] } = {}): void {
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '2'];
  if (options.signer) args.push('-CA', `${options.signer}.pem`, '-CAkey', `${options.signer}.key`);
  for (const extension of options.extensions ?? []) args.push('-addext', extension);
  opensslOk(...args);
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-syslog-tls-'));
  certificate('ca', '/O=City E-Gov/CN=Syslog Test CA');
  certificate('rogue-ca', '/CN=Rogue CA');
  certificate('server', '/CN=syslog.agent.test', { signer: 'ca', extensions: ['subjectAltName=IP:127.0.0.1,DNS:localhost', 'extendedKeyUsage=serverAuth', 'basicConstraints=critical,CA:FALSE'] });
  certificate('client', '/O=City E-Gov/CN=router-17.county', { signer: 'ca', extensions: ['extendedKeyUsage=clientAuth', 'basicConstraints=critical,CA:FALSE'] });
  certificate('rogue-client', '/CN=router-17.county', { signer: 'rogue-ca', extensions: ['extendedKeyUsage=clientAuth', 'basicConstraints=critical,CA:FALSE'] });
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const openReceivers: TlsSyslogReceiver[] = [];
afterEach(async () => {
  for (const receiver of openReceivers.splice(0)) await receiver.close();
});

async function tlsReceiver(options: Partial<TlsReceiverOptions> = {}) {
  const records: LogRecord[] = [];
  const receipts: Receipt[] = [];
  const receiver = new TlsSyslogReceiver({
    host: HOST,
    port: 0,
    key: pem('server.key'),
    cert: pem('server.pem'),
    ca: pem('ca.pem'),
    nodeForAddress: (address) => (address === HOST ? 'county-router-17' : null),
    sink: (record, receipt) => (records.push(record), receipts.push(receipt)),
    ...options,
  });
  await receiver.listen();
  openReceivers.push(receiver);
  return { receiver, records, receipts };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const octetCounted = (message: string) => `${Buffer.byteLength(message)} ${message}`;

/** Node's TLS client, verifying our server certificate against the CA; optionally presenting a client certificate. */
async function sendTls(port: number, payload: string, client?: 'client' | 'rogue-client'): Promise<void> {
  const socket = tls.connect({ host: HOST, port, ca: pem('ca.pem'), ...(client ? { key: pem(`${client}.key`), cert: pem(`${client}.pem`) } : {}) });
  socket.on('error', () => undefined); // a refused client sees its connection reset: the server's counters tell
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('close', () => reject(new Error('closed before the handshake completed')));
  });
  expect(socket.authorized).toBe(true); // we verified the server
  socket.end(payload);
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
}

describe('syslog over TLS', () => {
  it('openssl s_client, verifying our server certificate, sends octet-counted messages', async () => {
    const { receiver, records } = await tlsReceiver();
    const messages = ['<165>1 2026-11-23T12:00:00.000Z router-17 ifmgr 88 LINK [ifmgr@32473 ifIndex="3"] Gi0/1 down', '<166>1 2026-11-23T12:00:01.000Z router-17 ifmgr 88 LINK - Gi0/1 up'];
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = execFile('openssl', ['s_client', '-connect', `${HOST}:${receiver.port}`, '-CAfile', path.join(dir, 'ca.pem'), '-verify_return_error', '-verify_ip', HOST, '-quiet', '-no_ign_eof'], (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) ?? 1 : 0, output: stdout + stderr }),
      );
      child.stdin!.end(messages.map(octetCounted).join(''));
    });
    await waitFor(() => records.length === 2, 'two records');
    expect(result.output).toMatch(/verify return:1/);
    expect(records.map((r) => [r.transport, r.severity, r.message, r.node])).toEqual([
      ['tls', 'notice', 'Gi0/1 down', 'county-router-17'],
      ['tls', 'info', 'Gi0/1 up', 'county-router-17'],
    ]);
    expect(records[0]!.structuredData).toEqual({ 'ifmgr@32473': { ifIndex: '3' } });
  });

  it('clientCertificate required: a verified client gets in (its subject in the receipt); no certificate or a rogue one is refused and counted', async () => {
    const { receiver, records, receipts } = await tlsReceiver({ clientCertificate: 'required' });
    await sendTls(receiver.port, octetCounted('<13>1 - router-17 a - - - with a good certificate'), 'client');
    await waitFor(() => records.length === 1, 'one record');
    expect(receipts[0]!.peerSubject).toBe('O=City E-Gov,CN=router-17.county');

    await sendTls(receiver.port, octetCounted('<13>1 - x a - - - without a certificate'));
    await sendTls(receiver.port, octetCounted('<13>1 - x a - - - with a rogue certificate'), 'rogue-client');
    await waitFor(() => receiver.counters.connections.open === 0, 'the refused connections to close');
    expect(receiver.counters.connections.closed).toEqual({ 'peer-closed': 1, 'client-certificate-rejected': 2 });
    expect(records.map((r) => r.message)).toEqual(['with a good certificate']);
  });

  it('clientCertificate optional: none is fine, a rogue one is refused', async () => {
    const { receiver, records } = await tlsReceiver({ clientCertificate: 'optional' });
    await sendTls(receiver.port, octetCounted('<13>1 - h a - - - anonymous'));
    await sendTls(receiver.port, octetCounted('<13>1 - h a - - - verified'), 'client');
    await sendTls(receiver.port, octetCounted('<13>1 - h a - - - rogue'), 'rogue-client');
    await waitFor(() => receiver.counters.connections.open === 0 && records.length === 2, 'all connections to close');
    expect(records.map((r) => r.message).sort()).toEqual(['anonymous', 'verified']);
    expect(receiver.counters.connections.closed).toEqual({ 'peer-closed': 2, 'client-certificate-rejected': 1 });
  });

  it('plain TCP to the TLS port fails the handshake, counted; the receiver still serves TLS', async () => {
    const { receiver, records } = await tlsReceiver();
    const net = await import('node:net');
    const plain = net.connect(receiver.port, HOST);
    plain.on('error', () => undefined);
    plain.write('<13>1 - h a - - - not TLS\n');
    await new Promise((resolve) => plain.once('close', resolve));
    await waitFor(() => receiver.counters.connections.open === 0, 'the server side to close');
    expect(receiver.counters.connections.closed).toEqual({ 'tls-handshake-failed': 1 });
    await sendTls(receiver.port, '<13>1 - h a - - - LF framing works inside TLS too\n');
    await waitFor(() => records.length === 1, 'one record');
    expect(records[0]!.message).toBe('LF framing works inside TLS too');
  });

  it('a client that never completes the handshake is closed after the handshake timeout', async () => {
    const { receiver } = await tlsReceiver({ handshakeTimeoutMs: 200 });
    const net = await import('node:net');
    const idle = net.connect(receiver.port, HOST);
    idle.on('error', () => undefined);
    await new Promise((resolve) => idle.once('close', resolve));
    await waitFor(() => receiver.counters.connections.open === 0, 'the server side to close');
    expect(receiver.counters.connections.closed).toEqual({ 'tls-handshake-timeout': 1 });
  });

  it('asking for client certificates without a CA to check them against is a configuration error', () => {
    expect(() => new TlsSyslogReceiver({ port: 0, key: pem('server.key'), cert: pem('server.pem'), clientCertificate: 'required', sink: () => undefined })).toThrow(/needs the CA certificate/);
  });
});
