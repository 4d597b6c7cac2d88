// Articles as files, so a knowledge base kept in git can be loaded and
// written back: YAML (one article per file, or a list under `articles:`),
// or Markdown with YAML front matter and the text under fixed headings:
//
//   ---
//   id: uplink-flapping
//   title: { en: Uplink flapping, zh: 上联链路抖动 }
//   appliesTo: { rules: [interface-down] }
//   ---
//   ## Symptoms
//   ...
//   ## 现象
//   ...
//   ## Resolution        (and ## 处理步骤: a numbered list)
//   1. ...

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import YAML from 'yaml';
import { EgovError } from '../../core/errors.js';
import type { Article, ArticleInput } from './article.js';

export type ArticleFileFormat = 'yaml' | 'md';

const HEADINGS: Record<string, { field: 'symptoms' | 'cause' | 'steps'; lang: 'en' | 'zh' }> = {
  symptoms: { field: 'symptoms', lang: 'en' },
  cause: { field: 'cause', lang: 'en' },
  resolution: { field: 'steps', lang: 'en' },
  steps: { field: 'steps', lang: 'en' },
  现象: { field: 'symptoms', lang: 'zh' },
  原因: { field: 'cause', lang: 'zh' },
  处理步骤: { field: 'steps', lang: 'zh' },
};

const MAX_FILE_BYTES = 1024 * 1024;

function fileError(file: string, message: string): EgovError {
  return new EgovError('bad-request', `${file}: ${message}`, { file });
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return YAML.parse(text);
  } catch (error) {
    throw fileError(file, `not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
}

/** One Markdown file with front matter: one article. */
export function parseMarkdownArticle(text: string, file = 'article.md'): ArticleInput {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw fileError(file, 'a Markdown article starts with YAML front matter between --- lines');
  const front = parseYamlText(match[1]!, file);
  if (!front || typeof front !== 'object' || Array.isArray(front)) throw fileError(file, 'the front matter must be a mapping (id, title, appliesTo, ...)');
  const article = { ...(front as Record<string, unknown>) } as Record<string, unknown>;
  const sections = new Map<string, string[]>();
  let current: string | undefined;
  for (const line of match[2]!.split(/\r?\n/)) {
    const heading = /^##\s+(.+?)\s*$/.exec(line);
    if (heading) {
      const name = heading[1]!.toLowerCase();
      if (!HEADINGS[name]) throw fileError(file, `unknown heading "## ${heading[1]}" (use ${Object.keys(HEADINGS).map((h) => `## ${h}`).join(', ')})`);
      if (sections.has(name)) throw fileError(file, `"## ${heading[1]}" appears twice`);
      current = name;
      sections.set(name, []);
      continue;
    }
    if (/^#\s/.test(line) && current === undefined) continue; // a # title line for readers
    if (current === undefined) {
      if (line.trim() !== '') throw fileError(file, `text before the first ## heading: "${line.slice(0, 60)}"`);
      continue;
    }
    sections.get(current)!.push(line);
  }
  for (const [name, lines] of sections) {
    const { field, lang } = HEADINGS[name]!;
    if (field === 'steps') {
      const steps: string[] = [];
      for (const line of lines) {
        const item = /^\s*(?:\d+[.)]|[-*])\s+(.*)$/.exec(line);
        if (item) steps.push(item[1]!.trim());
        else if (line.trim() !== '' && steps.length) steps[steps.length - 1] += ' ' + line.trim();
        else if (line.trim() !== '') throw fileError(file, `under "## ${name}" write a numbered list, not "${line.slice(0, 60)}"`);
      }
      article.steps = { ...((article.steps as object) ?? {}), [lang]: steps };
    } else {
      const body = lines.join('\n').trim();
      article[field] = { ...((article[field] as object) ?? {}), [lang]: body };
    }
  }
  return article as ArticleInput;
}

/** The articles of one YAML text: a mapping (one article), a list, or { articles: [...] }. */
export function parseYamlArticles(text: string, file = 'articles.yaml'): ArticleInput[] {
  const value = parseYamlText(text, file);
  const list = Array.isArray(value) ? value : value && typeof value === 'object' && Array.isArray((value as { articles?: unknown }).articles) ? (value as { articles: unknown[] }).articles : [value];
  return list.map((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw fileError(file, `entry ${i + 1} is not an article (a mapping with id, title, ...)`);
    return item as ArticleInput;
  });
}

export function formatOf(file: string): ArticleFileFormat | undefined {
  const ext = path.extname(file).toLowerCase();
  return ext === '.yaml' || ext === '.yml' ? 'yaml' : ext === '.md' || ext === '.markdown' ? 'md' : undefined;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile() && formatOf(entry.name) && entry.name.toLowerCase() !== 'readme.md') out.push(full);
  }
  return out;
}

/** Reads a file or every .yaml/.yml/.md file under a directory (a README.md is skipped). */
export function readArticleFiles(target: string): Array<{ file: string; articles: ArticleInput[] }> {
  let stat;
  try {
    stat = statSync(target);
  } catch {
    throw new EgovError('not-found', `no such file or directory: ${target}`);
  }
  const files = stat.isDirectory() ? filesUnder(target) : [target];
  if (stat.isDirectory() && files.length === 0) throw new EgovError('bad-request', `${target} holds no .yaml, .yml or .md article files`);
  return files.map((file) => {
    const format = formatOf(file);
    if (!format) throw fileError(file, 'an article file ends in .yaml, .yml or .md');
    if (statSync(file).size > MAX_FILE_BYTES) throw fileError(file, `larger than ${MAX_FILE_BYTES} bytes`);
    const text = readFileSync(file, 'utf8');
    return { file, articles: format === 'md' ? [parseMarkdownArticle(text, file)] : parseYamlArticles(text, file) };
  });
}

/** The file form of an article: what a person writes, plus its state and author. */
export function articleToInput(article: Article): ArticleInput {
  const out: ArticleInput = { id: article.id, title: article.title };
  if (article.symptoms.en || article.symptoms.zh) out.symptoms = article.symptoms;
  if (article.cause.en || article.cause.zh) out.cause = article.cause;
  if (article.steps.en?.length || article.steps.zh?.length) out.steps = article.steps;
  const applies = Object.fromEntries(Object.entries(article.appliesTo).filter(([, v]) => (v as string[]).length));
  if (Object.keys(applies).length) out.appliesTo = applies;
  if (article.tags.length) out.tags = article.tags;
  if (article.runbook) out.runbook = article.runbook;
  out.author = article.author;
  out.state = article.state;
  return out;
}

export function articleToYaml(article: Article): string {
  return YAML.stringify(articleToInput(article), { lineWidth: 0 });
}

export function articleToMarkdown(article: Article): string {
  const { symptoms, cause, steps, ...front } = articleToInput(article);
  const lines = ['---', YAML.stringify(front, { lineWidth: 0 }).trimEnd(), '---', `# ${article.title.en ?? article.title.zh}`, ''];
  const add = (heading: string, body: string | undefined) => {
    if (body) lines.push(`## ${heading}`, '', body, '');
  };
  const list = (heading: string, items: string[] | undefined) => {
    if (items?.length) lines.push(`## ${heading}`, '', ...items.map((s, i) => `${i + 1}. ${s}`), '');
  };
  add('Symptoms', symptoms?.en);
  add('Cause', cause?.en);
  list('Resolution', steps?.en);
  add('现象', symptoms?.zh);
  add('原因', cause?.zh);
  list('处理步骤', steps?.zh);
  return lines.join('\n');
}

/** Writes one file per article into `dir`; returns the files written. */
export function writeArticleFiles(articles: Article[], dir: string, format: ArticleFileFormat = 'yaml'): string[] {
  mkdirSync(dir, { recursive: true });
  return articles.map((article) => {
    const file = path.join(dir, `${article.id}.${format}`);
    writeFileSync(file, format === 'md' ? articleToMarkdown(article) : articleToYaml(article));
    return file;
  });
}

/** The starter set shipped with the suite (monitor/kb/starter). */
export function starterDirectory(): string {
  // From the source (monitor/kb), the compiled tree (dist/monitor/kb) or the CLI bundle (dist/egov-ops).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 6; up++) {
    for (const candidate of [path.join(dir, 'starter'), path.join(dir, 'monitor', 'kb', 'starter')]) {
      if (existsSync(path.join(candidate, 'README.md'))) return candidate;
    }
    dir = path.dirname(dir);
  }
  throw new EgovError('not-found', 'the starter knowledge base (monitor/kb/starter) is not beside this installation');
}
