// restore-drill: drill every backup target (restore the latest snapshot into
// a scratch directory and verify it), then write the DR report: RTO and RPO
// achieved against the objectives, and the GB/T 20988 capability level.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import { defineRunbook } from '../types.js';

interface TargetStatus {
  target: string;
  kind: string;
  offsite: boolean;
  objectives: { rpoHours: number; rtoHours: number };
  lastSuccess: { at: string; snapshotId: string } | null;
  rpoHoursNow: number | null;
  rpoMet: boolean | null;
  rtoHoursAchieved: number | null;
  rtoMet: boolean | null;
}
interface Status {
  targets: TargetStatus[];
  drLevel: { level: number; name: string | null; nameZh: string | null; nextLevel?: { level: number; name: string; missing: string[] } | null };
}
interface Drill {
  ok: boolean;
  target: string;
  snapshot: string | null;
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

const chosen = (all: string[], wanted: string | undefined): string[] => {
  if (!wanted) return all;
  const names = wanted.split(',').map((t) => t.trim()).filter(Boolean);
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length) throw new EgovError('not-found', `no backup target ${unknown.join(', ')} (there are: ${all.join(', ')})`);
  return names;
};

export const restoreDrill = defineRunbook({
  name: 'restore-drill',
  title: 'Restore drill',
  description: 'Drill every backup target (restore the latest snapshot, verify it), write the DR report: RTO, RPO, GB/T 20988 level.',
  params: {
    targets: { type: 'string', pattern: /^[a-z0-9][a-z0-9,-]*$/, description: 'only these targets, comma-separated (default: every target)' },
    backupFirst: { type: 'boolean', default: false, description: 'take a backup to each target before its drill' },
  },
  steps: [
    {
      name: 'list-targets',
      description: 'the backup targets and their last successful backup (egov-ops backup status)',
      changes: false,
      dryRun: async ({ operator, params }) => {
        const status = await operator.cliJson<Status>(['backup', 'status']);
        return chosen(status.targets.map((t) => t.target), params.targets).map((t) => `target ${t}`).join('\n');
      },
      run: async ({ operator, params, note }) => {
        const status = await operator.cliJson<Status>(['backup', 'status']);
        const targets = chosen(status.targets.map((t) => t.target), params.targets);
        for (const t of status.targets.filter((x) => targets.includes(x.target))) note(`${t.target} (${t.kind}${t.offsite ? ', off-site' : ''}): last backup ${t.lastSuccess?.at ?? 'never'}`);
        if (!params.backupFirst) {
          const never = status.targets.filter((t) => targets.includes(t.target) && !t.lastSuccess).map((t) => t.target);
          if (never.length) throw new EgovError('policy-violation', `no backup yet on ${never.join(', ')}: nothing to drill (run with --param backupFirst=true, or egov-ops backup run)`);
        }
        return { targets };
      },
    },
    {
      name: 'backup-first',
      description: 'a backup to each target now (only with backupFirst=true)',
      changes: true,
      timeoutMs: 60 * 60_000,
      dryRun: ({ params }) => (params.backupFirst ? `egov-ops backup run --target T, for each target` : 'nothing (backupFirst=false)'),
      run: async ({ operator, params, results }) => {
        if (!params.backupFirst) return { skipped: true };
        const snapshots: Record<string, string> = {};
        for (const target of (results['list-targets'] as { targets: string[] }).targets) {
          const runs = await operator.cliJson<Array<{ snapshotId: string }>>(['backup', 'run', '--target', target]);
          snapshots[target] = runs[0]?.snapshotId ?? '';
        }
        return snapshots;
      },
    },
    {
      name: 'drill',
      description: 'egov-ops backup drill on each target: restore the latest snapshot into a scratch directory and verify it',
      changes: true,
      timeoutMs: 4 * 60 * 60_000,
      dryRun: 'egov-ops backup drill --target T, for each target (records the drill, RTO and RPO achieved)',
      run: async ({ operator, results, note }) => {
        const drills: Drill[] = [];
        for (const target of (results['list-targets'] as { targets: string[] }).targets) {
          const { stdout, exitCode } = await operator.cli(['--json', 'backup', 'drill', '--target', target], { allowFail: true });
          let drill: Drill;
          try {
            drill = JSON.parse(stdout) as Drill;
          } catch {
            throw new EgovError('unavailable', `egov-ops backup drill --target ${target} exited ${exitCode} without a result`);
          }
          drills.push(drill);
          note(`${target}: ${drill.ok ? 'passed' : 'FAILED'}; RTO ${drill.rtoSeconds ?? '?'} s, RPO ${drill.rpoSeconds ?? '?'} s${drill.ok ? '' : `; failed checks: ${drill.checks.filter((c) => !c.ok).map((c) => `${c.name} (${c.detail})`).join(', ')}`}`);
        }
        const failed = drills.filter((d) => !d.ok).map((d) => d.target);
        if (failed.length) throw new EgovError('chain-broken', `the drill failed on ${failed.join(', ')}`);
        return drills.map((d) => ({ target: d.target, ok: d.ok, snapshot: d.snapshot, rtoSeconds: d.rtoSeconds, rpoSeconds: d.rpoSeconds }));
      },
    },
    {
      name: 'dr-report',
      description: 'write the DR report (RTO and RPO against the objectives, the GB/T 20988 level) as JSON and text',
      changes: false,
      run: async ({ operator, results, workDir, note }) => {
        const status = await operator.cliJson<Status>(['backup', 'status']);
        const drills = results.drill as Array<{ target: string; ok: boolean; snapshot: string | null; rtoSeconds: number | null; rpoSeconds: number | null }>;
        const rows = drills.map((d) => {
          const t = status.targets.find((x) => x.target === d.target)!;
          return { target: d.target, kind: t.kind, offsite: t.offsite, drillOk: d.ok, snapshot: d.snapshot, rtoSeconds: d.rtoSeconds, rtoObjectiveHours: t.objectives.rtoHours, rtoMet: t.rtoMet, rpoHoursNow: t.rpoHoursNow, rpoObjectiveHours: t.objectives.rpoHours, rpoMet: t.rpoMet };
        });
        const report = { generatedAt: new Date().toISOString(), targets: rows, level: status.drLevel.level, levelName: status.drLevel.name, levelNameZh: status.drLevel.nameZh, nextLevel: status.drLevel.nextLevel ?? null };
        const json = path.join(workDir, 'dr-report.json');
        const text = path.join(workDir, 'dr-report.txt');
        writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
        writeFileSync(
          text,
          [
            `DR report ${report.generatedAt}`,
            ...rows.map((r) => `${r.target} (${r.kind}${r.offsite ? ', off-site' : ''}): drill ${r.drillOk ? 'passed' : 'FAILED'}; RTO ${r.rtoSeconds} s (objective ${r.rtoObjectiveHours} h: ${r.rtoMet ? 'met' : 'NOT met'}); RPO ${r.rpoHoursNow} h (objective ${r.rpoObjectiveHours} h: ${r.rpoMet ? 'met' : 'NOT met'})`),
            `GB/T 20988 level: ${report.level}${report.levelName ? ` (${report.levelName}, ${report.levelNameZh})` : ''}`,
            ...(report.nextLevel ? [`for level ${report.nextLevel.level} (${report.nextLevel.name}): ${report.nextLevel.missing.join('; ')}`] : []),
          ].join('\n') + '\n',
        );
        note(`DR report: ${text}`);
        return { json, text, level: report.level, allMet: rows.every((r) => r.drillOk && r.rtoMet && r.rpoMet) };
      },
    },
  ],
});
