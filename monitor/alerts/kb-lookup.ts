// What the alerts need from the knowledge base (monitor/kb's KnowledgeBase
// offers exactly this): the articles that apply to an alert, its history,
// and recording how an incident was resolved. Optional: alerts work without it.

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

export interface KnowledgeLookup {
  matchAlert(key: AlertKey, limit?: number): Promise<MatchedArticle[]>;
  seenBefore(key: { rule: string; node?: string; site?: string }, limit?: number): Promise<SeenBefore>;
  recordIncident(input: { alertId: string; rule: string; node?: string; site?: string; startedAt: string; resolvedAt: string; note?: string; by: string }): Promise<void>;
}
