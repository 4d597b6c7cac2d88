// The console's runbooks section (order 90): the runbooks, the gates waiting
// for a second operator (approve or reject them here), the past runs, and
// each run's log. English and Chinese.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { consolePage, csrfField, EgovError, ensureSession, esc, flashOf, pageErrorHandler, pageLanguage, redirectWith, sendPage, type Database, type Language } from '../core/index.js';
import { Approvals } from './approvals.js';
import { RUNBOOKS } from './registry.js';
import { listRuns, readRunEvents, runLogById } from './run-log.js';
import { approverOf, OPERATE, VIEW } from './routes.js';

export interface PlaybookPagesOptions {
  database: Database;
  dataDir: string;
}

const WORDS = {
  en: {
    title: 'Runbooks',
    runbooks: 'Runbooks',
    name: 'Name',
    description: 'What it does',
    steps: 'Steps',
    changing: 'changing',
    waiting: 'Waiting for a second operator',
    noneWaiting: 'No gate is waiting.',
    requested: 'Asked by',
    at: 'At',
    run: 'Run',
    step: 'Step',
    approve: 'Approve',
    reject: 'Reject',
    reason: 'Reason',
    runs: 'Past runs',
    noRuns: 'No runs yet.',
    status: 'Status',
    who: 'Who',
    started: 'Started',
    failedAt: 'Failed at',
    log: 'Run log',
    event: 'Event',
    detail: 'Detail',
    approved: (id: number) => `approval ${id} given`,
    rejected: (id: number) => `approval ${id} rejected`,
    cli: 'Run them with egov-ops playbook run NAME (see egov-ops playbook show NAME).',
  },
  'zh-CN': {
    title: '运维手册',
    runbooks: '运维手册',
    name: '名称',
    description: '作用',
    steps: '步骤',
    changing: '有变更',
    waiting: '等待第二名操作员审批',
    noneWaiting: '没有等待审批的关卡。',
    requested: '申请人',
    at: '时间',
    run: '运行',
    step: '步骤',
    approve: '批准',
    reject: '驳回',
    reason: '理由',
    runs: '历史运行',
    noRuns: '尚无运行记录。',
    status: '状态',
    who: '执行人',
    started: '开始时间',
    failedAt: '失败步骤',
    log: '运行日志',
    event: '事件',
    detail: '详情',
    approved: (id: number) => `已批准审批 ${id}`,
    rejected: (id: number) => `已驳回审批 ${id}`,
    cli: '用 egov-ops playbook run 名称 运行（参数见 egov-ops playbook show 名称）。',
  },
} as const;

const STYLE = `.runbooks td.mono,.runbooks .mono{font-family:ui-monospace,monospace;font-size:.85em}.runbooks form.inline{display:inline}.runbooks td pre{white-space:pre-wrap;margin:0;max-width:60em}`;

const canOperate = (request: FastifyRequest) => OPERATE.roles.some((r) => request.principal?.activeRoles.includes(r));

export async function playbookPages(app: FastifyInstance, { database, dataDir }: PlaybookPagesOptions): Promise<void> {
  const approvals = new Approvals(database);
  app.console.addSection({ id: 'runbooks', href: '/runbooks', label: { en: WORDS.en.title, 'zh-CN': WORDS['zh-CN'].title }, roles: VIEW.roles, order: 90 });
  app.console.addStyle(STYLE);
  app.setErrorHandler(pageErrorHandler('/runbooks'));

  app.get('/runbooks', { config: VIEW, preHandler: ensureSession }, async (request, reply) => {
    const lang: Language = pageLanguage(request);
    const t = WORDS[lang];
    const waiting = await approvals.list({ state: 'waiting' });
    const runs = listRuns(dataDir).slice(0, 100);
    const books = `<section id="runbook-list"><h2>${esc(t.runbooks)}</h2><p>${esc(t.cli)}</p><table><thead><tr><th>${esc(t.name)}</th><th>${esc(t.description)}</th><th>${esc(t.steps)}</th></tr></thead><tbody>${RUNBOOKS.map((r) => `<tr id="runbook-${esc(r.name)}"><td class="mono">${esc(r.name)}</td><td>${esc(r.description)}</td><td>${r.steps.length} (${r.steps.filter((s) => s.changes).length} ${esc(t.changing)})</td></tr>`).join('')}</tbody></table></section>`;
    const gates = `<section id="waiting"><h2>${esc(t.waiting)}</h2>${
      waiting.length
        ? `<table><thead><tr><th>#</th><th>${esc(t.run)}</th><th>${esc(t.step)}</th><th>${esc(t.requested)}</th><th>${esc(t.at)}</th><th></th></tr></thead><tbody>${waiting
            .map(
              (a) =>
                `<tr id="approval-${a.id}"><td>${a.id}</td><td class="mono"><a href="/runbooks/runs/${esc(a.runId)}">${esc(a.runId)}</a></td><td>${esc(a.step)}: ${esc(a.summary)}</td><td>${esc(a.requestedBy)}</td><td>${esc(a.requestedAt)}</td><td>${
                  canOperate(request)
                    ? ['approve', 'reject'].map((verb) => `<form class="inline" method="post" action="/runbooks/approvals/${a.id}/${verb}">${csrfField(request)}<input name="reason" placeholder="${esc(t.reason)}" maxlength="1024"><button id="${verb}-${a.id}">${esc(verb === 'approve' ? t.approve : t.reject)}</button></form>`).join(' ')
                    : ''
                }</td></tr>`,
            )
            .join('')}</tbody></table>`
        : `<p id="none-waiting">${esc(t.noneWaiting)}</p>`
    }</section>`;
    const past = `<section id="runs"><h2>${esc(t.runs)}</h2>${
      runs.length
        ? `<table><thead><tr><th>${esc(t.run)}</th><th>${esc(t.status)}</th><th>${esc(t.who)}</th><th>${esc(t.started)}</th><th>${esc(t.failedAt)}</th></tr></thead><tbody>${runs
            .map((r) => `<tr id="run-${esc(r.runId)}"><td class="mono"><a href="/runbooks/runs/${esc(r.runId)}">${esc(r.runId)}</a></td><td>${esc(r.status)}</td><td>${esc(r.who)}</td><td>${esc(r.startedAt)}</td><td>${esc(r.failedStep ?? '')}</td></tr>`)
            .join('')}</tbody></table>`
        : `<p id="no-runs">${esc(t.noRuns)}</p>`
    }</section>`;
    return sendPage(reply, consolePage(request, { title: t.title, section: 'runbooks', flash: flashOf(request), body: `<div class="runbooks">${gates}${books}${past}</div>` }));
  });

  app.get<{ Params: { id: string } }>('/runbooks/runs/:id', { config: VIEW, preHandler: ensureSession }, async (request, reply) => {
    const t = WORDS[pageLanguage(request)];
    const events = readRunEvents(runLogById(dataDir, request.params.id));
    const rows = events
      .map((e) => {
        const { at, event, runId: _r, step, ...rest } = e;
        const detail = event === 'command' ? `${String(rest.command)} → ${String(rest.exitCode)} (${String(rest.ms)} ms)\n${String(rest.stdout ?? '')}${rest.stderr ? `\n${String(rest.stderr)}` : ''}` : JSON.stringify(rest, null, 1);
        return `<tr><td class="mono">${esc(at)}</td><td>${esc(event)}</td><td>${esc(step ?? '')}</td><td><pre>${esc(detail.trim())}</pre></td></tr>`;
      })
      .join('');
    return sendPage(reply, consolePage(request, { title: `${t.log}: ${request.params.id}`, section: 'runbooks', body: `<div class="runbooks"><p><a href="/runbooks">← ${esc(t.runbooks)}</a></p><table id="run-log"><thead><tr><th>${esc(t.at)}</th><th>${esc(t.event)}</th><th>${esc(t.step)}</th><th>${esc(t.detail)}</th></tr></thead><tbody>${rows}</tbody></table></div>` }));
  });

  for (const verb of ['approve', 'reject'] as const) {
    app.post<{ Params: { id: string }; Body: { reason?: string } }>(`/runbooks/approvals/:id/${verb}`, { config: OPERATE }, async (request, reply) => {
      const t = WORDS[pageLanguage(request)];
      if (!/^\d{1,12}$/.test(request.params.id)) throw new EgovError('not-found', `no approval ${request.params.id}`);
      const reason = typeof request.body?.reason === 'string' && request.body.reason.trim() ? request.body.reason.trim().slice(0, 1024) : undefined;
      const decided = await approvals.decide(Number(request.params.id), verb === 'approve' ? 'approved' : 'rejected', approverOf(request), reason);
      return redirectWith(reply, '/runbooks', 'ok', verb === 'approve' ? t.approved(decided.id) : t.rejected(decided.id));
    });
  }
}
