// What Grafana does to an InfluxQL query before InfluxDB sees it, for
// running our dashboards' queries without a Grafana (none can be installed
// here). Two steps, as in Grafana's InfluxDB data source:
//
// 1. The frontend (public/app/plugins/datasource/influxdb/datasource.ts,
//    applyVariables -> templateSrv.replace with interpolateQueryExpr):
//    template variables ($var, ${var}, [[var]]) are replaced; a value that
//    parses as a number stays as it is; a multi-value variable is
//    regex-escaped (escapeRegex from @grafana/data) and several values become
//    (a|b); a single-value variable is escaped only when it sits inside a
//    /regex/ of the query. The built-in $__interval and $__interval_ms are
//    left for the backend.
// 2. The backend (pkg/tsdb/influxdb/influxql, Query.Build): strings.ReplaceAll,
//    in this order, of $timeFilter ("time >= {from}ms and time <= {to}ms"),
//    $interval (FormatInterval text), $__interval_ms (milliseconds),
//    $__interval (text). In builder-mode queries GROUP BY time(auto) is
//    rendered as time($__interval) first; ours are raw queries, and the same
//    rewrite is applied to them so a time(auto) could not slip through.
//
// The interval is Grafana's: (to - from) / maxDataPoints rounded by its
// table (gtime roundInterval), at least the minimum interval.

export interface VariableValue {
  name: string;
  /** One value, or several (a multi-value variable with several selected). */
  value: string | string[];
  multi: boolean;
  includeAll?: boolean;
}

/** @grafana/data escapeRegex. */
export const escapeRegex = (value: string): string => value.replace(/[\\^$*+?.()|[\]{}\/]/g, '\\$&');

/** The data source's interpolateQueryExpr (Grafana 10.4+), for one variable in one query. */
export function interpolateQueryExpr(value: string | string[], variable: { name: string; multi: boolean }, query: string): string {
  if (typeof value === 'string' && !Number.isNaN(Number.parseFloat(value))) return value;
  if (variable.multi) {
    if (typeof value === 'string') return Number.isNaN(Number.parseFloat(value)) ? escapeRegex(value) : value;
    return `(${value.map(escapeRegex).join('|')})`;
  }
  const regexMatcher = /(?<=\/).+?(?=\/)/gm;
  const regex = new RegExp(`\\/(?:\\^)?(.*)(\\$${variable.name})(.*)(?:\\$)?\\/`, 'gm');
  const matches = query.match(regexMatcher);
  if (!matches || !query.match(regex)) return typeof value === 'string' ? value : value.join(',');
  for (const match of matches) {
    try {
      new RegExp(match);
      return typeof value === 'string' ? escapeRegex(value) : `(${value.map(escapeRegex).join('|')})`;
    } catch {
      /* not a regex: next */
    }
  }
  return typeof value === 'string' ? value : value.join(',');
}

/** templateSrv.replace: $name, ${name}, [[name]] (longest names first, so $site does not eat $siteGroup). */
export function replaceVariables(query: string, variables: readonly VariableValue[]): string {
  const byName = new Map(variables.map((v) => [v.name, v]));
  return query.replace(/\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]/g, (whole, a: string | undefined, b: string | undefined, c: string | undefined) => {
    const name = a ?? b ?? c ?? '';
    const variable = byName.get(name);
    if (!variable) return whole;
    return interpolateQueryExpr(variable.value, variable, query);
  });
}

const MS = 1;
const S = 1000 * MS;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

/** gtime roundInterval: Grafana's table of nice intervals. */
export function roundInterval(ms: number): number {
  const table: Array<[number, number]> = [
    [10, 1], [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1.5 * S, S], [3.5 * S, 2 * S], [7.5 * S, 5 * S], [12.5 * S, 10 * S], [17.5 * S, 15 * S], [25 * S, 20 * S],
    [45 * S, 30 * S], [1.5 * MIN, MIN], [3.5 * MIN, 2 * MIN], [7.5 * MIN, 5 * MIN], [12.5 * MIN, 10 * MIN], [17.5 * MIN, 15 * MIN], [25 * MIN, 20 * MIN], [45 * MIN, 30 * MIN], [1.5 * H, H],
    [2.5 * H, 2 * H], [4.5 * H, 3 * H], [9 * H, 6 * H], [D, 12 * H], [7 * D, D], [21 * D, 7 * D],
  ];
  for (const [limit, rounded] of table) if (ms <= limit) return rounded;
  return 30 * D;
}

/** gtime FormatInterval: the largest whole unit. */
export function formatInterval(ms: number): string {
  const units: Array<[number, string]> = [[365 * D, 'y'], [D, 'd'], [H, 'h'], [MIN, 'm'], [S, 's'], [MS, 'ms']];
  for (const [size, suffix] of units) if (ms >= size) return `${Math.floor(ms / size)}${suffix}`;
  return '1ms';
}

export interface GrafanaRequest {
  from: number;
  to: number;
  maxDataPoints?: number;
  /** The data source's or panel's minimum interval (jsonData.timeInterval), ms. */
  minIntervalMs?: number;
  variables: readonly VariableValue[];
}

export function intervalMs(request: GrafanaRequest): number {
  return Math.max(roundInterval((request.to - request.from) / (request.maxDataPoints ?? 1000)), request.minIntervalMs ?? 1);
}

/** The query InfluxDB receives from Grafana for a panel or variable query. */
export function grafanaQuery(query: string, request: GrafanaRequest): string {
  const interval = intervalMs(request);
  let q = replaceVariables(query, request.variables);
  q = q.replace(/time\(auto\)/g, 'time($__interval)');
  q = q.split('$timeFilter').join(`time >= ${request.from}ms and time <= ${request.to}ms`);
  q = q.split('$interval').join(formatInterval(interval));
  q = q.split('$__interval_ms').join(String(interval));
  q = q.split('$__interval').join(formatInterval(interval));
  return q;
}
