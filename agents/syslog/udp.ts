// Syslog over UDP (RFC 5426): one datagram is one message.
//
// Two ways to read the socket. On Linux with the addon built, a native
// thread reads it in batches (native-udp.ts): about half the CPU per
// message, and the socket is read even while JavaScript is busy (a UDP
// datagram the kernel drops is gone). Elsewhere, node's dgram.

import dgram from 'node:dgram';
import net from 'node:net';
import { MessageIntake, normalizeAddress, type IntakeOptions, type SyslogCounters } from './intake.js';
import { batchedUdpUnavailable, BatchedUdpSocket, loadBatchedUdp } from './native-udp.js';

/** How the socket is read: `batched` (native thread, recvmmsg) or `dgram` (node's own). */
export type UdpEngine = 'batched' | 'dgram';

export interface UdpReceiverOptions extends IntakeOptions {
  /** Address to bind; default 0.0.0.0. An IPv6 address (e.g. "::") binds an IPv6 socket. */
  host?: string;
  /** 0 = an ephemeral port (read it from `port` after listen). */
  port: number;
  /**
   * Socket receive buffer asked of the kernel (bursts wait there while a
   * message is parsed); the kernel caps it at net.core.rmem_max. Default 4 MiB.
   */
  receiveBufferBytes?: number;
  /** Default: `batched` when the addon loads, else `dgram`. Asking for `batched` without it is an error. */
  engine?: UdpEngine;
  /** Datagrams the batched engine read but had to drop while JavaScript was behind (also counted as `overflow`). */
  onOverflow?: (dropped: number) => void;
}

const DEFAULT_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

export class UdpSyslogReceiver {
  private readonly intake: MessageIntake;
  private socket: dgram.Socket | null = null;
  private batched: BatchedUdpSocket | null = null;
  private boundPort = 0;
  private engineInUse: UdpEngine | null = null;

  constructor(private readonly options: UdpReceiverOptions) {
    this.intake = new MessageIntake(options);
  }

  get counters(): SyslogCounters {
    return this.intake.counters;
  }

  /** The bound port (after listen). */
  get port(): number {
    return this.boundPort;
  }

  /** How the socket is read (after listen). */
  get engine(): UdpEngine | null {
    return this.engineInUse;
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.socket || this.batched) throw new Error('the UDP syslog receiver is already listening');
    const host = this.options.host ?? '0.0.0.0';
    // The native socket binds addresses only; a host name goes to dgram, which resolves it.
    const native = this.options.engine === 'dgram' || net.isIP(host) === 0 ? null : loadBatchedUdp();
    if (this.options.engine === 'batched' && !native) throw new Error(`the batched UDP engine was asked for: ${net.isIP(host) === 0 ? `${host} is not an IP address` : batchedUdpUnavailable()}`);
    if (native) {
      const socket = BatchedUdpSocket.open(native, host, this.options.port, net.isIPv6(host), this.options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES);
      socket.start(
        (bytes, address) => this.onDatagram(bytes, address),
        (dropped) => {
          this.intake.counters.overflow += dropped;
          this.options.onOverflow?.(dropped);
        },
      );
      this.batched = socket;
      this.engineInUse = 'batched';
      this.boundPort = socket.port;
      return { host, port: this.boundPort };
    }
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    socket.on('message', (datagram, remote) => this.onDatagram(datagram, remote.address));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // After bind: a socket error (e.g. ICMP noise on some systems) must not crash the agent.
    socket.on('error', () => undefined);
    this.trySetReceiveBuffer(socket);
    this.socket = socket;
    this.engineInUse = 'dgram';
    this.boundPort = socket.address().port;
    return { host, port: this.boundPort };
  }

  async close(): Promise<void> {
    this.batched?.close();
    this.batched = null;
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private onDatagram(datagram: Buffer, address: string): void {
    const sourceAddress = normalizeAddress(address);
    this.intake.accept(datagram, datagram.length, { sourceAddress, node: this.intake.nodeFor(sourceAddress), transport: 'udp' }, 'datagram');
  }

  private trySetReceiveBuffer(socket: dgram.Socket): void {
    try {
      socket.setRecvBufferSize(this.options.receiveBufferBytes ?? DEFAULT_RECEIVE_BUFFER_BYTES);
    } catch {
      /* refused by the kernel: the default buffer still works, bursts are just more likely to drop */
    }
  }
}
