// `egov-ops kb ...`: the operations knowledge base from the command line:
// add or update an article from a file, show, list, search, import a
// directory kept in git (or the starter set), export, and the review steps.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EgovError, openDatabase, type Database } from '../core/index.js';
import {
  ARTICLE_STATES,
  KnowledgeBase,
  formatOf,
  parseMarkdownArticle,
  parseYamlArticles,
  readArticleFiles,
  starterDirectory,
  writeArticleFiles,
  type Article,
  type ArticleRevision,
  type ArticleState,
} from '../monitor/kb/index.js';
import { cliActor, outputFor, resolveConfig, type GlobalOptions } from './context.js';

function stateOption(value: string | undefined): ArticleState | undefined {
  if (value === undefined) return undefined;
  if (!(ARTICLE_STATES as readonly string[]).includes(value)) throw new EgovError('bad-request', `--state must be one of ${ARTICLE_STATES.join(', ')} (got "${value}")`);
  return value as ArticleState;
}

function describeArticle(article: Article, revisions: ArticleRevision[]): string {
  const lines = [`${article.id}  [${article.state}]  revision ${article.revision}`, `  ${article.title.en ?? ''}${article.title.zh ? `  ${article.title.zh}` : ''}`.trimEnd()];
  const block = (label: string, en?: string, zh?: string) => {
    if (en) lines.push(`${label}: ${en}`);
    if (zh) lines.push(`${label} (zh): ${zh}`);
  };
  block('symptoms', article.symptoms.en, article.symptoms.zh);
  block('cause', article.cause.en, article.cause.zh);
  for (const [lang, steps] of [['en', article.steps.en], ['zh', article.steps.zh]] as const) {
    if (steps?.length) lines.push(`steps (${lang}):`, ...steps.map((s, i) => `  ${i + 1}. ${s}`));
  }
  const a = article.appliesTo;
  const applies = [
    a.rules.length ? `rules ${a.rules.join(', ')}` : '',
    a.kinds.length ? `kinds ${a.kinds.join(', ')}` : '',
    a.sysObjectIds.length ? `sysObjectID ${a.sysObjectIds.join(', ')}` : '',
    a.trapOids.length ? `traps ${a.trapOids.join(', ')}` : '',
    a.logPatterns.length ? `logs ${a.logPatterns.map((p) => `/${p}/`).join(' ')}` : '',
  ].filter(Boolean);
  if (applies.length) lines.push(`applies to: ${applies.join('; ')}`);
  if (article.tags.length) lines.push(`tags: ${article.tags.join(', ')}`);
  if (article.runbook) lines.push(`runbook: ${article.runbook}`);
  lines.push(`author: ${article.author}; updated ${article.updatedAt} by ${article.updatedBy}${article.publishedBy ? `; published by ${article.publishedBy}` : ''}`);
  lines.push('revisions:', ...revisions.map((r) => `  ${r.revision}  ${r.at}  ${r.by}  ${r.state}  ${r.changes.join(', ')}${r.comment ? `  "${r.comment}"` : ''}`));
  return lines.join('\n');
}

/** Adds the `kb` commands to the egov-ops program. */
export function registerKbCommands(program: Command): Command {
  const globals = () => program.opts<GlobalOptions>();
  const out = outputFor(program);
  const withKb = async <T>(work: (kb: KnowledgeBase, database: Database) => Promise<T>): Promise<T> => {
    const config = resolveConfig(globals());
    const database = await openDatabase({ dataDir: config.dataDir, url: config.database.url });
    try {
      return await work(new KnowledgeBase(database), database);
    } finally {
      await database.close();
    }
  };
  const actor = () => {
    const { actor: by, source } = cliActor();
    return { by, source };
  };

  const kb = program.command('kb').description('the operations knowledge base (运维经验知识库): articles, search, import and export');

  kb.command('add')
    .description('add an article from a YAML or Markdown file, or save a new revision of the article with the same id')
    .requiredOption('--file <file>', 'the article (.yaml, .yml or .md with front matter)')
    .option('--comment <text>', 'what this revision changes')
    .action(async (o: { file: string; comment?: string }) => {
      const format = formatOf(o.file);
      if (!format) throw new EgovError('bad-request', `${o.file}: an article file ends in .yaml, .yml or .md`);
      let text: string;
      try {
        text = readFileSync(o.file, 'utf8');
      } catch (error) {
        throw new EgovError('not-found', `cannot read ${o.file}: ${(error as Error).message}`);
      }
      const inputs = format === 'md' ? [parseMarkdownArticle(text, o.file)] : parseYamlArticles(text, o.file);
      if (inputs.length !== 1) throw new EgovError('bad-request', `${o.file} holds ${inputs.length} articles; kb add takes one (use kb import for several)`);
      const article = await withKb((k) => k.saveArticle(inputs[0]!, { ...actor(), ...(o.comment ? { comment: o.comment } : {}) }));
      out(article, () => `saved ${article.id} (revision ${article.revision}, ${article.state})`);
    });

  kb.command('show')
    .description('an article with its revisions')
    .argument('<id>')
    .action(async (id: string) => {
      const { article, revisions } = await withKb(async (k) => ({ article: await k.require(id), revisions: await k.revisions(id) }));
      out({ ...article, revisions }, () => describeArticle(article, revisions));
    });

  kb.command('list')
    .description('articles, newest change first')
    .option('--state <state>', `only ${ARTICLE_STATES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '50')
    .action(async (o: { state?: string; limit: string }) => {
      const state = stateOption(o.state);
      const list = await withKb((k) => k.list({ ...(state ? { state } : {}), limit: Number(o.limit) }));
      out(list, () => (list.length ? list.map((a) => `${a.id}  [${a.state}]  ${a.title}${a.titleZh ? `  ${a.titleZh}` : ''}`).join('\n') : 'no articles'));
    });

  kb.command('search')
    .description('full-text search in Chinese and English (every word must appear; 1-2 character words such as 光衰 work)')
    .argument('<text...>')
    .option('--state <state>', `only ${ARTICLE_STATES.join(', ')}`)
    .option('--limit <n>', 'at most this many', '20')
    .action(async (words: string[], o: { state?: string; limit: string }) => {
      const state = stateOption(o.state);
      const hits = await withKb((k) => k.search(words.join(' '), { ...(state ? { state } : {}), limit: Number(o.limit) }));
      out(hits, () => (hits.length ? hits.map((h) => `${h.id}  [${h.state}]  ${h.title}${h.titleZh ? `  ${h.titleZh}` : ''}`).join('\n') : 'nothing found'));
    });

  kb.command('import')
    .description('load articles from a file or every .yaml/.yml/.md file under a directory (all or nothing); --starter loads the starter set')
    .argument('[path]', 'a file or a directory kept in git')
    .option('--starter', 'the starter set shipped with egov-ops')
    .action(async (target: string | undefined, o: { starter?: boolean }) => {
      if (!target && !o.starter) throw new EgovError('bad-request', 'give a file or directory to import, or --starter');
      const files = readArticleFiles(target ?? starterDirectory());
      const result = await withKb((k) => k.importArticles(files.flatMap((f) => f.articles), actor()));
      out({ files: files.length, ...result }, () => `imported ${files.length} files: ${result.created.length} created, ${result.updated.length} updated, ${result.unchanged.length} unchanged`);
    });

  kb.command('export')
    .description('write every article as one file each (YAML, or Markdown with front matter)')
    .requiredOption('--out <dir>', 'the directory to write')
    .option('--format <format>', 'yaml or md', 'yaml')
    .option('--state <state>', `only ${ARTICLE_STATES.join(', ')}`)
    .action(async (o: { out: string; format: string; state?: string }) => {
      if (o.format !== 'yaml' && o.format !== 'md') throw new EgovError('bad-request', `--format must be yaml or md (got "${o.format}")`);
      const state = stateOption(o.state);
      const articles = (await withKb((k) => k.all())).filter((a) => !state || a.state === state);
      const files = writeArticleFiles(articles, o.out, o.format);
      out({ out: o.out, files }, () => `wrote ${files.length} articles to ${o.out}`);
    });

  const step = (name: string, description: string, run: (k: KnowledgeBase, id: string, comment: string | undefined) => Promise<Article>) =>
    kb
      .command(name)
      .description(description)
      .argument('<id>')
      .option('--comment <text>', 'a comment kept with the revision')
      .action(async (id: string, o: { comment?: string }) => {
        const article = await withKb((k) => run(k, id, o.comment));
        out(article, () => `${article.id} is ${article.state} (revision ${article.revision})`);
      });
  const withComment = (comment: string | undefined) => ({ ...actor(), ...(comment ? { comment } : {}) });
  step('submit', 'hand a draft over for review', (k, id, c) => k.submitForReview(id, withComment(c)));
  step('publish', 'publish an article (by a network administrator other than its author and last editor)', (k, id, c) => k.publish(id, withComment(c)));
  step('return', 'send an article back to draft', (k, id, c) => k.returnToDraft(id, withComment(c)));

  kb.command('draft')
    .description('a draft article from a resolved alert\'s recorded incident')
    .requiredOption('--alert <id>', 'the alert id')
    .action(async (o: { alert: string }) => {
      const article = await withKb((k) => k.draftFromIncident(o.alert, actor().by, 'cli'));
      out(article, () => `drafted ${article.id} from alert ${o.alert}`);
    });
  return kb;
}
