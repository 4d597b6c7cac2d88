// A small typed InfluxQL target for the Grafana foundation SDK, which has
// no InfluxDB query type: a Dataquery variant built the way the SDK's
// custom-query example builds one (a class implementing cog.Builder whose
// build() returns an object marked as a Dataquery). Measurement, field and
// tag names are typed from monitor/records.ts: a misspelt name does not
// compile, and none is written twice.
//
// Queries are raw InfluxQL (rawQuery: true), with Grafana's macros left in
// ($timeFilter, $__interval, template variables): Grafana's InfluxDB data
// source substitutes them, and test/dashboards-queries.test.ts does the same
// to run every one against a real influxd.

import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import { MEASUREMENT_TAGS, MEASUREMENTS, type FieldName, type MeasurementName, type TagName } from '../monitor/index.js';

/** What Grafana's InfluxDB data source stores for an InfluxQL target (its InfluxQuery, the fields we use). */
export interface InfluxQLQuery extends cog.Dataquery {
  refId: string;
  datasource?: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  alias?: string;
  hide?: boolean;
}

export type Aggregate = 'mean' | 'max' | 'min' | 'last' | 'sum' | 'count';

/** One selected expression: `fn("field")`, optionally wrapped (non_negative_difference) and scaled, named with AS. */
export interface Selection<M extends MeasurementName> {
  field: FieldName<M>;
  fn: Aggregate;
  as: string;
  /** Applied to the aggregate: non_negative_difference(last("accepted")). */
  outer?: 'non_negative_difference';
  /** Raw InfluxQL after the aggregate: ` / (mean("highSpeedMbps") * 10000)`. */
  arithmetic?: string;
}

/** `"tag" =~ /^$variable$/`: the form Grafana regex-escapes single and multi values into (a|b). */
export interface VariableCondition<M extends MeasurementName> {
  tag: TagName<M>;
  variable: string;
}

const quote = (name: string) => `"${name.replace(/"/g, '\\"')}"`;

/** A typed SELECT over one measurement (or over a subquery), rendered to InfluxQL text. */
export class InfluxQL<M extends MeasurementName> {
  private selections: string[] = [];
  private conditions: string[] = [];
  private groupTime: string | null = null;
  private groupTags: string[] = [];
  private fillWith: string | null = null;
  private limitRows: number | null = null;
  private descending = false;

  constructor(
    readonly measurement: M,
    private readonly inner: { render(): string } | null = null,
  ) {}

  /** The fields of the measurement, by name (for checks and for the lint). */
  static fields<N extends MeasurementName>(m: N): readonly FieldName<N>[] {
    return MEASUREMENTS[m].fields as readonly FieldName<N>[];
  }

  select(...selections: Array<Selection<M>>): this {
    for (const s of selections) {
      if (!(MEASUREMENTS[this.measurement].fields as readonly string[]).includes(s.field)) throw new Error(`${s.field} is not a field of ${this.measurement}`);
      const aggregate = `${s.fn}(${quote(s.field)})`;
      this.selections.push(`${s.outer ? `${s.outer}(${aggregate})` : aggregate}${s.arithmetic ?? ''} AS ${quote(s.as)}`);
    }
    return this;
  }

  /** Over a subquery: `top("u", $topn)` with tags, or an aggregate of the inner names. */
  selectOuter(expression: string): this {
    this.selections.push(expression);
    return this;
  }

  whereVariable(...conditions: Array<VariableCondition<M>>): this {
    for (const c of conditions) {
      if (!(MEASUREMENT_TAGS[this.measurement] as readonly string[]).includes(c.tag)) throw new Error(`${c.tag} is not a tag of ${this.measurement}`);
      this.conditions.push(`${quote(c.tag)} =~ /^$${c.variable}$/`);
    }
    return this;
  }

  whereField(field: FieldName<M>, op: '=' | '>' | '<' | '>=' | '<=', value: number): this {
    this.conditions.push(`${quote(field)} ${op} ${value}`);
    return this;
  }

  /** GROUP BY time($__interval), or a fixed bucket such as 1d. */
  groupByTime(interval: '$__interval' | '1d' | '1h' = '$__interval'): this {
    this.groupTime = `time(${interval})`;
    return this;
  }

  groupBy(...tags: Array<TagName<M>>): this {
    for (const t of tags) if (!(MEASUREMENT_TAGS[this.measurement] as readonly string[]).includes(t)) throw new Error(`${t} is not a tag of ${this.measurement}`);
    this.groupTags.push(...tags.map(quote));
    return this;
  }

  fill(value: 'null' | 'none' | '0' | 'previous'): this {
    this.fillWith = value;
    return this;
  }

  limit(rows: number): this {
    this.limitRows = rows;
    return this;
  }

  newestFirst(): this {
    this.descending = true;
    return this;
  }

  render(): string {
    if (!this.selections.length) throw new Error(`a query of ${this.measurement} selects nothing`);
    const from = this.inner ? `(${this.inner.render()})` : quote(this.measurement);
    // The time filter goes on the innermost query only (InfluxQL applies it to the subquery's points).
    const where = [...this.conditions, ...(this.inner ? [] : ['$timeFilter'])];
    const group = [...(this.groupTime ? [this.groupTime] : []), ...this.groupTags];
    return [
      `SELECT ${this.selections.join(', ')} FROM ${from}`,
      where.length ? `WHERE ${where.join(' AND ')}` : '',
      group.length ? `GROUP BY ${group.join(', ')}` : '',
      this.fillWith ? `fill(${this.fillWith})` : '',
      this.descending ? 'ORDER BY time DESC' : '',
      this.limitRows !== null ? `LIMIT ${this.limitRows}` : '',
    ]
      .filter(Boolean)
      .join(' ');
  }
}

export const influxql = <M extends MeasurementName>(measurement: M) => new InfluxQL(measurement);
/** A query over a subquery of the same measurement's names. */
export const influxqlOver = <M extends MeasurementName>(inner: InfluxQL<M>) => new InfluxQL(inner.measurement, inner);

/** The target builder: a cog.Builder of a Dataquery, as the SDK's panels take it (withTarget). */
export class InfluxQLTargetBuilder implements cog.Builder<cog.Dataquery> {
  private readonly target: Omit<InfluxQLQuery, '_implementsDataqueryVariant'>;

  constructor(query: { render(): string } | string, refId = 'A') {
    this.target = { refId, query: typeof query === 'string' ? query : query.render(), rawQuery: true, resultFormat: 'time_series' };
  }

  refId(refId: string): this {
    this.target.refId = refId;
    return this;
  }

  datasource(datasource: common.DataSourceRef): this {
    this.target.datasource = datasource;
    return this;
  }

  alias(alias: string): this {
    this.target.alias = alias;
    return this;
  }

  table(): this {
    this.target.resultFormat = 'table';
    return this;
  }

  build(): InfluxQLQuery {
    return { ...this.target, _implementsDataqueryVariant() {} };
  }
}

export const target = (query: { render(): string } | string, refId = 'A') => new InfluxQLTargetBuilder(query, refId);
