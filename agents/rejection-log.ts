// What the agent's receivers refused or dropped, in its log. Refusals: each
// with its reason and source, but at most PER_WINDOW lines a minute per
// receiver, so a flood of garbage on a syslog or trap port cannot flood the
// log; the rest of each minute is summed up in one line, by reason. Drops
// (the UDP thread's queue full): summed, one line at most every 10 s.

const WINDOW_MS = 60_000;
const PER_WINDOW = 10;

export interface RejectionLogOutput {
  warn(message: string): void;
}

export class RejectionLog {
  private windowStart: number;
  private logged = 0;
  private suppressed = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** The receiver, as the lines name it: "syslog UDP 514" (a function when the port is known only once listening). */
    private readonly receiverName: string | (() => string),
    private readonly output: RejectionLogOutput,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
    // The summary of a quiet tail still goes out: checked every window.
    this.timer = setInterval(() => this.roll(), WINDOW_MS);
    this.timer.unref();
  }

  reject(reason: string, source: string, detail: string): void {
    this.line(reason, `${this.receiver()}: refused a message from ${source || '-'}: ${reason}: ${detail}`);
  }

  /** A refusal the receiver has already put in words (the trap receiver does). */
  line(reason: string, text: string): void {
    this.rollIfDue();
    if (this.logged < PER_WINDOW) {
      this.logged++;
      this.output.warn(text);
      return;
    }
    this.suppressed.set(reason, (this.suppressed.get(reason) ?? 0) + 1);
  }

  /** Writes the summary of what was not logged one by one, if anything. */
  roll(): void {
    if (this.suppressed.size > 0) {
      const total = [...this.suppressed.values()].reduce((sum, n) => sum + n, 0);
      const byReason = [...this.suppressed].map(([reason, n]) => `${reason} ${n}`).join(', ');
      this.output.warn(`${this.receiver()}: refused ${total} more message(s) in the last minute, not logged one by one (${byReason})`);
    }
    this.suppressed = new Map();
    this.logged = 0;
    this.windowStart = this.now();
  }

  close(): void {
    this.roll();
    clearInterval(this.timer);
  }

  private receiver(): string {
    return typeof this.receiverName === 'string' ? this.receiverName : this.receiverName();
  }

  private rollIfDue(): void {
    if (this.now() - this.windowStart >= WINDOW_MS) this.roll();
  }
}

const DROP_INTERVAL_MS = 10_000;

export class DropLog {
  private pending = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly receiver: () => string,
    private readonly warn: (line: string) => void,
  ) {
    this.timer = setInterval(() => this.flush(), DROP_INTERVAL_MS);
    this.timer.unref();
  }

  add(dropped: number): void {
    this.pending += dropped;
  }

  flush(): void {
    if (this.pending === 0) return;
    this.warn(`${this.receiver()}: dropped ${this.pending} datagram(s) in the last ${DROP_INTERVAL_MS / 1000} s: the agent fell behind (counted as overflow in its syslog counters)`);
    this.pending = 0;
  }

  close(): void {
    this.flush();
    clearInterval(this.timer);
  }
}
