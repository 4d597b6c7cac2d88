// HTTP for the knowledge base under /api/kb: network administrators write,
// review and publish (never their own text); auditors and security officers
// read. Every write, and every refused one, is in the audit log.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import { auditedWork } from '../../core/audit-log.js';
import { EgovError } from '../../core/errors.js';
import { LONG_HANDLER_TIMEOUT_MS } from '../../core/index.js';
import { ARTICLE_STATES, type ArticleInput, type ArticleState } from './article.js';
import { parseMarkdownArticle, parseYamlArticles } from './files.js';
import type { KnowledgeBase } from './knowledge-base.js';

export interface KbRoutesOptions {
  kb: KnowledgeBase;
}

const ADMIN = { roles: ['network-admin'] as const };
const VIEW = { roles: ['network-admin', 'auditor', 'security-officer'] as const };
const IMPORT_BODY_LIMIT = 8 * 1024 * 1024;

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Strict = <T extends Record<string, TSchema>>(properties: T) => Type.Object(properties, { additionalProperties: false });

/** A person's name without the certificate serial the access layer appends: a renewed certificate is the same author. */
export function personOf(request: FastifyRequest): string {
  return (request.principal?.name ?? 'anonymous').replace(/\s+\([0-9A-Fa-f:]{2,}\)$/, '');
}

const Bilingual = Strict({ en: Type.Optional(Type.String()), zh: Type.Optional(Type.String()) });
const AppliesView = Strict({
  rules: Type.Array(Type.String()),
  kinds: Type.Array(Type.String()),
  sysObjectIds: Type.Array(Type.String()),
  logPatterns: Type.Array(Type.String()),
  trapOids: Type.Array(Type.String()),
});
const contentFields = {
  title: Bilingual,
  symptoms: Bilingual,
  cause: Bilingual,
  steps: Strict({ en: Type.Optional(Type.Array(Type.String())), zh: Type.Optional(Type.Array(Type.String())) }),
  appliesTo: AppliesView,
  tags: Type.Array(Type.String()),
  runbook: Type.Optional(Type.String()),
};
const ArticleView = Strict({
  id: Type.String(),
  state: literals(ARTICLE_STATES),
  ...contentFields,
  author: Type.String(),
  revision: Type.Integer(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  updatedBy: Type.String(),
  publishedAt: Type.Optional(Type.String()),
  publishedBy: Type.Optional(Type.String()),
});
const RevisionView = Strict({
  revision: Type.Integer(),
  at: Type.String(),
  by: Type.String(),
  changes: Type.Array(Type.String()),
  comment: Type.Optional(Type.String()),
  state: Type.String(),
  content: Strict(contentFields),
});
const summaryFields = {
  id: Type.String(),
  title: Type.String(),
  titleZh: Type.Optional(Type.String()),
  state: Type.String(),
  author: Type.String(),
  revision: Type.Integer(),
  updatedAt: Type.String(),
};
const SummaryView = Strict(summaryFields);
const HitView = Strict({ ...summaryFields, score: Type.Number() });
const MatchView = Strict({ id: Type.String(), title: Type.String(), titleZh: Type.Optional(Type.String()), score: Type.Number(), reasons: Type.Array(Type.String()) });
const SeenView = Strict({
  count: Type.Integer(),
  incidents: Type.Array(
    Strict({
      alertId: Type.String(),
      node: Type.Optional(Type.String()),
      site: Type.Optional(Type.String()),
      startedAt: Type.String(),
      resolvedAt: Type.String(),
      durationMs: Type.Number(),
      note: Type.Optional(Type.String()),
      by: Type.String(),
    }),
  ),
});

// Inputs: the shape here, the content checked by the knowledge base (its messages name the field).
const ArticleInputSchema = Strict({
  id: Type.Optional(Type.String({ maxLength: 80 })),
  title: Type.Optional(Type.Unknown()),
  symptoms: Type.Optional(Type.Unknown()),
  cause: Type.Optional(Type.Unknown()),
  steps: Type.Optional(Type.Unknown()),
  appliesTo: Type.Optional(Type.Unknown()),
  tags: Type.Optional(Type.Unknown()),
  runbook: Type.Optional(Type.Unknown()),
  state: Type.Optional(literals(['draft', 'review'])),
  comment: Type.Optional(Type.String({ maxLength: 2000 })),
});
const IdParams = Strict({ id: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,79}$' }) });
const CommentBody = Type.Union([Strict({ comment: Type.Optional(Type.String({ maxLength: 2000 })) }), Type.Null()]);
const LimitParam = Type.String({ pattern: '^[0-9]{1,3}$' });
const AlertKeyInput = Strict({
  rule: Type.String({ minLength: 1, maxLength: 100 }),
  node: Type.Optional(Type.String({ maxLength: 200 })),
  site: Type.Optional(Type.String({ maxLength: 200 })),
  zone: Type.Optional(Type.String({ maxLength: 50 })),
  kind: Type.Optional(Type.String({ maxLength: 50 })),
  sysObjectId: Type.Optional(Type.String({ maxLength: 200 })),
  logMessage: Type.Optional(Type.String({ maxLength: 8192 })),
  trapOid: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
});
const IncidentInput = Strict({
  alertId: Type.String({ minLength: 1, maxLength: 200 }),
  rule: Type.String({ minLength: 1, maxLength: 100 }),
  node: Type.Optional(Type.String({ maxLength: 200 })),
  site: Type.Optional(Type.String({ maxLength: 200 })),
  startedAt: Type.String({ maxLength: 40 }),
  resolvedAt: Type.String({ maxLength: 40 }),
  note: Type.Optional(Type.String({ maxLength: 10_000 })),
});
const ImportInput = Strict({ format: literals(['yaml', 'md']), content: Type.String({ maxLength: IMPORT_BODY_LIMIT }) });

const limitOf = (value: string | undefined) => (value === undefined ? undefined : Number(value));

export async function kbRoutes(app: FastifyInstance, options: KbRoutesOptions): Promise<void> {
  const { kb } = options;
  const audited = <T>(request: FastifyRequest, action: string, object: string, work: () => Promise<T>) =>
    auditedWork(kb.database, { actor: personOf(request), action, object, source: request.ip }, work);

  app.get<{ Querystring: { state?: ArticleState; limit?: string; offset?: string; tag?: string } }>(
    '/api/kb/articles',
    {
      config: VIEW,
      schema: {
        querystring: Strict({ state: Type.Optional(literals(ARTICLE_STATES)), limit: Type.Optional(LimitParam), offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,7}$' })), tag: Type.Optional(Type.String({ maxLength: 64 })) }),
        response: { 200: Strict({ articles: Type.Array(SummaryView) }) },
      },
    },
    async (request) => {
      const { state, limit, offset, tag } = request.query;
      return { articles: await kb.list({ ...(state ? { state } : {}), ...(tag ? { tag } : {}), ...(limit ? { limit: Number(limit) } : {}), ...(offset ? { offset: Number(offset) } : {}) }) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/kb/articles/:id',
    { config: VIEW, schema: { params: IdParams, response: { 200: Strict({ article: ArticleView, revisions: Type.Array(RevisionView) }) } } },
    async (request) => ({ article: await kb.require(request.params.id), revisions: await kb.revisions(request.params.id) }),
  );

  app.get<{ Querystring: { q: string; state?: ArticleState; limit?: string } }>(
    '/api/kb/search',
    {
      config: VIEW,
      schema: {
        // The knowledge base says what is too long; the schema only keeps the URL sane.
        querystring: Strict({ q: Type.String({ maxLength: 16_384 }), state: Type.Optional(literals(ARTICLE_STATES)), limit: Type.Optional(LimitParam) }),
        response: { 200: Strict({ hits: Type.Array(HitView) }) },
      },
    },
    async (request) => {
      const { q, state, limit } = request.query;
      return { hits: await kb.search(q, { ...(state ? { state } : {}), ...(limit ? { limit: limitOf(limit)! } : {}) }) };
    },
  );

  const save = (request: FastifyRequest<{ Body: ArticleInput & { comment?: string } }>, id: string | undefined) => {
    const { comment, ...input } = request.body;
    return audited(request, id ? 'kb.article-update' : 'kb.article-create', `kb:article:${id ?? input.id ?? 'new'}`, () =>
      kb.saveArticle({ ...input, ...(id ? { id } : {}), author: personOf(request) }, { by: personOf(request), source: request.ip, ...(comment ? { comment } : {}) }),
    );
  };

  app.post<{ Body: ArticleInput & { comment?: string } }>(
    '/api/kb/articles',
    { config: ADMIN, bodyLimit: 256 * 1024, schema: { body: ArticleInputSchema, response: { 201: ArticleView, 200: ArticleView } } },
    async (request, reply) => {
      const existed = request.body.id ? (await kb.get(request.body.id)) !== undefined : false;
      return reply.status(existed ? 200 : 201).send(await save(request, undefined));
    },
  );

  app.put<{ Params: { id: string }; Body: ArticleInput & { comment?: string } }>(
    '/api/kb/articles/:id',
    { config: ADMIN, bodyLimit: 256 * 1024, schema: { params: IdParams, body: ArticleInputSchema, response: { 200: ArticleView } } },
    async (request) => {
      await kb.require(request.params.id);
      if (request.body.id !== undefined && request.body.id !== request.params.id) throw new EgovError('bad-request', `the body's id ${request.body.id} is not the article's (${request.params.id})`);
      // The author stays whoever wrote the article first.
      const { comment, ...input } = request.body;
      return audited(request, 'kb.article-update', `kb:article:${request.params.id}`, () =>
        kb.saveArticle({ ...input, id: request.params.id }, { by: personOf(request), source: request.ip, ...(comment ? { comment } : {}) }),
      );
    },
  );

  const step = (name: string, action: string, run: (id: string, actor: { by: string; source: string; comment?: string }) => Promise<unknown>) =>
    app.post<{ Params: { id: string }; Body: { comment?: string } | null }>(
      `/api/kb/articles/:id/${name}`,
      { config: ADMIN, schema: { params: IdParams, body: CommentBody, response: { 200: ArticleView } } },
      async (request) => {
        const comment = request.body?.comment;
        return audited(request, action, `kb:article:${request.params.id}`, () => run(request.params.id, { by: personOf(request), source: request.ip, ...(comment ? { comment } : {}) }));
      },
    );
  step('submit', 'kb.article-submit', (id, actor) => kb.submitForReview(id, actor));
  step('publish', 'kb.article-publish', (id, actor) => kb.publish(id, actor));
  step('return', 'kb.article-return', (id, actor) => kb.returnToDraft(id, actor));

  app.post<{ Body: { rule: string; limit?: number } & Record<string, string | undefined> }>(
    '/api/kb/match',
    { config: VIEW, schema: { body: AlertKeyInput, response: { 200: Strict({ articles: Type.Array(MatchView) }) } } },
    async (request) => {
      const { limit, ...key } = request.body;
      return { articles: await kb.matchAlert(key as Parameters<KnowledgeBase['matchAlert']>[0], limit) };
    },
  );

  app.get<{ Querystring: { rule: string; node?: string; site?: string; limit?: string } }>(
    '/api/kb/seen-before',
    {
      config: VIEW,
      schema: {
        querystring: Strict({ rule: Type.String({ minLength: 1, maxLength: 100 }), node: Type.Optional(Type.String({ maxLength: 200 })), site: Type.Optional(Type.String({ maxLength: 200 })), limit: Type.Optional(LimitParam) }),
        response: { 200: SeenView },
      },
    },
    async (request) => {
      const { limit, ...key } = request.query;
      return kb.seenBefore(key, limitOf(limit));
    },
  );

  app.post<{ Body: { alertId: string; rule: string; node?: string; site?: string; startedAt: string; resolvedAt: string; note?: string } }>(
    '/api/kb/incidents',
    { config: ADMIN, schema: { body: IncidentInput } },
    async (request, reply) => {
      await audited(request, 'kb.incident-record', `kb:incident:${request.body.alertId}`, () => kb.recordIncident({ ...request.body, by: personOf(request) }));
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { alertId: string } }>(
    '/api/kb/incidents/:alertId/draft',
    { config: ADMIN, schema: { params: Strict({ alertId: Type.String({ minLength: 1, maxLength: 200 }) }), response: { 201: ArticleView } } },
    async (request, reply) =>
      reply.status(201).send(await audited(request, 'kb.article-create', `kb:incident:${request.params.alertId}`, () => kb.draftFromIncident(request.params.alertId, personOf(request), request.ip))),
  );

  app.post<{ Body: { format: 'yaml' | 'md'; content: string } }>(
    '/api/kb/import',
    {
      config: ADMIN,
      bodyLimit: IMPORT_BODY_LIMIT + 4096,
      handlerTimeout: LONG_HANDLER_TIMEOUT_MS,
      schema: { body: ImportInput, response: { 200: Strict({ created: Type.Array(Type.String()), updated: Type.Array(Type.String()), unchanged: Type.Array(Type.String()) }) } },
    },
    async (request) => {
      const { format, content } = request.body;
      return audited(request, 'kb.import', 'kb:articles', async () => {
        const inputs = format === 'md' ? [parseMarkdownArticle(content, 'the request')] : parseYamlArticles(content, 'the request');
        return kb.importArticles(inputs, { by: personOf(request), source: request.ip });
      });
    },
  );
}
