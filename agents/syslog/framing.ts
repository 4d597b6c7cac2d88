// Syslog over a byte stream (TCP, TLS): RFC 6587 octet counting
// ("LEN SP MSG") and LF-terminated messages, detected per message by the
// first byte (a digit 1-9 starts a count, anything else a line). Memory per
// connection is capped: at most `maxMessageBytes` of a message are kept, the
// rest is counted and skipped. An octet count above `maxFrameBytes` cannot
// be a message we want, and there is no safe way to find the next frame, so
// the connection is given up.

export type FramingFailure = 'octet-count-too-large';

export interface FramerLimits {
  maxMessageBytes: number;
  /** Largest octet count accepted (the excess over maxMessageBytes is skipped). */
  maxFrameBytes: number;
}

/** Receives each message: at most maxMessageBytes of it, and its full length on the wire. */
export type FrameHandler = (bytes: Buffer, receivedBytes: number, framing: 'octet-counting' | 'lf') => void;

const LF = 0x0a;
const SP = 0x20;
/** More digits than this is not an octet count (and would overflow the arithmetic anyway). */
const MAX_COUNT_DIGITS = 10;

type Mode = 'start' | 'count' | 'octets' | 'line';

export class SyslogStreamFramer {
  private mode: Mode = 'start';
  private parts: Buffer[] = [];
  private keptBytes = 0;
  private receivedBytes = 0;
  /** Octet counting: the count being read, then the bytes still to come. */
  private count = 0;
  private countDigits = 0;
  private framesEmitted = 0;
  /** Parts before this index are already copies (see copyPartialFrame). */
  private partsFromEarlierChunks = 0;

  constructor(
    private readonly limits: FramerLimits,
    private readonly onFrame: FrameHandler,
  ) {}

  /** True while a message has started and not ended: the connection holds a partial frame. */
  get inFrame(): boolean {
    return this.mode !== 'start';
  }

  /** Messages emitted so far (the receiver tells a slow sender from a busy one by it). */
  get completedFrames(): number {
    return this.framesEmitted;
  }

  /** Bytes held for the message in progress (never more than maxMessageBytes plus a count prefix). */
  get bufferedBytes(): number {
    return this.keptBytes;
  }

  /** Feeds a chunk; returns a failure when the stream cannot be framed any more (close the connection). */
  push(chunk: Buffer): FramingFailure | null {
    this.partsFromEarlierChunks = this.parts.length;
    let at = 0;
    while (at < chunk.length) {
      switch (this.mode) {
        case 'start':
          at = this.startFrame(chunk, at);
          break;
        case 'count': {
          const next = this.readCount(chunk, at);
          if (typeof next === 'string') return next;
          at = next;
          break;
        }
        case 'octets':
          at = this.readOctets(chunk, at);
          break;
        case 'line':
          at = this.readLine(chunk, at);
          break;
      }
    }
    this.copyPartialFrame();
    return null;
  }

  /**
   * A message still in progress keeps copies of its bytes, not views of the
   * chunk: a view would pin the whole chunk (up to 64 KiB) in memory per
   * part, and a sender trickling bytes would pin far more than it sent.
   */
  private copyPartialFrame(): void {
    for (let i = this.partsFromEarlierChunks; i < this.parts.length; i++) this.parts[i] = Buffer.from(this.parts[i]!);
  }

  /**
   * The peer closed: an unterminated line is still a message (many senders
   * omit the last LF). Returns true when an octet-counted frame was cut short.
   */
  end(): boolean {
    if (this.mode === 'count') this.countWasText();
    if (this.mode === 'line') {
      this.emit('lf');
      return false;
    }
    const incomplete = this.mode === 'octets';
    this.reset();
    return incomplete;
  }

  /** We are closing the connection: drop a partial message. Returns true when there was one. */
  abandon(): boolean {
    const partial = this.mode !== 'start';
    this.reset();
    return partial;
  }

  private startFrame(chunk: Buffer, at: number): number {
    const byte = chunk[at]!;
    // Blank separators between messages (LF, CR, NUL) are skipped.
    if (byte === LF || byte === 0x0d || byte === 0x00) return at + 1;
    if (byte >= 0x31 && byte <= 0x39) {
      this.mode = 'count';
      this.count = 0;
      this.countDigits = 0;
    } else {
      this.mode = 'line';
    }
    return at;
  }

  private readCount(chunk: Buffer, at: number): number | FramingFailure {
    while (at < chunk.length) {
      const byte = chunk[at]!;
      if (byte === SP) {
        if (this.count > this.limits.maxFrameBytes) {
          this.reset();
          return 'octet-count-too-large';
        }
        this.mode = 'octets';
        return at + 1;
      }
      if (byte < 0x30 || byte > 0x39 || this.countDigits >= MAX_COUNT_DIGITS) {
        this.countWasText();
        return at;
      }
      this.count = this.count * 10 + (byte - 0x30);
      this.countDigits++;
      at++;
    }
    return at;
  }

  /** Digits not followed by SP: not a count after all but the start of a line. */
  private countWasText(): void {
    this.keep(Buffer.from(String(this.count))); // the first digit is 1-9, so no leading zeros were lost
    this.mode = 'line';
  }

  private readOctets(chunk: Buffer, at: number): number {
    const available = Math.min(this.count, chunk.length - at);
    this.keep(chunk.subarray(at, at + available));
    this.count -= available;
    if (this.count === 0) this.emit('octet-counting');
    return at + available;
  }

  private readLine(chunk: Buffer, at: number): number {
    const lf = chunk.indexOf(LF, at);
    const end = lf === -1 ? chunk.length : lf;
    this.keep(chunk.subarray(at, end));
    if (lf === -1) return end;
    this.emit('lf');
    return lf + 1;
  }

  /** Keeps what fits under maxMessageBytes and counts the rest as received. */
  private keep(bytes: Buffer): void {
    this.receivedBytes += bytes.length;
    const room = this.limits.maxMessageBytes - this.keptBytes;
    if (room <= 0 || bytes.length === 0) return;
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    this.parts.push(kept);
    this.keptBytes += kept.length;
  }

  private emit(framing: 'octet-counting' | 'lf'): void {
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.keptBytes);
    const received = this.receivedBytes;
    this.reset();
    this.framesEmitted++;
    this.onFrame(bytes, received, framing);
  }

  private reset(): void {
    this.mode = 'start';
    this.parts = [];
    this.partsFromEarlierChunks = 0;
    this.keptBytes = 0;
    this.receivedBytes = 0;
    this.count = 0;
    this.countDigits = 0;
  }
}
