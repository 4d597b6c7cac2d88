// Console pages of the security officer: audits (overview with score,
// conclusion, high risks, categories and trend; a run's items; an item with
// its evidence and the attest/waive forms; report downloads), backups and
// drills (status, the DR level and why it is not higher), and the audit log
// (search, verify). Chinese and English, in the console's one frame.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { BackupService } from '../backup/index.js';
import { LONG_HANDLER_TIMEOUT_MS, actorOf, consolePage, csrfField, ensureSession, esc, flashOf, listAudit, pageErrorHandler, pageLanguage, redirectWith, sendPage, verifyAuditLog, type Database } from '../core/index.js';
import { statusText } from './report.js';
import { trendOf } from './routes.js';
import type { AuditService, RunView } from './service.js';
import { announceRun } from './watch.js';

export interface AuditPagesOptions {
  service: AuditService;
  database: Database;
  backup?: BackupService;
}

const READERS = { roles: ['security-officer', 'auditor'] as const };
const OFFICER = { roles: ['security-officer'] as const };

const STYLE = `.score{font-size:2rem;font-weight:bold}.grade{font-size:2rem;margin-left:1rem}.st-pass{color:#106010}.st-fail{color:#b00020;font-weight:bold}.st-partial{color:#a05a00}.risk{color:#b00020}pre.ev{white-space:pre-wrap;background:#f2f3f5;padding:.3rem;font-size:.8rem}.label{background:#fff3cd;padding:.4rem;border:1px solid #e0c060}`;

function words(request: FastifyRequest) {
  const zh = pageLanguage(request) !== 'en';
  return { zh, t: (z: string, e: string) => (zh ? z : e) };
}

const isOfficer = (request: FastifyRequest) => !!request.principal?.activeRoles.includes('security-officer');

export async function auditPages(app: FastifyInstance, options: AuditPagesOptions): Promise<void> {
  const { service, database } = options;
  app.console.addSection({ id: 'audits', href: '/audits', label: { en: 'Audits', 'zh-CN': '等级保护' }, roles: ['security-officer', 'auditor'], order: 60 });
  app.console.addSection({ id: 'backups', href: '/backups', label: { en: 'Backups', 'zh-CN': '备份与演练' }, roles: ['security-officer', 'auditor'], order: 70 });
  app.console.addSection({ id: 'audit-log', href: '/audit-log', label: { en: 'Audit log', 'zh-CN': '审计日志' }, roles: ['security-officer', 'auditor'], order: 80 });
  app.console.addStyle(STYLE);
  app.setErrorHandler(pageErrorHandler('/audits'));

  const runSummary = (request: FastifyRequest, run: RunView, trend: Awaited<ReturnType<typeof trendOf>>) => {
    const { zh, t } = words(request);
    const s = run.summary;
    const risks = s.highRisks.length ? `<ul id="high-risks">${s.highRisks.map((h) => `<li class="risk">${esc(zh ? h.zh : h.en)}: ${h.items.map((c) => `<a href="/audits/items/${esc(c)}?run=${run.id}">${esc(c)}</a>`).join(', ')}${h.waived ? ` (${t('已豁免', 'waived')})` : ''}</li>`).join('')}</ul>` : `<p id="high-risks">${t('无高风险问题', 'No high risk')}</p>`;
    const cats = s.categories.map((c) => `<tr><td>${esc(zh ? c.zh : c.en)} (${c.code})</td><td>${c.score ?? '-'}</td><td>${c.counts.pass}</td><td>${c.counts.partial}</td><td>${c.counts.fail}</td><td>${c.counts['manual-pending']}</td><td>${c.counts.na}</td></tr>`).join('');
    const tr = trend.map((p) => `<tr><td><a href="/audits/runs/${p.id}">#${p.id}</a></td><td>${esc(p.startedAt.slice(0, 16).replace('T', ' '))}</td><td>${p.score ?? '-'}</td><td>${esc(p.conclusion)}</td><td>${p.highRisks}</td></tr>`).join('');
    const downloads = (['html', 'pdf', 'json', 'csv'] as const).map((f) => `<a href="/api/audit/runs/${run.id}/report?format=${f}&lang=${zh ? 'zh-CN' : 'en'}" id="report-${f}">${f.toUpperCase()}</a>`).join(' · ');
    return `<p class="label">${esc(zh ? s.scoring.label.zh : s.scoring.label.en)} — ${esc(zh ? s.scoring.name.zh : s.scoring.name.en)}</p>
<p>${t('定级对象', 'System')} <b id="system">${esc(run.system)}</b>, ${t('等级', 'level')} ${run.level}, <a href="/audits/runs/${run.id}">#${run.id}</a> ${esc(run.startedAt.slice(0, 19).replace('T', ' '))}</p>
<p><span class="score" id="score">${run.score ?? '-'}</span><span class="grade" id="conclusion">${esc(run.conclusion)}</span> <small>${esc(zh ? s.scoring.rule.zh : s.scoring.rule.en)}</small></p>
<h2>${t('高风险', 'High risks')}</h2>${risks}
<h2>${t('安全类', 'Categories')}</h2><table id="categories"><thead><tr><th>${t('安全类', 'category')}</th><th>${t('得分', 'score')}</th><th>${t('符合', 'pass')}</th><th>${t('部分符合', 'partial')}</th><th>${t('不符合', 'fail')}</th><th>${t('待核查', 'pending')}</th><th>${t('不适用', 'n/a')}</th></tr></thead><tbody>${cats}</tbody></table>
<h2>${t('趋势', 'Trend')}</h2><table id="trend"><thead><tr><th>#</th><th>${t('时间', 'date')}</th><th>${t('得分', 'score')}</th><th>${t('结论', 'conclusion')}</th><th>${t('高风险', 'high risks')}</th></tr></thead><tbody>${tr}</tbody></table>
<h2>${t('报告下载', 'Reports')}</h2><p>${downloads}</p>`;
  };

  app.get('/audits', { config: READERS, preHandler: ensureSession }, async (request, reply) => {
    const { t } = words(request);
    const runs = await service.listRuns({ limit: 200 });
    const latest = [...new Map(runs.map((r) => [r.system, r])).values()];
    let body = '';
    for (const r of latest.slice(0, 5)) body += runSummary(request, await service.getRun(r.id), await trendOf(service, r.system, r.id)) + '<hr>';
    if (!latest.length) body += `<p id="no-runs">${t('尚未进行评估。', 'No audit has run yet.')}</p>`;
    const systems = await service.listSystems();
    const form = isOfficer(request)
      ? `<form method="post" action="/audits/run" id="run-form">${csrfField(request)}<label>${t('定级对象', 'System')} <select name="system"><option value="">egov-ops (${t('本系统全部资产', 'the suite and all assets')})</option>${systems.map((s) => `<option>${esc(s.name)}</option>`).join('')}</select></label> <label>${t('等级', 'Level')} <select name="level"><option>3</option><option>2</option></select></label> <button id="run">${t('开始评估', 'Run an audit')}</button></form>`
      : '';
    return sendPage(reply, consolePage(request, { title: t('等级保护测评（自评估）', 'Grade-protection audits (self-assessment)'), body: form + body, section: 'audits', flash: flashOf(request) }));
  });

  app.post<{ Body: { system?: string; level?: string } }>('/audits/run', { config: OFFICER, handlerTimeout: LONG_HANDLER_TIMEOUT_MS }, async (request, reply) => {
    const b = request.body ?? {};
    const run = await service.run({ ...(b.system ? { system: b.system } : {}), ...(b.system ? {} : { level: b.level ?? '3' }) }, actorOf(request));
    await announceRun(service, run);
    return redirectWith(reply, `/audits/runs/${run.id}`, 'ok', `#${run.id}: ${run.score ?? '-'} ${run.conclusion}`);
  });

  app.get<{ Params: { id: string } }>('/audits/runs/:id', { config: READERS, preHandler: ensureSession }, async (request, reply) => {
    const { zh, t } = words(request);
    const run = await service.getRun(request.params.id);
    const rows = run.results.map((r) => `<tr><td><a href="/audits/items/${esc(r.code)}?run=${run.id}">${esc(r.code)}</a></td><td>${esc(zh ? r.controlPoint.zh : r.controlPoint.en)}</td><td>${esc(zh ? r.zh : r.en)}</td><td class="st-${esc(r.status)}" data-code="${esc(r.code)}">${esc(statusText(r.status, zh ? 'zh-CN' : 'en'))}</td></tr>`).join('');
    const body = runSummary(request, run, await trendOf(service, run.system, run.id)) + `<h2>${t('测评项', 'Items')}</h2><table id="items"><tbody>${rows}</tbody></table>`;
    return sendPage(reply, consolePage(request, { title: `${t('评估', 'Audit run')} #${run.id}`, body, section: 'audits', flash: flashOf(request) }));
  });

  app.get<{ Params: { code: string }; Querystring: { run?: string } }>('/audits/items/:code', { config: READERS, preHandler: ensureSession }, async (request, reply) => {
    const { zh, t } = words(request);
    const item = service.item(request.params.code);
    const run = request.query.run ? await service.getRun(request.query.run) : undefined;
    const result = run?.results.find((r) => r.code === item.code);
    const evidence = result
      ? `<p>${t('结果', 'Result')}: <b id="item-status" class="st-${esc(result.status)}">${esc(statusText(result.status, zh ? 'zh-CN' : 'en'))}</b> — ${esc(result.basis)}</p>${result.checks.map((c) => `<div class="check"><b>${esc(c.collector)}</b> @ ${esc(c.target)}: ${esc(statusText(c.status, zh ? 'zh-CN' : 'en'))} — ${esc(c.summary)} <small>v${esc(c.version)} ${esc(c.at)}</small><pre class="ev">${esc(c.evidence.map((e) => `${e.source}${e.line ? `:${e.line}` : ''}  ${e.text}`).join('\n'))}</pre>${c.hint && c.status !== 'pass' ? `<p>${t('整改建议', 'Remediation')}: ${esc(c.hint)}</p>` : ''}</div>`).join('')}`
      : '';
    const remedies = result?.remedies?.length
      ? `<h2>${t('整改参考', 'What fixes it')}</h2><ul id="remedies">${result.remedies.map((m) => `<li>${m.kind === 'runbook' ? `${t('运维手册', 'Runbook')} <a class="remedy" id="remedy-runbook-${esc(m.id)}" href="/runbooks#runbook-${esc(m.id)}">${esc(m.id)}</a>` : `${t('知识库文章', 'Knowledge-base article')} <a class="remedy" id="remedy-kb-${esc(m.id)}" href="/kb/articles/${esc(m.id)}">${esc(m.id)}</a>`} <small>(${esc(m.collector)})</small></li>`).join('')}</ul>`
      : '';
    const findings = await service.findings({ code: item.code });
    const files = await service.attachmentInfo(findings.flatMap((f) => f.attachments));
    const fileLink = (sha: string) => {
      const info = files.get(sha);
      return ` <a class="attachment" id="attachment-${esc(sha.slice(0, 12))}" href="/api/audit/attachments/${esc(sha)}" download="${esc(info?.name ?? sha)}" title="SHA-256 ${esc(sha)}">${esc(info?.name ?? sha.slice(0, 12))}</a>${info ? ` <small>(${esc(info.mediaType)}, ${info.size} B, <code>${esc(sha.slice(0, 12))}</code>)</small>` : ''}`;
    };
    const list = findings.length ? `<ul id="findings">${findings.map((f) => `<li>${f.kind === 'waiver' ? t('豁免', 'waiver') : t('核查', 'attestation')} #${f.id}: ${esc(f.result ?? '')} ${esc(f.note)} — ${esc(f.recordedBy)}, ${t('有效至', 'until')} ${esc(f.validUntil.slice(0, 10))}${f.attachments.map(fileLink).join('')}</li>`).join('')}</ul>` : '';
    const back = `<input type="hidden" name="_back" value="${esc(request.url)}">`;
    const forms = isOfficer(request)
      ? `<h2>${t('记录核查结果', 'Attest')}</h2><form method="post" action="/audits/attest" id="attest-form">${csrfField(request)}${back}<input type="hidden" name="code" value="${esc(item.code)}"><select name="result"><option value="pass">${t('符合', 'pass')}</option><option value="partial">${t('部分符合', 'partial')}</option><option value="fail">${t('不符合', 'fail')}</option><option value="na">${t('不适用', 'n/a')}</option></select> <input name="note" placeholder="${t('核查说明', 'what was checked')}"> <input name="until" type="date"> <button id="attest">${t('保存', 'Save')}</button></form>
<h2>${t('豁免（接受该问题）', 'Waive (accept the failure)')}</h2><form method="post" action="/audits/waive" id="waive-form">${csrfField(request)}${back}<input type="hidden" name="code" value="${esc(item.code)}"><input name="reason" placeholder="${t('理由', 'reason')}"> <input name="until" type="date"> <button id="waive">${t('豁免', 'Waive')}</button></form>`
      : '';
    const body = `<p>${esc(zh ? item.controlPoint.zh : item.controlPoint.en)} · ${t('权重', 'weight')} ${item.weight} · ${item.manual ? t('人工核查', 'manual') : esc(item.collectors.join(', '))}</p><p id="requirement">${esc(zh ? item.zh : item.en)}</p>${evidence}${remedies}${list}${forms}`;
    return sendPage(reply, consolePage(request, { title: item.code, body, section: 'audits', flash: flashOf(request) }));
  });

  app.post<{ Body: { code: string; result: string; note: string; until: string; _back?: string } }>('/audits/attest', { config: OFFICER }, async (request, reply) => {
    const b = request.body;
    const f = await service.attest({ code: b.code, result: b.result, note: b.note, until: b.until }, actorOf(request));
    return redirectWith(reply, b._back?.startsWith('/audits/') ? b._back : `/audits/items/${f.code}`, 'ok', `#${f.id} ${f.code} ${f.result}`);
  });
  app.post<{ Body: { code: string; reason: string; until: string; _back?: string } }>('/audits/waive', { config: OFFICER }, async (request, reply) => {
    const b = request.body;
    const f = await service.waive({ code: b.code, reason: b.reason, until: b.until }, actorOf(request));
    return redirectWith(reply, b._back?.startsWith('/audits/') ? b._back : `/audits/items/${f.code}`, 'ok', `#${f.id} ${f.code}`);
  });

  app.get('/backups', { config: READERS, preHandler: ensureSession }, async (request, reply) => {
    const { zh, t } = words(request);
    if (!options.backup) return sendPage(reply, consolePage(request, { title: t('备份与演练', 'Backups and drills'), body: `<p>${t('未配置备份。', 'Backups are not configured.')}</p>`, section: 'backups' }));
    const s = await options.backup.status();
    const rows = s.targets.map((x) => `<tr><td>${esc(x.target)}</td><td>${esc(x.kind)}${x.offsite ? ` (${t('异地', 'off-site')})` : ''}</td><td>${esc(x.lastRun ? `${x.lastRun.endedAt.slice(0, 16)} ${x.lastRun.status}` : t('从未', 'never'))}</td><td>${esc(x.lastDrill ? `${x.lastDrill.at.slice(0, 16)} ${x.lastDrill.ok ? t('通过', 'passed') : t('失败', 'failed')}` : t('从未', 'never'))}</td><td>${x.rpoHoursNow ?? '-'} / ${x.objectives.rpoHours} h</td><td>${x.rtoHoursAchieved ?? '-'} / ${x.objectives.rtoHours} h</td></tr>`).join('');
    const dr = s.drLevel;
    const why = dr.nextLevel ? `<p>${t(`未达到第 ${dr.nextLevel.level} 级（${dr.nextLevel.name}），原因：`, `Level ${dr.nextLevel.level} (${dr.nextLevel.name}) is not reached because:`)}</p><ul id="dr-missing">${dr.nextLevel.missing.map((m) => `<li>${esc(m)}</li>`).join('')}</ul>` : '';
    const body = `<table id="targets"><thead><tr><th>${t('目标', 'target')}</th><th>${t('类型', 'kind')}</th><th>${t('最近备份', 'last backup')}</th><th>${t('最近演练', 'last drill')}</th><th>RPO</th><th>RTO</th></tr></thead><tbody>${rows}</tbody></table>
<h2>${t('灾难恢复能力等级', 'Disaster-recovery capability level')}</h2><p><span class="score" id="dr-level">${dr.level}</span> ${esc(zh ? (dr.nameZh ?? '') : (dr.name ?? ''))} <small>${esc(dr.edition)}</small></p>${why}`;
    return sendPage(reply, consolePage(request, { title: t('备份与演练', 'Backups and drills'), body, section: 'backups', flash: flashOf(request) }));
  });

  app.get<{ Querystring: { action?: string; actor?: string; since?: string } }>('/audit-log', { config: READERS, preHandler: ensureSession }, async (request, reply) => {
    const { t } = words(request);
    const q = request.query;
    const records = await listAudit(database, { ...(q.action ? { action: q.action } : {}), ...(q.actor ? { actor: q.actor } : {}), ...(q.since ? { since: q.since } : {}), limit: 200 });
    const rows = records.map((r) => `<tr><td>${r.id}</td><td>${esc(r.at.slice(0, 19).replace('T', ' '))}</td><td>${esc(r.actor)}</td><td>${esc(r.action)}</td><td>${esc(r.object)}</td><td>${esc(r.outcome)}</td></tr>`).join('');
    const form = `<form method="get" action="/audit-log" id="search"><input name="action" placeholder="${t('操作，如 audit.run', 'action, e.g. audit.run')}" value="${esc(q.action ?? '')}"> <input name="actor" placeholder="${t('操作者', 'actor')}" value="${esc(q.actor ?? '')}"> <input name="since" placeholder="2026-01-01" value="${esc(q.since ?? '')}"> <button id="search-button">${t('查询', 'Search')}</button></form>
<form method="post" action="/audit-log/verify" id="verify-form">${csrfField(request)}<button id="verify">${t('校验哈希链', 'Verify the chain')}</button></form>`;
    return sendPage(reply, consolePage(request, { title: t('审计日志', 'Audit log'), body: `${form}<table id="records"><thead><tr><th>#</th><th>${t('时间', 'time')}</th><th>${t('操作者', 'actor')}</th><th>${t('操作', 'action')}</th><th>${t('对象', 'object')}</th><th>${t('结果', 'outcome')}</th></tr></thead><tbody>${rows}</tbody></table>`, section: 'audit-log', flash: flashOf(request) }));
  });
  app.post('/audit-log/verify', { config: READERS }, async (request, reply) => {
    const { t } = words(request);
    const result = await verifyAuditLog(database);
    return result.ok
      ? redirectWith(reply, '/audit-log', 'ok', t(`哈希链完整：${result.records} 条记录`, `chain intact: ${result.records} records`))
      : redirectWith(reply, '/audit-log', 'error', t(`哈希链在第 ${result.firstBreak?.id} 条断开：${result.firstBreak?.reason}`, `chain broken at record ${result.firstBreak?.id}: ${result.firstBreak?.reason}`));
  });
}
