// The status pages' words in English and Chinese. The language comes from the
// `egov_lang` cookie (set by the `?lang=` switch, shared with the RA desk),
// else the browser's Accept-Language, else English.

import type { Level, NodeKind, Zone } from './inventory-spec.js';
import type { EventRecord, Severity } from './records.js';
import type { NodeState } from './status.js';

import { LANGUAGES, pickLanguage, type Language } from '../core/index.js';

export const STATUS_LANGUAGES = LANGUAGES;
export type StatusLanguage = Language;

interface StatusWords {
  title: string;
  status: string;
  logs: string;
  nodeTitle: string;
  signedInAs: string;
  updatedAt: string;
  refreshEvery: string;
  counts: string;
  zone: Record<Zone, string>;
  level: Record<Level, string>;
  kind: Record<NodeKind, string>;
  state: Record<NodeState, string>;
  linkState: Record<'up' | 'down' | 'unknown', string>;
  severity: Record<Severity, string>;
  eventKind: Record<EventRecord['kind'], string>;
  nodes: string;
  site: string;
  node: string;
  kindLabel: string;
  address: string;
  state_: string;
  lastSeen: string;
  never: string;
  sysUpTime: string;
  rtt: string;
  cutOffBy: string;
  noNodes: string;
  worstLinks: string;
  link: string;
  capacity: string;
  utilisation: string;
  aToB: string;
  bToA: string;
  measuredAt: string;
  noLinkFigures: string;
  downInterfaces: string;
  noDownInterfaces: string;
  interfaceName: string;
  operStatus: string;
  adminStatus: string;
  recentLogs: string;
  searchLogs: string;
  noLogs: string;
  time: string;
  severityLabel: string;
  app: string;
  message: string;
  source: string;
  recentEvents: string;
  noEvents: string;
  eventName: string;
  detail: string;
  filter: string;
  text: string;
  from: string;
  to: string;
  any: string;
  atOrAbove: string;
  next: string;
  firstPage: string;
  noMatchingLogs: string;
  system: string;
  interfaces: string;
  inRate: string;
  outRate: string;
  inUtil: string;
  outUtil: string;
  errors: string;
  speed: string;
  host: string;
  cpu: string;
  memory: string;
  memoryTotal: string;
  storage: string;
  storageName: string;
  used: string;
  size: string;
  noMetrics: string;
  noInterfaces: string;
  noHost: string;
  noStorage: string;
  parents: string;
  description: string;
  snmp: string;
  notPolled: string;
  stale: string;
  back: string;
  error: string;
  forbidden: string;
  signIn: string;
  passwordNeeded: string;
  ago: (minutes: number) => string;
  shownOf: (shown: number, total: number) => string;
  /** A duration in seconds, to the minute (days, hours, minutes). */
  duration: (seconds: number) => string;
  timesIn: (zone: string) => string;
}

function parts(seconds: number): [number, number, number] {
  const minutes = Math.floor(seconds / 60);
  return [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
}

const en: StatusWords = {
  title: 'Network status',
  status: 'Status',
  logs: 'Logs',
  nodeTitle: 'Node',
  signedInAs: 'Signed in as',
  updatedAt: 'As of',
  refreshEvery: 'refreshes every 30 s',
  counts: 'Nodes',
  zone: { internal: 'Internal network (政务内网)', external: 'External network (政务外网)', dmz: 'DMZ' },
  level: { city: 'city', county: 'county', township: 'township', village: 'village' },
  kind: { router: 'router', switch: 'switch', firewall: 'firewall', gateway: 'gateway', server: 'server', other: 'other' },
  state: { up: 'up', down: 'down', unreachable: 'unreachable', unknown: 'unknown' },
  linkState: { up: 'up', down: 'down', unknown: 'unknown' },
  severity: { emergency: 'emergency', alert: 'alert', critical: 'critical', error: 'error', warning: 'warning', notice: 'notice', info: 'info', debug: 'debug' },
  eventKind: { trap: 'trap', inform: 'inform', reachability: 'reachability', 'counter-reset': 'counter reset' },
  nodes: 'Nodes by zone and site',
  site: 'Site',
  node: 'Node',
  kindLabel: 'Kind',
  address: 'Management address',
  state_: 'State',
  lastSeen: 'Last seen',
  never: 'never',
  sysUpTime: 'Uptime (sysUpTime)',
  rtt: 'RTT',
  cutOffBy: 'cut off by',
  noNodes: 'No nodes in the inventory yet: <code>egov-ops node import FILE</code> (CSV or YAML) or <code>egov-ops node add</code>.',
  worstLinks: 'Busiest links (top 10)',
  link: 'Link',
  capacity: 'Capacity',
  utilisation: 'Utilisation',
  aToB: 'a → b',
  bToA: 'b → a',
  measuredAt: 'measured at',
  noLinkFigures: 'No link has fresh traffic figures (links are added with <code>egov-ops link add</code>; figures come from the interface counters of either end).',
  downInterfaces: 'Interfaces down on nodes that are up',
  noDownInterfaces: 'No interface is down on a node that is up.',
  interfaceName: 'Interface',
  operStatus: 'Operational',
  adminStatus: 'Administrative',
  recentLogs: 'Recent logs (last 50)',
  searchLogs: 'Search the logs',
  noLogs: 'No logs received yet.',
  time: 'Time',
  severityLabel: 'Severity',
  app: 'App',
  message: 'Message',
  source: 'Source',
  recentEvents: 'Recent events: traps, reachability changes (last 20)',
  noEvents: 'No events received yet.',
  eventName: 'Event',
  detail: 'Detail',
  filter: 'Search',
  text: 'Message contains',
  from: 'From',
  to: 'To',
  any: 'any',
  atOrAbove: 'at or above',
  next: 'Older',
  firstPage: 'Newest',
  noMatchingLogs: 'No logs match.',
  system: 'System',
  interfaces: 'Interfaces',
  inRate: 'In',
  outRate: 'Out',
  inUtil: 'In %',
  outUtil: 'Out %',
  errors: 'Errors/s (in/out)',
  speed: 'Speed',
  host: 'Host',
  cpu: 'CPU load',
  memory: 'Memory used',
  memoryTotal: 'Memory total',
  storage: 'Storage',
  storageName: 'Storage',
  used: 'Used',
  size: 'Size',
  noMetrics: 'No samples yet.',
  noInterfaces: 'No interface samples yet.',
  noHost: 'No host samples (CPU, memory) yet.',
  noStorage: 'No storage samples yet.',
  parents: 'Parents (towards the core)',
  description: 'Description',
  snmp: 'SNMP',
  notPolled: 'not polled (reachability only)',
  stale: 'stale',
  back: 'Back to the status page',
  error: 'Error',
  forbidden: 'Not allowed',
  signIn: 'Sign in',
  passwordNeeded: 'Your administrator roles become active after you give your password.',
  ago: (minutes) => (minutes < 1 ? 'just now' : minutes < 120 ? `${minutes} min ago` : minutes < 2880 ? `${Math.floor(minutes / 60)} h ago` : `${Math.floor(minutes / 1440)} days ago`),
  shownOf: (shown, total) => `${shown} of ${total} shown`,
  duration: (seconds) => {
    const [d, h, m] = parts(seconds);
    return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
  },
  timesIn: (zone) => `times are ${zone}`,
};

const zh: StatusWords = {
  title: '网络运行状态',
  status: '运行状态',
  logs: '日志',
  nodeTitle: '节点',
  signedInAs: '当前用户',
  updatedAt: '数据时间',
  refreshEvery: '每 30 秒自动刷新',
  counts: '节点',
  zone: { internal: '政务内网', external: '政务外网', dmz: 'DMZ（隔离区）' },
  level: { city: '市级', county: '县级', township: '乡镇级', village: '村级' },
  kind: { router: '路由器', switch: '交换机', firewall: '防火墙', gateway: '网关', server: '服务器', other: '其他' },
  state: { up: '正常', down: '故障', unreachable: '不可达', unknown: '未知' },
  linkState: { up: '正常', down: '中断', unknown: '未知' },
  severity: { emergency: '紧急', alert: '警报', critical: '严重', error: '错误', warning: '警告', notice: '注意', info: '信息', debug: '调试' },
  eventKind: { trap: 'Trap', inform: 'Inform', reachability: '可达性变化', 'counter-reset': '计数器重置' },
  nodes: '按网络区域和站点分组的节点',
  site: '站点',
  node: '节点',
  kindLabel: '类型',
  address: '管理地址',
  state_: '状态',
  lastSeen: '最近采样',
  never: '从未',
  sysUpTime: '运行时长（sysUpTime）',
  rtt: '时延',
  cutOffBy: '上级中断',
  noNodes: '资产清单中还没有节点：<code>egov-ops node import FILE</code>（CSV 或 YAML），或 <code>egov-ops node add</code>。',
  worstLinks: '利用率最高的链路（前 10 条）',
  link: '链路',
  capacity: '带宽',
  utilisation: '利用率',
  aToB: 'a → b',
  bToA: 'b → a',
  measuredAt: '采集端',
  noLinkFigures: '没有链路的最新流量数据（用 <code>egov-ops link add</code> 添加链路；数据来自任一端接口的计数器）。',
  downInterfaces: '正常节点上的中断接口',
  noDownInterfaces: '正常节点上没有中断的接口。',
  interfaceName: '接口',
  operStatus: '运行状态',
  adminStatus: '管理状态',
  recentLogs: '最近日志（最新 50 条）',
  searchLogs: '查询日志',
  noLogs: '尚未收到日志。',
  time: '时间',
  severityLabel: '级别',
  app: '程序',
  message: '内容',
  source: '来源',
  recentEvents: '最近事件：Trap、可达性变化（最新 20 条）',
  noEvents: '尚未收到事件。',
  eventName: '事件',
  detail: '详情',
  filter: '查询',
  text: '内容包含',
  from: '起',
  to: '止',
  any: '全部',
  atOrAbove: '及以上',
  next: '更早',
  firstPage: '最新',
  noMatchingLogs: '没有符合条件的日志。',
  system: '系统',
  interfaces: '接口',
  inRate: '入向',
  outRate: '出向',
  inUtil: '入向 %',
  outUtil: '出向 %',
  errors: '错误/秒（入/出）',
  speed: '速率',
  host: '主机',
  cpu: 'CPU 负载',
  memory: '内存使用',
  memoryTotal: '内存总量',
  storage: '存储',
  storageName: '存储',
  used: '已用',
  size: '容量',
  noMetrics: '尚无采样数据。',
  noInterfaces: '尚无接口采样数据。',
  noHost: '尚无主机（CPU、内存）采样数据。',
  noStorage: '尚无存储采样数据。',
  parents: '上级节点（靠近核心）',
  description: '说明',
  snmp: 'SNMP',
  notPolled: '不采集（仅检测可达性）',
  stale: '已过期',
  back: '返回运行状态',
  error: '错误',
  forbidden: '无权访问',
  signIn: '登录',
  passwordNeeded: '管理员角色需输入口令后生效（双因素）。',
  ago: (minutes) => (minutes < 1 ? '刚刚' : minutes < 120 ? `${minutes} 分钟前` : minutes < 2880 ? `${Math.floor(minutes / 60)} 小时前` : `${Math.floor(minutes / 1440)} 天前`),
  shownOf: (shown, total) => `显示 ${shown} / ${total}`,
  duration: (seconds) => {
    const [d, h, m] = parts(seconds);
    return d ? `${d} 天 ${h} 小时` : h ? `${h} 小时 ${m} 分` : `${m} 分`;
  },
  timesIn: (zone) => `时间为 ${zone}`,
};

const DICTIONARIES: Record<StatusLanguage, StatusWords> = { en, 'zh-CN': zh };
export type { StatusWords };

export function statusWords(language: StatusLanguage): StatusWords {
  return DICTIONARIES[language];
}

/** The page's language: core's choice (cookie, then browser), the same as the desk's. */
export const pickStatusLanguage = pickLanguage;
