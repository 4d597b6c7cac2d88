// A throwaway net-snmp agent (Debian's snmpd 5.9) for SNMP tests: its own
// temp dir, config, persistent dir and PID file, on a free loopback UDP
// port; a v1/v2c community, a v3 authPriv user (SHA-256/AES) and a v3
// authNoPriv user (SHA-512). No system config is read or written: snmpd
// runs with -C (no default config files) and SNMP_PERSISTENT_DIR in the
// temp dir; the net-snmp command-line tools run through snmpTool() with
// their own SNMPCONFPATH and persistent dir too.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const SNMPD = '/usr/sbin/snmpd';

export interface SnmpUser {
  user: string;
  authProtocol: 'SHA-256' | 'SHA-512';
  authPassword: string;
  privProtocol?: 'AES';
  privPassword?: string;
}

export interface Snmpd {
  port: number;
  /** `127.0.0.1:PORT`, as the CLI takes it. */
  target: string;
  dir: string;
  community: string;
  authPriv: Required<SnmpUser>;
  authNoPriv: SnmpUser;
  /** Environment for net-snmp's tools: no ~/.snmp, no /etc/snmp, no MIBs, persistent files in the temp dir. */
  toolEnv: NodeJS.ProcessEnv;
  /** Runs snmpget/snmpbulkwalk/snmptrap/… with toolEnv; resolves with their output and exit code. */
  tool(command: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
}

export interface SnmpdOptions {
  /** Extra snmpd.conf lines (e.g. `override OID TYPE VALUE`, `pass OID PROGRAM`); a function gets the agent's temp dir for its files. */
  extraConfig?: string[] | ((dir: string) => string[]);
  /** More UDP ports for the same agent (simulated devices); default none. */
  extraPorts?: number[];
}

/** A UDP port nothing listens on right now (bound then released). */
export async function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      const { port } = socket.address();
      socket.close(() => resolve(port));
    });
  });
}

export function runTool(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve) => {
    execFile(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? Number((error as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });
}

/** Environment for net-snmp tools confined to `dir`. */
export function toolEnvironment(dir: string): NodeJS.ProcessEnv {
  const confDir = path.join(dir, 'tools');
  mkdirSync(confDir, { recursive: true });
  writeFileSync(path.join(confDir, 'snmp.conf'), `mibs :\npersistentDir ${confDir}\n`);
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', SNMPCONFPATH: confDir, SNMP_PERSISTENT_DIR: confDir, LANG: 'C', LC_ALL: 'C' };
}

export async function startSnmpd(options: SnmpdOptions = {}): Promise<Snmpd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-snmpd-'));
  chmodSync(dir, 0o755);
  const persistDir = path.join(dir, 'persist');
  mkdirSync(persistDir, { recursive: true });
  const port = await freeUdpPort();
  const community = 'egov-ro-' + Math.random().toString(36).slice(2, 8);
  const authPriv = { user: 'egovuser', authProtocol: 'SHA-256', authPassword: 'authpass123', privProtocol: 'AES', privPassword: 'privpass123' } as const;
  const authNoPriv = { user: 'egovauth', authProtocol: 'SHA-512', authPassword: 'authpass456' } as const;
  const addresses = [port, ...(options.extraPorts ?? [])].map((p) => `udp:127.0.0.1:${p}`).join(',');
  const config = path.join(dir, 'snmpd.conf');
  writeFileSync(
    config,
    [
      `agentAddress ${addresses}`,
      `rocommunity ${community} 127.0.0.1`,
      `rouser ${authPriv.user} priv`,
      `rouser ${authNoPriv.user} auth`,
      `createUser ${authPriv.user} ${authPriv.authProtocol} ${authPriv.authPassword} ${authPriv.privProtocol} ${authPriv.privPassword}`,
      `createUser ${authNoPriv.user} ${authNoPriv.authProtocol} ${authNoPriv.authPassword}`,
      'sysLocation egov-ops test lab',
      'sysContact noc@example.gov',
      `[snmp] persistentDir ${persistDir}`,
      ...(typeof options.extraConfig === 'function' ? options.extraConfig(dir) : (options.extraConfig ?? [])),
      '',
    ].join('\n'),
  );
  const toolEnv = toolEnvironment(dir);
  const pidFile = path.join(dir, 'snmpd.pid');
  let child: ChildProcess | undefined;
  let log = '';

  const answers = async (): Promise<boolean> => {
    const r = await runTool('snmpget', ['-v2c', '-c', community, '-t', '0.2', '-r', '0', '-On', `127.0.0.1:${port}`, '.1.3.6.1.2.1.1.3.0'], toolEnv);
    return r.code === 0;
  };

  const server: Snmpd = {
    port,
    target: `127.0.0.1:${port}`,
    dir,
    community,
    authPriv,
    authNoPriv,
    toolEnv,
    tool: (command, args) => runTool(command, args, toolEnv),
    async start() {
      if (child) return;
      // -f foreground, -Lo log to stdout, -C no default config files, -m '' load no MIB files (numeric only, and quiet).
      child = spawn(SNMPD, ['-f', '-Lo', '-C', '-m', '', '-c', config, '-p', pidFile], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SNMP_PERSISTENT_DIR: persistDir, SNMPCONFPATH: dir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const started = child;
      child.once('exit', () => {
        if (child === started) child = undefined;
      });
      for (let i = 0; i < 100; i++) {
        if (!child) throw new Error(`snmpd exited: ${log}`);
        if (await answers()) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`snmpd did not answer on ${port}: ${log}`);
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = undefined;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGTERM');
        setTimeout(() => running.kill('SIGKILL'), 3000).unref();
      });
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await server.start();
  return server;
}

// ------------------------------------------------------------ a scripted agent

/** One interface of a ScriptedAgent; counters are exact (Counter64 as bigint). */
export interface ScriptedInterface {
  name: string;
  hcInOctets: bigint;
  hcOutOctets: bigint;
  inOctets: number;
  outOctets: number;
  inErrors: number;
  highSpeedMbps: number;
  operStatus: number;
  adminStatus: number;
}

/**
 * A real SNMP agent (net-snmp's own Agent, answering on a loopback UDP
 * port) whose sysUpTime and interface counters a test sets: for the cases
 * snmpd cannot be made to show on demand (a 64-bit counter about to wrap,
 * sysUpTime going backwards with counters that did not restart).
 */
export interface ScriptedAgent {
  port: number;
  target: string;
  community: string;
  setUptime(ticks: number): void;
  setInterface(index: number, values: Partial<ScriptedInterface>): void;
  close(): Promise<void>;
}

const u64 = (value: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return b;
};

/**
 * `ifXTable: false` leaves IF-MIB's ifXTable out, as on old devices: no 64-bit counters, no ifName, no ifHighSpeed.
 * `processorLoads`: an hrProcessorTable with these hrProcessorLoad values (snmpd shows none in its first minute).
 */
export async function startScriptedAgent(interfaces: Array<Partial<ScriptedInterface>>, options: { ifXTable?: boolean; processorLoads?: number[] } = {}): Promise<ScriptedAgent> {
  const withIfXTable = options.ifXTable !== false;
  const snmp = await import('net-snmp');
  const T = snmp.ObjectType;
  const RO = snmp.MaxAccess['read-only'];
  const NA = snmp.MaxAccess['not-accessible'];
  const port = await freeUdpPort();
  const community = 'scripted';
  const agent = snmp.createAgent({ port, address: '127.0.0.1' }, () => undefined);
  agent.getAuthorizer().addCommunity(community);
  const mib = agent.getMib();
  mib.registerProvider({ name: 'sysUpTime', type: snmp.MibProviderType.Scalar, oid: '1.3.6.1.2.1.1.3', scalarType: T.TimeTicks, maxAccess: RO });
  mib.registerProvider({ name: 'sysName', type: snmp.MibProviderType.Scalar, oid: '1.3.6.1.2.1.1.5', scalarType: T.OctetString, maxAccess: RO });
  mib.registerProvider({
    name: 'ifTable',
    type: snmp.MibProviderType.Table,
    oid: '1.3.6.1.2.1.2.2.1',
    maxAccess: NA,
    tableColumns: [
      { number: 1, name: 'ifIndex', type: T.Integer, maxAccess: RO },
      { number: 2, name: 'ifDescr', type: T.OctetString, maxAccess: RO },
      { number: 7, name: 'ifAdminStatus', type: T.Integer, maxAccess: RO },
      { number: 8, name: 'ifOperStatus', type: T.Integer, maxAccess: RO },
      { number: 10, name: 'ifInOctets', type: T.Counter, maxAccess: RO },
      { number: 14, name: 'ifInErrors', type: T.Counter, maxAccess: RO },
      { number: 16, name: 'ifOutOctets', type: T.Counter, maxAccess: RO },
    ],
    tableIndex: [{ columnName: 'ifIndex' }],
  });
  if (withIfXTable) mib.registerProvider({
    name: 'ifXTable',
    type: snmp.MibProviderType.Table,
    oid: '1.3.6.1.2.1.31.1.1.1',
    maxAccess: NA,
    tableColumns: [
      { number: 1, name: 'ifName', type: T.OctetString, maxAccess: RO },
      { number: 6, name: 'ifHCInOctets', type: T.Counter64, maxAccess: RO },
      { number: 10, name: 'ifHCOutOctets', type: T.Counter64, maxAccess: RO },
      { number: 15, name: 'ifHighSpeed', type: T.Gauge, maxAccess: RO },
    ],
    // An AUGMENTS table (IF-MIB's ifXTable) takes its index from the named provider.
    tableAugments: 'ifTable',
  });
  if (options.processorLoads) {
    mib.registerProvider({
      name: 'hrProcessorTable',
      type: snmp.MibProviderType.Table,
      oid: '1.3.6.1.2.1.25.3.3.1',
      maxAccess: NA,
      tableColumns: [
        { number: 1, name: 'hrProcessorFrwID', type: T.OID, maxAccess: RO },
        { number: 2, name: 'hrProcessorLoad', type: T.Integer, maxAccess: RO },
        // Not in HOST-RESOURCES-MIB: hrDeviceIndex comes from hrDeviceTable there; a local index column keeps this table self-contained.
        { number: 99, name: 'hrDeviceIndex', type: T.Integer, maxAccess: NA },
      ],
      tableIndex: [{ columnName: 'hrDeviceIndex' }],
    });
    options.processorLoads.forEach((load, i) => mib.addTableRow('hrProcessorTable', ['0.0', load, 196608 + i]));
  }
  mib.setScalarValue('sysUpTime', 100);
  mib.setScalarValue('sysName', 'scripted-agent');
  const current = new Map<number, ScriptedInterface>();
  interfaces.forEach((values, i) => {
    const index = i + 1;
    const row: ScriptedInterface = { name: `ge-0/0/${i}`, hcInOctets: 0n, hcOutOctets: 0n, inOctets: 0, outOctets: 0, inErrors: 0, highSpeedMbps: 1000, operStatus: 1, adminStatus: 1, ...values };
    current.set(index, row);
    mib.addTableRow('ifTable', [index, row.name, row.adminStatus, row.operStatus, row.inOctets, row.inErrors, row.outOctets]);
    if (withIfXTable) mib.addTableRow('ifXTable', [index, row.name, u64(row.hcInOctets), u64(row.hcOutOctets), row.highSpeedMbps]);
  });
  return {
    port,
    target: `127.0.0.1:${port}`,
    community,
    setUptime: (ticks) => mib.setScalarValue('sysUpTime', ticks),
    setInterface(index, values) {
      const row = { ...current.get(index)!, ...values };
      current.set(index, row);
      const cell = (table: string, column: number, value: unknown) => mib.setTableSingleCell(table, column, [index], value);
      cell('ifTable', 7, row.adminStatus);
      cell('ifTable', 8, row.operStatus);
      cell('ifTable', 10, row.inOctets);
      cell('ifTable', 14, row.inErrors);
      cell('ifTable', 16, row.outOctets);
      if (!withIfXTable) return;
      cell('ifXTable', 6, u64(row.hcInOctets));
      cell('ifXTable', 10, u64(row.hcOutOctets));
      cell('ifXTable', 15, row.highSpeedMbps);
    },
    close: () => new Promise<void>((resolve) => agent.close(() => resolve())),
  };
}
