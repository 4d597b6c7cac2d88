// An agent for the internal zone, enrolled against a desk suite with a
// fresh one-time code: its config file in `dir`, as an operator writes it.
// No vitest import.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { DeskSuite } from './desk.js';

/** Writes DIR/ca.pem and DIR/agent.yaml (polling every second, traps and syslog on free ports); returns the config file. */
export async function writeInternalAgentConfig(desk: DeskSuite, dir: string, syslog: string, extraLines: string[] = []): Promise<string> {
  const { code } = await desk.suite.access.createEnrolmentCode('agent', { actor: 'test', source: 'test' });
  writeFileSync(path.join(dir, 'ca.pem'), desk.caPem);
  const file = path.join(dir, 'agent.yaml');
  writeFileSync(
    file,
    ['name: agent-internal', 'zone: internal', `monitorUrl: ${desk.secureBase}`, 'caFile: ca.pem', 'dataDir: agent-data', `enrolmentCode: ${code}`, 'pollIntervalSeconds: 1', 'traps: { port: 0 }', `syslog: ${syslog}`, ...extraLines].join('\n'),
  );
  return file;
}

/** Polls `probe` every 250 ms until it gives a value. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
