// Graphs in the console: the node page's graphs (per interface traffic,
// utilisation, errors and discards; CPU, memory, storage, RTT), the
// busiest-links sparklines, and the topology page. uPlot and our small
// client script are console assets (script-src 'self'); graph elements
// carry what to draw in data-* attributes. Sparklines and the topology are
// inline SVG drawn here: they need no script at all.

import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { consolePage, EgovError, esc, pageErrorHandler, pageLanguage, sendPage, type Language } from '../core/index.js';
import { GRAPH_CLIENT_JS, GRAPH_STYLE } from './graph-client.js';
import { GRAPH_RANGE_NAMES, GRAPH_RANGES, type GraphRange } from './graph-api.js';
import { LEVELS } from './inventory-spec.js';
import type { Monitor } from './monitor.js';
import type { MetricPoint } from './records.js';
import { FIVE_MINUTES_MS } from './rollups.js';
import type { LinkStatus, NodeState, NodeStatus } from './status.js';

export const GRAPH_SCRIPTS = ['uplot.js', 'egov-graphs.js'] as const;
const TOPOLOGY_ROLES = ['network-admin', 'security-officer', 'auditor', 'ca-admin'] as const;

const WORDS = {
  en: {
    graphs: 'Graphs', range: 'Range', traffic: 'Traffic', utilisation: 'Utilisation', errors: 'Errors and discards', cpuMemory: 'CPU and memory', storage: 'Storage used', rtt: 'Round-trip time',
    in: 'In', out: 'Out', inErrors: 'In errors', outErrors: 'Out errors', inDiscards: 'In discards', outDiscards: 'Out discards', cpu: 'CPU', memory: 'Memory', noData: 'No samples in this range',
    inBelow: 'inbound drawn below the axis', topology: 'Topology', topologyIntro: 'Sites and nodes by their parents (core at the top); links coloured by state and utilisation. Click a node to open it.',
    last24h: 'last 24 h', noNodes: 'No nodes in the inventory yet.', legendUp: 'up', legendDown: 'down', legendHot: '≥ 90 %', legendWarm: '≥ 70 %', legendParent: 'parent',
  },
  'zh-CN': {
    graphs: '图表', range: '时间范围', traffic: '流量', utilisation: '利用率', errors: '错误与丢弃', cpuMemory: 'CPU 与内存', storage: '存储使用率', rtt: '往返时延',
    in: '入', out: '出', inErrors: '入错误', outErrors: '出错误', inDiscards: '入丢弃', outDiscards: '出丢弃', cpu: 'CPU', memory: '内存', noData: '此时间范围内无采样',
    inBelow: '入方向画在横轴下方', topology: '拓扑', topologyIntro: '按上级关系排列的站点与节点（核心在上）；链路颜色表示状态与利用率。点击节点查看详情。',
    last24h: '最近 24 小时', noNodes: '清单中还没有节点。', legendUp: '正常', legendDown: '中断', legendHot: '≥ 90 %', legendWarm: '≥ 70 %', legendParent: '上级',
  },
} satisfies Record<Language, Record<string, string>>;
export type GraphWords = (typeof WORDS)['en'];
export const graphWords = (lang: Language): GraphWords => WORDS[lang];

/** uPlot's files from node_modules (resolved from this module; the CLI bundle finds them the same way). */
function uplotFile(name: string): Buffer {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve(`uplot/dist/${name}`));
}

/** Registers uPlot, its CSS and our client script as console assets, and the graphs' CSS. */
export function registerGraphAssets(app: FastifyInstance): void {
  if (app.console.asset('uplot.js')) return;
  app.console.addAsset('uplot.js', 'application/javascript; charset=utf-8', uplotFile('uPlot.iife.min.js'));
  app.console.addAsset('egov-graphs.js', 'application/javascript; charset=utf-8', GRAPH_CLIENT_JS);
  app.console.addStyle(uplotFile('uPlot.min.css').toString('utf8'));
  app.console.addStyle(GRAPH_STYLE);
}

export function parseRange(value: unknown): GraphRange {
  if (value === undefined || value === '') return '24h';
  if (typeof value === 'string' && value in GRAPH_RANGES) return value as GraphRange;
  throw new EgovError('bad-request', `range must be one of ${GRAPH_RANGE_NAMES.join(', ')} (got ${JSON.stringify(String(value).slice(0, 40))})`);
}

interface GraphSpec {
  title: string;
  measurement: string;
  fields: string[];
  unit: 'bps' | 'pct' | 'rate' | 'ms' | 'count';
  tags: Record<string, string>;
  labels: Record<string, string>;
  below?: string;
  id: string;
}

function graphCard(spec: GraphSpec, range: GraphRange, t: GraphWords, note = ''): string {
  const tagAttrs = Object.entries(spec.tags)
    .map(([k, v]) => ` data-tag-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${esc(v)}"`)
    .join('');
  return `<div class="graph-card"><h3>${esc(spec.title)}${note ? ` <span class="meta">${esc(note)}</span>` : ''}</h3><div class="graph" id="${esc(spec.id)}" data-measurement="${esc(spec.measurement)}" data-fields="${esc(spec.fields.join(','))}" data-range="${range}" data-unit="${spec.unit}"${tagAttrs} data-labels="${esc(JSON.stringify(spec.labels))}"${spec.below ? ` data-below="${esc(spec.below)}"` : ''} data-empty="${esc(t.noData)}"></div></div>`;
}

/** The node page's graphs: one row of node graphs, then traffic, utilisation and errors of each interface. */
export function nodeGraphsSection(request: FastifyRequest, node: string, interfaces: readonly MetricPoint[], range: GraphRange): string {
  const t = graphWords(pageLanguage(request));
  const base = `/status/nodes/${encodeURIComponent(node)}`;
  const ranges = GRAPH_RANGE_NAMES.map((r) => `<a href="${esc(base)}?range=${r}#node-graphs" id="range-${r}" aria-current="${r === range}">${r}</a>`).join('');
  const nodeGraphs: GraphSpec[] = [
    { id: 'graph-cpu-memory', title: t.cpuMemory, measurement: 'host', fields: ['cpuLoadPct', 'memoryUsedPct'], unit: 'pct', tags: { node }, labels: { cpuLoadPct: t.cpu, memoryUsedPct: t.memory } },
    { id: 'graph-storage', title: t.storage, measurement: 'storage', fields: ['usedPct'], unit: 'pct', tags: { node }, labels: { usedPct: '' } },
    { id: 'graph-rtt', title: t.rtt, measurement: 'system', fields: ['rttMs'], unit: 'ms', tags: { node }, labels: { rttMs: t.rtt } },
  ];
  const cards = nodeGraphs.map((g) => graphCard(g, range, t));
  const ordered = [...interfaces].sort((a, b) => Number(a.tags.ifIndex ?? 0) - Number(b.tags.ifIndex ?? 0));
  ordered.forEach((p, i) => {
    const ifName = p.tags.ifName ?? '';
    const tags = { node, ifName };
    cards.push(
      graphCard({ id: `graph-traffic-${i}`, title: `${ifName} · ${t.traffic}`, measurement: 'interface', fields: ['outBitsPerSec', 'inBitsPerSec'], unit: 'bps', tags, labels: { inBitsPerSec: t.in, outBitsPerSec: t.out }, below: 'inBitsPerSec' }, range, t, t.inBelow),
      graphCard({ id: `graph-util-${i}`, title: `${ifName} · ${t.utilisation}`, measurement: 'interface', fields: ['inUtilisationPct', 'outUtilisationPct'], unit: 'pct', tags, labels: { inUtilisationPct: t.in, outUtilisationPct: t.out } }, range, t),
      graphCard(
        { id: `graph-errors-${i}`, title: `${ifName} · ${t.errors}`, measurement: 'interface', fields: ['inErrorsPerSec', 'outErrorsPerSec', 'inDiscardsPerSec', 'outDiscardsPerSec'], unit: 'rate', tags, labels: { inErrorsPerSec: t.inErrors, outErrorsPerSec: t.outErrors, inDiscardsPerSec: t.inDiscards, outDiscardsPerSec: t.outDiscards } },
        range,
        t,
      ),
    );
  });
  return `<section id="node-graphs"><h2>${esc(t.graphs)}</h2><nav class="ranges" aria-label="${esc(t.range)}">${ranges}</nav><div class="graphs">${cards.join('')}</div></section>`;
}

// ---------------------------------------------------------------- sparklines

const SPARK_W = 120;
const SPARK_H = 24;

/** An inline SVG of a link's busier direction over the last 24 h, in % of its capacity (5-minute means); no script. */
export function sparkline(values: ReadonlyArray<{ time: number; pct: number }>, from: number, to: number, label: string): string {
  if (values.length < 2) return '';
  const max = Math.max(100, ...values.map((v) => v.pct));
  const x = (time: number) => (((time - from) / (to - from)) * SPARK_W).toFixed(1);
  const y = (pct: number) => (SPARK_H - 1 - (pct / max) * (SPARK_H - 2)).toFixed(1);
  const points = values.map((v) => `${x(v.time)},${y(v.pct)}`).join(' ');
  const peak = Math.max(...values.map((v) => v.pct));
  const colour = peak >= 90 ? '#c0392b' : peak >= 70 ? '#e0a030' : '#2e9d5b';
  return `<svg class="spark" width="${SPARK_W}" height="${SPARK_H}" viewBox="0 0 ${SPARK_W} ${SPARK_H}" role="img" aria-label="${esc(label)}"><rect width="${SPARK_W}" height="${SPARK_H}" fill="#f6f7f9"/><polyline fill="none" stroke="${colour}" stroke-width="1.2" points="${points}"/></svg>`;
}

/** The 24-hour utilisation of each link, from the end that reports (both directions; the busier one per bucket). */
export async function linkSparklines(monitor: Monitor, links: readonly LinkStatus[], now: number, label: string): Promise<Map<number, string>> {
  const to = (Math.floor(now / FIVE_MINUTES_MS) + 1) * FIVE_MINUTES_MS;
  const from = to - 24 * 3_600_000;
  const out = new Map<number, string>();
  await Promise.all(
    links.map(async (link) => {
      const end = link.measuredAt === 'b' ? link.b : link.a;
      const tags = { node: end.node, ifName: end.interface };
      const both = await monitor.metrics.downsample('interface', ['inBitsPerSec', 'outBitsPerSec'], tags, from, to, FIVE_MINUTES_MS);
      const busiest = new Map<number, number>();
      for (const s of both.series) for (const p of s.points) busiest.set(p.time, Math.max(busiest.get(p.time) ?? 0, (p.mean / link.capacityBps) * 100));
      const values = [...busiest.entries()].sort(([a], [b]) => a - b).map(([time, pct]) => ({ time, pct }));
      const svg = sparkline(values, from, to, label);
      if (svg) out.set(link.id, svg);
    }),
  );
  return out;
}

// ---------------------------------------------------------------- topology

const STATE_COLOUR: Record<NodeState, string> = { up: '#2e9d5b', down: '#c0392b', unreachable: '#e0a030', unknown: '#8a949e' };

/** Depth of each node: 0 for nodes without parents, else one more than its deepest parent (the inventory has no cycles; a guard all the same). */
export function depths(nodes: ReadonlyArray<{ name: string; parents: readonly string[] }>): Map<string, number> {
  const parentsOf = new Map(nodes.map((n) => [n.name, n.parents.filter((p) => p !== n.name)]));
  const memo = new Map<string, number>();
  const depth = (name: string, seen: Set<string>): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const parents = (parentsOf.get(name) ?? []).filter((p) => parentsOf.has(p));
    const d = parents.length ? 1 + Math.max(...parents.map((p) => depth(p, seen))) : 0;
    memo.set(name, d);
    return d;
  };
  for (const n of nodes) depth(n.name, new Set());
  return memo;
}

function linkColour(link: LinkStatus): string {
  if (link.status === 'down') return '#c0392b';
  if (link.status === 'unknown' || link.utilisationPct === null) return '#8a949e';
  return link.utilisationPct >= 90 ? '#c0392b' : link.utilisationPct >= 70 ? '#e0a030' : '#2e9d5b';
}

/** The topology as SVG: a row per depth, nodes grouped by site within the row; parent edges dashed, links coloured. */
export function topologySvg(nodes: readonly NodeStatus[], links: readonly LinkStatus[], t: GraphWords): string {
  const depthOf = depths(nodes);
  const rows = new Map<number, NodeStatus[]>();
  for (const n of nodes) rows.set(depthOf.get(n.name) ?? 0, [...(rows.get(depthOf.get(n.name) ?? 0) ?? []), n]);
  const GAP_X = 120;
  const GAP_Y = 110;
  const SITE_GAP = 40;
  const pos = new Map<string, { x: number; y: number }>();
  const siteBoxes: string[] = [];
  let width = 0;
  for (const [d, list] of [...rows.entries()].sort(([a], [b]) => a - b)) {
    const bySite = new Map<string, NodeStatus[]>();
    for (const n of [...list].sort((a, b) => LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level) || a.site.localeCompare(b.site, 'zh-CN') || a.name.localeCompare(b.name))) bySite.set(n.site, [...(bySite.get(n.site) ?? []), n]);
    let x = 40;
    const y = 50 + d * GAP_Y;
    for (const [site, members] of bySite) {
      const start = x;
      for (const n of members) {
        pos.set(n.name, { x: x + GAP_X / 2, y });
        x += GAP_X;
      }
      siteBoxes.push(`<g class="site" data-site="${esc(site)}"><rect x="${start + 4}" y="${y - 36}" width="${x - start - 8}" height="78" rx="6" fill="#eef1f5" stroke="#c3cad1"/><text x="${start + 10}" y="${y - 22}" font-size="11" fill="#56606b">${esc(site)}</text></g>`);
      x += SITE_GAP;
    }
    width = Math.max(width, x);
  }
  const height = 50 + Math.max(0, ...rows.keys()) * GAP_Y + 70;
  const parentEdges = nodes
    .flatMap((n) => n.parents.filter((p) => pos.has(p)).map((p) => [pos.get(p)!, pos.get(n.name)!] as const))
    .map(([a, b]) => `<line x1="${a.x}" y1="${a.y + 14}" x2="${b.x}" y2="${b.y - 14}" stroke="#b8c0c8" stroke-dasharray="4 3"/>`)
    .join('');
  const linkLines = links
    .filter((l) => pos.has(l.a.node) && pos.has(l.b.node))
    .map((l) => {
      const a = pos.get(l.a.node)!;
      const b = pos.get(l.b.node)!;
      const title = `${l.a.node}:${l.a.interface} ⇄ ${l.b.node}:${l.b.interface} · ${l.status}${l.utilisationPct === null ? '' : ` · ${l.utilisationPct.toFixed(1)} %`}`;
      return `<line class="link" data-link="${l.id}" data-link-state="${l.status}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="${linkColour(l)}" stroke-width="${l.utilisationPct !== null && l.utilisationPct >= 70 ? 5 : 3}"><title>${esc(title)}</title></line>`;
    })
    .join('');
  const nodeMarks = nodes
    .filter((n) => pos.has(n.name))
    .map((n) => {
      const p = pos.get(n.name)!;
      return `<a href="/status/nodes/${esc(encodeURIComponent(n.name))}" class="node" data-node="${esc(n.name)}" data-state="${n.status}"><circle cx="${p.x}" cy="${p.y}" r="13" fill="${STATE_COLOUR[n.status]}" stroke="#fff" stroke-width="2"><title>${esc(`${n.name} · ${n.status}`)}</title></circle><text x="${p.x}" y="${p.y + 28}" font-size="11" text-anchor="middle">${esc(n.name)}</text></a>`;
    })
    .join('');
  const legend = `<p class="meta"><span class="legend-line" style="background:#2e9d5b"></span>${esc(t.legendUp)}<span class="legend-line" style="background:#e0a030"></span>${esc(t.legendWarm)}<span class="legend-line" style="background:#c0392b"></span>${esc(t.legendHot)} / ${esc(t.legendDown)}<span class="legend-line" style="background:#b8c0c8"></span>${esc(t.legendParent)}</p>`;
  return `${legend}<svg id="topology" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" xmlns="http://www.w3.org/2000/svg">${siteBoxes.join('')}${parentEdges}${linkLines}${nodeMarks}</svg>`;
}

export async function topologyPages(app: FastifyInstance, options: { monitor: Monitor }): Promise<void> {
  const { monitor } = options;
  app.console.addSection({ id: 'topology', href: '/topology', label: { en: 'Topology', 'zh-CN': '拓扑' }, roles: TOPOLOGY_ROLES, order: 50 });
  registerGraphAssets(app);
  app.setErrorHandler(pageErrorHandler('/topology'));
  app.get('/topology', { config: { roles: TOPOLOGY_ROLES } }, async (request, reply) => {
    const t = graphWords(pageLanguage(request));
    const [nodes, links] = await Promise.all([monitor.status.nodeStatuses(), monitor.status.links()]);
    const body = nodes.length ? `<p class="meta">${esc(t.topologyIntro)}</p><div class="topology">${topologySvg(nodes, links, t)}</div>` : `<p class="empty" id="no-nodes">${esc(t.noNodes)}</p>`;
    return sendPage(reply, consolePage(request, { title: t.topology, body, section: 'topology', refreshSeconds: 60 }));
  });
}

