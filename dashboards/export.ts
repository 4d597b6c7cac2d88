// `egov-ops dashboards export`: the dashboards as classic JSON files plus
// Grafana provisioning files (an InfluxDB 1.x data source speaking
// InfluxQL, and a dashboards provider reading the JSON folder), laid out so
// the directory can be copied into a Grafana as it is:
//
//   DIR/dashboards/*.json
//   DIR/provisioning/datasources/egov-ops.yaml
//   DIR/provisioning/dashboards/egov-ops.yaml

import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { EgovError } from '../core/index.js';
import { buildDashboards, DASHBOARD_LANGUAGES, DEFAULT_DATASOURCE_UID, type DashboardLanguage } from './grafana.js';

export interface ExportOptions {
  out: string;
  lang?: string;
  datasourceUid?: string;
  force?: boolean;
  /** The InfluxDB the data source points at (metrics.influx in the config), else http://localhost:8086 and egov_ops. */
  influx?: { url: string; database: string; username?: string };
  /** Where Grafana will find the JSON files (the provider's path), default /var/lib/grafana/dashboards/egov-ops. */
  dashboardsPath?: string;
}

export interface ExportResult {
  out: string;
  lang: DashboardLanguage;
  datasourceUid: string;
  files: string[];
}

const UID_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;
export const DEFAULT_DASHBOARDS_PATH = '/var/lib/grafana/dashboards/egov-ops';

export function checkLanguage(value: string | undefined): DashboardLanguage {
  if (value === undefined) return 'en';
  if ((DASHBOARD_LANGUAGES as readonly string[]).includes(value)) return value as DashboardLanguage;
  throw new EgovError('bad-request', `--lang must be zh or en (got ${JSON.stringify(value.slice(0, 40))})`);
}

function checkTarget(out: string, force: boolean): void {
  if (!existsSync(out)) return;
  if (!statSync(out).isDirectory()) throw new EgovError('bad-request', `--out ${out} exists and is not a directory`);
  if (readdirSync(out).length && !force) throw new EgovError('conflict', `--out ${out} is not empty: give an empty or new directory, or --force to write over the files of the same names`);
}

export function provisioningFiles(options: { datasourceUid: string; influx: NonNullable<ExportOptions['influx']>; dashboardsPath: string }): { datasource: string; provider: string } {
  const datasource = {
    apiVersion: 1,
    datasources: [
      {
        name: 'egov-ops InfluxDB',
        uid: options.datasourceUid,
        type: 'influxdb',
        access: 'proxy',
        url: options.influx.url,
        ...(options.influx.username ? { user: options.influx.username } : {}),
        jsonData: { dbName: options.influx.database, httpMode: 'GET', version: 'InfluxQL' },
        // Grafana expands $VARIABLES in provisioning files: the password stays out of the file.
        ...(options.influx.username ? { secureJsonData: { password: '$EGOV_INFLUX_PASSWORD' } } : {}),
        editable: false,
      },
    ],
  };
  const provider = {
    apiVersion: 1,
    providers: [{ name: 'egov-ops', orgId: 1, folder: 'egov-ops', type: 'file', disableDeletion: false, allowUiUpdates: false, updateIntervalSeconds: 60, options: { path: options.dashboardsPath, foldersFromFilesStructure: false } }],
  };
  return { datasource: YAML.stringify(datasource), provider: YAML.stringify(provider) };
}

export function exportDashboards(options: ExportOptions): ExportResult {
  const lang = checkLanguage(options.lang);
  const datasourceUid = options.datasourceUid ?? DEFAULT_DATASOURCE_UID;
  if (!UID_PATTERN.test(datasourceUid)) throw new EgovError('bad-request', `--datasource-uid must be 1-40 letters, digits, _ or - (got ${JSON.stringify(datasourceUid.slice(0, 60))})`);
  const out = path.resolve(options.out);
  checkTarget(out, options.force ?? false);
  // Everything is built before anything is written: a failure leaves no half export.
  const dashboards = buildDashboards(lang, datasourceUid);
  const { datasource, provider } = provisioningFiles({ datasourceUid, influx: options.influx ?? { url: 'http://localhost:8086', database: 'egov_ops' }, dashboardsPath: options.dashboardsPath ?? DEFAULT_DASHBOARDS_PATH });
  const files: Array<[string, string]> = [
    ...dashboards.map((d): [string, string] => [path.join('dashboards', `${d.file}.json`), JSON.stringify(d.dashboard, null, 2) + '\n']),
    [path.join('provisioning', 'datasources', 'egov-ops.yaml'), datasource],
    [path.join('provisioning', 'dashboards', 'egov-ops.yaml'), provider],
  ];
  for (const [name, body] of files) {
    mkdirSync(path.dirname(path.join(out, name)), { recursive: true });
    writeFileSync(path.join(out, name), body);
  }
  return { out, lang, datasourceUid, files: files.map(([name]) => name) };
}
