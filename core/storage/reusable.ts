// Hot-path statements built and compiled by Kysely once, then run with new
// parameters: on a busy CA the query builder and compiler cost more than
// SQLite's own insert. The first run checks that the parameters given line up
// with the ones Kysely compiled, so a reordered column can never write one
// value into another's place.

import { isDeepStrictEqual } from 'node:util';
import { CompiledQuery, type Compilable } from 'kysely';
import { EgovError } from '../errors.js';
import { directRunner, type WriteTx } from './database.js';

const compiledByAdapter = new WeakMap<object, Map<string, string>>();

function compiledText(tx: WriteTx, key: string, build: () => Compilable<unknown>, parameters: readonly unknown[]): string {
  const adapter = tx.getExecutor().adapter;
  let byKey = compiledByAdapter.get(adapter);
  if (!byKey) compiledByAdapter.set(adapter, (byKey = new Map()));
  let text = byKey.get(key);
  if (text === undefined) {
    const compiled = build().compile();
    if (!isDeepStrictEqual([...compiled.parameters], [...parameters])) {
      throw new EgovError('internal', `reusable statement ${key}: its parameters do not line up with the compiled query`);
    }
    text = compiled.sql;
    byKey.set(key, text);
  }
  return text;
}

export async function runReusable(tx: WriteTx, key: string, build: () => Compilable<unknown>, parameters: readonly unknown[]): Promise<void> {
  const text = compiledText(tx, key, build, parameters);
  const direct = directRunner(tx);
  if (direct) direct.run(text, parameters);
  else await tx.executeQuery(CompiledQuery.raw(text, [...parameters]));
}

/**
 * The same statement for each parameter list (a delivery's rows): compiled
 * and checked against the first list once, looked up once, run in a loop on
 * SQLite; one execution each on PostgreSQL.
 */
export async function runReusableEach<T>(tx: WriteTx, key: string, items: readonly T[], build: (item: T) => Compilable<unknown>, parametersOf: (item: T) => readonly unknown[]): Promise<void> {
  if (items.length === 0) return;
  const first = parametersOf(items[0]!);
  const text = compiledText(tx, key, () => build(items[0]!), first);
  const direct = directRunner(tx);
  if (direct) {
    const lists: Array<readonly unknown[]> = new Array(items.length);
    lists[0] = first;
    for (let i = 1; i < items.length; i++) lists[i] = parametersOf(items[i]!);
    direct.runEach(text, lists);
    return;
  }
  for (const item of items) await tx.executeQuery(CompiledQuery.raw(text, [...parametersOf(item)]));
}

/** A reusable query that returns rows (as Kysely would: the driver's rows, untouched). */
export async function queryReusable<R>(tx: WriteTx, key: string, build: () => Compilable<R>, parameters: readonly unknown[]): Promise<R[]> {
  const text = compiledText(tx, key, build, parameters);
  const direct = directRunner(tx);
  if (direct) return direct.all(text, parameters) as R[];
  return (await tx.executeQuery<R>(CompiledQuery.raw(text, [...parameters]))).rows as R[];
}
