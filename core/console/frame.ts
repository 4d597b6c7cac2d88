// The one web console: every module's pages share this frame (header,
// navigation filtered by the signed-in roles, sign-in and sign-out, the
// language switch, one look) and its security headers. A module adds its
// sections to the server's registry (`app.console.addSection`) and renders
// its pages with `consolePage`; it keeps its own words and its own CSS.
//
// Pages are server-rendered HTML. Script is allowed only from the suite
// itself (`script-src 'self'`, files registered with `addAsset` and served
// under /assets/): the network is closed, nothing loads from outside.

import { createHash } from 'node:crypto';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessControl, Principal, Role } from '../access/access.js';
import { asEgovError, EgovError } from '../errors.js';
import { pickLanguage, type Language } from '../language.js';
import { bodyLimitOf, handlerTimeoutError } from '../limits.js';
import { frameWords, type Bilingual, type FrameWords } from './i18n.js';

export type { Bilingual } from './i18n.js';

/** A top-level entry of the navigation. */
export interface ConsoleSection {
  /** Stable id: the nav link gets id="nav-ID"; pages name their section with it. */
  id: string;
  href: string;
  label: Bilingual;
  /** Shown to a principal with one of these roles active. */
  roles: readonly Role[];
  /** Lower first. Desk 10, status 20, logs 25, alerts 30, knowledge base 40, dashboards 50, audits 60, backups 70, audit log 80, runbooks 90. */
  order: number;
}

export interface Asset {
  name: string;
  type: string;
  body: Buffer;
  /** Short content hash: URLs carry it (`?v=`), so assets can be cached for good. */
  version: string;
}

/** The console's parts, one per HTTPS server (decorated as `app.console` by createServer). */
export class ConsoleRegistry {
  private readonly sectionsById = new Map<string, ConsoleSection>();
  private readonly assetsByName = new Map<string, Asset>();
  private readonly styles: string[] = [];
  /** Set by consolePages: pages open a session with it (the CSRF token of their forms). */
  access: AccessControl | undefined;

  /** Adds a navigation entry; a plugin registered again (under another prefix) keeps the first entry of its id. */
  addSection(section: ConsoleSection): void {
    if (!this.sectionsById.has(section.id)) this.sectionsById.set(section.id, section);
  }

  sections(): ConsoleSection[] {
    return [...this.sectionsById.values()].sort((a, b) => a.order - b.order || a.id.localeCompare(b.id));
  }

  /** The sections a principal may open now (by active roles). */
  visibleTo(principal: Principal | undefined): ConsoleSection[] {
    if (!principal) return [];
    return this.sections().filter((s) => s.roles.some((r) => principal.activeRoles.includes(r)));
  }

  addAsset(name: string, type: string, body: Buffer | string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(name)) throw new Error(`asset name ${name} is not a plain file name`);
    const buffer = typeof body === 'string' ? Buffer.from(body) : body;
    const version = createHash('sha256').update(buffer).digest('hex').slice(0, 12);
    this.assetsByName.set(name, { name, type, body: buffer, version });
    return this.assetUrl(name);
  }

  asset(name: string): Asset | undefined {
    return this.assetsByName.get(name);
  }

  /** `/assets/NAME?v=HASH`. */
  assetUrl(name: string): string {
    const asset = this.assetsByName.get(name);
    if (!asset) throw new Error(`no console asset ${name}`);
    return `/assets/${name}?v=${asset.version}`;
  }

  /** CSS a module's pages need beyond the frame's; every page carries all of it (one look). */
  addStyle(css: string): void {
    if (!this.styles.includes(css)) this.styles.push(css);
  }

  style(): string {
    return FRAME_STYLE + this.styles.join('\n');
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    console: ConsoleRegistry;
  }
}

export const esc = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface Flash {
  kind: 'error' | 'ok';
  text: string;
}

export interface PageOptions {
  title: string;
  /** HTML, already escaped where it holds data. */
  body: string;
  /** The navigation entry this page belongs to (marked current). */
  section?: string;
  /** Links under the header for this section: [href, label, id?]. */
  subnav?: ReadonlyArray<{ href: string; label: string; id?: string }>;
  flash?: Flash | undefined;
  /** Reload every N seconds (meta refresh, no script). */
  refreshSeconds?: number;
  /** Asset names (registered with addAsset) loaded as scripts, deferred. */
  scripts?: readonly string[];
  /** Shown instead of the principal (a page rendered after sign-out). */
  signedOut?: boolean;
}

/** The language of a request: the `egov_lang` cookie, else Accept-Language. */
export function pageLanguage(request: FastifyRequest): Language {
  return pickLanguage(request.headers.cookie, request.headers['accept-language']);
}

/** The request's query string without `lang` and flash keys: what the language switch keeps. */
function queryWithout(request: FastifyRequest, ...keys: string[]): URLSearchParams {
  const at = request.url.indexOf('?');
  const query = new URLSearchParams(at >= 0 ? request.url.slice(at + 1) : '');
  for (const key of ['lang', ...keys]) query.delete(key);
  return query;
}

/** The whole page: header with the navigation the principal may see, then the body. */
export function consolePage(request: FastifyRequest, options: PageOptions): string {
  const registry = request.server.console;
  const lang = pageLanguage(request);
  const t = frameWords(lang);
  const principal = options.signedOut ? undefined : request.principal;
  const other: Language = lang === 'en' ? 'zh-CN' : 'en';
  const switchQuery = queryWithout(request, 'error', 'ok');
  switchQuery.set('lang', other);
  const nav = registry
    .visibleTo(principal)
    .map((s) => `<a href="${esc(s.href)}" id="nav-${esc(s.id)}"${s.id === options.section ? ' aria-current="page"' : ''}>${esc(s.label[lang])}</a>`)
    .join('');
  const subnav = options.subnav?.length
    ? `<nav class="subnav">${options.subnav.map((l) => `<a href="${esc(l.href)}"${l.id ? ` id="${esc(l.id)}"` : ''}>${esc(l.label)}</a>`).join('')}</nav>`
    : '';
  const scripts = (options.scripts ?? []).map((name) => `<script src="${esc(registry.assetUrl(name))}" defer></script>`).join('');
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8">${options.refreshSeconds ? `<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(options.title)} · egov-ops</title><style>${registry.style()}</style>${scripts}</head>
<body><header><a href="/" id="nav-home"><b>${esc(t.suite)}</b></a><nav class="sections">${nav}</nav>
<span class="who">${whoHtml(t, principal, lang)} <a href="?${esc(switchQuery.toString())}" id="lang" hreflang="${other}">${other === 'en' ? 'English' : '中文'}</a></span></header>${subnav}
<main><h1>${esc(options.title)}</h1>${flashHtml(options.flash)}${options.body}</main></body></html>`;
}

function whoHtml(t: FrameWords, principal: Principal | undefined, _lang: Language): string {
  if (!principal) return '';
  const needsPassword = principal.roles.some((r) => !principal.activeRoles.includes(r));
  const signInLink = needsPassword ? ` <a href="/sign-in" id="sign-in-link">${esc(t.signIn)}</a>` : '';
  const signOut = principal.session
    ? ` <form class="inline" method="post" action="/sign-out"><input type="hidden" name="_csrf" value="${esc(principal.session.csrf)}"><button id="sign-out">${esc(t.signOut)}</button></form>`
    : '';
  return `${esc(t.signedInAs)} <b id="who">${esc(principal.name)}</b> · <span id="roles">${esc(principal.activeRoles.join(', ') || '-')}</span>${signInLink}${signOut}`;
}

function flashHtml(flash: Flash | undefined): string {
  if (!flash) return '';
  return `<div class="flash ${flash.kind}" role="${flash.kind === 'error' ? 'alert' : 'status'}">${esc(flash.text)}</div>`;
}

/** `?error=` / `?ok=` on a page's URL: what a form post redirected back with. */
export function flashOf(request: FastifyRequest): Flash | undefined {
  const query = (request.query ?? {}) as Record<string, unknown>;
  if (typeof query.error === 'string' && query.error) return { kind: 'error', text: query.error.slice(0, 500) };
  if (typeof query.ok === 'string' && query.ok) return { kind: 'ok', text: query.ok.slice(0, 200) };
  return undefined;
}

/** The CSRF token of the request's session (pages put it in their forms as `_csrf`). */
export function csrfOf(request: FastifyRequest): string {
  return request.principal?.session?.csrf ?? '';
}

export const csrfField = (request: FastifyRequest): string => `<input type="hidden" name="_csrf" value="${esc(csrfOf(request))}">`;

// Scripts only from the suite itself; styles inline (each page carries its
// CSS) and from the suite; images from the suite or data: URLs (sparklines).
export const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** Sends a page with the console's headers: no caching, no framing, strict CSP. */
export function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply
    .status(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .header('content-security-policy', PAGE_CSP)
    .send(html);
}

/** Back to `path` with a message the page shows. */
export function redirectWith(reply: FastifyReply, path: string, kind: Flash['kind'], text: string): FastifyReply {
  const clean = path.replace(/[?&](error|ok)=[^&]*/g, '');
  const separator = clean.includes('?') ? '&' : '?';
  return reply.redirect(`${clean}${separator}${kind}=${encodeURIComponent(text)}`, 303);
}

/**
 * Opens a session on a page request that has none (its CSRF token goes into
 * the forms). No password here: administrator roles wait for /sign-in.
 * Use as a route's preHandler.
 */
export async function ensureSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const principal = request.principal;
  const access = request.server.console.access;
  if (!principal || principal.session || !access) return;
  const grant = await access.signIn(principal, undefined, request.ip);
  reply.header('set-cookie', `egov_session=${grant.cookie}; Path=/; HttpOnly; Secure; SameSite=Strict`);
  principal.session = { idHash: '', csrf: grant.csrf, expiresAt: grant.expiresAt };
  principal.activeRoles = grant.activeRoles;
}

/** A local path to return to after a form post: the form's `_back`, else the referer, else `fallback`. */
export function backPath(request: FastifyRequest, fallback: string): string {
  const back = String((request.body as Record<string, unknown> | undefined)?._back ?? request.headers.referer ?? fallback);
  if (back.startsWith('/') && !back.startsWith('//')) return back;
  try {
    const url = new URL(back);
    return url.pathname + url.search;
  } catch {
    return fallback;
  }
}

/**
 * The error handler for a module's pages: a form post that fails goes back to
 * its page with the reason; a page that fails renders the reason in the
 * frame (HTML, with the status); a role that needs the password sends the
 * browser to /sign-in.
 */
export function pageErrorHandler(home: string) {
  return async (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const egov =
      error.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new EgovError('too-large', `the request body is over this route's ${bodyLimitOf(request)}-byte limit`, { limitBytes: bodyLimitOf(request) })
        : error.code === 'FST_ERR_HANDLER_TIMEOUT'
        ? handlerTimeoutError(request)
        : error instanceof EgovError
        ? error
        : (error as { validation?: unknown }).validation
          ? new EgovError('bad-request', error.message)
          : error.statusCode && error.statusCode < 500
            ? new EgovError('bad-request', error.message)
            : asEgovError(error);
    if (egov.httpStatus >= 500) request.log.error({ err: error }, 'page request failed');
    // A rate limit or a body over the limit keeps its status (429 with Retry-After, 413): the page says why, scripts see it.
    const keepsStatus = egov.code === 'unauthorized' || egov.code === 'forbidden' || egov.code === 'rate-limited' || egov.code === 'too-large';
    if (request.method === 'POST' && egov.httpStatus < 500 && !keepsStatus) {
      return redirectWith(reply, backPath(request, home), 'error', egov.message);
    }
    const t = frameWords(pageLanguage(request));
    if (egov.code === 'unauthorized' && egov.details?.signIn) {
      // Administrator roles wait for the password: say so, with the way there (401, not a redirect: scripts see the status).
      const back = request.method === 'GET' ? request.url : home;
      const body = `<p>${esc(t.passwordNeeded)} <a href="/sign-in?back=${esc(encodeURIComponent(back))}" id="sign-in">${esc(t.signIn)}</a></p>`;
      return sendPage(reply, consolePage(request, { title: t.signIn, body, flash: { kind: 'error', text: egov.message } }), 401);
    }
    const title = egov.code === 'forbidden' ? t.forbidden : egov.code === 'not-found' ? t.notFound : t.error;
    return sendPage(reply, consolePage(request, { title, body: `<p><a href="${esc(home)}">${esc(t.home)}</a></p>`, flash: { kind: 'error', text: egov.message } }), egov.httpStatus);
  };
}

export const FRAME_STYLE = `body{font-family:system-ui,"Noto Sans CJK SC","Noto Sans SC",sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#12355b;color:#fff;padding:.55rem 1.2rem;display:flex;gap:1.1rem;align-items:center;flex-wrap:wrap}
header a{color:#fff;text-decoration:none}header nav.sections{display:flex;gap:1rem;flex-wrap:wrap}header nav a[aria-current=page]{border-bottom:2px solid #fff}
header .who{margin-left:auto;font-size:.85rem}header button{font-size:.8rem}
nav.subnav{background:#e8eef6;padding:.35rem 1.2rem;display:flex;gap:1rem;flex-wrap:wrap;font-size:.9rem}nav.subnav a{color:#12355b}
main{padding:.6rem 1.2rem 2rem;max-width:1400px}h1{font-size:1.4rem;margin:.4rem 0}h2{font-size:1.15rem;margin:1.4rem 0 .4rem}h3{font-size:1rem;margin:.9rem 0 .3rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.2rem 0 .6rem}
th,td{border-bottom:1px solid #dde1e6;padding:.3rem .5rem;text-align:left;font-size:.88rem;vertical-align:top}th{background:#eef1f5;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}td.msg{white-space:pre-wrap;word-break:break-word;font-family:ui-monospace,monospace;font-size:.82rem}
.meta{color:#56606b;font-size:.85rem}.empty{background:#fff;border:1px dashed #b8c0c8;padding:.6rem .8rem;color:#3d4650}
.flash{padding:.6rem .8rem;margin:.6rem 0;border-radius:4px}.flash.error{background:#fde8e8;border:1px solid #e0a0a0}.flash.ok{background:#e6f4ea;border:1px solid #9ccfa8}
form.inline{display:inline}fieldset{background:#fff;border:1px solid #dde1e6;margin:.6rem 0}label{display:block;margin:.3rem 0}
fieldset.filters{display:flex;gap:.8rem;flex-wrap:wrap;align-items:end}fieldset.filters label{display:flex;flex-direction:column;font-size:.85rem;margin:0}
input,select,button,textarea{font:inherit}textarea{width:100%;max-width:60rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem;background:#fff;padding:.6rem;margin:.2rem 0}dt{font-weight:600}
details{background:#fff;border:1px solid #dde1e6;margin:.35rem 0;padding:.2rem .6rem}summary{cursor:pointer;padding:.25rem 0}
code{background:#eef1f5;padding:0 .25rem}.cards{display:flex;gap:1rem;flex-wrap:wrap}.cards a{display:block;background:#fff;border:1px solid #dde1e6;padding:.8rem 1.2rem;min-width:12rem;color:#12355b;text-decoration:none}
.st{display:inline-block;padding:.05rem .45rem;border-radius:3px;font-size:.85rem;font-weight:600;white-space:nowrap;border:1px solid}
.st-up,.st-ok,.st-pass{background:#e6f4ea;color:#14632c;border-color:#9ccfa8}.st-down,.st-fail{background:#fde8e8;color:#9b1c1c;border-color:#e0a0a0}
.st-unreachable,.st-partial,.st-warn{background:#fff1dc;color:#8a4b00;border-color:#e8b872}.st-unknown,.st-na{background:#eceff2;color:#4a5560;border-color:#c3cad1}
`;
