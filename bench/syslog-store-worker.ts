// The storing side of the "parsed and stored" syslog figure, in its own
// thread as the monitor is its own process: takes deliveries of log items
// and hands them to the monitor's ingest (embedded SQLite store).

import { parentPort, workerData } from 'node:worker_threads';
import { randomBytes } from 'node:crypto';
import { openDatabase, secretBoxFromKey } from '../core/index.js';
import { openMonitor } from '../monitor/index.js';

const { dataDir } = workerData as { dataDir: string };
const database = await openDatabase({ dataDir });
const monitor = await openMonitor({ database, secrets: secretBoxFromKey(randomBytes(32)) });
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (message: { body?: Uint8Array; close?: boolean }) => {
  chain = chain.then(async () => {
    if (message.close) {
      await database.close();
      parentPort!.postMessage({ closed: true });
      return;
    }
    // The monitor's ingest route parses the agent's JSON body the same way.
    const result = await monitor.ingestor.accept('bench', JSON.parse(Buffer.from(message.body!.buffer, message.body!.byteOffset, message.body!.byteLength).toString('utf8')) as unknown[]);
    parentPort!.postMessage({ stored: result.accepted, at: performance.timeOrigin + performance.now() });
  });
});
parentPort!.postMessage({ ready: true });
