// The Grafana dashboards, as code: built with the foundation SDK's typed
// builders, queries from the typed InfluxQL builder (names from
// monitor/records.ts), titles in Chinese or English. Output is classic
// dashboard JSON (schemaVersion 42: Grafana 12 and 13 refuse the v2 format
// in provisioning folders). Every panel reads the `datasource` variable, so
// one export works against any InfluxDB 1.x data source.

import { DashboardBuilder, DatasourceVariableBuilder, QueryVariableBuilder, CustomVariableBuilder, type Dashboard, VariableRefresh, VariableSort, MappingType } from '@grafana/grafana-foundation-sdk/dashboard';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import { GraphTransform } from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { MEASUREMENTS, NODE_STATE_CODES } from '../monitor/index.js';
import { influxql, influxqlOver, target } from './influxql.js';

export type DashboardLanguage = 'zh' | 'en';
export const DASHBOARD_LANGUAGES: readonly DashboardLanguage[] = ['zh', 'en'];
export const DATASOURCE_VARIABLE = 'datasource';
const DS = { type: 'influxdb', uid: `\${${DATASOURCE_VARIABLE}}` };

type Text = Record<DashboardLanguage, string>;
const tx = (en: string, zh: string): Text => ({ en, zh });

const M = MEASUREMENTS;

/** node_state.state back to words (value mappings), from NODE_STATE_CODES. */
function stateMappings(lang: DashboardLanguage) {
  const words: Record<keyof typeof NODE_STATE_CODES, Text> = { up: tx('up', '正常'), down: tx('down', '中断'), unreachable: tx('unreachable', '不可达'), unknown: tx('unknown', '未知') };
  const colours = { up: 'green', down: 'red', unreachable: 'orange', unknown: 'gray' };
  return [
    {
      type: MappingType.ValueToText as const,
      options: Object.fromEntries(Object.entries(NODE_STATE_CODES).map(([state, code]) => [String(code), { text: words[state as keyof typeof words][lang], color: colours[state as keyof typeof colours], index: code }])),
    },
  ];
}

/** IF-MIB ifOperStatus values. */
function operStatusMappings(lang: DashboardLanguage) {
  const names: Array<[number, Text, string]> = [
    [1, tx('up', '正常'), 'green'], [2, tx('down', '中断'), 'red'], [3, tx('testing', '测试'), 'blue'], [4, tx('unknown', '未知'), 'gray'], [5, tx('dormant', '休眠'), 'purple'], [6, tx('not present', '不存在'), 'gray'], [7, tx('lower layer down', '下层中断'), 'orange'],
  ];
  return [{ type: MappingType.ValueToText as const, options: Object.fromEntries(names.map(([v, t, color], index) => [String(v), { text: t[lang], color, index }])) }];
}

const okMappings = (lang: DashboardLanguage) => [
  { type: MappingType.ValueToText as const, options: { '1': { text: lang === 'zh' ? '成功' : 'ok', color: 'green', index: 0 }, '0': { text: lang === 'zh' ? '失败' : 'failed', color: 'red', index: 1 } } },
];

/** Lays panels out two to a row (or full width) and numbers them: ids unique within a dashboard. */
class Layout {
  private x = 0;
  private y = 0;
  private id = 0;
  constructor(private readonly dashboard: DashboardBuilder) {}
  add(panel: { id(n: number): unknown; gridPos(p: { x: number; y: number; w: number; h: number }): unknown } & cog.Builder<unknown>, width: 6 | 8 | 12 | 24 = 12, height = 8): void {
    if (this.x + width > 24) {
      this.x = 0;
      this.y += height;
    }
    panel.id(++this.id);
    panel.gridPos({ x: this.x, y: this.y, w: width, h: height });
    this.x += width;
    this.dashboard.withPanel(panel as never);
  }
}

function base(uid: string, title: Text, lang: DashboardLanguage, datasourceUid: string): DashboardBuilder {
  return new DashboardBuilder(title[lang])
    .uid(`${uid}-${lang}`)
    .tags(['egov-ops'])
    .timezone('browser')
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .editable()
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label(lang === 'zh' ? '数据源' : 'Data source').type('influxdb').current({ text: datasourceUid, value: datasourceUid }));
}

function queryVariable(name: string, label: Text, lang: DashboardLanguage, query: string, options: { multi?: boolean } = {}) {
  const v = new QueryVariableBuilder(name).label(label[lang]).datasource(DS).query(query).definition(query).refresh(VariableRefresh.OnDashboardLoad).sort(VariableSort.AlphabeticalAsc);
  if (options.multi) v.multi(true).includeAll(true);
  return v;
}

const ts = (title: Text, lang: DashboardLanguage, unit: string) => new timeseries.PanelBuilder().title(title[lang]).datasource(DS).unit(unit).lineWidth(1).fillOpacity(10);
const st = (title: Text, lang: DashboardLanguage, unit: string) => new stat.PanelBuilder().title(title[lang]).datasource(DS).unit(unit);
const tb = (title: Text, lang: DashboardLanguage, unit: string) => new table.PanelBuilder().title(title[lang]).datasource(DS).unit(unit);
const tl = (title: Text, lang: DashboardLanguage, unit: string) => new statetimeline.PanelBuilder().title(title[lang]).datasource(DS).unit(unit);

// ---------------------------------------------------------------- dashboards

function networkOverview(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-network-overview', tx('Network overview', '网络总览'), lang, ds)
    .withVariable(queryVariable('zone', tx('Zone', '网络区域'), lang, `SHOW TAG VALUES FROM "${M.node_state.name}" WITH KEY = "zone"`, { multi: true }))
    .withVariable(queryVariable('site', tx('Site', '站点'), lang, `SHOW TAG VALUES FROM "${M.node_state.name}" WITH KEY = "site" WHERE "zone" =~ /^$zone$/`, { multi: true }));
  const layout = new Layout(d);
  const latestState = influxql('node_state').select({ field: 'up', fn: 'last', as: 'up' }).whereVariable({ tag: 'zone', variable: 'zone' }, { tag: 'site', variable: 'site' }).groupBy('node');
  layout.add(st(tx('Nodes up', '正常节点'), lang, 'none').withTarget(target(influxqlOver(latestState).selectOuter('sum("up") AS "up"'))), 6, 5);
  layout.add(st(tx('Nodes not up', '异常节点'), lang, 'none').withTarget(target(influxqlOver(latestState).selectOuter('count("up") - sum("up") AS "not up"'))), 6, 5);
  layout.add(
    st(tx('Alerts firing', '告警中'), lang, 'none').withTarget(target(influxqlOver(influxql('alerts').select({ field: 'firing', fn: 'last', as: 'firing' }).groupBy('severity')).selectOuter('sum("firing") AS "firing"'))),
    12,
    5,
  );
  layout.add(
    tb(tx('Node states by zone and site', '各区域、站点节点状态'), lang, 'none')
      .mappings(stateMappings(lang))
      .withTarget(target(influxql('node_state').select({ field: 'state', fn: 'last', as: 'state' }).whereVariable({ tag: 'zone', variable: 'zone' }, { tag: 'site', variable: 'site' }).groupBy('zone', 'site', 'node')).table()),
    12,
    10,
  );
  layout.add(
    tl(tx('Node state over time', '节点状态时间线'), lang, 'none')
      .mappings(stateMappings(lang))
      .withTarget(target(influxql('node_state').select({ field: 'state', fn: 'last', as: 'state' }).whereVariable({ tag: 'zone', variable: 'zone' }, { tag: 'site', variable: 'site' }).groupByTime().groupBy('node').fill('previous')).alias('$tag_node')),
    12,
    10,
  );
  layout.add(
    tb(tx('Worst links (busiest interfaces)', '最繁忙链路'), lang, 'percent').withTarget(
      target(influxqlOver(influxql('interface').select({ field: 'inUtilisationPct', fn: 'max', as: 'in' }, { field: 'outUtilisationPct', fn: 'max', as: 'out' }).groupBy('node', 'ifName')).selectOuter('top("out", "node", "ifName", 10) AS "utilisation"')).table(),
    ),
    12,
    10,
  );
  layout.add(
    ts(tx('Alerts firing by severity', '按级别的告警数'), lang, 'none').withTarget(target(influxql('alerts').select({ field: 'firing', fn: 'last', as: 'firing' }).groupByTime().groupBy('severity').fill('previous')).alias('$tag_severity')),
    12,
    10,
  );
  return d.build();
}

function deviceDetail(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-device-detail', tx('Device detail', '设备详情'), lang, ds)
    .withVariable(queryVariable('zone', tx('Zone', '网络区域'), lang, `SHOW TAG VALUES FROM "${M.node_state.name}" WITH KEY = "zone"`))
    .withVariable(queryVariable('site', tx('Site', '站点'), lang, `SHOW TAG VALUES FROM "${M.node_state.name}" WITH KEY = "site" WHERE "zone" =~ /^$zone$/`))
    .withVariable(queryVariable('device', tx('Device', '设备'), lang, `SHOW TAG VALUES FROM "${M.node_state.name}" WITH KEY = "node" WHERE "zone" =~ /^$zone$/ AND "site" =~ /^$site$/`))
    .withVariable(queryVariable('interface', tx('Interfaces', '接口'), lang, `SHOW TAG VALUES FROM "${M.interface.name}" WITH KEY = "ifName" WHERE "node" =~ /^$device$/`, { multi: true }));
  const layout = new Layout(d);
  const onDevice = { tag: 'node', variable: 'device' } as const;
  const onInterfaces = [onDevice, { tag: 'ifName', variable: 'interface' }] as const;
  layout.add(st(tx('Uptime', '运行时间'), lang, 's').withTarget(target(influxql('system').select({ field: 'sysUpTime', fn: 'last', as: 'uptime' }).whereVariable(onDevice))), 6, 5);
  layout.add(st(tx('Round-trip time now', '当前往返时延'), lang, 'ms').withTarget(target(influxql('system').select({ field: 'rttMs', fn: 'last', as: 'rtt' }).whereVariable(onDevice))), 6, 5);
  layout.add(ts(tx('Round-trip time', '往返时延'), lang, 'ms').withTarget(target(influxql('system').select({ field: 'rttMs', fn: 'mean', as: 'rtt' }).whereVariable(onDevice).groupByTime().fill('null'))), 12, 5);
  layout.add(
    ts(tx('Traffic in (below the axis) and out', '流量（入方向在横轴下方）'), lang, 'bps')
      .withOverride({ matcher: { id: 'byRegexp', options: '.* in$' }, properties: [{ id: 'custom.transform', value: GraphTransform.NegativeY }] })
      .withTarget(target(influxql('interface').select({ field: 'inBitsPerSec', fn: 'mean', as: 'in' }).whereVariable(...onInterfaces).groupByTime().groupBy('ifName').fill('null'), 'A').alias('$tag_ifName in'))
      .withTarget(target(influxql('interface').select({ field: 'outBitsPerSec', fn: 'mean', as: 'out' }).whereVariable(...onInterfaces).groupByTime().groupBy('ifName').fill('null'), 'B').alias('$tag_ifName out')),
    24,
  );
  layout.add(
    ts(tx('Utilisation against ifHighSpeed', '利用率（相对 ifHighSpeed）'), lang, 'percent')
      .withTarget(target(influxql('interface').select({ field: 'inBitsPerSec', fn: 'mean', as: 'in', arithmetic: ' / (mean("highSpeedMbps") * 10000)' }).whereVariable(...onInterfaces).whereField('highSpeedMbps', '>', 0).groupByTime().groupBy('ifName').fill('null'), 'A').alias('$tag_ifName in'))
      .withTarget(target(influxql('interface').select({ field: 'outBitsPerSec', fn: 'mean', as: 'out', arithmetic: ' / (mean("highSpeedMbps") * 10000)' }).whereVariable(...onInterfaces).whereField('highSpeedMbps', '>', 0).groupByTime().groupBy('ifName').fill('null'), 'B').alias('$tag_ifName out')),
  );
  layout.add(
    ts(tx('Errors and discards', '错误与丢弃'), lang, 'pps').withTarget(
      target(
        influxql('interface')
          .select({ field: 'inErrorsPerSec', fn: 'mean', as: 'in errors' }, { field: 'outErrorsPerSec', fn: 'mean', as: 'out errors' }, { field: 'inDiscardsPerSec', fn: 'mean', as: 'in discards' }, { field: 'outDiscardsPerSec', fn: 'mean', as: 'out discards' })
          .whereVariable(...onInterfaces)
          .groupByTime()
          .groupBy('ifName')
          .fill('null'),
      ),
    ),
  );
  layout.add(
    tl(tx('Operational status', '接口运行状态'), lang, 'none')
      .mappings(operStatusMappings(lang))
      .withTarget(target(influxql('interface').select({ field: 'operStatus', fn: 'last', as: 'operStatus' }).whereVariable(...onInterfaces).groupByTime().groupBy('ifName').fill('previous')).alias('$tag_ifName')),
    24,
  );
  layout.add(ts(tx('CPU load', 'CPU 负载'), lang, 'percent').withTarget(target(influxql('host').select({ field: 'cpuLoadPct', fn: 'mean', as: 'cpu' }).whereVariable(onDevice).groupByTime().fill('null'))), 8);
  layout.add(ts(tx('Memory used', '内存使用率'), lang, 'percent').withTarget(target(influxql('host').select({ field: 'memoryUsedPct', fn: 'mean', as: 'memory' }).whereVariable(onDevice).groupByTime().fill('null'))), 8);
  layout.add(
    ts(tx('Storage used', '存储使用率'), lang, 'percent').withTarget(target(influxql('storage').select({ field: 'usedPct', fn: 'mean', as: 'used' }).whereVariable(onDevice).groupByTime().groupBy('storage').fill('null')).alias('$tag_storage')),
    8,
  );
  return d.build();
}

function linkTopN(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-link-utilisation', tx('Link utilisation, top N', '链路利用率排行'), lang, ds).withVariable(new CustomVariableBuilder('topn').label(lang === 'zh' ? '显示条数' : 'Top N').values('5,10,20,50').current({ text: '10', value: '10' }));
  const layout = new Layout(d);
  const busiest = influxql('interface').select({ field: 'inUtilisationPct', fn: 'max', as: 'in' }, { field: 'outUtilisationPct', fn: 'max', as: 'out' }).groupBy('node', 'ifName');
  layout.add(tb(tx('Busiest interfaces out (peak %)', '出方向最繁忙接口（峰值 %）'), lang, 'percent').withTarget(target(influxqlOver(busiest).selectOuter('top("out", "node", "ifName", $topn) AS "peak"')).table()), 12, 12);
  layout.add(tb(tx('Busiest interfaces in (peak %)', '入方向最繁忙接口（峰值 %）'), lang, 'percent').withTarget(target(influxqlOver(busiest).selectOuter('top("in", "node", "ifName", $topn) AS "peak"')).table()), 12, 12);
  layout.add(
    ts(tx('Utilisation of every interface', '全部接口利用率'), lang, 'percent').withTarget(target(influxql('interface').select({ field: 'outUtilisationPct', fn: 'mean', as: 'out' }).groupByTime().groupBy('node', 'ifName').fill('null')).alias('$tag_node $tag_ifName')),
    24,
  );
  return d.build();
}

function syslogVolume(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-syslog-volume', tx('Syslog volume', '日志量'), lang, ds).withVariable(
    queryVariable('severity', tx('Severity', '级别'), lang, `SHOW TAG VALUES FROM "${M.syslog_volume.name}" WITH KEY = "severity"`, { multi: true }),
  );
  const layout = new Layout(d);
  const bySeverity = { tag: 'severity', variable: 'severity' } as const;
  layout.add(ts(tx('Messages by severity', '按级别的日志数'), lang, 'short').withTarget(target(influxql('syslog_volume').select({ field: 'messages', fn: 'sum', as: 'messages' }).whereVariable(bySeverity).groupByTime().groupBy('severity').fill('0')).alias('$tag_severity')), 24);
  layout.add(ts(tx('Messages by device', '按设备的日志数'), lang, 'short').withTarget(target(influxql('syslog_volume').select({ field: 'messages', fn: 'sum', as: 'messages' }).whereVariable(bySeverity).groupByTime().groupBy('node').fill('0')).alias('$tag_node')), 12);
  layout.add(tb(tx('Devices by messages in the range', '本时段日志最多的设备'), lang, 'short').withTarget(target(influxql('syslog_volume').select({ field: 'messages', fn: 'sum', as: 'messages' }).whereVariable(bySeverity).groupBy('node', 'severity')).table()), 12);
  return d.build();
}

function agentHealth(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-agent-health', tx('Agent health', '采集代理健康'), lang, ds).withVariable(queryVariable('agent', tx('Agent', '代理'), lang, `SHOW TAG VALUES FROM "${M.agent_delivery.name}" WITH KEY = "agent"`, { multi: true }));
  const layout = new Layout(d);
  const byAgent = { tag: 'agent', variable: 'agent' } as const;
  layout.add(
    ts(tx('Records delivered per interval', '每周期送达记录数'), lang, 'short').withTarget(
      target(influxql('agent_delivery').select({ field: 'accepted', fn: 'last', as: 'accepted', outer: 'non_negative_difference' }).whereVariable(byAgent).groupByTime().groupBy('agent').fill('none')).alias('$tag_agent'),
    ),
  );
  layout.add(st(tx('Seconds since last delivery', '距上次送达（秒）'), lang, 's').withTarget(target(influxql('agent_delivery').select({ field: 'secondsSinceSeen', fn: 'last', as: 'since' }).whereVariable(byAgent).groupBy('agent')).alias('$tag_agent')), 12);
  layout.add(ts(tx('Outbox depth', '待发队列深度'), lang, 'short').withTarget(target(influxql('agent_outbox').select({ field: 'items', fn: 'max', as: 'items' }).whereVariable(byAgent).groupByTime().groupBy('agent').fill('null')).alias('$tag_agent')));
  layout.add(ts(tx('Outbox size', '待发队列大小'), lang, 'bytes').withTarget(target(influxql('agent_outbox').select({ field: 'bytes', fn: 'max', as: 'bytes' }).whereVariable(byAgent).groupByTime().groupBy('agent').fill('null')).alias('$tag_agent')));
  layout.add(
    ts(tx('Dropped and refused (running totals)', '丢弃与拒收（累计）'), lang, 'short').withTarget(
      target(influxql('agent_outbox').select({ field: 'droppedMetrics', fn: 'last', as: 'dropped metrics' }, { field: 'refused', fn: 'last', as: 'refused' }).whereVariable(byAgent).groupByTime().groupBy('agent').fill('previous')),
    ),
  );
  layout.add(ts(tx('Rejected and duplicate records (running totals)', '被拒与重复记录（累计）'), lang, 'short').withTarget(target(influxql('agent_delivery').select({ field: 'rejected', fn: 'last', as: 'rejected' }, { field: 'duplicates', fn: 'last', as: 'duplicates' }).whereVariable(byAgent).groupByTime().groupBy('agent').fill('previous'))));
  return d.build();
}

function certificateAuthority(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-ca', tx('Certificate authority', '证书认证系统'), lang, ds).time({ from: 'now-30d', to: 'now' }).withVariable(queryVariable('ca', tx('Hierarchy', 'CA 体系'), lang, `SHOW TAG VALUES FROM "${M.ca_certificates.name}" WITH KEY = "ca"`, { multi: true }));
  const layout = new Layout(d);
  const byCa = { tag: 'ca', variable: 'ca' } as const;
  layout.add(ts(tx('Issued per day', '每日签发'), lang, 'short').withTarget(target(influxql('ca_certificates').select({ field: 'issued', fn: 'sum', as: 'issued' }).whereVariable(byCa).groupByTime('1d').groupBy('ca').fill('0')).alias('$tag_ca')));
  layout.add(ts(tx('Revocations per day', '每日吊销'), lang, 'short').withTarget(target(influxql('ca_certificates').select({ field: 'revoked', fn: 'sum', as: 'revoked' }).whereVariable(byCa).groupByTime('1d').groupBy('ca').fill('0')).alias('$tag_ca')));
  layout.add(st(tx('Expiring within 30 days', '30 天内到期'), lang, 'short').withTarget(target(influxql('ca_certificates').select({ field: 'expiringSoon', fn: 'last', as: 'expiring' }).whereVariable(byCa).groupBy('ca')).alias('$tag_ca')));
  layout.add(st(tx('Valid certificates', '有效证书'), lang, 'short').withTarget(target(influxql('ca_certificates').select({ field: 'valid', fn: 'last', as: 'valid' }).whereVariable(byCa).groupBy('ca')).alias('$tag_ca')));
  return d.build();
}

function backups(lang: DashboardLanguage, ds: string): Dashboard {
  const d = base('egov-backups', tx('Backups and restore drills', '备份与恢复演练'), lang, ds).time({ from: 'now-7d', to: 'now' }).withVariable(queryVariable('target', tx('Target', '备份目标'), lang, `SHOW TAG VALUES FROM "${M.backup_status.name}" WITH KEY = "target"`, { multi: true }));
  const layout = new Layout(d);
  const byTarget = { tag: 'target', variable: 'target' } as const;
  const last = (field: (typeof M.backup_status.fields)[number]) => target(influxql('backup_status').select({ field, fn: 'last', as: field }).whereVariable(byTarget).groupBy('target')).alias('$tag_target');
  layout.add(st(tx('Last backup', '最近一次备份'), lang, 'none').mappings(okMappings(lang)).withTarget(last('lastRunOk')), 6, 5);
  layout.add(st(tx('Since the last backup', '距最近一次备份'), lang, 's').withTarget(last('lastRunAgeSeconds')), 6, 5);
  layout.add(st(tx('Last restore drill', '最近一次恢复演练'), lang, 'none').mappings(okMappings(lang)).withTarget(last('lastDrillOk')), 6, 5);
  layout.add(st(tx('Since the last drill', '距最近一次演练'), lang, 's').withTarget(last('lastDrillAgeSeconds')), 6, 5);
  layout.add(
    ts(tx('Recovery point (RPO) against the objective', '恢复点（RPO）与目标'), lang, 's')
      .withTarget(target(influxql('backup_status').select({ field: 'rpoSeconds', fn: 'max', as: 'rpo' }, { field: 'rpoObjectiveSeconds', fn: 'last', as: 'objective' }).whereVariable(byTarget).groupByTime().groupBy('target').fill('previous'))),
    24,
  );
  return d.build();
}

export const DASHBOARDS = [
  { file: 'network-overview', build: networkOverview },
  { file: 'device-detail', build: deviceDetail },
  { file: 'link-utilisation', build: linkTopN },
  { file: 'syslog-volume', build: syslogVolume },
  { file: 'agent-health', build: agentHealth },
  { file: 'certificate-authority', build: certificateAuthority },
  { file: 'backups', build: backups },
] as const;

export const DEFAULT_DATASOURCE_UID = 'egov-ops-influxdb';

/** Every dashboard in one language, as classic JSON objects keyed by file name. */
export function buildDashboards(lang: DashboardLanguage, datasourceUid = DEFAULT_DATASOURCE_UID): Array<{ file: string; dashboard: Dashboard }> {
  return DASHBOARDS.map((d) => ({ file: d.file, dashboard: d.build(lang, datasourceUid) }));
}


