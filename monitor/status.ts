// What is up: node status from the latest `system.reachable` samples,
// interface status and link utilisation from the latest `interface`
// samples and each link's capacity. The query layer under the status page.
//
// Node status:
//   up           its newest reachability sample (within staleAfterMs) says reachable
//   down         its newest sample says not reachable, and it has no parent, or
//                at least one parent is up or unknown (there is a way to it that works,
//                or we cannot tell: the fault is the node's own)
//   unreachable  its newest sample says not reachable and EVERY parent is down or
//                unreachable: every path towards the core is cut above it, so its
//                own state cannot be known; the alarm belongs to the parents
//   unknown      no sample within staleAfterMs (never polled, or the agent is silent)

import type { Inventory } from './inventory.js';
import type { LinkView, NodeView } from './inventory-spec.js';
import type { MetricStore } from './metric-store.js';
import type { MetricPoint } from './records.js';

export type NodeState = 'up' | 'down' | 'unreachable' | 'unknown';
export const NODE_STATES: readonly NodeState[] = ['up', 'down', 'unreachable', 'unknown'];

export interface NodeStatus extends Pick<NodeView, 'name' | 'kind' | 'zone' | 'site' | 'level' | 'address' | 'parents'> {
  status: NodeState;
  /** Time of the newest reachability sample (epoch ms), fresh or not. */
  sampledAt: number | null;
  rttMs: number | null;
  /** unreachable: the parents that cut it off. */
  cutOffBy: string[];
}

/** IF-MIB ifOperStatus / ifAdminStatus values. */
const IF_STATUS = ['up', 'down', 'testing', 'unknown', 'dormant', 'notPresent', 'lowerLayerDown'] as const;
export type InterfaceState = (typeof IF_STATUS)[number];

export interface InterfaceStatus {
  node: string;
  ifName: string | null;
  ifIndex: string | null;
  operStatus: InterfaceState | null;
  adminStatus: InterfaceState | null;
  inBitsPerSec: number | null;
  outBitsPerSec: number | null;
  inErrorsPerSec: number | null;
  outErrorsPerSec: number | null;
  sampledAt: number;
  fresh: boolean;
}

export interface LinkStatus extends LinkView {
  status: 'up' | 'down' | 'unknown';
  /** Traffic from a to b, % of capacity (a's output, else b's input). */
  aToBPct: number | null;
  bToAPct: number | null;
  /** The busier direction: what "worst links" sorts by. */
  utilisationPct: number | null;
  /** Which end's counters the figures come from. */
  measuredAt: 'a' | 'b' | null;
  sampledAt: number | null;
}

export interface StatusOverview {
  at: string;
  counts: Record<NodeState, number>;
  nodes: NodeStatus[];
  links: LinkStatus[];
  worstLinks: LinkStatus[];
}

export interface StatusOptions {
  inventory: Inventory;
  metrics: MetricStore;
  /** A sample older than this says nothing about now (default 5 minutes: a few poll intervals). */
  staleAfterMs?: number;
  now?: () => number;
}

export const DEFAULT_STALE_AFTER_MS = 5 * 60_000;

interface Probe {
  reachable: boolean | null;
  time: number;
  rttMs: number | null;
}

/** The rule above, over the parent graph; pure, so it is tested on its own. */
export function nodeStates(nodes: ReadonlyArray<{ name: string; parents: readonly string[] }>, own: (name: string) => 'up' | 'down' | 'unknown'): Map<string, { state: NodeState; cutOffBy: string[] }> {
  const parentsOf = new Map(nodes.map((n) => [n.name, n.parents]));
  const result = new Map<string, { state: NodeState; cutOffBy: string[] }>();
  const visiting = new Set<string>();
  const stateOf = (name: string): NodeState => {
    const known = result.get(name);
    if (known) return known.state;
    const mine = own(name);
    const parents = parentsOf.get(name) ?? [];
    // The inventory refuses cycles; a guard all the same, so a bad row cannot hang the page.
    if (mine !== 'down' || parents.length === 0 || visiting.has(name)) {
      result.set(name, { state: mine, cutOffBy: [] });
      return mine;
    }
    visiting.add(name);
    const parentStates = parents.map((p) => (parentsOf.has(p) ? stateOf(p) : 'unknown'));
    visiting.delete(name);
    const cut = parentStates.every((s) => s === 'down' || s === 'unreachable');
    const state: NodeState = cut ? 'unreachable' : 'down';
    result.set(name, { state, cutOffBy: cut ? [...parents] : [] });
    return state;
  };
  for (const node of nodes) stateOf(node.name);
  return result;
}

const field = (point: MetricPoint | undefined, name: string): number | null => {
  const value = point?.fields[name];
  return typeof value === 'number' ? value : null;
};

const ifState = (value: number | null): InterfaceState | null => (value === null ? null : (IF_STATUS[value - 1] ?? 'unknown'));

export class StatusService {
  private readonly staleAfterMs: number;
  private readonly now: () => number;

  constructor(private readonly options: StatusOptions) {
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    this.now = options.now ?? Date.now;
  }

  private fresh(time: number, now: number): boolean {
    return now - time <= this.staleAfterMs;
  }

  async nodeStatuses(): Promise<NodeStatus[]> {
    const now = this.now();
    const [nodes, samples] = await Promise.all([this.options.inventory.listNodes(), this.options.metrics.latest('system')]);
    const probes = new Map<string, Probe>();
    for (const point of samples) {
      const node = point.tags.node;
      const reachable = field(point, 'reachable');
      if (node) probes.set(node, { reachable: reachable === null ? null : reachable >= 1, time: point.time, rttMs: field(point, 'rttMs') });
    }
    const own = (name: string): 'up' | 'down' | 'unknown' => {
      const probe = probes.get(name);
      if (!probe || probe.reachable === null || !this.fresh(probe.time, now)) return 'unknown';
      return probe.reachable ? 'up' : 'down';
    };
    const states = nodeStates(nodes, own);
    return nodes.map((n) => {
      const probe = probes.get(n.name);
      const { state, cutOffBy } = states.get(n.name)!;
      return {
        name: n.name,
        kind: n.kind,
        zone: n.zone,
        site: n.site,
        level: n.level,
        address: n.address,
        parents: n.parents,
        status: state,
        sampledAt: probe?.time ?? null,
        rttMs: probe && state === 'up' ? probe.rttMs : null,
        cutOffBy,
      };
    });
  }

  async interfaces(node?: string): Promise<InterfaceStatus[]> {
    const now = this.now();
    const points = await this.options.metrics.latest('interface', node ? { node } : {});
    return points.map((p) => ({
      node: p.tags.node ?? '',
      ifName: p.tags.ifName ?? null,
      ifIndex: p.tags.ifIndex ?? null,
      operStatus: ifState(field(p, 'operStatus')),
      adminStatus: ifState(field(p, 'adminStatus')),
      inBitsPerSec: field(p, 'inBitsPerSec'),
      outBitsPerSec: field(p, 'outBitsPerSec'),
      inErrorsPerSec: field(p, 'inErrorsPerSec'),
      outErrorsPerSec: field(p, 'outErrorsPerSec'),
      sampledAt: p.time,
      fresh: this.fresh(p.time, now),
    }));
  }

  async links(): Promise<LinkStatus[]> {
    const [links, interfaces] = await Promise.all([this.options.inventory.listLinks(), this.interfaces()]);
    const byEnd = new Map(interfaces.filter((i) => i.fresh && i.ifName).map((i) => [`${i.node}\0${i.ifName}`, i]));
    return links.map((link) => linkStatus(link, byEnd.get(`${link.a.node}\0${link.a.interface}`), byEnd.get(`${link.b.node}\0${link.b.interface}`)));
  }

  /** The busiest links first (links without fresh counters are left out). */
  async worstLinks(limit = 10): Promise<LinkStatus[]> {
    return worst(await this.links(), limit);
  }

  async overview(worstLimit = 10): Promise<StatusOverview> {
    const [nodes, links] = await Promise.all([this.nodeStatuses(), this.links()]);
    const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>;
    for (const node of nodes) counts[node.status]++;
    return { at: new Date(this.now()).toISOString(), counts, nodes, links, worstLinks: worst(links, worstLimit) };
  }
}

function worst(links: readonly LinkStatus[], limit: number): LinkStatus[] {
  return links
    .filter((l) => l.utilisationPct !== null)
    .sort((x, y) => y.utilisationPct! - x.utilisationPct! || x.id - y.id)
    .slice(0, limit);
}

const pct = (bps: number | null, capacity: number): number | null => (bps === null ? null : Math.round((bps / capacity) * 100 * 100) / 100);

/** Figures from the a end when it reports, else from the b end (its input is a's output). */
export function linkStatus(link: LinkView, a: InterfaceStatus | undefined, b: InterfaceStatus | undefined): LinkStatus {
  const source = a ?? b;
  const fromA = source === a;
  const aToB = source ? (fromA ? source.outBitsPerSec : source.inBitsPerSec) : null;
  const bToA = source ? (fromA ? source.inBitsPerSec : source.outBitsPerSec) : null;
  const aToBPct = pct(aToB, link.capacityBps);
  const bToAPct = pct(bToA, link.capacityBps);
  const known = [aToBPct, bToAPct].filter((v): v is number => v !== null);
  const states = [a?.operStatus, b?.operStatus].filter((s): s is InterfaceState => !!s);
  const status = states.some((s) => s !== 'up') ? 'down' : states.length ? 'up' : 'unknown';
  return {
    ...link,
    status,
    aToBPct,
    bToAPct,
    utilisationPct: known.length ? Math.max(...known) : null,
    measuredAt: source ? (fromA ? 'a' : 'b') : null,
    sampledAt: source?.sampledAt ?? null,
  };
}
