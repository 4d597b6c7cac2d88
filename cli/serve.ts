// `egov-ops serve`: the HTTP server with every module's routes, the CRL
// schedule and the OCSP cache watcher.

import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BackupScheduler, BackupService } from '../backup/index.js';
import { caRoutes } from '../ca/index.js';
import { createLogger, createServer } from '../core/index.js';
import type { Suite } from './context.js';

/** The admin token's SHA-256: from EGOV_OPS_ADMIN_TOKEN, else the stored hash, else a new token shown once. */
export function adminTokenHash(dataDir: string, announce: (line: string) => void): string {
  const fromEnv = process.env.EGOV_OPS_ADMIN_TOKEN;
  if (fromEnv) return createHash('sha256').update(fromEnv).digest('hex');
  const file = path.join(dataDir, 'admin-token.sha256');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = randomBytes(24).toString('base64url');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Only the hash is kept; the token itself is shown this once.
  writeFileSync(file, createHash('sha256').update(token).digest('hex') + '\n', { mode: 0o600 });
  announce(`admin token (shown once; only its hash is stored in ${file}): ${token}`);
  return createHash('sha256').update(token).digest('hex');
}

export async function startServer(suite: Suite, options: { port?: number; host?: string; announce: (line: string) => void }) {
  const logger = createLogger(suite.config.log.level);
  const app = createServer({ logger, adminTokenSha256: adminTokenHash(suite.config.dataDir, options.announce) });
  await app.register(caRoutes, { authority: suite.authority, crls: suite.crls, ocsp: suite.ocsp });
  suite.crls.start();
  const stopWatching = suite.authority.watchStatusChanges();
  // Backups on each target's schedule; failures are recorded by the service.
  const backups = new BackupScheduler(new BackupService({ config: suite.config, database: suite.database, actor: { actor: 'system', source: 'scheduler' } }), {
    log: (line, fields) => logger.info(fields ?? {}, line),
  });
  backups.start();
  app.addHook('onClose', async () => {
    stopWatching();
    backups.stop();
  });
  const address = await app.listen({ port: options.port ?? suite.config.server.port, host: options.host ?? suite.config.server.host });
  return { app, address };
}
