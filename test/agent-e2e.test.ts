// From a device to a stored record, on real parts: a real snmpd polled over
// SNMPv3 authPriv (SHA-256/AES) by a real agent that enrolled with a one-time
// code and talks to the monitor over mTLS only; syslog from `logger`, traps
// from `snmptrap`. Then the monitor is stopped while the agent keeps
// collecting, and restarted: every log line and event arrives exactly once.

import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { startServer } from '../cli/serve.js';
import { PASSPHRASE, startDeskSuite, type DeskSuite } from './support/desk.js';
import { startSnmpd, type Snmpd } from './support/snmpd.js';
import { until, writeInternalAgentConfig } from './support/agent.js';

let desk: DeskSuite;
let snmpd: Snmpd;
let agent: Agent | undefined;
let tmp: string;
/** What the agent logged as warnings (refusals among them). */
const warnings: string[] = [];
const actor = { actor: 'test', source: 'test' };


function logger(port: number, transport: '--udp' | '--tcp', message: string) {
  const result = spawnSync('logger', ['-n', '127.0.0.1', '-P', String(port), transport, '--rfc5424', '-t', 'e2e', '-p', 'local0.warning', message], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`logger failed: ${result.stderr}`);
}

beforeAll(async () => {
  desk = await startDeskSuite();
  snmpd = await startSnmpd();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'egov-agent-'));
  await desk.started.monitor.inventory.addNode(
    {
      name: 'core-router',
      kind: 'router',
      zone: 'internal',
      site: 'City DC',
      level: 'city',
      address: '127.0.0.1',
      snmpPort: snmpd.port,
      snmp: { version: 'v3', user: snmpd.authPriv.user, authProtocol: 'SHA-256', authPassword: snmpd.authPriv.authPassword, privProtocol: 'AES-128', privPassword: snmpd.authPriv.privPassword },
    },
    actor,
  );
  // A device in the zone that is not polled over SNMP: its traps and syslog are still its own.
  await desk.started.monitor.inventory.addNode({ name: 'ups-room', kind: 'other', zone: 'internal', site: 'City DC', level: 'city', address: '127.0.0.9', snmp: null, parents: [] }, actor);
  await writeInternalAgentConfig(desk, tmp, '{ udpPort: 0, tcpPort: 0, tlsPort: 0, host: 127.0.0.1 }', ['names: [127.0.0.1, agent-internal.city.gov.cn]']);
});

afterAll(async () => {
  await agent?.stop();
  await snmpd?.dispose();
  await desk?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('an agent in the internal zone', () => {
  it('enrols once, polls real snmpd over v3 authPriv, and ships metrics, logs and traps over mTLS', async () => {
    const config = loadAgentConfig(path.join(tmp, 'agent.yaml'));
    agent = await Agent.start(config, { info: () => undefined, warn: (message) => void warnings.push(message) });
    const monitor = desk.started.monitor;
    // The enrolment spent the code and bound the certificate to the agent role.
    const bindings = await desk.suite.access.listBindings();
    expect(bindings.find((b) => b.holder === 'agent-internal')?.roles).toEqual(['agent']);

    const system = await until('system metrics of core-router', async () => (await monitor.metrics.latest('system', { node: 'core-router' }))[0]);
    expect(system.fields.reachable).toBe(1);
    const interfaces = await until('interface rates', async () => {
      const points = await monitor.metrics.latest('interface', { node: 'core-router' });
      return points.some((p) => p.fields.inOctetsPerSec !== undefined) && points;
    });
    expect(interfaces.length).toBeGreaterThan(0);

    const status = agent.status();
    logger(status.syslogUdpPort!, '--udp', 'e2e udp line one');
    logger(status.syslogTcpPort!, '--tcp', 'e2e tcp line two');
    const trap = await snmpd.tool('snmptrap', ['-v', '2c', '-c', 'public', `127.0.0.1:${status.trapPort}`, '', '1.3.6.1.6.3.1.1.5.3', '1.3.6.1.2.1.2.2.1.1.2', 'i', '2']);
    expect(trap.code).toBe(0);
    // Syslog over TLS (RFC 5425, octet counting), the agent's certificate checked against our CA chain and its name.
    const tls = await import('node:tls');
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: status.syslogTlsPort!, ca: desk.caPem }, () => {
        const message = `<132>1 ${new Date().toISOString()} core-router e2e 1 - - e2e tls line three`;
        socket.end(`${Buffer.byteLength(message)} ${message}`, () => resolve());
      });
      socket.on('error', reject);
    });
    const logs = await until('all three log lines', async () => {
      const found = await monitor.logs.search({ text: 'e2e ' });
      return found.length >= 3 && found;
    });
    expect(logs.map((l) => l.message).sort()).toEqual(['e2e tcp line two', 'e2e tls line three', 'e2e udp line one']);
    expect(logs.every((l) => l.node === 'core-router' && l.severity === 'warning' && l.app === 'e2e' && ['udp', 'tcp', 'tls'].includes(l.transport))).toBe(true);
    const events = await until('the linkDown trap', async () => (await monitor.events.list({ kind: 'trap' })).find((e) => e.name === '1.3.6.1.6.3.1.1.5.3'));
    expect(events.node).toBe('core-router');
    // From the unpolled device's address: a trap (net-snmp binds the source with clientaddr) and a syslog datagram.
    expect((await snmpd.tool('snmptrap', ['-v', '2c', '-c', 'public', '--clientaddr=127.0.0.9', `127.0.0.1:${status.trapPort}`, '', '1.3.6.1.6.3.1.1.5.1'])).code).toBe(0);
    const ups = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => ups.bind(0, '127.0.0.9', () => resolve()));
    await new Promise<void>((resolve, reject) => ups.send(`<132>1 ${new Date().toISOString()} ups e2e - - - e2e ups on battery`, status.syslogUdpPort!, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    ups.close();
    const coldStart = await until('the coldStart trap of ups-room', async () => (await monitor.events.list({ kind: 'trap' })).find((e) => e.name === '1.3.6.1.6.3.1.1.5.1'));
    expect(coldStart.node).toBe('ups-room');
    const upsLine = await until('the syslog line of ups-room', async () => (await monitor.logs.search({ text: 'ups on battery', limit: 10 }))[0]);
    expect(upsLine.node).toBe('ups-room');

    // Garbage on the syslog and trap ports: refused, counted, and in the agent's log with its reason.
    const junk = dgram.createSocket('udp4');
    const sendJunk = (payload: string | Buffer, port: number) => new Promise<void>((resolve) => junk.send(payload, port, '127.0.0.1', () => resolve()));
    await sendJunk(Buffer.from([0xde, 0xad, 0xbe, 0xef]), status.syslogUdpPort!);
    await sendJunk('<999>1 - h a - - - a PRI out of range', status.syslogUdpPort!);
    await sendJunk(Buffer.from([0x30, 0x03, 0x02, 0x01]), status.trapPort!);
    junk.close();
    await until('the refusals in the agent log', async () =>
      [/syslog UDP \d+: refused a message from 127\.0\.0\.1: missing-pri/, /syslog UDP \d+: refused a message from 127\.0\.0\.1: bad-pri/, /SNMP trap port \d+: dropped a datagram from 127\.0\.0\.1:\d+: malformed/].every((line) =>
        warnings.some((w) => line.test(w)),
      ),
    );
  }, 90_000);

  it('keeps collecting while the monitor is down and delivers every line exactly once when it returns', async () => {
    const status = agent!.status();
    const tlsPort = Number(new URL(desk.secureBase).port);
    await desk.started.app.close();
    for (let i = 0; i < 20; i++) logger(status.syslogUdpPort!, '--udp', `outage line ${i}`);
    await snmpd.tool('snmptrap', ['-v', '2c', '-c', 'public', `127.0.0.1:${status.trapPort}`, '', '1.3.6.1.6.3.1.1.5.4']);
    await until('the lines to be queued', async () => agent!.status().outbox.items >= 21);
    // The monitor comes back on the same port.
    desk.started = await startServer(desk.suite, { port: 0, tlsPort, host: '127.0.0.1', passphrase: async () => PASSPHRASE, announce: () => undefined });
    const monitor = desk.started.monitor;
    const lines = await until('all 20 outage lines', async () => {
      const found = await monitor.logs.search({ text: 'outage line', limit: 1000 });
      return found.length >= 20 && found;
    }, 60_000);
    // Exactly once: no line twice, none missing, even after re-delivery.
    await new Promise((r) => setTimeout(r, 2000));
    const again = await monitor.logs.search({ text: 'outage line', limit: 1000 });
    expect(again.length).toBe(20);
    expect(new Set(lines.map((l) => l.message)).size).toBe(20);
    const linkUp = await monitor.events.list({ kind: 'trap' });
    expect(linkUp.filter((e) => e.name === '1.3.6.1.6.3.1.1.5.4')).toHaveLength(1);
    // The agent read UDP on its batched native socket and says what it took:
    // line one, the UPS line and 20 outage lines parsed, two junk datagrams refused.
    const after = agent!.status();
    expect(after.syslogUdpEngine).toBe('batched');
    expect(after.syslog.udp).toMatchObject({ received: 24, parsed: 22, overflow: 0, rejected: { 'missing-pri': 1, 'bad-pri': 1 } });
  }, 120_000);
});
