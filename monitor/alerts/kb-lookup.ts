// What the alerts need from the knowledge base (monitor/kb's KnowledgeBase
// offers exactly this; the record types are its own): the articles that apply to an alert, its history,
// and recording how an incident was resolved. Optional: alerts work without it.

import type { AlertKey, MatchedArticle, SeenBefore } from '../kb/index.js';

export type { AlertKey, MatchedArticle, SeenBefore };

export interface KnowledgeLookup {
  matchAlert(key: AlertKey, limit?: number): Promise<MatchedArticle[]>;
  seenBefore(key: { rule: string; node?: string; site?: string }, limit?: number): Promise<SeenBefore>;
  recordIncident(input: { alertId: string; rule: string; node?: string; site?: string; startedAt: string; resolvedAt: string; note?: string; by: string }): Promise<void>;
}
