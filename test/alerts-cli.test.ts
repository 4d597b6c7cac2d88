// `egov-ops alerts ...` and `egov-ops maintenance ...` with the names of
// issue 11 section 5, run in-process over a data directory: an alert made
// through ingest is listed, shown, acknowledged, resolved (the note goes to
// the knowledge base as an incident: "seen before" counts it); silences and
// maintenance windows, rules with a rules file, bad input named clearly.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listAudit, openDatabase, openSecretBox } from '../core/index.js';
import { AlertService } from '../monitor/alerts/index.js';
import { openMonitor } from '../monitor/index.js';
import { registerAlertsCommands } from '../cli/alerts.js';
import { reach } from './support/alerts.js';
import { inProcessCli } from './support/cli.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const egov = inProcessCli(registerAlertsCommands);

describe('egov-ops alerts, maintenance', () => {
  it('lists, shows, acknowledges and resolves an alert; silences; maintenance windows; rules; bad input', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'egov-alerts-cli-'));
    dirs.push(dir);
    // An alert through ingest, as serve would make it.
    {
      const database = await openDatabase({ dataDir: dir });
      const monitor = await openMonitor({ database, secrets: openSecretBox(dir) });
      await monitor.inventory.addNode({ name: 'sw-county-b', kind: 'switch', zone: 'internal', site: 'County B', level: 'county', address: '10.2.0.1', snmp: null, parents: [] }, { actor: 'test', source: 'test' });
      const service = new AlertService({ database, monitor, secrets: openSecretBox(dir) });
      await monitor.ingestor.accept('agent-1', [reach('sw-county-b', false)]);
      await service.settled();
      await service.stop();
      await database.close();
    }
    const d = ['--data-dir', dir];
    const list = JSON.parse((await egov([...d, '--json', 'alerts', 'list', '--state', 'firing'])).stdout);
    expect(list.alerts).toHaveLength(1);
    const id = String(list.alerts[0].id);
    expect((await egov([...d, 'alerts', 'list'])).stdout).toMatch(/firing\s+critical\/紧急\s+node-down\s+sw-county-b/);
    const bad = await egov([...d, 'alerts', 'list', '--state', 'burning']);
    expect(bad.error?.message).toMatch(/--state must be one of pending, firing, acknowledged, resolved/);

    const shown = JSON.parse((await egov([...d, '--json', 'alerts', 'show', id])).stdout);
    expect(shown.alert.rule).toBe('node-down');
    expect(shown.articles).toEqual([]); // no articles loaded in this data directory
    expect(shown.seenBefore).toEqual({ count: 0, incidents: [] });
    expect((await egov([...d, 'alerts', 'ack', id, '--comment', 'crew sent'])).stdout).toMatch(/acknowledged/);
    expect((await egov([...d, 'alerts', 'ack', id, '--comment', 'again'])).error?.message).toMatch(/acknowledged: only a firing alert/);
    expect((await egov([...d, 'alerts', 'resolve', id, '--note', 'replaced the power supply'])).stdout).toMatch(/resolved/);
    expect((await egov([...d, 'alerts', 'show', 'x1'])).error?.message).toMatch(/alert ID must be a number/);
    expect((await egov([...d, 'alerts', 'show', '999'])).error?.message).toMatch(/no alert 999/);
    const after = JSON.parse((await egov([...d, '--json', 'alerts', 'show', id])).stdout);
    expect(after.alert.state).toBe('resolved');
    // The knowledge base recorded the incident: seen before, once, with the note.
    expect(after.seenBefore.count).toBe(1);
    expect(after.seenBefore.incidents[0]).toMatchObject({ note: 'replaced the power supply' });

    const silence = JSON.parse((await egov([...d, '--json', 'alerts', 'silence', '--match', 'node=sw-county-b', 'alertname=interface-down', '--for', '2h', '--reason', 'optic swap'])).stdout);
    expect(silence.matchers).toEqual([{ name: 'node', value: 'sw-county-b' }, { name: 'alertname', value: 'interface-down' }]);
    expect((await egov([...d, 'alerts', 'silence', '--match', 'node', '--for', '2h', '--reason', 'x'])).error?.message).toMatch(/write KEY=VALUE/);

    expect((await egov([...d, 'maintenance', 'add', '--site', 'County B', '--from', '2026-12-08T22:00:00+08:00', '--to', '2026-12-09T02:00:00+08:00', '--reason', 'core switch upgrade'])).stdout).toMatch(/maintenance window 1 for site County B/);
    expect((await egov([...d, 'maintenance', 'add', '--zone', 'external', '--cron', '0 2 * * 6', '--duration', '2h', '--reason', 'weekly'])).stdout).toMatch(/0 2 \* \* 6 for 120 min/);
    expect((await egov([...d, 'maintenance', 'add', '--node', 'a', '--from', '2026-12-09T02:00:00Z', '--to', '2026-12-08T02:00:00Z', '--reason', 'x'])).error?.message).toMatch(/ends .* before it starts/);
    expect((await egov([...d, 'maintenance', 'add', '--node', 'a', '--site', 'b', '--from', '1', '--to', '2', '--reason', 'x'])).error?.message).toMatch(/exactly one of --node, --site, --zone/);
    const windows = JSON.parse((await egov([...d, '--json', 'maintenance', 'list'])).stdout).windows;
    expect(windows.map((w: { scope: string }) => w.scope)).toEqual(['site', 'zone']);

    const audit = (await (async () => {
      const database = await openDatabase({ dataDir: dir });
      try {
        return await listAudit(database, { limit: 50 });
      } finally {
        await database.close();
      }
    })()).map((r) => r.action);
    for (const action of ['alerts.ack', 'alerts.resolve', 'alerts.silence', 'alerts.maintenance-add']) expect(audit).toContain(action);

    // A receiver that does not exist.
    expect((await egov([...d, 'alerts', 'test-receiver', 'nobody'])).error?.message).toMatch(/no receiver named nobody/);
    // Rules: built-in, then a rules file; a bad one is refused with its rule named.
    const rules = JSON.parse((await egov([...d, '--json', 'alerts', 'rules'])).stdout).rules;
    expect(rules.map((r: { name: string }) => r.name)).toContain('node-down');
    writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - { name: cpu-high, above: "lots" }\n');
    writeFileSync(path.join(dir, 'config.yaml'), `alerts:\n  rulesFile: ${path.join(dir, 'rules.yaml')}\n`);
    const refused = await egov([...d, '--config', path.join(dir, 'config.yaml'), 'alerts', 'rules']);
    expect(refused.error?.message).toMatch(/rules.yaml: rule cpu-high: above must be a number \(got "lots"\)/);
  }, 120_000);
});
