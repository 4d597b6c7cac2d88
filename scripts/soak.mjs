// `npm run soak`: the suite under load for EGOV_SOAK_MINUTES (default 60), not
// part of `npm test`. The built CLI (dist/egov-ops/main.js) runs as real
// processes in a temp data dir:
//   - `egov-ops serve --demo`: the demo network (five snmpd devices, its
//     in-process agents) polled ten times as often (every 1.5 s, not 15 s);
//   - a separate `egov-ops agent` (zone internal, also polling every 1.5 s)
//     receiving syslog over TCP (octet counting) at EGOV_SOAK_SYSLOG_RATE
//     (default 5,000/s), each message numbered;
//   - certificates requested over the HTTPS API at EGOV_SOAK_CERT_RATE
//     (default 10/s) as the demo's ca-admin;
//   - the monitor (serve) stopped and started again every
//     EGOV_SOAK_RESTART_MINUTES (default 10).
// Every 10 s it samples the resident memory (VmRSS) and the open file count
// (/proc/PID/fd) of serve and of the agent. At the end it waits for the
// agent's outbox to drain and counts: syslog messages sent vs stored (each
// number once), certificates requested vs issued (each answered serial in
// the database). Writes bench/results/soak-<time>.csv, .svg (the plot of
// both) and .json (the counts), and exits non-zero when anything was lost.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { root } from './lib.mjs';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const MINUTES = Number(process.env.EGOV_SOAK_MINUTES ?? 60);
const SYSLOG_RATE = Number(process.env.EGOV_SOAK_SYSLOG_RATE ?? 5000);
const CERT_RATE = Number(process.env.EGOV_SOAK_CERT_RATE ?? 10);
const RESTART_MINUTES = Number(process.env.EGOV_SOAK_RESTART_MINUTES ?? 10);
const SAMPLE_SECONDS = 10;
const POLL_SECONDS = 1.5; // the demo polls every 15 s: ten times as often
const CLI = path.join(root, 'dist', 'egov-ops', 'main.js');
const say = (line) => process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

if (!existsSync(CLI)) {
  say('dist/egov-ops/main.js is missing: run npm run build first');
  process.exit(2);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-soak-'));
const dataDir = path.join(dir, 'data');
mkdirSync(dataDir);
const freePort = () =>
  new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
const PORT = await freePort();
const TLS_PORT = await freePort();
const SYSLOG_PORT = await freePort();
writeFileSync(path.join(dataDir, 'config.yaml'), 'log:\n  level: warn\n');
const childEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EGOV_'))), EGOV_DEMO_POLL_SECONDS: String(POLL_SECONDS) };
const cli = (...args) => execFileSync(process.execPath, [CLI, '--data-dir', dataDir, ...args], { env: childEnv, encoding: 'utf8' });

// ------------------------------------------------------------ serve

let serve = null;
const restarts = [];
let serveLog = '';
function startServe() {
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--demo', '--port', String(PORT), '--tls-port', String(TLS_PORT), '--host', '127.0.0.1'], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr.setEncoding('utf8').on('data', (c) => (serveLog = (serveLog + c).slice(-20_000)));
  return new Promise((resolve, reject) => {
    const timer = setInterval(async () => {
      try {
        const response = await fetch(`http://127.0.0.1:${PORT}/health`);
        if (response.ok) {
          clearInterval(timer);
          resolve(child);
        }
      } catch {
        /* not yet */
      }
    }, 250);
    child.once('exit', (code) => {
      clearInterval(timer);
      reject(new Error(`serve exited ${code} while starting: ${serveLog.slice(-2000)}`));
    });
  });
}
async function stopServe() {
  const child = serve;
  serve = null;
  if (!child || child.exitCode !== null) return;
  await new Promise((resolve) => {
    child.once('exit', resolve);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
  });
}

// A failure on the way must not leave serve (and the demo's snmpd under it) or the agent running.
let agent = null;
const cleanUp = () => {
  for (const child of [serve, agent]) if (child && child.exitCode === null) child.kill('SIGTERM');
};
process.on('uncaughtException', (error) => {
  say(`failed: ${error.stack ?? error}`);
  cleanUp();
  setTimeout(() => process.exit(2), 5000).unref();
});
process.on('unhandledRejection', (error) => {
  say(`failed: ${error?.stack ?? error}`);
  cleanUp();
  setTimeout(() => process.exit(2), 5000).unref();
});

say(`data dir ${dir}; ${MINUTES} min, syslog ${SYSLOG_RATE}/s, ${CERT_RATE} certificates/s, serve restarted every ${RESTART_MINUTES} min, polling every ${POLL_SECONDS} s`);
serve = await startServe();
say(`serve up (pid ${serve.pid}) on ${PORT} and ${TLS_PORT}`);

// ------------------------------------------------------------ the agent

// The demo network (and its CA file) comes up just after the listeners.
for (let i = 0; !existsSync(path.join(dataDir, 'demo-network', 'ca.pem')); i++) {
  if (i > 600) throw new Error(`the demo network did not start: ${serveLog.slice(-2000)}`);
  await new Promise((r) => setTimeout(r, 250));
}
await new Promise((r) => setTimeout(r, 2000));
const ca = readFileSync(path.join(dataDir, 'demo-network', 'ca.pem'), 'utf8');
const { code } = JSON.parse(cli('--json', 'access', 'code', '--role', 'agent'));
const agentFile = path.join(dir, 'agent.yaml');
writeFileSync(agentFile, [`name: soak-agent`, 'zone: internal', `monitorUrl: https://127.0.0.1:${TLS_PORT}`, `caFile: ${path.join(dataDir, 'demo-network', 'ca.pem')}`, `dataDir: ${path.join(dir, 'agent')}`, `enrolmentCode: ${code}`, `pollIntervalSeconds: ${POLL_SECONDS}`, 'targetsRefreshSeconds: 30', 'traps: { port: 0 }', `syslog: { udpPort: 0, tcpPort: ${SYSLOG_PORT}, host: 127.0.0.1 }`, ''].join('\n'));
let agentLog = '';
agent = spawn(process.execPath, [CLI, 'agent', '--config', agentFile], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
agent.stderr.setEncoding('utf8').on('data', (c) => (agentLog = (agentLog + c).slice(-20_000)));
for (let i = 0; ; i++) {
  if (agent.exitCode !== null) throw new Error(`the agent exited ${agent.exitCode}: ${agentLog}`);
  const ok = await new Promise((resolve) => {
    const socket = net.connect(SYSLOG_PORT, '127.0.0.1', () => (socket.end(), resolve(true)));
    socket.on('error', () => resolve(false));
  });
  if (ok) break;
  if (i > 240) throw new Error(`the agent does not listen on ${SYSLOG_PORT}: ${agentLog}`);
  await new Promise((r) => setTimeout(r, 250));
}
say(`agent up (pid ${agent.pid}), syslog TCP ${SYSLOG_PORT}`);

// ------------------------------------------------------------ syslog at the rate

let syslogSent = 0;
let syslogSocket = null;
let syslogErrors = 0;
const RUN = randomBytes(4).toString('hex');
function syslogConnection() {
  const socket = net.connect(SYSLOG_PORT, '127.0.0.1');
  socket.on('error', () => {
    syslogErrors++;
    syslogSocket = null;
  });
  socket.on('close', () => {
    if (syslogSocket === socket) syslogSocket = null;
  });
  return socket;
}
let syslogDebt = 0;
let lastSyslogTick = performance.now();
const syslogTimer = setInterval(() => {
  const now = performance.now();
  syslogDebt += ((now - lastSyslogTick) / 1000) * SYSLOG_RATE;
  lastSyslogTick = now;
  if (!syslogSocket) syslogSocket = syslogConnection();
  // Backpressure: the agent reads as fast as it can; when its socket buffer is full we wait (and count what was not sent as not sent).
  if (syslogSocket.writableLength > 4 * 1024 * 1024) return;
  const n = Math.floor(syslogDebt);
  syslogDebt -= n;
  const parts = [];
  for (let i = 0; i < n; i++) {
    const seq = syslogSent++;
    const message = `<134>1 ${new Date().toISOString()} soak-device soak - - - soak ${RUN} seq=${seq} interface GE1/0/${seq % 48} counters ok`;
    parts.push(`${Buffer.byteLength(message)} ${message}`);
  }
  if (parts.length) syslogSocket.write(parts.join(''));
}, 50);

// ------------------------------------------------------------ certificates at the rate

const operatorFile = path.join(dataDir, 'demo-operator-a.p12');
const secrets = JSON.parse(readFileSync(operatorFile + '.passwords.json', 'utf8'));
const pfx = readFileSync(operatorFile);
let certAgent = new https.Agent({ keepAlive: true, maxSockets: 4, pfx, passphrase: secrets.p12Password, ca, servername: 'localhost' });
let cookie = '';
function api(method, url, body) {
  return new Promise((resolve) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const request = https.request(`https://127.0.0.1:${TLS_PORT}${url}`, { method, agent: certAgent, headers: { ...(data ? { 'content-type': 'application/json' } : {}), ...(cookie ? { cookie: `egov_session=${cookie}` } : {}) } }, (response) => {
      const chunks = [];
      response.on('data', (c) => chunks.push(c));
      response.on('end', () => {
        const set = [response.headers['set-cookie'] ?? []].flat().map((l) => /^egov_session=([^;]+)/.exec(l)?.[1]).find(Boolean);
        if (set) cookie = set;
        resolve({ status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    request.on('error', (error) => resolve({ status: 0, text: error.message }));
    request.setTimeout(30_000, () => request.destroy(new Error('timeout')));
    request.end(data);
  });
}
async function signIn() {
  const reply = await api('POST', '/api/access/sign-in', { password: secrets.signInPassword });
  return reply.status === 200;
}
if (!(await signIn())) throw new Error('the demo ca-admin cannot sign in');
const csrDir = path.join(dir, 'csr');
mkdirSync(csrDir);
const csrs = [];
for (let i = 0; i < 40; i++) {
  const key = path.join(csrDir, `${i}.key`);
  csrs.push(execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-subj', `/CN=soak-${i}.city.gov.cn`, '-addext', `subjectAltName=DNS:soak-${i}.city.gov.cn`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
}
const certs = { requested: 0, issued: 0, refusedWhileDown: 0, failed: 0, statuses: {}, serials: [] };
let certDebt = 0;
let lastCertTick = performance.now();
let inFlight = 0;
const certTimer = setInterval(() => {
  const now = performance.now();
  certDebt += ((now - lastCertTick) / 1000) * CERT_RATE;
  lastCertTick = now;
  while (certDebt >= 1 && inFlight < 20) {
    certDebt -= 1;
    inFlight++;
    const csr = csrs[certs.requested % csrs.length];
    certs.requested++;
    (async () => {
      let reply = await api('POST', '/api/ca/city-ecdsa/certificates', { profile: 'server', csr });
      if (reply.status === 401 && (await signIn())) reply = await api('POST', '/api/ca/city-ecdsa/certificates', { profile: 'server', csr });
      certs.statuses[reply.status] = (certs.statuses[reply.status] ?? 0) + 1;
      if (reply.status === 201) {
        certs.issued++;
        certs.serials.push(JSON.parse(reply.text).serial);
      } else if (reply.status === 0 || !serve) certs.refusedWhileDown++;
      else certs.failed++;
    })().finally(() => inFlight--);
  }
}, 50);

// ------------------------------------------------------------ sampling

function sample(pid) {
  if (!pid) return { rss: null, fds: null };
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return { rss: null, fds: null };
  }
}
const started = Date.now();
const samples = [];
const takeSample = () => {
  const s = sample(serve?.pid);
  const a = sample(agent.pid);
  samples.push({ t: (Date.now() - started) / 1000, serveRss: s.rss, serveFds: s.fds, agentRss: a.rss, agentFds: a.fds, syslogSent, certsIssued: certs.issued });
};
takeSample();
const sampler = setInterval(takeSample, SAMPLE_SECONDS * 1000);
const progress = setInterval(() => {
  const last = samples.at(-1);
  say(`${(last.t / 60).toFixed(1)} min: serve ${last.serveRss?.toFixed(0)} MiB ${last.serveFds} fds, agent ${last.agentRss?.toFixed(0)} MiB ${last.agentFds} fds; syslog sent ${syslogSent}; certificates ${certs.issued}/${certs.requested}`);
}, 60_000);

// ------------------------------------------------------------ restarts, then the end

const endAt = started + MINUTES * 60_000;
let nextRestart = started + RESTART_MINUTES * 60_000;
while (Date.now() < endAt) {
  await new Promise((r) => setTimeout(r, 1000));
  if (Date.now() >= nextRestart && Date.now() < endAt - 30_000) {
    nextRestart += RESTART_MINUTES * 60_000;
    const t = (Date.now() - started) / 1000;
    say('restarting serve (SIGTERM, then start) ...');
    await stopServe();
    const down = Date.now();
    serve = await startServe();
    certAgent.destroy();
    certAgent = new https.Agent({ keepAlive: true, maxSockets: 4, pfx, passphrase: secrets.p12Password, ca, servername: 'localhost' });
    restarts.push({ t, downSeconds: (Date.now() - down) / 1000 });
    say(`serve up again (pid ${serve.pid}) after ${((Date.now() - down) / 1000).toFixed(1)} s`);
  }
}
clearInterval(syslogTimer);
clearInterval(certTimer);
await new Promise((resolve) => (syslogSocket ? syslogSocket.end(resolve) : resolve()));
while (inFlight > 0) await new Promise((r) => setTimeout(r, 100));
say(`load stopped: syslog sent ${syslogSent}, certificates ${certs.issued} issued of ${certs.requested}; waiting for the agent's outbox to drain ...`);

// Stored: each numbered message of this run, once.
const db = new Database(path.join(dataDir, 'egov-ops.sqlite'), { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 10000');
const countStored = () => db.prepare(`SELECT count(*) AS n, count(DISTINCT message) AS distinct_n FROM monitor_log WHERE message LIKE ?`).get(`soak ${RUN} seq=%`);
let stored = countStored();
let stableSince = Date.now();
for (let last = -1; Date.now() - stableSince < 120_000 && stored.n < syslogSent; ) {
  await new Promise((r) => setTimeout(r, 5000));
  stored = countStored();
  if (stored.n !== last) {
    last = stored.n;
    stableSince = Date.now();
  }
}
takeSample();
clearInterval(sampler);
clearInterval(progress);
const serials = db.prepare('SELECT serial FROM certificate').all().map((r) => r.serial);
const inDatabase = new Set(serials);
const issuedMissing = certs.serials.filter((s) => !inDatabase.has(s));
const duplicateSerials = certs.serials.length - new Set(certs.serials).size;
db.close();

await stopServe();
agent.kill('SIGTERM');
await new Promise((r) => agent.once('exit', r));

// ------------------------------------------------------------ results

const stamp = new Date(started).toISOString().replace(/[:.]/g, '-');
const outDir = process.env.EGOV_SOAK_OUT ?? path.join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const base = path.join(outDir, `soak-${stamp}`);
const csv = ['seconds,serve_rss_mib,serve_open_files,agent_rss_mib,agent_open_files,syslog_sent,certificates_issued', ...samples.map((s) => [s.t.toFixed(0), s.serveRss?.toFixed(1) ?? '', s.serveFds ?? '', s.agentRss?.toFixed(1) ?? '', s.agentFds ?? '', s.syslogSent, s.certsIssued].join(','))].join('\n') + '\n';
writeFileSync(`${base}.csv`, csv);
writeFileSync(`${base}.svg`, plot(samples, restarts));
const stats = (key) => {
  const values = samples.map((s) => s[key]).filter((v) => v !== null && v !== undefined);
  const tail = values.slice(Math.floor(values.length / 2));
  return { min: Math.min(...values), max: Math.max(...values), first: values[0], last: values.at(-1), secondHalfMin: Math.min(...tail), secondHalfMax: Math.max(...tail) };
};
const lost = syslogSent - stored.distinct_n;
const summary = {
  minutes: MINUTES,
  rates: { syslogPerSecond: SYSLOG_RATE, certificatesPerSecond: CERT_RATE, pollSeconds: POLL_SECONDS, restartMinutes: RESTART_MINUTES },
  restarts,
  syslog: { sent: syslogSent, stored: stored.n, storedDistinct: stored.distinct_n, lost, duplicates: stored.n - stored.distinct_n, senderConnectionErrors: syslogErrors, achievedPerSecond: Math.round(syslogSent / (MINUTES * 60)) },
  certificates: { requested: certs.requested, issued: certs.issued, refusedWhileServeWasDown: certs.refusedWhileDown, failed: certs.failed, statuses: certs.statuses, issuedButNotInDatabase: issuedMissing.length, duplicateSerials },
  memoryMiB: { serve: stats('serveRss'), agent: stats('agentRss') },
  openFiles: { serve: stats('serveFds'), agent: stats('agentFds') },
  files: { csv: path.relative(root, `${base}.csv`), svg: path.relative(root, `${base}.svg`) },
};
writeFileSync(`${base}.json`, JSON.stringify(summary, null, 2) + '\n');
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
const ok = lost === 0 && stored.n === stored.distinct_n && issuedMissing.length === 0 && duplicateSerials === 0 && certs.failed === 0;
say(ok ? 'nothing lost' : `LOST OR DUPLICATED: syslog lost ${lost}, duplicated ${stored.n - stored.distinct_n}; certificates failed ${certs.failed}, missing ${issuedMissing.length}`);
if (!process.env.EGOV_SOAK_KEEP) rmSync(dir, { recursive: true, force: true });
else say(`kept ${dir}`);
process.exit(ok ? 0 : 1);

/** Two panels (resident memory, open files), serve and agent, restarts marked. */
function plot(points, restartsAt) {
  const W = 900;
  const H = 260;
  const M = { l: 60, r: 20, t: 30, b: 40 };
  const tMax = Math.max(60, ...points.map((p) => p.t));
  const panel = (title, keys, unit, y0) => {
    const values = points.flatMap((p) => keys.map((k) => p[k.key])).filter((v) => v !== null && v !== undefined);
    const vMax = Math.max(1, ...values) * 1.15;
    const x = (t) => M.l + ((W - M.l - M.r) * t) / tMax;
    const y = (v) => y0 + M.t + (H - M.t - M.b) * (1 - v / vMax);
    const lines = keys
      .map((k) => {
        const segments = [];
        let current = [];
        for (const p of points) {
          if (p[k.key] === null || p[k.key] === undefined) {
            if (current.length) segments.push(current);
            current = [];
          } else current.push(`${x(p.t).toFixed(1)},${y(p[k.key]).toFixed(1)}`);
        }
        if (current.length) segments.push(current);
        return segments.map((s) => `<polyline fill="none" stroke="${k.color}" stroke-width="2" points="${s.join(' ')}"/>`).join('');
      })
      .join('');
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<line x1="${M.l}" x2="${W - M.r}" y1="${y(vMax * f)}" y2="${y(vMax * f)}" stroke="#ddd"/><text x="${M.l - 6}" y="${y(vMax * f) + 4}" text-anchor="end" font-size="11">${(vMax * f).toFixed(0)}</text>`).join('');
    const minutes = Array.from({ length: Math.floor(tMax / 60 / Math.max(1, Math.ceil(tMax / 600))) + 1 }, (_, i) => i * 60 * Math.max(1, Math.ceil(tMax / 600)));
    const xTicks = minutes.map((t) => `<text x="${x(t)}" y="${y0 + H - M.b + 16}" text-anchor="middle" font-size="11">${(t / 60).toFixed(0)}</text>`).join('');
    const marks = restartsAt.map((r) => `<line x1="${x(r.t)}" x2="${x(r.t)}" y1="${y0 + M.t}" y2="${y0 + H - M.b}" stroke="#999" stroke-dasharray="4 3"/>`).join('');
    const legend = keys.map((k, i) => `<rect x="${W - M.r - 230 + i * 115}" y="${y0 + 8}" width="12" height="12" fill="${k.color}"/><text x="${W - M.r - 214 + i * 115}" y="${y0 + 18}" font-size="12">${k.label}</text>`).join('');
    return `<text x="${M.l}" y="${y0 + 18}" font-size="14" font-weight="bold">${title} (${unit})</text>${legend}${ticks}${xTicks}${marks}<line x1="${M.l}" x2="${M.l}" y1="${y0 + M.t}" y2="${y0 + H - M.b}" stroke="#333"/><line x1="${M.l}" x2="${W - M.r}" y1="${y0 + H - M.b}" y2="${y0 + H - M.b}" stroke="#333"/>${lines}<text x="${(W + M.l) / 2}" y="${y0 + H - 6}" text-anchor="middle" font-size="11">minutes (dashed: serve restarted)</text>`;
  };
  const serveAgent = (a, b) => [{ key: a, label: 'serve', color: '#1f6fb2' }, { key: b, label: 'agent', color: '#d9822b' }];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" viewBox="0 0 ${W} ${2 * H}" font-family="sans-serif"><rect width="100%" height="100%" fill="#fff"/>${panel('Resident memory', serveAgent('serveRss', 'agentRss'), 'MiB', 0)}${panel('Open files', serveAgent('serveFds', 'agentFds'), 'count', H)}</svg>\n`;
}
