// The duty roster (值班表) on both engines, routed for real: an alert at a
// given local time is queued for the route's receivers and whoever is on
// duty then, and the messages reach them. Day shifts, an overnight shift
// (it belongs to the day it starts: Friday 18:00-08:00 still covers Saturday
// 02:00, and Monday 02:00 is Sunday night's, which has no night shift), weekends.

import { describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../core/index.js';
import { AlertNotifier, parseRuleSet, type Alert } from '../monitor/alerts/index.js';
import { captureServer, secrets } from './support/alerts.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('alerts-roster');
const by = { actor: 'test', source: 'test' };

/** A local time on a given weekday (0 = Sunday) of the week of 2026-12-06 (a Sunday). */
const at = (weekday: number, hh: number, mm = 0) => new Date(2026, 11, 6 + weekday, hh, mm).getTime();

async function alertRow(database: Database, i: number, when: number): Promise<Alert> {
  const t = new Date(when).toISOString();
  const fp = `node-down|sw-${i}`;
  const row = { fingerprint: fp, live_fingerprint: fp, rule: 'node-down', severity: 'critical', state: 'firing' as const, node: `sw-${i}`, site: 'County B', zone: 'internal', labels: '{}', summary: 'down', value: null, started_at: t, fired_at: t, resolved_at: null, ack_by: null, ack_comment: null, ack_at: null, folded_into: null, held: 0, notified: 1, muted_by: null, flapping: 0, escalated: 0, updated_at: t };
  const { id } = await database.write((tx) => tx.insertInto('alert_alert').values(row).returning('id').executeTakeFirstOrThrow());
  return { id: Number(id), fingerprint: fp, rule: 'node-down', severity: 'critical', state: 'firing', node: row.node, site: 'County B', zone: 'internal', labels: {}, summary: 'down', value: null, startedAt: t, firedAt: t, resolvedAt: null, ackBy: null, ackComment: null, ackAt: null, foldedInto: null, held: false, notified: true, mutedBy: null, flapping: false, escalated: 0, updatedAt: t };
}

describe.each(engines)('duty roster on $name', (engine) => {
  it('sends each alert to the route and to whoever is on duty at its time', async () => {
    const hook = await captureServer();
    try {
      const database = keep(await openDatabase(await engine.location()));
      const rules = parseRuleSet({
        routes: [
          {
            match: { severity: ['critical'] },
            receivers: ['noc'],
            roster: [
              { receiver: 'day-duty', days: 'mon-fri', from: '08:00', to: '18:00' },
              { receiver: 'night-duty', days: 'mon-fri', from: '18:00', to: '08:00' },
              { receiver: 'weekend-duty', days: 'sat,sun' },
            ],
          },
        ],
      });
      let clock = at(1, 10);
      const notifier = new AlertNotifier({ database, secrets, rules: () => rules, now: () => clock });
      for (const name of ['noc', 'day-duty', 'night-duty', 'weekend-duty']) await notifier.putReceiver({ name, type: 'webhook', url: `${hook.url}/${name}` }, by, async () => undefined);
      const cases: Array<[string, number, string[]]> = [
        ['Monday 10:00', at(1, 10), ['day-duty', 'noc']],
        ['Monday 17:59', at(1, 17, 59), ['day-duty', 'noc']],
        ['Monday 18:00', at(1, 18), ['night-duty', 'noc']],
        ['Tuesday 07:59 (Monday night)', at(2, 7, 59), ['night-duty', 'noc']],
        ['Saturday 02:00 (Friday night)', at(6, 2), ['night-duty', 'noc', 'weekend-duty']],
        ['Saturday 12:00', at(6, 12), ['noc', 'weekend-duty']],
        ['Monday 02:00 (Sunday night: no night shift, the weekend ended at midnight)', at(8, 2), ['noc']],
      ];
      for (const [i, [what, when, expected]] of cases.entries()) {
        clock = when;
        const alert = await alertRow(database, i, when);
        expect(notifier.route(alert).receivers.sort(), what).toEqual(expected);
        const before = hook.requests.length;
        await database.write((tx) => notifier.enqueue(tx, [alert], 'firing', clock));
        await notifier.drain();
        const got = hook.requests.slice(before).map((r) => r.url.slice(1)).sort();
        expect(got, what).toEqual(expected);
        for (const r of hook.requests.slice(before)) expect(r.body.alerts[0].labels.node).toBe(`sw-${i}`);
      }
      await notifier.stop();
    } finally {
      await hook.close();
    }
  }, 120_000);
});
