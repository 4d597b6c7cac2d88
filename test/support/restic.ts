// Helpers for backup tests: a suite data dir with a CA hierarchy in its
// database, and a pack file of a restic repository to corrupt.

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { vi } from 'vitest';
import { Authority, fixedPassphrase } from '../../ca/index.js';
import { registerBackupCommands } from '../../cli/backup.js';
import { loadConfig, openDatabase, type Config, type Database } from '../../core/index.js';

export const CA_PASSPHRASE = 'backup-test-passphrase-0123';

const dirs: string[] = [];
export function tempDir(prefix = 'egov-backup-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface TestSuite {
  config: Config;
  database: Database;
  close(): Promise<void>;
}

/** A data dir with a database holding one CA hierarchy (ECDSA by default: quick to make). */
export async function makeSuite(options: { dataDir?: string; backup?: Record<string, unknown>; algorithm?: string; withCa?: boolean } = {}): Promise<TestSuite> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({ env: {}, flags: { dataDir, ...(options.backup ? { backup: options.backup } : {}) } });
  const database = await openDatabase({ dataDir: config.dataDir });
  if (options.withCa !== false) {
    const authority = new Authority({ database, publicUrl: config.server.publicUrl, passphrase: fixedPassphrase(CA_PASSPHRASE) });
    await authority.initHierarchy({ name: 'city-test', algorithm: options.algorithm ?? 'ecdsa-p256', subject: '/C=CN/O=City E-Gov/CN=City Test Root CA' }, { actor: 'test', source: 'test' });
  }
  return { config, database, close: () => database.close() };
}

/** The biggest pack file under a repository's data/ dir. */
export function largestPack(repository: string): string {
  let best: { file: string; size: number } | undefined;
  const dataDir = path.join(repository, 'data');
  for (const sub of readdirSync(dataDir)) {
    for (const name of readdirSync(path.join(dataDir, sub))) {
      const file = path.join(dataDir, sub, name);
      const size = statSync(file).size;
      if (!best || size > best.size) best = { file, size };
    }
  }
  if (!best) throw new Error(`no pack files in ${dataDir}`);
  return best.file;
}

/** Runs `egov-ops backup …` in this process, on a program with the suite's global options (as cli/main.ts builds it), catching stdout and the exit code. */
export async function runBackupCli(args: string[]): Promise<{ stdout: string; exitCode: number | undefined }> {
  const program = new Command().exitOverride().option('--data-dir <dir>').option('--config <file>').option('--passphrase-file <file>').option('--json');
  registerBackupCommands(program);
  let stdout = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  process.exitCode = undefined;
  try {
    await program.parseAsync(['node', 'egov-ops', ...args]);
  } finally {
    spy.mockRestore();
  }
  const exitCode = process.exitCode as number | undefined;
  process.exitCode = undefined;
  return { stdout, exitCode };
}
