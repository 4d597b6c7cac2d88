// The agent's disk-backed outbox and its shipper, on real SQLite files in
// temp dirs: persistence across restarts (seq never reused), order, the
// size bound (oldest metrics dropped and counted; logs and events refused,
// never dropped), retries with backoff until everything is delivered once
// in order, a real crash (SIGKILL) between deliver and ack re-delivering the
// same seqs, and files or directories that cannot be used.

import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { EgovError } from '../core/errors.js';
import type { EventRecord, LogRecord, MetricPoint, OutboxItem } from '../monitor/index.js';
import { backoffDelay, Outbox, OutboxBatcher, OutboxFullError, Shipper, type OutboxOptions } from '../agents/outbox/index.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const OUTBOX_MODULE = path.join(REPO, 'agents/outbox/index.ts');
const VITE_NODE = path.join(REPO, 'node_modules/.bin/vite-node');

const workDir = mkdtempSync(path.join(os.tmpdir(), 'egov-outbox-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

let dirCounter = 0;
const freshDir = () => path.join(workDir, `q${++dirCounter}`);

const opened: Outbox[] = [];
const shippers: Shipper[] = [];
afterEach(async () => {
  for (const shipper of shippers.splice(0)) await shipper.stop();
  for (const outbox of opened.splice(0)) outbox.close();
});

function openOutbox(options: OutboxOptions): Outbox {
  const outbox = new Outbox(options);
  opened.push(outbox);
  return outbox;
}

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function metric(i: number): MetricPoint {
  return { measurement: 'interface', tags: { node: 'county-core', ifIndex: String(i % 48), ifName: `Gi0/${i % 48}` }, fields: { inOctetsPerSec: i * 1000, outOctetsPerSec: i * 900 }, time: T0 + i * 1000 };
}

function log(i: number): LogRecord {
  return {
    time: T0 + i, receivedAt: T0 + i, node: 'county-core', sourceAddress: '10.20.0.1', facility: 23, severity: 'error',
    host: 'county-core', app: null, procId: null, msgId: 'LINK-3-UPDOWN', message: `Interface Gi0/${i} changed state to down`,
    structuredData: { meta: { sequenceId: String(i) } }, format: 'rfc3164', transport: 'udp',
  };
}

function event(i: number): EventRecord {
  return { time: T0 + i, node: 'county-core', sourceAddress: '10.20.0.1', kind: 'trap', name: '1.3.6.1.6.3.1.1.5.3', severity: 'warning', detail: { ifIndex: String(i), ifHCInOctets: '18446744073709551615' } };
}

const bytesOf = (record: unknown) => Buffer.byteLength(JSON.stringify(record));
const seqs = (items: OutboxItem[]) => items.map((item) => item.seq);

describe('Outbox', () => {
  it('survives a restart: items, their order and the next seq; a seq is never reused, even after the queue empties', () => {
    const directory = freshDir();
    const first = new Outbox({ directory });
    expect([first.enqueue('metric', metric(1)), first.enqueue('log', log(2)), first.enqueue('event', event(3))]).toEqual([1, 2, 3]);
    first.close();

    const second = openOutbox({ directory });
    expect(second.stats).toMatchObject({ items: 3, nextSeq: 4, bytes: bytesOf(metric(1)) + bytesOf(log(2)) + bytesOf(event(3)) });
    expect(second.peekBatch(10, 1 << 20)).toEqual([
      { seq: 1, kind: 'metric', record: metric(1) },
      { seq: 2, kind: 'log', record: log(2) },
      { seq: 3, kind: 'event', record: event(3) },
    ]);
    expect(second.enqueue('log', log(4))).toBe(4);
    expect(second.ack(4)).toBe(4);
    expect(second.stats).toMatchObject({ items: 0, bytes: 0 });
    second.close();

    const third = openOutbox({ directory });
    expect(third.enqueue('metric', metric(5))).toBe(5); // not 1: the queue emptied, the seqs were not reset
    expect(existsSync(path.join(directory, 'outbox.sqlite'))).toBe(true);
  });

  it('peekBatch gives the oldest first, bounded by items and bytes (a single oversized item still comes alone); ack removes up to a seq', () => {
    const outbox = openOutbox({ directory: freshDir() });
    for (let i = 1; i <= 10; i++) outbox.enqueue(i % 2 ? 'metric' : 'log', i % 2 ? metric(i) : log(i));
    expect(seqs(outbox.peekBatch(4, 1 << 20))).toEqual([1, 2, 3, 4]);
    const budget = bytesOf(metric(1)) + bytesOf(log(2)) + 10;
    expect(seqs(outbox.peekBatch(100, budget))).toEqual([1, 2]);
    expect(seqs(outbox.peekBatch(100, 1))).toEqual([1]);
    expect(outbox.ack(3)).toBe(3);
    expect(seqs(outbox.peekBatch(100, 1 << 20))).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(outbox.ack(3)).toBe(0); // acknowledging again is harmless
    expect(() => outbox.ack(11)).toThrow(/cannot acknowledge seq 11: the last seq given out is 10/);
  });

  it('when full, the oldest metrics are dropped first and counted; logs and events stay', () => {
    const directory = freshDir();
    const outbox = openOutbox({ directory, maxBytes: 4096 });
    outbox.enqueue('log', log(0));
    let queued = 0;
    for (let i = 1; i <= 100; i++) if (outbox.enqueue('metric', metric(i)) !== null) queued++;
    expect(queued).toBe(100); // each one fitted after the oldest made room
    const stats = outbox.stats;
    expect(stats.bytes).toBeLessThanOrEqual(4096);
    expect(stats.droppedMetrics).toBe(100 - (stats.items - 1));
    expect(stats.droppedMetrics).toBeGreaterThan(50);
    const items = outbox.peekBatch(1000, 1 << 20);
    expect(items[0]).toMatchObject({ seq: 1, kind: 'log' }); // the log was older than every metric and is still first
    const metricSeqs = seqs(items.slice(1));
    expect(metricSeqs).toEqual(Array.from({ length: metricSeqs.length }, (_, i) => 102 - metricSeqs.length + i)); // the newest metrics, contiguous
    expect(stats.bytes).toBe(bytesOf(log(0)) + items.slice(1).reduce((sum, item) => sum + bytesOf(item.record), 0));
    expect(stats.bytes + bytesOf(metric(metricSeqs[0]! - 2))).toBeGreaterThan(4096); // the last one dropped (seq s holds metric(s - 1)) had to go
    outbox.close();
    opened.pop();
    expect(openOutbox({ directory }).stats.droppedMetrics).toBe(stats.droppedMetrics); // the counter is on disk
  });

  it('logs and events are refused (not dropped) at the hard bound, loudly and counted; a metric then is dropped; room comes back after an ack', () => {
    const outbox = openOutbox({ directory: freshDir(), maxBytes: 4096 });
    const before: number[] = [];
    let i = 0;
    let refusal: unknown;
    for (; i < 1000; i++) {
      try {
        before.push(outbox.enqueue(i % 3 ? 'log' : 'event', i % 3 ? log(i) : event(i))!);
      } catch (error) {
        refusal = error;
        break;
      }
    }
    expect(refusal).toBeInstanceOf(OutboxFullError);
    expect(refusal).toBeInstanceOf(EgovError);
    expect(refusal).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/outbox full: \d+ of 4096 bytes are logs and events .* was NOT queued \(1 refused so far\)/) });
    const full = outbox.stats;
    expect(full).toMatchObject({ refused: 1, droppedMetrics: 0, items: before.length });
    expect(() => outbox.enqueue('event', event(9999))).toThrow(/2 refused so far/);
    expect(outbox.enqueue('metric', metric(1))).toBeNull(); // no older metric to drop: the new one goes, counted
    expect(outbox.stats).toMatchObject({ refused: 2, droppedMetrics: 1, items: before.length, nextSeq: full.nextSeq });
    expect(seqs(outbox.peekBatch(1000, 1 << 20))).toEqual(before); // nothing that was queued went missing

    outbox.ack(before[2]!);
    expect(outbox.enqueue('log', log(i))).toBe(full.nextSeq);
  });

  it('enqueueWhatFits keeps what fits in one transaction and says which records were refused or dropped', () => {
    const outbox = openOutbox({ directory: freshDir(), maxBytes: 2048 });
    const entries = [
      ...Array.from({ length: 20 }, (_, i) => ({ kind: 'log' as const, record: log(i) })),
      { kind: 'metric' as const, record: metric(1) },
    ];
    const results = outbox.enqueueWhatFits(entries);
    const queued = results.filter((r) => typeof r === 'number');
    expect(queued).toEqual(Array.from({ length: queued.length }, (_, i) => i + 1));
    expect(results.slice(queued.length, 20).every((r) => r === 'refused')).toBe(true);
    expect(results[20]).toBe('dropped');
    expect(outbox.stats).toMatchObject({ items: queued.length, refused: 20 - queued.length, droppedMetrics: 1 });
  });

  it('enqueueMany is all or nothing', () => {
    const outbox = openOutbox({ directory: freshDir(), maxBytes: 2048 });
    expect(outbox.enqueueMany([{ kind: 'log', record: log(1) }, { kind: 'metric', record: metric(2) }])).toEqual([1, 2]);
    const many = Array.from({ length: 20 }, (_, i) => ({ kind: 'log' as const, record: log(i) }));
    expect(() => outbox.enqueueMany(many)).toThrow(OutboxFullError);
    expect(outbox.stats).toMatchObject({ items: 2, nextSeq: 3, refused: 20, droppedMetrics: 0 }); // the metric dropped inside the rolled-back batch is back
    expect(seqs(outbox.peekBatch(10, 1 << 20))).toEqual([1, 2]);
  });

  it('refuses nonsense: an unknown kind, an item larger than the whole queue, a closed queue', () => {
    const outbox = new Outbox({ directory: freshDir(), maxBytes: 1024 });
    expect(() => outbox.enqueue('alarm' as 'log', log(1))).toThrow(/a metric, a log or an event, not "alarm"/);
    expect(() => outbox.enqueue('log', { ...log(1), message: 'x'.repeat(2000) })).toThrow(/larger than the whole outbox/);
    outbox.close();
    expect(() => outbox.enqueue('log', log(1))).toThrow(/is closed/);
    expect(() => new Outbox({ directory: freshDir(), maxBytes: 10 })).toThrow(/at least 1024/);
  });
});

describe('OutboxBatcher (group commit)', () => {
  it('writes in one transaction per maxItems, or after maxDelayMs, in order', async () => {
    const outbox = openOutbox({ directory: freshDir() });
    const batcher = new OutboxBatcher(outbox, { maxItems: 500, maxDelayMs: 30 });
    for (let i = 1; i <= 1200; i++) batcher.add(i % 10 ? 'log' : 'metric', i % 10 ? log(i) : metric(i));
    expect(outbox.stats.items).toBe(1000); // two full batches, written as they filled
    expect(batcher.stats).toMatchObject({ pending: 200, flushes: 2, written: 1000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(outbox.stats.items).toBe(1200);
    const items = outbox.peekBatch(2000, 1 << 30);
    expect(seqs(items)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
    expect(items[41]).toEqual({ seq: 42, kind: 'log', record: log(42) });
    batcher.close();
  });

  it('when the outbox is full of logs, what fits is kept and the refusals are reported, not silently lost', () => {
    const outbox = openOutbox({ directory: freshDir(), maxBytes: 4096 });
    const refusals: { message: string; count: number }[] = [];
    const batcher = new OutboxBatcher(outbox, { maxItems: 1000, onRefused: (error, count) => refusals.push({ message: error.message, count }) });
    for (let i = 0; i < 40; i++) batcher.add('log', log(i));
    batcher.flush();
    const queued = outbox.stats.items;
    expect(queued).toBeGreaterThan(5);
    expect(refusals).toEqual([{ message: expect.stringContaining('was NOT queued'), count: 40 - queued }]);
    expect(batcher.stats).toMatchObject({ written: queued, refused: 40 - queued, lost: 0 });
    expect(outbox.stats.refused).toBe(40 - queued); // counted once, on disk
  });
});

describe('files and directories that cannot be used give a clear error', () => {
  it('a corrupt queue file', () => {
    const directory = freshDir();
    mkdirSync(directory);
    writeFileSync(path.join(directory, 'outbox.sqlite'), Buffer.alloc(8192, 0x5a));
    expect(() => new Outbox({ directory })).toThrow(expect.objectContaining({ code: 'unavailable', message: expect.stringMatching(/outbox\.sqlite cannot be used: file is not a database\. It is corrupt: move it aside/) }));
  });

  it('a directory path that is a file, or under a file', () => {
    const file = path.join(workDir, 'plain-file');
    writeFileSync(file, 'not a directory');
    expect(() => new Outbox({ directory: file })).toThrow(expect.objectContaining({ code: 'unavailable', message: expect.stringContaining('is not a directory') }));
    expect(() => new Outbox({ directory: path.join(file, 'outbox') })).toThrow(expect.objectContaining({ code: 'unavailable', message: expect.stringMatching(/cannot be created: ENOTDIR/) }));
  });

  it('a directory the agent user may not write to', async () => {
    const directory = freshDir();
    mkdirSync(directory, { mode: 0o755 });
    let result: { code?: string; message?: string; ok?: boolean };
    if (process.getuid?.() === 0) {
      // Root writes anywhere: run the agent side as `nobody`, as a service user would be.
      chmodSync(workDir, 0o755);
      result = await runChild(`
        import { Outbox } from ${JSON.stringify(OUTBOX_MODULE)};
        try { new Outbox({ directory: ${JSON.stringify(directory)} }); console.log(JSON.stringify({ ok: true })); }
        catch (error) { console.log(JSON.stringify({ code: error.code, message: error.message })); }
      `, { uid: 65534, gid: 65534 }).then((out) => JSON.parse(out.stdout.trim().split('\n').pop()!));
    } else {
      chmodSync(directory, 0o555);
      try {
        new Outbox({ directory });
        result = { ok: true };
      } catch (error) {
        result = { code: (error as EgovError).code, message: (error as Error).message };
      }
    }
    expect(result).toMatchObject({ code: 'unavailable', message: expect.stringMatching(/cannot be used: unable to open database file\. Check that the directory exists and the agent user may write to it/) });
  });
});

describe('Shipper', () => {
  it('exponential backoff, capped, with jitter', () => {
    const lowest = (attempt: number) => backoffDelay(attempt, { initialMs: 500, maxMs: 60_000, jitter: 0.5 }, () => 1);
    const highest = (attempt: number) => backoffDelay(attempt, { initialMs: 500, maxMs: 60_000, jitter: 0.5 }, () => 0);
    expect([1, 2, 3, 4, 8, 20, 2000].map(highest)).toEqual([500, 1000, 2000, 4000, 60_000, 60_000, 60_000]);
    expect([1, 2, 3, 8].map(lowest)).toEqual([250, 500, 1000, 30_000]);
  });

  it('retries a failing deliver with growing waits, the same batch each time, then delivers everything once in order', async () => {
    const outbox = openOutbox({ directory: freshDir() });
    for (let i = 1; i <= 25; i++) outbox.enqueue(i % 5 ? 'metric' : 'log', i % 5 ? metric(i) : log(i));
    const attempts: { at: number; seqs: number[] }[] = [];
    const delivered: number[] = [];
    let failuresLeft = 4;
    const errors: string[] = [];
    const shipper = new Shipper({
      outbox,
      maxBatchItems: 10,
      backoff: { initialMs: 20, maxMs: 200, jitter: 0 },
      onDeliveryError: (error, details) => errors.push(`${(error as Error).message} #${details.attempt} retry in ${details.retryInMs}`),
      deliver: async (items) => {
        attempts.push({ at: performance.now(), seqs: seqs(items) });
        if (failuresLeft-- > 0) throw new Error('monitor unreachable');
        delivered.push(...seqs(items));
      },
    });
    shippers.push(shipper);
    shipper.start();
    await shipper.drained();
    expect(delivered).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(attempts.slice(0, 5).map((a) => a.seqs)).toEqual(Array(5).fill([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const gaps = attempts.slice(1, 5).map((a, i) => a.at - attempts[i]!.at);
    [20, 40, 80, 160].forEach((wait, i) => expect(gaps[i]).toBeGreaterThanOrEqual(wait - 2));
    expect(errors).toEqual(['monitor unreachable #1 retry in 20', 'monitor unreachable #2 retry in 40', 'monitor unreachable #3 retry in 80', 'monitor unreachable #4 retry in 160']);
    expect(shipper.stats).toMatchObject({ deliveredItems: 25, deliveredBatches: 3, failedAttempts: 4, consecutiveFailures: 0, lastError: 'monitor unreachable', lastAckedSeq: 25 });
    expect(outbox.stats.items).toBe(0);
  });

  it('an enqueue wakes an idle shipper; stop waits for the delivery in flight and acknowledges it', async () => {
    const outbox = openOutbox({ directory: freshDir() });
    const delivered: number[] = [];
    let release: () => void = () => undefined;
    const shipper = new Shipper({
      outbox,
      idleMs: 60_000,
      deliver: async (items) => {
        if (items[0]!.seq === 2) await new Promise<void>((resolve) => (release = resolve));
        delivered.push(...seqs(items));
      },
    });
    shipper.start();
    await new Promise((resolve) => setTimeout(resolve, 50)); // now idle, for a minute
    const started = performance.now();
    outbox.enqueue('log', log(1));
    while (delivered.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(performance.now() - started).toBeLessThan(1000);
    outbox.enqueue('event', event(2));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = shipper.stop();
    release();
    await stopped;
    expect(delivered).toEqual([1, 2]);
    expect(outbox.stats.items).toBe(0);
  });

  it('a crash (SIGKILL) between deliver and ack: the same seqs are delivered again after the restart (at least once)', async () => {
    const directory = freshDir();
    const outbox = new Outbox({ directory });
    for (let i = 1; i <= 12; i++) outbox.enqueue(i % 4 ? 'log' : 'metric', i % 4 ? log(i) : metric(i));
    outbox.close();

    const deliveredFile = path.join(workDir, `delivered-${dirCounter}.txt`);
    const child = await runChild(`
      import { appendFileSync } from 'node:fs';
      import { Outbox, Shipper } from ${JSON.stringify(OUTBOX_MODULE)};
      const outbox = new Outbox({ directory: ${JSON.stringify(directory)} });
      const shipper = new Shipper({ outbox, maxBatchItems: 5, deliver: async (items) => {
        appendFileSync(${JSON.stringify(deliveredFile)}, items.map((item) => item.seq).join(',') + '\\n');
        process.kill(process.pid, 'SIGKILL'); // the monitor has the batch; the ack never happens
        await new Promise(() => undefined);
      } });
      shipper.start();
    `);
    expect(child.signal).toBe('SIGKILL');
    expect(readFileSync(deliveredFile, 'utf8')).toBe('1,2,3,4,5\n');

    const reopened = openOutbox({ directory });
    expect(reopened.stats).toMatchObject({ items: 12, nextSeq: 13 });
    const delivered: number[] = [];
    const shipper = new Shipper({ outbox: reopened, maxBatchItems: 5, deliver: async (items) => void delivered.push(...seqs(items)) });
    shippers.push(shipper);
    shipper.start();
    await shipper.drained();
    expect(delivered).toEqual(Array.from({ length: 12 }, (_, i) => i + 1)); // 1-5 for the second time: the monitor dedups on (agent, seq)
  });
});

/** Runs a TypeScript snippet in its own process (vite-node), optionally as another user. */
async function runChild(source: string, user?: { uid: number; gid: number }): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  const scriptDir = mkdtempSync(path.join(workDir, 'child-'));
  chmodSync(scriptDir, 0o755);
  const script = path.join(scriptDir, 'child.ts');
  writeFileSync(script, source, { mode: 0o644 });
  const child = spawn(VITE_NODE, [script], { cwd: scriptDir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: scriptDir }, ...(user ?? {}) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
