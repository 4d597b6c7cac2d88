// audit: grade-protection (等级保护 / MLPS 2.0) audits. The checklists as
// data, collectors of evidence from the suite, its hosts and its devices,
// officers' findings, runs, scores and reports.
export * from './checklist.js';
export * from './collectors/index.js';
export * from './scoring.js';
export * from './service.js';
export * from './sources.js';
export * from './report.js';
export * from './watch.js';
export { auditRoutes, type AuditRoutesOptions } from './routes.js';
export { auditPages, type AuditPagesOptions } from './pages.js';
