// Host collectors: what evaluators read on a Linux server, over SSH (the
// `ssh` client in batch mode with an identity and known_hosts) or locally.
// One connection reads every file at once under a root prefix (`/` on a live
// host; a prepared directory in tests), and each check keeps the lines it
// judged as evidence. Nothing on the host is written.

import { spawn } from 'node:child_process';
import { EgovError } from '../../core/index.js';
import type { CheckResult, CheckStatus, EvidenceEntry } from './types.js';

export const HOST_COLLECTOR_VERSION = '1.0.0';

export interface HostTarget {
  name: string;
  /** ssh: user@host, port, identity, known_hosts; local: this machine. */
  kind: 'ssh' | 'local';
  user?: string;
  address?: string;
  port?: number;
  identityFile?: string;
  knownHostsFile?: string;
  /** The directory read as `/` (default `/`). */
  root?: string;
}

/** What was read from a host: path (as seen from its `/`) -> content, null when absent, 'unreadable' marked apart. */
export interface HostSnapshot {
  host: string;
  root: string;
  readAt: string;
  files: Map<string, string>;
  missing: Set<string>;
  unreadable: Set<string>;
  commands: Map<string, string>;
}

const FILES = [
  '/etc/login.defs',
  '/etc/security/pwquality.conf',
  '/etc/security/pwquality.conf.d/*.conf',
  '/etc/pam.d/common-password',
  '/etc/pam.d/common-auth',
  '/etc/pam.d/system-auth',
  '/etc/pam.d/password-auth',
  '/etc/security/faillock.conf',
  '/etc/profile',
  '/etc/profile.d/*.sh',
  '/etc/bash.bashrc',
  '/etc/ssh/sshd_config',
  '/etc/ssh/sshd_config.d/*.conf',
  '/etc/audit/auditd.conf',
  '/etc/audit/audit.rules',
  '/etc/audit/rules.d/*.rules',
  '/run/auditd.pid',
  '/etc/rsyslog.conf',
  '/etc/rsyslog.d/*.conf',
  '/etc/logrotate.conf',
  '/etc/logrotate.d/rsyslog',
  '/etc/chrony/chrony.conf',
  '/etc/chrony.conf',
  '/etc/ntp.conf',
  '/etc/ntpsec/ntp.conf',
  '/etc/systemd/timesyncd.conf',
  '/etc/passwd',
  '/etc/shadow',
  '/proc/net/tcp',
  '/proc/net/tcp6',
  '/proc/net/udp',
  '/proc/net/udp6',
];

/** The POSIX sh script run on the host: $1 is the root prefix. Prints each file base64-encoded between markers. */
export const GATHER_SCRIPT = `
ROOT="\${1:-/}"; ROOT="\${ROOT%/}"
emit() { f="$1"; rel="\${f#"$ROOT"}"
  if [ ! -e "$f" ]; then echo "@@MISSING $rel"; elif [ ! -r "$f" ]; then echo "@@UNREADABLE $rel"; else echo "@@FILE $rel"; base64 < "$f"; echo "@@END"; fi; }
for p in ${FILES.map((f) => `"$ROOT"${f.replace(/\*/g, '"*"')}`).join(' ')}; do emit "$p"; done
pid=$(cat "$ROOT/run/auditd.pid" 2>/dev/null | tr -dc 0-9)
[ -n "$pid" ] && emit "$ROOT/proc/$pid/comm"
if [ -z "$ROOT" ] && command -v chronyc >/dev/null 2>&1; then echo "@@COMMAND chronyc -n tracking"; chronyc -n tracking 2>&1 | base64; echo "@@END"; fi
echo "@@DONE"
`.replace(/"\*"/g, '*');

export function parseGatherOutput(host: string, root: string, output: string): HostSnapshot {
  const snapshot: HostSnapshot = { host, root, readAt: new Date().toISOString(), files: new Map(), missing: new Set(), unreadable: new Set(), commands: new Map() };
  const lines = output.split('\n');
  if (!lines.includes('@@DONE')) throw new EgovError('unavailable', `host ${host}: the file reader stopped before the end (no @@DONE marker)`);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const head = /^@@(FILE|COMMAND|MISSING|UNREADABLE) (.*)$/.exec(line);
    if (!head) continue;
    const [, kind, name] = head;
    if (kind === 'MISSING') snapshot.missing.add(name!);
    else if (kind === 'UNREADABLE') snapshot.unreadable.add(name!);
    else {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== '@@END'; i++) body.push(lines[i]!);
      const text = Buffer.from(body.join(''), 'base64').toString('utf8');
      (kind === 'FILE' ? snapshot.files : snapshot.commands).set(name!, text);
    }
  }
  return snapshot;
}

function describeSshFailure(target: HostTarget, stderr: string): EgovError {
  const where = `${target.user}@${target.address}:${target.port ?? 22}`;
  const detail = stderr.trim().split('\n').filter(Boolean).slice(-1)[0] ?? 'no message';
  if (/Connection refused/i.test(stderr)) return new EgovError('unavailable', `host ${target.name}: ssh to ${where} was refused (nothing listens there): ${detail}`, { host: target.name });
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr))
    return new EgovError('unauthorized', `host ${target.name}: the host key of ${where} is not the one in ${target.knownHostsFile ?? 'known_hosts'}: ${detail}`, { host: target.name });
  if (/Permission denied/i.test(stderr)) return new EgovError('unauthorized', `host ${target.name}: ${where} refused the key ${target.identityFile}: ${detail}`, { host: target.name });
  if (/timed out|No route|Could not resolve/i.test(stderr)) return new EgovError('unavailable', `host ${target.name}: ssh to ${where} failed: ${detail}`, { host: target.name });
  return new EgovError('unavailable', `host ${target.name}: ssh to ${where} failed: ${detail}`, { host: target.name });
}

export function sshArguments(target: HostTarget, command: string[]): string[] {
  if (!target.user || !target.address || !target.identityFile) throw new EgovError('bad-request', `host ${target.name}: ssh needs a user, an address and an identity file`);
  return [
    '-i', target.identityFile,
    '-p', String(target.port ?? 22),
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${target.knownHostsFile ?? '/dev/null'}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
    '-F', '/dev/null',
    `${target.user}@${target.address}`,
    ...command,
  ];
}

/** Runs `sh -s -- ROOT` with `script` on stdin, over ssh or locally. */
function runOnHost(target: HostTarget, script: string, root: string): Promise<string> {
  const [file, args] = target.kind === 'local' ? ['sh', ['-s', '--', root]] : ['ssh', sshArguments(target, ['sh', '-s', '--', `'${root.replace(/'/g, `'\\''`)}'`])];
  return new Promise((resolve, reject) => {
    const child = spawn(file as string, args as string[], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', (error) => reject(new EgovError('unavailable', `host ${target.name}: cannot start ${file}: ${error.message}`)));
    child.once('close', (code) => {
      if (code === 0) resolve(stdout);
      else if (target.kind === 'ssh' && code === 255) reject(describeSshFailure(target, stderr));
      else reject(new EgovError('unavailable', `host ${target.name}: the file reader exited with ${code}: ${stderr.trim()}`));
    });
    // ssh that cannot connect exits before reading the script: the pipe breaks (EPIPE), and the exit status says why.
    child.stdin.on('error', () => undefined);
    child.stdin.end(script);
  });
}

/** Reads what the host checks need, in one connection. */
export async function readHost(target: HostTarget): Promise<HostSnapshot> {
  const root = target.root ?? '/';
  return parseGatherOutput(target.name, root, await runOnHost(target, GATHER_SCRIPT, root));
}

/** Opens a connection and runs `true`: a host is added only when this works. */
export async function probeHost(target: HostTarget): Promise<void> {
  const out = await runOnHost(target, 'echo @@OK\n', target.root ?? '/');
  if (!out.includes('@@OK')) throw new EgovError('unavailable', `host ${target.name}: the probe did not answer`);
}

// ---- parsing helpers ----

interface Line {
  file: string;
  line: number;
  text: string;
}

/** Non-comment lines of the files matching `pattern`, in path order. */
function linesOf(s: HostSnapshot, pattern: RegExp): Line[] {
  const out: Line[] = [];
  for (const file of [...s.files.keys()].filter((f) => pattern.test(f)).sort()) {
    s.files.get(file)!.split('\n').forEach((text, i) => {
      const t = text.trim();
      if (t && !t.startsWith('#')) out.push({ file, line: i + 1, text: t });
    });
  }
  return out;
}

const ev = (l: Line): EvidenceEntry => ({ source: l.file, line: l.line, text: l.text });
const absent = (s: HostSnapshot, files: string[]): EvidenceEntry[] =>
  files.map((f) => ({ source: f, text: s.unreadable.has(f) ? '(unreadable)' : s.files.has(f) ? '(no matching setting)' : '(file absent)' }));

/** The last `KEY value` line (login.defs, sshd_config first-match handled by the caller). */
function keyword(lines: Line[], key: string, first = false): Line | undefined {
  const matches = lines.filter((l) => l.text.split(/\s+/)[0]!.toLowerCase() === key.toLowerCase());
  return first ? matches[0] : matches[matches.length - 1];
}
const valueOf = (l: Line | undefined) => l?.text.split(/\s+/).slice(1).join(' ').replace(/^=\s*/, '');

type Verdict = { status: CheckStatus; summary: string; evidence: EvidenceEntry[]; hint?: string; highRisks?: string[] };
type HostCheck = (s: HostSnapshot) => Verdict;

function sshdLines(s: HostSnapshot): Line[] {
  // sshd takes the first value of a keyword; Include'd sshd_config.d files come first on Debian.
  const dropIns = linesOf(s, /^\/etc\/ssh\/sshd_config\.d\//);
  const main = linesOf(s, /^\/etc\/ssh\/sshd_config$/).filter((l) => !/^include\s/i.test(l.text));
  const matchAt = main.findIndex((l) => /^match\s/i.test(l.text));
  return [...dropIns, ...(matchAt >= 0 ? main.slice(0, matchAt) : main)];
}

const checks: Record<string, { description: string; check: HostCheck }> = {
  'host.password-ageing': {
    description: 'login.defs: PASS_MAX_DAYS <= 90, PASS_MIN_DAYS >= 1, PASS_WARN_AGE >= 7',
    check(s) {
      const lines = linesOf(s, /^\/etc\/login\.defs$/);
      const max = keyword(lines, 'PASS_MAX_DAYS');
      const min = keyword(lines, 'PASS_MIN_DAYS');
      const warn = keyword(lines, 'PASS_WARN_AGE');
      const evidence = [max, min, warn].filter((l): l is Line => !!l).map(ev);
      if (!lines.length) return { status: 'error', summary: '/etc/login.defs could not be read', evidence: absent(s, ['/etc/login.defs']) };
      const maxDays = Number(valueOf(max));
      if (!max || !(maxDays > 0 && maxDays <= 90))
        return { status: 'fail', summary: `passwords expire after ${max ? maxDays : 'no limit (PASS_MAX_DAYS unset)'} days, more than 90`, evidence: evidence.length ? evidence : absent(s, ['/etc/login.defs']), hint: 'set PASS_MAX_DAYS 90 (or less) in /etc/login.defs and chage -M 90 existing accounts', highRisks: ['weak-password'] };
      const problems = [];
      if (!(Number(valueOf(min)) >= 1)) problems.push(`PASS_MIN_DAYS ${valueOf(min) ?? 'unset'} (want >= 1)`);
      if (!(Number(valueOf(warn)) >= 7)) problems.push(`PASS_WARN_AGE ${valueOf(warn) ?? 'unset'} (want >= 7)`);
      return problems.length
        ? { status: 'partial', summary: `PASS_MAX_DAYS ${maxDays}; ${problems.join(', ')}`, evidence, hint: 'set PASS_MIN_DAYS 1 and PASS_WARN_AGE 7 in /etc/login.defs' }
        : { status: 'pass', summary: `PASS_MAX_DAYS ${maxDays}, PASS_MIN_DAYS ${valueOf(min)}, PASS_WARN_AGE ${valueOf(warn)}`, evidence };
    },
  },
  'host.password-quality': {
    description: 'pam_pwquality in use with minlen >= 8 and at least 3 character classes',
    check(s) {
      const conf = linesOf(s, /^\/etc\/security\/pwquality\.conf/);
      const pam = linesOf(s, /^\/etc\/pam\.d\/(common-password|system-auth|password-auth)$/).filter((l) => /pam_pwquality\.so|pam_cracklib\.so/.test(l.text));
      const settings = new Map<string, { value: number; line: Line }>();
      for (const l of conf) {
        const m = /^(\w+)\s*=\s*(-?\d+)/.exec(l.text);
        if (m) settings.set(m[1]!, { value: Number(m[2]), line: l });
      }
      for (const l of pam) for (const m of l.text.matchAll(/(\w+)=(-?\d+)/g)) settings.set(m[1]!, { value: Number(m[2]), line: l });
      const evidence = [...pam.map(ev), ...[...new Set([...settings.values()].map((v) => v.line))].filter((l) => !pam.includes(l)).map(ev)];
      if (!pam.length) return { status: 'fail', summary: 'no pam_pwquality (or pam_cracklib) in the PAM password stack', evidence: evidence.length ? evidence : absent(s, ['/etc/pam.d/common-password', '/etc/security/pwquality.conf']), hint: 'install libpam-pwquality and add pam_pwquality.so to /etc/pam.d/common-password', highRisks: ['weak-password'] };
      const minlen = settings.get('minlen')?.value ?? 8;
      const credits = ['dcredit', 'ucredit', 'lcredit', 'ocredit'].filter((k) => (settings.get(k)?.value ?? 0) < 0).length;
      const classes = Math.max(settings.get('minclass')?.value ?? 0, credits);
      if (minlen < 8) return { status: 'fail', summary: `minimum password length ${minlen}, under 8`, evidence, hint: 'set minlen = 8 (or more) in /etc/security/pwquality.conf', highRisks: ['weak-password'] };
      if (classes < 3) return { status: 'partial', summary: `minlen ${minlen}, but only ${classes} character class(es) required`, evidence, hint: 'set minclass = 3 in /etc/security/pwquality.conf' };
      return { status: 'pass', summary: `minlen ${minlen}, ${classes} character classes required`, evidence };
    },
  },
  'host.faillock': {
    description: 'pam_faillock locks an account after at most 10 failures',
    check(s) {
      const conf = linesOf(s, /^\/etc\/security\/faillock\.conf$/);
      const pam = linesOf(s, /^\/etc\/pam\.d\/(common-auth|system-auth|password-auth)$/).filter((l) => /pam_faillock\.so|pam_tally2\.so/.test(l.text));
      let deny: { value: number; line: Line } | undefined;
      let unlock: { value: number; line: Line } | undefined;
      for (const l of [...conf, ...pam]) {
        const d = /\bdeny\s*=\s*(\d+)/.exec(l.text);
        if (d) deny = { value: Number(d[1]), line: l };
        const u = /\bunlock_time\s*=\s*(\d+)/.exec(l.text);
        if (u) unlock = { value: Number(u[1]), line: l };
      }
      const evidence = [...pam, ...[deny?.line, unlock?.line].filter((l): l is Line => !!l && !pam.includes(l))].map(ev);
      if (!pam.length) return { status: 'fail', summary: 'no pam_faillock in the PAM auth stack: failed logins are not limited', evidence: evidence.length ? evidence : absent(s, ['/etc/pam.d/common-auth', '/etc/security/faillock.conf']), hint: 'add pam_faillock.so (preauth and authfail) to /etc/pam.d/common-auth and set deny = 5, unlock_time = 900 in /etc/security/faillock.conf' };
      const denyCount = deny?.value ?? 3; // pam_faillock's default
      if (denyCount === 0 || denyCount > 10) return { status: 'fail', summary: `accounts lock after ${denyCount || 'no'} failures`, evidence, hint: 'set deny = 5 in /etc/security/faillock.conf' };
      return { status: 'pass', summary: `accounts lock after ${denyCount} failures${deny ? '' : ' (default)'}, unlock after ${unlock ? `${unlock.value} s` : '600 s (default)'}`, evidence };
    },
  },
  'host.shell-timeout': {
    description: 'TMOUT set to at most 1800 s for login shells',
    check(s) {
      const lines = linesOf(s, /^\/etc\/(profile|profile\.d\/.*\.sh|bash\.bashrc)$/).filter((l) => /\bTMOUT=/.test(l.text));
      const last = lines[lines.length - 1];
      const value = last ? Number(/TMOUT=(\d+)/.exec(last.text)?.[1]) : NaN;
      if (!last) return { status: 'fail', summary: 'no TMOUT for login shells: idle sessions stay open', evidence: absent(s, ['/etc/profile', '/etc/profile.d/*.sh']), hint: 'add "readonly TMOUT=600; export TMOUT" to /etc/profile.d/tmout.sh' };
      if (!(value > 0 && value <= 1800)) return { status: 'fail', summary: `TMOUT=${value}: idle sessions stay open more than 30 minutes`, evidence: lines.map(ev), hint: 'set TMOUT=600 in /etc/profile.d/tmout.sh' };
      return { status: 'pass', summary: `idle shells end after ${value} s`, evidence: lines.map(ev) };
    },
  },
  'host.sshd-client-alive': {
    description: 'sshd ends idle sessions: ClientAliveInterval x ClientAliveCountMax <= 1800 s',
    check(s) {
      const lines = sshdLines(s);
      const interval = keyword(lines, 'ClientAliveInterval', true);
      const count = keyword(lines, 'ClientAliveCountMax', true);
      const i = Number(valueOf(interval) ?? 0);
      const c = Number(valueOf(count) ?? 3);
      const evidence = [interval, count].filter((l): l is Line => !!l).map(ev);
      if (!(i > 0)) return { status: 'fail', summary: 'ClientAliveInterval unset or 0: sshd never ends an idle session', evidence: evidence.length ? evidence : absent(s, ['/etc/ssh/sshd_config']), hint: 'set ClientAliveInterval 300 and ClientAliveCountMax 0..3 in /etc/ssh/sshd_config' };
      const total = i * Math.max(c, 1);
      if (total > 1800) return { status: 'partial', summary: `idle SSH sessions end after ${total} s, more than 1800`, evidence, hint: 'lower ClientAliveInterval or ClientAliveCountMax' };
      return { status: 'pass', summary: `idle SSH sessions end after about ${total} s`, evidence };
    },
  },
  'host.sshd-root-login': {
    description: 'sshd: PermitRootLogin no',
    check(s) {
      if (!s.files.has('/etc/ssh/sshd_config')) return { status: 'na', summary: 'no /etc/ssh/sshd_config: no SSH server configured', evidence: absent(s, ['/etc/ssh/sshd_config']) };
      const line = keyword(sshdLines(s), 'PermitRootLogin', true);
      const value = (valueOf(line) ?? 'prohibit-password (default)').toLowerCase();
      const evidence = line ? [ev(line)] : absent(s, ['/etc/ssh/sshd_config']);
      if (value === 'no') return { status: 'pass', summary: 'root cannot log in over SSH', evidence };
      if (value === 'yes') return { status: 'fail', summary: 'root may log in over SSH with a password', evidence, hint: 'set PermitRootLogin no; administrators log in as themselves and use sudo', highRisks: ['excess-privilege'] };
      return { status: 'partial', summary: `PermitRootLogin ${value}: root may still log in with a key`, evidence, hint: 'set PermitRootLogin no' };
    },
  },
  'host.sshd-password-auth': {
    description: 'sshd: PermitEmptyPasswords no; PasswordAuthentication no (keys only)',
    check(s) {
      if (!s.files.has('/etc/ssh/sshd_config')) return { status: 'na', summary: 'no /etc/ssh/sshd_config: no SSH server configured', evidence: absent(s, ['/etc/ssh/sshd_config']) };
      const lines = sshdLines(s);
      const empty = keyword(lines, 'PermitEmptyPasswords', true);
      const password = keyword(lines, 'PasswordAuthentication', true);
      const evidence = [empty, password].filter((l): l is Line => !!l).map(ev);
      if ((valueOf(empty) ?? 'no').toLowerCase() === 'yes') return { status: 'fail', summary: 'sshd accepts empty passwords', evidence, hint: 'set PermitEmptyPasswords no', highRisks: ['weak-password'] };
      if ((valueOf(password) ?? 'yes').toLowerCase() !== 'no') return { status: 'partial', summary: `password logins allowed over SSH (PasswordAuthentication ${valueOf(password) ?? 'yes (default)'})`, evidence: evidence.length ? evidence : absent(s, ['/etc/ssh/sshd_config']), hint: 'set PasswordAuthentication no and log in with keys' };
      return { status: 'pass', summary: 'SSH takes keys only, no empty passwords', evidence };
    },
  },
  'host.sshd-ciphers': {
    description: 'sshd offers no weak ciphers, MACs or key exchanges (CBC, 3DES, arcfour, MD5, SHA-1 DH)',
    check(s) {
      if (!s.files.has('/etc/ssh/sshd_config')) return { status: 'na', summary: 'no /etc/ssh/sshd_config: no SSH server configured', evidence: absent(s, ['/etc/ssh/sshd_config']) };
      const lines = sshdLines(s);
      const set = ['Ciphers', 'MACs', 'KexAlgorithms', 'Protocol'].map((k) => keyword(lines, k, true)).filter((l): l is Line => !!l);
      const weak = set.flatMap((l) => (valueOf(l) ?? '').split(',').filter((a) => /cbc|3des|arcfour|blowfish|hmac-md5|-96|group1-sha1|group14-sha1|group-exchange-sha1|^1$/i.test(a.trim())).map((a) => `${a.trim()} (${l.file}:${l.line})`));
      if (weak.length) return { status: 'fail', summary: `weak algorithms offered: ${weak.join(', ')}`, evidence: set.map(ev), hint: 'remove CBC, 3DES, arcfour, MD5 and SHA-1 algorithms from Ciphers, MACs and KexAlgorithms', highRisks: ['clear-text-management'] };
      return { status: 'pass', summary: set.length ? 'only strong algorithms configured' : "OpenSSH's default algorithms (no weak ones since 7.4)", evidence: set.length ? set.map(ev) : [{ source: '/etc/ssh/sshd_config', text: '(Ciphers, MACs, KexAlgorithms not set: defaults)' }] };
    },
  },
  'host.auditd': {
    description: 'auditd running (pid file and its process) with at least one rule',
    check(s) {
      const pid = s.files.get('/run/auditd.pid')?.trim();
      const comm = pid ? s.files.get(`/proc/${pid}/comm`)?.trim() : undefined;
      const rules = linesOf(s, /^\/etc\/audit\/(audit\.rules|rules\.d\/.*\.rules)$/).filter((l) => /^-[aw]\s/.test(l.text));
      const evidence: EvidenceEntry[] = [
        pid ? { source: '/run/auditd.pid', text: pid } : { source: '/run/auditd.pid', text: '(absent)' },
        ...(pid ? [{ source: `/proc/${pid}/comm`, text: comm ?? '(no such process)' }] : []),
        ...rules.slice(0, 10).map(ev),
        ...(rules.length > 10 ? [{ source: '/etc/audit/rules.d', text: `… ${rules.length - 10} more rules` }] : []),
      ];
      if (comm !== 'auditd') return { status: 'fail', summary: 'auditd is not running', evidence, hint: 'apt-get install auditd; systemctl enable --now auditd' };
      if (!rules.length) return { status: 'partial', summary: 'auditd runs with no watch or syscall rules', evidence, hint: 'add rules in /etc/audit/rules.d/ (identity files, sudoers, logins, time changes)' };
      return { status: 'pass', summary: `auditd running (pid ${pid}) with ${rules.length} rule(s)`, evidence };
    },
  },
  'host.rsyslog-forwarding': {
    description: 'rsyslog forwards logs to a remote collector (@@host:port, @host or omfwd)',
    check(s) {
      const lines = linesOf(s, /^\/etc\/rsyslog\.(conf|d\/.*\.conf)$/).filter((l) => /(^|\s)@@?[\w.[\]:-]+|omfwd/.test(l.text));
      if (!lines.length) return { status: 'fail', summary: 'no rsyslog forwarding: logs stay on the host only', evidence: absent(s, ['/etc/rsyslog.conf', '/etc/rsyslog.d/*.conf']), hint: 'add "*.* @@collector:514" (or an omfwd action over TCP/TLS) in /etc/rsyslog.d/90-forward.conf', highRisks: ['short-log-retention'] };
      return { status: 'pass', summary: `logs forwarded: ${lines.map((l) => l.text).join('; ')}`, evidence: lines.map(ev) };
    },
  },
  'host.logrotate-retention': {
    description: 'logrotate keeps the system logs at least 180 days',
    check(s) {
      const per = { daily: 1, weekly: 7, monthly: 31, yearly: 365 } as Record<string, number>;
      const files = ['/etc/logrotate.d/rsyslog', '/etc/logrotate.conf'];
      const evidence: EvidenceEntry[] = [];
      let period: number | undefined;
      let rotate: number | undefined;
      let maxage: number | undefined;
      for (const file of files) {
        for (const l of linesOf(s, new RegExp(`^${file.replace(/\./g, '\\.')}$`))) {
          const word = l.text.split(/\s+/)[0]!;
          if (word in per && period === undefined) (period = per[word]), evidence.push(ev(l));
          if (word === 'rotate' && rotate === undefined) (rotate = Number(l.text.split(/\s+/)[1])), evidence.push(ev(l));
          if (word === 'maxage' && maxage === undefined) (maxage = Number(l.text.split(/\s+/)[1])), evidence.push(ev(l));
        }
      }
      if (rotate === undefined) return { status: 'error', summary: 'no logrotate rotate count found', evidence: absent(s, files) };
      const days = Math.min(rotate * (period ?? 7), maxage ?? Infinity);
      if (days < 180) return { status: 'fail', summary: `logs kept about ${days} days (rotate ${rotate} x ${period ?? 7} d${maxage !== undefined ? `, maxage ${maxage}` : ''}), under 180`, evidence, hint: 'in /etc/logrotate.d/rsyslog use "weekly" with "rotate 26" (or daily with rotate 180), or forward to a collector keeping 180 days', highRisks: ['short-log-retention'] };
      return { status: 'pass', summary: `logs kept about ${days} days`, evidence };
    },
  },
  'host.time-sync': {
    description: 'an NTP client (chrony, ntpd or timesyncd) has servers; on a live host chronyc reports Leap status Normal',
    check(s) {
      const lines = linesOf(s, /^\/etc\/(chrony\/chrony\.conf|chrony\.conf|ntp\.conf|ntpsec\/ntp\.conf)$/).filter((l) => /^(server|pool|peer)\s/.test(l.text));
      const timesyncd = linesOf(s, /^\/etc\/systemd\/timesyncd\.conf$/).filter((l) => /^NTP=\S/.test(l.text));
      const sources = [...lines, ...timesyncd];
      const tracking = s.commands.get('chronyc -n tracking');
      const evidence = [...sources.map(ev), ...(tracking ? [{ source: 'chronyc -n tracking', text: tracking.trim() }] : [])];
      if (!sources.length) return { status: 'fail', summary: 'no NTP servers configured', evidence: absent(s, ['/etc/chrony/chrony.conf', '/etc/ntp.conf', '/etc/systemd/timesyncd.conf']), hint: 'install chrony and point it at the city time servers' };
      if (tracking !== undefined) {
        if (!/Leap status\s*:\s*Normal/.test(tracking)) return { status: 'fail', summary: 'chrony is configured but not synchronised', evidence, hint: 'check that the time servers answer (chronyc sources)' };
        return { status: 'pass', summary: `synchronised (${sources.length} source line(s))`, evidence };
      }
      return { status: 'pass', summary: `${sources.length} time source(s) configured (synchronisation state is read only on a live root)`, evidence };
    },
  },
  'host.high-risk-ports': {
    description: 'no high-risk port (21, 23, 69, 111, 135-139, 445, 512-514, 873, 2049, 3306, 3389, 5900, 6379, 11211, 27017) listening beyond loopback',
    check(s) {
      const listening = listeningSockets(s);
      if (!listening.read) return { status: 'error', summary: '/proc/net/tcp could not be read', evidence: absent(s, ['/proc/net/tcp']) };
      const risky = listening.sockets.filter((x) => (x.proto === 'tcp' ? HIGH_RISK_TCP : HIGH_RISK_UDP).has(x.port));
      const exposed = risky.filter((x) => !x.loopback);
      const evidence = risky.map((x) => ({ source: x.file, line: x.line, text: `${x.proto} ${x.address}:${x.port} listening` }));
      if (exposed.length)
        return {
          status: 'fail',
          summary: `high-risk ports reachable: ${[...new Set(exposed.map((x) => `${x.proto}/${x.port}`))].join(', ')}`,
          evidence,
          hint: 'stop or firewall the services behind these ports (telnet, ftp, rpcbind, SMB, databases on all addresses …)',
          highRisks: exposed.some((x) => x.port === 23 || x.port === 21 || x.port === 513) ? ['high-risk-port', 'clear-text-management'] : ['high-risk-port'],
        };
      return { status: 'pass', summary: risky.length ? `high-risk ports only on loopback: ${risky.map((x) => x.port).join(', ')}` : `none of ${listening.sockets.length} listening sockets is on a high-risk port`, evidence: evidence.length ? evidence : [{ source: '/proc/net/tcp', text: `${listening.sockets.length} listening sockets, ports ${[...new Set(listening.sockets.map((x) => x.port))].sort((a, b) => a - b).join(', ') || 'none'}` }] };
    },
  },
  'host.umask': {
    description: 'default umask 027 or stricter (login.defs UMASK, umask in profile files)',
    check(s) {
      const defs = linesOf(s, /^\/etc\/login\.defs$/).filter((l) => /^UMASK\s/.test(l.text));
      const profile = linesOf(s, /^\/etc\/(profile|profile\.d\/.*\.sh|bash\.bashrc)$/).filter((l) => /^umask\s+\d+/.test(l.text));
      const found = [...defs, ...profile];
      if (!found.length) return { status: 'fail', summary: 'no default umask set (the system default 022 lets everyone read new files)', evidence: absent(s, ['/etc/login.defs', '/etc/profile']), hint: 'set UMASK 027 in /etc/login.defs' };
      const weak = found.filter((l) => (parseInt(l.text.split(/\s+/)[1]!, 8) & 0o027) !== 0o027);
      if (weak.length) return { status: 'fail', summary: `umask weaker than 027: ${weak.map((l) => `${l.text} (${l.file}:${l.line})`).join(', ')}`, evidence: found.map(ev), hint: 'set UMASK 027 in /etc/login.defs and umask 027 in /etc/profile' };
      return { status: 'pass', summary: `umask ${found.map((l) => l.text.split(/\s+/)[1]).join(', ')}`, evidence: found.map(ev) };
    },
  },
  'host.empty-passwords': {
    description: 'no account in /etc/shadow with an empty password field',
    check(s) {
      if (s.unreadable.has('/etc/shadow') || !s.files.has('/etc/shadow')) return { status: 'error', summary: '/etc/shadow could not be read (the audit account needs read access to it)', evidence: absent(s, ['/etc/shadow']), hint: 'run the host audit as root or give the audit account read access to /etc/shadow (group shadow)' };
      const empty = linesOf(s, /^\/etc\/shadow$/).filter((l) => l.text.split(':')[1] === '');
      if (empty.length) return { status: 'fail', summary: `accounts with an empty password: ${empty.map((l) => l.text.split(':')[0]).join(', ')}`, evidence: empty.map((l) => ({ source: l.file, line: l.line, text: `${l.text.split(':')[0]}:(empty)` })), hint: 'lock them (passwd -l USER) or set a password', highRisks: ['weak-password'] };
      const count = linesOf(s, /^\/etc\/shadow$/).length;
      return { status: 'pass', summary: `none of ${count} accounts has an empty password`, evidence: [{ source: '/etc/shadow', text: `${count} entries, no empty password field (hashes not kept)` }] };
    },
  },
  'host.uid0-accounts': {
    description: 'only root has UID 0',
    check(s) {
      const lines = linesOf(s, /^\/etc\/passwd$/);
      if (!lines.length) return { status: 'error', summary: '/etc/passwd could not be read', evidence: absent(s, ['/etc/passwd']) };
      const uid0 = lines.filter((l) => l.text.split(':')[2] === '0');
      const others = uid0.filter((l) => l.text.split(':')[0] !== 'root');
      if (others.length) return { status: 'fail', summary: `accounts besides root with UID 0: ${others.map((l) => l.text.split(':')[0]).join(', ')}`, evidence: uid0.map(ev), hint: 'give these accounts their own UID, or remove them; use sudo for administration', highRisks: ['default-account'] };
      return { status: 'pass', summary: 'only root has UID 0', evidence: uid0.map(ev) };
    },
  },
};

export const HIGH_RISK_TCP = new Set([21, 23, 111, 135, 136, 137, 138, 139, 445, 512, 513, 514, 873, 2049, 3306, 3389, 5900, 6379, 11211, 27017]);
export const HIGH_RISK_UDP = new Set([69, 111, 137, 138, 139, 2049, 11211]);

interface Socket {
  proto: 'tcp' | 'udp';
  address: string;
  port: number;
  loopback: boolean;
  file: string;
  line: number;
}

function hexAddress(hex: string): { address: string; loopback: boolean } {
  if (hex.length === 8) {
    const bytes = hex.match(/../g)!.map((b) => parseInt(b, 16)).reverse();
    return { address: bytes.join('.'), loopback: bytes[0] === 127 };
  }
  const loopback = hex === '00000000000000000000000001000000' || /^0000000000000000FFFF00000[0-9A-F]00007F$/i.test(hex);
  return { address: hex === '00000000000000000000000000000000' ? '[::]' : `[${hex}]`, loopback };
}

/** Listening TCP sockets (state 0A) and bound UDP sockets (state 07, no remote) from /proc/net. */
export function listeningSockets(s: HostSnapshot): { read: boolean; sockets: Socket[] } {
  const sockets: Socket[] = [];
  let read = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6', '/proc/net/udp', '/proc/net/udp6']) {
    const text = s.files.get(file);
    if (text === undefined) continue;
    read = true;
    const proto = file.includes('tcp') ? 'tcp' : 'udp';
    text.split('\n').forEach((row, i) => {
      const cols = row.trim().split(/\s+/);
      if (i === 0 || cols.length < 4) return;
      const [local, , state] = [cols[1]!, cols[2]!, cols[3]!];
      if (proto === 'tcp' ? state !== '0A' : state !== '07') return;
      const [addr, port] = local.split(':');
      sockets.push({ proto, ...hexAddress(addr!), port: parseInt(port!, 16), file, line: i + 1 });
    });
  }
  return { read, sockets };
}

export interface HostCollector {
  name: string;
  version: string;
  kind: 'host';
  description: string;
  check(snapshot: HostSnapshot): CheckResult;
}

export const HOST_COLLECTORS: HostCollector[] = Object.entries(checks).map(([name, { description, check }]) => ({
  name,
  version: HOST_COLLECTOR_VERSION,
  kind: 'host',
  description,
  check(snapshot) {
    let verdict: Verdict;
    try {
      verdict = check(snapshot);
    } catch (error) {
      verdict = { status: 'error', summary: `the check failed: ${(error as Error).message}`, evidence: [] };
    }
    const evidence = snapshot.root === '/' || snapshot.root === '' ? verdict.evidence : verdict.evidence.map((e) => ({ ...e, source: e.source }));
    return {
      collector: name,
      version: HOST_COLLECTOR_VERSION,
      target: `host:${snapshot.host}`,
      at: snapshot.readAt,
      status: verdict.status,
      summary: verdict.summary,
      evidence,
      ...(verdict.hint ? { hint: verdict.hint } : {}),
      ...(verdict.status === 'fail' && verdict.highRisks?.length ? { highRisks: verdict.highRisks } : {}),
    };
  },
}));
