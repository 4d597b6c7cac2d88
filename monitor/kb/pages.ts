// The knowledge base in the console (section `kb`, order 40), English and
// Chinese, server-rendered, no script:
//
//   GET  /kb                     browse (by state) and search
//   GET  /kb/review              drafts and articles waiting for review
//   GET  /kb/articles/:id        one article with its revisions and the review actions
//   GET  /kb/new, /kb/articles/:id/edit   the edit form
//   POST /kb/articles            save (new article or new revision)
//   POST /kb/articles/:id/(submit|publish|return)
//
// Network administrators write, review and publish (never their own text);
// auditors and security officers read.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { consolePage, ensureSession, esc, flashOf, pageErrorHandler, pageLanguage, redirectWith, sendPage, csrfField } from '../../core/console/index.js';
import { EgovError } from '../../core/errors.js';
import { ARTICLE_ID_PATTERN, ARTICLE_STATES, DEVICE_KINDS, KNOWN_RULES, type Article, type ArticleInput, type ArticleState, type Bilingual } from './article.js';
import type { KnowledgeBase } from './knowledge-base.js';
import { personOf } from './routes.js';

export interface KbPagesOptions {
  kb: KnowledgeBase;
}

const READ = { roles: ['network-admin', 'auditor', 'security-officer'] as const };
const WRITE = { roles: ['network-admin'] as const };

const WORDS = {
  en: {
    section: 'Knowledge base',
    browse: 'Browse',
    review: 'Review',
    newArticle: 'New article',
    search: 'Search',
    searchHint: 'words in Chinese or English, e.g. 光衰, 端口, BGP',
    results: 'Results for',
    nothing: 'Nothing found.',
    none: 'No articles.',
    state: 'State',
    any: 'any',
    title: 'Title',
    author: 'Author',
    updated: 'Updated',
    revision: 'Revision',
    symptoms: 'Symptoms',
    cause: 'Cause',
    steps: 'Resolution',
    appliesTo: 'Applies to',
    rules: 'Alert rules',
    kinds: 'Device kinds',
    vendors: 'Vendors (sysObjectID prefixes)',
    logs: 'Log patterns (regular expressions)',
    traps: 'Trap OIDs',
    tags: 'Tags',
    runbook: 'Runbook',
    revisions: 'Revisions',
    at: 'When',
    by: 'Who',
    changes: 'What changed',
    comment: 'Comment',
    edit: 'Edit',
    save: 'Save',
    submit: 'Submit for review',
    publish: 'Publish',
    returnToDraft: 'Return to draft',
    onePerLine: 'one per line',
    commaSeparated: 'separated by commas',
    idHint: 'lower-case letters, digits and dashes; empty: made from the English title',
    state_draft: 'draft',
    state_review: 'in review',
    state_published: 'published',
    publishedBy: 'published by',
    waiting: 'Waiting for review',
    drafts: 'Drafts',
    ownText: 'You wrote part of this article: another network administrator publishes it.',
  },
  'zh-CN': {
    section: '知识库',
    browse: '浏览',
    review: '审核',
    newArticle: '新建文章',
    search: '搜索',
    searchHint: '中文或英文词语，例如 光衰、端口、BGP',
    results: '搜索结果：',
    nothing: '没有找到。',
    none: '暂无文章。',
    state: '状态',
    any: '全部',
    title: '标题',
    author: '作者',
    updated: '更新时间',
    revision: '版本',
    symptoms: '现象',
    cause: '原因',
    steps: '处理步骤',
    appliesTo: '适用范围',
    rules: '告警规则',
    kinds: '设备类型',
    vendors: '厂商（sysObjectID 前缀）',
    logs: '日志模式（正则表达式）',
    traps: '陷阱 OID',
    tags: '标签',
    runbook: '操作手册',
    revisions: '修订记录',
    at: '时间',
    by: '操作人',
    changes: '修改内容',
    comment: '说明',
    edit: '编辑',
    save: '保存',
    submit: '提交审核',
    publish: '发布',
    returnToDraft: '退回草稿',
    onePerLine: '每行一条',
    commaSeparated: '以逗号分隔',
    idHint: '小写字母、数字和连字符；留空则由英文标题生成',
    state_draft: '草稿',
    state_review: '待审核',
    state_published: '已发布',
    publishedBy: '发布人',
    waiting: '待审核',
    drafts: '草稿',
    ownText: '您参与编写了本文，需由其他网络管理员发布。',
  },
} as const;

type Words = (typeof WORDS)['en'];

const KB_STYLE = `.kb-state{display:inline-block;padding:0 .4rem;border-radius:3px;font-size:.8rem}
.kb-draft{background:#eceff2;color:#4a5560}.kb-review{background:#fff1dc;color:#8a4b00}.kb-published{background:#e3f4e8;color:#1e6b3a}
.kb-article section{margin:1rem 0}.kb-form textarea{width:100%;max-width:48rem}.kb-form input[type=text]{width:100%;max-width:48rem}
.kb-lang{color:#4a5560;font-size:.85rem}.kb-actions form{display:inline-block;margin-right:.5rem}`;

function ctx(request: FastifyRequest) {
  const lang = pageLanguage(request);
  return { lang, t: WORDS[lang] as Words, admin: request.principal?.activeRoles.includes('network-admin') ?? false };
}

const stateBadge = (t: Words, state: ArticleState) => `<span class="kb-state kb-${state}" data-state="${state}">${esc(t[`state_${state}`])}</span>`;

/** The text in the page's language, else the other one (marked). */
function pick(text: Bilingual, lang: 'en' | 'zh-CN'): string {
  const mine = lang === 'en' ? text.en : text.zh;
  const other = lang === 'en' ? text.zh : text.en;
  if (mine) return esc(mine);
  return other ? `${esc(other)} <span class="kb-lang">(${lang === 'en' ? '中文' : 'English'})</span>` : '';
}

const titleOf = (a: { title: string; titleZh?: string }, lang: 'en' | 'zh-CN') => (lang === 'zh-CN' && a.titleZh ? a.titleZh : a.title);

function subnav(t: Words, admin: boolean) {
  return [
    { href: '/kb', label: t.browse, id: 'kb-browse' },
    { href: '/kb/review', label: t.review, id: 'kb-review' },
    ...(admin ? [{ href: '/kb/new', label: t.newArticle, id: 'kb-new' }] : []),
  ];
}

const lines = (value: unknown) =>
  String(value ?? '')
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter(Boolean);
const commas = (value: unknown) =>
  String(value ?? '')
    .split(/[,，\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
const optionalText = (value: unknown) => (typeof value === 'string' && value.trim() ? value : undefined);

/** The edit form's fields as an article. */
export function formToArticle(body: Record<string, unknown>): ArticleInput & { comment?: string } {
  // One checkbox name per value: the console's form parser keeps one value per name.
  const rules = KNOWN_RULES.filter((rule) => body[`rule-${rule}`] !== undefined);
  const kinds = DEVICE_KINDS.filter((kind) => body[`kind-${kind}`] !== undefined);
  const input: ArticleInput & { comment?: string } = {
    title: { en: optionalText(body.titleEn), zh: optionalText(body.titleZh) } as Bilingual,
    symptoms: { en: optionalText(body.symptomsEn), zh: optionalText(body.symptomsZh) } as Bilingual,
    cause: { en: optionalText(body.causeEn), zh: optionalText(body.causeZh) } as Bilingual,
    steps: { en: lines(body.stepsEn), zh: lines(body.stepsZh) },
    appliesTo: { rules, kinds, sysObjectIds: commas(body.sysObjectIds), logPatterns: lines(body.logPatterns), trapOids: commas(body.trapOids) },
    tags: commas(body.tags),
  };
  for (const field of ['title', 'symptoms', 'cause'] as const) {
    const b = input[field] as Record<string, unknown>;
    for (const k of Object.keys(b)) if (b[k] === undefined) delete b[k];
  }
  const runbook = optionalText(body.runbook);
  if (runbook) input.runbook = runbook;
  const id = optionalText(body.id);
  if (id) input.id = id.trim();
  const comment = optionalText(body.comment);
  if (comment) input.comment = comment;
  return input;
}

export async function kbPages(app: FastifyInstance, options: KbPagesOptions): Promise<void> {
  const { kb } = options;
  app.console.addSection({ id: 'kb', href: '/kb', label: { en: 'Knowledge base', 'zh-CN': '知识库' }, roles: READ.roles, order: 40 });
  app.console.addStyle(KB_STYLE);
  app.setErrorHandler(pageErrorHandler('/kb'));

  const page = (request: FastifyRequest, title: string, body: string) => {
    const { t, admin } = ctx(request);
    return consolePage(request, { title, body, section: 'kb', subnav: subnav(t, admin), flash: flashOf(request) });
  };

  const table = (request: FastifyRequest, rows: Array<{ id: string; title: string; titleZh?: string; state: ArticleState; author: string; revision: number; updatedAt: string }>, id: string) => {
    const { t, lang } = ctx(request);
    if (!rows.length) return `<p id="${id}-empty">${esc(t.none)}</p>`;
    return `<table id="${id}"><thead><tr><th>${esc(t.title)}</th><th>${esc(t.state)}</th><th>${esc(t.author)}</th><th>${esc(t.revision)}</th><th>${esc(t.updated)}</th></tr></thead><tbody>${rows
      .map(
        (a) =>
          `<tr data-id="${esc(a.id)}"><td><a href="/kb/articles/${esc(a.id)}">${esc(titleOf(a, lang))}</a></td><td>${stateBadge(t, a.state)}</td><td>${esc(a.author)}</td><td>${a.revision}</td><td>${esc(a.updatedAt.slice(0, 16).replace('T', ' '))}</td></tr>`,
      )
      .join('')}</tbody></table>`;
  };

  app.get<{ Querystring: { q?: string; state?: string } }>('/kb', { config: READ, preHandler: ensureSession }, async (request, reply) => {
    const { t } = ctx(request);
    const q = (request.query.q ?? '').trim();
    const state = (ARTICLE_STATES as readonly string[]).includes(request.query.state ?? '') ? (request.query.state as ArticleState) : undefined;
    const option = (value: string, label: string) => `<option value="${value}"${(state ?? '') === value ? ' selected' : ''}>${esc(label)}</option>`;
    const form = `<form method="get" action="/kb" id="kb-search"><label>${esc(t.search)} <input type="search" name="q" id="kb-q" value="${esc(q)}" placeholder="${esc(t.searchHint)}"></label>
      <label>${esc(t.state)} <select name="state" id="kb-state">${option('', t.any)}${ARTICLE_STATES.map((s) => option(s, t[`state_${s}`])).join('')}</select></label> <button id="kb-go">${esc(t.search)}</button></form>`;
    let body: string;
    if (q) {
      // A bad query (too long, say) is shown as the page's error, with the form to try again.
      let hits;
      try {
        hits = await kb.search(q, { ...(state ? { state } : {}), limit: 50 });
      } catch (error) {
        if (!(error instanceof EgovError) || error.httpStatus >= 500) throw error;
        return sendPage(reply, consolePage(request, { title: t.section, body: form, section: 'kb', subnav: subnav(t, ctx(request).admin), flash: { kind: 'error', text: error.message } }), 400);
      }
      body = `${form}<h2>${esc(t.results)} “${esc(q)}”</h2>${hits.length ? table(request, hits, 'kb-results') : `<p id="kb-nothing">${esc(t.nothing)}</p>`}`;
    } else {
      body = form + table(request, await kb.list({ ...(state ? { state } : {}), limit: 100 }), 'kb-list');
    }
    return sendPage(reply, page(request, t.section, body));
  });

  app.get('/kb/review', { config: READ, preHandler: ensureSession }, async (request, reply) => {
    const { t } = ctx(request);
    const [review, drafts] = await Promise.all([kb.list({ state: 'review', limit: 100 }), kb.list({ state: 'draft', limit: 100 })]);
    const body = `<h2>${esc(t.waiting)}</h2>${table(request, review, 'kb-waiting')}<h2>${esc(t.drafts)}</h2>${table(request, drafts, 'kb-drafts')}`;
    return sendPage(reply, page(request, t.review, body));
  });

  app.get<{ Params: { id: string } }>('/kb/articles/:id', { config: READ, preHandler: ensureSession }, async (request, reply) => {
    const { t, lang, admin } = ctx(request);
    const article = await kb.require(request.params.id);
    const revisions = await kb.revisions(article.id);
    const a = article.appliesTo;
    const list = (items: string[], code = false) => (items.length ? `<ul>${items.map((i) => `<li>${code ? `<code>${esc(i)}</code>` : esc(i)}</li>`).join('')}</ul>` : '');
    const steps = (lang === 'en' ? article.steps.en : article.steps.zh) ?? (lang === 'en' ? article.steps.zh : article.steps.en) ?? [];
    const applies = [
      [t.rules, a.rules, true],
      [t.kinds, a.kinds, false],
      [t.vendors, a.sysObjectIds, true],
      [t.logs, a.logPatterns, true],
      [t.traps, a.trapOids, true],
    ] as const;
    const me = request.principal ? personOf(request) : '';
    const wrote = revisions.some((r) => r.by === me && !r.changes.includes('imported') && !(r.changes.length === 1 && r.changes[0] === 'state')) || article.author === me;
    const action = (name: string, label: string, id: string) =>
      `<form method="post" action="/kb/articles/${esc(article.id)}/${name}">${csrfField(request)}<input type="hidden" name="_back" value="/kb/articles/${esc(article.id)}"><input type="text" name="comment" placeholder="${esc(t.comment)}" id="${id}-comment"> <button id="${id}">${esc(label)}</button></form>`;
    const actions = admin
      ? `<div class="kb-actions" id="kb-actions"><a href="/kb/articles/${esc(article.id)}/edit" id="kb-edit">${esc(t.edit)}</a>
        ${article.state === 'draft' ? action('submit', t.submit, 'kb-submit') : ''}
        ${article.state !== 'published' ? (wrote ? `<p id="kb-own">${esc(t.ownText)}</p>` : action('publish', t.publish, 'kb-publish')) : ''}
        ${article.state !== 'draft' ? action('return', t.returnToDraft, 'kb-return') : ''}</div>`
      : '';
    const body = `<article class="kb-article" id="kb-article" data-id="${esc(article.id)}">
      <p>${stateBadge(t, article.state)} · ${esc(t.author)} ${esc(article.author)} · ${esc(t.revision)} ${article.revision}${article.publishedBy ? ` · ${esc(t.publishedBy)} ${esc(article.publishedBy)}` : ''}</p>
      <p class="kb-lang">${esc(lang === 'en' ? article.title.zh ?? '' : article.title.en ?? '')}</p>
      <section id="kb-symptoms"><h2>${esc(t.symptoms)}</h2><p>${pick(article.symptoms, lang)}</p></section>
      <section id="kb-cause"><h2>${esc(t.cause)}</h2><p>${pick(article.cause, lang)}</p></section>
      <section id="kb-steps"><h2>${esc(t.steps)}</h2><ol>${steps.map((s) => `<li>${esc(s)}</li>`).join('')}</ol></section>
      <section id="kb-applies"><h2>${esc(t.appliesTo)}</h2><dl>${applies
        .filter(([, items]) => items.length)
        .map(([label, items, code]) => `<dt>${esc(label)}</dt><dd>${list([...items], code)}</dd>`)
        .join('')}</dl>${article.tags.length ? `<p>${esc(t.tags)}: ${article.tags.map(esc).join(', ')}</p>` : ''}${article.runbook ? `<p>${esc(t.runbook)}: <code>${esc(article.runbook)}</code></p>` : ''}</section>
      ${actions}
      <section id="kb-revisions"><h2>${esc(t.revisions)}</h2><table><thead><tr><th>${esc(t.revision)}</th><th>${esc(t.at)}</th><th>${esc(t.by)}</th><th>${esc(t.state)}</th><th>${esc(t.changes)}</th><th>${esc(t.comment)}</th></tr></thead><tbody>${revisions
        .map((r) => `<tr data-revision="${r.revision}"><td>${r.revision}</td><td>${esc(r.at.slice(0, 19).replace('T', ' '))}</td><td>${esc(r.by)}</td><td>${stateBadge(t, r.state)}</td><td>${esc(r.changes.join(', '))}</td><td>${esc(r.comment ?? '')}</td></tr>`)
        .join('')}</tbody></table></section></article>`;
    return sendPage(reply, page(request, lang === 'zh-CN' ? article.title.zh ?? article.title.en ?? article.id : article.title.en ?? article.title.zh ?? article.id, body));
  });

  const form = (request: FastifyRequest, article: Article | undefined) => {
    const { t } = ctx(request);
    const text = (name: string, label: string, value: string | undefined, extra = '') => `<label>${esc(label)}<br><input type="text" name="${name}" id="f-${name}" value="${esc(value ?? '')}" ${extra}></label><br>`;
    const area = (name: string, label: string, value: string | undefined, rows = 4) => `<label>${esc(label)}<br><textarea name="${name}" id="f-${name}" rows="${rows}">${esc(value ?? '')}</textarea></label><br>`;
    const a = article?.appliesTo;
    const checks = (name: string, all: readonly string[], chosen: string[] = []) =>
      all.map((v) => `<label><input type="checkbox" name="${name}-${esc(v)}" value="on" id="f-${name}-${esc(v)}"${chosen.includes(v) ? ' checked' : ''}> ${esc(v)}</label>`).join(' ');
    return `<form method="post" action="/kb/articles" class="kb-form" id="kb-form">${csrfField(request)}<input type="hidden" name="_back" value="${article ? `/kb/articles/${esc(article.id)}/edit` : '/kb/new'}">
      ${article ? `<input type="hidden" name="id" value="${esc(article.id)}">` : text('id', `ID (${t.idHint})`, undefined, `pattern="${ARTICLE_ID_PATTERN.source.slice(1, -1)}"`)}
      <fieldset><legend>English</legend>${text('titleEn', t.title, article?.title.en)}${area('symptomsEn', t.symptoms, article?.symptoms.en)}${area('causeEn', t.cause, article?.cause.en)}${area('stepsEn', `${t.steps} (${t.onePerLine})`, article?.steps.en?.join('\n'), 6)}</fieldset>
      <fieldset><legend>中文</legend>${text('titleZh', t.title, article?.title.zh)}${area('symptomsZh', t.symptoms, article?.symptoms.zh)}${area('causeZh', t.cause, article?.cause.zh)}${area('stepsZh', `${t.steps} (${t.onePerLine})`, article?.steps.zh?.join('\n'), 6)}</fieldset>
      <fieldset><legend>${esc(t.appliesTo)}</legend><p>${esc(t.rules)}: ${checks('rule', KNOWN_RULES, a?.rules)}</p><p>${esc(t.kinds)}: ${checks('kind', DEVICE_KINDS, a?.kinds)}</p>
      ${text('sysObjectIds', `${t.vendors} (${t.commaSeparated})`, a?.sysObjectIds.join(', '))}${area('logPatterns', `${t.logs} (${t.onePerLine})`, a?.logPatterns.join('\n'))}${text('trapOids', `${t.traps} (${t.commaSeparated})`, a?.trapOids.join(', '))}</fieldset>
      ${text('tags', `${t.tags} (${t.commaSeparated})`, article?.tags.join(', '))}${text('runbook', t.runbook, article?.runbook)}${text('comment', t.comment, undefined)}
      <button id="kb-save">${esc(t.save)}</button></form>`;
  };

  app.get('/kb/new', { config: WRITE, preHandler: ensureSession }, async (request, reply) => sendPage(reply, page(request, ctx(request).t.newArticle, form(request, undefined))));

  app.get<{ Params: { id: string } }>('/kb/articles/:id/edit', { config: WRITE, preHandler: ensureSession }, async (request, reply) => {
    const article = await kb.require(request.params.id);
    return sendPage(reply, page(request, `${ctx(request).t.edit}: ${article.title.en ?? article.title.zh}`, form(request, article)));
  });

  app.post<{ Body: Record<string, unknown> }>('/kb/articles', { config: WRITE }, async (request, reply) => {
    const { comment, ...input } = formToArticle(request.body ?? {});
    const by = personOf(request);
    const saved = await kb.saveArticle({ ...input, author: by }, { by, source: request.ip, ...(comment ? { comment } : {}) });
    const { t } = ctx(request);
    return redirectWith(reply, `/kb/articles/${saved.id}`, 'ok', `${t.save}: ${saved.id} (${t.revision} ${saved.revision})`);
  });

  const step = (name: string, run: (id: string, actor: { by: string; source: string; comment?: string }) => Promise<Article>) =>
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(`/kb/articles/:id/${name}`, { config: WRITE }, async (request, reply) => {
      const comment = optionalText(request.body?.comment);
      const article = await run(request.params.id, { by: personOf(request), source: request.ip, ...(comment ? { comment } : {}) });
      const { t } = ctx(request);
      return redirectWith(reply, `/kb/articles/${article.id}`, 'ok', `${article.id}: ${t[`state_${article.state}`]}`);
    });
  step('submit', (id, actor) => kb.submitForReview(id, actor));
  step('publish', (id, actor) => kb.publish(id, actor));
  step('return', (id, actor) => kb.returnToDraft(id, actor));
}
