// `egov-ops serve --demo`: the README's first command. On first run it
// creates two demo hierarchies (SM2 and ECDSA P-256) and a demo server
// certificate, so a newcomer sees a working CA at once.
// The demo keeps its CA key passphrase in DATA_DIR/demo-passphrase (mode 0600);
// a real deployment gives --passphrase-file on a protected volume or
// EGOV_OPS_CA_PASSPHRASE instead.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BackupService } from '../backup/index.js';
import { loadConfig } from '../core/index.js';
import { accessHierarchy, toPem } from '../ca/index.js';
import { startDemoNetwork } from './demo-network.js';
import type { Role } from '../core/index.js';
import { cliActor, openSuite, passphraseSource, type GlobalOptions, type Suite } from './context.js';
import { startServer } from './serve.js';

const DEMO_HIERARCHIES = [
  { name: 'city-sm2', algorithm: 'sm2', subject: '/C=CN/O=City E-Government/OU=CA/CN=City E-Gov SM2 Root CA' },
  { name: 'city-ecdsa', algorithm: 'ecdsa-p256', subject: '/C=CN/O=City E-Government/OU=CA/CN=City E-Gov ECDSA Root CA' },
];

export async function startDemo(options: GlobalOptions, listen: { port?: number; tlsPort?: number; host?: string }): Promise<void> {
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
  const operators = await demoOperators(suite, dataDir);
  // The starter knowledge base (monitor/kb/starter): loaded again each start, a no-op once in.
  {
    const { KnowledgeBase, readArticleFiles, starterDirectory } = await import('../monitor/kb/index.js');
    const loaded = await new KnowledgeBase(suite.database).importArticles(readArticleFiles(starterDirectory()).flatMap((f) => f.articles), { by: 'system', source: 'demo' });
    if (loaded.created.length || loaded.updated.length) say(`demo: knowledge base: ${loaded.created.length} starter articles added, ${loaded.updated.length} updated (egov-ops kb search 光衰)`);
  }
  const { address, secure, monitor, alerts } = await startServer(suite, { ...listen, passphrase: passphraseSource(suiteOptions), announce: say });
  // Alerts: a webhook receiver that prints what it is told (no routes in the demo: every receiver hears every alert).
  const printer = await startPrintingReceiver(say);
  await alerts.putReceiver({ name: 'demo-console', type: 'webhook', url: printer.url, language: 'en' }, { actor: 'demo', source: 'demo' });
  const accessCa = await accessHierarchy(suite.authority, suite.config.access.ca);
  const chainPem = (await suite.authority.chain(accessCa)).map((der) => toPem('CERTIFICATE', der)).join('');
  const network = secure ? await startDemoNetwork(suite, monitor, secure.address.replace('localhost', '127.0.0.1'), chainPem, say) : undefined;
  // A first backup of the suite's own stores to the default same-city repository, in the background.
  const backups = new BackupService({ config: suite.config, database: suite.database, caPassphrase: passphraseSource(suiteOptions), actor: { actor: 'system', source: 'demo' } });
  backups
    .run()
    .then((results) => results.forEach((r) => say(`demo: backup ${r.plan} -> ${r.target}: ${r.status}${r.snapshotId ? `, snapshot ${r.snapshotId.slice(0, 8)}` : ''} (egov-ops backup status, egov-ops backup drill)`)))
    .catch((error: Error) => say(`demo: first backup not made: ${error.message}`));
  say(`egov-ops demo serving on ${address}${secure ? ` and ${secure.address}` : ''}`);
  say(`  CA certificates  ${address}/ca/city-sm2.crt   ${address}/ca/city-ecdsa-chain.pem`);
  say(`  CRLs             ${address}/crl/city-sm2.crl  ${address}/crl/city-sm2-delta.crl`);
  say(`  OCSP             ${address}/ocsp/city-sm2`);
  if (secure) {
    say(`  Desk (mTLS)      ${secure.address}/desk   import a client certificate into the browser first:`);
    say(`  Status (mTLS)    ${secure.address}/status  (network-admin, auditor, security-officer, ca-admin)`);
    say(`  Knowledge base   ${secure.address}/kb  (network-admin, auditor, security-officer)`);
    for (const line of network?.summary ?? []) say(`  Demo network     ${line}`);
    for (const o of operators) say(`                   ${o.file}  (PKCS#12 password: ${o.p12Password}; roles ${o.roles.join(', ')}${o.signInPassword ? `; sign-in password in ${o.signInPasswordFile}` : ''})`);
    say(`  API (mTLS)       curl --cert-type P12 --cert ${operators[0]?.file}:P12PASSWORD --cacert <(curl -s ${address}/ca/city-ecdsa-chain.pem) ${secure.address}/api/access/me`);
  }
  say(`  CLI              npx egov-ops --data-dir ${dataDir} --passphrase-file ${passphraseFile} ca list`);
  say(`  Alerts (mTLS)    ${secure ? `${secure.address}/alerts` : '(with the HTTPS listener)'}   CLI: egov-ops alerts list; the demo-console receiver prints here`);
  const stop = async () => {
    printer.close();
    await network?.stop();
    await suite.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The demo's webhook receiver: a loopback HTTP server printing each notification (Alertmanager webhook format) to the console. */
async function startPrintingReceiver(say: (line: string) => void): Promise<{ url: string; close(): void }> {
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { status: string; alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }> };
        for (const a of body.alerts) say(`ALERT ${body.status.toUpperCase()} [${a.labels.severity}] ${a.labels.alertname}${a.labels.node ? ` ${a.labels.node}` : ''}: ${a.annotations.summary}${a.annotations.folded ? ` (+${a.annotations.folded} folded)` : ''}${a.annotations.kb ? ` — KB: ${a.annotations.kb}` : ''}`);
      } catch {
        say('ALERT (unreadable notification)');
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/demo-console`, close: () => server.close() };
}

interface DemoOperator {
  file: string;
  p12Password: string;
  roles: Role[];
  signInPassword?: string;
  signInPasswordFile?: string;
}

/**
 * Two demo desk operators, made once: A (ca-admin and ra-operator, with a
 * sign-in password) and B (ra-operator), so four-eyes approval can be tried.
 * Their PKCS#12 files and passwords sit in the data directory (demo only).
 */
async function demoOperators(suite: Suite, dataDir: string): Promise<DemoOperator[]> {
  const ca = await accessHierarchy(suite.authority, suite.config.access.ca);
  const specs: Array<{ name: string; file: string; roles: Role[] }> = [
    { name: 'Demo Operator A', file: 'demo-operator-a.p12', roles: ['ca-admin', 'ra-operator', 'network-admin'] },
    { name: 'Demo Operator B', file: 'demo-operator-b.p12', roles: ['ra-operator'] },
  ];
  const result: DemoOperator[] = [];
  for (const spec of specs) {
    const file = path.join(dataDir, spec.file);
    const secretsFile = file + '.passwords.json';
    if (existsSync(file) && existsSync(secretsFile)) {
      result.push({ file, roles: spec.roles, ...(JSON.parse(readFileSync(secretsFile, 'utf8')) as { p12Password: string; signInPassword?: string }), ...(spec.roles.includes('ca-admin') ? { signInPasswordFile: secretsFile } : {}) });
      continue;
    }
    const p12Password = randomBytes(9).toString('base64url');
    const signInPassword = spec.roles.includes('ca-admin') ? `Demo-${randomBytes(6).toString('base64url')}9` : undefined;
    const { certificate, pkcs12 } = await suite.authority.issueWithKeygen(
      { ca, profile: 'person', subject: `CN=${spec.name},serialNumber=EMP-DEMO-${spec.file.slice(14, 15).toUpperCase()},OU=Registration Desk`, p12Password },
      cliActor(),
    );
    await suite.access.bind({ ca, serial: certificate.serial, holder: spec.name, roles: spec.roles, ...(signInPassword ? { password: signInPassword } : {}) }, cliActor());
    writeFileSync(file, pkcs12, { mode: 0o600 });
    writeFileSync(secretsFile, JSON.stringify({ p12Password, ...(signInPassword ? { signInPassword } : {}) }) + '\n', { mode: 0o600 });
    result.push({ file, p12Password, roles: spec.roles, ...(signInPassword ? { signInPassword, signInPasswordFile: secretsFile } : {}) });
  }
  return result;
}
