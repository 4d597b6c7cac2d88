// A small HTTP/1.1 client for the notification hot path: JSON POSTs over
// kept-alive connections, a pool per origin. Node's http.request costs more
// CPU per request than the receiver it talks to (its ClientRequest, agent
// and header checks); here a request is one write of a prepared head and
// body, and the answer is read by a parser that knows only what a webhook
// answers with: a status line, headers, and a body sized by Content-Length,
// chunked, or ended by the connection closing.

import net from 'node:net';
import tls from 'node:tls';

export interface PostAnswer {
  status: number;
  /** The first 4 kB of the body, as text. */
  text: string;
}

/** A connection idle this long is closed by us before the peer's keep-alive timeout (Node's is 5 s) can race a new request. */
const IDLE_MS = 4_000;
/** Idle connections kept per origin. */
const MAX_IDLE = 64;
/** A body larger than this is not read to its end: the connection is dropped instead. */
const MAX_BODY = 1 << 20;
const KEEP = 4096;

type Pending = { resolve: (a: PostAnswer) => void; reject: (e: Error) => void };

class Connection {
  readonly socket: net.Socket;
  private buffer: Buffer | undefined;
  private pending: Pending | undefined;
  /** Set once the peer closed or an error happened: never reused. */
  dead = false;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(url: URL, onGone: (c: Connection) => void) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket = url.protocol === 'https:' ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] }) : net.connect({ host, port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer?.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse(false);
    });
    const gone = (error?: Error) => {
      if (this.dead) return;
      this.dead = true;
      if (this.idleTimer) clearTimeout(this.idleTimer);
      onGone(this);
      // A body ended by the close (no Content-Length, not chunked) is complete now.
      if (this.pending && !error) this.parse(true);
      const p = this.pending;
      this.pending = undefined;
      p?.reject(error ?? new Error('the connection closed before an answer'));
    };
    this.socket.on('error', (error) => gone(error));
    this.socket.on('end', () => gone());
    this.socket.on('close', () => gone());
  }

  send(head: string, payload: Buffer): Promise<PostAnswer> {
    this.socket.ref();
    return new Promise<PostAnswer>((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
    });
  }

  destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }

  /** Answers once the buffer holds a whole response. `closed`: the peer closed (a body without a length ends here). */
  private parse(closed: boolean): void {
    const buffer = this.buffer;
    if (!this.pending || !buffer) return;
    const end = buffer.indexOf('\r\n\r\n');
    if (end < 0) {
      if (buffer.length > 64 * 1024) this.fail(new Error('the answer has no end of headers within 64 kB'));
      return;
    }
    const lines = buffer.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!statusLine) return this.fail(new Error(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`));
    const status = Number(statusLine[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const start = end + 4;
    if (status >= 100 && status < 200) {
      // 100 Continue and the like: skip to the real answer.
      this.buffer = buffer.subarray(start);
      return this.parse(closed);
    }
    const length = headers.get('content-length');
    const chunked = /chunked/i.test(headers.get('transfer-encoding') ?? '');
    let body: Buffer;
    let rest: Buffer;
    if (chunked) {
      const parts: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = buffer.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = parseInt(buffer.toString('latin1', at, lineEnd), 16);
        if (!Number.isFinite(size)) return this.fail(new Error('a bad chunk size in the answer'));
        if (size === 0) {
          // The last chunk; then trailers (usually none) and an empty line.
          const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
          const noTrailers = buffer.length >= lineEnd + 4 && buffer.toString('latin1', lineEnd, lineEnd + 4) === '\r\n\r\n';
          if (!noTrailers && trailerEnd < 0) return;
          rest = buffer.subarray(noTrailers ? lineEnd + 4 : trailerEnd + 4);
          break;
        }
        if (buffer.length < lineEnd + 2 + size + 2) {
          if (buffer.length - start > MAX_BODY) return this.finish(status, Buffer.concat(parts), false);
          return;
        }
        parts.push(buffer.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    } else if (length !== undefined) {
      const n = Number(length);
      if (!Number.isInteger(n) || n < 0) return this.fail(new Error(`a bad Content-Length in the answer: ${length}`));
      if (n > MAX_BODY) {
        if (buffer.length >= start + KEEP || closed) return this.finish(status, buffer.subarray(start, start + KEEP), false);
        return;
      }
      if (buffer.length < start + n) return;
      body = buffer.subarray(start, start + n);
      rest = buffer.subarray(start + n);
    } else if (status === 204 || status === 304) {
      body = Buffer.alloc(0);
      rest = buffer.subarray(start);
    } else {
      // Ended by the connection closing.
      if (!closed) {
        if (buffer.length - start > MAX_BODY) this.finish(status, buffer.subarray(start, start + KEEP), false);
        return;
      }
      return this.finish(status, buffer.subarray(start), false);
    }
    this.buffer = rest.length ? rest : undefined;
    const reusable = !/close/i.test(headers.get('connection') ?? '') && !closed;
    this.finish(status, body, reusable);
  }

  /** Hooked by the pool: called with whether the connection may take another request. */
  onAnswer: (reusable: boolean) => void = () => undefined;

  private finish(status: number, body: Buffer, reusable: boolean): void {
    const p = this.pending;
    this.pending = undefined;
    if (!reusable) this.destroy();
    this.onAnswer(reusable && !this.dead);
    p?.resolve({ status, text: body.subarray(0, KEEP).toString('utf8') });
  }

  private fail(error: Error): void {
    const p = this.pending;
    this.pending = undefined;
    this.destroy();
    p?.reject(error);
  }
}

const pools = new Map<string, Connection[]>();

function idle(origin: string): Connection[] {
  let list = pools.get(origin);
  if (!list) pools.set(origin, (list = []));
  return list;
}

/**
 * POSTs `payload` (JSON) to `url`; resolves with the answer's status and
 * text whatever the status; rejects when the peer cannot be reached, the
 * connection breaks, or no answer comes within `timeoutMs`.
 */
export function postJson(url: URL, payload: Buffer, timeoutMs: number, headers: Record<string, string> = {}): Promise<PostAnswer> {
  const origin = `${url.protocol}//${url.host}`;
  const list = idle(origin);
  let connection: Connection | undefined;
  while ((connection = list.pop()) && connection.dead);
  if (connection?.idleTimer) clearTimeout(connection.idleTimer);
  const conn =
    connection ??
    new Connection(url, (gone) => {
      const i = list.indexOf(gone);
      if (i >= 0) list.splice(i, 1);
    });
  conn.onAnswer = (reusable) => {
    if (!reusable || list.length >= MAX_IDLE) {
      if (!conn.dead) conn.destroy();
      return;
    }
    conn.idleTimer = setTimeout(() => {
      const i = list.indexOf(conn);
      if (i >= 0) list.splice(i, 1);
      conn.destroy();
    }, IDLE_MS);
    conn.idleTimer.unref();
    // An idle connection does not keep the process alive.
    conn.socket.unref();
    list.push(conn);
  };
  let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${payload.length}\r\nconnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name + value)) throw new Error(`header ${name}: no line breaks allowed`);
    head += `${name}: ${value}\r\n`;
  }
  head += '\r\n';
  return new Promise<PostAnswer>((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    conn.send(head, payload).then(
      (answer) => {
        clearTimeout(timer);
        resolve(answer);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** Closes every idle connection (tests; a stopping server). */
export function closeIdleConnections(): void {
  for (const list of pools.values()) for (const c of list.splice(0)) c.destroy();
}
