// Alert rules as data: the built-in set, overridden or extended by a YAML
// file (`alerts.rulesFile`), checked as a whole before any of it is used.
// The same file carries the routes (who is told) and the escalations.

import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { EgovError } from '../../core/index.js';
import { MEASUREMENTS, SEVERITIES as SYSLOG_SEVERITIES, type MeasurementName, type Severity as SyslogSeverity } from '../records.js';

export const ALERT_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
export const SEVERITY_NAMES: Record<AlertSeverity, { en: string; 'zh-CN': string }> = {
  critical: { en: 'critical', 'zh-CN': '紧急' },
  major: { en: 'major', 'zh-CN': '重要' },
  minor: { en: 'minor', 'zh-CN': '次要' },
  warning: { en: 'warning', 'zh-CN': '警告' },
  info: { en: 'info', 'zh-CN': '提示' },
};

export const RULE_KINDS = [
  'node-down',
  'interface-down',
  'threshold',
  'rebooted',
  'agent-silent',
  'syslog',
  'trap',
  'cert-expiry',
  'crl-next-update',
  'backup-failed',
  'audit-chain',
  'event',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

/** Well-known trap names (SNMPv2-MIB snmpTraps and IF-MIB). */
export const TRAP_NAMES: Record<string, string> = {
  coldStart: '1.3.6.1.6.3.1.1.5.1',
  warmStart: '1.3.6.1.6.3.1.1.5.2',
  linkDown: '1.3.6.1.6.3.1.1.5.3',
  linkUp: '1.3.6.1.6.3.1.1.5.4',
  authenticationFailure: '1.3.6.1.6.3.1.1.5.5',
};

export interface RuleScope {
  zone?: string[];
  site?: string[];
  level?: string[];
  kind?: string[];
  node?: string[];
}

export interface Rule {
  name: string;
  kind: RuleKind;
  severity: AlertSeverity;
  /** Pending period: the condition must hold this long before the alert fires. */
  forMs: number;
  labels: Record<string, string>;
  scope: RuleScope;
  description: { en: string; 'zh-CN': string };
  /** threshold: `measurement.field`. */
  metric?: { measurement: MeasurementName; field: string };
  /** threshold: raise at or above (`above`) or at or below (`below`); clear past `clear` (hysteresis). */
  above?: number;
  below?: number;
  clear?: number;
  /** agent-silent: seconds without a delivery. */
  seconds?: number;
  /** cert-expiry, crl-next-update: how near the date is. */
  days?: number;
  hours?: number;
  /** syslog: the least severe level that counts, and/or a pattern. */
  minSeverity?: SyslogSeverity;
  pattern?: RegExp;
  /** trap: the dotted OID (names resolved). */
  trapOid?: string;
  /** Events without a clear state (syslog, trap, reboot): resolved after this long without another one. */
  resolveAfterMs: number;
  enabled: boolean;
}

export interface RouteSpec {
  receivers: string[];
  match: { severity?: AlertSeverity[]; zone?: string[]; site?: string[]; labels?: Record<string, string> };
  /** Duty roster: receivers by weekday and hours (local time of the server); used instead of `receivers` when one entry is on. */
  roster: Array<{ receiver: string; days: number[]; from: number; to: number }>;
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Stop at this route when it matches (default true). */
  final: boolean;
}

export interface EscalationSpec {
  /** Alerts of these severities (default critical) not acknowledged within afterMs go to `to`. */
  from: string;
  to: string;
  afterMs: number;
  severity: AlertSeverity[];
}

export interface RuleSet {
  rules: Rule[];
  routes: RouteSpec[];
  escalations: EscalationSpec[];
}

const MIN = 60_000;

const rule = (r: Omit<Rule, 'labels' | 'scope' | 'enabled' | 'resolveAfterMs'> & Partial<Pick<Rule, 'labels' | 'scope' | 'resolveAfterMs'>>): Rule => ({
  labels: {},
  scope: {},
  enabled: true,
  resolveAfterMs: 10 * MIN,
  ...r,
});

/** The built-in rules: every one can be overridden by name or disabled in the rules file. */
export const BUILT_IN_RULES: readonly Rule[] = [
  rule({ name: 'node-down', kind: 'node-down', severity: 'critical', forMs: 0, description: { en: 'node down (not answering SNMP)', 'zh-CN': '节点宕机（SNMP 无响应）' } }),
  rule({ name: 'interface-down', kind: 'interface-down', severity: 'major', forMs: 0, description: { en: 'interface down while admin up', 'zh-CN': '接口管理启用但运行中断' } }),
  rule({ name: 'link-utilisation', kind: 'threshold', severity: 'warning', forMs: 5 * MIN, metric: { measurement: 'interface', field: 'inUtilisationPct' }, above: 90, clear: 80, description: { en: 'inbound link utilisation over 90 %', 'zh-CN': '链路入方向利用率超过 90%' } }),
  rule({ name: 'link-utilisation-out', kind: 'threshold', severity: 'warning', forMs: 5 * MIN, metric: { measurement: 'interface', field: 'outUtilisationPct' }, above: 90, clear: 80, description: { en: 'outbound link utilisation over 90 %', 'zh-CN': '链路出方向利用率超过 90%' } }),
  rule({ name: 'interface-errors', kind: 'threshold', severity: 'minor', forMs: 5 * MIN, metric: { measurement: 'interface', field: 'inErrorsPerSec' }, above: 10, clear: 1, description: { en: 'interface input errors over 10/s', 'zh-CN': '接口输入错误超过 10 个/秒' } }),
  rule({ name: 'interface-discards', kind: 'threshold', severity: 'minor', forMs: 5 * MIN, metric: { measurement: 'interface', field: 'outDiscardsPerSec' }, above: 50, clear: 5, description: { en: 'interface output discards over 50/s', 'zh-CN': '接口输出丢弃超过 50 个/秒' } }),
  rule({ name: 'cpu-high', kind: 'threshold', severity: 'major', forMs: 5 * MIN, metric: { measurement: 'host', field: 'cpuLoadPct' }, above: 90, clear: 75, description: { en: 'CPU load over 90 %', 'zh-CN': 'CPU 负载超过 90%' } }),
  rule({ name: 'memory-high', kind: 'threshold', severity: 'major', forMs: 5 * MIN, metric: { measurement: 'host', field: 'memoryUsedPct' }, above: 95, clear: 85, description: { en: 'memory use over 95 %', 'zh-CN': '内存使用超过 95%' } }),
  rule({ name: 'storage-full', kind: 'threshold', severity: 'major', forMs: 0, metric: { measurement: 'storage', field: 'usedPct' }, above: 90, clear: 85, description: { en: 'storage over 90 % full', 'zh-CN': '存储使用超过 90%' } }),
  rule({ name: 'device-rebooted', kind: 'rebooted', severity: 'warning', forMs: 0, resolveAfterMs: 15 * MIN, description: { en: 'device rebooted (sysUpTime went back)', 'zh-CN': '设备重启（sysUpTime 回退）' } }),
  rule({ name: 'agent-silent', kind: 'agent-silent', severity: 'major', forMs: 0, seconds: 300, description: { en: 'agent silent: no delivery for 5 minutes', 'zh-CN': '采集代理 5 分钟无上报' } }),
  rule({ name: 'firewall-deny-flood', kind: 'syslog', severity: 'warning', forMs: 0, pattern: /\b(deny|denied|drop(ped)?)\b/i, scope: { kind: ['firewall'] }, resolveAfterMs: 10 * MIN, description: { en: 'firewall denies', 'zh-CN': '防火墙拒绝连接' } }),
  rule({ name: 'routing-neighbour-down', kind: 'syslog', severity: 'major', forMs: 0, pattern: /\b(BGP|OSPF)\b.*\b(down|idle|lost)\b/i, resolveAfterMs: 30 * MIN, description: { en: 'BGP/OSPF neighbour down', 'zh-CN': 'BGP/OSPF 邻居中断' } }),
  rule({ name: 'trap-link-down', kind: 'trap', severity: 'major', forMs: 0, trapOid: TRAP_NAMES.linkDown!, resolveAfterMs: 15 * MIN, description: { en: 'linkDown trap', 'zh-CN': '收到 linkDown 告警陷阱' } }),
  rule({ name: 'trap-cold-start', kind: 'trap', severity: 'warning', forMs: 0, trapOid: TRAP_NAMES.coldStart!, resolveAfterMs: 15 * MIN, description: { en: 'coldStart trap', 'zh-CN': '收到 coldStart（设备冷启动）' } }),
  rule({ name: 'trap-auth-failure', kind: 'trap', severity: 'minor', forMs: 0, trapOid: TRAP_NAMES.authenticationFailure!, resolveAfterMs: 15 * MIN, description: { en: 'SNMP authentication failure trap', 'zh-CN': 'SNMP 认证失败' } }),
  rule({ name: 'backup-failed', kind: 'backup-failed', severity: 'major', forMs: 0, description: { en: 'backup run or restore drill failed, or RPO missed', 'zh-CN': '备份或恢复演练失败，或未达 RPO' } }),
  rule({ name: 'cert-expiring', kind: 'cert-expiry', severity: 'warning', forMs: 0, days: 30, description: { en: 'certificate expiring within 30 days', 'zh-CN': '证书 30 天内到期' } }),
  rule({ name: 'crl-next-update', kind: 'crl-next-update', severity: 'major', forMs: 0, hours: 2, description: { en: 'CRL nextUpdate within 2 hours', 'zh-CN': 'CRL 将在 2 小时内过期' } }),
  rule({ name: 'audit-chain-broken', kind: 'audit-chain', severity: 'critical', forMs: 0, description: { en: 'audit log hash chain broken', 'zh-CN': '审计日志哈希链断裂' } }),
  // Events from outside the metrics (AlertService.raiseEvent / clearEvent): live until cleared.
  rule({ name: 'audit-score-dropped', kind: 'event', severity: 'major', forMs: 0, labels: { source: 'audit' }, description: { en: 'grade-protection audit score lower than the previous run', 'zh-CN': '等级保护测评得分低于上次' } }),
  rule({ name: 'audit-high-risk', kind: 'event', severity: 'major', forMs: 0, labels: { source: 'audit' }, description: { en: 'grade-protection audit found a new high risk', 'zh-CN': '等级保护测评发现新的高风险项' } }),
];

export const DEFAULT_ROUTE: RouteSpec = { receivers: [], match: {}, roster: [], groupWaitMs: 0, groupIntervalMs: 5 * MIN, repeatIntervalMs: 4 * 60 * MIN, final: true };

export function builtInRuleSet(): RuleSet {
  return { rules: BUILT_IN_RULES.map((r) => ({ ...r })), routes: [], escalations: [] };
}

// ---------------------------------------------------------------- parsing

/** `90`, `90s`, `5m`, `2h`, `1d` (a bare number is seconds) -> ms. */
export function parseDuration(value: unknown, what: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(value.trim());
    if (m) return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: MIN, h: 60 * MIN, d: 24 * 60 * MIN }[(m[2] ?? 's') as 's']);
  }
  throw new EgovError('bad-request', `${what}: ${JSON.stringify(value)} is not a duration (e.g. 90s, 5m, 2h, 1d)`);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const RULE_KEYS = new Set(['name', 'kind', 'severity', 'for', 'labels', 'scope', 'description', 'metric', 'above', 'below', 'clear', 'seconds', 'days', 'hours', 'minSeverity', 'pattern', 'trap', 'resolveAfter', 'enabled']);
const SCOPE_KEYS = ['zone', 'site', 'level', 'kind', 'node'] as const;

function strings(value: unknown, what: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  for (const v of list) if (typeof v !== 'string' || !v) throw new EgovError('bad-request', `${what} must be a string or a list of strings`);
  return list as string[];
}

function num(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new EgovError('bad-request', `${what} must be a number (got ${JSON.stringify(value)})`);
  return value;
}

function labelMap(value: unknown, what: string): Record<string, string> {
  if (!isObj(value)) throw new EgovError('bad-request', `${what} must be a map of label names to strings`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new EgovError('bad-request', `${what}: ${JSON.stringify(k)} is not a label name (letters, digits, _)`);
    if (typeof v !== 'string' && typeof v !== 'number') throw new EgovError('bad-request', `${what}.${k} must be a string`);
    out[k] = String(v);
  }
  return out;
}

function metricOf(value: unknown, what: string): { measurement: MeasurementName; field: string } {
  if (typeof value !== 'string') throw new EgovError('bad-request', `${what} must be "measurement.field"`);
  const [measurement, field, ...rest] = value.split('.');
  const m = (MEASUREMENTS as Record<string, { name: MeasurementName; fields: readonly string[] }>)[measurement ?? ''];
  if (!m || !field || rest.length || !m.fields.includes(field)) {
    const known = Object.values(MEASUREMENTS).flatMap((x) => x.fields.map((f) => `${x.name}.${f}`));
    throw new EgovError('bad-request', `${what}: unknown metric ${JSON.stringify(value)} (known: ${known.slice(0, 30).join(', ')}, ...)`);
  }
  return { measurement: m.name, field };
}

function parseRule(raw: unknown, index: number, base: Rule | undefined): Rule {
  const at = `rules[${index}]`;
  if (!isObj(raw)) throw new EgovError('bad-request', `${at} must be a map`);
  const name = raw.name;
  if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(name)) throw new EgovError('bad-request', `${at}.name must be 1-64 lower-case letters, digits, ., _ or - (got ${JSON.stringify(name)})`);
  const where = `rule ${name}`;
  for (const key of Object.keys(raw)) if (!RULE_KEYS.has(key)) throw new EgovError('bad-request', `${where}: unknown key ${JSON.stringify(key)} (known: ${[...RULE_KEYS].join(', ')})`);
  const kind = raw.kind ?? base?.kind;
  if (typeof kind !== 'string' || !(RULE_KINDS as readonly string[]).includes(kind)) throw new EgovError('bad-request', `${where}: kind must be one of ${RULE_KINDS.join(', ')} (got ${JSON.stringify(kind)})`);
  const severity = raw.severity ?? base?.severity ?? 'warning';
  if (typeof severity !== 'string' || !(ALERT_SEVERITIES as readonly string[]).includes(severity)) throw new EgovError('bad-request', `${where}: severity must be one of ${ALERT_SEVERITIES.join(', ')} (got ${JSON.stringify(severity)})`);
  const result: Rule = {
    ...(base && base.kind === kind ? base : {}),
    name,
    kind: kind as RuleKind,
    severity: severity as AlertSeverity,
    forMs: raw.for !== undefined ? parseDuration(raw.for, `${where}: for`) : (base?.forMs ?? 0),
    labels: raw.labels !== undefined ? labelMap(raw.labels, `${where}: labels`) : (base?.labels ?? {}),
    scope: base?.scope ?? {},
    description: base?.description ?? { en: name, 'zh-CN': name },
    resolveAfterMs: raw.resolveAfter !== undefined ? parseDuration(raw.resolveAfter, `${where}: resolveAfter`) : (base?.resolveAfterMs ?? 10 * MIN),
    enabled: raw.enabled === undefined ? true : raw.enabled === true,
  };
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean') throw new EgovError('bad-request', `${where}: enabled must be true or false`);
  if (raw.scope !== undefined) {
    if (!isObj(raw.scope)) throw new EgovError('bad-request', `${where}: scope must be a map of ${SCOPE_KEYS.join(', ')}`);
    const scope: RuleScope = {};
    for (const [k, v] of Object.entries(raw.scope)) {
      if (!(SCOPE_KEYS as readonly string[]).includes(k)) throw new EgovError('bad-request', `${where}: scope.${k} is not one of ${SCOPE_KEYS.join(', ')}`);
      scope[k as keyof RuleScope] = strings(v, `${where}: scope.${k}`);
    }
    result.scope = scope;
  }
  if (raw.description !== undefined) {
    if (typeof raw.description === 'string') result.description = { en: raw.description, 'zh-CN': raw.description };
    else if (isObj(raw.description) && typeof raw.description.en === 'string') result.description = { en: raw.description.en, 'zh-CN': typeof raw.description['zh-CN'] === 'string' ? raw.description['zh-CN'] : raw.description.en };
    else throw new EgovError('bad-request', `${where}: description must be a string or { en, zh-CN }`);
  }
  if (raw.metric !== undefined) result.metric = metricOf(raw.metric, `${where}: metric`);
  for (const key of ['above', 'below', 'clear', 'seconds', 'days', 'hours'] as const) if (raw[key] !== undefined) result[key] = num(raw[key], `${where}: ${key}`);
  if (raw.above !== undefined) delete result.below;
  if (raw.below !== undefined) delete result.above;
  if (raw.minSeverity !== undefined) {
    if (typeof raw.minSeverity !== 'string' || !SYSLOG_SEVERITIES.includes(raw.minSeverity as SyslogSeverity)) throw new EgovError('bad-request', `${where}: minSeverity must be one of ${SYSLOG_SEVERITIES.join(', ')}`);
    result.minSeverity = raw.minSeverity as SyslogSeverity;
  }
  if (raw.pattern !== undefined) {
    if (typeof raw.pattern !== 'string' || raw.pattern.length > 1000) throw new EgovError('bad-request', `${where}: pattern must be a regular expression of at most 1000 characters`);
    try {
      result.pattern = new RegExp(raw.pattern, 'iu');
    } catch (error) {
      throw new EgovError('bad-request', `${where}: pattern ${JSON.stringify(raw.pattern)} is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  if (raw.trap !== undefined) {
    if (typeof raw.trap !== 'string') throw new EgovError('bad-request', `${where}: trap must be a trap name (${Object.keys(TRAP_NAMES).join(', ')}) or a dotted OID`);
    const oid = TRAP_NAMES[raw.trap] ?? raw.trap.replace(/^\./, '');
    if (!/^[0-2](\.\d+)+$/.test(oid)) throw new EgovError('bad-request', `${where}: trap ${JSON.stringify(raw.trap)} is neither a known trap name (${Object.keys(TRAP_NAMES).join(', ')}) nor a dotted OID`);
    result.trapOid = oid;
  }
  // What each kind needs.
  if (result.kind === 'threshold') {
    if (!result.metric) throw new EgovError('bad-request', `${where}: a threshold rule needs metric: measurement.field`);
    if (result.above === undefined && result.below === undefined) throw new EgovError('bad-request', `${where}: a threshold rule needs above or below`);
    const raise = (result.above ?? result.below)!;
    if (result.clear === undefined) result.clear = raise;
    if (result.above !== undefined && result.clear > result.above) throw new EgovError('bad-request', `${where}: clear (${result.clear}) must be at or below above (${result.above})`);
    if (result.below !== undefined && result.clear < result.below) throw new EgovError('bad-request', `${where}: clear (${result.clear}) must be at or above below (${result.below})`);
  }
  if (result.kind === 'agent-silent' && !(result.seconds! > 0)) throw new EgovError('bad-request', `${where}: an agent-silent rule needs seconds > 0`);
  if (result.kind === 'cert-expiry' && !(result.days! > 0)) throw new EgovError('bad-request', `${where}: a cert-expiry rule needs days > 0`);
  if (result.kind === 'crl-next-update' && !(result.hours! > 0)) throw new EgovError('bad-request', `${where}: a crl-next-update rule needs hours > 0`);
  if (result.kind === 'syslog' && !result.pattern && !result.minSeverity) throw new EgovError('bad-request', `${where}: a syslog rule needs pattern and/or minSeverity`);
  if (result.kind === 'trap' && !result.trapOid) throw new EgovError('bad-request', `${where}: a trap rule needs trap: NAME or OID`);
  return result;
}

const DAYS: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

function parseDays(value: unknown, what: string): number[] {
  if (value === undefined) return [0, 1, 2, 3, 4, 5, 6];
  if (typeof value !== 'string') throw new EgovError('bad-request', `${what} must be like mon-fri or sat,sun`);
  const out = new Set<number>();
  for (const part of value.toLowerCase().split(',')) {
    const [a, b] = part.trim().split('-');
    const from = DAYS[a ?? ''];
    const to = b === undefined ? from : DAYS[b];
    if (from === undefined || to === undefined) throw new EgovError('bad-request', `${what}: ${JSON.stringify(part)} is not a day or range of days (mon..sun)`);
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d);
      if (d === to) break;
    }
  }
  return [...out];
}

function parseClock(value: unknown, what: string): number {
  if (typeof value !== 'string' || !/^([01]\d|2[0-4]):[0-5]\d$/.test(value)) throw new EgovError('bad-request', `${what} must be HH:MM`);
  const [h, m] = value.split(':').map(Number);
  return h! * 60 + m!;
}

function parseRoute(raw: unknown, index: number): RouteSpec {
  const where = `routes[${index}]`;
  if (!isObj(raw)) throw new EgovError('bad-request', `${where} must be a map`);
  const match: RouteSpec['match'] = {};
  if (raw.match !== undefined) {
    if (!isObj(raw.match)) throw new EgovError('bad-request', `${where}.match must be a map`);
    for (const [k, v] of Object.entries(raw.match)) {
      if (k === 'severity') {
        const s = strings(v, `${where}.match.severity`);
        for (const x of s) if (!(ALERT_SEVERITIES as readonly string[]).includes(x)) throw new EgovError('bad-request', `${where}.match.severity: ${JSON.stringify(x)} is not one of ${ALERT_SEVERITIES.join(', ')}`);
        match.severity = s as AlertSeverity[];
      } else if (k === 'zone' || k === 'site') match[k] = strings(v, `${where}.match.${k}`);
      else if (k === 'labels') match.labels = labelMap(v, `${where}.match.labels`);
      else throw new EgovError('bad-request', `${where}.match.${k}: match by severity, zone, site or labels`);
    }
  }
  const roster = raw.roster === undefined ? [] : Array.isArray(raw.roster) ? raw.roster : null;
  if (!roster) throw new EgovError('bad-request', `${where}.roster must be a list`);
  const route: RouteSpec = {
    receivers: raw.receivers === undefined ? [] : strings(raw.receivers, `${where}.receivers`),
    match,
    roster: roster.map((r: unknown, i: number) => {
      if (!isObj(r) || typeof r.receiver !== 'string') throw new EgovError('bad-request', `${where}.roster[${i}] needs receiver`);
      return { receiver: r.receiver, days: parseDays(r.days, `${where}.roster[${i}].days`), from: r.from === undefined ? 0 : parseClock(r.from, `${where}.roster[${i}].from`), to: r.to === undefined ? 1440 : parseClock(r.to, `${where}.roster[${i}].to`) };
    }),
    groupWaitMs: raw.groupWait !== undefined ? parseDuration(raw.groupWait, `${where}.groupWait`) : DEFAULT_ROUTE.groupWaitMs,
    groupIntervalMs: raw.groupInterval !== undefined ? parseDuration(raw.groupInterval, `${where}.groupInterval`) : DEFAULT_ROUTE.groupIntervalMs,
    repeatIntervalMs: raw.repeatInterval !== undefined ? parseDuration(raw.repeatInterval, `${where}.repeatInterval`) : DEFAULT_ROUTE.repeatIntervalMs,
    final: raw.continue !== true,
  };
  if (!route.receivers.length && !route.roster.length) throw new EgovError('bad-request', `${where} names no receivers and no roster`);
  return route;
}

/** Parses a rules document (already read from YAML) over the built-in rules. */
export function parseRuleSet(doc: unknown, source = 'the rules file'): RuleSet {
  const set = builtInRuleSet();
  if (doc === null || doc === undefined) return set;
  try {
    if (!isObj(doc)) throw new EgovError('bad-request', 'the document must be a map with rules, routes, escalations');
    for (const key of Object.keys(doc)) if (!['rules', 'routes', 'escalations'].includes(key)) throw new EgovError('bad-request', `unknown top-level key ${JSON.stringify(key)} (rules, routes, escalations)`);
    const rules = doc.rules ?? [];
    if (!Array.isArray(rules)) throw new EgovError('bad-request', 'rules must be a list');
    const seen = new Set<string>();
    rules.forEach((raw, i) => {
      const name = isObj(raw) ? raw.name : undefined;
      if (typeof name === 'string' && seen.has(name)) throw new EgovError('bad-request', `rules[${i}]: rule ${name} is defined twice`);
      if (typeof name === 'string') seen.add(name);
      const at = set.rules.findIndex((r) => r.name === name);
      const parsed = parseRule(raw, i, at >= 0 ? set.rules[at] : undefined);
      if (at >= 0) set.rules[at] = parsed;
      else set.rules.push(parsed);
    });
    const routes = doc.routes ?? [];
    if (!Array.isArray(routes)) throw new EgovError('bad-request', 'routes must be a list');
    set.routes = routes.map(parseRoute);
    const escalations = doc.escalations ?? [];
    if (!Array.isArray(escalations)) throw new EgovError('bad-request', 'escalations must be a list');
    set.escalations = escalations.map((raw, i) => {
      const where = `escalations[${i}]`;
      if (!isObj(raw) || typeof raw.from !== 'string' || typeof raw.to !== 'string') throw new EgovError('bad-request', `${where} needs from and to (receiver names)`);
      if (raw.from === raw.to) throw new EgovError('bad-request', `${where}: escalation cycle: ${raw.from} escalates to itself`);
      const severity = raw.severity === undefined ? ['critical'] : strings(raw.severity, `${where}.severity`);
      for (const s of severity) if (!(ALERT_SEVERITIES as readonly string[]).includes(s)) throw new EgovError('bad-request', `${where}.severity: ${JSON.stringify(s)} is not a severity`);
      return { from: raw.from, to: raw.to, afterMs: parseDuration(raw.after ?? '15m', `${where}.after`), severity: severity as AlertSeverity[] };
    });
    // A cycle in the escalation graph would page people round and round.
    const next = new Map<string, string[]>();
    for (const e of set.escalations) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
    const visit = (node: string, path: string[]): void => {
      if (path.includes(node)) throw new EgovError('bad-request', `escalation cycle: ${[...path.slice(path.indexOf(node)), node].join(' -> ')}`);
      for (const to of next.get(node) ?? []) visit(to, [...path, node]);
    };
    for (const from of next.keys()) visit(from, []);
  } catch (error) {
    if (error instanceof EgovError) throw new EgovError('bad-config', `${source}: ${error.message}`);
    throw error;
  }
  return set;
}

export function parseRuleSetYaml(text: string, source = 'the rules file'): RuleSet {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (error) {
    throw new EgovError('bad-config', `${source} is not valid YAML: ${(error as Error).message}`);
  }
  return parseRuleSet(doc, source);
}

/** `alerts.rulesFile`, or the built-in rules alone. */
export function loadRuleSet(file?: string): RuleSet {
  if (!file) return builtInRuleSet();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EgovError('bad-config', `cannot read alerts.rulesFile ${file}: ${(error as Error).message}`);
  }
  return parseRuleSetYaml(text, `alerts.rulesFile ${file}`);
}

/** What `alerts rules` shows. */
export function describeRule(r: Rule): Record<string, unknown> {
  return {
    name: r.name,
    kind: r.kind,
    severity: r.severity,
    severityZh: SEVERITY_NAMES[r.severity]['zh-CN'],
    for: `${r.forMs / 1000}s`,
    enabled: r.enabled,
    ...(r.metric ? { metric: `${r.metric.measurement}.${r.metric.field}` } : {}),
    ...(r.above !== undefined ? { above: r.above } : {}),
    ...(r.below !== undefined ? { below: r.below } : {}),
    ...(r.clear !== undefined ? { clear: r.clear } : {}),
    ...(r.seconds !== undefined ? { seconds: r.seconds } : {}),
    ...(r.days !== undefined ? { days: r.days } : {}),
    ...(r.hours !== undefined ? { hours: r.hours } : {}),
    ...(r.minSeverity ? { minSeverity: r.minSeverity } : {}),
    ...(r.pattern ? { pattern: r.pattern.source } : {}),
    ...(r.trapOid ? { trapOid: r.trapOid } : {}),
    labels: r.labels,
    scope: r.scope,
    description: r.description,
  };
}
