// SQLite group commit: concurrent writes share a transaction, but each stays
// atomic on its own. A failing write leaves nothing behind and does not take
// its neighbours down; the audit chain stays intact across the group.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { appendAudit, openDatabase, verifyAuditLog } from '../core/index.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-group-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('commits the good writes of a group and rolls back only the failing ones', async () => {
  const database = await openDatabase({ dataDir: dir });
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        database.write(async (tx) => {
          await tx.insertInto('counter').values({ name: `item-${i}`, value: i }).execute();
          await appendAudit(tx, { actor: 'test', source: 'test', action: 'test.write', object: `item-${i}`, outcome: 'success' });
          if (i % 7 === 3) throw new Error(`write ${i} fails after writing`);
          return i;
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 7 === 3).length);
    expect((failed[0] as PromiseRejectedResult).reason.message).toMatch(/fails after writing/);
    const names = (await database.db.selectFrom('counter').select('name').where('name', 'like', 'item-%').execute()).map((r) => r.name);
    expect(names).toHaveLength(300 - failed.length);
    expect(names).not.toContain('item-3');
    expect(names).toContain('item-4');
    const audit = await database.db.selectFrom('audit_log').select('object').execute();
    expect(audit.map((r) => r.object)).not.toContain('item-3');
    expect(audit).toHaveLength(300 - failed.length);
    const verified = await verifyAuditLog(database);
    expect(verified).toMatchObject({ ok: true, records: 300 - failed.length });
  } finally {
    await database.close();
  }
});
