// The registration desk as web pages: server-rendered HTML, plain forms with
// the session's CSRF token, no script needed. Errors from a form come back on
// the page they were posted from.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorOf, consolePage, EgovError, ensureSession, esc, flashOf, pageErrorHandler, principalOf, redirectWith, sendPage, type AccessControl, type Flash, type Principal } from '../../core/index.js';
import type { Authority } from '../authority.js';
import { parseRequestId, REQUEST_STATES, type RegistrationDesk, type RequestView, type SubmitRequest } from './desk.js';
import { pickLanguage, words, type Language } from './i18n.js';
import { RA_READ, RA_WORK, toFilter } from './routes.js';
import type { Applicant } from './applicants.js';

export interface DeskPagesOptions {
  desk: RegistrationDesk;
  authority: Authority;
  access: AccessControl;
}

interface PageContext {
  request: FastifyRequest;
  lang: Language;
  t: ReturnType<typeof words>;
  principal: Principal | undefined;
  csrf: string;
}

function context(request: FastifyRequest): PageContext {
  const lang = pickLanguage(request.headers.cookie, request.headers['accept-language']);
  return { request, lang, t: words(lang), principal: request.principal, csrf: request.principal?.session?.csrf ?? '' };
}

/** The desk's pages in the console frame, with the desk's links under the header (as the roles allow). */
function layout(ctx: PageContext, title: string, body: string, flash?: Flash): string {
  const { t, principal } = ctx;
  const has = (...roles: string[]) => principal?.activeRoles.some((r) => roles.includes(r)) ?? false;
  const subnav = [
    ...(has('ra-operator', 'ca-admin', 'security-officer', 'auditor')
      ? [{ href: '/desk/requests', label: t.queue }, { href: '/desk/certificates', label: t.certificates }, { href: '/desk/expiring', label: t.expiring }]
      : []),
    ...(has('ra-operator')
      ? [{ href: '/desk/requests/new?type=person', label: t.newPerson }, { href: '/desk/requests/new?type=device', label: t.newDevice }, { href: '/desk/requests/new?type=software', label: t.newSoftware }]
      : []),
  ];
  return consolePage(ctx.request, { title, body, section: 'desk', subnav, flash });
}

const hidden = (ctx: PageContext) => `<input type="hidden" name="_csrf" value="${esc(ctx.csrf)}">`;
const stateLabel = (ctx: PageContext, state: string) => `<span class="state" data-state="${esc(state)}">${esc(ctx.t[`state_${state}` as 'state_submitted'] ?? state)}</span>`;

const send = sendPage;

const DESK_STYLE = `.state{padding:.1rem .4rem;border-radius:3px;background:#e8eef6}`;

const DESK_PAGE = { roles: 'signed-in' as const };

export async function deskPages(app: FastifyInstance, options: DeskPagesOptions): Promise<void> {
  const { desk } = options;

  app.console.addSection({ id: 'desk', href: '/desk', label: { en: 'Registration desk', 'zh-CN': '注册服务台' }, roles: ['ra-operator', 'ca-admin', 'security-officer', 'auditor'], order: 10 });
  app.console.addStyle(DESK_STYLE);
  app.setErrorHandler(pageErrorHandler('/desk'));

  app.get('/desk', { config: DESK_PAGE, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const p = principalOf(request);
    const needsPassword = p.roles.some((r) => !p.activeRoles.includes(r));
    const body = `<dl><dt>${ctx.t.signedInAs}</dt><dd>${esc(p.name)}</dd><dt>${ctx.t.roles}</dt><dd>${esc(p.roles.join(', '))}</dd><dt>${ctx.t.activeRoles}</dt><dd>${esc(p.activeRoles.join(', ') || '-')}</dd></dl>
      ${needsPassword ? `<p>${ctx.t.passwordNeeded} <a href="/sign-in?back=%2Fdesk">${ctx.t.signIn}</a></p>` : ''}
      ${p.activeRoles.some((r) => ['ra-operator', 'ca-admin', 'security-officer', 'auditor'].includes(r)) ? `<p><a href="/desk/requests">${ctx.t.queue}</a></p>` : `<p>${ctx.t.noDeskRole}</p>`}`;
    return send(reply, layout(ctx, ctx.t.title, body, flashOf(request)));
  });

  // The desk's old sign-in address: the console's sign-in page now.
  app.get('/desk/sign-in', { config: DESK_PAGE }, async (_request, reply) => reply.redirect('/sign-in?back=%2Fdesk', 303));

  // ---------------------------------------------------------------- the queue

  app.get<{ Querystring: Record<string, string | undefined> }>('/desk/requests', { config: RA_READ, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const { t } = ctx;
    const q = request.query;
    const started = process.hrtime.bigint();
    const { requests, next } = await desk.list(toFilter({ ...q, ...(q.state === '' ? { state: undefined } : {}), ...(q.profile === '' ? { profile: undefined } : {}) }));
    const serverMs = Number(process.hrtime.bigint() - started) / 1e6;
    const option = (value: string, label: string, selected: string | undefined) => `<option value="${esc(value)}"${selected === value ? ' selected' : ''}>${esc(label)}</option>`;
    const filters = `<form method="get" action="/desk/requests" id="filters"><fieldset><legend>${t.filter}</legend>
      <label>${t.search} <input name="q" value="${esc(q.q)}"></label>
      <label>${t.state} <select name="state">${option('', t.any, q.state ?? '')}${REQUEST_STATES.map((s) => option(s, t[`state_${s}`], q.state)).join('')}</select></label>
      <label>${t.profile} <select name="profile">${option('', t.any, q.profile ?? '')}${Object.keys(options.authority.profiles).map((p) => option(p, p, q.profile)).join('')}</select></label>
      <label>${t.submittedBy} <input name="submittedBy" value="${esc(q.submittedBy)}"></label>
      <label>${t.from} <input type="date" name="from" value="${esc(q.from)}"></label> <label>${t.to} <input type="date" name="to" value="${esc(q.to)}"></label>
      <button>${t.filter}</button></fieldset></form>`;
    const rows = requests
      .map((r) => `<tr data-id="${r.id}"><td><a href="/desk/requests/${r.id}">#${r.id}</a></td><td>${esc(r.kind)}</td><td>${esc(r.profile)}</td><td>${esc(r.name)}</td><td>${esc(r.idNumber ?? r.hostname ?? '')}</td><td>${stateLabel(ctx, r.state)}</td><td>${esc(r.submittedBy)}</td><td>${esc(r.submittedAt.slice(0, 16).replace('T', ' '))}</td></tr>`)
      .join('');
    const nextLink = next ? `<p><a id="next" href="/desk/requests?${new URLSearchParams({ ...Object.fromEntries(Object.entries(q).filter(([k, v]) => v && k !== 'before' && k !== 'error' && k !== 'ok')), before: String(next) } as Record<string, string>)}">${t.next}</a></p>` : '';
    const table = requests.length
      ? `<table id="queue"><thead><tr><th>${t.id}</th><th>${t.kind}</th><th>${t.profile}</th><th>${t.name}</th><th>${t.idNumber}/${t.hostname}</th><th>${t.state}</th><th>${t.submittedBy}</th><th>${t.submittedAt}</th></tr></thead><tbody>${rows}</tbody></table>${nextLink}`
      : `<p>${t.noRequests}</p>`;
    reply.header('server-timing', `db;dur=${serverMs.toFixed(1)}`);
    return send(reply, layout(ctx, t.queue, filters + table, flashOf(request)));
  });

  app.get<{ Querystring: { type?: string } }>('/desk/requests/new', { config: RA_WORK, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const { t } = ctx;
    const type = request.query.type === 'device' || request.query.type === 'software' ? request.query.type : 'person';
    const cas = await options.authority.listHierarchies();
    const caSelect = `<label>${t.ca} <select name="ca">${cas.map((h) => `<option value="${esc(h.name)}">${esc(h.name)} (${esc(h.algorithm)})</option>`).join('')}</select></label>`;
    const input = (name: string, label: string, extra = '') => `<label>${label} <input name="${name}" id="f-${name}" ${extra}></label>`;
    const fields =
      type === 'person'
        ? `${input('name', t.fullName, 'required')}
           <label>${t.idType} <select name="idType" id="f-idType"><option value="resident-id">${t.residentId}</option><option value="employee-number">${t.employeeNumber}</option></select></label>
           ${input('idNumber', t.idNumber, 'required')}${input('department', t.department, 'required')}${input('phone', t.phone)}${input('email', t.email, 'type="email"')}`
        : type === 'device'
          ? `${input('hostname', t.hostname, 'required')}${input('ipAddresses', t.ipAddresses)}${input('assetTag', t.assetTag)}
           <label>${t.zone} <select name="zone"><option value="internal">${t.internal}</option><option value="external">${t.external}</option></select></label>${input('site', t.site, 'required')}`
          : `${input('name', t.softwareName, 'required')}${input('vendor', t.vendor, 'required')}${input('version', t.version, 'required')}`;
    const profiles = type === 'person' ? ['person'] : type === 'software' ? ['software'] : ['device', 'server', 'agent'];
    const body = `<form method="post" action="/desk/requests" id="new-request">${hidden(ctx)}<input type="hidden" name="_back" value="/desk/requests/new?type=${type}">
      <input type="hidden" name="subjectType" value="${type}"><fieldset><legend>${t.applicant}</legend>${fields}</fieldset>
      <fieldset>${caSelect}<label>${t.profile} <select name="profile">${profiles.map((p) => `<option>${p}</option>`).join('')}</select></label>
      <label>${t.csr}<br><textarea name="csr" rows="6" cols="70"></textarea></label></fieldset><button id="submit">${t.submit}</button></form>`;
    return send(reply, layout(ctx, type === 'person' ? t.newPerson : type === 'device' ? t.newDevice : t.newSoftware, body, flashOf(request)));
  });

  app.post<{ Body: Record<string, string | undefined> }>('/desk/requests', { config: RA_WORK }, async (request, reply) => {
    const created = await desk.submit(formToSubmit(request.body), actorOf(request));
    return redirectWith(reply, `/desk/requests/${created.id}`, 'ok', `#${created.id}: ${created.state}`);
  });

  app.get<{ Params: { id: string } }>('/desk/requests/:id', { config: RA_READ, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const view = await desk.get(parseRequestId(request.params.id));
    return send(reply, layout(ctx, `${ctx.t.request} #${view.id}`, requestPage(ctx, view), flashOf(request)));
  });

  const action = (path: string, run: (request: FastifyRequest<{ Params: { id: string }; Body: Record<string, string | undefined> }>) => Promise<RequestView>) =>
    app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>(`/desk/requests/:id/${path}`, { config: RA_WORK }, async (request, reply) => {
      const view = await run(request);
      return redirectWith(reply, `/desk/requests/${view.id}`, 'ok', `#${view.id}: ${view.state}`);
    });
  action('vet', (r) => desk.vet(parseRequestId(r.params.id), { documentType: r.body.documentType ?? '', documentNumber: r.body.documentNumber ?? '', presentedBy: r.body.presentedBy ?? '', ...(r.body.notes ? { notes: r.body.notes } : {}) }, actorOf(r)));
  action('approve', (r) => desk.approve(parseRequestId(r.params.id), actorOf(r)));
  action('reject', (r) => desk.reject(parseRequestId(r.params.id), r.body.reason ?? '', actorOf(r)));
  action('issue', (r) => desk.issue(parseRequestId(r.params.id), actorOf(r)));

  app.post<{ Params: { id: string }; Body: Record<string, string | undefined> }>('/desk/requests/:id/pkcs12', { config: RA_WORK }, async (request, reply) => {
    const { pkcs12, serial } = await desk.downloadPkcs12(parseRequestId(request.params.id), request.body.password ?? '', actorOf(request));
    return reply.type('application/x-pkcs12').header('content-disposition', `attachment; filename="${serial}.p12"`).header('cache-control', 'no-store').send(pkcs12);
  });

  app.get<{ Params: { id: string }; Querystring: { format?: string } }>('/desk/requests/:id/certificate', { config: RA_WORK }, async (request, reply) => {
    const format = request.query.format === 'der' || request.query.format === 'chain' ? request.query.format : 'pem';
    const { body, serial } = await desk.downloadCertificate(parseRequestId(request.params.id), format, actorOf(request));
    return reply.type(format === 'der' ? 'application/pkix-cert' : 'application/x-pem-file').header('content-disposition', `attachment; filename="${serial}${format === 'der' ? '.cer' : '.pem'}"`).send(body);
  });

  // ---------------------------------------------------------------- certificates

  app.get<{ Querystring: { ca?: string; after?: string; status?: string } }>('/desk/certificates', { config: RA_READ, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const { t } = ctx;
    const cas = await options.authority.listHierarchies();
    const ca = request.query.ca && cas.some((h) => h.name === request.query.ca) ? request.query.ca : cas[0]?.name;
    const list = ca ? await options.authority.listCertificates(ca, { limit: 50, ...(request.query.after ? { after: request.query.after } : {}) }) : [];
    const tabs = cas.map((h) => `<a href="/desk/certificates?ca=${esc(h.name)}">${esc(h.name)}</a>`).join(' · ');
    const rows = list.map((c) => `<tr><td><a href="/desk/certificates/${esc(ca)}/${esc(c.serial)}">${esc(c.serial)}</a></td><td>${esc(c.subject)}</td><td>${esc(c.profile)}</td><td>${esc(c.status)}</td><td>${esc(c.notAfter.slice(0, 10))}</td></tr>`).join('');
    const next = list.length === 50 ? `<p><a id="next" href="/desk/certificates?ca=${esc(ca)}&after=${esc(list[list.length - 1]!.serial)}">${t.next}</a></p>` : '';
    return send(reply, layout(ctx, t.certificates, `<p>${tabs}</p><table id="certificates"><thead><tr><th>${t.serial}</th><th>${t.subject}</th><th>${t.profile}</th><th>${t.status}</th><th>${t.notAfter}</th></tr></thead><tbody>${rows}</tbody></table>${next}`, flashOf(request)));
  });

  app.get<{ Params: { ca: string; serial: string } }>('/desk/certificates/:ca/:serial', { config: RA_READ, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const { t } = ctx;
    const c = await options.authority.getCertificate(request.params.ca, request.params.serial);
    const canWork = ctx.principal?.activeRoles.includes('ra-operator');
    const change = (kind: string, label: string, extra = '') =>
      `<form method="post" action="/desk/requests" class="change">${hidden(ctx)}<input type="hidden" name="_back" value="/desk/certificates/${esc(c.ca)}/${esc(c.serial)}"><input type="hidden" name="kind" value="${kind}"><input type="hidden" name="ca" value="${esc(c.ca)}"><input type="hidden" name="targetSerial" value="${esc(c.serial)}">${extra}<button>${label}</button></form>`;
    const reasons = ['unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'].map((r) => `<option>${r}</option>`).join('');
    const actions = canWork
      ? [
          c.status === 'good' ? change('revoke', t.requestRevoke, `<select name="reason">${reasons}</select>`) : '',
          c.status === 'good' ? change('suspend', t.requestSuspend) : '',
          c.status === 'hold' ? change('unsuspend', t.requestUnsuspend) : '',
          c.status !== 'revoked' ? change('renew', t.requestRenew) : '',
        ].join('')
      : '';
    const body = `<dl><dt>${t.ca}</dt><dd>${esc(c.ca)}</dd><dt>${t.serial}</dt><dd id="serial">${esc(c.serial)}</dd><dt>${t.subject}</dt><dd>${esc(c.subject)}</dd><dt>SAN</dt><dd>${esc(c.sans.join(', '))}</dd>
      <dt>${t.profile}</dt><dd>${esc(c.profile)}</dd><dt>${t.status}</dt><dd id="status">${esc(c.status)}</dd><dt>${t.notAfter}</dt><dd>${esc(c.notAfter)}</dd></dl>${actions}`;
    return send(reply, layout(ctx, `${t.certificates} ${c.serial}`, body, flashOf(request)));
  });

  app.get<{ Querystring: { days?: string } }>('/desk/expiring', { config: RA_READ, preHandler: ensureSession }, async (request, reply) => {
    const ctx = context(request);
    const days = /^[0-9]{1,4}$/.test(request.query.days ?? '') ? Number(request.query.days) : 30;
    const list = await desk.expiring(days, 500);
    const rows = list.map((c) => `<tr><td><a href="/desk/certificates/${esc(c.ca)}/${esc(c.serial)}">${esc(c.serial)}</a></td><td>${esc(c.subject)}</td><td>${esc(c.profile)}</td><td>${esc(c.notAfter.slice(0, 10))}</td><td>${c.daysLeft}</td></tr>`).join('');
    const form = `<form method="get"><label>${ctx.t.days} <input name="days" value="${days}" size="4"></label><button>${ctx.t.filter}</button></form>`;
    return send(reply, layout(ctx, ctx.t.expiring, `${form}<table><thead><tr><th>${ctx.t.serial}</th><th>${ctx.t.subject}</th><th>${ctx.t.profile}</th><th>${ctx.t.notAfter}</th><th>${ctx.t.days}</th></tr></thead><tbody>${rows}</tbody></table>`, flashOf(request)));
  });

}

function requestPage(ctx: PageContext, r: RequestView): string {
  const { t } = ctx;
  const canWork = ctx.principal?.activeRoles.includes('ra-operator') ?? false;
  const applicant = Object.entries(r.applicant)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(Array.isArray(v) ? v.join(', ') : v)}</dd>`)
    .join('');
  const history = [
    [t.state_submitted, r.submittedBy, r.submittedAt],
    r.vettedBy ? [t.state_vetted, r.vettedBy, r.vettedAt] : undefined,
    r.approvedBy ? [t.state_approved, r.approvedBy, r.approvedAt] : undefined,
    r.rejectedBy ? [`${t.state_rejected}: ${r.rejectReason}`, r.rejectedBy, r.rejectedAt] : undefined,
    r.issuedAt ? [`${t.state_issued} ${r.issuedSerial}`, '', r.issuedAt] : undefined,
    r.deliveredAt ? [t.state_delivered, '', r.deliveredAt] : undefined,
  ]
    .filter((x): x is string[] => Boolean(x))
    .map(([what, who, when]) => `<tr><td>${esc(what)}</td><td>${esc(who)}</td><td>${esc(when)}</td></tr>`)
    .join('');
  const form = (path: string, label: string, inner = '', id = path) =>
    `<form method="post" action="/desk/requests/${r.id}/${path}" id="form-${id}">${hidden(ctx)}<input type="hidden" name="_back" value="/desk/requests/${r.id}">${inner}<button id="do-${id}">${label}</button></form>`;
  const actions: string[] = [];
  if (canWork) {
    if (r.state === 'submitted') {
      actions.push(
        `<fieldset><legend>${t.vet}</legend>${form('vet', t.vet, `<label>${t.documentType} <select name="documentType" id="f-documentType">${documentTypes(ctx, r)}</select></label>
          <label>${t.documentNumber} <input name="documentNumber" id="f-documentNumber" required></label><label>${t.presentedBy} <input name="presentedBy" id="f-presentedBy" required></label><label>${t.notes} <input name="notes"></label>`)}</fieldset>`,
      );
    }
    if (r.state === 'vetted') actions.push(`<fieldset><legend>${t.approve}</legend>${r.fourEyes ? `<p>${t.fourEyes}</p>` : ''}${form('approve', t.approve)}</fieldset>`);
    if (r.state === 'approved') actions.push(`<fieldset><legend>${t.issue}</legend>${form('issue', t.issue)}</fieldset>`);
    if (['submitted', 'vetted', 'approved'].includes(r.state)) actions.push(`<fieldset><legend>${t.reject}</legend>${form('reject', t.reject, `<label>${t.reason} <input name="reason" required></label>`)}</fieldset>`);
    if (r.state === 'issued' && r.awaitingDownload) {
      actions.push(`<fieldset><legend>${t.download}</legend>${form('pkcs12', t.downloadP12, `<label>${t.p12Password} <input type="password" name="password" id="f-p12" minlength="8" required autocomplete="new-password"></label>`)}</fieldset>`);
    }
    if ((r.state === 'issued' || r.state === 'delivered') && !r.awaitingDownload && ['issue', 'renew', 'rekey'].includes(r.kind)) {
      actions.push(`<p>${t.download}: <a href="/desk/requests/${r.id}/certificate?format=pem">${t.downloadPem}</a> · <a href="/desk/requests/${r.id}/certificate?format=der">${t.downloadDer}</a> · <a href="/desk/requests/${r.id}/certificate?format=chain">${t.downloadChain}</a></p>`);
    }
  }
  return `<p>${t.state}: ${stateLabel(ctx, r.state)} · ${t.kind}: ${esc(r.kind)} · ${t.profile}: ${esc(r.profile)} · ${t.ca}: ${esc(r.ca)}${r.targetSerial ? ` · ${t.serial}: ${esc(r.targetSerial)}` : ''}${r.issuedSerial ? ` · <a href="/desk/certificates/${esc(r.ca)}/${esc(r.issuedSerial)}" id="issued-serial">${esc(r.issuedSerial)}</a>` : ''}</p>
    <h2>${t.applicant}</h2><dl>${applicant}</dl>${r.vetting ? `<h2>${t.vet}</h2><dl>${Object.entries(r.vetting).map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>` : ''}
    ${actions.join('')}<h2>${t.history}</h2><table><tbody>${history}</tbody></table>`;
}

/** The documents an operator may record, the usual one for the request first. */
function documentTypes(ctx: PageContext, r: RequestView): string {
  const all: Array<[string, string]> = [['resident-id', ctx.t.residentId], ['employee-card', ctx.t.employeeNumber], ['device-record', 'device record'], ['letter', 'letter']];
  const usual = r.subjectType === 'person' ? (r.applicant.idType === 'employee-number' ? 'employee-card' : 'resident-id') : r.subjectType === 'device' ? 'device-record' : 'letter';
  return all.map(([value, label]) => `<option value="${value}"${value === usual ? ' selected' : ''}>${esc(label)}</option>`).join('');
}

/** A desk form as a desk request: the same validation as the API then applies. */
function formToSubmit(form: Record<string, string | undefined>): SubmitRequest {
  const text = (key: string) => (form[key] ?? '').trim();
  const kind = text('kind') || 'issue';
  if (kind !== 'issue') {
    const base = { ca: text('ca'), targetSerial: text('targetSerial') };
    if (kind === 'revoke') return { kind, ...base, reason: text('reason') || 'unspecified' };
    if (kind === 'renew' || kind === 'suspend' || kind === 'unsuspend' || kind === 'rekey') return { kind, ...base };
    throw new EgovError('bad-request', `kind "${kind}" is not a request kind`);
  }
  const type = text('subjectType');
  const optional = (key: string) => (text(key) ? { [key]: text(key) } : {});
  let applicant: Applicant;
  if (type === 'person') {
    const idType = text('idType') === 'employee-number' ? 'employee-number' : 'resident-id';
    applicant = { type, fields: { name: text('name'), idType, idNumber: text('idNumber'), department: text('department'), ...optional('phone'), ...optional('email') } };
  } else if (type === 'device') {
    const zone = text('zone') === 'external' ? 'external' : 'internal';
    const ipAddresses = text('ipAddresses').split(/[,\s]+/).filter(Boolean);
    applicant = { type, fields: { hostname: text('hostname'), ipAddresses, zone, site: text('site'), ...optional('assetTag') } };
  } else if (type === 'software') {
    applicant = { type, fields: { name: text('name'), vendor: text('vendor'), version: text('version') } };
  } else {
    throw new EgovError('bad-request', `subjectType "${type}" is not person, device or software`);
  }
  for (const [key, value] of Object.entries(applicant.fields)) {
    if (value === '' && !['phone', 'email', 'assetTag'].includes(key)) throw new EgovError('bad-request', `${type}.${key}: is empty`, { field: key });
  }
  return { kind: 'issue', ca: text('ca'), profile: text('profile'), applicant, ...(text('csr') ? { csr: text('csr') } : {}) };
}
