// The agent killed while it receives syslog over TCP and TLS (10,000 lines a
// second on each, 20,000/s together) and ships to the monitor. After each
// SIGKILL its outbox file is checked (SQLite integrity_check) and read: every
// line it held is stored by the monitor once the agent is back, and no line
// is ever stored twice (deliveries in flight at the kill are delivered again
// and dropped by the monitor on (agent, seq)). What the agent had received
// but not yet written to its outbox (the batcher's 20-ms window, TCP buffers)
// dies with the process; the test counts it.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import SqliteDatabase from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDeskSuite, type DeskSuite } from './support/desk.js';
import { until, writeInternalAgentConfig } from './support/agent.js';
import { CLI, freePort, startCli, type CliProcess } from './support/processes.js';

const KILLS = 3;
const PER_TRANSPORT_PER_SECOND = 10_000;
let desk: DeskSuite;
let dir: string;
const children = new Set<ChildProcess>();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  desk = await startDeskSuite();
  dir = mkdtempSync(path.join(os.tmpdir(), 'egov-faults-agent-'));
}, 60_000);
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await desk?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startAgent(config: string): CliProcess {
  return startCli(['agent', '--config', config], { ready: / running: /, children });
}

/** Sends LF-framed RFC 5424 lines `fk-<tag>-<n>` at `perSecond` until stopped; returns how many were written. */
function sender(socket: net.Socket, tag: string, perSecond: number): { stop: () => number } {
  let n = 0;
  let stopped = false;
  socket.on('error', () => (stopped = true));
  const perTick = perSecond / 100;
  const timer = setInterval(() => {
    if (stopped) return;
    let chunk = '';
    for (let i = 0; i < perTick; i++) chunk += `<134>1 2026-12-07T11:00:00.000Z core-router fk - - - fk-${tag}-${n++}\n`;
    socket.write(chunk);
  }, 10);
  return {
    stop: () => {
      clearInterval(timer);
      stopped = true;
      socket.destroy();
      return n;
    },
  };
}

async function storedLines(): Promise<string[]> {
  const rows = await desk.suite.database.db.selectFrom('monitor_log').select('message').where('message', 'like', 'fk-%').execute();
  return rows.map((r) => r.message);
}

describe('the agent killed while receiving syslog and shipping', () => {
  it(`loses nothing its outbox held and stores nothing twice, over ${KILLS} SIGKILLs`, async () => {
    const tcpPort = await freePort();
    const tlsPort = await freePort();
    const config = await writeInternalAgentConfig(desk, dir, `{ tcpPort: ${tcpPort}, tlsPort: ${tlsPort}, host: 127.0.0.1 }`, ['names: [127.0.0.1]']);
    const outboxFile = path.join(dir, 'agent-data', 'outbox', 'outbox.sqlite');
    const inOutbox = new Set<string>();
    const rounds: Array<{ sent: number; storedAtKill: number; inOutboxAtKill: number; integrity: string; aliveMs: number; acceptedPerSecond: number }> = [];
    let sentTotal = 0;
    let outboxBefore = 0;
    for (let round = 0; round < KILLS; round++) {
      const agent = startAgent(config);
      await agent.up;
      const plain = net.connect({ host: '127.0.0.1', port: tcpPort });
      await new Promise((r) => plain.once('connect', r));
      const secure = tls.connect({ host: '127.0.0.1', port: tlsPort, ca: desk.caPem });
      await new Promise((r) => secure.once('secureConnect', r));
      const senders = [sender(plain, `${round}-tcp`, PER_TRANSPORT_PER_SECOND), sender(secure, `${round}-tls`, PER_TRANSPORT_PER_SECOND)];
      const storedBefore = (await storedLines()).length;
      const sendingFrom = Date.now();
      await sleep(1500 + Math.floor(Math.random() * 1500));
      agent.child.kill('SIGKILL');
      await new Promise((r) => agent.child.once('exit', r));
      const sent = senders.reduce((sum, s) => sum + s.stop(), 0);
      sentTotal += sent;
      const aliveMs = Date.now() - sendingFrom;
      const storedAtKill = (await storedLines()).length;
      // The outbox as the kill left it: never corrupt, and what it holds is owed to the monitor.
      const outbox = new SqliteDatabase(outboxFile);
      const integrity = outbox.pragma('integrity_check', { simple: true }) as string;
      const bodies = outbox.prepare("select body from outbox_item where kind = 'log'").all() as Array<{ body: string }>;
      outbox.close();
      for (const { body } of bodies) {
        const message = (JSON.parse(body) as { message?: string }).message;
        if (message?.startsWith('fk-')) inOutbox.add(message);
      }
      expect(integrity).toBe('ok');
      // Taken by the agent (stored, or in its outbox) per second of the round: what it kept up with of the 20,000/s offered.
      // (What the outbox held from earlier rounds is counted at the start of this one.)
      const acceptedPerSecond = Math.round(((storedAtKill + bodies.length - storedBefore - outboxBefore) * 1000) / aliveMs);
      outboxBefore = bodies.length;
      rounds.push({ sent, storedAtKill, inOutboxAtKill: bodies.length, integrity, aliveMs, acceptedPerSecond });
    }

    // Back once more: it drains what it held.
    const agent = startAgent(config);
    await agent.up;
    try {
      await until(
        'every line the outbox held to be stored',
        async () => {
          const stored = new Set(await storedLines());
          return [...inOutbox].every((m) => stored.has(m));
        },
        120_000,
      );
      await sleep(3000); // anything delivered twice would have landed by now
      const stored = await storedLines();
      const unique = new Set(stored);
      expect(stored.length - unique.size, 'lines stored twice').toBe(0);
      for (const m of inOutbox) expect(unique.has(m)).toBe(true);
      expect(unique.size).toBeGreaterThan(0);
      const lostInMemory = sentTotal - unique.size;
      // Batches the monitor had stored but whose answer the killed agent never read come again: dropped on (agent, seq).
      const duplicatesDropped = (await desk.suite.database.db.selectFrom('monitor_agent').select('duplicates').where('name', '=', 'agent-internal').executeTakeFirst())?.duplicates ?? 0;
      console.log(
        `agent faults: ${KILLS} SIGKILLs at ${2 * PER_TRANSPORT_PER_SECOND}/s (TCP + TLS); sent ${sentTotal}, stored ${unique.size} once each, 0 twice (redelivered items the monitor dropped: ${duplicatesDropped}); ` +
          `held in the outbox at the kills ${inOutbox.size}, all stored; written by the senders but not in the agent's outbox when it died (senders' and kernel socket buffers, the agent's 20-ms batch: TCP has no acknowledgement above the socket) ${lostInMemory}; rounds ${JSON.stringify(rounds)}`,
      );
    } finally {
      agent.child.kill('SIGTERM');
      await new Promise((r) => (agent.child.exitCode !== null ? r(null) : agent.child.once('exit', r)));
    }
  }, 300_000);
});
