// A throwaway OpenSSH server for sftp tests: its own host key, config file,
// authorized key and known_hosts, on a free loopback port. No system config
// is touched (sshd needs its privilege-separation dir /run/sshd, created if
// missing). stop() and start() again keep the same port, keys and dir, so a
// test can take the server down and bring it back.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes.js';

export interface SshServer {
  port: number;
  dir: string;
  user: string;
  identityFile: string;
  knownHostsFile: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** stop() and remove the dir. */
  dispose(): Promise<void>;
}

export const SSHD = '/usr/sbin/sshd';


function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'egov-ops-test', '-f', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

export async function startSshd(): Promise<SshServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-sshd-'));
  const port = await freePort();
  const user = os.userInfo().username;
  keygen(path.join(dir, 'host_key'));
  keygen(path.join(dir, 'client_key'));
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client_key.pub')), { mode: 0o600 });
  const hostPub = readFileSync(path.join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub}\n`);
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(dir, 'host_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  let child: ChildProcess | undefined;
  const server: SshServer = {
    port,
    dir,
    user,
    identityFile: path.join(dir, 'client_key'),
    knownHostsFile: path.join(dir, 'known_hosts'),
    async start() {
      if (child) return;
      child = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let log = '';
      child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      const started = child;
      child.once('exit', () => {
        if (child === started) child = undefined;
      });
      for (let i = 0; i < 100; i++) {
        if (await canConnect(port)) return;
        if (!child) throw new Error(`sshd exited: ${log}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`sshd did not listen on ${port}: ${log}`);
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = undefined;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGTERM');
      });
      for (let i = 0; i < 50 && (await canConnect(port)); i++) await new Promise((r) => setTimeout(r, 50));
    },
    async dispose() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.once('exit', () => child?.kill('SIGKILL'));
  await server.start();
  return server;
}
