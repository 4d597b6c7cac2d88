// The runbook runner and publish-crl against a served suite: dry run and real
// run through the built bin with an operator's certificate, the run log, the
// audit records, bad input that changes nothing, the lock, gates (confirm and
// four eyes through the API), retries, timeouts, rollbacks and --from.

import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../core/index.js';
import { defineRunbook, readRunEvents, runRunbook, type RunOptions } from '../playbooks/index.js';
import { call, signIn, ADMIN_PASSWORD } from './support/desk.js';
import { startPlaybookSuite, type PlaybookSuite } from './support/playbooks.js';

let s: PlaybookSuite;
const runsDir = () => path.join(s.desk.dir, 'playbooks', 'runs');
const runFiles = () => (existsSync(runsDir()) ? readdirSync(runsDir()) : []);
const auditCount = async () => (await listAudit(s.desk.suite.database, { limit: 100_000 })).length;
const crlCount = async () => (await s.desk.suite.database.db.selectFrom('crl').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

beforeAll(async () => {
  s = await startPlaybookSuite();
}, 120_000);
afterAll(async () => s?.close());

describe('playbook list and show', () => {
  it('lists the runbooks and shows one with its parameters and steps', async () => {
    const list = await s.cli(['--json', 'playbook', 'list']);
    expect(list.code).toBe(0);
    expect(list.json().map((r: { name: string }) => r.name)).toContain('publish-crl');
    const show = await s.cli(['--json', 'playbook', 'show', 'publish-crl']);
    expect(show.code).toBe(0);
    const shown = show.json();
    expect(shown.params.find((p: { name: string }) => p.name === 'ca')).toMatchObject({ type: 'string', required: true });
    expect(shown.steps.map((st: { name: string }) => st.name)).toEqual(['check-ca', 'build-full', 'build-delta', 'check-next-update', 'fetch-public', 'verify']);
    expect(shown.steps.find((st: { name: string }) => st.name === 'build-full').changes).toBe(true);
  });
});

describe('publish-crl', () => {
  it('in a dry run shows each step and changes nothing', async () => {
    const [crls, audits] = [await crlCount(), await auditCount()];
    const run = await s.cli(['--json', 'playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', `publicUrl=${s.desk.plainBase}`, '--dry-run', ...s.alice.apiArgs]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('dry-run');
    expect(result.steps.find((st: { name: string }) => st.name === 'build-full').dryRun).toBe('POST /api/ca/city-ecdsa/crl {"kind":"full"}');
    expect(run.stderr).toContain('would: POST /api/ca/city-ecdsa/crl');
    expect(await crlCount()).toBe(crls);
    // The operator's identity check (GET /api/access/me) and sign-in are audited by access; no playbook record.
    const records = (await listAudit(s.desk.suite.database, { limit: 100 })).slice(0, (await auditCount()) - audits);
    expect(records.filter((r) => r.action.startsWith('playbook.'))).toEqual([]);
  });

  it('for real builds both CRLs on the serving suite, fetches them back and verifies them with openssl', async () => {
    const crls = await crlCount();
    const run = await s.cli(['--json', 'playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', `publicUrl=${s.desk.plainBase}`, ...s.alice.apiArgs]);
    expect(run.code, run.stderr).toBe(0);
    const result = run.json();
    expect(result.status).toBe('succeeded');
    expect(result.steps.every((st: { status: string }) => st.status === 'ok')).toBe(true);
    expect(await crlCount()).toBe(crls + 2);
    expect(result.results.verify).toEqual({ verified: 2 });
    const events = readRunEvents(result.logFile);
    const start = events.find((e) => e.event === 'run-start')!;
    expect(start.who).toContain('Alice Operator');
    const commands = events.filter((e) => e.event === 'command');
    expect(commands.some((c) => String(c.command).startsWith('openssl crl') && c.exitCode === 0)).toBe(true);
    expect(commands.some((c) => c.command === 'POST /api/ca/city-ecdsa/crl {"kind":"delta"}' && c.exitCode === 200)).toBe(true);
    // The password file's content never reaches the log.
    expect(readFileSync(result.logFile, 'utf8')).not.toContain(ADMIN_PASSWORD);
    const audit = (await listAudit(s.desk.suite.database, { limit: 50 })).filter((r) => r.object === `playbook:publish-crl/run:${result.runId}`);
    expect(audit.map((r) => r.action).sort()).toEqual(['playbook.end', 'playbook.start', 'playbook.step', 'playbook.step']);
    expect(audit.every((r) => r.actor.includes('Alice Operator'))).toBe(true);
    expect(run.stderr).toMatch(/\[5\/6\] fetch-public: .*\n\s+ok \(\d+\.\d s\)/);
  }, 120_000);

  it('fails at fetch-public when the public URL does not answer, after its retries, and says how to resume', async () => {
    const run = await s.cli(['--json', 'playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', 'publicUrl=http://127.0.0.1:9', ...s.alice.apiArgs]);
    expect(run.code).toBe(7);
    const result = run.json();
    expect(result.status).toBe('failed');
    expect(result.error.step).toBe('fetch-public');
    expect(result.steps.find((st: { name: string }) => st.name === 'fetch-public').attempts).toBe(4);
    expect(run.stderr).toContain('egov-ops playbook run publish-crl --from fetch-public');
    // Resumed with the right URL: the CRLs built before are carried, not built again.
    const crls = await crlCount();
    const resumed = await s.cli(['--json', 'playbook', 'run', 'publish-crl', '--from', 'fetch-public', '--param', `publicUrl=${s.desk.plainBase}`, ...s.alice.apiArgs]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json().steps.map((st: { status: string }) => st.status)).toEqual(['carried', 'carried', 'carried', 'carried', 'ok', 'ok']);
    expect(await crlCount()).toBe(crls);
    expect(readRunEvents(resumed.json().logFile).find((e) => e.event === 'run-start')!.resumeOf).toBe(result.runId);
  }, 180_000);
});

describe('bad input changes nothing', () => {
  const cases: Array<[string, string[], number, RegExp]> = [
    ['an unknown runbook', ['playbook', 'run', 'no-such-book'], 3, /no runbook no-such-book/],
    ['a missing parameter', ['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa'], 2, /needs --param publicUrl/],
    ['an ill-typed parameter', ['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', 'publicUrl=http://x', '--param', 'minHours=soon'], 2, /minHours=soon: not an integer/],
    ['a parameter out of range', ['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', 'publicUrl=http://x', '--param', 'minHours=0'], 2, /at least 1/],
    ['a bad URL', ['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', 'publicUrl=ftp://x'], 2, /not an http\(s\) URL/],
    ['an unknown parameter', ['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', 'publicUrl=http://x', '--param', 'colour=red'], 2, /has no parameter colour/],
    ['a parameter without =', ['playbook', 'run', 'publish-crl', '--param', 'ca'], 2, /write it KEY=VALUE/],
    ['--from a step that does not exist', ['playbook', 'run', 'publish-crl', '--from', 'sign-everything'], 2, /has no step sign-everything/],
    ['a log that does not exist', ['playbook', 'run', 'publish-crl', '--from', 'verify', '--run', 'publish-crl-nope'], 3, /no run log publish-crl-nope/],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const [runs, audits, crls] = [runFiles().length, await auditCount(), await crlCount()];
      const run = await s.cli(args);
      expect(run.code, run.stderr).toBe(code);
      expect(run.stderr).toMatch(message);
      expect(runFiles().length).toBe(runs);
      expect(await auditCount()).toBe(audits);
      expect(await crlCount()).toBe(crls);
    });
  }

  it('a log of another runbook', async () => {
    const other = path.join(os.tmpdir(), `other-run-${process.pid}.jsonl`);
    writeFileSync(other, JSON.stringify({ at: new Date().toISOString(), event: 'run-start', runId: 'restore-drill-x', runbook: 'restore-drill', who: 'x', params: {}, dryRun: false }) + '\n' + JSON.stringify({ at: new Date().toISOString(), event: 'run-end', status: 'failed' }) + '\n');
    const runs = runFiles().length;
    const run = await s.cli(['playbook', 'run', 'publish-crl', '--from', 'verify', '--run', other]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is a run of restore-drill, not of publish-crl');
    expect(runFiles().length).toBe(runs);
  });

  it('a run while another run of the same runbook holds its lock', async () => {
    const locks = path.join(s.desk.dir, 'playbooks', 'locks');
    mkdirSync(locks, { recursive: true });
    // This test process is alive: its lock is not stale.
    writeFileSync(path.join(locks, 'publish-crl.lock'), JSON.stringify({ runId: 'publish-crl-held', pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
    try {
      const [runs, audits, crls] = [runFiles().length, await auditCount(), await crlCount()];
      const run = await s.cli(['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', `publicUrl=${s.desk.plainBase}`, ...s.alice.apiArgs]);
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('runbook publish-crl is locked by run publish-crl-held');
      expect(runFiles().length).toBe(runs);
      expect(await crlCount()).toBe(crls);
      expect((await listAudit(s.desk.suite.database, { limit: 100 })).slice(0, (await auditCount()) - audits).filter((r) => r.action.startsWith('playbook.'))).toEqual([]);
      // A lock left by a process that is gone is taken over.
      writeFileSync(path.join(locks, 'publish-crl.lock'), JSON.stringify({ runId: 'publish-crl-dead', pid: 2 ** 22 + 12345, host: os.hostname(), since: new Date().toISOString() }));
      const taken = await s.cli(['playbook', 'run', 'publish-crl', '--param', 'ca=city-ecdsa', '--param', `publicUrl=${s.desk.plainBase}`, ...s.alice.apiArgs]);
      expect(taken.code, taken.stderr).toBe(0);
      expect(existsSync(path.join(locks, 'publish-crl.lock'))).toBe(false);
    } finally {
      try {
        (await import('node:fs')).rmSync(path.join(locks, 'publish-crl.lock'), { force: true });
      } catch {
        /* gone */
      }
    }
  }, 120_000);
});

describe('the runner', () => {
  const base = (runbook: RunOptions['runbook'], extra: Partial<RunOptions> = {}): RunOptions => ({ runbook, params: {}, operator: { dataDir: s.desk.dir }, who: 'test', ...extra });
  const trace: string[] = [];

  const book = defineRunbook({
    name: 'test-book',
    title: 'test',
    description: 'steps that record what they did',
    params: { failAt: { type: 'string', default: 'none', description: 'step to fail' }, token: { type: 'string', secret: true, description: 'a secret' } },
    steps: ['one', 'two', 'three', 'four'].map((name) => ({
      name,
      description: `step ${name}`,
      changes: name !== 'one',
      run: async ({ params, note }: { params: { failAt: string; token: string | undefined }; note: (l: string) => void }) => {
        trace.push(`run ${name}`);
        note(`token is ${params.token}`);
        if (params.failAt === name) throw new Error(`${name} broke`);
        return { did: name };
      },
      ...(name !== 'one' ? { rollback: async (_ctx: unknown, result: unknown) => void trace.push(`undo ${(result as { did: string }).did}`) } : {}),
    })),
  });

  it('stops at the first failure, rolls the done steps back in reverse, masks secrets, and resumes with --from', async () => {
    trace.length = 0;
    const failed = await runRunbook(base(book, { params: { failAt: 'three', token: 's3cret-token' } }));
    expect(failed.status).toBe('rolled-back');
    expect(trace).toEqual(['run one', 'run two', 'run three', 'undo two']);
    const text = readFileSync(failed.logFile, 'utf8');
    expect(text).not.toContain('s3cret-token');
    expect(text).toContain('token is ********');
    expect(readRunEvents(failed.logFile).find((e) => e.event === 'run-start')!.params).toEqual({ failAt: 'three', token: '********' });
    // two was rolled back: resuming after it is refused, at it is allowed.
    await expect(runRunbook(base(book, { from: 'three', resume: failed.runId, params: { failAt: 'none' } }))).rejects.toThrow(/step two was rolled back/);
    trace.length = 0;
    const resumed = await runRunbook(base(book, { from: 'two', resume: failed.runId, params: { failAt: 'none' } }));
    expect(resumed.status).toBe('succeeded');
    expect(trace).toEqual(['run two', 'run three', 'run four']);
    expect(resumed.results.one).toEqual({ did: 'one' });
  });

  it('takes a secret parameter from a file (KEY=@FILE) or the environment, never showing it', async () => {
    trace.length = 0;
    const file = path.join(os.tmpdir(), `token-${process.pid}`);
    writeFileSync(file, 'file-secret-123\n', { mode: 0o600 });
    const fromFile = await runRunbook(base(book, { params: { token: `@${file}` } }));
    expect(readFileSync(fromFile.logFile, 'utf8')).toContain('token is ********');
    expect(readFileSync(fromFile.logFile, 'utf8')).not.toContain('file-secret-123');
    process.env.EGOV_OPS_PARAM_TOKEN = 'env-secret-456';
    try {
      const fromEnv = await runRunbook(base(book));
      expect(readFileSync(fromEnv.logFile, 'utf8')).not.toContain('env-secret-456');
      expect(readRunEvents(fromEnv.logFile).filter((e) => e.event === 'note').map((e) => e.line)).toContain('token is ********');
    } finally {
      delete process.env.EGOV_OPS_PARAM_TOKEN;
    }
    await expect(runRunbook(base(book, { params: { token: '@/nonexistent/token' } }))).rejects.toThrow(/--param token=@\/nonexistent\/token: the file cannot be read \(ENOENT\)/);
  });

  it('follows a step\'s policy: stop leaves the done steps, continue goes on', async () => {
    const policy = (onFailure: 'stop' | 'continue') =>
      defineRunbook({ ...book, name: `test-${onFailure}`, steps: book.steps.map((st) => (st.name === 'two' ? { ...st, onFailure } : st)) });
    trace.length = 0;
    const stopped = await runRunbook(base(policy('stop'), { params: { failAt: 'two' } }));
    expect(stopped.status).toBe('failed');
    expect(trace).toEqual(['run one', 'run two']);
    trace.length = 0;
    const went = await runRunbook(base(policy('continue'), { params: { failAt: 'two' } }));
    expect(went.status).toBe('failed');
    expect(went.error).toMatchObject({ step: 'two', message: 'two broke' });
    expect(trace).toEqual(['run one', 'run two', 'run three', 'run four']);
  });

  it('retries, times out, and gates', async () => {
    let tries = 0;
    const flaky = defineRunbook({
      name: 'test-flaky',
      title: 't',
      description: 't',
      params: {},
      steps: [
        { name: 'flaky', description: 'fails twice', changes: false, retries: 2, retryDelayMs: 10, run: async () => (++tries < 3 ? Promise.reject(new Error('not yet')) : 'ok') },
        { name: 'slow', description: 'never ends', changes: false, timeoutMs: 200, run: () => new Promise(() => undefined) },
      ],
    });
    const result = await runRunbook(base(flaky));
    expect(result.steps[0]).toMatchObject({ status: 'ok', attempts: 3 });
    expect(result.steps[1]).toMatchObject({ status: 'failed' });
    expect(result.error?.message).toMatch(/timed out after 0.2 s/);

    const gated = defineRunbook({ name: 'test-gated', title: 't', description: 't', params: {}, steps: [{ name: 'danger', description: 'changes a lot', changes: true, gate: 'confirm', run: async () => 'done' }] });
    const refused = await runRunbook(base(gated));
    expect(refused.error?.message).toContain('needs confirmation: answer at a terminal or give --yes');
    expect((await runRunbook(base(gated, { yes: true }))).status).toBe('succeeded');
    expect((await runRunbook(base(gated, { confirm: async () => false }))).error?.message).toContain('was not confirmed');
  });

  it('a four-eyes gate waits for a second operator through the API; the first cannot approve it', async () => {
    const [cert, key, ca, password] = s.alice.apiArgs.filter((_, i) => i % 2 === 1).slice(1);
    const four = defineRunbook({ name: 'test-four-eyes', title: 't', description: 't', params: {}, steps: [{ name: 'sign', description: 'sign with the root key', changes: true, gate: 'four-eyes', run: async () => 'signed' }] });
    const running = runRunbook(base(four, { operator: { dataDir: s.desk.dir, api: { url: s.desk.secureBase, certFile: cert!, keyFile: key!, caFile: ca!, passwordFile: password! } }, approvalPollMs: 200 }));
    await signIn(s.desk, s.alice.person, ADMIN_PASSWORD);
    await signIn(s.desk, s.bob.person, ADMIN_PASSWORD);
    let waiting: { id: number } | undefined;
    for (let i = 0; i < 100 && !waiting; i++) {
      const list = await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/api/playbooks/approvals?state=waiting');
      waiting = list.json().approvals.find((a: { runbook: string }) => a.runbook === 'test-four-eyes');
      if (!waiting) await new Promise((r) => setTimeout(r, 100));
    }
    expect(waiting).toBeDefined();
    const self = await call(s.desk.secureBase, s.desk.caPem, s.alice.person, 'POST', `/api/playbooks/approvals/${waiting!.id}/approve`, { json: {} });
    expect(self.status).toBe(422);
    expect(self.json().message).toContain('needs a second operator');
    const cli = await s.cli(['--json', 'playbook', 'approve', String(waiting!.id), '--reason', 'witnessed', ...s.bob.apiArgs]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.json()).toMatchObject({ state: 'approved' });
    const result = await running;
    expect(result.status).toBe('succeeded');
    const gate = readRunEvents(result.logFile).filter((e) => e.event === 'gate');
    expect(gate.at(-1)).toMatchObject({ state: 'approved' });
    expect(String(gate.at(-1)!.by)).toContain('Bob Operator');
    const audit = await listAudit(s.desk.suite.database, { limit: 30 });
    expect(audit.some((r) => r.action === 'playbook.approve' && r.outcome === 'refused' && r.actor.includes('Alice'))).toBe(true);
    expect(audit.some((r) => r.action === 'playbook.approve' && r.outcome === 'success' && r.actor.includes('Bob'))).toBe(true);
  }, 60_000);
});

describe('the console section', () => {
  it('lists the runbooks and past runs in both languages, shows a run\'s log, and lets a second operator approve a waiting gate', async () => {
    const [cert, key, ca, password] = s.alice.apiArgs.filter((_, i) => i % 2 === 1).slice(1);
    const four = defineRunbook({ name: 'test-console-gate', title: 't', description: 't', params: {}, steps: [{ name: 'sign', description: 'sign the <new> root', changes: true, gate: 'four-eyes', run: async () => 'signed' }] });
    const running = runRunbook({ runbook: four, params: {}, operator: { dataDir: s.desk.dir, api: { url: s.desk.secureBase, certFile: cert!, keyFile: key!, caFile: ca!, passwordFile: password! } }, who: 'Alice Operator', approvalPollMs: 200 });
    await signIn(s.desk, s.bob.person, ADMIN_PASSWORD);
    let page = '';
    for (let i = 0; i < 100 && !/id="approve-\d+"/.test(page); i++) {
      page = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/runbooks')).text;
      if (!/id="approve-\d+"/.test(page)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(page).toContain('id="nav-runbooks" aria-current="page"');
    expect(page).toContain('id="runbook-publish-crl"');
    expect(page).toContain('sign the &lt;new&gt; root');
    const id = /id="approve-(\d+)"/.exec(page)![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    // An auditor reads the section but has no forms, and cannot post one.
    const auditor = await s.desk.person('Auditor Li', ['auditor']);
    const seen = await call(s.desk.secureBase, s.desk.caPem, auditor, 'GET', '/runbooks', { headers: { 'accept-language': 'zh-CN' } });
    expect(seen.status).toBe(200);
    expect(seen.text).toContain('等待第二名操作员审批');
    expect(seen.text).not.toContain(`id="approve-${id}"`);
    const cookie = /egov_session=([^;]*)/.exec([seen.headers['set-cookie'] ?? []].flat().join(''))?.[1];
    const auditorCsrf = /name="_csrf" value="([^"]+)"/.exec(seen.text)?.[1] ?? '';
    const denied = await call(s.desk.secureBase, s.desk.caPem, { ...auditor, ...(cookie ? { cookie } : {}) }, 'POST', `/runbooks/approvals/${id}/approve`, { form: { _csrf: auditorCsrf } });
    expect(denied.status).toBe(403);

    const approved = await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'POST', `/runbooks/approvals/${id}/approve`, { form: { _csrf: csrf, reason: 'checked' } });
    expect(approved.status).toBe(303);
    expect(approved.headers.location).toContain(`/runbooks?ok=`);
    const result = await running;
    expect(result.status).toBe('succeeded');

    const after = (await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/runbooks')).text;
    expect(after).toContain(`id="run-${result.runId}"`);
    const log = await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', `/runbooks/runs/${result.runId}`);
    expect(log.status).toBe(200);
    expect(log.text).toContain('id="run-log"');
    expect(log.text).toContain('POST /api/playbooks/approvals');
    expect((await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/runbooks/runs/no-such-run')).status).toBe(404);
    // Only run logs: a name that is a file or folder elsewhere (here, the working directory's dist) is not found.
    expect((await call(s.desk.secureBase, s.desk.caPem, s.bob.person, 'GET', '/runbooks/runs/dist')).status).toBe(404);
  }, 60_000);
});
