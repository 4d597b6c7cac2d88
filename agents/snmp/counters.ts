// Rates from consecutive counter samples, in exact bigint arithmetic.
// A counter that went backwards wrapped (add 2^32 or 2^64, by the width the
// agent sent) only while the agent kept running; if sysUpTime went
// backwards the agent restarted and the counters began again, so there is
// no rate for that interval: never a false "1 Ebps" spike.

export type CounterWidth = 32 | 64;

export const TWO_32 = 1n << 32n;
export const TWO_64 = 1n << 64n;

/** How sysUpTime moved between two polls. */
export type UptimeChange =
  /** It advanced (or stood still): the agent kept running. */
  | 'forward'
  /** It passed 2^32 ticks (497 days) and started again from 0, in step with the wall clock. */
  | 'wrapped'
  /** It went backwards: the agent (or the device) restarted. */
  | 'restarted'
  /** No previous or no current value. */
  | 'unknown';

/** TimeTicks are hundredths of a second and 32 bits wide. */
const TICKS_MODULUS = 2 ** 32;

/**
 * sysUpTime smaller than before is a restart, unless the previous value
 * plus the wall-clock time elapsed crosses 2^32 and lands near the new
 * value (within a tolerance of max(10 s, 10% of the interval)): then it
 * wrapped and the agent kept running.
 */
export function classifyUptime(previousTicks: number | null, currentTicks: number | null, elapsedMs: number): UptimeChange {
  if (previousTicks === null || currentTicks === null) return 'unknown';
  if (currentTicks >= previousTicks) return 'forward';
  const expected = previousTicks + elapsedMs / 10;
  if (expected < TICKS_MODULUS) return 'restarted';
  const toleranceTicks = Math.max(1000, elapsedMs / 100);
  return Math.abs(expected - TICKS_MODULUS - currentTicks) <= toleranceTicks ? 'wrapped' : 'restarted';
}

export type CounterStep =
  | { kind: 'delta'; delta: bigint; wrapped: boolean }
  | { kind: 'reset'; reason: 'agent-restarted' | 'implausible-wrap' | 'width-changed' };

export interface CounterSample {
  value: bigint;
  width: CounterWidth;
}

/**
 * The increase of a counter between two samples. `maxPlausibleDelta`
 * bounds a wrap: a 64-bit counter that "wrapped" by more than that (an
 * interface counter cleared by an operator while the agent ran) is a
 * reset, not 10^19 octets. Default: any wrap of a 32-bit counter; half
 * the range of a 64-bit one, which no device covers in one poll interval.
 */
export function counterStep(previous: CounterSample, current: CounterSample, uptime: UptimeChange, maxPlausibleDelta?: bigint): CounterStep {
  if (uptime === 'restarted') return { kind: 'reset', reason: 'agent-restarted' };
  if (previous.width !== current.width) return { kind: 'reset', reason: 'width-changed' };
  if (current.value >= previous.value) return { kind: 'delta', delta: current.value - previous.value, wrapped: false };
  const modulus = current.width === 64 ? TWO_64 : TWO_32;
  const delta = current.value + modulus - previous.value;
  // Counter32 wraps every few seconds on fast links: any wrap is believable. A 64-bit counter never covers half its range in one interval.
  const limit = maxPlausibleDelta ?? (current.width === 64 ? TWO_64 / 2n : TWO_32);
  if (delta > limit) return { kind: 'reset', reason: 'implausible-wrap' };
  return { kind: 'delta', delta, wrapped: true };
}

/**
 * Per second over `elapsedMs`. The delta is exact; only this last division
 * goes to floating point (microseconds keep it exact for any real interval).
 */
export function ratePerSecond(delta: bigint, elapsedMs: number): number {
  if (!(elapsedMs > 0)) throw new RangeError(`elapsed time must be positive, got ${elapsedMs} ms`);
  const micros = BigInt(Math.round(elapsedMs * 1000));
  const whole = (delta * 1_000_000n) / micros;
  const remainder = (delta * 1_000_000n) % micros;
  return Number(whole) + Number(remainder) / Number(micros);
}

/**
 * Largest believable increase of an octet counter on a link of `speedMbps`
 * over `elapsedMs`: twice the line rate (slack for timing jitter and agents
 * that count headers). Undefined when the speed is unknown.
 */
export function maxOctetsForSpeed(speedMbps: number | undefined, elapsedMs: number): bigint | undefined {
  if (speedMbps === undefined || !(speedMbps > 0)) return undefined;
  const bytesPerSecond = (speedMbps * 1e6) / 8;
  return BigInt(Math.ceil(bytesPerSecond * (elapsedMs / 1000) * 2)) + 1_000_000n;
}
