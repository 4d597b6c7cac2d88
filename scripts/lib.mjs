// Shared set-up steps for `npm start`, `npm test` and `npm run bench`:
// each command does its own set-up on a fresh machine.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options });
  if (result.status !== 0) {
    process.stderr.write(`set-up step failed: ${command} ${args.join(' ')}\n`);
    process.exit(result.status ?? 1);
  }
};

const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);

/** npm install (from the lock) when node_modules is missing or older than the lock file.
 *  Not npm ci: npm 11 records only this platform's optional packages in the lock, which npm ci refuses. */
export function ensureDependencies() {
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (mtime(marker) >= mtime(path.join(root, 'package-lock.json'))) return;
  process.stderr.write('installing npm dependencies...\n');
  run('npm', ['install', '--no-audit', '--no-fund']);
}

/** The native addons: where each lands, the npm script that builds it, what it is for. */
const ADDONS = [
  ['ca/sm2/native/build/Release/sm2.node', 'build:sm2', 'the SM2 signing addon'],
  ['agents/syslog/native/build/Release/udp_batch.node', 'build:udp', 'the batched UDP syslog addon'],
];

/** Compiles TypeScript to dist/, bundles the CLI into dist/egov-ops/ (what `egov-ops` runs), and builds the native addons when missing or older than their source. */
export function build() {
  for (const [addon, script, what] of ADDONS) {
    const dir = path.dirname(path.dirname(path.dirname(path.join(root, addon))));
    const newestSource = Math.max(...readdirSync(dir).filter((f) => /\.(cc|gyp)$/.test(f)).map((f) => mtime(path.join(dir, f))));
    if (mtime(path.join(root, addon)) >= newestSource) continue;
    process.stderr.write(`building ${what} (node-gyp)...\n`);
    run('npm', ['run', '--silent', script]);
  }
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', '.']);
  run(process.execPath, [path.join(root, 'scripts/bundle-cli.mjs')]);
}

const have = (command) => spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;


function postgresPresent() {
  return have('initdb') || spawnSync('sh', ['-c', 'ls /usr/lib/postgresql/*/bin/initdb'], { stdio: 'ignore' }).status === 0;
}

/** What the tests run against, as command → Debian package. */
const TEST_PEERS = [
  ['openssl', 'openssl', have],
  ['initdb', 'postgresql', postgresPresent],
  ['restic', 'restic', have],
  ['sshd', 'openssh-server', () => have('/usr/sbin/sshd') || have('sshd')],
  ['chromium', 'chromium', () => have('/usr/bin/chromium') || have('chromium')],
  ['snmpd', 'snmpd', () => have('/usr/sbin/snmpd') || have('snmpd')],
  ['snmpget', 'snmp', have],
  ['influxd', 'influxdb', have],
  ['prometheus-alertmanager', 'prometheus-alertmanager', () => have('/usr/bin/prometheus-alertmanager')],
  ['oscap', 'openscap-scanner', have],
  ['ssg-debian', 'ssg-debian', () => existsSync('/usr/share/xml/scap/ssg/content')],
  ['pdftotext', 'poppler-utils', have],
  ['fonts-noto-cjk', 'fonts-noto-cjk', () => existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc')],
];

/** Installs the missing Debian packages when root; otherwise says which are missing. `required`: stop when they cannot be had. */
export function ensureSystemPackages(peers = TEST_PEERS, required = true) {
  const missing = peers.filter(([command, , present]) => !present(command)).map(([, pkg]) => pkg);
  if (missing.length === 0) return true;
  if (process.getuid?.() === 0 && have('apt-get')) {
    process.stderr.write(`installing Debian packages: ${missing.join(' ')}\n`);
    run('apt-get', ['update', '-q']);
    run('apt-get', ['install', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return true;
  }
  process.stderr.write(`${required ? 'needed' : 'recommended'}: Debian packages ${missing.join(' ')}\n  sudo apt-get install -y ${missing.join(' ')}\n`);
  if (required) process.exit(1);
  return false;
}

/** For `npm run bench`: the peers measured beside us that the tests do not need (best effort: a missing one is reported as such in the tables). */
export const BENCH_PEERS = [
  ['rsyslogd', 'rsyslog', () => have('/usr/sbin/rsyslogd') || have('rsyslogd')],
  ['prometheus-snmp-exporter', 'prometheus-snmp-exporter', () => have('/usr/bin/prometheus-snmp-exporter')],
];

/** For `npm start`: restic makes the demo's first backup; snmpd plays the demo network's devices. */
export const RUN_PEERS = [
  ['restic', 'restic', have],
  ['snmpd', 'snmpd', () => have('/usr/sbin/snmpd') || have('snmpd')],
];

export function nodeVersionOk() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) {
    process.stderr.write(`egov-ops needs Node 20 or newer (this is ${process.versions.node})\n`);
    process.exit(1);
  }
}

export { execFileSync };
