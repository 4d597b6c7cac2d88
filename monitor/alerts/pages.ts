// Console pages of the alerts, in English and Chinese:
//   GET  /alerts              the list, live first, with filters and severity colours
//   GET  /alerts/:id          one alert: timeline, matched articles, seen before; ack, resolve, silence
//   POST /alerts/:id/ack|resolve|silence
//   GET  /maintenance         the windows, and a form for a new one
//   POST /maintenance
// Plus `firingBanner`, which the status page shows at its top.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { consolePage, csrfField, EgovError, ensureSession, esc, flashOf, pageErrorHandler, pageLanguage, redirectWith, sendPage, type Language } from '../../core/index.js';
import { ALERT_STATES, type Alert, type AlertState } from './engine.js';
import { ALERT_SEVERITIES, parseDuration, SEVERITY_NAMES, type AlertSeverity } from './rules.js';
import { parseMatcher, type AlertService } from './service.js';

export interface AlertPagesOptions {
  alerts: AlertService;
}

const VIEW = { roles: ['network-admin', 'auditor', 'security-officer'] as const };
const ADMIN = { roles: ['network-admin'] as const };

const WORDS = {
  en: {
    alerts: 'Alerts', maintenance: 'Maintenance windows', state: 'State', severity: 'Severity', rule: 'Rule', node: 'Node', site: 'Site', since: 'Since', summary: 'What', any: 'any', filter: 'Filter',
    none: 'No alerts.', timeline: 'Timeline', articles: 'Knowledge base', noArticles: 'No matching article.', seenBefore: 'Seen before', times: (n: number) => `${n} times`, never: 'never before',
    ack: 'Acknowledge', comment: 'Comment', resolve: 'Resolve', note: 'What was done', silence: 'Silence', matchers: 'Matchers (KEY=VALUE, one per line)', duration: 'For (30m, 2h, 1d)', reason: 'Reason',
    folded: (n: number) => `${n} alerts behind it are folded into this one`, foldedInto: 'Folded into alert', ackedBy: 'Acknowledged by', muted: 'Not notified', firingNow: (n: number) => `${n} alerts firing`, all: 'all alerts',
    states: { pending: 'pending', firing: 'firing', acknowledged: 'acknowledged', resolved: 'resolved' } as Record<AlertState, string>,
    scope: 'Covers', target: 'Node, site or zone', from: 'From', to: 'To', cron: 'or cron', add: 'Add window', by: 'By', noWindows: 'No maintenance windows.', lastFixed: 'last fixed by',
  },
  'zh-CN': {
    alerts: '告警', maintenance: '维护窗口', state: '状态', severity: '级别', rule: '规则', node: '节点', site: '站点', since: '开始', summary: '内容', any: '全部', filter: '筛选',
    none: '暂无告警。', timeline: '时间线', articles: '知识库', noArticles: '没有匹配的文章。', seenBefore: '历史发生', times: (n: number) => `${n} 次`, never: '以前未发生',
    ack: '确认', comment: '备注', resolve: '解决', note: '处理情况', silence: '静默', matchers: '匹配条件（KEY=VALUE，每行一条）', duration: '时长（30m、2h、1d）', reason: '原因',
    folded: (n: number) => `其下 ${n} 条告警已合并到此告警`, foldedInto: '已合并到告警', ackedBy: '确认人', muted: '未通知', firingNow: (n: number) => `${n} 条告警正在发生`, all: '全部告警',
    states: { pending: '待定', firing: '告警中', acknowledged: '已确认', resolved: '已恢复' } as Record<AlertState, string>,
    scope: '范围', target: '节点、站点或区域', from: '开始', to: '结束', cron: '或 cron', add: '添加窗口', by: '设置人', noWindows: '暂无维护窗口。', lastFixed: '上次处理人',
  },
};

export const ALERT_STYLE = `.asev{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem;white-space:nowrap}
.asev-critical{background:#9b1c1c;color:#fff}.asev-major{background:#d9480f;color:#fff}.asev-minor{background:#f59f00;color:#1b1f24}
.asev-warning{background:#fff1dc;color:#8a4b00}.asev-info{background:#e8eef6;color:#12355b}
tr.st-resolved{color:#6b7580}.firing-banner{border:1px solid #9b1c1c;background:#fdf2f2;padding:.5rem .8rem;margin-bottom:1rem}
.alert-forms form{display:inline-block;vertical-align:top;margin:0 1rem 1rem 0}.alert-forms textarea{width:20rem}`;

const sev = (s: AlertSeverity, lang: Language) => `<span class="asev asev-${esc(s)}">${esc(SEVERITY_NAMES[s][lang])}</span>`;

function row(a: Alert, lang: Language): string {
  const t = WORDS[lang];
  return `<tr class="st-${esc(a.state)}" data-alert="${a.id}"><td><a href="/alerts/${a.id}" id="alert-${a.id}">#${a.id}</a></td><td>${sev(a.severity, lang)}</td><td class="state">${esc(t.states[a.state])}${a.mutedBy ? ` <span class="meta">(${esc(a.mutedBy)})</span>` : ''}</td><td>${esc(a.rule)}</td><td>${esc(a.node ?? '')}</td><td>${esc(a.site ?? '')}</td><td><time datetime="${esc(a.firedAt ?? a.startedAt)}">${esc((a.firedAt ?? a.startedAt).replace('T', ' ').slice(0, 19))}</time></td><td>${esc(a.summary)}</td></tr>`;
}

function table(alerts: readonly Alert[], lang: Language, id: string): string {
  const t = WORDS[lang];
  if (!alerts.length) return `<p id="${id}-empty">${esc(t.none)}</p>`;
  return `<table id="${id}"><thead><tr><th>#</th><th>${t.severity}</th><th>${t.state}</th><th>${t.rule}</th><th>${t.node}</th><th>${t.site}</th><th>${t.since}</th><th>${t.summary}</th></tr></thead><tbody>${alerts.map((a) => row(a, lang)).join('')}</tbody></table>`;
}

/** What the status page shows at its top: the alerts firing now (folded children left out). */
export async function firingBanner(alerts: AlertService, request: FastifyRequest): Promise<string> {
  const lang = pageLanguage(request);
  const t = WORDS[lang];
  const firing = (await alerts.list({ state: 'firing', limit: 200 })).filter((a) => a.foldedInto === null && !a.held);
  if (!firing.length) return '';
  return `<section class="firing-banner" id="firing-alerts"><b>${esc(t.firingNow(firing.length))}</b> · <a href="/alerts">${esc(t.all)} →</a>${table(firing.slice(0, 10), lang, 'firing-table')}</section>`;
}

const one = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

export async function alertPages(app: FastifyInstance, { alerts }: AlertPagesOptions): Promise<void> {
  app.console.addSection({ id: 'alerts', href: '/alerts', label: { en: 'Alerts', 'zh-CN': '告警' }, roles: VIEW.roles, order: 30 });
  app.console.addSection({ id: 'maintenance', href: '/maintenance', label: { en: 'Maintenance', 'zh-CN': '维护窗口' }, roles: VIEW.roles, order: 32 });
  app.console.addStyle(ALERT_STYLE);
  app.setErrorHandler(pageErrorHandler('/alerts'));

  app.get<{ Querystring: Record<string, string | undefined> }>('/alerts', { config: VIEW, preHandler: ensureSession }, async (request, reply) => {
    const lang = pageLanguage(request);
    const t = WORDS[lang];
    const q = request.query;
    const state = ALERT_STATES.includes(q.state as AlertState) ? (q.state as AlertState) : undefined;
    const severity = ALERT_SEVERITIES.includes(q.severity as AlertSeverity) ? (q.severity as AlertSeverity) : undefined;
    const node = one(q.node)?.slice(0, 128);
    const site = one(q.site)?.slice(0, 128);
    const list = await alerts.list({ ...(state ? { state } : {}), ...(severity ? { severity } : {}), ...(node ? { node } : {}), ...(site ? { site } : {}) });
    const option = (value: string, label: string, current?: string) => `<option value="${esc(value)}"${current === value ? ' selected' : ''}>${esc(label)}</option>`;
    const filters = `<form method="get" action="/alerts" id="alert-filters"><fieldset class="filters">
<label>${t.state} <select name="state" id="f-state">${option('', t.any, state ?? '')}${ALERT_STATES.map((s) => option(s, t.states[s], state)).join('')}</select></label>
<label>${t.severity} <select name="severity" id="f-severity">${option('', t.any, severity ?? '')}${ALERT_SEVERITIES.map((s) => option(s, SEVERITY_NAMES[s][lang], severity)).join('')}</select></label>
<label>${t.node} <input name="node" id="f-node" value="${esc(node ?? '')}" maxlength="128"></label>
<label>${t.site} <input name="site" id="f-site" value="${esc(site ?? '')}" maxlength="128"></label>
<button id="f-apply">${t.filter}</button></fieldset></form>`;
    return sendPage(reply, consolePage(request, { title: t.alerts, section: 'alerts', body: filters + table(list, lang, 'alerts-table'), flash: flashOf(request), refreshSeconds: 30 }));
  });

  app.get<{ Params: { id: string } }>('/alerts/:id', { config: VIEW, preHandler: ensureSession }, async (request, reply) => {
    const lang = pageLanguage(request);
    const t = WORDS[lang];
    if (!/^\d{1,15}$/.test(request.params.id)) throw new EgovError('not-found', `no alert ${request.params.id}`);
    const detail = await alerts.detail(Number(request.params.id));
    if (!detail) throw new EgovError('not-found', `no alert ${request.params.id}`);
    const a = detail.alert;
    const admin = request.principal?.activeRoles.includes('network-admin') ?? false;
    const facts = `<dl id="alert-facts"><dt>${t.severity}</dt><dd>${sev(a.severity, lang)}</dd><dt>${t.state}</dt><dd id="alert-state">${esc(t.states[a.state])}</dd>
<dt>${t.rule}</dt><dd>${esc(a.rule)}</dd><dt>${t.node}</dt><dd>${a.node ? `<a href="/status/nodes/${encodeURIComponent(a.node)}">${esc(a.node)}</a>` : '-'}</dd><dt>${t.site}</dt><dd>${esc(a.site ?? '-')}</dd>
<dt>${t.since}</dt><dd>${esc(a.firedAt ?? a.startedAt)}</dd><dt>${t.summary}</dt><dd id="alert-summary">${esc(a.summary)}</dd>
${Object.keys(a.labels).length ? `<dt>labels</dt><dd>${Object.entries(a.labels).map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`).join(' ')}</dd>` : ''}
${a.foldedInto ? `<dt>${t.foldedInto}</dt><dd><a href="/alerts/${a.foldedInto}">#${a.foldedInto}</a></dd>` : ''}
${a.ackBy ? `<dt>${t.ackedBy}</dt><dd id="alert-ack">${esc(a.ackBy)}: ${esc(a.ackComment)}</dd>` : ''}
${a.mutedBy ? `<dt>${t.muted}</dt><dd>${esc(a.mutedBy)}</dd>` : ''}</dl>${detail.folded ? `<p id="alert-folded">${esc(t.folded(detail.folded))}</p>` : ''}`;
    const articles = `<section id="alert-articles"><h2>${t.articles}</h2>${
      detail.articles.length
        ? `<ol>${detail.articles.map((m) => `<li><a href="/kb/articles/${encodeURIComponent(m.id)}" class="kb-article">${esc(lang === 'zh-CN' && m.titleZh ? m.titleZh : m.title)}</a> <span class="meta">${esc(m.reasons.join(', '))}</span></li>`).join('')}</ol>`
        : `<p>${t.noArticles}</p>`
    }</section>`;
    const seen = detail.seenBefore;
    const seenHtml = `<section id="alert-seen-before"><h2>${t.seenBefore}</h2>${
      seen && seen.count
        ? `<p>${esc(t.times(seen.count))}${seen.incidents[0] ? `, ${esc(t.lastFixed)} ${esc(seen.incidents[0].by)}${seen.incidents[0].note ? `: ${esc(seen.incidents[0].note)}` : ''}` : ''}</p><ul>${seen.incidents.map((i) => `<li>${esc(i.startedAt)} → ${esc(i.resolvedAt)} (${Math.round(i.durationMs / 60_000)} min) ${esc(i.by)}${i.note ? `: ${esc(i.note)}` : ''}</li>`).join('')}</ul>`
        : `<p>${t.never}</p>`
    }</section>`;
    const timeline = `<section><h2>${t.timeline}</h2><table id="alert-timeline"><tbody>${detail.timeline.map((e) => `<tr><td><time datetime="${esc(e.at)}">${esc(e.at.replace('T', ' ').slice(0, 19))}</time></td><td>${esc(e.kind)}</td><td>${esc(e.actor)}</td><td>${esc(e.text)}</td></tr>`).join('')}</tbody></table></section>`;
    const live = a.state !== 'resolved';
    const forms =
      admin && live
        ? `<section class="alert-forms">${a.state === 'firing' ? `<form method="post" action="/alerts/${a.id}/ack" id="ack-form">${csrfField(request)}<label>${t.comment}<br><textarea name="comment" id="ack-comment" required maxlength="2000"></textarea></label><br><button id="ack">${t.ack}</button></form>` : ''}
<form method="post" action="/alerts/${a.id}/resolve" id="resolve-form">${csrfField(request)}<label>${t.note}<br><textarea name="note" id="resolve-note" maxlength="8000"></textarea></label><br><button id="resolve">${t.resolve}</button></form>
<form method="post" action="/alerts/${a.id}/silence" id="silence-form">${csrfField(request)}<label>${t.matchers}<br><textarea name="match" id="silence-match">alertname=${esc(a.rule)}${a.node ? `\nnode=${esc(a.node)}` : ''}</textarea></label><br><label>${t.duration} <input name="for" id="silence-for" value="2h" maxlength="20"></label><br><label>${t.reason} <input name="reason" id="silence-reason" required maxlength="1000"></label><br><button id="silence">${t.silence}</button></form></section>`
        : '';
    return sendPage(reply, consolePage(request, { title: `${t.alerts} #${a.id}: ${a.rule}${a.node ? ` · ${a.node}` : ''}`, section: 'alerts', body: facts + forms + articles + seenHtml + timeline, flash: flashOf(request) }));
  });

  const actor = (request: FastifyRequest) => ({ actor: request.principal?.name ?? 'anonymous', source: request.ip });
  app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>('/alerts/:id/ack', { config: ADMIN }, async (request, reply) => {
    const alert = await alerts.acknowledge(Number(request.params.id), request.body.comment ?? '', actor(request));
    return redirectWith(reply, `/alerts/${alert.id}`, 'ok', `#${alert.id}: ${alert.state}`);
  });
  app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>('/alerts/:id/resolve', { config: ADMIN }, async (request, reply) => {
    const alert = await alerts.resolve(Number(request.params.id), request.body.note ?? '', actor(request));
    return redirectWith(reply, `/alerts/${alert.id}`, 'ok', `#${alert.id}: ${alert.state}`);
  });
  app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>('/alerts/:id/silence', { config: ADMIN }, async (request, reply) => {
    const matchers = (request.body.match ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map(parseMatcher);
    const silence = await alerts.silence({ matchers, forMs: parseDuration(request.body.for ?? '', 'for'), reason: request.body.reason ?? '' }, actor(request));
    return redirectWith(reply, `/alerts/${request.params.id}`, 'ok', `silence ${silence.id} → ${silence.endsAt}`);
  });

  app.get('/maintenance', { config: VIEW, preHandler: ensureSession }, async (request, reply) => {
    const lang = pageLanguage(request);
    const t = WORDS[lang];
    const windows = await alerts.engine.maintenance();
    const admin = request.principal?.activeRoles.includes('network-admin') ?? false;
    const list = windows.length
      ? `<table id="maintenance-table"><thead><tr><th>#</th><th>${t.scope}</th><th>${t.from}</th><th>${t.to}</th><th>${t.by}</th><th>${t.reason}</th></tr></thead><tbody>${windows
          .map((w) => `<tr><td>${w.id}</td><td>${esc(w.scope)} ${esc(w.target)}</td><td>${esc(w.cron ?? w.startsAt)}</td><td>${esc(w.cron ? `${w.durationMs! / 60_000} min` : w.endsAt)}</td><td>${esc(w.createdBy)}</td><td>${esc(w.reason)}</td></tr>`)
          .join('')}</tbody></table>`
      : `<p id="maintenance-empty">${t.noWindows}</p>`;
    const form = admin
      ? `<form method="post" action="/maintenance" id="maintenance-form">${csrfField(request)}<fieldset class="filters"><label>${t.scope} <select name="scope" id="m-scope"><option value="node">node</option><option value="site">site</option><option value="zone">zone</option></select></label>
<label>${t.target} <input name="target" id="m-target" required maxlength="128"></label><label>${t.from} <input name="from" id="m-from" placeholder="2026-12-07T22:00:00+08:00"></label><label>${t.to} <input name="to" id="m-to"></label>
<label>${t.cron} <input name="cron" id="m-cron" placeholder="0 2 * * 6"></label><label>${t.duration} <input name="duration" id="m-duration"></label><label>${t.reason} <input name="reason" id="m-reason" required maxlength="1000"></label><button id="m-add">${t.add}</button></fieldset></form>`
      : '';
    return sendPage(reply, consolePage(request, { title: t.maintenance, section: 'maintenance', body: form + list, flash: flashOf(request) }));
  });
  app.post<{ Body: Record<string, string | undefined> }>('/maintenance', { config: ADMIN }, async (request, reply) => {
    const b = request.body;
    const scope = b.scope === 'site' || b.scope === 'zone' ? b.scope : 'node';
    const w = await alerts.addMaintenance(
      { scope, target: b.target ?? '', ...(one(b.from) ? { from: b.from! } : {}), ...(one(b.to) ? { to: b.to! } : {}), ...(one(b.cron) ? { cron: b.cron! } : {}), ...(one(b.duration) ? { durationMs: parseDuration(b.duration, 'duration') } : {}), reason: b.reason ?? '' },
      actor(request),
    );
    return redirectWith(reply, '/maintenance', 'ok', `#${w.id}`);
  });
}
