// Host collectors over a real sshd on loopback, reading a prepared root of
// config files (compliant and non-compliant), and locally; refusals of a
// wrong key, an unknown host key and a closed port.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_COLLECTORS, probeHost, readHost, type HostTarget } from '../audit/index.js';
import { prepareRoots, type PreparedRoots } from './support/audit-roots.js';
import { startSshd, type SshServer } from './support/sshd.js';

let sshd: SshServer;
let roots: PreparedRoots;

beforeAll(async () => {
  sshd = await startSshd();
  roots = prepareRoots();
});
afterAll(async () => {
  await sshd?.dispose();
  if (roots) rmSync(roots.base, { recursive: true, force: true });
});

const target = (root: string, over: Partial<HostTarget> = {}): HostTarget => ({
  name: 'web-1', kind: 'ssh', user: sshd.user, address: '127.0.0.1', port: sshd.port, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, root, ...over,
});

const verdicts = async (t: HostTarget) => {
  const snapshot = await readHost(t);
  return Object.fromEntries(HOST_COLLECTORS.map((c) => [c.name, c.check(snapshot)]));
};

describe('host collectors over ssh', () => {
  it('a compliant root passes every host check, each with the lines it read', async () => {
    const results = await verdicts(target(roots.compliant));
    const statuses = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.status]));
    expect(statuses).toEqual(Object.fromEntries(HOST_COLLECTORS.map((c) => [c.name, 'pass'])));
    expect(results['host.password-ageing']!.evidence).toContainEqual({ source: '/etc/login.defs', line: 2, text: 'PASS_MAX_DAYS\t90' });
    expect(results['host.sshd-root-login']!.evidence).toContainEqual({ source: '/etc/ssh/sshd_config', line: 2, text: 'PermitRootLogin no' });
    expect(results['host.rsyslog-forwarding']!.evidence[0]).toMatchObject({ source: '/etc/rsyslog.d/90-forward.conf', text: '*.* @@10.10.0.5:514' });
    expect(results['host.high-risk-ports']!.summary).toContain('only on loopback: 3306');
    expect(results['host.auditd']!.summary).toContain('4 rule(s)');
    expect(results['host.logrotate-retention']!.summary).toContain('180 days');
    expect(results['host.password-ageing']!.target).toBe('host:web-1');
    expect(results['host.password-ageing']!.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('a non-compliant root fails where it should, naming what it found and the high risks', async () => {
    const results = await verdicts(target(roots.nonCompliant));
    const statuses = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.status]));
    expect(statuses).toMatchObject({
      'host.password-ageing': 'fail',
      'host.password-quality': 'fail',
      'host.faillock': 'fail',
      'host.shell-timeout': 'fail',
      'host.sshd-client-alive': 'fail',
      'host.sshd-root-login': 'fail',
      'host.sshd-password-auth': 'fail',
      'host.sshd-ciphers': 'fail',
      'host.auditd': 'fail',
      'host.rsyslog-forwarding': 'fail',
      'host.logrotate-retention': 'fail',
      'host.time-sync': 'fail',
      'host.high-risk-ports': 'fail',
      'host.umask': 'fail',
      'host.empty-passwords': 'fail',
      'host.uid0-accounts': 'fail',
    });
    expect(results['host.empty-passwords']!.summary).toContain('ops');
    expect(results['host.empty-passwords']!.evidence[0]!.text).toBe('ops:(empty)');
    expect(results['host.uid0-accounts']!.summary).toContain('toor');
    expect(results['host.high-risk-ports']!.summary).toContain('tcp/23');
    expect(results['host.high-risk-ports']!.summary).toContain('tcp/6379');
    expect(results['host.high-risk-ports']!.highRisks).toEqual(['high-risk-port', 'clear-text-management']);
    expect(results['host.sshd-ciphers']!.summary).toContain('aes128-cbc');
    expect(results['host.password-ageing']!.summary).toContain('99999');
    expect(results['host.password-ageing']!.hint).toContain('PASS_MAX_DAYS');
  });

  it('reads the same root locally', async () => {
    const over = await verdicts({ name: 'local', kind: 'local', root: roots.nonCompliant });
    expect(over['host.sshd-root-login']!.status).toBe('fail');
    const good = await verdicts({ name: 'local', kind: 'local', root: roots.compliant });
    expect(good['host.uid0-accounts']!.status).toBe('pass');
  });

  it('a wrong key, an unknown host key and a closed port are clear errors', async () => {
    const otherKey = path.join(sshd.dir, 'other_key');
    const { spawnSync } = await import('node:child_process');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
    await expect(probeHost(target(roots.compliant, { identityFile: otherKey }))).rejects.toThrow(/web-1: .* refused the key .*other_key/);
    const emptyKnown = path.join(sshd.dir, 'empty_known_hosts');
    writeFileSync(emptyKnown, '');
    await expect(probeHost(target(roots.compliant, { knownHostsFile: emptyKnown }))).rejects.toThrow(/host key of .* is not the one in .*empty_known_hosts/);
    await expect(probeHost(target(roots.compliant, { port: 1 }))).rejects.toThrow(/ssh to .*:1 was refused/);
    await expect(probeHost(target(roots.compliant))).resolves.toBeUndefined();
  });
});
