// net-snmp handles each datagram inside the socket's 'message' listener,
// and some of its paths throw there (a GETBULK answer with more varbinds
// than it asked for, an inform whose INTEGER does not fit 32 bits and
// cannot be re-encoded for the acknowledgement, …). Thrown from a socket
// listener, that would take the whole process down. net-snmp lets us supply
// the dgram module, so we hand it sockets whose 'message' listeners run
// inside try/catch, and that can drop datagrams from the wrong source
// before net-snmp sees them.

import dgram, { type RemoteInfo, type Socket, type SocketType } from 'node:dgram';
import type { DgramModule } from 'net-snmp';

export interface DatagramGuard {
  /** Return false to drop a datagram before net-snmp sees it (wrong source). */
  accept?(message: Buffer, rinfo: RemoteInfo): boolean;
  /** net-snmp threw while handling this datagram. */
  onHandlerError(error: unknown, message: Buffer, rinfo: RemoteInfo): void;
  /** Each socket net-snmp creates, as soon as it exists. */
  onSocket?(socket: Socket): void;
  /** Bind here instead of where net-snmp asks (it turns port 0 into 162). */
  bindTo?: { port: number; address?: string };
}

type MessageListener = (message: Buffer, rinfo: RemoteInfo) => void;

/**
 * Why a datagram cannot be a whole SNMP message, or null: every SNMP
 * message is one BER SEQUENCE filling the datagram exactly. net-snmp's BER
 * reader stops quietly at the end of a cut-short buffer and would hand over
 * a trap with its last varbinds missing; this catches truncation first.
 */
export function framingProblem(datagram: Buffer): string | null {
  if (datagram.length < 2) return `truncated: ${datagram.length} byte(s) cannot hold an SNMP message`;
  if (datagram[0] !== 0x30) return `not an SNMP message: starts with 0x${datagram[0]!.toString(16).padStart(2, '0')}, not a SEQUENCE (0x30)`;
  const first = datagram[1]!;
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else {
    const octets = first & 0x7f;
    if (octets === 0 || octets > 4) return `not an SNMP message: length field of ${octets === 0 ? 'indefinite form' : `${octets} octets`}`;
    if (datagram.length < 2 + octets) return `truncated: ${datagram.length} bytes end inside the length field`;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + datagram[2 + i]!;
    header = 2 + octets;
  }
  const declared = header + length;
  if (declared > datagram.length) return `truncated: the message declares ${declared} bytes, the datagram has ${datagram.length}`;
  if (declared < datagram.length) return `${datagram.length - declared} bytes after the end of the message`;
  return null;
}

export function guardedDgram(guard: DatagramGuard): DgramModule {
  return {
    createSocket(type: SocketType): Socket {
      const socket = dgram.createSocket(type);
      const on = socket.on.bind(socket);
      const guardedOn = (event: string, listener: (...args: never[]) => void): Socket => {
        if (event !== 'message') return on(event, listener as (...args: unknown[]) => void);
        const handle = listener as unknown as MessageListener;
        return on('message', (message: Buffer, rinfo: RemoteInfo) => {
          if (guard.accept && !guard.accept(message, rinfo)) return;
          try {
            handle(message, rinfo);
          } catch (error) {
            guard.onHandlerError(error, message, rinfo);
          }
        });
      };
      socket.on = guardedOn as Socket['on'];
      socket.addListener = guardedOn as Socket['addListener'];
      if (guard.bindTo) {
        const { port, address } = guard.bindTo;
        const bind = socket.bind.bind(socket);
        socket.bind = ((..._ignored: unknown[]) => bind(port, address)) as Socket['bind'];
      }
      guard.onSocket?.(socket);
      return socket;
    },
  };
}
