// `egov-ops dashboards export`: the Grafana dashboards and provisioning
// files, generated from code (dashboards/), written to a directory.

import type { Command } from 'commander';
import { loadConfig } from '../core/index.js';
import { exportDashboards } from '../dashboards/index.js';
import { outputFor, type GlobalOptions } from './context.js';

/** Adds `dashboards export` to the egov-ops program. */
export function registerDashboardsCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const dashboards = program.command('dashboards').description('Grafana dashboards (InfluxDB 1.x, InfluxQL) generated from code');
  dashboards
    .command('export')
    .description('write the dashboards as JSON and Grafana provisioning files (data source, dashboards provider) to a directory')
    .requiredOption('--out <dir>', 'the directory to write (new or empty; see --force)')
    .option('--lang <lang>', 'titles in zh or en', 'en')
    .option('--datasource-uid <uid>', 'uid of the InfluxDB data source in Grafana', 'egov-ops-influxdb')
    .option('--dashboards-path <path>', 'where Grafana will read the JSON files (the provider path)', '/var/lib/grafana/dashboards/egov-ops')
    .option('--force', 'write into a directory that is not empty (files of the same names are replaced)')
    .action(async (o: { out: string; lang: string; datasourceUid: string; dashboardsPath: string; force?: boolean }) => {
      // The data source points at the configured InfluxDB when there is one (no secret is written: Grafana reads $EGOV_INFLUX_PASSWORD).
      const g = globals();
      const influx = loadConfig({ ...(g.config ? { file: g.config } : {}), flags: g.dataDir ? { dataDir: g.dataDir } : {} }).metrics?.influx as { url: string; database: string; username?: string } | undefined;
      const result = exportDashboards({ out: o.out, lang: o.lang, datasourceUid: o.datasourceUid, dashboardsPath: o.dashboardsPath, force: o.force ?? false, ...(influx ? { influx: { url: influx.url, database: influx.database, ...(influx.username ? { username: influx.username } : {}) } } : {}) });
      out(result, () => [`wrote ${result.files.length} files to ${result.out} (titles in ${result.lang}, data source uid ${result.datasourceUid}):`, ...result.files.map((f) => `  ${f}`)].join('\n'));
    });
  return dashboards;
}
