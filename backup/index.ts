// backup: plans as data, the restic driver, retention, restore drills,
// RTO/RPO and the GB/T 20988 disaster-recovery capability level.
export { BackupService, type BackupServiceOptions, type RunResult, type PruneResult, type PruneRecord, type DrillResult, type DrillCheck, type RestoreResult, type UnlockResult, type StatusReport, type TargetStatus } from './service.js';
export { BackupScheduler, type SchedulerOptions } from './scheduler.js';
export { loadBackupSettings, checkPlanPaths, getPlan, getTarget, DEFAULT_RETENTION, DEFAULT_SCHEDULE, DEFAULT_PRUNE_SCHEDULE, DEFAULT_OBJECTIVES, type BackupPlan, type BackupTarget, type BackupSettings, type Retention, type SiteDeclaration, type TargetKind } from './plans.js';
export { parseSchedule, type Schedule } from '../core/index.js';
export { ResticRepository, classifyResticError, parseLock, lockFromJson, describeLock, resticMessage, type ResticProblem, type ResticSnapshot, type LockInfo, type BackupProgress } from './restic.js';
export { DR_LEVELS, DR_LEVEL_EDITION, assessDrLevel, type DrLevel, type DrEvidence, type DrAssessment } from './dr-levels.js';
export { MANIFEST_NAME, type Manifest } from './sources.js';
export { INFLUX_BACKUP_DIR, type MetricsManifest } from './influx.js';
