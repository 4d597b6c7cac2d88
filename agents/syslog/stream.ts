// Syslog over TCP (RFC 6587) and TLS (RFC 5425). One net.Server for both:
// TLS connections are wrapped per socket, so that every connection, its
// limits and the reason it ended are accounted in one place.
//
// Memory is bounded: at most maxConnections connections, each holding at
// most maxMessageBytes of a partial message. A connection is closed, with
// the reason counted, when it sends an impossible octet count, takes longer
// than frameTimeoutMs to finish a message it started (a slow sender holding
// a buffer), stays silent for idleTimeoutMs, or exceeds the limits.

import net from 'node:net';
import tls from 'node:tls';
import { SyslogStreamFramer } from './framing.js';
import { countReason, MessageIntake, normalizeAddress, type CloseReason, type IntakeOptions, type Origin, type SyslogCounters } from './intake.js';

export interface StreamReceiverOptions extends IntakeOptions {
  /** Address to bind; default 0.0.0.0. */
  host?: string;
  /** 0 = an ephemeral port (read it from `port` after listen). */
  port: number;
  /** Largest RFC 6587 octet count accepted; above it the connection is closed. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Default 1000. */
  maxConnections?: number;
  /** Default 100: one misbehaving device cannot take every slot. */
  maxConnectionsPerAddress?: number;
  /** A connection silent this long is closed; 0 = never. Default 15 minutes (senders reconnect). */
  idleTimeoutMs?: number;
  /** A message started but not finished within this is a slow (or hostile) sender. Default 30 s. */
  frameTimeoutMs?: number;
}

export interface TlsReceiverOptions extends StreamReceiverOptions {
  /** Server private key and certificate chain, PEM. */
  key: string | Buffer;
  cert: string | Buffer;
  /** CA certificate(s), PEM, that client certificates must chain to. Needed unless clientCertificate is 'none'. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** 'none' (default): not asked; 'optional': asked, and if given it must verify; 'required': a verified one or no connection. */
  clientCertificate?: 'none' | 'optional' | 'required';
  /** Default 10 s. */
  handshakeTimeoutMs?: number;
}

const DEFAULTS = {
  maxFrameBytes: 8 * 1024 * 1024,
  maxConnections: 1000,
  maxConnectionsPerAddress: 100,
  idleTimeoutMs: 15 * 60 * 1000,
  frameTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
};

/** One connection's state: its framer, when its current frame started, and why it ended. */
class Connection {
  closeReason: CloseReason | null = null;
  frameStartedAt = 0;
  stream: net.Socket;
  /** Set once the connection may send messages (after the TLS handshake and certificate check). */
  framer: SyslogStreamFramer | null = null;

  constructor(readonly socket: net.Socket, readonly address: string) {
    this.stream = socket;
  }

  close(reason: CloseReason): void {
    this.closeReason ??= reason;
    this.stream.destroy();
    if (this.stream !== this.socket) this.socket.destroy();
  }
}

abstract class StreamSyslogReceiver {
  protected readonly intake: MessageIntake;
  private server: net.Server | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private boundPort = 0;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  protected readonly limits: Omit<typeof DEFAULTS, 'handshakeTimeoutMs'>;

  constructor(protected readonly options: StreamReceiverOptions) {
    this.intake = new MessageIntake(options);
    this.limits = {
      maxFrameBytes: options.maxFrameBytes ?? DEFAULTS.maxFrameBytes,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxConnectionsPerAddress: options.maxConnectionsPerAddress ?? DEFAULTS.maxConnectionsPerAddress,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      frameTimeoutMs: options.frameTimeoutMs ?? DEFAULTS.frameTimeoutMs,
    };
  }

  get counters(): SyslogCounters {
    return this.intake.counters;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The listening server; TLS overrides it with a tls.Server (which wraps each connection before ours sees it). */
  protected createServer(): net.Server {
    return net.createServer({ noDelay: true });
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.server) throw new Error('the syslog receiver is already listening');
    const host = this.options.host ?? '0.0.0.0';
    const server = this.createServer();
    server.on('connection', (socket: net.Socket) => this.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', () => undefined); // accept errors (EMFILE) must not crash the agent; the counters show the effect
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
    const sweepEvery = Math.max(100, Math.min(this.limits.frameTimeoutMs / 4, 5000));
    this.sweepTimer = setInterval(() => this.closeSlowSenders(), sweepEvery);
    this.sweepTimer.unref();
    return { host, port: this.boundPort };
  }

  /** Stops listening and closes every connection (counted as 'receiver-closed'). */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const connection of this.connections) connection.close('receiver-closed');
    await closed;
  }

  /** Called with a new connection that passed the limits; calls `startReading` when it may send messages. */
  protected abstract open(connection: Connection): void;

  private onConnection(socket: net.Socket): void {
    const address = normalizeAddress(socket.remoteAddress);
    const connection = new Connection(socket, address);
    const counters = this.intake.counters.connections;
    counters.accepted++;
    counters.open++;
    this.connections.add(connection);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.once('close', () => this.onClosed(connection));
    socket.on('error', () => connection.close('socket-error'));
    if (this.connections.size > this.limits.maxConnections) return connection.close('too-many-connections');
    if (this.perAddress.get(address)! > this.limits.maxConnectionsPerAddress) return connection.close('too-many-from-address');
    this.open(connection);
  }

  private onClosed(connection: Connection): void {
    const counters = this.intake.counters;
    counters.connections.open--;
    this.connections.delete(connection);
    const left = (this.perAddress.get(connection.address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(connection.address, left);
    else this.perAddress.delete(connection.address);
    // The peer closing ends its last unterminated line (a message); a close of ours abandons a partial frame.
    const framer = connection.framer;
    const cutShort = framer ? (connection.closeReason === null ? framer.end() : framer.abandon()) : false;
    if (cutShort) this.intake.rejectFrame('incomplete-frame', 'the connection closed inside a message', connection.address);
    countReason(counters.connections.closed, connection.closeReason ?? 'peer-closed');
  }

  /** Data flows: frame it, and watch for slow and idle senders. */
  protected startReading(connection: Connection, peerSubject?: string): void {
    const { stream } = connection;
    const origin: Origin = { sourceAddress: connection.address, node: this.intake.nodeFor(connection.address), transport: stream instanceof tls.TLSSocket ? 'tls' : 'tcp' };
    if (peerSubject !== undefined) origin.peerSubject = peerSubject;
    const framer = new SyslogStreamFramer({ maxMessageBytes: this.intake.maxMessageBytes, maxFrameBytes: this.limits.maxFrameBytes }, (bytes, receivedBytes, framing) =>
      this.intake.accept(bytes, receivedBytes, origin, framing),
    );
    connection.framer = framer;
    stream.on('data', (chunk: Buffer) => this.onData(connection, framer, chunk));
    if (this.limits.idleTimeoutMs > 0) {
      stream.setTimeout(this.limits.idleTimeoutMs);
      stream.on('timeout', () => connection.close('idle-timeout'));
    }
  }

  private onData(connection: Connection, framer: SyslogStreamFramer, chunk: Buffer): void {
    if (connection.closeReason) return;
    const framesBefore = framer.completedFrames;
    const failure = framer.push(chunk);
    if (failure) {
      this.intake.rejectFrame(failure, `octet count above the ${this.limits.maxFrameBytes}-byte limit`, connection.address);
      connection.close(failure);
      return;
    }
    // Stamp the start of the frame in progress once per chunk (cheap): a busy sender's chunks end mid-frame
    // all the time, but each chunk that completes a frame starts the clock again.
    if (!framer.inFrame) connection.frameStartedAt = 0;
    else if (connection.frameStartedAt === 0 || framer.completedFrames !== framesBefore) connection.frameStartedAt = Date.now();
  }

  private closeSlowSenders(): void {
    const deadline = Date.now() - this.limits.frameTimeoutMs;
    for (const connection of this.connections) {
      if (connection.frameStartedAt !== 0 && connection.frameStartedAt < deadline && connection.framer?.inFrame) connection.close('slow-frame');
    }
  }
}

/** Syslog over plain TCP: octet counting and LF framing, detected per message. */
export class TcpSyslogReceiver extends StreamSyslogReceiver {
  constructor(options: StreamReceiverOptions) {
    super(options);
  }

  protected open(connection: Connection): void {
    this.startReading(connection);
  }
}

/**
 * Syslog over TLS (RFC 5425): the same framing inside TLS, with optional or
 * required client certificates. A tls.Server does the handshake (it is what
 * sets `authorized` from the chain check); the raw connection is accounted
 * like a TCP one, and found again by its peer address when it turns secure.
 */
export class TlsSyslogReceiver extends StreamSyslogReceiver {
  private readonly tlsOptions: TlsReceiverOptions;
  private readonly clientCertificate: 'none' | 'optional' | 'required';
  private readonly handshaking = new Map<string, Connection>();

  constructor(options: TlsReceiverOptions) {
    super(options);
    this.tlsOptions = options;
    this.clientCertificate = options.clientCertificate ?? 'none';
    if (this.clientCertificate !== 'none' && !options.ca) throw new RangeError(`clientCertificate '${this.clientCertificate}' needs the CA certificate(s) to verify clients against (ca)`);
    tls.createSecureContext({ key: options.key, cert: options.cert, ...(options.ca ? { ca: options.ca } : {}) }); // a bad key or certificate fails here, not at the first connection
  }

  protected override createServer(): net.Server {
    const { key, cert, ca } = this.tlsOptions;
    const server = tls.createServer({
      key,
      cert,
      ...(ca ? { ca } : {}),
      requestCert: this.clientCertificate !== 'none',
      // Checked in onSecure, so that a refused certificate is counted with its own reason.
      rejectUnauthorized: false,
      handshakeTimeout: this.tlsOptions.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
      noDelay: true,
    });
    server.on('secureConnection', (tlsSocket: tls.TLSSocket) => this.onSecure(tlsSocket));
    server.on('tlsClientError', (error: Error & { code?: string }, tlsSocket: tls.TLSSocket) => {
      const connection = this.handshaking.get(peerKey(tlsSocket));
      connection?.close(error.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls-handshake-timeout' : 'tls-handshake-failed');
    });
    return server;
  }

  protected open(connection: Connection): void {
    const key = peerKey(connection.socket);
    this.handshaking.set(key, connection);
    connection.socket.once('close', () => this.handshaking.delete(key));
  }

  private onSecure(tlsSocket: tls.TLSSocket): void {
    const key = peerKey(tlsSocket);
    const connection = this.handshaking.get(key);
    if (!connection || connection.closeReason) return void tlsSocket.destroy();
    this.handshaking.delete(key);
    connection.stream = tlsSocket;
    tlsSocket.on('error', () => connection.close('socket-error'));
    const verdict = this.verifyClient(tlsSocket);
    if (verdict.refused) return connection.close('client-certificate-rejected');
    this.startReading(connection, verdict.subject);
  }

  private verifyClient(tlsSocket: tls.TLSSocket): { refused: boolean; subject?: string } {
    if (this.clientCertificate === 'none') return { refused: false };
    const certificate = tlsSocket.getPeerCertificate();
    const presented = certificate !== null && Object.keys(certificate).length > 0;
    if (!presented) return { refused: this.clientCertificate === 'required' };
    if (!tlsSocket.authorized) return { refused: true };
    return { refused: false, subject: distinguishedName(certificate.subject) };
  }
}

function peerKey(socket: net.Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** "O=City E-Gov,CN=router-17" from node's subject object (multi-valued attributes joined with +). */
function distinguishedName(subject: tls.PeerCertificate['subject'] | undefined): string {
  if (!subject) return '';
  return Object.entries(subject)
    .map(([attribute, value]) => `${attribute}=${Array.isArray(value) ? value.join('+') : value}`)
    .join(',');
}
