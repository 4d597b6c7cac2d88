// The rate-limit counters `serve` keeps in the database (core/rate-store.ts):
// several instances (here: several connections, as several processes would
// have) counting one client at the same moment admit the limit once in
// total, not once each; a window passes and counting starts again; another
// key is counted on its own. Both engines.
import { describe, expect, it } from 'vitest';
import { DatabaseRateStore, MemoryRateStore, openDatabase } from '../core/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('rate');
const limit = { max: 10, windowSeconds: 60 };

describe.each(engines)('rate windows in the database on $name', (engine) => {
  it('three instances taking at once for one client admit the limit once in total', async () => {
    const location = await engine.location();
    const first = keep(await openDatabase(location));
    // SQLite: one file, several connections (as `serve` and the CLI have); PostgreSQL: several pools.
    const others = [keep(await openDatabase({ ...location })), keep(await openDatabase({ ...location }))];
    const stores = [first, ...others].map((d) => new DatabaseRateStore(d));
    const waits = await Promise.all(Array.from({ length: 30 }, (_, i) => stores[i % 3]!.take('sign-in|holder-a|10.0.0.1', limit)));
    expect(waits.filter((w) => w === 0)).toHaveLength(limit.max);
    for (const w of waits.filter((w) => w > 0)) {
      expect(w).toBeGreaterThanOrEqual(1);
      expect(w).toBeLessThanOrEqual(limit.windowSeconds);
    }
    // Another client is counted on its own.
    expect(await stores[1]!.take('sign-in|holder-b|10.0.0.1', limit)).toBe(0);
  });

  it('a new window starts once the old one has passed', async () => {
    const database = keep(await openDatabase(await engine.location()));
    let now = Date.parse('2026-12-07T10:00:00Z');
    const store = new DatabaseRateStore(database, () => now);
    for (let i = 0; i < limit.max; i++) expect(await store.take('enrolment|x|10.0.0.2', limit)).toBe(0);
    expect(await store.take('enrolment|x|10.0.0.2', limit)).toBe(60);
    now += 45_000;
    expect(await store.take('enrolment|x|10.0.0.2', limit)).toBe(15);
    now += 15_000;
    expect(await store.take('enrolment|x|10.0.0.2', limit)).toBe(0);
  });
});

describe('rate windows in memory', () => {
  it('count per key within a window and start again after it', async () => {
    let now = 0;
    const store = new MemoryRateStore(() => now);
    for (let i = 0; i < limit.max; i++) expect(await store.take('k', limit)).toBe(0);
    expect(await store.take('k', limit)).toBe(60);
    expect(await store.take('other', limit)).toBe(0);
    now += 60_000;
    expect(await store.take('k', limit)).toBe(0);
  });
});
