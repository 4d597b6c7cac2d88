// What a one-shot `egov-ops backup run` pays before restic starts: opening a
// database whose schema is current does not start Kysely's Migrator (its
// lock table, its transaction and its walk over every migration); a fresh
// database, or one a migration is missing from, still migrates.

import path from 'node:path';
import { Migrator, sql } from 'kysely';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { migrations, openDatabase } from '../core/index.js';
import { removeTempDirs, tempDir } from './support/restic.js';

afterAll(removeTempDirs);
afterEach(() => vi.restoreAllMocks());

describe('opening the database', () => {
  it('a current schema: no Migrator, nothing applied, the schema as it was', async () => {
    const dataDir = tempDir();
    const fresh = vi.spyOn(Migrator.prototype, 'migrateToLatest');
    const first = await openDatabase({ dataDir });
    expect(fresh).toHaveBeenCalledTimes(1);
    const applied = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(first.db)).rows.map((r) => r.name);
    expect(applied).toEqual(Object.keys(migrations).sort());
    await first.close();

    fresh.mockClear();
    const again = await openDatabase({ dataDir });
    try {
      expect(fresh).not.toHaveBeenCalled();
      expect(again.location).toBe(path.join(dataDir, 'egov-ops.sqlite'));
      const still = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(again.db)).rows.map((r) => r.name);
      expect(still).toEqual(applied);
      // The database works: a table of the last migration is there.
      await again.db.selectFrom('backup_run').select('id').limit(1).execute();
    } finally {
      await again.close();
    }
  }, 60_000);

  it('a migration missing from the database: the Migrator runs and applies it', async () => {
    const dataDir = tempDir();
    const first = await openDatabase({ dataDir });
    const last = Object.keys(migrations).at(-1)!;
    // As if the database was made by the release before the last migration (its rows only; the Migrator re-runs it).
    await sql`delete from kysely_migration where name = ${last}`.execute(first.db);
    await first.close();
    const spy = vi.spyOn(Migrator.prototype, 'migrateToLatest').mockImplementation(async () => ({ results: [{ migrationName: last, direction: 'Up', status: 'Success' }] }));
    const again = await openDatabase({ dataDir });
    await again.close();
    expect(spy).toHaveBeenCalledTimes(1);
  }, 60_000);
});
