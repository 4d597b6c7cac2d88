// The agent logs each refused message with its reason, but a flood of
// garbage on a receiver's port must not flood the log: ten lines a minute
// per receiver, the rest summed up by reason.

import { describe, expect, it } from 'vitest';
import { DropLog, RejectionLog } from '../agents/rejection-log.js';

function logWithClock() {
  const lines: string[] = [];
  let now = 1_000_000;
  const log = new RejectionLog(() => 'syslog UDP 514', { warn: (line) => void lines.push(line) }, () => now);
  return { lines, log, advance: (ms: number) => (now += ms) };
}

describe('the agent rejection log', () => {
  it('logs the first ten refusals of a minute one by one, then sums the rest up by reason', () => {
    const { lines, log } = logWithClock();
    for (let i = 0; i < 10; i++) log.reject('missing-pri', '192.0.2.7', `junk ${i}`);
    for (let i = 0; i < 5; i++) log.reject('bad-pri', '192.0.2.8', 'PRI 999');
    log.reject('missing-pri', '192.0.2.7', 'more junk');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe('syslog UDP 514: refused a message from 192.0.2.7: missing-pri: junk 0');
    log.roll();
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe('syslog UDP 514: refused 6 more message(s) in the last minute, not logged one by one (bad-pri 5, missing-pri 1)');
    log.close();
  });

  it('starts a new minute by itself: after 60 s refusals are logged one by one again, and a quiet minute writes no summary', () => {
    const { lines, log, advance } = logWithClock();
    for (let i = 0; i < 11; i++) log.reject('bad-header', '', 'cut');
    expect(lines).toHaveLength(10);
    expect(lines[0]).toContain('refused a message from -: bad-header: cut');
    advance(60_000);
    log.reject('bad-header', '198.51.100.1', 'cut again');
    expect(lines.slice(10)).toEqual(['syslog UDP 514: refused 1 more message(s) in the last minute, not logged one by one (bad-header 1)', 'syslog UDP 514: refused a message from 198.51.100.1: bad-header: cut again']);
    log.roll();
    expect(lines).toHaveLength(12);
    log.close();
  });

  it('a refusal the receiver already put in words (traps) is rate-limited the same way', () => {
    const { lines, log } = logWithClock();
    for (let i = 0; i < 12; i++) log.line('malformed', `SNMP trap port 162: dropped a datagram from 192.0.2.9:5000: malformed: #${i}`);
    log.close();
    expect(lines.slice(0, 10).every((line) => line.startsWith('SNMP trap port 162: dropped a datagram'))).toBe(true);
    expect(lines[10]).toContain('refused 2 more message(s) in the last minute, not logged one by one (malformed 2)');
  });

  it('drops by the UDP thread are summed and written as one line, none when there were none', () => {
    const lines: string[] = [];
    const drops = new DropLog(() => 'syslog UDP 514', (line) => void lines.push(line));
    drops.add(5);
    drops.add(7);
    drops.flush();
    drops.flush();
    drops.close();
    expect(lines).toEqual(['syslog UDP 514: dropped 12 datagram(s) in the last 10 s: the agent fell behind (counted as overflow in its syslog counters)']);
  });
});
