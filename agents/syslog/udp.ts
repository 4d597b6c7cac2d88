// Syslog over UDP (RFC 5426): one datagram is one message.

import dgram from 'node:dgram';
import net from 'node:net';
import { MessageIntake, normalizeAddress, type IntakeOptions, type SyslogCounters } from './intake.js';

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
}

export class UdpSyslogReceiver {
  private readonly intake: MessageIntake;
  private socket: dgram.Socket | null = null;
  private boundPort = 0;

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

  async listen(): Promise<{ host: string; port: number }> {
    if (this.socket) throw new Error('the UDP syslog receiver is already listening');
    const host = this.options.host ?? '0.0.0.0';
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4', reuseAddr: false });
    socket.on('message', (datagram, remote) => this.onDatagram(datagram, remote));
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
    this.boundPort = socket.address().port;
    return { host, port: this.boundPort };
  }

  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket) return;
    this.socket = null;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private onDatagram(datagram: Buffer, remote: dgram.RemoteInfo): void {
    const sourceAddress = normalizeAddress(remote.address);
    this.intake.accept(datagram, datagram.length, { sourceAddress, node: this.intake.nodeFor(sourceAddress), transport: 'udp' }, 'datagram');
  }

  private trySetReceiveBuffer(socket: dgram.Socket): void {
    try {
      socket.setRecvBufferSize(this.options.receiveBufferBytes ?? 4 * 1024 * 1024);
    } catch {
      /* refused by the kernel: the default buffer still works, bursts are just more likely to drop */
    }
  }
}
