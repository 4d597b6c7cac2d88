// The knowledge base: articles with every revision, matching an alert to
// the articles that explain it (structured keys, never text search), past
// incidents ("seen before"), the review workflow, and search in Chinese and
// English on both engines.

import { sql, type RawBuilder } from 'kysely';
import { appendAudit } from '../../core/audit-log.js';
import { EgovError } from '../../core/errors.js';
import type { Database, WriteTx } from '../../core/storage/database.js';
import type { KbArticleTable } from '../../core/storage/schema.js';
import {
  changedFields,
  checkArticleContent,
  checkArticleId,
  checkState,
  searchTerms,
  normalise,
  searchText,
  shortGrams,
  shortGramText,
  type Article,
  type ArticleContent,
  type ArticleInput,
  type ArticleRevision,
  type ArticleState,
  KNOWN_RULES,
  RULE_ALIASES,
} from './article.js';

const KNOWN_RULE_SET: ReadonlySet<string> = new Set(KNOWN_RULES);

export interface AlertKey {
  rule: string;
  node?: string;
  site?: string;
  zone?: string;
  kind?: string;
  sysObjectId?: string;
  logMessage?: string;
  trapOid?: string;
}

export interface MatchedArticle {
  id: string;
  title: string;
  titleZh?: string;
  score: number;
  reasons: string[];
}

export interface SeenBefore {
  count: number;
  incidents: Array<{ alertId: string; node?: string; site?: string; startedAt: string; resolvedAt: string; durationMs: number; note?: string; by: string }>;
}

export interface IncidentInput {
  alertId: string;
  rule: string;
  node?: string;
  site?: string;
  startedAt: string;
  resolvedAt: string;
  note?: string;
  by: string;
}

export interface ArticleSummary {
  id: string;
  title: string;
  titleZh?: string;
  state: ArticleState;
  author: string;
  revision: number;
  updatedAt: string;
}

export interface SearchHit extends ArticleSummary {
  score: number;
}

export interface SearchOptions {
  /** Only articles in this state (default: every state). */
  state?: ArticleState;
  limit?: number;
}

export interface ListOptions {
  state?: ArticleState;
  tag?: string;
  limit?: number;
  offset?: number;
}

export interface ImportResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/** Who acts and from where, for the audit log. */
export interface Actor {
  by: string;
  source?: string;
}

export const MAX_QUERY_LENGTH = 200;
export const MAX_QUERY_TERMS = 8;
export const MAX_RESULTS = 100;
/** Rows the search and the matching look at before ranking. */
const SEARCH_CANDIDATES = 100;
const MATCH_CANDIDATES = 60;
/** For a syslog alert more candidates are read: their log patterns, tested here, decide. */
const LOG_MATCH_CANDIDATES = 500;
/** Articles naming the rule that are weighed at all, the first by rule position (bounds the cost when thousands name one rule). */
const RULE_CANDIDATES = 2000;

/** Compiled log patterns (an article's patterns are tested on every syslog alert); null: not a valid expression. */
const patternCache = new Map<string, RegExp | null>();
function logPattern(pattern: string): RegExp | null {
  let compiled = patternCache.get(pattern);
  if (compiled === undefined) {
    try {
      compiled = new RegExp(pattern, 'iu');
    } catch {
      compiled = null;
    }
    if (patternCache.size >= 10_000) patternCache.clear();
    patternCache.set(pattern, compiled);
  }
  return compiled;
}

const WEIGHTS = { rule: 10, trap: 10, log: 8, oid: 3, kind: 2 } as const;
/** The applies-to rule that stands for every syslog rule, its log patterns deciding. */
const SYSLOG_ANY = 'syslog-pattern';

function clampLimit(limit: number | undefined, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isInteger(limit) || limit < 1) throw new EgovError('bad-request', `limit must be a positive whole number, not ${limit}`);
  return Math.min(limit, MAX_RESULTS);
}

function isoTime(value: unknown, field: string): string {
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new EgovError('bad-request', `${field} must be an ISO 8601 time, not ${JSON.stringify(value)}`, { field });
  return new Date(value).toISOString();
}

function required(value: unknown, field: string, max = 200): string {
  if (typeof value !== 'string' || value.trim() === '') throw new EgovError('bad-request', `${field} is missing`, { field });
  if (value.length > max) throw new EgovError('bad-request', `${field} is longer than ${max} characters`, { field });
  return value.trim();
}

function optional(value: unknown, field: string, max = 200): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return required(value, field, max);
}

function rowToArticle(row: KbArticleTable): Article {
  const content = JSON.parse(row.content) as ArticleContent;
  const article: Article = {
    id: row.id,
    state: row.state,
    ...content,
    author: row.author,
    revision: Number(row.revision),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
  if (row.published_at) article.publishedAt = row.published_at;
  if (row.published_by) article.publishedBy = row.published_by;
  return article;
}

function summaryOf(row: Pick<KbArticleTable, 'id' | 'title_en' | 'title_zh' | 'state' | 'author' | 'revision' | 'updated_at'>): ArticleSummary {
  const summary: ArticleSummary = {
    id: row.id,
    title: row.title_en ?? row.title_zh ?? row.id,
    state: row.state,
    author: row.author,
    revision: Number(row.revision),
    updatedAt: row.updated_at,
  };
  if (row.title_zh) summary.titleZh = row.title_zh;
  return summary;
}

function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => '\\' + c);
}

function slug(value: string): string {
  return value
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
}

export interface KnowledgeBaseOptions {
  /** The clock (tests). */
  now?: () => Date;
}

export class KnowledgeBase {
  private readonly now: () => Date;

  constructor(
    readonly database: Database,
    options: KnowledgeBaseOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  // ---- articles ------------------------------------------------------------

  /** Creates an article (state draft unless given) or, when its id exists, a new revision of it. */
  async saveArticle(input: ArticleInput, actor: Actor & { comment?: string }): Promise<Article> {
    const content = checkArticleContent(input);
    const id = input.id === undefined ? undefined : checkArticleId(input.id);
    const state = input.state === undefined ? undefined : checkState(input.state);
    if (state === 'published') {
      throw new EgovError('policy-violation', 'an article is published by a network administrator other than its author (kb publish), not by saving it');
    }
    const by = required(actor.by, 'by');
    const saved = await this.database.write(async (tx) => {
      const result = await this.upsert(tx, id, content, state, input.author ?? by, by, actor.comment);
      if (result.kind !== 'unchanged') {
        await appendAudit(tx, {
          actor: by,
          action: result.kind === 'created' ? 'kb.article-create' : 'kb.article-update',
          object: `kb:article:${result.id}`,
          source: actor.source ?? 'system',
          outcome: 'success',
          detail: { revision: result.revision, changes: result.changes },
        });
      }
      return result.id;
    });
    return (await this.get(saved))!;
  }

  private async upsert(
    tx: WriteTx,
    givenId: string | undefined,
    content: ArticleContent,
    state: ArticleState | undefined,
    author: string,
    by: string,
    comment: string | undefined,
    allowPublished = false,
  ): Promise<{ id: string; kind: 'created' | 'updated' | 'unchanged'; revision: number; changes: string[] }> {
    const at = this.now().toISOString();
    let id = givenId;
    if (id === undefined) {
      const fromTitle = slug(content.title.en ?? '');
      const base = fromTitle.length >= 2 ? fromTitle : 'article';
      const taken = fromTitle.length >= 2 && (await tx.selectFrom('kb_article').select('id').where('id', '=', base).executeTakeFirst()) !== undefined;
      id = fromTitle.length >= 2 && !taken ? base : `${base}-${Date.now().toString(36)}${Math.floor(Math.random() * 1296).toString(36)}`;
    }
    const existing = await tx.selectFrom('kb_article').selectAll().where('id', '=', id).executeTakeFirst();
    const text = searchText(content, id);
    if (!existing) {
      const initial = state ?? 'draft';
      await tx
        .insertInto('kb_article')
        .values({
          id,
          state: initial,
          title_en: content.title.en ?? null,
          title_zh: content.title.zh ?? null,
          content: JSON.stringify(content),
          author,
          revision: 1,
          created_at: at,
          updated_at: at,
          updated_by: by,
          published_at: initial === 'published' ? at : null,
          published_by: initial === 'published' ? by : null,
          search_text: text,
        })
        .execute();
      const created = allowPublished ? ['created', 'imported'] : ['created'];
      await this.writeRevision(tx, id, 1, at, by, created, comment, initial, content);
      await this.index(tx, id, content, text, false);
      return { id, kind: 'created', revision: 1, changes: created };
    }
    const before = JSON.parse(existing.content) as ArticleContent;
    const changes = changedFields(before, content);
    const nextState = state ?? existing.state;
    if (nextState === 'published' && existing.state !== 'published' && !allowPublished) {
      throw new EgovError('policy-violation', 'an article is published by a network administrator other than its author (kb publish), not by saving it');
    }
    if (nextState !== existing.state) changes.push('state');
    if (changes.length === 0) return { id, kind: 'unchanged', revision: Number(existing.revision), changes };
    if (allowPublished) changes.push('imported');
    const revision = Number(existing.revision) + 1;
    await tx
      .updateTable('kb_article')
      .set({
        state: nextState,
        title_en: content.title.en ?? null,
        title_zh: content.title.zh ?? null,
        content: JSON.stringify(content),
        revision,
        updated_at: at,
        updated_by: by,
        search_text: text,
        ...(nextState === 'published' && existing.state !== 'published' ? { published_at: at, published_by: by } : {}),
      })
      .where('id', '=', id)
      .execute();
    await this.writeRevision(tx, id, revision, at, by, changes, comment, nextState, content);
    await this.index(tx, id, content, text, true);
    return { id, kind: 'updated', revision, changes };
  }

  private async writeRevision(tx: WriteTx, id: string, revision: number, at: string, by: string, changes: string[], comment: string | undefined, state: ArticleState, content: ArticleContent): Promise<void> {
    await tx
      .insertInto('kb_article_revision')
      .values({ article_id: id, revision, at, by, changes: JSON.stringify(changes), comment: comment ?? null, state, content: JSON.stringify(content) })
      .execute();
  }

  /** The applies-to keys, the short-query grams and the trigram text of one article. */
  private async index(tx: WriteTx, id: string, content: ArticleContent, text: string, replacing: boolean): Promise<void> {
    if (replacing) {
      await tx.deleteFrom('kb_applies').where('article_id', '=', id).execute();
      await tx.deleteFrom('kb_gram').where('article_id', '=', id).execute();
    }
    const applies: Array<{ article_id: string; key_kind: 'rule' | 'kind' | 'oid' | 'log' | 'trap'; value: string; position: number }> = [];
    const add = (key_kind: 'rule' | 'kind' | 'oid' | 'log' | 'trap', values: string[]) => values.forEach((value, position) => applies.push({ article_id: id, key_kind, value, position }));
    add('rule', content.appliesTo.rules);
    add('kind', content.appliesTo.kinds);
    add('oid', content.appliesTo.sysObjectIds);
    add('log', content.appliesTo.logPatterns);
    add('trap', content.appliesTo.trapOids);
    if (applies.length) await tx.insertInto('kb_applies').values(applies).execute();
    const grams = shortGrams(shortGramText(content));
    for (let i = 0; i < grams.length; i += 400) {
      await tx
        .insertInto('kb_gram')
        .values(grams.slice(i, i + 400).map((gram) => ({ gram, article_id: id })))
        .execute();
    }
    if (this.database.dialect === 'sqlite') {
      if (replacing) await sql`delete from kb_article_fts where rowid = (select rowid from kb_article where id = ${id})`.execute(tx);
      await sql`insert into kb_article_fts (rowid, article_id, body) values ((select rowid from kb_article where id = ${id}), ${id}, ${text})`.execute(tx);
    }
  }

  async get(id: string): Promise<Article | undefined> {
    const row = await this.database.db.selectFrom('kb_article').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? rowToArticle(row) : undefined;
  }

  async require(id: string): Promise<Article> {
    const article = await this.get(id);
    if (!article) throw new EgovError('not-found', `no knowledge-base article ${JSON.stringify(id)}`);
    return article;
  }

  async revisions(id: string): Promise<ArticleRevision[]> {
    const rows = await this.database.db.selectFrom('kb_article_revision').selectAll().where('article_id', '=', id).orderBy('revision', 'desc').execute();
    return rows.map((row) => {
      const revision: ArticleRevision = {
        revision: Number(row.revision),
        at: row.at,
        by: row.by,
        changes: JSON.parse(row.changes) as string[],
        state: row.state as ArticleState,
        content: JSON.parse(row.content) as ArticleContent,
      };
      if (row.comment) revision.comment = row.comment;
      return revision;
    });
  }

  async list(options: ListOptions = {}): Promise<ArticleSummary[]> {
    const limit = clampLimit(options.limit, 50);
    let query = this.database.db.selectFrom('kb_article').select(['id', 'title_en', 'title_zh', 'state', 'author', 'revision', 'updated_at']);
    if (options.state) query = query.where('state', '=', checkState(options.state));
    if (options.tag) {
      const tag = options.tag;
      query = query.where('id', 'in', (eb) => eb.selectFrom('kb_article').select('id').where('content', 'like', `%${JSON.stringify(tag).slice(1, -1).replace(/[%_]/g, '')}%`));
    }
    const rows = await query
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(limit)
      .offset(options.offset ?? 0)
      .execute();
    const summaries = rows.map(summaryOf);
    if (!options.tag) return summaries;
    // The LIKE above narrows; the tags themselves decide.
    const kept: ArticleSummary[] = [];
    for (const summary of summaries) if ((await this.get(summary.id))?.tags.includes(options.tag)) kept.push(summary);
    return kept;
  }

  async count(state?: ArticleState): Promise<number> {
    let query = this.database.db.selectFrom('kb_article').select((eb) => eb.fn.countAll<number>().as('n'));
    if (state) query = query.where('state', '=', state);
    return Number((await query.executeTakeFirstOrThrow()).n);
  }

  // ---- review and publication ---------------------------------------------

  /** The author (or anyone) hands a draft over for review. */
  async submitForReview(id: string, actor: Actor & { comment?: string }): Promise<Article> {
    return this.transition(id, actor, 'kb.article-submit', (article) => {
      if (article.state !== 'draft') throw new EgovError('conflict', `article ${id} is ${article.state}; only a draft goes to review`);
      return 'review';
    });
  }

  /** Publishes a draft or an article in review: by a network administrator who neither wrote nor last changed it. */
  async publish(id: string, actor: Actor & { comment?: string }): Promise<Article> {
    return this.transition(id, actor, 'kb.article-publish', (article, by, revisions) => {
      if (article.state === 'published') throw new EgovError('conflict', `article ${id} is already published`);
      if (by === article.author) throw new EgovError('policy-violation', `article ${id} was written by ${by}: another network administrator publishes it`);
      // Four eyes: the publisher wrote none of the text (loading files written by others is not writing).
      const wrote = revisions.some((r) => r.by === by && !r.changes.includes('imported') && !(r.changes.length === 1 && r.changes[0] === 'state'));
      if (wrote) throw new EgovError('policy-violation', `article ${id} was changed by ${by}: another network administrator publishes it`);
      return 'published';
    });
  }

  /** Sends an article in review (or a published one) back to draft, with the reviewer's comment. */
  async returnToDraft(id: string, actor: Actor & { comment?: string }): Promise<Article> {
    return this.transition(id, actor, 'kb.article-return', (article) => {
      if (article.state === 'draft') throw new EgovError('conflict', `article ${id} is already a draft`);
      return 'draft';
    });
  }

  private async transition(id: string, actor: Actor & { comment?: string }, action: string, decide: (article: Article, by: string, revisions: Array<{ by: string; changes: string[] }>) => ArticleState): Promise<Article> {
    const by = required(actor.by, 'by');
    const comment = optional(actor.comment, 'comment', 2000);
    await this.database.write(async (tx) => {
      const row = await tx.selectFrom('kb_article').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw new EgovError('not-found', `no knowledge-base article ${JSON.stringify(id)}`);
      const article = rowToArticle(row);
      const revisions = (await tx.selectFrom('kb_article_revision').select(['by', 'changes']).where('article_id', '=', id).execute()).map((r) => ({ by: r.by, changes: JSON.parse(r.changes) as string[] }));
      const next = decide(article, by, revisions);
      const at = this.now().toISOString();
      const revision = article.revision + 1;
      await tx
        .updateTable('kb_article')
        .set({ state: next, revision, updated_at: at, ...(next === 'published' ? { published_at: at, published_by: by } : {}) })
        .where('id', '=', id)
        .execute();
      await this.writeRevision(tx, id, revision, at, by, ['state'], comment, next, JSON.parse(row.content) as ArticleContent);
      await appendAudit(tx, { actor: by, action, object: `kb:article:${id}`, source: actor.source ?? 'system', outcome: 'success', detail: { from: article.state, to: next, revision, ...(comment ? { comment } : {}) } });
    });
    return this.require(id);
  }

  // ---- import --------------------------------------------------------------

  /**
   * Loads articles (from files kept in git, say) in one transaction: all or
   * nothing. Articles keep the state their file gives, published included:
   * a knowledge base kept in git is reviewed there.
   */
  async importArticles(inputs: ArticleInput[], actor: Actor): Promise<ImportResult> {
    const by = required(actor.by, 'by');
    const checked = inputs.map((input, i) => {
      try {
        if (input?.id === undefined) throw new EgovError('bad-request', 'article id: is missing (a file to import names its article)', { field: 'id' });
        return { id: checkArticleId(input.id), content: checkArticleContent(input), state: input.state === undefined ? undefined : checkState(input.state), author: input.author };
      } catch (error) {
        if (error instanceof EgovError) throw new EgovError(error.code, `article ${i + 1}${typeof input?.id === 'string' ? ` (${input.id})` : ''}: ${error.message}`, error.details);
        throw error;
      }
    });
    const seen = new Set<string>();
    for (const item of checked) {
      if (seen.has(item.id)) throw new EgovError('bad-request', `article ${item.id} is given twice`);
      seen.add(item.id);
    }
    const result: ImportResult = { created: [], updated: [], unchanged: [] };
    await this.database.write(async (tx) => {
      for (const item of checked) {
        const outcome = await this.upsert(tx, item.id, item.content, item.state, item.author ?? by, by, 'imported', true);
        result[outcome.kind].push(item.id);
      }
      await appendAudit(tx, {
        actor: by,
        action: 'kb.import',
        object: 'kb:articles',
        source: actor.source ?? 'system',
        outcome: 'success',
        detail: { created: result.created.length, updated: result.updated.length, unchanged: result.unchanged.length },
      });
    });
    return result;
  }

  /** Every article, for export. */
  async all(): Promise<Article[]> {
    const rows = await this.database.db.selectFrom('kb_article').selectAll().orderBy('id').execute();
    return rows.map(rowToArticle);
  }

  // ---- search --------------------------------------------------------------

  /**
   * Full text in Chinese and English: every term must appear. Terms of three
   * characters or more go through the trigram index (FTS5 trigram on SQLite,
   * pg_trgm on PostgreSQL); shorter ones (光衰, 端口, ip) through the table of
   * 1- and 2-character grams of titles, symptoms and tags.
   */
  async search(query: string, options: SearchOptions = {}): Promise<SearchHit[]> {
    if (typeof query !== 'string') throw new EgovError('bad-request', 'search query must be text');
    if (query.length > MAX_QUERY_LENGTH) {
      throw new EgovError('bad-request', `search query is ${query.length} characters long; at most ${MAX_QUERY_LENGTH}`, { field: 'q', length: query.length, max: MAX_QUERY_LENGTH });
    }
    const terms = searchTerms(query);
    if (terms.length === 0) throw new EgovError('bad-request', 'search query is empty: give a word to look for', { field: 'q' });
    if (terms.length > MAX_QUERY_TERMS) throw new EgovError('bad-request', `search query has ${terms.length} words; at most ${MAX_QUERY_TERMS}`, { field: 'q' });
    const limit = clampLimit(options.limit, 20);
    const state = options.state === undefined ? undefined : checkState(options.state);
    const long = terms.filter((t) => [...t].length >= 3);
    const short = terms.filter((t) => [...t].length < 3);

    const db = this.database.db;
    let select = db.selectFrom('kb_article').select(['id', 'title_en', 'title_zh', 'state', 'author', 'revision', 'updated_at']);
    if (state) select = select.where('state', '=', state);
    for (const term of short) select = select.where('id', 'in', (eb) => eb.selectFrom('kb_gram').select('article_id').where('gram', '=', term));
    if (long.length) {
      if (this.database.dialect === 'sqlite') {
        const match = long.map((t) => `"${t.replace(/"/g, '""')}"`).join(' ');
        select = select.where(sql<boolean>`rowid in (select rowid from kb_article_fts where kb_article_fts match ${match})`);
      } else {
        for (const term of long) select = select.where(sql<boolean>`search_text like ${'%' + escapeLike(term) + '%'}`);
      }
    }
    // The first matches, ranked here: a term in the title counts three times one elsewhere.
    const rows = await select.limit(SEARCH_CANDIDATES).execute();
    const hits = rows.map((row) => {
      const title = normalise(`${row.title_en ?? ''} ${row.title_zh ?? ''}`);
      let score = 0;
      for (const term of terms) score += title.includes(term) ? 3 : 1;
      if (row.state === 'published') score += 0.25;
      return { ...summaryOf(row), score };
    });
    hits.sort((a, b) => b.score - a.score || b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id));
    return hits.slice(0, limit);
  }

  // ---- matching alerts -----------------------------------------------------

  /**
   * The published articles that apply to an alert, best first: an article
   * applies when it names the alert's rule or trap OID; its device kinds and
   * vendors (sysObjectID prefixes) add weight and, when the alert names them
   * and the article lists others, rule it out; for a syslog-pattern alert its
   * log patterns must match the message.
   */
  async matchAlert(key: AlertKey, limit?: number): Promise<MatchedArticle[]> {
    const given = required(key?.rule, 'rule', 100);
    const rule = RULE_ALIASES[given] ?? given;
    const max = clampLimit(limit, 5);
    // A syslog alert (its message given) is also explained by the articles for any syslog rule whose patterns match it.
    const generic = key.logMessage !== undefined && rule !== SYSLOG_ANY;
    const trap = key.trapOid?.replace(/^\./, '');
    const oid = key.sysObjectId?.replace(/^\./, '');
    const prefixes: string[] = [];
    if (oid) {
      const parts = oid.split('.');
      for (let i = 1; i <= parts.length && i <= 40; i++) prefixes.push(parts.slice(0, i).join('.'));
    }
    const db = this.database.db;
    // Only a rule or a trap makes an article a candidate (each its own index range: an OR scans the
    // whole table); kinds and vendors then weigh and rule out by point lookups on those candidates,
    // so the cost follows the articles naming the rule, not every article naming the device kind.
    const hits = [sql`select article_id, ${sql.lit(WEIGHTS.rule)} + 1.0 / (position + 1) as w from kb_applies where key_kind = 'rule' and value = ${rule}`];
    if (generic) hits.push(sql`select article_id, 1 as w from kb_applies where key_kind = 'rule' and value = ${SYSLOG_ANY}`);
    if (trap) hits.push(sql`select article_id, ${sql.lit(WEIGHTS.trap)} as w from kb_applies where key_kind = 'trap' and value = ${trap}`);
    // Per candidate, once each: does it name the alert's kind (vendor), and does it list any kind (vendor)?
    const flag = (condition: RawBuilder<unknown>) => sql`case when ${condition} then 1 else 0 end`;
    const flags = [sql`c.article_id`, sql`c.w`];
    const weight = [sql`f.w`];
    const where = [sql`f.published = 1`];
    // Published, by a point lookup per candidate (a join here let SQLite scan every article once per candidate).
    flags.push(sql`${flag(sql`exists (select 1 from kb_article a where a.id = c.article_id and a.state = 'published')`)} as published`);
    for (const [kind, values, w] of [['kind', key.kind ? [key.kind] : [], WEIGHTS.kind], ['oid', prefixes, WEIGHTS.oid]] as const) {
      if (values.length === 0) continue;
      flags.push(sql`${flag(sql`exists (select 1 from kb_applies x where x.key_kind = ${kind} and x.value in (${sql.join([...values])}) and x.article_id = c.article_id)`)} as ${sql.ref(`names_${kind}`)}`);
      flags.push(sql`${flag(sql`exists (select 1 from kb_applies x where x.article_id = c.article_id and x.key_kind = ${kind})`)} as ${sql.ref(`lists_${kind}`)}`);
      weight.push(sql`${sql.ref(`f.names_${kind}`)} * ${sql.lit(w)}`);
      where.push(sql`(${sql.ref(`f.names_${kind}`)} = 1 or ${sql.ref(`f.lists_${kind}`)} = 0)`);
    }
    const candidates = (
      await sql<{ article_id: string; weight: number }>`select f.article_id, ${sql.join(weight, sql` + `)} as weight from (select ${sql.join(flags)}
        from (select h.article_id, sum(h.w) as w from (${sql.join(hits, sql` union all `)}) h group by h.article_id order by w desc, h.article_id limit ${sql.lit(RULE_CANDIDATES)}) c) f
        where ${sql.join(where, sql` and `)}
        order by weight desc, f.article_id limit ${sql.lit(key.logMessage !== undefined ? LOG_MATCH_CANDIDATES : MATCH_CANDIDATES)}`.execute(db)
    ).rows;
    if (candidates.length === 0) return [];
    const ids = candidates.map((c) => c.article_id);
    const [applies, articles] = await Promise.all([
      db.selectFrom('kb_applies').select(['article_id', 'key_kind', 'value', 'position']).where('article_id', 'in', ids).orderBy('position').execute(),
      db.selectFrom('kb_article').select(['id', 'title_en', 'title_zh', 'updated_at']).where('id', 'in', ids).execute(),
    ]);
    const keysOf = new Map<string, { rule: string[]; kind: string[]; oid: string[]; log: string[]; trap: string[] }>();
    for (const row of applies) {
      let keys = keysOf.get(row.article_id);
      if (!keys) keysOf.set(row.article_id, (keys = { rule: [], kind: [], oid: [], log: [], trap: [] }));
      keys[row.key_kind].push(row.value);
    }
    const matched: Array<MatchedArticle & { updatedAt: string }> = [];
    for (const article of articles) {
      const keys = keysOf.get(article.id)!;
      const reasons: string[] = [];
      let score = 0;
      const byRule = keys.rule.includes(rule);
      if (byRule) {
        // The first rule an article names is its main one.
        score += WEIGHTS.rule + 1 / (keys.rule.indexOf(rule) + 1);
        reasons.push(`rule ${rule}`);
      }
      const byTrap = trap !== undefined && keys.trap.includes(trap);
      let byLog = false;
      if (byTrap) {
        score += WEIGHTS.trap;
        reasons.push(`trap OID ${trap}`);
      }
      if (keys.kind.length && key.kind) {
        if (!keys.kind.includes(key.kind)) continue;
        score += WEIGHTS.kind;
        reasons.push(`device kind ${key.kind}`);
      }
      if (keys.oid.length && oid) {
        const best = keys.oid.filter((p) => prefixes.includes(p)).sort((a, b) => b.length - a.length)[0];
        if (!best) continue;
        score += WEIGHTS.oid + best.split('.').length / 100;
        reasons.push(`vendor sysObjectID ${best}.*`);
      }
      if (keys.log.length && key.logMessage) {
        const hits = keys.log.filter((pattern) => logPattern(pattern)?.test(key.logMessage!) ?? false);
        if (hits.length) {
          // Each further pattern that matches is more evidence.
          score += WEIGHTS.log + (hits.length - 1);
          for (const hit of hits) reasons.push(`log message matches /${hit}/`);
        } else if (rule === SYSLOG_ANY && !byTrap) continue;
        byLog = hits.length > 0;
      }
      // Named only for any syslog rule: its patterns must say it is this message.
      if (!byRule && !byTrap && !byLog) continue;
      const one: MatchedArticle & { updatedAt: string } = { id: article.id, title: article.title_en ?? article.title_zh ?? article.id, score: Math.round(score * 100) / 100, reasons, updatedAt: article.updated_at };
      if (article.title_zh) one.titleZh = article.title_zh;
      matched.push(one);
    }
    matched.sort((a, b) => b.score - a.score || b.updatedAt.localeCompare(a.updatedAt) || a.id.localeCompare(b.id));
    return matched.slice(0, max).map(({ updatedAt: _, ...rest }) => rest);
  }

  // ---- incidents -----------------------------------------------------------

  /** Records how an alert was resolved; the same alert and start time recorded again is ignored. */
  async recordIncident(input: IncidentInput): Promise<void> {
    const alertId = required(input?.alertId, 'alertId');
    const rule = required(input.rule, 'rule', 100);
    const node = optional(input.node, 'node');
    const site = optional(input.site, 'site');
    const by = required(input.by, 'by');
    const note = optional(input.note, 'note', 10_000);
    const startedAt = isoTime(input.startedAt, 'startedAt');
    const resolvedAt = isoTime(input.resolvedAt, 'resolvedAt');
    const durationMs = Date.parse(resolvedAt) - Date.parse(startedAt);
    if (durationMs < 0) throw new EgovError('bad-request', `resolvedAt ${resolvedAt} is before startedAt ${startedAt}`, { field: 'resolvedAt' });
    await this.database.write(async (tx) => {
      const existing = await tx.selectFrom('kb_incident').select('id').where('alert_id', '=', alertId).where('started_at', '=', startedAt).executeTakeFirst();
      if (existing) return;
      await tx
        .insertInto('kb_incident')
        .values({ alert_id: alertId, rule, node: node ?? null, site: site ?? null, started_at: startedAt, resolved_at: resolvedAt, duration_ms: durationMs, note: note ?? null, by })
        .execute();
      await appendAudit(tx, { actor: by, action: 'kb.incident-record', object: `kb:incident:${alertId}`, source: 'system', outcome: 'success', detail: { rule, node, site, durationMs } });
    });
  }

  /** Earlier incidents of the same rule: on the same node first, then elsewhere on the same site; newest first. */
  async seenBefore(key: { rule: string; node?: string; site?: string }, limit?: number): Promise<SeenBefore> {
    const rule = required(key?.rule, 'rule', 100);
    const max = clampLimit(limit, 5);
    const db = this.database.db;
    const incidents: SeenBefore['incidents'] = [];
    let count = 0;
    const toIncident = (row: { alert_id: string; node: string | null; site: string | null; started_at: string; resolved_at: string; duration_ms: number; note: string | null; by: string }) => {
      const one: SeenBefore['incidents'][number] = { alertId: row.alert_id, startedAt: row.started_at, resolvedAt: row.resolved_at, durationMs: Number(row.duration_ms), by: row.by };
      if (row.node) one.node = row.node;
      if (row.site) one.site = row.site;
      if (row.note) one.note = row.note;
      return one;
    };
    const columns = ['alert_id', 'node', 'site', 'started_at', 'resolved_at', 'duration_ms', 'note', 'by'] as const;
    if (key.node) {
      const base = db.selectFrom('kb_incident').where('rule', '=', rule).where('node', '=', key.node);
      const [rows, n] = await Promise.all([
        base.select(columns).orderBy('resolved_at', 'desc').limit(max).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      incidents.push(...rows.map(toIncident));
      count += Number(n.n);
    }
    if (key.site) {
      let base = db.selectFrom('kb_incident').where('rule', '=', rule).where('site', '=', key.site);
      if (key.node) {
        const node = key.node;
        base = base.where((eb) => eb.or([eb('node', 'is', null), eb('node', '<>', node)]));
      }
      const [rows, n] = await Promise.all([
        base.select(columns).orderBy('resolved_at', 'desc').limit(max).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      incidents.push(...rows.map(toIncident));
      count += Number(n.n);
    }
    return { count, incidents: incidents.slice(0, max) };
  }

  /** A draft article from a resolved alert's incident record, written by `by`, for another administrator to review. */
  async draftFromIncident(alertId: string, by: string, source = 'system'): Promise<Article> {
    const who = required(by, 'by');
    const incident = await this.database.db.selectFrom('kb_incident').selectAll().where('alert_id', '=', alertId).orderBy('resolved_at', 'desc').executeTakeFirst();
    if (!incident) throw new EgovError('not-found', `no incident recorded for alert ${JSON.stringify(alertId)}`);
    const where = [incident.node, incident.site].filter(Boolean).join(' / ');
    const minutes = Math.max(1, Math.round(Number(incident.duration_ms) / 60_000));
    const input: ArticleInput = {
      id: `draft-${slug(incident.rule)}-${slug(alertId) || 'alert'}`.slice(0, 80),
      title: { en: `${incident.rule}${where ? ` on ${where}` : ''}`, zh: `${incident.rule}${where ? `（${where}）` : ''}` },
      symptoms: {
        en: `Alert ${alertId} (${incident.rule}) fired at ${incident.started_at} and was resolved at ${incident.resolved_at}, after about ${minutes} min.`,
        zh: `告警 ${alertId}（${incident.rule}）于 ${incident.started_at} 触发，${incident.resolved_at} 恢复，历时约 ${minutes} 分钟。`,
      },
      steps: incident.note ? { en: [incident.note] } : {},
      appliesTo: { rules: (KNOWN_RULE_SET.has(incident.rule) ? [incident.rule] : []) as string[] },
      tags: ['from-incident'],
      state: 'draft',
    };
    const existing = await this.get(input.id!);
    if (existing) throw new EgovError('conflict', `alert ${alertId} already has a draft article: ${existing.id}`);
    return this.saveArticle(input, { by: who, source, comment: `drafted from alert ${alertId}` });
  }
}
