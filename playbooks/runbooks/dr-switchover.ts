// dr-switchover: restore the latest snapshot of the remote (DR) target into a
// standby data directory, start a standby `egov-ops serve` from it on its own
// ports, and check that its CA signs (a test certificate openssl verifies
// against the standby's chain) and that its OCSP responder answers.
// SQLite: the database file goes into the standby directory. PostgreSQL: the
// pg_dump archive is loaded with pg_restore into an empty standby database.

import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { EgovError, splitPostgresPassword } from '../../core/index.js';
import { defineRunbook } from '../types.js';

interface Snapshot {
  id: string;
  shortId: string;
  time: string;
}

function findFile(dir: string, name: string): string | undefined {
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) {
      const found = findFile(full, name);
      if (found) return found;
    } else if (entry === name) return full;
  }
  return undefined;
}

const portFree = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });

/** pg_restore from PATH, else the highest /usr/lib/postgresql/N/bin (Debian's versioned tools). */
function pgRestoreBin(): string {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) if (dir && existsSync(path.join(dir, 'pg_restore'))) return path.join(dir, 'pg_restore');
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'pg_restore'))) return path.join(root, v, 'bin', 'pg_restore');
  return 'pg_restore';
}

/** One query on a PostgreSQL database (the driver is loaded only when a standby database is given). */
async function onDatabase<T>(url: string, text: string): Promise<T[]> {
  const { default: driver } = await import('pg');
  const client = new driver.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

const userTables = async (url: string) => Number((await onDatabase<{ n: string }>(url, `select count(*) as n from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')`))[0]!.n);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export const drSwitchover = defineRunbook({
  name: 'dr-switchover',
  title: 'DR switchover',
  description: 'Restore the latest remote snapshot into a standby data directory, start a standby suite from it on its own ports, check its CA signs and its OCSP answers.',
  params: {
    standbyDir: { type: 'string', required: true, pattern: /^\//, description: 'the standby data directory (absolute; must be absent or empty)' },
    port: { type: 'integer', required: true, min: 1, max: 65535, description: 'the standby\'s plain HTTP port (CA certificates, CRLs, OCSP)' },
    tlsPort: { type: 'integer', required: true, min: 1, max: 65535, description: 'the standby\'s HTTPS port' },
    ca: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, description: 'the hierarchy whose signing is checked' },
    target: { type: 'string', description: 'the backup target to restore from (default: the first remote one)' },
    host: { type: 'string', default: '127.0.0.1', description: 'the address the standby listens on' },
    secretKeyFile: { type: 'file', description: 'a copy of the primary\'s secret.key (kept apart from the backups) for the sealed secrets' },
    standbyDatabaseUrl: { type: 'string', secret: true, pattern: /^postgres(ql)?:\/\//, description: 'PostgreSQL deployments: an empty standby database, postgres://USER:PASSWORD@HOST:PORT/DB' },
  },
  steps: [
    {
      name: 'check-standby',
      description: 'the standby directory is empty, its ports are free, and the target has a snapshot',
      changes: false,
      run: async ({ params, operator, note }) => {
        if (existsSync(params.standbyDir) && readdirSync(params.standbyDir).length) throw new EgovError('conflict', `the standby directory ${params.standbyDir} is not empty`);
        for (const port of [params.port, params.tlsPort]) if (!(await portFree(port, params.host))) throw new EgovError('conflict', `port ${port} on ${params.host} is in use`);
        if (params.standbyDatabaseUrl) {
          const tables = await userTables(params.standbyDatabaseUrl).catch((error: Error) => {
            throw new EgovError('unavailable', `the standby database cannot be reached: ${error.message}`);
          });
          if (tables) throw new EgovError('conflict', `the standby database is not empty (${tables} tables)`);
        }
        const status = await operator.cliJson<{ targets: Array<{ target: string; kind: string }> }>(['backup', 'status']);
        const target = params.target ?? status.targets.find((t) => t.kind === 'remote')?.target;
        if (!target) throw new EgovError('bad-config', 'no remote backup target is configured: give --param target=NAME');
        if (!status.targets.some((t) => t.target === target)) throw new EgovError('not-found', `no backup target ${target}`);
        const snapshots = await operator.cliJson<Snapshot[]>(['backup', 'snapshots', '--target', target]);
        const latest = [...snapshots].sort((a, b) => a.time.localeCompare(b.time)).at(-1);
        if (!latest) throw new EgovError('not-found', `target ${target} has no snapshot to restore`);
        note(`latest snapshot of ${target}: ${latest.shortId} taken ${latest.time}`);
        return { target, snapshot: latest.id, snapshotTime: latest.time };
      },
    },
    {
      name: 'restore',
      description: 'restore the snapshot and lay out the standby data directory (database, config with the standby\'s ports)',
      changes: true,
      gate: 'confirm',
      timeoutMs: 60 * 60_000,
      dryRun: ({ params }) => `egov-ops backup restore --snapshot LATEST --target TARGET --to ${params.standbyDir}/restored; copy its database to ${params.standbyDir}; write ${params.standbyDir}/config.yaml (ports ${params.port}/${params.tlsPort})`,
      run: async ({ params, operator, results, note }) => {
        const { target, snapshot } = results['check-standby'] as { target: string; snapshot: string };
        mkdirSync(params.standbyDir, { recursive: true, mode: 0o700 });
        const restored = path.join(params.standbyDir, 'restored');
        await operator.cli(['backup', 'restore', '--snapshot', snapshot, '--target', target, '--to', restored]);
        const database = findFile(restored, 'egov-ops.sqlite');
        const dump = findFile(restored, 'egov-ops.pgdump');
        if (database) copyFileSync(database, path.join(params.standbyDir, 'egov-ops.sqlite'));
        else if (dump) {
          if (!params.standbyDatabaseUrl) throw new EgovError('bad-request', `snapshot ${snapshot} holds a PostgreSQL dump: give --param standbyDatabaseUrl=postgres://… (an empty database)`);
          const { url, password } = splitPostgresPassword(params.standbyDatabaseUrl);
          await operator.run(pgRestoreBin(), ['--no-owner', '--no-acl', '--exit-on-error', '--single-transaction', `--dbname=${url}`, dump], { env: { PGPASSWORD: password ?? '' } });
          note(`pg_restore loaded the dump into ${url}`);
        } else throw new EgovError('not-found', `snapshot ${snapshot} holds no database (egov-ops.sqlite or egov-ops.pgdump)`);
        if (params.secretKeyFile) copyFileSync(params.secretKeyFile, path.join(params.standbyDir, 'secret.key'));
        else note('no secretKeyFile given: sealed secrets (SNMP credentials) cannot be opened on the standby until the primary\'s secret.key is copied there');
        writeFileSync(
          path.join(params.standbyDir, 'config.yaml'),
          [...(dump && !database ? ['database:', `  url: ${JSON.stringify(params.standbyDatabaseUrl)}`] : []), `server:`, `  host: ${params.host}`, `  port: ${params.port}`, `  tlsPort: ${params.tlsPort}`, `log:`, `  level: warn`].join('\n') + '\n',
          { mode: 0o600 },
        );
        return { dataDir: params.standbyDir, database: database ? 'sqlite' : 'postgres' };
      },
      rollback: async ({ params }, result) => {
        rmSync(params.standbyDir, { recursive: true, force: true });
        if ((result as { database: string }).database === 'postgres' && params.standbyDatabaseUrl) {
          // The standby database was empty before: it is emptied again.
          await onDatabase(params.standbyDatabaseUrl, 'drop schema public cascade; create schema public');
        }
      },
    },
    {
      name: 'start-standby',
      description: 'start `egov-ops serve` on the standby data directory and wait for /health',
      changes: true,
      timeoutMs: 120_000,
      dryRun: ({ params }) => `egov-ops --data-dir ${params.standbyDir} serve --port ${params.port} --tls-port ${params.tlsPort} (in the background; pid in ${params.standbyDir}/serve.pid)`,
      run: async ({ params, operator, signal, note }) => {
        const logFile = path.join(params.standbyDir, 'serve.log');
        const fd = openSync(logFile, 'a', 0o600);
        const args = [operator.bin, '--data-dir', params.standbyDir, ...(operator.options.passphraseFile ? ['--passphrase-file', operator.options.passphraseFile] : []), 'serve', '--port', String(params.port), '--tls-port', String(params.tlsPort), '--host', params.host];
        const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd] });
        closeSync(fd);
        child.unref();
        const pid = child.pid!;
        writeFileSync(path.join(params.standbyDir, 'serve.pid'), `${pid}\n`);
        const url = `http://${params.host}:${params.port}/health`;
        for (;;) {
          if (!alive(pid)) throw new EgovError('unavailable', `the standby serve exited: ${readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' / ')}`);
          try {
            if ((await fetch(url)).ok) break;
          } catch {
            /* not listening yet */
          }
          if (signal.aborted) throw new EgovError('unavailable', `the standby did not answer ${url}`);
          await new Promise((r) => setTimeout(r, 500));
        }
        await operator.fetchPublic(url);
        note(`standby serving on http://${params.host}:${params.port} and https://${params.host}:${params.tlsPort} (pid ${pid}, log ${logFile})`);
        return { pid, url: `http://${params.host}:${params.port}` };
      },
      rollback: async (_ctx, result) => {
        const { pid } = result as { pid: number };
        if (!alive(pid)) return;
        process.kill(pid, 'SIGTERM');
        for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      },
    },
    {
      name: 'check-ca-signs',
      description: 'the standby\'s CA signs a test certificate (server profile, from an openssl CSR) that openssl verifies against the chain the standby serves',
      changes: true,
      dryRun: ({ params }) => `openssl req (a P-256 key and CSR); egov-ops --data-dir ${params.standbyDir} ca issue --ca ${params.ca} --profile server; openssl verify against ${params.host}:${params.port}/ca/${params.ca}-chain.pem`,
      run: async ({ params, operator, workDir, results }) => {
        const key = path.join(workDir, 'dr-test.key');
        const csr = path.join(workDir, 'dr-test.csr');
        const cert = path.join(workDir, 'dr-test.pem');
        const chain = path.join(workDir, 'standby-chain.pem');
        await operator.run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=dr-switchover-test.invalid']);
        const issued = await operator.cliAt(params.standbyDir, ['--json', 'ca', 'issue', '--ca', params.ca, '--profile', 'server', '--csr', csr, '--san', 'DNS:dr-switchover-test.invalid', '--days', '1', '--out', cert]);
        const serial = (JSON.parse(issued.stdout) as { serial: string }).serial;
        const { url } = results['start-standby'] as { url: string };
        writeFileSync(chain, await operator.fetchPublic(`${url}/ca/${params.ca}-chain.pem`));
        const verified = await operator.run('openssl', ['verify', '-CAfile', chain, cert]);
        if (!/: OK/.test(verified.stdout)) throw new EgovError('bad-signature', `openssl did not verify the standby's test certificate: ${verified.stdout.trim()}`);
        const issuing = path.join(workDir, 'standby-issuing.pem');
        writeFileSync(issuing, await operator.fetchPublic(`${url}/ca/${params.ca}.pem`));
        return { serial, cert, chain, issuing };
      },
    },
    {
      name: 'check-ocsp',
      description: 'the standby\'s OCSP responder answers "good" for the test certificate, with a response openssl verifies',
      changes: false,
      retries: 2,
      retryDelayMs: 2000,
      run: async ({ params, operator, results }) => {
        const { cert, chain, issuing } = results['check-ca-signs'] as { cert: string; chain: string; issuing: string };
        const { url } = results['start-standby'] as { url: string };
        const answer = await operator.run('openssl', ['ocsp', '-issuer', issuing, '-cert', cert, '-url', `${url}/ocsp/${params.ca}`, '-CAfile', chain]);
        const text = answer.stdout + answer.stderr;
        if (!/Response verify OK/.test(text) || !/: good/.test(text)) throw new EgovError('unavailable', `the standby's OCSP answer is not a verified "good": ${text.trim().split('\n').slice(0, 3).join(' / ')}`);
        return { status: 'good' };
      },
    },
    {
      name: 'report',
      description: 'write the switchover report',
      changes: false,
      run: async ({ params, results, workDir, note }) => {
        const report = { at: new Date().toISOString(), from: results['check-standby'], standby: { dataDir: params.standbyDir, ...(results['start-standby'] as object), tls: `https://${params.host}:${params.tlsPort}` }, testCertificate: (results['check-ca-signs'] as { serial: string }).serial, ocsp: 'good' };
        const file = path.join(workDir, 'switchover-report.json');
        writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
        note(`the standby keeps running (pid ${(results['start-standby'] as { pid: number }).pid}); point the service address at it, or stop it with kill $(cat ${params.standbyDir}/serve.pid)`);
        return { file };
      },
    },
  ],
});
