// Timestamps as syslog senders write them: RFC 3339 (RFC 5424, and some BSD
// senders), and the BSD "Mmm dd hh:mm:ss" wall-clock form with no year and
// no zone.

export const MONTHS: Readonly<Record<string, number>> = {
  Jan: 1, Feb: 2, Mar: 3, Apr: 4, May: 5, Jun: 6, Jul: 7, Aug: 8, Sep: 9, Oct: 10, Nov: 11, Dec: 12,
};

/** A device clock can run a little ahead of ours; beyond this a year-less date is taken to be last year's. */
const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** Milliseconds from a fraction of up to 6 digits ("003" -> 3, "52" -> 520, "000003" -> 0). */
export function fractionToMs(fraction: string | undefined): number {
  if (!fraction) return 0;
  return Math.floor(Number(fraction.padEnd(3, '0').slice(0, 3)));
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** True when the fields name a real instant (no Feb 30, no hour 24, no leap second). */
export function isValidWallClock(clock: WallClock): boolean {
  const { year, month, day, hour, minute, second } = clock;
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  return day <= days;
}

/** Epoch ms of a wall-clock time at a UTC offset (minutes), or in this machine's zone when the offset is undefined. */
export function wallClockToEpoch(clock: WallClock, offsetMinutes: number | undefined): number {
  const { year, month, day, hour, minute, second, millisecond } = clock;
  if (year < 100) return wallClockBefore100(clock, offsetMinutes);
  const utc = Date.UTC(year, month - 1, day, hour, minute, second, millisecond);
  return offsetMinutes === undefined ? utc - localOffsetMs(year, month, day, hour) : utc - offsetMinutes * 60_000;
}

/** This machine's UTC offset at a local wall-clock hour, remembered: zone lookups are slow and messages cluster in time. */
const localOffsets = new Map<number, number>();
function localOffsetMs(year: number, month: number, day: number, hour: number): number {
  const key = ((year * 13 + month) * 32 + day) * 24 + hour;
  let offset = localOffsets.get(key);
  if (offset === undefined) {
    offset = Date.UTC(year, month - 1, day, hour) - new Date(year, month - 1, day, hour).getTime();
    if (localOffsets.size >= 4096) localOffsets.clear();
    localOffsets.set(key, offset);
  }
  return offset;
}

/** Date takes years 0-99 to mean 1900-1999: set the year explicitly (no device sends these, but they parse). */
function wallClockBefore100(clock: WallClock, offsetMinutes: number | undefined): number {
  const { year, month, day, hour, minute, second, millisecond } = clock;
  if (offsetMinutes === undefined) {
    const local = new Date(2000, month - 1, day, hour, minute, second, millisecond);
    local.setFullYear(year);
    return local.getTime();
  }
  const utc = new Date(Date.UTC(2000, month - 1, day, hour, minute, second, millisecond));
  utc.setUTCFullYear(year);
  return utc.getTime() - offsetMinutes * 60_000;
}

/** The number written by `count` ASCII digits at `at`, or -1 if any is not a digit. */
function digitsAt(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1; // NaN past the end compares false both ways: caught by the length checks
    value = value * 10 + digit;
  }
  return value;
}

/**
 * An RFC 3339 timestamp as RFC 5424 section 6.2.3 restricts it
 * (YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+HH:MM|-HH:MM)); null when malformed or
 * out of range. Read by hand: it is on every message's path.
 */
export function parseRfc3339(text: string): number | null {
  if (text.length < 20 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') return null;
  const clock: WallClock = {
    year: digitsAt(text, 0, 4),
    month: digitsAt(text, 5, 2),
    day: digitsAt(text, 8, 2),
    hour: digitsAt(text, 11, 2),
    minute: digitsAt(text, 14, 2),
    second: digitsAt(text, 17, 2),
    millisecond: 0,
  };
  if (clock.year < 0 || clock.month < 0 || clock.day < 0 || clock.hour < 0 || clock.minute < 0 || clock.second < 0) return null;
  let at = 19;
  if (text[at] === '.') {
    const start = ++at;
    while (at < text.length && at - start < 7 && text.charCodeAt(at) >= 0x30 && text.charCodeAt(at) <= 0x39) at++;
    if (at === start || at - start > 6) return null;
    clock.millisecond = fractionToMs(text.slice(start, at));
  }
  const offset = parseOffset(text.slice(at));
  if (offset === null || !isValidWallClock(clock)) return null;
  return wallClockToEpoch(clock, offset);
}

/** "Z" -> 0, "+08:00" -> 480, "-07:00" -> -420; null when malformed or out of range. */
function parseOffset(text: string): number | null {
  if (text === 'Z') return 0;
  if (text.length !== 6 || (text[0] !== '+' && text[0] !== '-') || text[3] !== ':') return null;
  const hours = digitsAt(text, 1, 2);
  const minutes = digitsAt(text, 4, 2);
  if (hours < 0 || minutes < 0 || hours > 23 || minutes > 59) return null;
  return (text[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/**
 * A BSD timestamp has no year: the latest year that puts it no later than
 * `receivedAt` (plus a day of tolerance for clocks running ahead), so a
 * "Dec 31 23:59:59" arriving on January 1st is last year's, and a
 * "Feb 29" is placed in a leap year. Null when no year in the last eight
 * makes it valid.
 */
export function resolveYearless(
  clock: Omit<WallClock, 'year'>,
  receivedAt: number,
  offsetMinutes: number | undefined,
): number | null {
  const thisYear = new Date(receivedAt).getUTCFullYear();
  for (let year = thisYear + 1; year >= thisYear - 8; year--) {
    const candidate = { ...clock, year };
    if (!isValidWallClock(candidate)) continue;
    const epoch = wallClockToEpoch(candidate, offsetMinutes);
    if (epoch <= receivedAt + FUTURE_TOLERANCE_MS) return epoch;
  }
  return null;
}
