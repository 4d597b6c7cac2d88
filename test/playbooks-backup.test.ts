// restore-drill and dr-switchover against a served suite with a same-city
// target and a remote (sftp) target on a real sshd, with real restic: dry
// runs change nothing; the drill drills both targets and writes the DR
// report; the switchover restores the latest remote snapshot into a standby
// data directory, serves it on other ports, and finds its CA signing and its
// OCSP answering.

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';
import { removeTempDirs, tempDir } from './support/restic.js';
import { startSshd, type SshServer } from './support/sshd.js';
import net from 'node:net';

let s: PlaybookSuite;
let sshd: SshServer;
let standbyDir: string;
let standbyPid: number | undefined;

const freeTcpPort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

beforeAll(async () => {
  sshd = await startSshd();
  const repos = tempDir('egov-pb-repos-');
  const passwordFile = path.join(repos, 'restic.password');
  writeFileSync(passwordFile, 'playbook-restic-password-0123\n', { mode: 0o600 });
  s = await startPlaybookSuite(
    [
      'backup:',
      '  targets:',
      '    same-city:',
      '      kind: same-city',
      `      repository: ${path.join(repos, 'same-city')}`,
      `      passwordFile: ${passwordFile}`,
      '    dr-centre:',
      '      kind: remote',
      `      repository: sftp:${sshd.user}@127.0.0.1:${path.join(repos, 'remote')}`,
      `      passwordFile: ${passwordFile}`,
      `      sftp: { port: ${sshd.port}, identityFile: ${sshd.identityFile}, knownHostsFile: ${sshd.knownHostsFile}, connectTimeoutSeconds: 5 }`,
    ].join('\n') + '\n',
  );
  standbyDir = path.join(tempDir('egov-pb-standby-'), 'standby');
}, 120_000);

afterAll(async () => {
  if (standbyPid) {
    try {
      process.kill(standbyPid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  await s?.close();
  await sshd?.dispose();
  removeTempDirs();
});

const drills = async () => (await s.desk.suite.database.db.selectFrom('backup_drill').selectAll().execute()).length;

describe('restore-drill', () => {
  it('in a dry run names every target and drills none', async () => {
    const run = await s.cli(['--json', 'playbook', 'run', 'restore-drill', '--param', 'backupFirst=true', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().steps[0].dryRun).toBe('target same-city\ntarget dr-centre');
    expect(await drills()).toBe(0);
    expect((await s.desk.suite.database.db.selectFrom('backup_run').selectAll().execute()).length).toBe(0);
  });

  it('refuses to drill targets without a backup, naming them', async () => {
    const run = await s.cli(['--json', 'playbook', 'run', 'restore-drill']);
    expect(run.code).toBe(4);
    expect(run.json().error.message).toContain('no backup yet on same-city, dr-centre');
  });

  it('backs up, drills both targets and writes the DR report', async () => {
    const run = await s.cli(['--json', 'playbook', 'run', 'restore-drill', '--param', 'backupFirst=true']);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('succeeded');
    expect(result.results.drill.map((d: { target: string; ok: boolean }) => [d.target, d.ok])).toEqual([['same-city', true], ['dr-centre', true]]);
    expect(await drills()).toBe(2);
    const report = JSON.parse(readFileSync(result.results['dr-report'].json, 'utf8'));
    expect(report.targets.map((t: { target: string; rtoMet: boolean; rpoMet: boolean }) => [t.target, t.rtoMet, t.rpoMet])).toEqual([['same-city', true, true], ['dr-centre', true, true]]);
    expect(typeof report.level).toBe('number');
    expect(readFileSync(result.results['dr-report'].text, 'utf8')).toMatch(/dr-centre \(remote, off-site\): drill passed; RTO [\d.]+ s/);
  }, 300_000);
});

describe('dr-switchover', () => {
  it('in a dry run restores nothing and starts nothing', async () => {
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const run = await s.cli(['--json', 'playbook', 'run', 'dr-switchover', '--yes', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${tlsPort}`, '--param', 'ca=city-ecdsa', '--dry-run']);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(standbyDir)).toBe(false);
  });

  it('refuses ports in use before restoring anything', async () => {
    const port = await freeTcpPort();
    const run = await s.cli(['--json', 'playbook', 'run', 'dr-switchover', '--yes', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${s.desk.secureBase.split(':').at(-1)}`, '--param', 'ca=city-ecdsa']);
    expect(run.code).toBe(4);
    expect(run.json().error.step).toBe('check-standby');
    expect(run.json().error.message).toMatch(/port \d+ on 127.0.0.1 is in use/);
    expect(existsSync(standbyDir)).toBe(false);
  });

  it('asks before restoring: without a terminal or --yes it stops there, and nothing is restored', async () => {
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const run = await s.cli(['--json', 'playbook', 'run', 'dr-switchover', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${tlsPort}`, '--param', 'ca=city-ecdsa']);
    expect(run.code).toBe(4);
    expect(run.json().error).toMatchObject({ step: 'restore', message: 'step restore needs confirmation: answer at a terminal or give --yes' });
    expect(existsSync(standbyDir)).toBe(false);
  });

  it('a failure after the standby started stops it and removes its directory (rollbacks in reverse)', async () => {
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const run = await s.cli(['--json', 'playbook', 'run', 'dr-switchover', '--yes', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${tlsPort}`, '--param', 'ca=no-such-ca']);
    expect(run.code).not.toBe(0);
    const result = run.json();
    expect(result.error.step).toBe('check-ca-signs');
    expect(result.status).toBe('rolled-back');
    expect(result.rolledBack.map((r: { name: string }) => r.name)).toEqual(['start-standby', 'restore']);
    const pid = result.results['start-standby'].pid as number;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(existsSync(standbyDir)).toBe(false);
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  }, 300_000);

  it('restores the latest remote snapshot into the standby directory, serves it, and its CA signs and OCSP answers', async () => {
    const [port, tlsPort] = [await freeTcpPort(), await freeTcpPort()];
    const run = await s.cli(['--json', 'playbook', 'run', 'dr-switchover', '--yes', '--param', `standbyDir=${standbyDir}`, '--param', `port=${port}`, '--param', `tlsPort=${tlsPort}`, '--param', 'ca=city-ecdsa', '--param', `secretKeyFile=${path.join(s.desk.dir, 'secret.key')}`]);
    const result = run.json();
    standbyPid = result.results['start-standby']?.pid;
    expect(run.code, run.stderr).toBe(0);
    expect(result.status).toBe('succeeded');
    expect(result.results['check-standby'].target).toBe('dr-centre');
    expect(result.results['check-ocsp']).toEqual({ status: 'good' });
    // The standby answers on its own ports with the primary's CA.
    const primaryChain = await (await fetch(`${s.desk.plainBase}/ca/city-ecdsa-chain.pem`)).text();
    const standbyChain = await (await fetch(`http://127.0.0.1:${port}/ca/city-ecdsa-chain.pem`)).text();
    expect(standbyChain).toBe(primaryChain);
    // The test certificate is on the standby only.
    const serial = result.results['check-ca-signs'].serial;
    expect(await s.desk.suite.database.db.selectFrom('certificate').select('serial').where('serial', '=', serial).executeTakeFirst()).toBeUndefined();
    expect(readFileSync(path.join(standbyDir, 'serve.pid'), 'utf8').trim()).toBe(String(standbyPid));
  }, 300_000);
});
