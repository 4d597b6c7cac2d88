// The replaceable scoring rule: item values, roll-up, conclusions (优/良/中/差),
// read from a YAML file naming the report template it follows.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { EgovError } from '../core/index.js';
import { CATEGORIES, type Bilingual, type CategoryCode, type ChecklistItem } from './checklist.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_SCORING_FILE = path.join(here.replace(`${path.sep}dist${path.sep}audit`, `${path.sep}audit`), 'scoring', '2021.yaml');

export type ItemStatus = 'pass' | 'partial' | 'fail' | 'na' | 'manual-pending' | 'error';
export const ITEM_STATUSES: readonly ItemStatus[] = ['pass', 'partial', 'fail', 'na', 'manual-pending', 'error'];

export interface Scoring {
  file: string;
  template: string;
  name: Bilingual;
  label: Bilingual;
  values: { pass: number; partial: number; fail: number };
  conclusions: Array<{ grade: string; en: string; minScore?: number; maxHighRisks?: number }>;
  rule: Bilingual;
}

export function loadScoring(file = DEFAULT_SCORING_FILE): Scoring {
  let data: Record<string, any>;
  try {
    data = parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new EgovError('bad-config', `scoring file ${file} cannot be read: ${(error as Error).message}`);
  }
  const bad = (what: string): never => {
    throw new EgovError('bad-config', `scoring file ${file}: ${what}`);
  };
  if (typeof data?.template !== 'string') bad('template (the report template year) is missing');
  for (const k of ['pass', 'partial', 'fail']) if (typeof data.values?.[k] !== 'number') bad(`values.${k} must be a number`);
  if (!Array.isArray(data.conclusions) || !data.conclusions.length) bad('conclusions must be a list');
  if (data.conclusions.at(-1).minScore !== undefined || data.conclusions.at(-1).maxHighRisks !== undefined) bad('the last conclusion must have no condition (it catches everything else)');
  return { file, template: data.template, name: data.name, label: data.label, values: data.values, conclusions: data.conclusions, rule: data.rule };
}

export interface ScoredItem {
  item: ChecklistItem;
  status: ItemStatus;
}

export interface ScoreBreakdown {
  /** null when nothing could be scored. */
  score: number | null;
  counts: Record<ItemStatus, number>;
  categories: Array<{ code: CategoryCode; zh: string; en: string; score: number | null; counts: Record<ItemStatus, number>; controlPoints: Array<{ zh: string; en: string; score: number | null; items: number }> }>;
}

const emptyCounts = (): Record<ItemStatus, number> => Object.fromEntries(ITEM_STATUSES.map((s) => [s, 0])) as Record<ItemStatus, number>;
const round1 = (n: number) => Math.round(n * 10) / 10;

function weighted(scoring: Scoring, items: ScoredItem[]): number | null {
  let sum = 0;
  let weights = 0;
  for (const { item, status } of items) {
    if (status !== 'pass' && status !== 'partial' && status !== 'fail') continue;
    sum += item.weight * scoring.values[status];
    weights += item.weight;
  }
  return weights ? round1((100 * sum) / weights) : null;
}

export function scoreItems(scoring: Scoring, items: ScoredItem[]): ScoreBreakdown {
  const counts = emptyCounts();
  for (const { status } of items) counts[status]++;
  const categories = (Object.keys(CATEGORIES) as CategoryCode[]).map((code) => {
    const inCategory = items.filter((i) => i.item.category === code);
    const c = emptyCounts();
    for (const { status } of inCategory) c[status]++;
    const points = [...new Set(inCategory.map((i) => i.item.controlPoint.zh))].map((zh) => {
      const its = inCategory.filter((i) => i.item.controlPoint.zh === zh);
      return { zh, en: its[0]!.item.controlPoint.en, score: weighted(scoring, its), items: its.length };
    });
    return { code, ...CATEGORIES[code], score: weighted(scoring, inCategory), counts: c, controlPoints: points };
  });
  return { score: weighted(scoring, items), counts, categories };
}

export function conclude(scoring: Scoring, score: number | null, highRisks: number): { grade: string; en: string } {
  for (const c of scoring.conclusions) {
    if (c.minScore !== undefined && (score === null || score < c.minScore)) continue;
    if (c.maxHighRisks !== undefined && highRisks > c.maxHighRisks) continue;
    return { grade: c.grade, en: c.en };
  }
  return { grade: scoring.conclusions.at(-1)!.grade, en: scoring.conclusions.at(-1)!.en };
}
