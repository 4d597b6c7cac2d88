// Prepared host roots for the host audit tests: the files evaluators read,
// in a compliant and a non-compliant variant, under a temp dir. The
// collectors read them with a root prefix; no system file is touched.

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Files = Record<string, string>;

// /proc/net/tcp rows: sl local rem st ...; 0A = LISTEN. Addresses little-endian hex.
const tcpRow = (i: number, addr: string, port: number, state = '0A') =>
  `   ${i}: ${addr}:${port.toString(16).toUpperCase().padStart(4, '0')} 00000000:0000 ${state} 00000000:00000000 00:00000000 00000000     0        0 1000${i} 1 0000000000000000 100 0 0 10 0`;
const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

const common: Files = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\nops:x:1000:1000:Ops:/home/ops:/bin/bash\n',
  'etc/audit/auditd.conf': 'log_file = /var/log/audit/audit.log\nmax_log_file_action = keep_logs\n',
  'run/auditd.pid': '4242\n',
  // The ssg-debian11 content's platform (CPE) check reads these under OSCAP_PROBE_ROOT.
  'etc/debian_version': '11.11\n',
  'etc/os-release': 'PRETTY_NAME="Debian GNU/Linux 11 (bullseye)"\nNAME="Debian GNU/Linux"\nVERSION_ID="11"\nID=debian\n',
};

const compliant: Files = {
  ...common,
  'etc/login.defs': 'MAIL_DIR /var/mail\nPASS_MAX_DAYS\t90\nPASS_MIN_DAYS\t1\nPASS_WARN_AGE\t7\nUMASK\t\t027\nENCRYPT_METHOD SHA512\n',
  'etc/security/pwquality.conf': '# our policy\nminlen = 12\nminclass = 3\n',
  'etc/pam.d/common-password': 'password requisite pam_pwquality.so retry=3\npassword [success=1 default=ignore] pam_unix.so obscure use_authtok try_first_pass yescrypt remember=5\n',
  'etc/pam.d/common-auth': 'auth required pam_faillock.so preauth\nauth [success=1 default=ignore] pam_unix.so\nauth [default=die] pam_faillock.so authfail\nauth sufficient pam_faillock.so authsucc\n',
  'etc/security/faillock.conf': 'deny = 5\nunlock_time = 900\n',
  'etc/profile': 'umask 027\n',
  'etc/profile.d/tmout.sh': 'readonly TMOUT=600\nexport TMOUT\n',
  'etc/ssh/sshd_config': 'Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\nPermitEmptyPasswords no\nClientAliveInterval 300\nClientAliveCountMax 0\nCiphers aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes256-ctr\nMACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com\nSubsystem sftp /usr/lib/openssh/sftp-server\n',
  'etc/audit/rules.d/mlps.rules': '-w /etc/passwd -p wa -k identity\n-w /etc/shadow -p wa -k identity\n-w /etc/sudoers -p wa -k scope\n-a always,exit -F arch=b64 -S adjtimex -S settimeofday -k time-change\n',
  'proc/4242/comm': 'auditd\n',
  'etc/rsyslog.conf': '*.info;mail.none;authpriv.none /var/log/messages\n',
  'etc/rsyslog.d/90-forward.conf': '*.* @@10.10.0.5:514\n',
  'etc/logrotate.conf': 'weekly\nrotate 4\ncreate\n',
  'etc/logrotate.d/rsyslog': '/var/log/syslog\n/var/log/messages\n{\n\tdaily\n\trotate 180\n\tcompress\n\tmissingok\n}\n',
  'etc/chrony/chrony.conf': 'server 10.10.0.1 iburst\nserver 10.10.0.2 iburst\nmakestep 1 3\n',
  'etc/shadow': 'root:$y$j9T$abc$def:20000:1:90:7:::\ndaemon:*:20000:0:99999:7:::\nops:$y$j9T$ghi$jkl:20000:1:90:7:::\n',
  'proc/net/tcp': [TCP_HEADER, tcpRow(0, '00000000', 22), tcpRow(1, '0100007F', 3306), tcpRow(2, '00000000', 443)].join('\n') + '\n',
  'proc/net/tcp6': TCP_HEADER + '\n',
};

const nonCompliant: Files = {
  ...common,
  'etc/passwd': common['etc/passwd']! + 'toor:x:0:0:backdoor:/root:/bin/bash\n',
  'etc/login.defs': 'MAIL_DIR /var/mail\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_WARN_AGE\t7\nUMASK\t\t022\n',
  'etc/security/pwquality.conf': 'minlen = 6\n',
  'etc/pam.d/common-password': 'password [success=1 default=ignore] pam_unix.so obscure nullok yescrypt\n',
  'etc/pam.d/common-auth': 'auth [success=1 default=ignore] pam_unix.so nullok\n',
  'etc/profile': 'umask 022\n',
  'etc/ssh/sshd_config': 'PermitRootLogin yes\nPasswordAuthentication yes\nPermitEmptyPasswords yes\nCiphers aes128-cbc,3des-cbc,aes256-ctr\nSubsystem sftp /usr/lib/openssh/sftp-server\n',
  'proc/4242/comm': 'bash\n',
  'etc/rsyslog.conf': '*.info /var/log/messages\n',
  'etc/logrotate.conf': 'weekly\nrotate 4\n',
  'etc/logrotate.d/rsyslog': '/var/log/syslog\n{\n\tdaily\n\trotate 7\n}\n',
  'etc/shadow': 'root:$y$j9T$abc$def:20000:0:99999:7:::\ndaemon:*:20000:0:99999:7:::\nops::20000:0:99999:7:::\n',
  'proc/net/tcp': [TCP_HEADER, tcpRow(0, '00000000', 22), tcpRow(1, '00000000', 23), tcpRow(2, '00000000', 6379)].join('\n') + '\n',
};

function writeRoot(dir: string, files: Files): string {
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: rel === 'etc/shadow' ? 0o640 : 0o644 });
  }
  return dir;
}

export interface PreparedRoots {
  base: string;
  compliant: string;
  nonCompliant: string;
}

export function prepareRoots(): PreparedRoots {
  const base = mkdtempSync(path.join(os.tmpdir(), 'egov-audit-roots-'));
  return { base, compliant: writeRoot(path.join(base, 'compliant'), compliant), nonCompliant: writeRoot(path.join(base, 'non-compliant'), nonCompliant) };
}
