// dr-switchover on PostgreSQL: the suite runs on a database of a real
// PostgreSQL cluster; the runbook loads the latest snapshot's pg_dump archive
// into an empty standby database with pg_restore and serves a standby from
// it; its CA signs and its OCSP answers. A non-empty standby database is
// refused before anything is restored.

import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { usePostgres, queryOnce as query } from './support/postgres.js';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';
import { removeTempDirs, tempDir } from './support/restic.js';

const postgres = usePostgres();
let s: PlaybookSuite | undefined;
let standbyPid: number | undefined;

const freeTcpPort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });


afterAll(async () => {
  if (standbyPid) {
    try {
      process.kill(standbyPid, 'SIGTERM');
    } catch {
      /* gone */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  await s?.close();
  removeTempDirs();
});

describe('dr-switchover on PostgreSQL', () => {
  it('refuses a standby database that is not empty, then loads the dump into an empty one and serves it', async () => {
    const primary = await postgres.createDatabase('primary');
    s = await startPlaybookSuite(`database:\n  url: ${JSON.stringify(primary)}\n`);
    const backup = await s.cli(['--json', 'backup', 'run']);
    expect(backup.code, backup.stderr).toBe(0);
    const standbyDir = path.join(tempDir('egov-pb-pg-'), 'standby');
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const args = (url: string) => ['--json', 'playbook', 'run', 'dr-switchover', '--yes', '--param', 'target=same-city', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${tlsPort}`, '--param', 'ca=city-ecdsa', '--param', `standbyDatabaseUrl=${url}`];

    const busy = await postgres.createDatabase('busy');
    await query(busy, 'create table leftover (x int)');
    const refused = await s.cli(args(busy));
    expect(refused.code).toBe(4);
    expect(refused.json().error.message).toContain('the standby database is not empty (1 tables)');

    const standby = await postgres.createDatabase('standby');
    const run = await s.cli(args(standby));
    const result = run.json();
    standbyPid = result.results['start-standby']?.pid;
    expect(run.code, run.stderr).toBe(0);
    expect(result.results.restore.database).toBe('postgres');
    expect(result.results['check-ocsp']).toEqual({ status: 'good' });
    // The standby database holds the primary's hierarchies and, alone, the test certificate.
    const serial = result.results['check-ca-signs'].serial;
    expect(await query(standby, `select count(*)::int as n from certificate where serial = '${serial}'`)).toEqual([{ n: 1 }]);
    expect(await query(primary, `select count(*)::int as n from certificate where serial = '${serial}'`)).toEqual([{ n: 0 }]);
    expect(await query(standby, `select name from ca_authority order by name`)).toEqual(await query(primary, `select name from ca_authority order by name`));
    // The database password never reaches the log.
    const password = new URL(standby).password;
    if (password) expect((await import('node:fs')).readFileSync(result.logFile, 'utf8')).not.toContain(password);
  }, 300_000);
});
