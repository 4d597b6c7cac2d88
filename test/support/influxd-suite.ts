// For vitest files: one throwaway influxd per test file. Kept apart from
// influxd.ts, which the benchmarks import and must not pull in vitest.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startInfluxd, type InfluxServer } from './influxd.js';

/**
 * For a test file that compares stores: one influxd for the file (started
 * before its tests, stopped after), temp data directories and databases
 * closed and removed at the end.
 */
export function useInfluxd(): { influxd: { readonly url: string }; tempDataDir(label: string): string; keep<T extends { close(): Promise<void> }>(database: T): T } {
  let server: InfluxServer | undefined;
  const databases: Array<{ close(): Promise<void> }> = [];
  const tempDirs: string[] = [];
  beforeAll(async () => {
    server = await startInfluxd();
  }, 60_000);
  afterAll(async () => {
    for (const database of databases.splice(0)) await database.close().catch(() => undefined);
    for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    await server?.stop();
  });
  return {
    influxd: {
      get url() {
        if (!server) throw new Error('influxd is not started yet (use it inside a test)');
        return server.url;
      },
    },
    tempDataDir(label) {
      const dir = mkdtempSync(path.join(os.tmpdir(), `egov-${label}-`));
      tempDirs.push(dir);
      return dir;
    },
    keep(database) {
      databases.push(database);
      return database;
    },
  };
}
