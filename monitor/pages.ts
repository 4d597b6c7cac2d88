// The status page: what is up on both networks, as server-rendered HTML in
// English and Chinese, refreshed by the browser every 30 s (no script).
//
//   GET /status               nodes by zone and site, busiest links, interfaces
//                             down on nodes that are up, recent logs and events
//   GET /status/logs          a search over the stored logs (node, severity,
//                             text, time range), paged by id
//   GET /status/nodes/:name   one node: its latest samples and its recent logs
//
// Each section is one query (the stores answer for every node at once), run
// side by side: the page costs the same whatever the number of nodes. Every
// value from a device or the inventory is escaped.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { consolePage, EgovError, pageErrorHandler, sendPage, type Principal } from '../core/index.js';
import { pickStatusLanguage, statusWords, type StatusLanguage, type StatusWords } from './i18n.js';
import { LEVELS, ZONES, type LinkView } from './inventory-spec.js';
import type { StoredEvent, StoredLog } from './log-store.js';
import { GRAPH_SCRIPTS, graphWords, linkSparklines, nodeGraphsSection, parseRange, registerGraphAssets } from './graph-pages.js';
import type { Monitor } from './monitor.js';
import { SEVERITIES, type MetricPoint, type Severity } from './records.js';
import { NODE_NAME_PATTERN } from './schemas.js';
import { linkStatus, NODE_STATES, type InterfaceStatus, type LinkStatus, type NodeState, type NodeStatus } from './status.js';

export interface StatusPagesOptions {
  monitor: Monitor;
  /** HTML put at the top of the status page (the alerts module lists what is firing there); escaped by its maker. */
  top?: (request: FastifyRequest) => Promise<string>;
}

/** Who may read the status pages: operators, officers and auditors of the network and the CA. */
export const STATUS_PAGE = { roles: ['network-admin', 'security-officer', 'auditor', 'ca-admin'] as const };
export const STATUS_REFRESH_SECONDS = 30;
const WORST_LINKS = 10;
const RECENT_LOGS = 50;
const RECENT_EVENTS = 20;
const LOG_PAGE = 100;
const NODE_LOGS = 50;
const NODE_EVENTS = 20;
/** Down interfaces listed on the overview; the rest are counted. */
const DOWN_INTERFACES_SHOWN = 100;
/** Above this many nodes, sites where everything is up start folded. */
const FOLD_ABOVE_NODES = 300;
const MESSAGE_SHOWN = 1000;

const esc = (value: unknown): string =>
  String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…` : text);

// The status pages' own look; the frame's (header, tables, badges) is the console's.
const STATUS_STYLE = `.counts .st{font-size:1rem;margin-right:.5rem;padding:.2rem .6rem}
.sev{display:inline-block;padding:0 .35rem;border-radius:3px;font-size:.8rem;white-space:nowrap}
.sev-emergency,.sev-alert,.sev-critical{background:#9b1c1c;color:#fff}.sev-error{background:#fde8e8;color:#9b1c1c}
.sev-warning{background:#fff1dc;color:#8a4b00}.sev-notice{background:#e8eef6;color:#12355b}.sev-info,.sev-debug{background:#eceff2;color:#4a5560}
.bar{display:inline-block;width:8rem;height:.7rem;background:#eceff2;border:1px solid #c3cad1;vertical-align:middle;margin-right:.4rem}
.bar>span{display:block;height:100%}.bar .ok{background:#3c9a5f}.bar .warn{background:#e0a030}.bar .hot{background:#c0392b}
.stale{color:#8a4b00;font-size:.8rem}`;

// ---------------------------------------------------------------- page frame

interface PageContext {
  request: FastifyRequest;
  lang: StatusLanguage;
  t: StatusWords;
  principal: Principal | undefined;
  /** The request's query without `lang`: what the language switch keeps. */
  query: URLSearchParams;
  now: number;
}

function context(request: FastifyRequest, monitor: Monitor): PageContext {
  const lang = pickStatusLanguage(request.headers.cookie, request.headers['accept-language']);
  const query = new URLSearchParams(request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '');
  query.delete('lang');
  return { request, lang, t: statusWords(lang), principal: request.principal, query, now: (monitor.options.now?.() ?? new Date()).getTime() };
}

/** A status page in the console frame: the overview and the node pages are section `status`, the log search `logs`. */
function layout(ctx: PageContext, title: string, body: string, options: { refresh?: boolean; flash?: string; section?: string; scripts?: readonly string[] } = {}): string {
  return consolePage(ctx.request, {
    title,
    body,
    section: options.section ?? 'status',
    ...(options.scripts ? { scripts: options.scripts } : {}),
    ...(options.refresh ? { refreshSeconds: STATUS_REFRESH_SECONDS } : {}),
    ...(options.flash ? { flash: { kind: 'error' as const, text: options.flash } } : {}),
  });
}

const send = sendPage;

// ---------------------------------------------------------------- formatting

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The server's time zone as UTC±hh:mm. */
function zoneName(ms: number): string {
  const offset = -new Date(ms).getTimezoneOffset();
  return `UTC${offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** Local wall-clock time of the server, to the second. */
function localText(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** What a datetime-local input shows for a time. */
function localInput(ms: number): string {
  return localText(ms).replace(' ', 'T');
}

const timeCell = (ms: number | null, ctx: PageContext, relative = false): string => {
  if (ms === null) return esc(ctx.t.never);
  const iso = new Date(ms).toISOString();
  const ago = relative ? ` <span class="meta">(${esc(ctx.t.ago(Math.max(0, Math.floor((ctx.now - ms) / 60_000))))})</span>` : '';
  return `<time datetime="${iso}" title="${iso}">${localText(ms)}</time>${ago}`;
};

function scaled(value: number, units: readonly string[], base: number): string {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  const digits = Math.abs(v) >= 100 || i === 0 ? 0 : Math.abs(v) >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[i]}`;
}
const bitsPerSec = (bps: number | null) => (bps === null ? '—' : scaled(bps, ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'], 1000));
const bytes = (n: number | null) => (n === null ? '—' : scaled(n, ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], 1024));
const percent = (p: number | null) => (p === null ? '—' : `${p.toFixed(p >= 10 ? 1 : 2)} %`);

function bar(pct: number | null): string {
  if (pct === null) return '';
  const width = Math.min(100, Math.max(0, pct));
  const level = pct >= 90 ? 'hot' : pct >= 70 ? 'warn' : 'ok';
  return `<span class="bar" aria-hidden="true"><span class="${level}" style="width:${width.toFixed(1)}%"></span></span>`;
}

const STATE_MARK: Record<NodeState, string> = { up: '✔', down: '✖', unreachable: '⚠', unknown: '?' };
const stateBadge = (ctx: PageContext, state: NodeState) => `<span class="st st-${state}" data-state="${state}">${STATE_MARK[state]} ${esc(ctx.t.state[state])}</span>`;
const linkStateBadge = (ctx: PageContext, state: LinkStatus['status']) => {
  const as: NodeState = state === 'up' ? 'up' : state === 'down' ? 'down' : 'unknown';
  return `<span class="st st-${as}" data-state="${state}">${STATE_MARK[as]} ${esc(ctx.t.linkState[state])}</span>`;
};
const severityBadge = (ctx: PageContext, severity: Severity) => `<span class="sev sev-${severity}" data-severity="${severity}">${esc(ctx.t.severity[severity])}</span>`;
const nodeHref = (name: string) => `/status/nodes/${encodeURIComponent(name)}`;
const nodeLink = (name: string) => `<a href="${esc(nodeHref(name))}">${esc(name)}</a>`;
const field = (point: MetricPoint | undefined, name: string): number | null => {
  const value = point?.fields[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
};
const empty = (html: string, id?: string) => `<p class="empty"${id ? ` id="${id}"` : ''}>${html}</p>`;

// ---------------------------------------------------------------- sections

/** Each state with its count; a site's line leaves out the states none of its nodes is in. */
function countsLine(ctx: PageContext, nodes: readonly NodeStatus[], skipZero = false): string {
  const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
  for (const node of nodes) counts[node.status]++;
  return NODE_STATES.filter((s) => !skipZero || counts[s] > 0)
    .map((s) => `<span class="st st-${s}" data-count="${s}">${STATE_MARK[s]} ${esc(ctx.t.state[s])}: ${counts[s]}</span>`)
    .join(' ');
}

/** Problems first: a site's list reads from what needs attention. */
const STATE_ORDER: Record<NodeState, number> = { down: 0, unreachable: 1, unknown: 2, up: 3 };

function nodesSection(ctx: PageContext, nodes: readonly NodeStatus[], upTimes: ReadonlyMap<string, number>): string {
  const { t } = ctx;
  if (!nodes.length) return `<section id="nodes"><h2>${esc(t.nodes)}</h2>${empty(t.noNodes, 'no-nodes')}</section>`;
  const fold = nodes.length > FOLD_ABOVE_NODES;
  const zones = ZONES.map((zone) => ({ zone, nodes: nodes.filter((n) => n.zone === zone) })).filter((z) => z.nodes.length);
  const zoneHtml = zones.map(({ zone, nodes: inZone }) => {
    const sites = new Map<string, NodeStatus[]>();
    for (const node of inZone) sites.set(node.site, [...(sites.get(node.site) ?? []), node]);
    const levelRank = (list: readonly NodeStatus[]) => Math.min(...list.map((n) => LEVELS.indexOf(n.level)));
    const ordered = [...sites.entries()].sort(([a, x], [b, y]) => levelRank(x) - levelRank(y) || a.localeCompare(b, 'zh-CN'));
    const siteHtml = ordered
      .map(([site, list]) => {
        const levels = LEVELS.filter((l) => list.some((n) => n.level === l)).map((l) => t.level[l]);
        const allUp = list.every((n) => n.status === 'up');
        const rows = [...list]
          .sort((a, b) => STATE_ORDER[a.status] - STATE_ORDER[b.status] || a.name.localeCompare(b.name))
          .map((n) => {
            const upTime = upTimes.get(n.name);
            const cut = n.cutOffBy.length ? ` <span class="meta">${esc(t.cutOffBy)}: ${n.cutOffBy.map(nodeLink).join(', ')}</span>` : '';
            return `<tr data-node="${esc(n.name)}" data-state="${n.status}"><td>${nodeLink(n.name)}</td><td>${esc(t.kind[n.kind])}</td><td>${esc(n.address)}</td>
<td>${stateBadge(ctx, n.status)}${cut}</td><td>${timeCell(n.sampledAt, ctx, true)}</td><td class="num">${upTime === undefined ? '—' : esc(t.duration(upTime))}</td></tr>`;
          })
          .join('');
        return `<details${fold && allUp ? '' : ' open'} data-site="${esc(site)}" data-zone="${zone}"><summary><b>${esc(site)}</b> · ${esc(levels.join(', '))} · ${countsLine(ctx, list, true)}</summary>
<table><thead><tr><th>${esc(t.node)}</th><th>${esc(t.kindLabel)}</th><th>${esc(t.address)}</th><th>${esc(t.state_)}</th><th>${esc(t.lastSeen)}</th><th class="num">${esc(t.sysUpTime)}</th></tr></thead><tbody>${rows}</tbody></table></details>`;
      })
      .join('');
    return `<section class="zone" id="zone-${zone}"><h3>${esc(t.zone[zone])} <span class="meta">(${inZone.length})</span></h3>${siteHtml}</section>`;
  });
  return `<section id="nodes"><h2>${esc(t.nodes)}</h2>${zoneHtml.join('')}</section>`;
}

const endLabel = (end: LinkView['a']) => `${nodeLink(end.node)}:${esc(end.interface)}`;

function worstLinksSection(ctx: PageContext, links: readonly LinkStatus[], sparks: ReadonlyMap<number, string>): string {
  const { t } = ctx;
  const body = links.length
    ? `<table id="worst-links"><thead><tr><th>${esc(t.link)}</th><th class="num">${esc(t.capacity)}</th><th>${esc(t.utilisation)}</th><th>${esc(graphWords(ctx.lang).last24h)}</th><th class="num">${esc(t.aToB)}</th><th class="num">${esc(t.bToA)}</th><th>${esc(t.state_)}</th><th>${esc(t.measuredAt)}</th></tr></thead><tbody>${links
        .map(
          (l) => `<tr data-link="${l.id}"><td>${endLabel(l.a)} ⇄ ${endLabel(l.b)}${l.description ? ` <span class="meta">${esc(l.description)}</span>` : ''}</td><td class="num">${bitsPerSec(l.capacityBps)}</td>
<td>${bar(l.utilisationPct)}<b>${percent(l.utilisationPct)}</b></td><td class="spark-cell">${sparks.get(l.id) ?? '—'}</td><td class="num">${percent(l.aToBPct)}</td><td class="num">${percent(l.bToAPct)}</td><td>${linkStateBadge(ctx, l.status)}</td><td>${l.measuredAt === null ? '—' : esc(l.measuredAt === 'a' ? l.a.node : l.b.node)} <span class="meta">${l.sampledAt === null ? '' : timeCell(l.sampledAt, ctx)}</span></td></tr>`,
        )
        .join('')}</tbody></table>`
    : empty(t.noLinkFigures, 'no-links');
  return `<section id="links"><h2>${esc(t.worstLinks)}</h2>${body}</section>`;
}

/** Operationally not up, and not switched off on purpose (adminStatus down) nor waiting by design (dormant). */
const isDownInterface = (i: { operStatus: string | null; adminStatus: string | null }) => i.operStatus !== null && i.operStatus !== 'up' && i.operStatus !== 'dormant' && i.adminStatus !== 'down';

function downInterfacesSection(ctx: PageContext, interfaces: readonly InterfaceStatus[]): string {
  const { t } = ctx;
  const shown = interfaces.slice(0, DOWN_INTERFACES_SHOWN);
  const body = interfaces.length
    ? `<table id="down-interfaces"><thead><tr><th>${esc(t.node)}</th><th>${esc(t.interfaceName)}</th><th>${esc(t.operStatus)}</th><th>${esc(t.adminStatus)}</th><th>${esc(t.lastSeen)}</th></tr></thead><tbody>${shown
        .map(
          (i) => `<tr><td>${nodeLink(i.node)}</td><td>${esc(i.ifName ?? i.ifIndex ?? '')}</td><td><span class="st st-down">✖ ${esc(i.operStatus)}</span></td><td>${esc(i.adminStatus ?? '—')}</td><td>${timeCell(i.sampledAt, ctx)}</td></tr>`,
        )
        .join('')}</tbody></table>${interfaces.length > shown.length ? `<p class="meta">${esc(t.shownOf(shown.length, interfaces.length))}</p>` : ''}`
    : empty(esc(t.noDownInterfaces), 'no-down-interfaces');
  return `<section id="interfaces"><h2>${esc(t.downInterfaces)}</h2>${body}</section>`;
}

function logsTable(ctx: PageContext, logs: readonly StoredLog[], id: string): string {
  const { t } = ctx;
  return `<table id="${id}"><thead><tr><th>${esc(t.time)}</th><th>${esc(t.severityLabel)}</th><th>${esc(t.node)}</th><th>${esc(t.app)}</th><th>${esc(t.message)}</th></tr></thead><tbody>${logs
    .map(
      (l) => `<tr data-log="${l.id}"><td>${timeCell(l.time, ctx)}</td><td>${severityBadge(ctx, l.severity)}</td><td>${l.node ? nodeLink(l.node) : `<span class="meta">${esc(l.host ?? l.sourceAddress)}</span>`}</td><td>${esc(l.app ?? '')}</td><td class="msg">${esc(clip(l.message, MESSAGE_SHOWN))}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

function eventsTable(ctx: PageContext, events: readonly StoredEvent[]): string {
  const { t } = ctx;
  return `<table id="events-table"><thead><tr><th>${esc(t.time)}</th><th>${esc(t.severityLabel)}</th><th>${esc(t.node)}</th><th>${esc(t.kindLabel)}</th><th>${esc(t.eventName)}</th><th>${esc(t.detail)}</th></tr></thead><tbody>${events
    .map((e) => {
      const detail = clip(Object.entries(e.detail).map(([k, v]) => `${k}=${v}`).join('  '), 400);
      return `<tr data-event="${e.id}"><td>${timeCell(e.time, ctx)}</td><td>${severityBadge(ctx, e.severity)}</td><td>${e.node ? nodeLink(e.node) : `<span class="meta">${esc(e.sourceAddress)}</span>`}</td><td>${esc(t.eventKind[e.kind] ?? e.kind)}</td><td>${esc(e.name)}</td><td class="msg">${esc(detail)}</td></tr>`;
    })
    .join('')}</tbody></table>`;
}

// ---------------------------------------------------------------- log search input

function badRequest(message: string): EgovError {
  return new EgovError('bad-request', message);
}

/** Epoch ms, ISO-8601, or what a datetime-local input sends (the server's local time). */
function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(ms)) throw badRequest(`${name} must be a date and time (YYYY-MM-DDTHH:MM), an ISO-8601 time or epoch milliseconds (got ${JSON.stringify(clip(text, 60))})`);
  return ms;
}

interface LogQuery {
  node?: string;
  severity?: Severity;
  q?: string;
  from?: number;
  to?: number;
  /** The last row of the previous page: the cursor. */
  before?: { time: number; id: number };
}

function parseLogQuery(query: Record<string, string | string[] | undefined>): LogQuery {
  const one = (key: string): string | undefined => {
    const value = query[key];
    const text = Array.isArray(value) ? value[0] : value;
    return text === undefined || text.trim() === '' ? undefined : text.trim();
  };
  const result: LogQuery = {};
  const node = one('node');
  if (node !== undefined) {
    if (!new RegExp(NODE_NAME_PATTERN).test(node)) throw badRequest(`node must be a node name: 1-63 letters, digits, dots, hyphens or underscores (got ${JSON.stringify(clip(node, 80))})`);
    result.node = node;
  }
  const severity = one('severity');
  if (severity !== undefined) {
    if (!(SEVERITIES as readonly string[]).includes(severity)) throw badRequest(`severity must be one of ${SEVERITIES.join(', ')} (got ${JSON.stringify(clip(severity, 40))})`);
    result.severity = severity as Severity;
  }
  const q = one('q');
  if (q !== undefined) {
    if (q.length > 256) throw badRequest(`q: at most 256 characters (got ${q.length})`);
    result.q = q;
  }
  const from = parseTime(one('from'), 'from');
  const to = parseTime(one('to'), 'to');
  if (from !== undefined) result.from = from;
  if (to !== undefined) result.to = to;
  if (from !== undefined && to !== undefined && from >= to) throw badRequest('from must be before to');
  const before = one('before');
  if (before !== undefined) {
    const cursor = /^(\d{1,15}):(\d{1,15})$/.exec(before);
    if (!cursor) throw badRequest(`before must be TIME:ID, the last record of the previous page (got ${JSON.stringify(clip(before, 40))})`);
    result.before = { time: Number(cursor[1]), id: Number(cursor[2]) };
  }
  return result;
}

/**
 * One page of logs, newest first: the store orders by (time, id), so the page
 * after the record (T, I) is what has time T and an id below I, then what is
 * older than T. (A cursor on the id alone would repeat or skip records whose
 * ids do not follow their times: an agent's backlog, a device's clock.)
 */
async function logPage(monitor: Monitor, query: LogQuery, limit: number): Promise<StoredLog[]> {
  const filters = {
    ...(query.node !== undefined ? { node: query.node } : {}),
    ...(query.severity !== undefined ? { severity: query.severity } : {}),
    ...(query.q !== undefined ? { text: query.q } : {}),
  };
  const range = { ...(query.from !== undefined ? { from: query.from } : {}), ...(query.to !== undefined ? { to: query.to } : {}) };
  if (!query.before) return monitor.logs.search({ ...filters, ...range, limit });
  const { time, id } = query.before;
  const [sameTime, older] = await Promise.all([
    monitor.logs.search({ ...filters, from: time, to: time + 1, beforeId: id, limit }),
    monitor.logs.search({ ...filters, ...range, to: Math.min(time, query.to ?? Number.MAX_SAFE_INTEGER), limit }),
  ]);
  return [...sameTime, ...older].slice(0, limit);
}

// ---------------------------------------------------------------- node page helpers

const IF_STATUS = ['up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown'] as const;
const ifStatusName = (value: number | null) => (value === null ? null : (IF_STATUS[value - 1] ?? 'unknown'));

/** Interface utilisation: the agent's own figure, else the rate over the link's capacity, else over the interface speed. */
function utilisation(point: MetricPoint, direction: 'in' | 'out', capacityBps: number | undefined): number | null {
  const own = field(point, `${direction}UtilisationPct`);
  if (own !== null) return own;
  const rate = field(point, `${direction}BitsPerSec`);
  const speedMbps = field(point, 'highSpeedMbps');
  const capacity = capacityBps ?? (speedMbps ? speedMbps * 1e6 : null);
  return rate === null || !capacity ? null : Math.round((rate / capacity) * 10_000) / 100;
}

const byIfIndex = (a: MetricPoint, b: MetricPoint) => Number(a.tags.ifIndex ?? 0) - Number(b.tags.ifIndex ?? 0) || (a.tags.ifName ?? '').localeCompare(b.tags.ifName ?? '');

// ---------------------------------------------------------------- the plugin

export async function statusPages(app: FastifyInstance, options: StatusPagesOptions): Promise<void> {
  const { monitor } = options;
  const staleAfterMs = monitor.options.staleAfterMs ?? 5 * 60_000;

  app.console.addSection({ id: 'status', href: '/status', label: { en: 'Network status', 'zh-CN': '网络状态' }, roles: STATUS_PAGE.roles, order: 20 });
  app.console.addSection({ id: 'logs', href: '/status/logs', label: { en: 'Logs', 'zh-CN': '日志' }, roles: STATUS_PAGE.roles, order: 25 });
  app.console.addStyle(STATUS_STYLE);
  registerGraphAssets(app);
  app.setErrorHandler(pageErrorHandler('/status'));

  app.get('/status', { config: STATUS_PAGE }, async (request, reply) => {
    const ctx = context(request, monitor);
    const { t } = ctx;
    const started = process.hrtime.bigint();
    const [nodes, system, interfaces, links, logs, events] = await Promise.all([
      monitor.status.nodeStatuses(),
      monitor.metrics.latest('system'),
      monitor.status.interfaces(),
      monitor.inventory.listLinks(),
      monitor.logs.search({ limit: RECENT_LOGS }),
      monitor.events.list({ limit: RECENT_EVENTS }),
    ]);
    const serverMs = Number(process.hrtime.bigint() - started) / 1e6;

    // Links from the one interface query (the status layer's rule: fresh counters of either end).
    const byEnd = new Map(interfaces.filter((i) => i.fresh && i.ifName).map((i) => [`${i.node}\0${i.ifName}`, i]));
    const worst = links
      .map((link) => linkStatus(link, byEnd.get(`${link.a.node}\0${link.a.interface}`), byEnd.get(`${link.b.node}\0${link.b.interface}`)))
      .filter((l) => l.utilisationPct !== null)
      .sort((x, y) => y.utilisationPct! - x.utilisationPct! || x.id - y.id)
      .slice(0, WORST_LINKS);

    const sparks = await linkSparklines(monitor, worst, ctx.now, graphWords(ctx.lang).last24h);
    const up = new Set(nodes.filter((n) => n.status === 'up').map((n) => n.name));
    const downInterfaces = interfaces
      .filter((i) => i.fresh && up.has(i.node) && isDownInterface(i))
      .sort((a, b) => a.node.localeCompare(b.node) || Number(a.ifIndex ?? 0) - Number(b.ifIndex ?? 0));

    // Uptime now: the sample's sysUpTime plus the time since, for nodes that are up.
    const upTimes = new Map<string, number>();
    for (const point of system) {
      const node = point.tags.node;
      const seconds = field(point, 'sysUpTime');
      if (node && seconds !== null && up.has(node)) upTimes.set(node, seconds + Math.max(0, (ctx.now - point.time) / 1000));
    }

    const top = options.top ? await options.top(request).catch(() => '') : '';
    const summary = top + `<p class="counts" id="counts">${countsLine(ctx, nodes)}</p>
<p class="meta" id="as-of">${esc(t.updatedAt)} ${timeCell(ctx.now, ctx)} (${esc(t.timesIn(zoneName(ctx.now)))}) · ${esc(t.refreshEvery)}</p>`;
    const logSection = `<section id="logs"><h2>${esc(t.recentLogs)}</h2><p><a href="/status/logs" id="search-logs">${esc(t.searchLogs)} →</a></p>${logs.length ? logsTable(ctx, logs, 'recent-logs') : empty(esc(t.noLogs), 'no-logs')}</section>`;
    const eventSection = `<section id="events"><h2>${esc(t.recentEvents)}</h2>${events.length ? eventsTable(ctx, events) : empty(esc(t.noEvents), 'no-events')}</section>`;
    reply.header('server-timing', `db;dur=${serverMs.toFixed(1)}`);
    return send(
      reply,
      layout(ctx, t.title, summary + nodesSection(ctx, nodes, upTimes) + worstLinksSection(ctx, worst, sparks) + downInterfacesSection(ctx, downInterfaces) + logSection + eventSection, { refresh: true }),
    );
  });

  app.get<{ Querystring: Record<string, string | string[] | undefined> }>('/status/logs', { config: STATUS_PAGE }, async (request, reply) => {
    const ctx = context(request, monitor);
    const { t } = ctx;
    const query = parseLogQuery(request.query);
    const started = process.hrtime.bigint();
    const found = await logPage(monitor, query, LOG_PAGE + 1);
    reply.header('server-timing', `db;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}`);
    const logs = found.slice(0, LOG_PAGE);
    const option = (value: string, label: string) => `<option value="${esc(value)}"${(query.severity ?? '') === value ? ' selected' : ''}>${esc(label)}</option>`;
    const form = `<form method="get" action="/status/logs" id="log-search"><fieldset class="filters">
<label>${esc(t.node)} <input name="node" id="f-node" value="${esc(query.node)}" maxlength="63"></label>
<label>${esc(t.severityLabel)} (${esc(t.atOrAbove)}) <select name="severity" id="f-severity">${option('', t.any)}${SEVERITIES.map((s) => option(s, t.severity[s])).join('')}</select></label>
<label>${esc(t.text)} <input name="q" id="f-q" value="${esc(query.q)}" maxlength="256"></label>
<label>${esc(t.from)} <input type="datetime-local" step="1" name="from" id="f-from" value="${query.from === undefined ? '' : localInput(query.from)}"></label>
<label>${esc(t.to)} <input type="datetime-local" step="1" name="to" id="f-to" value="${query.to === undefined ? '' : localInput(query.to)}"></label>
<button id="f-search">${esc(t.filter)}</button></fieldset></form><p class="meta">${esc(t.timesIn(zoneName(ctx.now)))}</p>`;
    const keep = new URLSearchParams();
    for (const key of ['node', 'severity', 'q', 'from', 'to'] as const) {
      const value = ctx.query.get(key);
      if (value) keep.set(key, value);
    }
    const pages: string[] = [];
    if (query.before !== undefined) pages.push(`<a id="first" href="/status/logs?${esc(keep.toString())}">${esc(t.firstPage)}</a>`);
    if (found.length > LOG_PAGE) {
      const older = new URLSearchParams(keep);
      const last = logs[logs.length - 1]!;
      older.set('before', `${last.time}:${last.id}`);
      pages.push(`<a id="next" href="/status/logs?${esc(older.toString())}">${esc(t.next)} →</a>`);
    }
    const results = logs.length ? logsTable(ctx, logs, 'log-results') + (pages.length ? `<p>${pages.join(' · ')}</p>` : '') : empty(esc(t.noMatchingLogs), 'no-logs') + (pages.length ? `<p>${pages.join(' · ')}</p>` : '');
    return send(reply, layout(ctx, t.searchLogs, form + results, { section: 'logs' }));
  });

  app.get<{ Params: { name: string }; Querystring: { range?: string } }>('/status/nodes/:name', { config: STATUS_PAGE }, async (request, reply) => {
    const ctx = context(request, monitor);
    const { t } = ctx;
    const name = request.params.name;
    const range = parseRange(request.query.range);
    if (!new RegExp(NODE_NAME_PATTERN).test(name)) throw new EgovError('not-found', `no node named ${JSON.stringify(clip(name, 80))} in the inventory`);
    const started = process.hrtime.bigint();
    const [node, statuses, system, interfaces, host, storage, links, logs, events] = await Promise.all([
      monitor.inventory.getNode(name),
      monitor.status.nodeStatuses(),
      monitor.metrics.latest('system', { node: name }),
      monitor.metrics.latest('interface', { node: name }),
      monitor.metrics.latest('host', { node: name }),
      monitor.metrics.latest('storage', { node: name }),
      monitor.inventory.listLinks({ node: name }),
      monitor.logs.search({ node: name, limit: NODE_LOGS }),
      monitor.events.list({ node: name, limit: NODE_EVENTS }),
    ]);
    reply.header('server-timing', `db;dur=${(Number(process.hrtime.bigint() - started) / 1e6).toFixed(1)}`);
    const status = statuses.find((s) => s.name === name);
    const state: NodeState = status?.status ?? 'unknown';
    const staleMark = (time: number) => (ctx.now - time > staleAfterMs ? ` <span class="stale">(${esc(t.stale)})</span>` : '');
    const sys = system[0];
    const sysUpTime = field(sys, 'sysUpTime');
    const rtt = field(sys, 'rttMs');

    const facts = `<dl id="node-facts">
<dt>${esc(t.state_)}</dt><dd>${stateBadge(ctx, state)}${status?.cutOffBy.length ? ` <span class="meta">${esc(t.cutOffBy)}: ${status.cutOffBy.map(nodeLink).join(', ')}</span>` : ''}</dd>
<dt>${esc(t.kindLabel)}</dt><dd>${esc(t.kind[node.kind])}</dd>
<dt>${esc(t.site)}</dt><dd>${esc(t.zone[node.zone])} · ${esc(node.site)} · ${esc(t.level[node.level])}</dd>
<dt>${esc(t.address)}</dt><dd>${esc(node.address)}</dd>
<dt>${esc(t.parents)}</dt><dd>${node.parents.length ? node.parents.map(nodeLink).join(', ') : '—'}</dd>
<dt>${esc(t.snmp)}</dt><dd>${node.snmp ? `${esc(node.snmp.version)}${node.snmp.version === 'v3' ? ` (${esc(node.snmp.user)}, ${esc(node.snmp.authProtocol)}/${esc(node.snmp.privProtocol)})` : ''} · ${esc(String(node.snmpPort))}` : esc(t.notPolled)}</dd>
${node.description ? `<dt>${esc(t.description)}</dt><dd>${esc(node.description)}</dd>` : ''}
<dt>${esc(t.lastSeen)}</dt><dd>${sys ? timeCell(sys.time, ctx, true) + staleMark(sys.time) : esc(t.never)}</dd>
<dt>${esc(t.rtt)}</dt><dd>${rtt === null || state !== 'up' ? '—' : `${rtt.toFixed(1)} ms`}</dd>
<dt>${esc(t.sysUpTime)}</dt><dd>${sysUpTime === null ? '—' : esc(t.duration(state === 'up' && sys ? sysUpTime + Math.max(0, (ctx.now - sys.time) / 1000) : sysUpTime))}</dd>
</dl>`;

    const linkByInterface = new Map<string, { link: LinkView; peer: LinkView['a'] }>();
    for (const link of links) {
      if (link.a.node === name) linkByInterface.set(link.a.interface, { link, peer: link.b });
      if (link.b.node === name) linkByInterface.set(link.b.interface, { link, peer: link.a });
    }
    const ifRows = [...interfaces]
      .sort(byIfIndex)
      .map((p) => {
        const ifName = p.tags.ifName ?? '';
        const attached = linkByInterface.get(ifName);
        const oper = ifStatusName(field(p, 'operStatus'));
        const admin = ifStatusName(field(p, 'adminStatus'));
        const operBadge = oper === null ? '—' : `<span class="st st-${oper === 'up' ? 'up' : admin === 'down' ? 'unknown' : 'down'}">${esc(oper)}</span>`;
        const inPct = utilisation(p, 'in', attached?.link.capacityBps);
        const outPct = utilisation(p, 'out', attached?.link.capacityBps);
        const speed = field(p, 'highSpeedMbps');
        const inErr = field(p, 'inErrorsPerSec');
        const outErr = field(p, 'outErrorsPerSec');
        return `<tr data-interface="${esc(ifName)}"><td class="num">${esc(p.tags.ifIndex ?? '')}</td><td>${esc(ifName)}${attached ? ` <span class="meta">⇄ ${endLabel(attached.peer)}</span>` : ''}</td><td>${operBadge}</td><td>${esc(admin ?? '—')}</td>
<td class="num">${attached ? bitsPerSec(attached.link.capacityBps) : speed === null ? '—' : bitsPerSec(speed * 1e6)}</td><td class="num">${bitsPerSec(field(p, 'inBitsPerSec'))}</td><td class="num">${bitsPerSec(field(p, 'outBitsPerSec'))}</td>
<td>${bar(inPct)}${percent(inPct)}</td><td>${bar(outPct)}${percent(outPct)}</td><td class="num">${inErr === null && outErr === null ? '—' : `${inErr ?? '—'} / ${outErr ?? '—'}`}</td><td>${timeCell(p.time, ctx)}${staleMark(p.time)}</td></tr>`;
      })
      .join('');
    const ifSection = `<section id="node-interfaces"><h2>${esc(t.interfaces)}</h2>${
      interfaces.length
        ? `<table><thead><tr><th class="num">ifIndex</th><th>${esc(t.interfaceName)}</th><th>${esc(t.operStatus)}</th><th>${esc(t.adminStatus)}</th><th class="num">${esc(t.speed)}</th><th class="num">${esc(t.inRate)}</th><th class="num">${esc(t.outRate)}</th><th>${esc(t.inUtil)}</th><th>${esc(t.outUtil)}</th><th class="num">${esc(t.errors)}</th><th>${esc(t.lastSeen)}</th></tr></thead><tbody>${ifRows}</tbody></table>`
        : empty(esc(t.noInterfaces), 'no-interfaces')
    }</section>`;

    const h = host[0];
    const hostSection = `<section id="node-host"><h2>${esc(t.host)}</h2>${
      h
        ? `<dl><dt>${esc(t.cpu)}</dt><dd>${bar(field(h, 'cpuLoadPct'))}${percent(field(h, 'cpuLoadPct'))}</dd><dt>${esc(t.memory)}</dt><dd>${bar(field(h, 'memoryUsedPct'))}${percent(field(h, 'memoryUsedPct'))}</dd><dt>${esc(t.memoryTotal)}</dt><dd>${bytes(field(h, 'memoryTotalBytes'))}</dd><dt>${esc(t.lastSeen)}</dt><dd>${timeCell(h.time, ctx)}${staleMark(h.time)}</dd></dl>`
        : empty(esc(t.noHost), 'no-host')
    }</section>`;
    const storageSection = `<section id="node-storage"><h2>${esc(t.storage)}</h2>${
      storage.length
        ? `<table><thead><tr><th>${esc(t.storageName)}</th><th>${esc(t.used)}</th><th class="num">${esc(t.used)}</th><th class="num">${esc(t.size)}</th><th>${esc(t.lastSeen)}</th></tr></thead><tbody>${storage
            .map((s) => `<tr><td>${esc(s.tags.storage ?? '')}</td><td>${bar(field(s, 'usedPct'))}${percent(field(s, 'usedPct'))}</td><td class="num">${bytes(field(s, 'usedBytes'))}</td><td class="num">${bytes(field(s, 'sizeBytes'))}</td><td>${timeCell(s.time, ctx)}${staleMark(s.time)}</td></tr>`)
            .join('')}</tbody></table>`
        : empty(esc(t.noStorage), 'no-storage')
    }</section>`;

    const searchHref = `/status/logs?${new URLSearchParams({ node: name }).toString()}`;
    const logSection = `<section id="logs"><h2>${esc(t.recentLogs)}</h2><p><a href="${esc(searchHref)}" id="search-logs">${esc(t.searchLogs)} →</a></p>${logs.length ? logsTable(ctx, logs, 'recent-logs') : empty(esc(t.noLogs), 'no-logs')}</section>`;
    const eventSection = `<section id="events"><h2>${esc(t.recentEvents)}</h2>${events.length ? eventsTable(ctx, events) : empty(esc(t.noEvents), 'no-events')}</section>`;
    return send(reply, layout(ctx, `${t.nodeTitle} ${name}`, `<h2>${esc(t.system)}</h2>${facts}${nodeGraphsSection(request, name, interfaces, range)}${ifSection}${hostSection}${storageSection}${logSection}${eventSection}`, { refresh: true, scripts: GRAPH_SCRIPTS }));
  });
}
