// Four-eyes approvals of runbook gates on both storage engines: a request,
// a refusal when the operator who asked tries to decide it (audited), the
// decision by a second operator, no second decision, and the audit chain.

import { describe, expect, it } from 'vitest';
import { listAudit, openDatabase, verifyAuditLog } from '../core/index.js';
import { Approvals } from '../playbooks/index.js';
import { useEngines } from './support/engines.js';

const { engines, keep } = useEngines('approvals');
const alice = { name: 'Alice Operator (0a1b)', ca: 'city-ecdsa', serial: '0a1b', source: '127.0.0.1' };
const bob = { name: 'Bob Operator (0c2d)', ca: 'city-ecdsa', serial: '0c2d', source: '127.0.0.1' };

describe.each(engines)('approvals on $name', (engine) => {
  it('needs a second operator, decides once, and audits every step', async () => {
    const database = keep(await openDatabase(await engine.location()));
    const approvals = new Approvals(database);
    const asked = await approvals.request({ runbook: 'ca-key-ceremony', runId: 'ca-key-ceremony-20261207T113000-abcdef', step: 'second-operator', summary: 'make the 2027 root' }, alice);
    expect(asked).toMatchObject({ state: 'waiting', requestedBy: alice.name, decidedBy: null });
    await expect(approvals.request({ runbook: 'ca-key-ceremony', runId: asked.runId, step: 'second-operator', summary: 'again' }, alice)).rejects.toMatchObject({ code: 'conflict' });

    await expect(approvals.decide(asked.id, 'approved', alice)).rejects.toMatchObject({ code: 'policy-violation', message: expect.stringContaining('needs a second operator') });
    // The same certificate under another name is still the same operator.
    await expect(approvals.decide(asked.id, 'approved', { ...alice, name: 'Alice (renamed)' })).rejects.toMatchObject({ code: 'policy-violation' });
    expect((await approvals.get(asked.id)).state).toBe('waiting');

    const decided = await approvals.decide(asked.id, 'approved', bob, 'witnessed in room 3');
    expect(decided).toMatchObject({ state: 'approved', decidedBy: bob.name, reason: 'witnessed in room 3' });
    await expect(approvals.decide(asked.id, 'rejected', bob)).rejects.toMatchObject({ code: 'conflict' });
    await expect(approvals.get(999_999)).rejects.toMatchObject({ code: 'not-found' });
    expect((await approvals.list({ state: 'approved' })).map((a) => a.id)).toEqual([asked.id]);
    expect(await approvals.list({ state: 'waiting' })).toEqual([]);

    const audit = await listAudit(database, { limit: 10 });
    expect(audit.map((r) => `${r.action}:${r.outcome}`).reverse()).toEqual(['playbook.approval-request:success', 'playbook.approve:refused', 'playbook.approve:refused', 'playbook.approve:success']);
    expect((await verifyAuditLog(database)).ok).toBe(true);
  });

  it('is withdrawn only by the operator who asked, and only while waiting', async () => {
    const database = keep(await openDatabase(await engine.location()));
    const approvals = new Approvals(database);
    const asked = await approvals.request({ runbook: 'dr-switchover', runId: 'dr-switchover-20261207T120000-000001', step: 'start-standby', summary: 'switch' }, alice);
    await expect(approvals.withdraw(asked.id, bob)).rejects.toMatchObject({ code: 'policy-violation' });
    expect(await approvals.withdraw(asked.id, alice)).toMatchObject({ state: 'withdrawn' });
    await expect(approvals.decide(asked.id, 'approved', bob)).rejects.toMatchObject({ code: 'conflict' });
    await expect(approvals.withdraw(asked.id, alice)).rejects.toMatchObject({ code: 'conflict' });
    expect((await listAudit(database, { action: 'playbook.withdraw' })).length).toBe(1);
  });
});
