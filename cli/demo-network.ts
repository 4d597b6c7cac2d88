// The demo network of `npm start`: five real snmpd agents on loopback
// addresses standing in for a core router, a firewall, two county switches
// and an external gateway; one egov-ops agent per zone, enrolled with
// one-time codes and shipping over mTLS; and a syslog source, so the status
// page has nodes, rates and logs within a minute.

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Agent, loadAgentConfig } from '../agents/index.js';
import type { Monitor } from '../monitor/index.js';
import type { Suite } from './context.js';

const SNMPD = '/usr/sbin/snmpd';
const SNMP_PORT = 16161;
const actor = { actor: 'demo', source: 'demo' };
const OUTAGE_DEVICE = 'sw-county-b';
const OUTAGE_MS = 3 * 60_000;

interface DemoDevice {
  name: string;
  address: string;
  kind: 'router' | 'firewall' | 'switch' | 'gateway';
  zone: 'internal' | 'external';
  site: string;
  level: 'city' | 'county';
  parents: string[];
  v3?: boolean;
}

const DEVICES: DemoDevice[] = [
  { name: 'core-router', address: '127.0.0.11', kind: 'router', zone: 'internal', site: 'City data centre', level: 'city', parents: [], v3: true },
  { name: 'fw-city', address: '127.0.0.12', kind: 'firewall', zone: 'internal', site: 'City data centre', level: 'city', parents: ['core-router'] },
  { name: 'sw-county-a', address: '127.0.0.13', kind: 'switch', zone: 'internal', site: 'County A', level: 'county', parents: ['fw-city'] },
  { name: 'sw-county-b', address: '127.0.0.14', kind: 'switch', zone: 'internal', site: 'County B', level: 'county', parents: ['fw-city'] },
  { name: 'gw-external', address: '127.0.0.15', kind: 'gateway', zone: 'external', site: 'City data centre', level: 'city', parents: [] },
];

function startSnmpd(dir: string, device: DemoDevice, community: string, v3: { user: string; auth: string; priv: string }): ChildProcess {
  mkdirSync(path.join(dir, 'persist'), { recursive: true });
  const config = path.join(dir, 'snmpd.conf');
  writeFileSync(
    config,
    [
      `agentAddress udp:${device.address}:${SNMP_PORT}`,
      `rocommunity ${community} 127.0.0.0/8`,
      `rouser ${v3.user} priv`,
      `createUser ${v3.user} SHA-256 ${v3.auth} AES ${v3.priv}`,
      `sysName ${device.name}`,
      `sysLocation ${device.site}`,
      'sysContact noc@city.gov.cn',
      `[snmp] persistentDir ${path.join(dir, 'persist')}`,
      '',
    ].join('\n'),
  );
  return spawn(SNMPD, ['-f', '-Lo', '-C', '-m', '', '-c', config, '-p', path.join(dir, 'snmpd.pid')], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SNMP_PERSISTENT_DIR: path.join(dir, 'persist'), SNMPCONFPATH: dir },
    stdio: 'ignore',
  });
}

export interface DemoNetwork {
  stop(): Promise<void>;
  summary: string[];
}

export async function startDemoNetwork(suite: Suite, monitor: Monitor, secureUrl: string, caPem: string, say: (line: string) => void): Promise<DemoNetwork> {
  if (!existsSync(SNMPD)) {
    say('demo: no snmpd (Debian package snmpd): the demo network is skipped');
    return { stop: async () => undefined, summary: [] };
  }
  const base = path.join(suite.config.dataDir, 'demo-network');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const community = `demo-${randomBytes(6).toString('hex')}`;
  const v3 = { user: 'egovdemo', auth: randomBytes(9).toString('base64url'), priv: randomBytes(9).toString('base64url') };
  const children = DEVICES.map((device) => startSnmpd(path.join(base, device.name), device, community, v3));
  // An outage on a schedule, so a newcomer sees an alert within two minutes: County B's switch
  // stops answering 40 s after start, comes back 3 minutes later, and again every 15 minutes.
  const outageIndex = DEVICES.findIndex((d) => d.name === OUTAGE_DEVICE);
  const outageTimers: NodeJS.Timeout[] = [];
  const outage = () => {
    say(`demo: stopping the snmpd of ${OUTAGE_DEVICE} (a scheduled outage: watch /alerts); it comes back in 3 minutes`);
    children[outageIndex]!.kill('SIGTERM');
    outageTimers.push(
      setTimeout(() => {
        say(`demo: starting the snmpd of ${OUTAGE_DEVICE} again`);
        children[outageIndex] = startSnmpd(path.join(base, OUTAGE_DEVICE), DEVICES[outageIndex]!, community, v3);
      }, OUTAGE_MS).unref(),
    );
  };
  outageTimers.push(setTimeout(outage, 40_000).unref(), setInterval(outage, 15 * 60_000).unref());
  // The inventory, once; the credentials are new each start (the snmpd configs are), so they are updated.
  for (const device of DEVICES) {
    const snmp = device.v3
      ? { version: 'v3' as const, user: v3.user, authProtocol: 'SHA-256' as const, authPassword: v3.auth, privProtocol: 'AES-128' as const, privPassword: v3.priv }
      : { version: 'v2c' as const, community };
    const spec = { kind: device.kind, zone: device.zone, site: device.site, level: device.level, address: device.address, snmpPort: SNMP_PORT, snmp, parents: device.parents };
    const existing = await monitor.inventory.listNodes({});
    if (existing.some((n) => n.name === device.name)) await monitor.inventory.updateNode(device.name, spec, actor);
    else await monitor.inventory.addNode({ name: device.name, ...spec }, actor);
  }
  const links = await monitor.inventory.listLinks({});
  if (links.length === 0) {
    await monitor.inventory.addLink({ a: { node: 'core-router', interface: 'lo' }, b: { node: 'fw-city', interface: 'lo' }, capacityBps: 1_000_000_000, description: 'core - firewall' }, actor).catch(() => undefined);
  }
  writeFileSync(path.join(base, 'ca.pem'), caPem);
  const agents: Agent[] = [];
  for (const zone of ['internal', 'external'] as const) {
    const dir = path.join(base, `agent-${zone}`);
    const file = path.join(base, `agent-${zone}.yaml`);
    const enrolled = existsSync(path.join(dir, 'agent.crt'));
    const code = enrolled ? undefined : (await suite.access.createEnrolmentCode('agent', actor, 1)).code;
    writeFileSync(
      file,
      [`name: demo-agent-${zone}`, `zone: ${zone}`, `monitorUrl: ${secureUrl}`, 'caFile: ca.pem', `dataDir: agent-${zone}`, ...(code ? [`enrolmentCode: ${code}`] : []), `pollIntervalSeconds: ${Number(process.env.EGOV_DEMO_POLL_SECONDS) || 15}`, 'traps: { port: 0 }', `syslog: { udpPort: ${zone === 'internal' ? 15514 : 0}, tcpPort: 0, host: 127.0.0.1 }`].join('\n') + '\n',
      { mode: 0o600 },
    );
    agents.push(await Agent.start(loadAgentConfig(file), { info: (line) => say(`demo: ${line}`), warn: (line) => say(`demo: warning: ${line}`) }));
  }
  // A syslog source: each device "logs" now and then, from its own address.
  const messages = ['Interface GigabitEthernet0/1 changed state to up', 'Configuration saved by admin', 'CPU utilisation 71% over the last minute', 'BGP neighbour 10.0.0.2 Up', 'Denied tcp 203.0.113.9:445 -> 10.1.1.5:445'];
  const syslogPort = agents[0]!.status().syslogUdpPort!;
  const sockets = DEVICES.filter((d) => d.zone === 'internal').map((device) => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, device.address);
    return { device, socket };
  });
  let n = 0;
  const sendLogs = () => {
    for (const { device, socket } of sockets) {
      const severity = n % 7 === 0 ? 3 : 5;
      const line = `<${16 * 8 + severity}>1 ${new Date().toISOString()} ${device.name} demo ${process.pid} - - ${messages[n++ % messages.length]}`;
      socket.send(line, syslogPort, '127.0.0.1');
    }
  };
  const timer = setInterval(sendLogs, 10_000);
  setTimeout(sendLogs, 2000).unref();
  return {
    summary: [`${DEVICES.length} snmpd devices on 127.0.0.11-15:${SNMP_PORT}, agents demo-agent-internal and demo-agent-external, syslog into UDP ${syslogPort}`],
    async stop() {
      clearInterval(timer);
      for (const t of outageTimers) clearTimeout(t);
      for (const { socket } of sockets) socket.close();
      for (const agent of agents) await agent.stop();
      for (const child of children) child.kill('SIGTERM');
    },
  };
}
