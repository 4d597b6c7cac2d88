// /api/audit: the security officer runs audits, records findings and
// waivers; the auditor reads; nobody else (a ca-admin cannot attest:
// separation of duties). Changes and report downloads are audited.

import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { LONG_HANDLER_TIMEOUT_MS, actorOf, recordAudit, type Database } from '../core/index.js';
import { CATEGORY_CODES, loadChecklist, parseLevel } from './checklist.js';
import { COLLECTOR_NAMES } from './collectors/index.js';
import { parseFormat, reportCsv, reportHtml, reportJson, reportPdf, type ReportLanguage } from './report.js';
import type { AuditService } from './service.js';
import { announceRun } from './watch.js';

// JSON bodies with more than text fields: their shape is declared here; the
// service checks the values (a level other than 2 or 3, unknown nodes...).
const SYSTEM_BODY = Type.Object({
  name: Type.String({ maxLength: 200 }),
  level: Type.Unknown(),
  nodes: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 100_000 })),
  hosts: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 10_000 })),
  suite: Type.Optional(Type.Boolean()),
  notApplicable: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 2000 }))),
});
const RUN_BODY = Type.Object({ system: Type.Optional(Type.String({ maxLength: 200 })), level: Type.Optional(Type.Unknown()) });

const OFFICER = { roles: ['security-officer'] as const };
const READERS = { roles: ['security-officer', 'auditor'] as const };

export interface AuditRoutesOptions {
  service: AuditService;
}

export async function trendOf(service: AuditService, system: string, upTo: number) {
  return (await service.listRuns({ system, limit: 20 })).filter((r) => r.id <= upTo).reverse().map((r) => ({ id: r.id, startedAt: r.startedAt, score: r.score, conclusion: r.conclusion, highRisks: r.highRisks }));
}

export async function auditRoutes(app: FastifyInstance, options: AuditRoutesOptions): Promise<void> {
  const { service } = options;
  const database: Database = service.database;

  app.get<{ Querystring: { level?: string; category?: string } }>('/api/audit/items', { config: READERS }, async (request) => {
    const level = parseLevel(request.query.level ?? '3');
    const category = request.query.category?.toUpperCase();
    return loadChecklist(level, COLLECTOR_NAMES).items.filter((i) => !category || (CATEGORY_CODES as string[]).includes(category) && i.category === category);
  });
  app.get('/api/audit/systems', { config: READERS }, async () => service.listSystems());
  app.post<{ Body: { name: string; level: unknown; nodes?: string[]; hosts?: string[]; suite?: boolean; notApplicable?: Record<string, string> } }>('/api/audit/systems', { config: OFFICER, schema: { body: SYSTEM_BODY } }, async (request, reply) => {
    reply.code(201);
    return service.addSystem(request.body ?? ({} as never), actorOf(request));
  });
  app.get('/api/audit/hosts', { config: READERS }, async () => service.listHosts());
  app.get<{ Querystring: { system?: string } }>('/api/audit/runs', { config: READERS }, async (request) => service.listRuns(request.query.system ? { system: request.query.system } : {}));
  app.post<{ Body: { system?: string; level?: unknown } }>('/api/audit/runs', { config: OFFICER, handlerTimeout: LONG_HANDLER_TIMEOUT_MS, schema: { body: RUN_BODY } }, async (request, reply) => {
    const body = request.body ?? {};
    const run = await service.run({ ...(body.system ? { system: body.system } : {}), ...(body.level !== undefined ? { level: body.level } : {}) }, actorOf(request));
    await announceRun(service, run);
    reply.code(201);
    return run;
  });
  app.get<{ Params: { id: string } }>('/api/audit/runs/:id', { config: READERS }, async (request) => service.getRun(request.params.id));
  app.get<{ Params: { id: string }; Querystring: { format?: string; lang?: string } }>('/api/audit/runs/:id/report', { config: READERS, handlerTimeout: LONG_HANDLER_TIMEOUT_MS }, async (request, reply) => {
    const format = parseFormat(request.query.format ?? 'html');
    const lang: ReportLanguage = request.query.lang === 'en' ? 'en' : 'zh-CN';
    const run = await service.getRun(request.params.id);
    const trend = await trendOf(service, run.system, run.id);
    await recordAudit(database, { ...actorOf(request), action: 'audit.report', object: `audit-run:${run.id}`, outcome: 'success', detail: { format, lang } });
    const name = `mlps-${run.system}-run${run.id}.${format}`;
    reply.header('content-disposition', `attachment; filename="${name}"`);
    if (format === 'json') return reply.type('application/json').send(reportJson(run, trend));
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(reportCsv(run));
    const html = reportHtml(run, trend, lang);
    if (format === 'html') return reply.type('text/html; charset=utf-8').send(html);
    return reply.type('application/pdf').send(await reportPdf(html));
  });
  app.post<{ Body: { code: string; system?: string; result: string; note: string; until: string } }>('/api/audit/attestations', { config: OFFICER }, async (request, reply) => {
    const b = request.body ?? ({} as never);
    reply.code(201);
    return service.attest({ code: b.code, result: b.result, note: b.note, until: b.until, ...(b.system ? { system: b.system } : {}) }, actorOf(request));
  });
  app.post<{ Body: { code: string; system?: string; reason: string; until: string } }>('/api/audit/waivers', { config: OFFICER }, async (request, reply) => {
    const b = request.body ?? ({} as never);
    reply.code(201);
    return service.waive({ code: b.code, reason: b.reason, until: b.until, ...(b.system ? { system: b.system } : {}) }, actorOf(request));
  });
  // An attachment of an attestation, as stored: its own type and name, never rendered inline by the browser.
  app.get<{ Params: { sha256: string } }>('/api/audit/attachments/:sha256', { config: READERS }, async (request, reply) => {
    const file = await service.exportAttachment(request.params.sha256, actorOf(request));
    const ascii = file.name.replace(/[^A-Za-z0-9._-]/g, '_');
    reply.header('content-disposition', `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(file.name)}`);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-attachment-sha256', file.sha256);
    return reply.type(file.mediaType === 'text/plain' ? 'text/plain; charset=utf-8' : file.mediaType).send(file.content);
  });
  app.get<{ Querystring: { code?: string; system?: string } }>('/api/audit/findings', { config: READERS }, async (request) => service.findings({ ...(request.query.code ? { code: request.query.code } : {}), ...(request.query.system ? { system: request.query.system } : {}) }));
}
