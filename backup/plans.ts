// Backup plans as data: what to save (the suite's own stores, extra paths,
// pre-command dumps) and where (same-city and remote restic repositories),
// each target with its backup schedule, its retention and when that retention
// runs (pruneSchedule), and its recovery objectives. With no
// `backup` section the default plan saves the suite's stores to a same-city
// repository under DATA_DIR/backups/same-city.

import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { EgovError, parseSchedule, type BackupRetentionConfig, type Config, type Schedule } from '../core/index.js';

export type TargetKind = 'same-city' | 'remote';

export interface Retention {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
}

export interface SftpOptions {
  port?: number;
  identityFile?: string;
  knownHostsFile?: string;
  connectTimeoutSeconds: number;
}

export interface BackupTarget {
  name: string;
  kind: TargetKind;
  /** The restic repository: an absolute path, or sftp:user@host:/path. */
  repository: string;
  password: { file: string } | { env: string };
  /** Generate the password file on first use (the default plan only). */
  createPasswordFile: boolean;
  schedule: Schedule;
  /** When retention (restic forget --prune) runs: apart from the backups, as restic advises, since prune is slow and locks the repository exclusively. */
  pruneSchedule: Schedule;
  retention: Retention;
  objectives: { rpoHours: number; rtoHours: number };
  offsite: boolean;
  sftp?: SftpOptions;
}

export interface PreCommand {
  name: string;
  run: string;
  timeoutSeconds: number;
}

export interface BackupPlan {
  name: string;
  stores: boolean;
  paths: string[];
  exclude: string[];
  commands: PreCommand[];
  targets: string[];
}

export interface DrillSettings {
  readAllDataUpToMiB: number;
  readDataSubset: string;
}

export interface SiteDeclaration {
  standbySite: boolean;
  standbyEquipment: 'none' | 'partial' | 'full';
  staffed24x7: boolean;
  automaticSwitchover: boolean;
  realTimeReplication: boolean;
  synchronousReplication: boolean;
}

export interface BackupSettings {
  dataDir: string;
  /** DATA_DIR/backups: staging, restic cache, default repository. */
  workDir: string;
  targets: Map<string, BackupTarget>;
  plans: Map<string, BackupPlan>;
  drill: DrillSettings;
  site: SiteDeclaration;
  /** True when no `backup` section configured anything: the default plan. */
  isDefault: boolean;
}

export const DEFAULT_SCHEDULE = '30 1 * * *';
/** Daily at 04:30: after the default 01:30 backup, before the working day. */
export const DEFAULT_PRUNE_SCHEDULE = '30 4 * * *';
export const DEFAULT_RETENTION: Retention = { keepLast: 3, keepDaily: 7, keepWeekly: 4, keepMonthly: 12 };
export const DEFAULT_OBJECTIVES = { rpoHours: 24, rtoHours: 4 };

function checkRetention(retention: BackupRetentionConfig | undefined, where: string): Retention {
  if (!retention) return { ...DEFAULT_RETENTION };
  const values = Object.values(retention).filter((v) => v !== undefined);
  if (!values.length || values.every((v) => v === 0)) {
    throw new EgovError('bad-config', `${where}.retention keeps nothing: give at least one of keepLast, keepDaily, keepWeekly, keepMonthly, keepYearly above 0 (restic forget would delete every snapshot)`, { key: `${where}.retention` });
  }
  for (const [key, value] of Object.entries(retention)) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) throw new EgovError('bad-config', `${where}.retention.${key} must be a whole number >= 0, got ${JSON.stringify(value)}`, { key: `${where}.retention.${key}` });
  }
  return { ...retention };
}

/** A target's cron expression; a bad one is a bad-config error naming the key. */
function targetSchedule(expression: string, key: string): Schedule {
  try {
    return parseSchedule(expression);
  } catch (error) {
    throw new EgovError('bad-config', `${key}: ${(error as Error).message}`, { key });
  }
}

function isUnder(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * The plans and targets of a configuration, validated: a schedule or
 * pruneSchedule that does not parse, a retention that keeps nothing, a
 * target a plan names but that does not exist, a relative repository path:
 * a bad-config error naming the key.
 * (Paths that must exist are checked when a run starts: see checkPlanPaths.)
 */
export function loadBackupSettings(config: Config): BackupSettings {
  const dataDir = path.resolve(config.dataDir);
  const workDir = path.join(dataDir, 'backups');
  const section = config.backup ?? {};
  const targets = new Map<string, BackupTarget>();
  const configuredTargets = Object.entries(section.targets ?? {});
  const isDefault = configuredTargets.length === 0 && Object.keys(section.plans ?? {}).length === 0;

  if (configuredTargets.length === 0) {
    targets.set('same-city', {
      name: 'same-city',
      kind: 'same-city',
      repository: path.join(workDir, 'same-city'),
      password: { file: path.join(workDir, 'same-city.password') },
      createPasswordFile: true,
      schedule: parseSchedule(DEFAULT_SCHEDULE),
      pruneSchedule: parseSchedule(DEFAULT_PRUNE_SCHEDULE),
      retention: { ...DEFAULT_RETENTION },
      objectives: { ...DEFAULT_OBJECTIVES },
      offsite: false,
    });
  }
  for (const [name, t] of configuredTargets) {
    const where = `backup.targets.${name}`;
    if (t.passwordFile && t.passwordEnv) throw new EgovError('bad-config', `${where}: give passwordFile or passwordEnv, not both`, { key: where });
    if (!t.passwordFile && !t.passwordEnv) throw new EgovError('bad-config', `${where}: the repository password is needed: passwordFile (a file, mode 0600) or passwordEnv (an environment variable's name)`, { key: where });
    let repository = t.repository;
    if (t.kind === 'same-city') {
      if (/^[a-z0-9]+:/i.test(repository)) throw new EgovError('bad-config', `${where}.repository: a same-city target is a local path (a NAS mount), got "${repository}"`, { key: `${where}.repository` });
      if (!path.isAbsolute(repository)) throw new EgovError('bad-config', `${where}.repository must be an absolute path, got "${repository}"`, { key: `${where}.repository` });
      repository = path.normalize(repository);
    } else if (!/^sftp:([^@/]+@)?[^:/]+:.+/.test(repository)) {
      throw new EgovError('bad-config', `${where}.repository: a remote target is an sftp URL like sftp:backup@dr.example.gov.cn:/srv/restic/egov-ops, got "${repository}"`, { key: `${where}.repository` });
    }
    if (t.sftp && t.kind !== 'remote') throw new EgovError('bad-config', `${where}.sftp applies only to a remote target`, { key: `${where}.sftp` });
    const schedule = targetSchedule(t.schedule ?? DEFAULT_SCHEDULE, `${where}.schedule`);
    const pruneSchedule = targetSchedule(t.pruneSchedule ?? DEFAULT_PRUNE_SCHEDULE, `${where}.pruneSchedule`);
    targets.set(name, {
      name,
      kind: t.kind,
      repository,
      password: t.passwordFile ? { file: path.resolve(t.passwordFile) } : { env: t.passwordEnv! },
      createPasswordFile: false,
      schedule,
      pruneSchedule,
      retention: checkRetention(t.retention, where),
      objectives: { rpoHours: t.objectives?.rpoHours ?? DEFAULT_OBJECTIVES.rpoHours, rtoHours: t.objectives?.rtoHours ?? DEFAULT_OBJECTIVES.rtoHours },
      offsite: t.offsite ?? (t.kind === 'remote' || !isUnder(repository, dataDir)),
      ...(t.sftp
        ? {
            sftp: {
              ...(t.sftp.port !== undefined ? { port: t.sftp.port } : {}),
              ...(t.sftp.identityFile ? { identityFile: path.resolve(t.sftp.identityFile) } : {}),
              ...(t.sftp.knownHostsFile ? { knownHostsFile: path.resolve(t.sftp.knownHostsFile) } : {}),
              connectTimeoutSeconds: t.sftp.connectTimeoutSeconds ?? 15,
            },
          }
        : t.kind === 'remote'
          ? { sftp: { connectTimeoutSeconds: 15 } }
          : {}),
    });
  }

  const plans = new Map<string, BackupPlan>();
  const configuredPlans = Object.entries(section.plans ?? {});
  if (configuredPlans.length === 0) plans.set('default', { name: 'default', stores: true, paths: [], exclude: [], commands: [], targets: [...targets.keys()] });
  for (const [name, p] of configuredPlans) {
    const where = `backup.plans.${name}`;
    for (const extra of p.paths ?? []) {
      if (!path.isAbsolute(extra)) throw new EgovError('bad-config', `${where}.paths: "${extra}" must be an absolute path`, { key: `${where}.paths` });
    }
    const names = p.targets ?? [...targets.keys()];
    for (const target of names) {
      if (!targets.has(target)) throw new EgovError('bad-config', `${where}.targets names "${target}", which is not a target; known: ${[...targets.keys()].join(', ')}`, { key: `${where}.targets` });
    }
    const commandNames = new Set<string>();
    for (const c of p.commands ?? []) {
      if (commandNames.has(c.name)) throw new EgovError('bad-config', `${where}.commands: the name "${c.name}" is used twice`, { key: `${where}.commands` });
      commandNames.add(c.name);
    }
    if (p.stores === false && !(p.paths ?? []).length && !(p.commands ?? []).length) throw new EgovError('bad-config', `${where} saves nothing: no stores, paths or commands`, { key: where });
    plans.set(name, {
      name,
      stores: p.stores ?? true,
      paths: (p.paths ?? []).map((x) => path.normalize(x)),
      exclude: p.exclude ?? [],
      commands: (p.commands ?? []).map((c) => ({ name: c.name, run: c.run, timeoutSeconds: c.timeoutSeconds ?? 3600 })),
      targets: names,
    });
  }

  return {
    dataDir,
    workDir,
    targets,
    plans,
    drill: { readAllDataUpToMiB: section.drill?.readAllDataUpToMiB ?? 2048, readDataSubset: section.drill?.readDataSubset ?? '10%' },
    site: {
      standbySite: section.site?.standbySite ?? false,
      standbyEquipment: section.site?.standbyEquipment ?? 'none',
      staffed24x7: section.site?.staffed24x7 ?? false,
      automaticSwitchover: section.site?.automaticSwitchover ?? false,
      realTimeReplication: section.site?.realTimeReplication ?? false,
      synchronousReplication: section.site?.synchronousReplication ?? false,
    },
    isDefault,
  };
}

/** A plan's extra paths must exist when a run starts (checked before anything is written). */
export function checkPlanPaths(plan: BackupPlan): void {
  for (const extra of plan.paths) {
    if (!existsSync(extra)) throw new EgovError('bad-request', `plan "${plan.name}": path ${extra} does not exist; nothing was backed up`, { path: extra });
    try {
      statSync(extra);
    } catch (error) {
      throw new EgovError('bad-request', `plan "${plan.name}": path ${extra} cannot be read: ${(error as Error).message}`, { path: extra });
    }
  }
}

export function getTarget(settings: BackupSettings, name: string): BackupTarget {
  const target = settings.targets.get(name);
  if (!target) throw new EgovError('not-found', `no backup target "${name}"; known: ${[...settings.targets.keys()].join(', ')}`);
  return target;
}

export function getPlan(settings: BackupSettings, name: string): BackupPlan {
  const plan = settings.plans.get(name);
  if (!plan) throw new EgovError('not-found', `no backup plan "${name}"; known: ${[...settings.plans.keys()].join(', ')}`);
  return plan;
}
