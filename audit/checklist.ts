// The grade-protection checklists as data: audit/checklists/level-{2,3}.yaml
// (one entry per GB/T 28448-2019 evaluation unit) and high-risks.yaml. The
// loader checks every entry and names the file and the code of the first
// problem; nothing is half-loaded.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { EgovError } from '../core/index.js';

export const CHECKLIST_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'checklists');
// dist/audit/ has no YAML; the checklists stay beside the sources.
const defaultDir = () => CHECKLIST_DIR.replace(`${path.sep}dist${path.sep}audit${path.sep}`, `${path.sep}audit${path.sep}`);

export const LEVELS = [2, 3] as const;
export type AuditLevel = (typeof LEVELS)[number];

/** The ten categories (安全类) of the general requirements, in the standard's order. */
export const CATEGORIES = {
  PES: { zh: '安全物理环境', en: 'physical environment' },
  CNS: { zh: '安全通信网络', en: 'communication network' },
  ABS: { zh: '安全区域边界', en: 'area boundary' },
  CES: { zh: '安全计算环境', en: 'computing environment' },
  SMC: { zh: '安全管理中心', en: 'security management centre' },
  PSS: { zh: '安全管理制度', en: 'management policies' },
  ORS: { zh: '安全管理机构', en: 'management organisation' },
  HRS: { zh: '安全管理人员', en: 'personnel' },
  CMS: { zh: '安全建设管理', en: 'construction management' },
  MMS: { zh: '安全运维管理', en: 'operations and maintenance' },
} as const;
export type CategoryCode = keyof typeof CATEGORIES;
export const CATEGORY_CODES = Object.keys(CATEGORIES) as CategoryCode[];

export interface Bilingual {
  zh: string;
  en: string;
}

export interface ChecklistItem {
  code: string;
  level: AuditLevel;
  category: CategoryCode;
  controlPoint: Bilingual;
  zh: string;
  en: string;
  weight: number;
  /** Collector names, or empty for a manual item. */
  collectors: string[];
  manual: boolean;
  highRisks: string[];
}

export interface Checklist {
  level: AuditLevel;
  file: string;
  items: ChecklistItem[];
}

export type HighRiskCatalogue = Record<string, Bilingual>;

export function parseLevel(value: unknown): AuditLevel {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (n !== 2 && n !== 3) throw new EgovError('bad-request', `level must be 2 or 3 (grade-protection levels this suite audits), not ${JSON.stringify(value)}`);
  return n;
}

const CODE_PATTERN = /^L([23])-(PES|CNS|ABS|CES|SMC|PSS|ORS|HRS|CMS|MMS)1-(\d{2})$/;

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EgovError('bad-config', `checklist file ${file} cannot be read: ${(error as Error).message}`);
  }
  try {
    return parse(text);
  } catch (error) {
    throw new EgovError('bad-config', `checklist file ${file} is not valid YAML: ${(error as Error).message}`);
  }
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const bilingual = (v: unknown): v is Bilingual => typeof v === 'object' && v !== null && isText((v as Bilingual).zh) && isText((v as Bilingual).en);

export function loadHighRisks(dir = defaultDir()): HighRiskCatalogue {
  const file = path.join(dir, 'high-risks.yaml');
  const data = readYaml(file);
  if (typeof data !== 'object' || data === null) throw new EgovError('bad-config', `${file}: expected a map of high-risk ids`);
  for (const [id, value] of Object.entries(data)) if (!bilingual(value)) throw new EgovError('bad-config', `${file}: high risk ${id} needs zh and en`);
  return data as HighRiskCatalogue;
}

/**
 * Reads and checks one checklist file. `collectors` is the set of collector
 * names that exist; an item naming another is refused.
 */
export function parseChecklist(file: string, collectors: ReadonlySet<string>, highRisks: HighRiskCatalogue): Checklist {
  const data = readYaml(file) as { level?: unknown; items?: unknown } | null;
  const fail = (code: string | undefined, problem: string): never => {
    throw new EgovError('bad-config', `${file}${code ? `: item ${code}` : ''}: ${problem}`, { file, ...(code ? { code } : {}) });
  };
  if (typeof data !== 'object' || data === null) fail(undefined, 'expected a map with level and items');
  let level: AuditLevel;
  try {
    level = parseLevel(data!.level);
  } catch (error) {
    return fail(undefined, (error as Error).message);
  }
  if (!Array.isArray(data!.items)) fail(undefined, 'items must be a list');
  const seen = new Set<string>();
  const items: ChecklistItem[] = [];
  (data!.items as unknown[]).forEach((raw, index) => {
    const entry = raw as Record<string, unknown>;
    const code = typeof entry?.code === 'string' ? entry.code : undefined;
    if (!code) fail(undefined, `entry ${index + 1} has no code`);
    const match = CODE_PATTERN.exec(code!);
    if (!match) fail(code, 'the code must look like L3-CES1-01 (level, category, set 1, two digits)');
    if (Number(match![1]) !== level) fail(code, `the code is of level ${match![1]} in a level-${level} file`);
    if (seen.has(code!)) fail(code, 'duplicate code');
    seen.add(code!);
    if (entry.category !== match![2]) fail(code, `category ${String(entry.category)} does not match the code's ${match![2]}`);
    if (!bilingual(entry.controlPoint)) fail(code, 'controlPoint needs zh and en');
    if (!isText(entry.zh) || !isText(entry.en)) fail(code, 'the paraphrase needs zh and en');
    const weight = entry.weight;
    if (typeof weight !== 'number' || !(weight > 0) || weight > 1) fail(code, `weight must be a number in (0, 1], not ${JSON.stringify(weight)}`);
    let names: string[] = [];
    if (entry.evidence === 'manual') names = [];
    else if (typeof entry.evidence === 'object' && entry.evidence !== null && Array.isArray((entry.evidence as { collectors?: unknown }).collectors)) {
      names = (entry.evidence as { collectors: unknown[] }).collectors.map(String);
      if (!names.length) fail(code, 'evidence.collectors is empty (write evidence: manual instead)');
      for (const name of names) if (!collectors.has(name)) fail(code, `unknown collector ${name}`);
    } else fail(code, 'evidence must be "manual" or {collectors: [...]}');
    const risks = entry.highRisks === undefined ? [] : Array.isArray(entry.highRisks) ? entry.highRisks.map(String) : fail(code, 'highRisks must be a list');
    for (const risk of risks) if (!(risk in highRisks)) fail(code, `unknown high risk ${risk}`);
    items.push({
      code: code!,
      level,
      category: match![2] as CategoryCode,
      controlPoint: entry.controlPoint as Bilingual,
      zh: entry.zh as string,
      en: entry.en as string,
      weight: weight as number,
      collectors: names,
      manual: names.length === 0,
      highRisks: risks,
    });
  });
  return { level, file, items };
}

const cache = new Map<string, Checklist>();

/** The checklist of a level, from `dir` (default audit/checklists). */
export function loadChecklist(level: AuditLevel, collectors: ReadonlySet<string>, dir = defaultDir()): Checklist {
  const key = `${dir}:${level}`;
  let list = cache.get(key);
  if (!list) {
    list = parseChecklist(path.join(dir, `level-${level}.yaml`), collectors, loadHighRisks(dir));
    cache.set(key, list);
  }
  return list;
}

// ------------------------------------------------------------ remedies

export interface Remedy {
  kind: 'runbook' | 'kb';
  /** Runbook name or knowledge-base article id. */
  id: string;
  /** The collector whose failing check it fixes. */
  collector: string;
}

const REMEDY_ID = /^[a-z0-9][a-z0-9-]{0,99}$/;
const remedyCache = new Map<string, Map<string, Remedy[]>>();

/** audit/checklists/remedies.yaml: per collector, the runbooks and knowledge-base articles that fix its failure. */
export function loadRemedies(collectors: ReadonlySet<string>, dir = defaultDir()): Map<string, Remedy[]> {
  const cached = remedyCache.get(dir);
  if (cached) return cached;
  const file = path.join(dir, 'remedies.yaml');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Map(); // a checklist directory without remedies: hints only
  }
  const doc = parse(text) as { collectors?: Record<string, { runbooks?: unknown; kb?: unknown }> } | null;
  const out = new Map<string, Remedy[]>();
  for (const [collector, entry] of Object.entries(doc?.collectors ?? {})) {
    if (!collectors.has(collector)) throw new EgovError('bad-config', `${file}: remedies for unknown collector ${JSON.stringify(collector)}`);
    const list: Remedy[] = [];
    for (const [key, kind] of [['runbooks', 'runbook'], ['kb', 'kb']] as const) {
      const ids = (entry ?? {})[key] ?? [];
      if (!Array.isArray(ids)) throw new EgovError('bad-config', `${file}: ${collector}.${key} must be a list`);
      for (const id of ids) {
        if (typeof id !== 'string' || !REMEDY_ID.test(id)) throw new EgovError('bad-config', `${file}: ${collector}.${key} has ${JSON.stringify(id)}, not a runbook or article id`);
        list.push({ kind, id, collector });
      }
    }
    out.set(collector, list);
  }
  remedyCache.set(dir, out);
  return out;
}

