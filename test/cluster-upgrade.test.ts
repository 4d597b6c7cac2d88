// Rolling upgrades (docs/deployment.md): the previous release still opens a
// database a newer one has migrated further; a database from a release that
// lacks this one's migrations is refused with a clear error.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { migrations, openDatabase } from '../core/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-upgrade-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('migrations across releases', () => {
  it('opens a database migrated by a newer release, and refuses one that lacks its own migrations', async () => {
    const first = await openDatabase({ dataDir: dir });
    // A newer release added a migration (and its table) this one does not know.
    await sql`insert into kysely_migration (name, timestamp) values ('9999-from-a-newer-release', '2027-01-01T00:00:00.000Z')`.execute(first.db);
    await sql`create table future_thing (id integer)`.execute(first.db);
    await first.close();
    const again = await openDatabase({ dataDir: dir });
    expect((await again.db.selectFrom('cluster_lease').selectAll().execute()).length).toBe(0); // it works on it
    // Now one of this release's own is missing as well: another line of releases.
    const last = Object.keys(migrations).at(-1)!;
    await sql`delete from kysely_migration where name = ${last}`.execute(again.db);
    await again.close();
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/migrations of another release \(9999-from-a-newer-release\) but lacks/);
  });
});
