// A small network with a week of samples, for the graph tests and their
// screenshots: written straight into the metric store (what an agent would
// ship), so every range has data without waiting a week. No vitest import.

import type { Inventory, MetricPoint, MetricStore } from '../../monitor/index.js';

const actor = { actor: 'test', source: 'test' };

export const GRAPH_NODES = [
  { name: 'city-core', kind: 'router', zone: 'internal', site: 'City DC', level: 'city', address: '10.0.0.1', parents: [] as string[] },
  { name: 'city-fw', kind: 'firewall', zone: 'internal', site: 'City DC', level: 'city', address: '10.0.0.2', parents: ['city-core'] },
  { name: 'county-a', kind: 'router', zone: 'internal', site: 'County A', level: 'county', address: '10.1.0.1', parents: ['city-core'] },
  { name: 'county-b', kind: 'router', zone: 'internal', site: 'County B', level: 'county', address: '10.2.0.1', parents: ['city-core'] },
  { name: 'town-a1', kind: 'switch', zone: 'internal', site: 'Town A1', level: 'township', address: '10.1.1.1', parents: ['county-a'] },
] as const;

export async function addGraphNetwork(inventory: Inventory): Promise<void> {
  for (const n of GRAPH_NODES) await inventory.addNode({ ...n, parents: [...n.parents] } as never, actor);
  await inventory.addLink({ a: 'city-core:ge-0/0/1', b: 'county-a:ge-0/0/0', capacity: '1G' }, actor);
  await inventory.addLink({ a: 'city-core:ge-0/0/2', b: 'county-b:ge-0/0/0', capacity: '1G' }, actor);
  await inventory.addLink({ a: 'county-a:ge-0/0/1', b: 'town-a1:ge-0/0/0', capacity: '100M' }, actor);
}

/** `days` of samples every `stepMs` ending at `now`: a daily wave of traffic, some errors, CPU, memory, storage, RTT. */
export function graphSamples(now: number, days = 7, stepMs = 300_000): MetricPoint[] {
  const points: MetricPoint[] = [];
  const start = Math.floor((now - days * 86_400_000) / stepMs) * stepMs;
  const ifs: Array<{ node: string; ifIndex: string; ifName: string; peakBps: number; speedMbps: number }> = [
    { node: 'city-core', ifIndex: '1', ifName: 'ge-0/0/1', peakBps: 850e6, speedMbps: 1000 },
    { node: 'city-core', ifIndex: '2', ifName: 'ge-0/0/2', peakBps: 420e6, speedMbps: 1000 },
    { node: 'county-a', ifIndex: '1', ifName: 'ge-0/0/0', peakBps: 800e6, speedMbps: 1000 },
    { node: 'county-a', ifIndex: '2', ifName: 'ge-0/0/1', peakBps: 93e6, speedMbps: 100 },
  ];
  for (let time = start; time <= now; time += stepMs) {
    const day = (time % 86_400_000) / 86_400_000;
    const wave = 0.5 - 0.45 * Math.cos(day * 2 * Math.PI) + 0.05 * Math.sin(time / 700_000);
    for (const i of ifs) {
      const inBps = i.peakBps * wave;
      const outBps = i.peakBps * 0.6 * wave;
      const cap = i.speedMbps * 1e6;
      points.push({
        measurement: 'interface',
        tags: { node: i.node, ifIndex: i.ifIndex, ifName: i.ifName },
        fields: {
          inBitsPerSec: inBps, outBitsPerSec: outBps, inOctetsPerSec: inBps / 8, outOctetsPerSec: outBps / 8,
          inUtilisationPct: (inBps / cap) * 100, outUtilisationPct: (outBps / cap) * 100, highSpeedMbps: i.speedMbps,
          inErrorsPerSec: wave > 0.85 ? 0.4 : 0, outErrorsPerSec: 0, inDiscardsPerSec: wave > 0.8 ? 1.2 : 0.1, outDiscardsPerSec: 0, operStatus: 1, adminStatus: 1,
        },
        time,
      });
    }
    for (const node of ['city-core', 'county-a', 'county-b', 'city-fw']) {
      points.push({ measurement: 'system', tags: { node }, fields: { reachable: 1, rttMs: 2 + 6 * wave + (node === 'county-b' ? 10 : 0), sysUpTime: (time - start) / 1000 }, time });
      points.push({ measurement: 'host', tags: { node }, fields: { cpuLoadPct: 10 + 60 * wave, memoryUsedPct: 45 + 10 * wave, memoryTotalBytes: 8 * 2 ** 30 }, time });
    }
    points.push({ measurement: 'storage', tags: { node: 'city-core', storage: '/' }, fields: { usedPct: 40 + (10 * (time - start)) / (days * 86_400_000), sizeBytes: 64 * 2 ** 30, usedBytes: 30 * 2 ** 30 }, time });
    points.push({ measurement: 'storage', tags: { node: 'city-core', storage: '/var/log' }, fields: { usedPct: 70 + 5 * wave, sizeBytes: 16 * 2 ** 30, usedBytes: 11 * 2 ** 30 }, time });
  }
  // town-a1 went silent a while ago (unknown); county-b's last probe fails (down).
  points.push({ measurement: 'system', tags: { node: 'county-b' }, fields: { reachable: 0 }, time: now });
  return points;
}

export async function writeGraphSamples(metrics: MetricStore, now: number): Promise<void> {
  const points = graphSamples(now);
  for (let i = 0; i < points.length; i += 20_000) await metrics.write(points.slice(i, i + 20_000));
}
