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
parentPort!.on('message', (message: { items?: unknown[]; close?: boolean }) => {
  chain = chain.then(async () => {
    if (message.close) {
      await database.close();
      parentPort!.postMessage({ closed: true });
      return;
    }
    const result = await monitor.ingestor.accept('bench', message.items!);
    parentPort!.postMessage({ stored: result.accepted, at: performance.timeOrigin + performance.now() });
  });
});
parentPort!.postMessage({ ready: true });
