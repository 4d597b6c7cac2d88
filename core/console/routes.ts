// The console's own pages: the home page (the sections the signed-in roles
// may open), sign-in with the password (the second factor of administrator
// roles), sign-out, and the suite's static assets (the chart library).

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { principalOf, setSessionCookie, clearSessionCookie } from '../access/routes.js';
import type { AccessControl } from '../access/access.js';
import { EgovError } from '../errors.js';
import { consolePage, csrfField, ensureSession, esc, flashOf, pageErrorHandler, pageLanguage, redirectWith, sendPage } from './frame.js';
import { frameWords } from './i18n.js';

export interface ConsolePagesOptions {
  access: AccessControl;
}

const SIGNED_IN = { roles: 'signed-in' as const };

/** Where to go after sign-in: a local path only (never another site). */
function safeBack(back: unknown): string {
  return typeof back === 'string' && back.startsWith('/') && !back.startsWith('//') && back.length <= 2000 ? back : '/';
}

export async function consolePages(app: FastifyInstance, { access }: ConsolePagesOptions): Promise<void> {
  app.console.access = access;
  app.setErrorHandler(pageErrorHandler('/'));

  app.get('/', { config: SIGNED_IN, preHandler: ensureSession }, async (request, reply) => {
    const t = frameWords(pageLanguage(request));
    const lang = pageLanguage(request);
    const p = principalOf(request);
    const sections = app.console.visibleTo(p);
    const needsPassword = p.roles.some((r) => !p.activeRoles.includes(r));
    const body = `<dl><dt>${esc(t.signedInAs)}</dt><dd>${esc(p.name)}</dd><dt>${esc(t.roles)}</dt><dd>${esc(p.roles.join(', ') || '-')}</dd><dt>${esc(t.activeRoles)}</dt><dd>${esc(p.activeRoles.join(', ') || '-')}</dd></dl>
${needsPassword ? `<p>${esc(t.passwordNeeded)} <a href="/sign-in">${esc(t.signIn)}</a></p>` : ''}
<h2>${esc(t.sections)}</h2>${sections.length ? `<div class="cards">${sections.map((s) => `<a href="${esc(s.href)}" data-section="${esc(s.id)}">${esc(s.label[lang])}</a>`).join('')}</div>` : `<p class="empty">${esc(t.noSection)}</p>`}`;
    return sendPage(reply, consolePage(request, { title: t.home, body, flash: flashOf(request) }));
  });

  app.get<{ Querystring: { back?: string } }>('/sign-in', { config: SIGNED_IN, preHandler: ensureSession }, async (request, reply) => {
    const t = frameWords(pageLanguage(request));
    const back = safeBack(request.query.back);
    const body = `<p>${esc(t.passwordNeeded)}</p><form method="post" action="/sign-in">${csrfField(request)}<input type="hidden" name="_back" value="/sign-in?back=${esc(encodeURIComponent(back))}"><input type="hidden" name="back" value="${esc(back)}">
<label>${esc(t.password)} <input type="password" name="password" autocomplete="current-password" required maxlength="1024"></label><button id="sign-in">${esc(t.signIn)}</button></form>`;
    return sendPage(reply, consolePage(request, { title: t.signIn, body, flash: flashOf(request) }));
  });

  app.post<{ Body: { password?: string; back?: string } }>(
    '/sign-in',
    { config: { ...SIGNED_IN, rateLimit: 'sign-in' }, schema: { body: Type.Object({ password: Type.Optional(Type.String({ maxLength: 1024 })), back: Type.Optional(Type.String({ maxLength: 2000 })), _csrf: Type.Optional(Type.String()), _back: Type.Optional(Type.String()) }) } },
    async (request, reply) => {
      const back = safeBack(request.body.back);
      try {
        const grant = await access.signIn(principalOf(request), request.body.password ?? '', request.ip);
        setSessionCookie(reply, grant.cookie);
        return reply.redirect(back, 303);
      } catch (error) {
        // A wrong password or a lockout: back to the form, which says why (the refusal is audited by access).
        if (error instanceof EgovError && (error.code === 'unauthorized' || error.code === 'forbidden')) return redirectWith(reply, `/sign-in?back=${encodeURIComponent(back)}`, 'error', error.message);
        throw error;
      }
    },
  );

  app.post('/sign-out', { config: SIGNED_IN }, async (request, reply) => {
    await access.signOut(principalOf(request));
    clearSessionCookie(reply);
    const t = frameWords(pageLanguage(request));
    return sendPage(reply, consolePage(request, { title: t.signOut, body: `<p>${esc(t.signedOut)}</p>`, signedOut: true }));
  });

  app.get<{ Params: { name: string } }>('/assets/:name', { config: SIGNED_IN }, async (request, reply) => {
    const asset = app.console.asset(request.params.name);
    if (!asset) throw new EgovError('not-found', `no asset ${request.params.name}`);
    const versioned = (request.query as Record<string, unknown>).v === asset.version;
    return reply
      .type(asset.type)
      .header('cache-control', versioned ? 'private, max-age=31536000, immutable' : 'private, no-cache')
      .header('x-content-type-options', 'nosniff')
      .send(asset.body);
  });
}
