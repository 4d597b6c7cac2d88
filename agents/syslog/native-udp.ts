// The batched UDP socket of native/udp_batch.cc: a native thread reads
// datagrams with recvmmsg and hands them over a batch at a time. Loaded on
// demand; when it is not built (no compiler) or not Linux, `loadBatchedUdp`
// says why and the receiver uses node's dgram instead.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

interface UdpBatchAddon {
  open(host: string, port: number, ipv6: boolean, receiveBufferBytes: number): { handle: object; port: number };
  start(handle: object, onBatch: (data: Buffer, entries: Buffer, count: number, overflow: number) => void): void;
  close(handle: object): void;
  entryBytes: number;
}

/** Where the addon is, from each place this module runs: the sources (tests), dist/ (tsc), dist/egov-ops/ (the bundled CLI). */
const ADDON_CANDIDATES = ['./native/build/Release/udp_batch.node', '../../../agents/syslog/native/build/Release/udp_batch.node', '../../agents/syslog/native/build/Release/udp_batch.node'];

let addon: UdpBatchAddon | null | undefined;
let unavailable = '';

/** The addon, or null with `batchedUdpUnavailable()` saying why. */
export function loadBatchedUdp(): UdpBatchAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  if (process.platform !== 'linux') {
    unavailable = `the batched UDP receiver is Linux-only (this is ${process.platform})`;
    return addon;
  }
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const candidate of ADDON_CANDIDATES) {
    const file = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(file)) continue;
    try {
      addon = require(file) as UdpBatchAddon;
      return addon;
    } catch (error) {
      problems.push(`${file}: ${(error as Error).message}`);
    }
  }
  unavailable = problems.length ? `the batched UDP addon failed to load (${problems.join('; ')})` : 'the batched UDP addon is not built (npm run build:udp)';
  return addon;
}

export function batchedUdpUnavailable(): string {
  return unavailable;
}

/** One datagram of a batch: its bytes (a view into the batch) and the sender's address as text. */
export type DatagramHandler = (bytes: Buffer, address: string) => void;

const ENTRY_OFFSET = 0;
const ENTRY_LENGTH = 4;
const ENTRY_FAMILY = 8;
const ENTRY_TEXT_LENGTH = 9;
const ENTRY_IPV4 = 12;
const ENTRY_TEXT = 16;

/** Formats IPv4 senders once each: a syslog source sends thousands of messages from one address. */
class AddressNames {
  private readonly ipv4 = new Map<number, string>();

  ipv4Name(entries: Buffer, at: number): string {
    const key = entries.readUInt32BE(at + ENTRY_IPV4);
    let name = this.ipv4.get(key);
    if (name === undefined) {
      if (this.ipv4.size >= 65_536) this.ipv4.clear(); // bounded: a spoofing flood must not grow it forever
      name = `${entries[at + ENTRY_IPV4]}.${entries[at + ENTRY_IPV4 + 1]}.${entries[at + ENTRY_IPV4 + 2]}.${entries[at + ENTRY_IPV4 + 3]}`;
      this.ipv4.set(key, name);
    }
    return name;
  }
}

export class BatchedUdpSocket {
  private handle: object | null = null;
  private readonly names = new AddressNames();

  private constructor(
    private readonly native: UdpBatchAddon,
    readonly port: number,
    handle: object,
  ) {
    this.handle = handle;
  }

  /** Binds now (errors such as EADDRINUSE are thrown here, named like node's). */
  static open(native: UdpBatchAddon, host: string, port: number, ipv6: boolean, receiveBufferBytes: number): BatchedUdpSocket {
    const { handle, port: bound } = native.open(host, port, ipv6, receiveBufferBytes);
    return new BatchedUdpSocket(native, bound, handle);
  }

  /** Starts the reading thread: `onDatagram` for each datagram, `onOverflow` with what the thread dropped while JavaScript was behind. */
  start(onDatagram: DatagramHandler, onOverflow: (dropped: number) => void): void {
    if (!this.handle) throw new Error('the UDP socket is closed');
    const entryBytes = this.native.entryBytes;
    this.native.start(this.handle, (data, entries, count, overflow) => {
      if (!this.handle) return; // a batch already queued when close() ran
      if (overflow > 0) onOverflow(overflow);
      for (let i = 0, at = 0; i < count; i++, at += entryBytes) {
        const offset = entries.readUInt32LE(at + ENTRY_OFFSET);
        const bytes = data.subarray(offset, offset + entries.readUInt32LE(at + ENTRY_LENGTH));
        const address = entries[at + ENTRY_FAMILY] === 4 ? this.names.ipv4Name(entries, at) : entries.toString('latin1', at + ENTRY_TEXT, at + ENTRY_TEXT + entries[at + ENTRY_TEXT_LENGTH]!);
        onDatagram(bytes, address);
      }
    });
  }

  /** Stops the thread and closes the socket; batches not yet handed over are discarded. */
  close(): void {
    const handle = this.handle;
    if (!handle) return;
    this.handle = null;
    this.native.close(handle);
  }
}
