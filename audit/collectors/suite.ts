// Suite collectors: evidence the suite itself holds, read live through the
// modules' front doors (core's audit log and access control, the CA, the
// monitor's inventory, status and log stores, backup's status and DR level,
// and real SNMP probes of the devices). Each source is optional: a
// collector whose source is not given answers `error` naming what is missing.

import type { HierarchySummary } from '../../ca/index.js';
import type { StatusReport } from '../../backup/index.js';
import type { NodeStatus, NodeView } from '../../monitor/index.js';
import { SnmpSession, parseOid } from '../../agents/snmp/index.js';
import { ADMIN_ROLES, verifyAuditLog, type BindingView, type Config, type Database } from '../../core/index.js';
import type { CheckResult, CheckStatus, EvidenceEntry } from './types.js';

export const SUITE_COLLECTOR_VERSION = '1.0.0';
const DAY = 86_400_000;

export interface SuiteSources {
  config: Config;
  database: Database;
  /** ca: the hierarchies and their certificates. */
  hierarchies?: () => Promise<HierarchySummary[]>;
  certificatesExpiring?: (before: string) => Promise<Array<{ ca: string; serial: string; subject: string; notAfter: string }>>;
  /** core/access: role bindings. */
  bindings?: () => Promise<BindingView[]>;
  /** monitor: the inventory nodes of the system under evaluation and their status. */
  nodes?: () => Promise<NodeView[]>;
  nodeStatuses?: () => Promise<NodeStatus[]>;
  /** Syslog messages per node over a window (monitor LogStore.volume). */
  syslogVolume?: (from: number, to: number) => Promise<Array<{ node: string | null; messages: number }>>;
  /** backup: status with the DR level. */
  backupStatus?: () => Promise<StatusReport>;
  /** SNMP probe timing (tests shorten it). */
  snmpTimeoutMs?: number;
  now?: () => Date;
}

type Verdict = { status: CheckStatus; summary: string; evidence: EvidenceEntry[]; hint?: string; highRisks?: string[] };

class MissingSource extends Error {}
function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new MissingSource(`${what} is not available to this audit`);
  return value;
}

const STRONG_ALGORITHMS = /^(sm2|ecdsa-p256|ecdsa-p384|ecdsa-p521|ed25519|rsa-3072|rsa-4096|p-?256|p-?384)/i;

const checks: Record<string, { description: string; check: (s: SuiteSources, now: Date) => Promise<Verdict> }> = {
  'auditlog.chain': {
    description: "the suite's audit log is on and its hash chain verifies end to end",
    async check(s) {
      const result = await verifyAuditLog(s.database);
      const evidence = [{ source: 'core/audit-log verifyAuditLog', text: JSON.stringify(result) }];
      if (!result.ok) return { status: 'fail', summary: `the audit chain breaks at record ${result.firstBreak?.id}: ${result.firstBreak?.reason}`, evidence, hint: 'restore the audit log from backup and find who changed it (egov-ops audit-log verify)' };
      if (result.records === 0) return { status: 'fail', summary: 'the audit log is empty: nothing has been recorded', evidence };
      return { status: 'pass', summary: `${result.records} records, chain intact to record ${result.headId}`, evidence };
    },
  },
  'auditlog.retention': {
    description: 'audit records kept at least 180 days (oldest record, or the suite younger than that with nothing pruned)',
    async check(s, now) {
      const oldest = await s.database.db.selectFrom('audit_log').select(['id', 'at']).orderBy('id').limit(1).executeTakeFirst();
      const evidence = [{ source: 'audit_log', text: oldest ? `oldest record #${oldest.id} at ${oldest.at}` : 'no records' }];
      if (!oldest) return { status: 'fail', summary: 'no audit records', evidence, highRisks: ['short-log-retention'] };
      const days = Math.floor((now.getTime() - Date.parse(oldest.at)) / DAY);
      // The audit log is append-only and never pruned: record 1 still there means everything since the start is kept.
      if (oldest.id === 1) return { status: 'pass', summary: `kept from the first record (${days} days ago); the audit log is never pruned`, evidence };
      if (days >= 180) return { status: 'pass', summary: `oldest record is ${days} days old`, evidence };
      return { status: 'fail', summary: `records before #${oldest.id} are gone; the oldest is ${days} days old, under 180`, evidence, hint: 'keep the audit log at least 180 days (Cybersecurity Law art. 21)', highRisks: ['short-log-retention'] };
    },
  },
  'access.lockout': {
    description: 'sign-in locks after at most 10 failures for at least 10 minutes',
    async check(s) {
      const { maxFailedSignIns, lockoutMinutes } = s.config.access;
      const evidence = [{ source: 'config access', text: `maxFailedSignIns ${maxFailedSignIns}, lockoutMinutes ${lockoutMinutes}` }];
      if (maxFailedSignIns > 10 || lockoutMinutes < 10) return { status: 'fail', summary: `locks after ${maxFailedSignIns} failures for ${lockoutMinutes} min`, evidence, hint: 'set access.maxFailedSignIns <= 5 and access.lockoutMinutes >= 15' };
      return { status: 'pass', summary: `locks after ${maxFailedSignIns} failures for ${lockoutMinutes} min`, evidence };
    },
  },
  'access.session-timeout': {
    description: 'console sessions end after at most 30 idle minutes',
    async check(s) {
      const { sessionIdleMinutes, sessionMaxHours } = s.config.access;
      const evidence = [{ source: 'config access', text: `sessionIdleMinutes ${sessionIdleMinutes}, sessionMaxHours ${sessionMaxHours}` }];
      if (sessionIdleMinutes > 30) return { status: 'fail', summary: `idle sessions last ${sessionIdleMinutes} min`, evidence, hint: 'set access.sessionIdleMinutes to 15' };
      return { status: 'pass', summary: `idle sessions end after ${sessionIdleMinutes} min, any session after ${sessionMaxHours} h`, evidence };
    },
  },
  'access.two-factor': {
    description: 'every administrator binding (ca-admin, security-officer) has a password besides its certificate',
    async check(s) {
      const bindings = await need(s.bindings, 'access control')();
      const admins = bindings.filter((b) => b.roles.some((r) => ADMIN_ROLES.includes(r)));
      const without = admins.filter((b) => !b.passwordSet);
      const evidence = admins.map((b) => ({ source: `access binding ${b.ca}/${b.serial}`, text: `${b.holder}: ${b.roles.join(', ')}; certificate + ${b.passwordSet ? 'password' : 'NO password'}` }));
      if (!admins.length) return { status: 'na', summary: 'no administrator bindings yet', evidence };
      if (without.length) return { status: 'fail', summary: `administrators without a second factor: ${without.map((b) => b.holder).join(', ')}`, evidence, hint: 'egov-ops access password HOLDER: administrator roles stay inactive until a password is set', highRisks: ['no-two-factor'] };
      return { status: 'pass', summary: `all ${admins.length} administrator bindings use a client certificate and a password (administrator roles are active only after both)`, evidence };
    },
  },
  'access.separation': {
    description: 'system (ca-admin / network-admin), audit (auditor) and security (security-officer) administration held by different people (三权分立)',
    async check(s) {
      const bindings = await need(s.bindings, 'access control')();
      const system = new Set(['ca-admin', 'network-admin']);
      const evidence = bindings.map((b) => ({ source: `access binding ${b.ca}/${b.serial}`, text: `${b.holder}: ${b.roles.join(', ')}` }));
      const mixed = bindings.filter((b) => {
        const kinds = new Set(b.roles.map((r) => (system.has(r) ? 'system' : r === 'auditor' ? 'audit' : r === 'security-officer' ? 'security' : 'other')).filter((k) => k !== 'other'));
        return kinds.size > 1;
      });
      const has = (pred: (r: string) => boolean) => bindings.some((b) => b.roles.some(pred));
      const missing = [!has((r) => system.has(r)) && 'system administrator', !has((r) => r === 'auditor') && 'auditor', !has((r) => r === 'security-officer') && 'security officer'].filter(Boolean);
      if (mixed.length) return { status: 'fail', summary: `one person holds several of system, audit and security administration: ${mixed.map((b) => `${b.holder} (${b.roles.join(', ')})`).join('; ')}`, evidence, hint: 'bind each of the three duties to a different person', highRisks: ['excess-privilege'] };
      if (missing.length) return { status: 'partial', summary: `no ${missing.join(', ')} bound yet`, evidence, hint: 'bind a system administrator, an auditor and a security officer, each a different person' };
      return { status: 'pass', summary: 'system, audit and security administration are held by different people', evidence };
    },
  },
  'ca.algorithms': {
    description: 'CA hierarchies use SM2, ECDSA P-256/P-384 or RSA >= 3072 (RSA-2048 partial)',
    async check(s) {
      const list = await need(s.hierarchies, 'the CA')();
      const evidence = list.map((h) => ({ source: `ca ${h.name}`, text: `${h.algorithm}; root ${h.root.subject} until ${h.root.notAfter}` }));
      if (!list.length) return { status: 'fail', summary: 'no CA hierarchy: no certificates protect traffic', evidence, hint: 'egov-ops ca init', highRisks: ['clear-text-transfer'] };
      const weak = list.filter((h) => /rsa-?1024|sha1/i.test(h.algorithm));
      const middling = list.filter((h) => !STRONG_ALGORITHMS.test(h.algorithm) && !weak.includes(h));
      if (weak.length) return { status: 'fail', summary: `weak algorithms: ${weak.map((h) => `${h.name} ${h.algorithm}`).join(', ')}`, evidence, hint: 'move to SM2 or ECDSA P-256' };
      if (middling.length) return { status: 'partial', summary: `algorithms below the strong set: ${middling.map((h) => `${h.name} ${h.algorithm}`).join(', ')}`, evidence, hint: 'use SM2, ECDSA P-256/P-384 or RSA-3072 for new hierarchies' };
      return { status: 'pass', summary: `${list.length} hierarchies: ${list.map((h) => `${h.name} ${h.algorithm}`).join(', ')}`, evidence };
    },
  },
  'ca.sm2-hierarchy': {
    description: 'an SM2 (national cryptography) CA hierarchy is present',
    async check(s) {
      const list = await need(s.hierarchies, 'the CA')();
      const sm2 = list.filter((h) => /sm2/i.test(h.algorithm));
      const evidence = list.map((h) => ({ source: `ca ${h.name}`, text: h.algorithm }));
      if (!sm2.length) return { status: 'fail', summary: 'no SM2 hierarchy: national cryptographic algorithms are not in use', evidence, hint: 'egov-ops ca init NAME --algorithm sm2' };
      return { status: 'pass', summary: `SM2 hierarchies: ${sm2.map((h) => h.name).join(', ')}`, evidence };
    },
  },
  'ca.expiry': {
    description: 'no CA certificate expires within 30 days and no issued certificate within 7 days',
    async check(s, now) {
      const list = await need(s.hierarchies, 'the CA')();
      const soon = new Date(now.getTime() + 30 * DAY).toISOString();
      const cas = list.flatMap((h) => [{ what: `${h.name} root`, notAfter: h.root.notAfter }, { what: `${h.name} issuing`, notAfter: h.issuing.notAfter }]).filter((c) => c.notAfter < soon);
      const leaves = s.certificatesExpiring ? await s.certificatesExpiring(new Date(now.getTime() + 7 * DAY).toISOString()) : [];
      const evidence = [...cas.map((c) => ({ source: `ca ${c.what}`, text: `not after ${c.notAfter}` })), ...leaves.slice(0, 20).map((c) => ({ source: `certificate ${c.ca}/${c.serial}`, text: `${c.subject} not after ${c.notAfter}` }))];
      if (!list.length) return { status: 'na', summary: 'no CA hierarchy', evidence };
      if (cas.length) return { status: 'fail', summary: `CA certificates expire within 30 days: ${cas.map((c) => c.what).join(', ')}`, evidence, hint: 'renew the hierarchy before it expires' };
      if (leaves.length) return { status: 'partial', summary: `${leaves.length} certificates expire within 7 days`, evidence, hint: 'renew them at the RA desk' };
      return { status: 'pass', summary: `no CA certificate expires within 30 days${s.certificatesExpiring ? ', no issued certificate within 7 days' : ''}`, evidence: list.map((h) => ({ source: `ca ${h.name}`, text: `root until ${h.root.notAfter}, issuing until ${h.issuing.notAfter}` })) };
    },
  },
  'monitor.metric-coverage': {
    description: 'at least 95 % of the inventory nodes have a fresh reachability sample (90 % partial)',
    async check(s) {
      const statuses = await need(s.nodeStatuses, 'the monitor')();
      if (!statuses.length) return { status: 'fail', summary: 'no inventory nodes: nothing is monitored centrally', evidence: [{ source: 'monitor inventory', text: '0 nodes' }], hint: 'egov-ops node import' };
      const fresh = statuses.filter((n) => n.status !== 'unknown');
      const share = fresh.length / statuses.length;
      const silent = statuses.filter((n) => !fresh.includes(n));
      const evidence = [{ source: 'monitor status', text: `${fresh.length} of ${statuses.length} nodes with a fresh sample` }, ...silent.slice(0, 20).map((n) => ({ source: `node ${n.name}`, text: `${n.status}, last sample ${n.sampledAt ? new Date(n.sampledAt).toISOString() : 'never'}` }))];
      const pct = Math.round(share * 1000) / 10;
      if (share >= 0.95) return { status: 'pass', summary: `${pct} % of ${statuses.length} nodes monitored`, evidence };
      return { status: share >= 0.9 ? 'partial' : 'fail', summary: `only ${pct} % of ${statuses.length} nodes have a recent sample`, evidence, hint: 'check the agents of the zones with silent nodes' };
    },
  },
  'monitor.syslog-per-device': {
    description: 'every network and security device in the inventory sent syslog in the last 24 h',
    async check(s, now) {
      const nodes = (await need(s.nodes, 'the monitor inventory')()).filter((n) => n.kind !== 'server');
      const volume = await need(s.syslogVolume, 'the log store')(now.getTime() - DAY, now.getTime());
      const per = new Map<string, number>();
      for (const v of volume) if (v.node) per.set(v.node, (per.get(v.node) ?? 0) + v.messages);
      if (!nodes.length) return { status: 'na', summary: 'no network devices in the inventory', evidence: [] };
      const silent = nodes.filter((n) => !per.get(n.name));
      const evidence = [{ source: 'monitor logs (24 h)', text: `${nodes.length - silent.length} of ${nodes.length} devices sent syslog` }, ...silent.slice(0, 20).map((n) => ({ source: `node ${n.name}`, text: 'no syslog in 24 h' }))];
      if (!silent.length) return { status: 'pass', summary: `all ${nodes.length} devices sent syslog in 24 h`, evidence };
      return { status: silent.length < nodes.length ? 'partial' : 'fail', summary: `${silent.length} of ${nodes.length} devices sent no syslog in 24 h`, evidence, hint: 'point the devices\' syslog at their zone agent' };
    },
  },
  'monitor.log-retention': {
    description: 'the monitor keeps device logs at least 180 days',
    async check(s) {
      const days = s.config.monitor.logRetentionDays;
      const evidence = [{ source: 'config monitor.logRetentionDays', text: String(days) }];
      if (days < 180) return { status: 'fail', summary: `device logs kept ${days} days, under 180`, evidence, hint: 'set monitor.logRetentionDays: 180', highRisks: ['short-log-retention'] };
      return { status: 'pass', summary: `device logs kept ${days} days`, evidence };
    },
  },
  'snmp.credentials': {
    description: 'devices answer no default community (public, private) and are polled over SNMPv3 authPriv',
    async check(s) {
      const nodes = (await need(s.nodes, 'the monitor inventory')()).filter((n) => n.snmp);
      if (!nodes.length) return { status: 'na', summary: 'no node is polled over SNMP', evidence: [] };
      const evidence: EvidenceEntry[] = [];
      const failing: string[] = [];
      const partial: string[] = [];
      await Promise.all(
        nodes.map(async (n) => {
          const answered: string[] = [];
          for (const community of ['public', 'private']) {
            const session = SnmpSession.open({ host: n.address, port: n.snmpPort, transport: n.address.includes(':') ? 'udp6' : 'udp4' }, { version: '2c', community }, { timing: { timeoutMs: s.snmpTimeoutMs ?? 1500, retries: 0 } });
            try {
              const [vb] = await session.get([parseOid('1.3.6.1.2.1.1.2.0')]);
              if (vb) answered.push(community);
            } catch {
              /* no answer: good */
            } finally {
              session.close();
            }
          }
          const snmp = n.snmp!;
          const used = snmp.version === 'v3' ? `v3 user ${snmp.user} (${snmp.authProtocol}/${snmp.privProtocol})` : `${snmp.version} community`;
          evidence.push({ source: `node ${n.name} ${n.address}:${n.snmpPort}`, text: `polled with ${used}; default communities answered: ${answered.join(', ') || 'none'}` });
          if (answered.length || snmp.version !== 'v3') failing.push(n.name);
          else if (!snmp.privProtocol) partial.push(n.name);
        }),
      );
      evidence.sort((a, b) => a.source.localeCompare(b.source));
      if (failing.length) return { status: 'fail', summary: `${failing.length} of ${nodes.length} devices use SNMP v1/v2c or answer a default community: ${failing.slice(0, 10).join(', ')}`, evidence, hint: 'remove the public/private communities and poll with SNMPv3 authPriv (SHA-256/AES)', highRisks: ['clear-text-management', 'default-account'] };
      if (partial.length) return { status: 'partial', summary: `${partial.length} devices use SNMPv3 without privacy`, evidence, hint: 'use authPriv' };
      return { status: 'pass', summary: `all ${nodes.length} devices use SNMPv3 authPriv and answer no default community`, evidence };
    },
  },
  'backup.repositories': {
    description: 'a same-city and a remote backup repository, each with a successful backup',
    async check(s) {
      const status = await need(s.backupStatus, 'the backup module')();
      const evidence = status.targets.map((t) => ({ source: `backup target ${t.target}`, text: `${t.kind}${t.offsite ? ', off-site' : ''}; last success ${t.lastSuccess?.at ?? 'never'}` }));
      const ok = (kind: string) => status.targets.some((t) => t.kind === kind && t.lastSuccess);
      if (!ok('same-city')) return { status: 'fail', summary: 'no same-city (local) backup has succeeded', evidence, hint: 'configure a same-city target and run egov-ops backup run', highRisks: ['no-local-backup'] };
      if (!ok('remote')) return { status: 'partial', summary: 'local backups only: no remote repository with a successful backup', evidence, hint: 'add a remote (sftp) target in another city' };
      return { status: 'pass', summary: 'same-city and remote backups both present', evidence };
    },
  },
  'backup.drill': {
    description: 'the last restore drill passed and is at most 90 days old',
    async check(s, now) {
      const status = await need(s.backupStatus, 'the backup module')();
      const drills = status.targets.map((t) => ({ target: t.target, drill: t.lastDrill })).filter((d) => d.drill);
      const evidence = drills.map((d) => ({ source: `backup drill ${d.target}`, text: `${d.drill!.at}: ${d.drill!.ok ? 'passed' : `failed (${d.drill!.failedChecks.join(', ')})`}` }));
      if (!drills.length) return { status: 'fail', summary: 'no restore drill has ever run', evidence, hint: 'egov-ops backup drill' };
      const last = drills.sort((a, b) => b.drill!.at.localeCompare(a.drill!.at))[0]!;
      const age = Math.floor((now.getTime() - Date.parse(last.drill!.at)) / DAY);
      if (!last.drill!.ok) return { status: 'fail', summary: `the last drill (${last.target}, ${age} days ago) failed`, evidence, hint: 'fix what the drill reported and run it again' };
      if (age > 90) return { status: 'partial', summary: `the last drill passed but is ${age} days old`, evidence, hint: 'drill at least every quarter' };
      return { status: 'pass', summary: `the last drill passed ${age} days ago on ${last.target}`, evidence };
    },
  },
  'backup.rpo-rto': {
    description: 'RPO now and the RTO of the last drill are within the objectives',
    async check(s) {
      const status = await need(s.backupStatus, 'the backup module')();
      const evidence = status.targets.map((t) => ({ source: `backup target ${t.target}`, text: `RPO now ${t.rpoHoursNow ?? '-'} h (objective ${t.objectives.rpoHours} h), RTO ${t.rtoHoursAchieved ?? '-'} h (objective ${t.objectives.rtoHours} h)` }));
      if (!status.targets.length) return { status: 'fail', summary: 'no backup target', evidence };
      const missed = status.targets.filter((t) => t.rpoMet === false || t.rtoMet === false);
      const unknown = status.targets.filter((t) => t.rpoMet === null || t.rtoMet === null);
      if (missed.length) return { status: 'fail', summary: `objectives missed on ${missed.map((t) => t.target).join(', ')}`, evidence, hint: 'back up more often or speed up restores' };
      if (unknown.length) return { status: 'partial', summary: `RPO/RTO not measured yet on ${unknown.map((t) => t.target).join(', ')}`, evidence, hint: 'run a backup and a drill on every target' };
      return { status: 'pass', summary: 'RPO and RTO within the objectives on every target', evidence };
    },
  },
  'backup.dr-level': {
    description: 'the disaster-recovery capability level (GB/T 20988) is at least 4 for hot redundancy (2-3 partial)',
    async check(s) {
      const status = await need(s.backupStatus, 'the backup module')();
      const dr = status.drLevel;
      const evidence = [{ source: `backup DR level (${dr.edition})`, text: `level ${dr.level}${dr.name ? ` ${dr.name} (${dr.nameZh})` : ''}` }, ...(dr.nextLevel ? dr.nextLevel.missing.map((m) => ({ source: `level ${dr.nextLevel!.level} not reached`, text: m })) : [])];
      if (dr.level >= 4) return { status: 'pass', summary: `DR level ${dr.level}`, evidence };
      return { status: dr.level >= 2 ? 'partial' : 'fail', summary: `DR level ${dr.level}: ${dr.nextLevel ? `level ${dr.nextLevel.level} needs ${dr.nextLevel.missing.join('; ')}` : ''}`, evidence, hint: 'see the backups page for what the next level needs' };
    },
  },
};

export interface SuiteCollector {
  name: string;
  version: string;
  kind: 'suite';
  description: string;
  collect(sources: SuiteSources): Promise<CheckResult>;
}

export const SUITE_COLLECTORS: SuiteCollector[] = Object.entries(checks).map(([name, { description, check }]) => ({
  name,
  version: SUITE_COLLECTOR_VERSION,
  kind: 'suite',
  description,
  async collect(sources) {
    const now = sources.now?.() ?? new Date();
    let verdict: Verdict;
    try {
      verdict = await check(sources, now);
    } catch (error) {
      verdict = { status: 'error', summary: error instanceof MissingSource ? error.message : `the collector failed: ${(error as Error).message}`, evidence: [] };
    }
    return {
      collector: name,
      version: SUITE_COLLECTOR_VERSION,
      target: 'suite',
      at: now.toISOString(),
      status: verdict.status,
      summary: verdict.summary,
      evidence: verdict.evidence,
      ...(verdict.hint ? { hint: verdict.hint } : {}),
      ...(verdict.status === 'fail' && verdict.highRisks?.length ? { highRisks: verdict.highRisks } : {}),
    };
  },
}));
