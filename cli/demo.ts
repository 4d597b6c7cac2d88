// `egov-ops serve --demo`: the README's first command. On first run it
// creates two demo hierarchies (SM2 and ECDSA P-256) and a demo server
// certificate, so a newcomer sees a working CA at once.
// The demo keeps its CA key passphrase in DATA_DIR/demo-passphrase (mode 0600);
// a real deployment gives --passphrase-file on a protected volume or
// EGOV_OPS_CA_PASSPHRASE instead.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BackupService } from '../backup/index.js';
import { loadConfig } from '../core/index.js';
import { cliActor, openSuite, passphraseSource, type GlobalOptions } from './context.js';
import { startServer } from './serve.js';

const DEMO_HIERARCHIES = [
  { name: 'city-sm2', algorithm: 'sm2', subject: '/C=CN/O=City E-Government/OU=CA/CN=City E-Gov SM2 Root CA' },
  { name: 'city-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Government/OU=CA/CN=City E-Gov ECDSA Root CA' },
];

export async function startDemo(options: GlobalOptions, listen: { port?: number; host?: string }): Promise<void> {
  const say = (line: string) => process.stderr.write(line + '\n');
  const dataDir = loadConfig({ ...(options.config ? { file: options.config } : {}), flags: options.dataDir ? { dataDir: options.dataDir } : {} }).dataDir;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const passphraseFile = options.passphraseFile ?? path.join(dataDir, 'demo-passphrase');
  if (!options.passphraseFile && !process.env.EGOV_OPS_CA_PASSPHRASE && !existsSync(passphraseFile)) {
    writeFileSync(passphraseFile, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
    say(`demo: CA key passphrase written to ${passphraseFile} (demo only; see README for production)`);
  }
  const suiteOptions = { ...options, passphraseFile: process.env.EGOV_OPS_CA_PASSPHRASE && !options.passphraseFile ? undefined : passphraseFile };
  const suite = await openSuite(suiteOptions);
  const existing = new Set((await suite.authority.listHierarchies()).map((h) => h.name));
  for (const hierarchy of DEMO_HIERARCHIES) {
    if (existing.has(hierarchy.name)) continue;
    const summary = await suite.authority.initHierarchy(hierarchy, cliActor());
    say(`demo: created hierarchy ${summary.name} (${summary.algorithm}): ${summary.root.subject}`);
  }
  const { address } = await startServer(suite, { ...listen, announce: say });
  // A first backup of the suite's own stores to the default same-city repository, in the background.
  const backups = new BackupService({ config: suite.config, database: suite.database, caPassphrase: passphraseSource(suiteOptions), actor: { actor: 'system', source: 'demo' } });
  backups
    .run()
    .then((results) => results.forEach((r) => say(`demo: backup ${r.plan} -> ${r.target}: ${r.status}${r.snapshotId ? `, snapshot ${r.snapshotId.slice(0, 8)}` : ''} (egov-ops backup status, egov-ops backup drill)`)))
    .catch((error: Error) => say(`demo: first backup not made: ${error.message}`));
  say(`egov-ops demo serving on ${address}`);
  say(`  CA certificates  ${address}/ca/city-sm2.crt   ${address}/ca/city-ecdsa-chain.pem`);
  say(`  CRLs             ${address}/crl/city-sm2.crl  ${address}/crl/city-sm2-delta.crl`);
  say(`  OCSP             ${address}/ocsp/city-sm2`);
  say(`  API              ${address}/api/ca  (Authorization: Bearer <admin token>)`);
  say(`  CLI              npx egov-ops --data-dir ${dataDir} --passphrase-file ${passphraseFile} ca list`);
  const stop = async () => {
    await suite.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
