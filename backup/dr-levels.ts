// Disaster-recovery capability levels (灾难恢复能力等级) as data, and the
// evaluation of the evidence against them. Edit the thresholds here to match
// your evaluator's reading; published RTO/RPO per level vary by source.

import type { SiteDeclaration } from './plans.js';

export const DR_LEVEL_EDITION =
  'GB/T 20988-2007 (six levels; GB/T 20988-2025 replaces it from 2026-01-01). Thresholds are this suite\'s reading of the 2007 text and can be edited in backup/dr-levels.ts';

export interface DrLevel {
  level: number;
  name: string;
  nameZh: string;
  /** A successful backup no older than this (a restic snapshot is a full backup). */
  maxBackupAgeHours: number;
  /** Scheduled transfers per day at least this many. */
  minRunsPerDay: number;
  /** Media or repository away from the primary site. */
  offsite: boolean;
  /** Backups travel electronically to the backup site (a remote target). */
  electronicTransfer: boolean;
  /** A passing restore drill no older than this (undefined: not needed). */
  drillWithinDays?: number;
  /** Achieved RTO of that drill at most this (undefined: not judged). */
  maxRtoHours?: number;
  /** Achieved RPO at most this (undefined: only maxBackupAgeHours). */
  maxRpoHours?: number;
  /** Facts only the operator can declare (config backup.site). */
  declared: Array<{ fact: keyof SiteDeclaration; value: unknown; text: string }>;
  /** Something restic snapshots cannot provide at all. */
  unreachableWithSnapshots?: string;
}

export const DR_LEVELS: DrLevel[] = [
  { level: 1, name: 'basic support', nameZh: '基本支持', maxBackupAgeHours: 7 * 24, minRunsPerDay: 1 / 7, offsite: true, electronicTransfer: false, declared: [] },
  {
    level: 2,
    name: 'standby site support',
    nameZh: '备用场地支持',
    maxBackupAgeHours: 24 + 2,
    minRunsPerDay: 1,
    offsite: true,
    electronicTransfer: false,
    drillWithinDays: 365,
    declared: [{ fact: 'standbySite', value: true, text: 'a standby site available after an incident (backup.site.standbySite)' }],
  },
  {
    level: 3,
    name: 'electronic transfer and partial equipment support',
    nameZh: '电子传输和部分设备支持',
    maxBackupAgeHours: 12,
    minRunsPerDay: 2,
    offsite: true,
    electronicTransfer: true,
    drillWithinDays: 180,
    maxRtoHours: 24,
    declared: [
      { fact: 'standbySite', value: true, text: 'a standby site (backup.site.standbySite)' },
      { fact: 'standbyEquipment', value: ['partial', 'full'], text: 'part of the processing equipment ready at the backup site (backup.site.standbyEquipment: partial)' },
    ],
  },
  {
    level: 4,
    name: 'electronic transfer and complete equipment support',
    nameZh: '电子传输及完整设备支持',
    maxBackupAgeHours: 12,
    minRunsPerDay: 2,
    offsite: true,
    electronicTransfer: true,
    drillWithinDays: 90,
    maxRtoHours: 8,
    declared: [
      { fact: 'standbySite', value: true, text: 'a standby site (backup.site.standbySite)' },
      { fact: 'standbyEquipment', value: ['full'], text: 'all processing equipment ready at the backup site (backup.site.standbyEquipment: full)' },
    ],
  },
  {
    level: 5,
    name: 'real-time data transfer and complete equipment support',
    nameZh: '实时数据传输及完整设备支持',
    maxBackupAgeHours: 0.25,
    minRunsPerDay: 96,
    offsite: true,
    electronicTransfer: true,
    drillWithinDays: 90,
    maxRtoHours: 2,
    maxRpoHours: 0.25,
    declared: [
      { fact: 'realTimeReplication', value: true, text: 'remote real-time replication of key data (backup.site.realTimeReplication)' },
      { fact: 'automaticSwitchover', value: true, text: 'automatic or centrally controlled network switch-over (backup.site.automaticSwitchover)' },
      { fact: 'staffed24x7', value: true, text: 'a 7x24 site with staff (backup.site.staffed24x7)' },
      { fact: 'standbyEquipment', value: ['full'], text: 'all processing equipment ready (backup.site.standbyEquipment: full)' },
    ],
  },
  {
    level: 6,
    name: 'zero data loss and remote cluster support',
    nameZh: '数据零丢失和远程集群支持',
    maxBackupAgeHours: 0.25,
    minRunsPerDay: 96,
    offsite: true,
    electronicTransfer: true,
    drillWithinDays: 90,
    maxRtoHours: 0.25,
    maxRpoHours: 0,
    declared: [
      { fact: 'synchronousReplication', value: true, text: 'remote synchronous replication (backup.site.synchronousReplication)' },
      { fact: 'automaticSwitchover', value: true, text: 'automatic switch-over (backup.site.automaticSwitchover)' },
    ],
    unreachableWithSnapshots: 'zero data loss needs synchronous replication; periodic restic snapshots always lose the changes since the last one',
  },
];

export interface DrEvidence {
  target: string;
  kind: 'same-city' | 'remote';
  offsite: boolean;
  /** Hours since the last successful backup, or null when there is none. */
  backupAgeHours: number | null;
  runsPerDay: number;
  /** Days since the last passing drill, or null. */
  drillAgeDays: number | null;
  /** RTO achieved by that drill, hours. */
  rtoHours: number | null;
  /** RPO achieved by that drill, hours. */
  rpoHours: number | null;
}

export interface DrAssessment {
  edition: string;
  level: number;
  name: string | null;
  nameZh: string | null;
  /** Why the next level is not reached (empty at the top). */
  nextLevel: { level: number; name: string; missing: string[] } | null;
}

const fmt = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(2).replace(/\.?0+$/, ''));

/** What keeps the evidence from a level (empty: the level is met). */
export function missingFor(level: DrLevel, evidence: DrEvidence[], site: SiteDeclaration): string[] {
  if (!evidence.length) return ['no backup target'];
  // The best single target for this level: the one with the fewest gaps.
  let best: string[] | undefined;
  for (const e of evidence) {
    const missing: string[] = [];
    if (level.unreachableWithSnapshots) missing.push(level.unreachableWithSnapshots);
    if (e.backupAgeHours === null) missing.push(`target ${e.target}: no successful backup`);
    else if (e.backupAgeHours > level.maxBackupAgeHours) missing.push(`target ${e.target}: last successful backup ${fmt(e.backupAgeHours)} h ago, needs <= ${fmt(level.maxBackupAgeHours)} h`);
    if (e.runsPerDay + 1e-9 < level.minRunsPerDay) missing.push(`target ${e.target}: schedule runs ${fmt(e.runsPerDay)} times a day, needs >= ${fmt(level.minRunsPerDay)}`);
    if (level.offsite && !e.offsite) missing.push(`target ${e.target}: repository is not off-site (it is under the data directory or marked offsite: false)`);
    if (level.electronicTransfer && e.kind !== 'remote') missing.push(`target ${e.target}: not a remote (electronic transfer to the DR centre) target`);
    if (level.drillWithinDays !== undefined) {
      if (e.drillAgeDays === null) missing.push(`target ${e.target}: no passing restore drill on record`);
      else if (e.drillAgeDays > level.drillWithinDays) missing.push(`target ${e.target}: last passing drill ${fmt(e.drillAgeDays)} days ago, needs <= ${level.drillWithinDays}`);
    }
    if (level.maxRtoHours !== undefined && e.rtoHours !== null && e.rtoHours > level.maxRtoHours) missing.push(`target ${e.target}: RTO achieved ${fmt(e.rtoHours)} h, needs <= ${fmt(level.maxRtoHours)} h`);
    if (level.maxRpoHours !== undefined && (e.rpoHours === null || e.rpoHours > level.maxRpoHours)) missing.push(`target ${e.target}: RPO achieved ${e.rpoHours === null ? 'unknown' : fmt(e.rpoHours) + ' h'}, needs <= ${fmt(level.maxRpoHours)} h`);
    if (!best || missing.length < best.length) best = missing;
  }
  for (const d of level.declared) {
    const value = site[d.fact];
    const ok = Array.isArray(d.value) ? (d.value as unknown[]).includes(value) : value === d.value;
    if (!ok) best!.push(`not declared: ${d.text}`);
  }
  return best!;
}

/** The highest level whose requirements, and those of every level below, the evidence meets. */
export function assessDrLevel(evidence: DrEvidence[], site: SiteDeclaration, levels: DrLevel[] = DR_LEVELS): DrAssessment {
  let reached: DrLevel | undefined;
  for (const level of levels) {
    const missing = missingFor(level, evidence, site);
    if (missing.length) {
      return {
        edition: DR_LEVEL_EDITION,
        level: reached?.level ?? 0,
        name: reached?.name ?? null,
        nameZh: reached?.nameZh ?? null,
        nextLevel: { level: level.level, name: `${level.name} (${level.nameZh})`, missing },
      };
    }
    reached = level;
  }
  return { edition: DR_LEVEL_EDITION, level: reached?.level ?? 0, name: reached?.name ?? null, nameZh: reached?.nameZh ?? null, nextLevel: null };
}
