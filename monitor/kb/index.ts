// monitor/kb: the operations knowledge base (运维经验知识库): articles with
// every revision, matching alerts to articles by structured keys, past
// incidents ("seen before"), review and publication, search in Chinese and
// English on both engines, import and export as YAML or Markdown files.
export {
  KnowledgeBase,
  MAX_QUERY_LENGTH,
  MAX_QUERY_TERMS,
  type AlertKey,
  type MatchedArticle,
  type SeenBefore,
  type IncidentInput,
  type ArticleSummary,
  type SearchHit,
  type SearchOptions,
  type ListOptions,
  type ImportResult,
  type Actor,
  type KnowledgeBaseOptions,
} from './knowledge-base.js';
export {
  ARTICLE_STATES,
  KNOWN_RULES,
  RULE_ALIASES,
  DEVICE_KINDS,
  ARTICLE_ID_PATTERN,
  checkArticleContent,
  type Article,
  type ArticleContent,
  type ArticleInput,
  type ArticleRevision,
  type ArticleState,
  type AppliesTo,
  type Bilingual,
  type BilingualList,
} from './article.js';
export {
  readArticleFiles,
  parseMarkdownArticle,
  parseYamlArticles,
  articleToInput,
  articleToYaml,
  articleToMarkdown,
  writeArticleFiles,
  starterDirectory,
  formatOf,
  type ArticleFileFormat,
} from './files.js';
export { kbRoutes, personOf, type KbRoutesOptions } from './routes.js';
export { kbPages, formToArticle, type KbPagesOptions } from './pages.js';
