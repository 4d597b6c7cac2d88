// `egov-ops agent`: one agent for one network zone. It enrols once with a
// one-time code (its key never leaves it: the monitor signs its public key
// into an `agent` certificate), then polls the zone's devices over SNMP,
// receives traps and syslog, and ships everything through the disk-backed
// outbox to the monitor over mTLS. When the monitor is away the outbox
// fills; when it returns, delivery resumes in order.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import YAML from 'yaml';
import { EgovError } from '../core/index.js';
import type { OutboxItem } from '../monitor/index.js';
import { Outbox, OutboxBatcher, Shipper } from './outbox/index.js';
import { SnmpPoller, TrapReceiver, type Credentials, type PollTarget } from './snmp/index.js';
import { DropLog, RejectionLog } from './rejection-log.js';
import { TcpSyslogReceiver, TlsSyslogReceiver, UdpSyslogReceiver, type RejectionListener, type SyslogCounters, type UdpEngine } from './syslog/index.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

export const AgentConfigSchema = Type.Object(
  {
    /** The agent's name: the CN of its certificate and its identity at the monitor. */
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
    zone: Type.Union([Type.Literal('internal'), Type.Literal('external'), Type.Literal('dmz')]),
    /**
     * The monitor's HTTPS (mTLS) address, e.g. https://monitor.city.gov.cn:8443;
     * or several (the instances of a monitor on one PostgreSQL): the agent
     * uses one and fails over to the next when it does not answer.
     */
    monitorUrl: Type.Union([Type.String({ pattern: '^https://' }), Type.Array(Type.String({ pattern: '^https://' }), { minItems: 1, maxItems: 16 })]),
    /** PEM file of the CA chain that issued the monitor's certificate. */
    caFile: Type.String({ minLength: 1 }),
    /** Where the agent keeps its key, certificate and outbox. */
    dataDir: Type.String({ minLength: 1 }),
    /** One-time code from `egov-ops access code --role agent`; needed only until the agent holds a certificate. */
    enrolmentCode: Type.Optional(Type.String({ minLength: 8 })),
    pollIntervalSeconds: Type.Number({ minimum: 1, maximum: 3600, default: 60 }),
    /** How often the device list is fetched again from the monitor. */
    targetsRefreshSeconds: Type.Number({ minimum: 5, maximum: 86400, default: 300 }),
    traps: Type.Object({ port: Port, communities: Type.Optional(Type.Array(Type.String())) }, { default: { port: 162 } }),
    syslog: Type.Object(
      {
        udpPort: Type.Optional(Port),
        tcpPort: Type.Optional(Port),
        /** Syslog over TLS (RFC 5425, usually 6514), served with the agent's own certificate. */
        tlsPort: Type.Optional(Port),
        /** Whether senders must present a certificate from our CA. */
        tlsClientCertificate: Type.Optional(Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')])),
        host: Type.Optional(Type.String()),
      },
      { default: { udpPort: 514, tcpPort: 514 } },
    ),
    /** DNS names and IP addresses devices reach the agent by: written into its certificate at enrolment (syslog over TLS checks them). */
    names: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { maxItems: 8 })),
    outboxMaxBytes: Type.Integer({ minimum: 1024, default: 256 * 1024 * 1024 }),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfigSchema>;

/** Reads and checks an agent config file (YAML or JSON); errors name the key. */
export function loadAgentConfig(file: string): AgentConfig {
  let raw: unknown;
  try {
    raw = YAML.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new EgovError('bad-config', `agent config ${file} cannot be read: ${(error as Error).message}`);
  }
  const withDefaults = Value.Default(AgentConfigSchema, Value.Clone(raw ?? {}));
  const first = [...Value.Errors(AgentConfigSchema, withDefaults)][0];
  if (first) throw new EgovError('bad-config', `agent config ${file}: "${first.path.slice(1).replace(/\//g, '.') || '(root)'}" ${first.message}`);
  const config = withDefaults as AgentConfig;
  return { ...config, dataDir: path.resolve(path.dirname(file), config.dataDir), caFile: path.resolve(path.dirname(file), config.caFile) };
}

interface Identity {
  certPem: string;
  keyPem: string;
  caPem: string;
}

/** Wire form of the monitor's device list (monitor/routes.ts, GET /api/monitor/agent/targets). */
interface WireTarget {
  name: string;
  kind: PollTarget['kind'];
  address: string;
  snmpPort: number;
  snmp:
    | { version: 'v1' | 'v2c'; community: string }
    | { version: 'v3'; user: string; authProtocol: string; authPassword: string; privProtocol: 'AES-128' | 'AES-256'; privPassword: string };
}

function toCredentials(snmp: WireTarget['snmp']): Credentials {
  if (snmp.version !== 'v3') return { version: snmp.version === 'v1' ? '1' : '2c', community: snmp.community };
  return {
    version: '3',
    user: snmp.user,
    level: 'authPriv',
    authProtocol: snmp.authProtocol as 'SHA-256',
    authPassword: snmp.authPassword,
    privProtocol: snmp.privProtocol === 'AES-256' ? 'AES-256' : 'AES',
    privPassword: snmp.privPassword,
  };
}

/** The monitor URLs of a config, one or several, without a trailing slash. */
export function monitorUrls(config: Pick<AgentConfig, 'monitorUrl'>): string[] {
  return (Array.isArray(config.monitorUrl) ? config.monitorUrl : [config.monitorUrl]).map((u) => u.replace(/\/+$/, ''));
}

type Send = (url: string, method: string, body?: unknown) => Promise<{ status: number; text: string }>;

/**
 * Several monitor instances: requests go to the one that answered last; one
 * that cannot be reached, or answers 502/503/504 (a proxy in front of a dead
 * instance, or one whose database is away), is left for the next, each tried
 * once per request. Any other answer (2xx, 4xx) is the monitor's word, the
 * same from every instance, and is returned as it is.
 */
export class MonitorEndpoints {
  private index = 0;

  constructor(
    readonly urls: string[],
    private readonly sendTo: Send,
    private readonly log?: { warn(message: string): void },
  ) {
    if (urls.length === 0) throw new EgovError('bad-config', 'no monitor URL');
  }

  get current(): string {
    return this.urls[this.index]!;
  }

  async send(pathAndQuery: string, method: string, body?: unknown): Promise<{ status: number; text: string; url: string }> {
    let lastError: Error | undefined;
    for (let tried = 0; tried < this.urls.length; tried++) {
      const url = this.urls[this.index]!;
      try {
        const reply = await this.sendTo(`${url}${pathAndQuery}`, method, body);
        if (![502, 503, 504].includes(reply.status) || tried === this.urls.length - 1) return { ...reply, url };
        lastError = new Error(`${url} answered ${reply.status}`);
      } catch (error) {
        lastError = error as Error;
        if (tried === this.urls.length - 1) throw error;
      }
      this.index = (this.index + 1) % this.urls.length;
      this.log?.warn(`monitor ${url} failed (${lastError.message}); trying ${this.urls[this.index]}`);
    }
    throw lastError ?? new Error('no monitor answered');
  }
}

export interface AgentLog {
  info(message: string): void;
  warn(message: string): void;
}

function request(url: string, identity: { caPem: string; certPem?: string; keyPem?: string }, method: string, body?: unknown, timeoutMs = 15_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = https.request(
      url,
      {
        method,
        ca: identity.caPem,
        ...(identity.certPem ? { cert: identity.certPem, key: identity.keyPem } : {}),
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}) },
        timeout: timeoutMs,
        // The monitor's certificate names localhost and 127.0.0.1 at least; a host name in the URL is checked as usual.
        ...(new URL(url).hostname === '127.0.0.1' ? { servername: 'localhost' } : {}),
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (c: string) => (text += c));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** The agent's key and certificate: read from its data directory, or made now by enrolling with the one-time code. */
export async function ensureIdentity(config: AgentConfig, log: AgentLog): Promise<Identity> {
  const caPem = readFileSync(config.caFile, 'utf8');
  const certFile = path.join(config.dataDir, 'agent.crt');
  const keyFile = path.join(config.dataDir, 'agent.key');
  if (existsSync(certFile) && existsSync(keyFile)) return { certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), caPem };
  if (!config.enrolmentCode) throw new EgovError('bad-config', `agent ${config.name} holds no certificate yet (${certFile}): give enrolmentCode (from \`egov-ops access code --role agent\`) in the config`);
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const monitors = new MonitorEndpoints(monitorUrls(config), (url, method, body) => request(url, { caPem }, method, body), log);
  const reply = await monitors.send('/api/access/enrol', 'POST', {
    code: config.enrolmentCode,
    name: config.name,
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }),
    ...(config.names ? { names: config.names } : {}),
  });
  if (reply.status !== 201) {
    const message = (() => {
      try {
        return (JSON.parse(reply.text) as { message: string }).message;
      } catch {
        return reply.text.slice(0, 200);
      }
    })();
    throw new EgovError(reply.status === 401 ? 'unauthorized' : 'unavailable', `enrolment at ${monitors.current} refused (${reply.status}): ${message}`);
  }
  const enrolled = JSON.parse(reply.text) as { serial: string; certificatePem: string; role: string };
  if (enrolled.role !== 'agent') throw new EgovError('forbidden', `the enrolment code was for the role ${enrolled.role}, not agent`);
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { mode: 0o600 });
  writeFileSync(certFile, enrolled.certificatePem, { mode: 0o644 });
  log.info(`enrolled as agent ${config.name}: certificate ${enrolled.serial}`);
  return { certPem: enrolled.certificatePem, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, caPem };
}

export interface AgentStatus {
  name: string;
  zone: string;
  targets: number;
  outbox: Outbox['stats'];
  trapPort: number | null;
  syslogUdpPort: number | null;
  /** How the UDP socket is read: `batched` (native thread) or `dgram` (the fallback). */
  syslogUdpEngine: UdpEngine | null;
  /** What each syslog receiver has taken, rejected (by reason) and, for UDP, dropped while behind. */
  syslog: { udp: SyslogCounters | null; tcp: SyslogCounters | null; tls: SyslogCounters | null };
  syslogTcpPort: number | null;
  syslogTlsPort: number | null;
}

export class Agent {
  private outbox!: Outbox;
  private batcher!: OutboxBatcher;
  private shipper!: Shipper;
  private poller!: SnmpPoller;
  private traps?: TrapReceiver;
  private udp?: UdpSyslogReceiver;
  private tcp?: TcpSyslogReceiver;
  private tls?: TlsSyslogReceiver;
  private refresh?: NodeJS.Timeout;
  private outboxReport?: NodeJS.Timeout;
  private targets: WireTarget[] = [];
  private nodeByAddress = new Map<string, string>();

  private readonly monitors: MonitorEndpoints;

  private constructor(
    readonly config: AgentConfig,
    private readonly identity: Identity,
    private readonly log: AgentLog,
  ) {
    this.monitors = new MonitorEndpoints(monitorUrls(config), (url, method, body) => request(url, identity, method, body), log);
  }

  static async start(config: AgentConfig, log: AgentLog): Promise<Agent> {
    const identity = await ensureIdentity(config, log);
    const agent = new Agent(config, identity, log);
    await agent.run();
    return agent;
  }

  private readonly rejectionLogs: RejectionLog[] = [];
  /** Datagrams the UDP syslog thread dropped while the agent was behind: summed, logged at most every 10 s. */
  private readonly udpOverflow = new DropLog(() => `syslog UDP ${this.udp?.port}`, (line) => this.log.warn(line));

  private rejectionLog(receiver: () => string): RejectionLog {
    const log = new RejectionLog(receiver, this.log);
    this.rejectionLogs.push(log);
    return log;
  }

  private nodeFor = (address: string): string | null => this.nodeByAddress.get(address.replace(/^::ffff:/, '')) ?? null;

  private async run(): Promise<void> {
    const { config } = this;
    this.outbox = new Outbox({ directory: path.join(config.dataDir, 'outbox'), maxBytes: config.outboxMaxBytes });
    // Syslog arrives in bursts: one disk transaction per 500 lines or 20 ms.
    this.batcher = new OutboxBatcher(this.outbox);
    this.shipper = new Shipper({ outbox: this.outbox, deliver: (items) => this.deliver(items) });
    this.shipper.start();
    const enqueue = (kind: 'metric' | 'event', record: OutboxItem['record']) => {
      try {
        this.outbox.enqueue(kind, record as never);
      } catch (error) {
        this.log.warn((error as Error).message);
      }
    };
    this.poller = new SnmpPoller({ targets: [], intervalMs: config.pollIntervalSeconds * 1000, onRecord: (r) => enqueue(r.kind, r.record) });
    await this.refreshTargets().catch((error: Error) => this.log.warn(`device list not fetched yet (${error.message}); polling starts when the monitor answers`));
    this.poller.start();
    this.refresh = setInterval(() => void this.refreshTargets().catch((error: Error) => this.log.warn(`device list not refreshed: ${error.message}`)), config.targetsRefreshSeconds * 1000);
    this.refresh.unref();
    // The outbox's depth and drops travel like any sample (measurement agent_outbox), once a poll interval, for the agent-health dashboard.
    this.outboxReport = setInterval(() => {
      const { items, bytes, maxBytes, droppedMetrics, refused } = this.outbox.stats;
      enqueue('metric', { measurement: 'agent_outbox', tags: { agent: config.name }, fields: { items, bytes, maxBytes, droppedMetrics, refused }, time: Date.now() });
    }, config.pollIntervalSeconds * 1000);
    this.outboxReport.unref();
    // Refusals go to the log with their reason, at most ten a minute per receiver (then a summary).
    const trapRejects = this.rejectionLog(() => `SNMP traps UDP ${this.traps?.port ?? config.traps.port}`);
    const trapLogger = { warn: (fields: Record<string, unknown>, message: string) => trapRejects.line(String(fields.reason ?? 'error'), message), info: (_fields: Record<string, unknown>, message: string) => this.log.info(message) };
    this.traps = await TrapReceiver.start({ port: config.traps.port, ...(config.traps.communities ? { communities: config.traps.communities } : {}), onEvent: (e) => enqueue('event', e), nodeFor: this.nodeFor, logger: trapLogger });
    const sink = (record: Parameters<ConstructorParameters<typeof UdpSyslogReceiver>[0]['sink']>[0]) => this.batcher.add('log', record);
    const host = config.syslog.host ?? '0.0.0.0';
    const onReject = (receiver: () => string): RejectionListener => {
      const log = this.rejectionLog(receiver);
      return (rejection, source) => log.reject(rejection.reason, source, rejection.detail);
    };
    if (config.syslog.udpPort !== undefined) {
      this.udp = new UdpSyslogReceiver({
        host,
        port: config.syslog.udpPort,
        sink,
        nodeForAddress: this.nodeFor,
        onReject: onReject(() => `syslog UDP ${this.udp?.port}`),
        onOverflow: (dropped) => this.udpOverflow.add(dropped),
      });
      await this.udp.listen();
    }
    if (config.syslog.tcpPort !== undefined) {
      this.tcp = new TcpSyslogReceiver({ host, port: config.syslog.tcpPort, sink, nodeForAddress: this.nodeFor, onReject: onReject(() => `syslog TCP ${this.tcp?.port}`) });
      await this.tcp.listen();
    }
    if (config.syslog.tlsPort !== undefined) {
      this.tls = new TlsSyslogReceiver({
        host,
        port: config.syslog.tlsPort,
        sink,
        nodeForAddress: this.nodeFor,
        onReject: onReject(() => `syslog TLS ${this.tls?.port}`),
        key: this.identity.keyPem,
        cert: this.identity.certPem,
        ca: this.identity.caPem,
        clientCertificate: config.syslog.tlsClientCertificate ?? 'none',
      });
      await this.tls.listen();
    }
    this.log.info(`agent ${config.name} (${config.zone}) running: ${this.targets.length} devices every ${config.pollIntervalSeconds} s; traps on UDP ${this.traps.port}; syslog on UDP ${this.udp ? `${this.udp.port} (${this.udp.engine})` : '-'} / TCP ${this.tcp?.port ?? '-'} / TLS ${this.tls?.port ?? '-'}; shipping to ${monitorUrls(config).join(', ')}`);
  }

  private async deliver(items: OutboxItem[]): Promise<void> {
    const reply = await this.monitors.send('/api/monitor/ingest', 'POST', { items });
    // 2xx: stored (or already stored). Anything else: the same batch again later.
    if (reply.status < 200 || reply.status >= 300) throw new EgovError('unavailable', `monitor answered ${reply.status}: ${reply.text.slice(0, 200)}`);
  }

  private async refreshTargets(): Promise<void> {
    const reply = await this.monitors.send(`/api/monitor/agent/targets?zone=${this.config.zone}`, 'GET');
    if (reply.status !== 200) throw new EgovError('unavailable', `monitor answered ${reply.status}: ${reply.text.slice(0, 200)}`);
    const body = JSON.parse(reply.text) as { targets: WireTarget[]; unpolled?: Array<{ name: string; address: string }> };
    this.targets = body.targets;
    // Traps and syslog name their device by address, polled or not (a monitor before `unpolled` sends only targets).
    this.nodeByAddress = new Map([...(body.unpolled ?? []).map((u): [string, string] => [u.address, u.name]), ...this.targets.map((t): [string, string] => [t.address, t.name])]);
    this.poller.setTargets(this.targets.map((t) => ({ name: t.name, kind: t.kind, address: t.address, port: t.snmpPort, credentials: toCredentials(t.snmp) })));
  }

  status(): AgentStatus {
    return {
      name: this.config.name,
      zone: this.config.zone,
      targets: this.targets.length,
      outbox: this.outbox.stats,
      trapPort: this.traps?.port ?? null,
      syslogUdpPort: this.udp?.port ?? null,
      syslogUdpEngine: this.udp?.engine ?? null,
      syslog: { udp: this.udp?.counters ?? null, tcp: this.tcp?.counters ?? null, tls: this.tls?.counters ?? null },
      syslogTcpPort: this.tcp?.port ?? null,
      syslogTlsPort: this.tls?.port ?? null,
    };
  }

  async stop(): Promise<void> {
    if (this.refresh) clearInterval(this.refresh);
    if (this.outboxReport) clearInterval(this.outboxReport);
    await this.poller.stop();
    await this.traps?.close();
    await this.udp?.close();
    await this.tcp?.close();
    await this.tls?.close();
    for (const log of this.rejectionLogs) log.close();
    this.udpOverflow.close();
    this.batcher.close();
    await this.shipper.stop();
    this.outbox.close();
  }
}
