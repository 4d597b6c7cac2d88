// What a collector returns: a verdict on one check with what it read.

export type CheckStatus = 'pass' | 'partial' | 'fail' | 'na' | 'error';

export interface EvidenceEntry {
  /** Where it came from: a file path (with line), a command, or a suite module. */
  source: string;
  line?: number;
  /** What was read, as read (a line, an excerpt, a count). */
  text: string;
}

export interface CheckResult {
  collector: string;
  version: string;
  /** The asset it looked at: host:NAME, suite, node:NAME. */
  target: string;
  status: CheckStatus;
  summary: string;
  evidence: EvidenceEntry[];
  hint?: string;
  /** High-risk ids this result reveals (only when it fails). */
  highRisks?: string[];
  at: string;
}
