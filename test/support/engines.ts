// Both storage engines for a test file: a temp SQLite data directory, or a
// fresh database in the throwaway PostgreSQL cluster. Databases handed to
// `keep` are closed after each test; temp directories go after the file.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { Database, OpenOptions } from '../../core/index.js';
import { usePostgres } from './postgres.js';

export interface Engine {
  name: 'sqlite' | 'postgres';
  location(): Promise<OpenOptions>;
}

export function useEngines(label: string): { engines: Engine[]; keep(database: Database): Database } {
  const postgres = usePostgres();
  const tempDirs: string[] = [];
  const handles: Database[] = [];
  afterEach(async () => {
    for (const database of handles.splice(0)) await database.close().catch(() => undefined);
  });
  afterAll(() => {
    for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const engines: Engine[] = [
    {
      name: 'sqlite',
      async location() {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), `egov-${label}-`));
        tempDirs.push(dataDir);
        return { dataDir };
      },
    },
    { name: 'postgres', location: async () => ({ dataDir: '/nonexistent-not-used', url: await postgres.createDatabase(label) }) },
  ];
  return {
    engines,
    keep(database) {
      handles.push(database);
      return database;
    },
  };
}
