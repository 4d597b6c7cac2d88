// The repeat interval on both engines (Alertmanager's repeat_interval, per
// route): a still-firing, unacknowledged, unmuted alert is told again every
// interval, counted from the last time it was told; not while acknowledged,
// not inside a maintenance window; and a restart keeps the count (it is
// read back from the alert's timeline). A clock of the test's own moves time.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../core/index.js';
import { AlertService, parseRuleSet } from '../monitor/alerts/index.js';
import type { Monitor } from '../monitor/index.js';
import { captureServer, host, monitorWithNodes, secrets, type CaptureServer } from './support/alerts.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('alerts-repeat');
const by = { actor: 'CN=Operator One', source: '127.0.0.1' };
const MIN = 60_000;

describe.each(engines)('repeat interval on $name', (engine) => {
  let hook: CaptureServer;
  let database: Database;
  let monitor: Monitor;
  let clock = Date.now();
  const services: AlertService[] = [];
  beforeEach(async () => {
    hook = await captureServer();
    clock = Date.now();
    ({ database, monitor } = await monitorWithNodes(await engine.location(), keep));
  });
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop();
    await hook.close();
  });
  const rules = parseRuleSet({
    rules: [{ name: 'cpu-high', for: 0 }],
    routes: [
      { match: { site: ['County A'] }, receivers: ['noc'], repeatInterval: '10m' },
      { receivers: ['other'], repeatInterval: '30m' },
    ],
  });
  const service = async () => {
    const s = new AlertService({ database, monitor, secrets, rules, dependencySettleMs: 0, staleAfterMs: 30 * 24 * 60 * MIN, now: () => clock });
    services.push(s);
    await s.putReceiver({ name: 'noc', type: 'webhook', url: `${hook.url}/noc` }, by);
    await s.putReceiver({ name: 'other', type: 'webhook', url: `${hook.url}/other` }, by);
    return s;
  };
  // The cpu-high alerts told (the fake clock also makes the agent look silent: that alert is not this test's).
  const told = (path: string) =>
    hook.requests
      .filter((r) => r.url === path)
      .map((r) => r.body.alerts.filter((a: any) => a.labels.alertname === 'cpu-high').map((a: any) => `${a.labels.node}:${a.annotations.kind}`).join(','))
      .filter(Boolean);
  const tick = async (s: AlertService, advanceMs: number) => {
    clock += advanceMs;
    await s.evaluate();
    await s.notifier.drain();
  };

  it('tells a still-firing alert again every interval of its route, not once acknowledged, and keeps counting across a restart', async () => {
    let s = await service();
    await monitor.ingestor.accept('agent-internal', [host('sw-a', 99, clock), host('fw-1', 99, clock)]);
    await s.settled();
    await s.notifier.drain();
    expect(told('/noc')).toEqual(['sw-a:firing']);
    expect(told('/other')).toEqual(['fw-1:firing']);

    await tick(s, 5 * MIN);
    expect(told('/noc')).toEqual(['sw-a:firing']); // not yet
    await tick(s, 6 * MIN);
    expect(told('/noc')).toEqual(['sw-a:firing', 'sw-a:repeat']);
    expect(told('/other')).toEqual(['fw-1:firing']); // its route repeats every 30 minutes
    const sw = (await s.list({ node: 'sw-a', state: 'firing' }))[0]!;
    const timeline = await s.engine.timelineOf(sw.id);
    expect(timeline.filter((e) => e.kind === 'repeated')).toHaveLength(1);

    // A restart 4 minutes later: the count is read back, nothing is told early or twice.
    await s.stop();
    s = await service();
    await tick(s, 4 * MIN);
    expect(told('/noc')).toEqual(['sw-a:firing', 'sw-a:repeat']);
    await tick(s, 7 * MIN);
    expect(told('/noc')).toEqual(['sw-a:firing', 'sw-a:repeat', 'sw-a:repeat']);
    await tick(s, 20 * MIN);
    expect(told('/other')).toEqual(['fw-1:firing', 'fw-1:repeat']);

    // Acknowledged: never repeated.
    await s.acknowledge(sw.id, 'replacing the fan', by);
    const before = told('/noc').length;
    await tick(s, 11 * MIN);
    await tick(s, 11 * MIN);
    expect(told('/noc')).toHaveLength(before);
  }, 120_000);

  it('does not repeat inside a maintenance window', async () => {
    const s = await service();
    await monitor.ingestor.accept('agent-internal', [host('sw-a', 99, clock)]);
    await s.settled();
    await s.notifier.drain();
    expect(told('/noc')).toEqual(['sw-a:firing']);
    // A window that begins after the alert fired, for an hour.
    await s.addMaintenance({ scope: 'node', target: 'sw-a', from: new Date(clock + MIN).toISOString(), to: new Date(clock + 61 * MIN).toISOString(), reason: 'fan replacement' }, by);
    await tick(s, 11 * MIN);
    await tick(s, 11 * MIN);
    expect(told('/noc')).toEqual(['sw-a:firing']);
  }, 120_000);
});
