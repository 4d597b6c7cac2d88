// The monitor killed in the middle of deliveries: an agent receives syslog
// over TCP and ships it to `egov-ops serve`, which is SIGKILLed three times
// while batches are in flight (SQLite, the engine a single monitor runs on)
// and started again on the same port. The agent delivers again what was not
// acknowledged; afterwards every line the agent took is stored exactly once.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, loadAgentConfig } from '../agents/index.js';
import { toPem } from '../ca/index.js';
import { openSuite } from '../cli/context.js';
import { openDatabase } from '../core/index.js';
import { until } from './support/agent.js';
import { freePort, startServe } from './support/processes.js';

const KILLS = 3;
const PASSPHRASE = 'ingest fault passphrase 2026';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const root = mkdtempSync(path.join(os.tmpdir(), 'egov-faults-ingest-'));
const children = new Set<ChildProcess>();
let agent: Agent | undefined;
afterAll(async () => {
  await agent?.stop();
  for (const child of children) child.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

describe('the monitor ingest killed mid-delivery', () => {
  it('stores every line the agent took exactly once after three SIGKILLs of serve', async () => {
    const dataDir = path.join(root, 'monitor');
    mkdirSync(dataDir, { recursive: true });
    const port = await freePort();
    const tlsPort = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, EGOV_OPS_CA_PASSPHRASE: PASSPHRASE, EGOV_OPS_SECRET_KEY: randomBytes(32).toString('base64') };
    writeFileSync(path.join(dataDir, 'config.yaml'), `server: { host: 127.0.0.1, port: ${port}, tlsPort: ${tlsPort}, publicUrl: "http://127.0.0.1:${port}" }\nlog: { level: warn }\n`);
    const saved = { ...process.env };
    Object.assign(process.env, { EGOV_OPS_CA_PASSPHRASE: PASSPHRASE, EGOV_OPS_SECRET_KEY: env.EGOV_OPS_SECRET_KEY });
    let code: string;
    try {
      const setup = await openSuite({ dataDir });
      await setup.authority.initHierarchy({ name: 'city', algorithm: 'ecdsa-p256', subject: '/C=CN/O=Ingest City/CN=Ingest Root CA' }, { actor: 'test', source: 'test' });
      writeFileSync(path.join(root, 'ca.pem'), (await setup.authority.chain('city')).map((c) => toPem('CERTIFICATE', c)).join(''));
      code = (await setup.access.createEnrolmentCode('agent', { actor: 'test', source: 'test' })).code;
      await setup.close();
    } finally {
      for (const key of ['EGOV_OPS_CA_PASSPHRASE', 'EGOV_OPS_SECRET_KEY']) if (saved[key] === undefined) delete process.env[key];
    }
    const syslogPort = await freePort();
    writeFileSync(
      path.join(root, 'agent.yaml'),
      ['name: agent-internal', 'zone: internal', `monitorUrl: https://127.0.0.1:${tlsPort}`, 'caFile: ca.pem', 'dataDir: agent-data', `enrolmentCode: ${code}`, 'pollIntervalSeconds: 60', 'traps: { port: 0 }', `syslog: { tcpPort: ${syslogPort}, host: 127.0.0.1 }`].join('\n'),
    );

    let serve = startServe(dataDir, env, children);
    await serve.up;
    agent = await Agent.start(loadAgentConfig(path.join(root, 'agent.yaml')), { info: () => undefined, warn: () => undefined });
    const socket = net.connect({ host: '127.0.0.1', port: syslogPort });
    await new Promise((r) => socket.once('connect', r));
    let n = 0;
    let sending = true;
    const sender = (async () => {
      while (sending) {
        let chunk = '';
        for (let i = 0; i < 50; i++) chunk += `<134>1 2026-12-07T11:00:00.000Z core-router fi - - - fi-${n++}\n`;
        if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
        await sleep(10); // about 5,000 lines a second
      }
    })();

    const database = await openDatabase({ dataDir, migrate: false });
    try {
      const stored = async () => (await database.db.selectFrom('monitor_log').select('message').where('message', 'like', 'fi-%').execute()).map((r) => r.message);
      const kills: Array<{ storedBefore: number; outboxAtKill: number }> = [];
      for (let k = 0; k < KILLS; k++) {
        // Wait until deliveries flow, then kill serve while the next batch is in flight.
        const before = (await stored()).length;
        await until('deliveries to flow', async () => (await stored()).length > before + 200, 60_000);
        await sleep(Math.floor(Math.random() * 300));
        serve.child.kill('SIGKILL');
        await new Promise((r) => serve.child.once('exit', r));
        kills.push({ storedBefore: (await stored()).length, outboxAtKill: agent.status().outbox.items });
        await sleep(1000); // the agent keeps taking lines; its deliveries fail and wait
        serve = startServe(dataDir, env, children);
        await serve.up;
      }
      sending = false;
      await sender;
      socket.end();
      const taken = () => agent!.status().syslog.tcp!.parsed;
      await until('the outbox to drain', async () => {
        await sleep(200);
        return agent!.status().outbox.items === 0 && (await stored()).length >= taken();
      }, 120_000);
      await sleep(2000);
      const lines = await stored();
      const unique = new Set(lines);
      expect(lines.length - unique.size, 'lines stored twice').toBe(0);
      expect(unique.size).toBe(taken());
      const agentRow = await database.db.selectFrom('monitor_agent').selectAll().where('name', '=', 'agent-internal').executeTakeFirstOrThrow();
      console.log(`ingest faults: ${KILLS} SIGKILLs of serve mid-delivery; the agent took ${taken()} lines, ${unique.size} stored once each, 0 twice; redelivered duplicates the monitor dropped: ${agentRow.duplicates}; kills ${JSON.stringify(kills)}`);
    } finally {
      await database.close();
      await agent?.stop();
      agent = undefined;
      serve.child.kill('SIGTERM');
      await new Promise((r) => (serve.child.exitCode !== null ? r(null) : serve.child.once('exit', r)));
    }
  }, 300_000);
});
