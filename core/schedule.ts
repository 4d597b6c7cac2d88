// Cron-like schedules: five fields (minute hour day-of-month month
// day-of-week) with *, lists, ranges and steps, or a nickname (@hourly,
// @daily, @weekly, @monthly, @yearly). Times are the host's local time, as
// cron's. Day-of-month and day-of-week follow Vixie cron: when both are
// restricted, a day matching either runs.

import { EgovError } from './errors.js';

export interface Schedule {
  /** The expression as written. */
  readonly expression: string;
  /** The first run strictly after `from`. */
  next(from: Date): Date;
  /** Runs per day on average over a year (for the DR level: "several transfers a day"). */
  readonly runsPerDay: number;
}

const NICKNAMES: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

function parseField(text: string, index: number, expression: string): { values: Set<number>; restricted: boolean } {
  const field = FIELDS[index]!;
  const values = new Set<number>();
  const fail = (why: string): never => {
    throw new EgovError('bad-config', `schedule "${expression}": ${field.name} field "${text}" ${why}`);
  };
  const value = (token: string): number => {
    const names: readonly string[] | undefined = 'names' in field ? field.names : undefined;
    const named = names?.indexOf(token.toLowerCase()) ?? -1;
    if (named >= 0) return named + (field.name === 'month' ? 1 : 0);
    if (!/^\d+$/.test(token)) fail(`has "${token}", not a number`);
    const n = Number(token);
    if (n < field.min || n > field.max) fail(`has ${n}, outside ${field.min}-${field.max}`);
    return n;
  };
  for (const part of text.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(part);
    if (!m) fail('does not parse');
    const [, range, stepText] = m!;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) fail('has a step of 0');
    let low: number;
    let high: number;
    if (range === '*') {
      low = field.min;
      high = field.max === 7 ? 6 : field.max;
    } else if (range!.includes('-')) {
      const [a, b, ...rest] = range!.split('-');
      if (rest.length || a === undefined || b === undefined) fail('has a bad range');
      low = value(a!);
      high = value(b!);
      if (low > high) fail(`has a range ${low}-${high} that runs backwards`);
    } else {
      low = value(range!);
      high = stepText === undefined ? low : field.max;
    }
    for (let v = low; v <= high; v += step) values.add(field.name === 'day of week' && v === 7 ? 0 : v);
  }
  return { values, restricted: text !== '*' && !text.startsWith('*/') };
}

/** Parses a schedule; a bad one is a clear bad-config error naming the field. */
export function parseSchedule(expression: string): Schedule {
  const trimmed = expression.trim();
  const expanded = NICKNAMES[trimmed.toLowerCase()] ?? trimmed;
  if (expanded.startsWith('@')) throw new EgovError('bad-config', `schedule "${expression}": unknown nickname; use ${Object.keys(NICKNAMES).join(', ')} or five fields`);
  const parts = expanded.split(/\s+/).filter(Boolean);
  if (parts.length !== 5) throw new EgovError('bad-config', `schedule "${expression}" does not parse: expected five fields (minute hour day-of-month month day-of-week) or a nickname like @daily, got ${parts.length}`);
  const [minute, hour, dom, month, dow] = parts.map((p, i) => parseField(p, i, expression));
  const dayMatches = (d: Date): boolean => {
    const domOk = dom!.values.has(d.getDate());
    const dowOk = dow!.values.has(d.getDay());
    if (dom!.restricted && dow!.restricted) return domOk || dowOk;
    return domOk && dowOk;
  };
  const next = (from: Date): Date => {
    const t = new Date(from.getTime());
    t.setSeconds(0, 0);
    t.setMinutes(t.getMinutes() + 1);
    // At most ~5 years of minutes, jumping by day and hour where possible.
    const limit = from.getTime() + 5 * 366 * 86400_000;
    while (t.getTime() <= limit) {
      if (!month!.values.has(t.getMonth() + 1)) {
        t.setMonth(t.getMonth() + 1, 1);
        t.setHours(0, 0, 0, 0);
        continue;
      }
      if (!dayMatches(t)) {
        t.setDate(t.getDate() + 1);
        t.setHours(0, 0, 0, 0);
        continue;
      }
      if (!hour!.values.has(t.getHours())) {
        t.setHours(t.getHours() + 1, 0, 0, 0);
        continue;
      }
      if (!minute!.values.has(t.getMinutes())) {
        t.setMinutes(t.getMinutes() + 1, 0, 0);
        continue;
      }
      return t;
    }
    throw new EgovError('bad-config', `schedule "${expression}" never runs (no date matches it)`);
  };
  // Probe once so a schedule that never fires (30 February) is refused at load.
  next(new Date(2024, 0, 1));
  let days = 0;
  for (let d = new Date(2023, 0, 1); d.getFullYear() === 2023; d.setDate(d.getDate() + 1)) if (month!.values.has(d.getMonth() + 1) && dayMatches(d)) days++;
  const runsPerDay = (days / 365) * hour!.values.size * minute!.values.size;
  return { expression, next, runsPerDay };
}
