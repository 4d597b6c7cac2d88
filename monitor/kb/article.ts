// What a knowledge-base article is, how one given by a person (a file, a
// form, a request) is checked, and the text the search paths index.

import { EgovError } from '../../core/errors.js';

export const ARTICLE_STATES = ['draft', 'review', 'published'] as const;
export type ArticleState = (typeof ARTICLE_STATES)[number];

/**
 * The rule ids of monitor/alerts' built-in set (test/kb-starter.test.ts
 * holds the two lists equal), plus `syslog-pattern`: any syslog rule, the
 * article's log patterns deciding. Applies-to rules must name one of these.
 */
export const KNOWN_RULES = [
  'node-down',
  'interface-down',
  'link-utilisation',
  'link-utilisation-out',
  'interface-errors',
  'interface-discards',
  'cpu-high',
  'memory-high',
  'storage-full',
  'device-rebooted',
  'agent-silent',
  'firewall-deny-flood',
  'routing-neighbour-down',
  'syslog-pattern',
  'trap-link-down',
  'trap-cold-start',
  'trap-auth-failure',
  'backup-failed',
  'cert-expiring',
  'crl-next-update',
  'audit-chain-broken',
  'audit-score-dropped',
  'audit-high-risk',
] as const;

/**
 * Names articles used before they followed the alert engine's: read as the
 * rule the engine raises (a child behind a down parent folds into node-down;
 * failed drills and a missed RPO raise backup-failed).
 */
export const RULE_ALIASES: Readonly<Record<string, (typeof KNOWN_RULES)[number]>> = {
  'node-unreachable': 'node-down',
  'storage-high': 'storage-full',
  'trap-linkdown': 'trap-link-down',
  'trap-coldstart': 'trap-cold-start',
  'trap-authfail': 'trap-auth-failure',
  'drill-failed': 'backup-failed',
  'rpo-missed': 'backup-failed',
};

export const DEVICE_KINDS = ['router', 'switch', 'firewall', 'gateway', 'server', 'other'] as const;

export interface Bilingual {
  en?: string;
  zh?: string;
}

export interface BilingualList {
  en?: string[];
  zh?: string[];
}

export interface AppliesTo {
  /** Alert rule ids (KNOWN_RULES). */
  rules: string[];
  /** Inventory device kinds. */
  kinds: string[];
  /** Vendors by sysObjectID prefix: 1.3.6.1.4.1.2011 (Huawei), 1.3.6.1.4.1.9 (Cisco). */
  sysObjectIds: string[];
  /** Regular expressions (JavaScript syntax, case-insensitive) over syslog messages. */
  logPatterns: string[];
  /** Trap OIDs (snmpTrapOID.0 values). */
  trapOids: string[];
}

/** The part of an article a person writes. */
export interface ArticleContent {
  title: Bilingual;
  symptoms: Bilingual;
  cause: Bilingual;
  steps: BilingualList;
  appliesTo: AppliesTo;
  tags: string[];
  runbook?: string;
}

export interface ArticleInput extends Partial<Omit<ArticleContent, 'appliesTo'>> {
  id?: string;
  appliesTo?: Partial<AppliesTo>;
  state?: ArticleState;
  author?: string;
}

export interface Article extends ArticleContent {
  id: string;
  state: ArticleState;
  author: string;
  revision: number;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
  publishedAt?: string;
  publishedBy?: string;
}

export interface ArticleRevision {
  revision: number;
  at: string;
  by: string;
  /** The fields this revision changed (`created` for the first). */
  changes: string[];
  comment?: string;
  state: ArticleState;
  content: ArticleContent;
}

export const ARTICLE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,79}$/;
export const MAX_TEXT = 20_000;
export const MAX_LIST = 100;

const OID_PATTERN = /^\d+(\.\d+)*$/;

function bad(field: string, message: string): never {
  throw new EgovError('bad-request', `article ${field}: ${message}`, { field });
}

function text(value: unknown, field: string, max = MAX_TEXT): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') bad(field, `must be text, not ${Array.isArray(value) ? 'a list' : typeof value}`);
  const trimmed = value.trim();
  if (trimmed.length > max) bad(field, `is ${trimmed.length} characters, more than ${max}`);
  return trimmed === '' ? undefined : trimmed;
}

function bilingual(value: unknown, field: string, max = MAX_TEXT): Bilingual {
  if (value === undefined || value === null) return {};
  if (typeof value === 'string') {
    const only = text(value, field, max);
    return only === undefined ? {} : /[\u3400-\u9fff]/.test(only) ? { zh: only } : { en: only };
  }
  if (typeof value !== 'object' || Array.isArray(value)) bad(field, 'must be text or { en, zh }');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (key !== 'en' && key !== 'zh') bad(field, `unknown language "${key}" (en or zh)`);
  const out: Bilingual = {};
  const en = text(record.en, `${field}.en`, max);
  const zh = text(record.zh, `${field}.zh`, max);
  if (en !== undefined) out.en = en;
  if (zh !== undefined) out.zh = zh;
  return out;
}

function list(value: unknown, field: string, max = 500): string[] {
  if (value === undefined || value === null) return [];
  const items = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(items)) bad(field, 'must be a list');
  if (items.length > MAX_LIST) bad(field, `has ${items.length} entries, more than ${MAX_LIST}`);
  const out: string[] = [];
  items.forEach((item, i) => {
    const one = text(typeof item === 'number' ? String(item) : item, `${field}[${i}]`, max);
    if (one !== undefined && !out.includes(one)) out.push(one);
  });
  return out;
}

function bilingualList(value: unknown, field: string): BilingualList {
  if (value === undefined || value === null) return {};
  if (Array.isArray(value)) {
    const only = list(value, field, 2000);
    return only.some((s) => /[\u3400-\u9fff]/.test(s)) ? { zh: only } : { en: only };
  }
  if (typeof value !== 'object') bad(field, 'must be a list or { en: [...], zh: [...] }');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (key !== 'en' && key !== 'zh') bad(field, `unknown language "${key}" (en or zh)`);
  const out: BilingualList = {};
  const en = list(record.en, `${field}.en`, 2000);
  const zh = list(record.zh, `${field}.zh`, 2000);
  if (en.length) out.en = en;
  if (zh.length) out.zh = zh;
  return out;
}

const APPLIES_KEYS = ['rules', 'kinds', 'sysObjectIds', 'logPatterns', 'trapOids'] as const;

function appliesTo(value: unknown): AppliesTo {
  if (value !== undefined && value !== null && (typeof value !== 'object' || Array.isArray(value))) bad('appliesTo', 'must be { rules, kinds, sysObjectIds, logPatterns, trapOids }');
  const record = (value ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!(APPLIES_KEYS as readonly string[]).includes(key)) bad('appliesTo', `unknown key "${key}" (one of ${APPLIES_KEYS.join(', ')})`);
  }
  const rules = [...new Set(list(record.rules, 'appliesTo.rules', 64).map((rule) => RULE_ALIASES[rule] ?? rule))];
  for (const rule of rules) {
    if (!(KNOWN_RULES as readonly string[]).includes(rule)) bad('appliesTo.rules', `unknown rule "${rule}" (one of ${KNOWN_RULES.join(', ')})`);
  }
  const kinds = list(record.kinds, 'appliesTo.kinds', 32);
  for (const kind of kinds) {
    if (!(DEVICE_KINDS as readonly string[]).includes(kind)) bad('appliesTo.kinds', `unknown device kind "${kind}" (one of ${DEVICE_KINDS.join(', ')})`);
  }
  const sysObjectIds = list(record.sysObjectIds, 'appliesTo.sysObjectIds', 128).map((oid) => oid.replace(/^\./, ''));
  for (const oid of sysObjectIds) if (!OID_PATTERN.test(oid)) bad('appliesTo.sysObjectIds', `"${oid}" is not a dotted OID`);
  const trapOids = list(record.trapOids, 'appliesTo.trapOids', 128).map((oid) => oid.replace(/^\./, ''));
  for (const oid of trapOids) if (!OID_PATTERN.test(oid)) bad('appliesTo.trapOids', `"${oid}" is not a dotted OID`);
  const logPatterns = list(record.logPatterns, 'appliesTo.logPatterns', 500);
  for (const pattern of logPatterns) {
    try {
      new RegExp(pattern, 'iu');
    } catch (error) {
      bad('appliesTo.logPatterns', `"${pattern}" is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  // Log patterns explain syslog-pattern alerts: an article with patterns applies to that rule.
  if (logPatterns.length && !rules.includes('syslog-pattern')) rules.push('syslog-pattern');
  return { rules, kinds, sysObjectIds, logPatterns, trapOids };
}

/** Checks what a person wrote; throws a bad-request EgovError naming the field. */
export function checkArticleContent(input: ArticleInput): ArticleContent {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad('input', 'must be an object');
  const title = bilingual(input.title, 'title', 200);
  if (!title.en && !title.zh) bad('title', 'is missing: give title.en or title.zh (or both)');
  const content: ArticleContent = {
    title,
    symptoms: bilingual(input.symptoms, 'symptoms'),
    cause: bilingual(input.cause, 'cause'),
    steps: bilingualList(input.steps, 'steps'),
    appliesTo: appliesTo(input.appliesTo),
    tags: list(input.tags, 'tags', 64),
  };
  const runbook = text(input.runbook, 'runbook', 200);
  if (runbook !== undefined) content.runbook = runbook;
  return content;
}

export function checkArticleId(id: unknown): string {
  if (typeof id !== 'string' || !ARTICLE_ID_PATTERN.test(id)) {
    throw new EgovError('bad-request', `article id ${JSON.stringify(id)}: use 2-80 lower-case letters, digits and dashes`, { field: 'id' });
  }
  return id;
}

export function checkState(state: unknown): ArticleState {
  if (!(ARTICLE_STATES as readonly unknown[]).includes(state)) bad('state', `must be one of ${ARTICLE_STATES.join(', ')}, not ${JSON.stringify(state)}`);
  return state as ArticleState;
}

/** Which top-level fields differ between two versions of the content. */
export function changedFields(before: ArticleContent, after: ArticleContent): string[] {
  const fields = ['title', 'symptoms', 'cause', 'steps', 'appliesTo', 'tags', 'runbook'] as const;
  return fields.filter((field) => JSON.stringify(before[field] ?? null) !== JSON.stringify(after[field] ?? null));
}

/** Text for search: NFKC, lower case, whitespace runs folded. */
export function normalise(value: string): string {
  return value.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

export function searchText(content: ArticleContent, id: string): string {
  const parts = [
    id,
    content.title.en,
    content.title.zh,
    content.symptoms.en,
    content.symptoms.zh,
    content.cause.en,
    content.cause.zh,
    ...(content.steps.en ?? []),
    ...(content.steps.zh ?? []),
    ...content.tags,
    content.runbook,
  ];
  return normalise(parts.filter(Boolean).join('\n'));
}

/**
 * The text the short path indexes: title, tags and symptoms (the words a
 * person looks an article up by), not the long cause and steps.
 */
export function shortGramText(content: ArticleContent): string {
  return normalise([content.title.en, content.title.zh, content.symptoms.en, content.symptoms.zh, ...content.tags].filter(Boolean).join(' '));
}

const SEPARATOR = /[\s\p{P}\p{S}]+/u;

const CJK_RUN = /[\u3400-\u9fff\uf900-\ufaff]+/gu;

/**
 * The grams of the short path: every character and every pair of
 * neighbouring characters of each run of Chinese characters (光, 光衰), and
 * the whole words of one or two letters or digits (ip, 4g). Longer words
 * are found through the trigram index.
 */
export function shortGrams(value: string): string[] {
  const grams = new Set<string>();
  for (const run of value.match(CJK_RUN) ?? []) {
    const chars = [...run];
    for (let i = 0; i < chars.length; i++) {
      grams.add(chars[i]!);
      if (i + 1 < chars.length) grams.add(chars[i]! + chars[i + 1]!);
    }
  }
  for (const word of value.replace(CJK_RUN, ' ').split(SEPARATOR)) if (word.length > 0 && word.length <= 2) grams.add(word);
  return [...grams];
}

/** Search terms: normalised, split on white space and punctuation, distinct. */
export function searchTerms(query: string): string[] {
  return [...new Set(normalise(query).split(SEPARATOR).filter(Boolean))];
}
