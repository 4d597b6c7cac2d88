// Receives SNMP v1 and v2c traps and informs (net-snmp's Receiver
// acknowledges informs) and turns each into an EventRecord. Anything else
// arriving on the port (garbage, truncated packets, an unknown community,
// a PDU that is not a notification) is counted, remembered with its reason
// and logged, and the receiver carries on.

import type { RemoteInfo } from 'node:dgram';
import * as snmp from 'net-snmp';
import type { Notification, Receiver } from 'net-snmp';
import type { EventRecord, Severity } from '../../monitor/index.js';
import { EgovError } from '../../core/errors.js';
import { framingProblem, guardedDgram } from './guarded-dgram.js';
import type { SnmpLogger } from './poller.js';
import { decodeVarbind, valueAsDetail, type Varbind } from './values.js';

export interface TrapReceiverOptions {
  /** UDP port; 0 picks a free one (see `port` once started). Default 162. */
  port?: number;
  /** Address to listen on; default 0.0.0.0 (::) for udp6. */
  address?: string;
  transport?: 'udp4' | 'udp6';
  /** v1/v2c communities accepted; none given accepts any community. */
  communities?: string[];
  onEvent: (event: EventRecord) => void;
  /** Inventory lookup: the node a source address belongs to, or null. */
  nodeFor?: (sourceAddress: string) => string | null;
  logger?: SnmpLogger;
  clock?: () => number;
}

export type RejectionReason = 'malformed' | 'unknown-community' | 'unauthorized' | 'unexpected-pdu' | 'socket-error';

export interface Rejection {
  time: number;
  from: string;
  reason: RejectionReason;
  detail: string;
  bytes: number;
}

export interface TrapReceiverStats {
  traps: number;
  informs: number;
  rejected: Record<RejectionReason, number>;
}

const SNMP_TRAP_OID = '1.3.6.1.6.3.1.1.4.1.0';
const SYS_UP_TIME = '1.3.6.1.2.1.1.3.0';
const SNMP_TRAP_ADDRESS = '1.3.6.1.6.3.18.1.3.0';
const SNMP_TRAP_ENTERPRISE = '1.3.6.1.6.3.1.1.4.3.0';
const SNMP_TRAPS = '1.3.6.1.6.3.1.1.5';

/** Standard notifications (RFC 3418 / IF-MIB) and how loud they are; any other is a notice. */
const SEVERITY_BY_TRAP: Readonly<Record<string, Severity>> = {
  [`${SNMP_TRAPS}.1`]: 'notice', // coldStart
  [`${SNMP_TRAPS}.2`]: 'notice', // warmStart
  [`${SNMP_TRAPS}.3`]: 'warning', // linkDown
  [`${SNMP_TRAPS}.4`]: 'notice', // linkUp
  [`${SNMP_TRAPS}.5`]: 'warning', // authenticationFailure
};

const RECENT_REJECTIONS = 50;

export class TrapReceiver {
  private readonly counts: TrapReceiverStats = { traps: 0, informs: 0, rejected: { malformed: 0, 'unknown-community': 0, unauthorized: 0, 'unexpected-pdu': 0, 'socket-error': 0 } };
  private readonly recent: Rejection[] = [];
  private receiver: Receiver | null = null;
  private boundPort = 0;
  private boundAddress = '';

  private constructor(private readonly options: TrapReceiverOptions) {}

  /** Listens and resolves once the port is bound; rejects (unavailable) when it cannot be. */
  static async start(options: TrapReceiverOptions): Promise<TrapReceiver> {
    const receiver = new TrapReceiver(options);
    await receiver.listen();
    return receiver;
  }

  /** The UDP port listened on (the real one when 0 was asked for). */
  get port(): number {
    return this.boundPort;
  }

  get address(): string {
    return this.boundAddress;
  }

  stats(): TrapReceiverStats {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  /** The last rejected datagrams, newest last, with why. */
  recentRejections(): Rejection[] {
    return [...this.recent];
  }

  async close(): Promise<void> {
    const receiver = this.receiver;
    this.receiver = null;
    if (!receiver) return;
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }

  private listen(): Promise<void> {
    const transport = this.options.transport ?? 'udp4';
    const address = this.options.address ?? (transport === 'udp6' ? '::' : '0.0.0.0');
    const port = this.options.port ?? 162;
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      const dgramModule = guardedDgram({
        bindTo: { port, address },
        accept: (message, rinfo) => {
          const problem = framingProblem(message);
          if (problem) this.reject(rinfo, message.length, 'malformed', problem);
          return problem === null;
        },
        onSocket: (socket) => {
          socket.once('listening', () => {
            listening = true;
            const bound = socket.address();
            this.boundPort = bound.port;
            this.boundAddress = bound.address;
            resolve();
          });
          socket.once('error', (error) => {
            if (!listening) reject(new EgovError('unavailable', `cannot listen for SNMP traps on ${transport} ${address}:${port}: ${error.message}`, { port, address }));
          });
        },
        // net-snmp threw while handling the datagram (e.g. an inform it cannot re-encode to acknowledge).
        onHandlerError: (error, message, rinfo) => this.reject(rinfo, message.length, 'malformed', (error as Error)?.message ?? String(error)),
      });
      const communities = this.options.communities ?? [];
      this.receiver = snmp.createReceiver(
        { port, address, transport, disableAuthorization: communities.length === 0, dgramModule },
        (error, notification) => (error ? this.onError(error) : notification && this.onNotification(notification)),
      );
      const authorizer = this.receiver.getAuthorizer();
      for (const community of communities) authorizer.addCommunity(community);
    });
  }

  private onError(error: Error & { rinfo?: RemoteInfo; error?: Error; buffer?: Buffer }): void {
    const rinfo = error.rinfo;
    if (!rinfo) {
      // A socket error (not a datagram): before listening it fails start(); after, it is logged and counted.
      if (this.boundPort === 0) return;
      return this.reject(undefined, 0, 'socket-error', error.message);
    }
    const bytes = error.buffer?.length ?? rinfo.size ?? 0;
    // net-snmp does not export ProcessingError (a datagram it could not decode): known by its name.
    if (error.name === 'ProcessingError') return this.reject(rinfo, bytes, 'malformed', error.error?.message ?? error.message);
    // "Local community not found for message with community X": the community itself is a secret, leave it out.
    if (error instanceof snmp.RequestFailedError) {
      const reason = /community/i.test(error.message) ? 'unknown-community' : 'unauthorized'; // v3: unknown user, missing authentication
      return this.reject(rinfo, bytes, reason, error.message.replace(/ with community .*/, ''));
    }
    return this.reject(rinfo, bytes, 'unexpected-pdu', error.message);
  }

  private reject(rinfo: RemoteInfo | undefined, bytes: number, reason: RejectionReason, detail: string): void {
    this.counts.rejected[reason]++;
    const from = rinfo ? `${rinfo.address}:${rinfo.port}` : '-';
    this.recent.push({ time: this.clock(), from, reason, detail, bytes });
    if (this.recent.length > RECENT_REJECTIONS) this.recent.shift();
    this.options.logger?.warn({ from, reason, bytes }, `SNMP trap port ${this.boundPort}: dropped a datagram from ${from}: ${reason}: ${detail}`);
  }

  private onNotification(notification: Notification): void {
    const { pdu, rinfo } = notification;
    let event: EventRecord;
    try {
      event = this.toEvent(pdu, rinfo);
    } catch (error) {
      return this.reject(rinfo, rinfo.size, 'malformed', (error as Error).message);
    }
    if (pdu.type === snmp.PduType.InformRequest) this.counts.informs++;
    else this.counts.traps++;
    try {
      this.options.onEvent(event);
    } catch (error) {
      // The consumer's failure is not the sender's: keep receiving.
      this.options.logger?.warn({ from: rinfo.address }, `SNMP trap handler failed: ${(error as Error).message}`);
    }
  }

  private toEvent(pdu: Notification['pdu'], rinfo: RemoteInfo): EventRecord {
    const varbinds = pdu.varbinds.map(decodeVarbind);
    const detail: Record<string, string> = {};
    let name: string;
    if (pdu.type === snmp.PduType.Trap) {
      // RFC 3584 section 3.1: a v1 trap's snmpTrapOID, plus the fields v2 carries as varbinds.
      const generic = pdu.generic ?? 6;
      name = generic < 6 ? `${SNMP_TRAPS}.${generic + 1}` : `${pdu.enterprise}.0.${pdu.specific}`;
      detail.version = 'v1';
      detail[SYS_UP_TIME] = String(pdu.upTime);
      detail[SNMP_TRAP_ADDRESS] = String(pdu.agentAddr);
      detail[SNMP_TRAP_ENTERPRISE] = String(pdu.enterprise);
      addVarbinds(detail, varbinds);
    } else {
      const trapOid = varbinds.find((v) => v.oid === SNMP_TRAP_OID);
      if (trapOid?.value.type !== 'OID') throw new Error(`${pdu.type === snmp.PduType.InformRequest ? 'inform' : 'trap'} without snmpTrapOID.0`);
      name = trapOid.value.value;
      detail.version = pdu.scoped ? 'v3' : 'v2c';
      addVarbinds(detail, varbinds.filter((v) => v !== trapOid));
    }
    const sourceAddress = rinfo.address;
    return {
      time: this.clock(),
      node: this.nodeFor(sourceAddress),
      sourceAddress,
      kind: pdu.type === snmp.PduType.InformRequest ? 'inform' : 'trap',
      name,
      severity: SEVERITY_BY_TRAP[name] ?? 'notice',
      detail,
    };
  }

  /** The inventory lookup; a lookup that fails leaves the event without a node rather than dropping it. */
  private nodeFor(sourceAddress: string): string | null {
    try {
      return this.options.nodeFor?.(sourceAddress) ?? null;
    } catch (error) {
      this.options.logger?.warn({ from: sourceAddress }, `SNMP trap: node lookup for ${sourceAddress} failed: ${(error as Error).message}`);
      return null;
    }
  }

  private clock(): number {
    return (this.options.clock ?? Date.now)();
  }
}

function addVarbinds(detail: Record<string, string>, varbinds: Varbind[]): void {
  for (const varbind of varbinds) detail[varbind.oid] = valueAsDetail(varbind.value);
}
