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
import { probeOcsp } from './ocsp-probe.js';

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
  /** ca: the newest stored full CRL of each hierarchy (read, never built: an audit must not freshen what it judges). */
  crls?: () => Promise<Array<{ ca: string; number: number; thisUpdate: string; nextUpdate: string; entries: number } | { ca: string; none: true }>>;
  /** ca: the suite's OCSP responder, each hierarchy's chain and a certificate it has issued. */
  ocsp?: {
    respond(ca: string, request: Buffer): Promise<Buffer>;
    chain(ca: string): Promise<Buffer[]>;
    /** A certificate of the CA (hex serial and stored status), or null when it has issued none. */
    knownCertificate(ca: string): Promise<{ serial: string; status: 'good' | 'revoked' | 'hold' } | null>;
  };
  /** monitor: each agent's deliveries (monitor_agent). */
  agents?: () => Promise<Array<{ agent: string; lastSeenAt: string }>>;
  /** backup: per plan that saves the suite's stores (the database, so the audit log), each of its targets' snapshots. */
  storeBackups?: () => Promise<Array<{ plan: string; target: string; kind: string; rpoHours: number; snapshots: Array<{ id: string; time: string }>; error?: string }>>;
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
  'ca.crl-fresh': {
    description: "each CA's newest full CRL has its nextUpdate in the future and was built within twice the CRL interval",
    async check(s, now) {
      const list = await need(s.crls, 'the CA\'s CRLs')();
      if (!list.length) return { status: 'na', summary: 'no CA hierarchy', evidence: [] };
      const intervalMs = s.config.ca.crlIntervalSeconds * 1000;
      const evidence: EvidenceEntry[] = [];
      const expired: string[] = [];
      const stale: string[] = [];
      for (const c of list) {
        if ('none' in c) {
          evidence.push({ source: `ca ${c.ca} crl`, text: 'no CRL built yet' });
          expired.push(`${c.ca} (none)`);
          continue;
        }
        const ageMin = Math.round((now.getTime() - Date.parse(c.thisUpdate)) / 60_000);
        evidence.push({ source: `ca ${c.ca} crl #${c.number}`, text: `thisUpdate ${c.thisUpdate} (${ageMin} min ago), nextUpdate ${c.nextUpdate}, ${c.entries} entries` });
        if (Date.parse(c.nextUpdate) <= now.getTime()) expired.push(`${c.ca} (expired ${c.nextUpdate})`);
        else if (now.getTime() - Date.parse(c.thisUpdate) > 2 * intervalMs) stale.push(`${c.ca} (built ${ageMin} min ago)`);
      }
      if (expired.length) return { status: 'fail', summary: `CRLs missing or past their nextUpdate: ${expired.join(', ')}`, evidence, hint: 'run egov-ops serve (it builds CRLs on schedule) or egov-ops ca crl CA; relying parties reject an expired CRL' };
      if (stale.length) return { status: 'partial', summary: `CRLs still valid but not rebuilt on schedule (interval ${s.config.ca.crlIntervalSeconds} s): ${stale.join(', ')}`, evidence, hint: 'check that serve is running its crl.full job' };
      return { status: 'pass', summary: `${list.length} CA(s) publish a fresh CRL`, evidence };
    },
  },
  'ca.ocsp': {
    description: "the suite's OCSP responder answers a real request (built by openssl, with a nonce) for a known serial of each CA, with the status the CA holds, signed verifiably",
    async check(s) {
      const list = await need(s.hierarchies, 'the CA')();
      const ocsp = need(s.ocsp, 'the OCSP responder');
      if (!list.length) return { status: 'na', summary: 'no CA hierarchy', evidence: [] };
      const evidence: EvidenceEntry[] = [];
      const bad: string[] = [];
      for (const h of list) {
        const known = await ocsp.knownCertificate(h.name);
        // A CA that has issued nothing is still asked: about a serial it never issued, which must be "unknown".
        const serial = known?.serial ?? 'ffeeddccbbaa99887766';
        const expected = !known ? 'unknown' : known.status === 'good' ? 'good' : 'revoked';
        try {
          const r = await probeOcsp({ ca: h.name, algorithm: h.algorithm, chain: await ocsp.chain(h.name), serial, expected, respond: ocsp.respond });
          evidence.push({ source: `ocsp ${h.name}${known ? '' : ' (no certificate issued: unissued serial)'}`, text: r.detail });
          if (!r.ok) bad.push(`${h.name}: ${r.status ?? 'no status'}${r.verified ? '' : ', not verified'}`);
        } catch (error) {
          evidence.push({ source: `ocsp ${h.name}`, text: `failed: ${(error as Error).message}` });
          bad.push(`${h.name}: ${(error as Error).message}`);
        }
      }
      if (bad.length) return { status: 'fail', summary: `OCSP answers wrong or unverifiable: ${bad.join('; ')}`, evidence, hint: 'check the responder certificate (egov-ops ca show) and that serve answers /ocsp/CA' };
      return { status: 'pass', summary: `the OCSP responder answered and signed correctly for ${list.length} CA(s)`, evidence };
    },
  },
  'monitor.agents-per-zone': {
    description: 'each zone of the inventory has an agent that delivered within monitor.staleAfterSeconds and that serves that zone (it fetched the zone\'s device list or shipped logs or events of its nodes in the last 24 h)',
    async check(s, now) {
      const nodes = await need(s.nodes, 'the monitor inventory')();
      const agents = await need(s.agents, 'the monitor\'s agent deliveries')();
      const zones = [...new Set(nodes.map((n) => n.zone))].sort();
      if (!zones.length) return { status: 'fail', summary: 'no inventory nodes: no zone is monitored', evidence: [], hint: 'egov-ops node import' };
      const zoneOf = new Map(nodes.map((n) => [n.name, n.zone]));
      const since = now.getTime() - DAY;
      const db = s.database.db;
      // Which agent serves which zone: the monitor keeps the agent on each stored log and event, and the
      // audit log records each agent's reading of its zone's SNMP credentials (GET /api/monitor/agent/targets).
      const pairs = new Set<string>();
      for (const r of await db.selectFrom('monitor_log').select(['agent', 'node']).distinct().where('received_at', '>=', since).where('node', 'is not', null).execute()) pairs.add(`${r.agent}\u0000${r.node}`);
      for (const r of await db.selectFrom('monitor_event').select(['agent', 'node']).distinct().where('received_at', '>=', since).where('node', 'is not', null).execute()) pairs.add(`${r.agent}\u0000${r.node}`);
      for (const r of await db.selectFrom('audit_log').select(['actor', 'object']).distinct().where('action', '=', 'monitor.node.credentials-read').where('outcome', '=', 'success').where('at', '>=', new Date(since).toISOString()).execute())
        pairs.add(`${r.actor.replace(/\s+\([0-9A-Fa-f:]{2,}\)$/, '')}\u0000${r.object.replace(/^monitor:node\//, '')}`);
      const served = new Map<string, Set<string>>();
      for (const p of pairs) {
        const [agent, node] = p.split('\u0000') as [string, string];
        const zone = zoneOf.get(node);
        if (zone) served.set(zone, (served.get(zone) ?? new Set()).add(agent));
      }
      const staleMs = s.config.monitor.staleAfterSeconds * 1000;
      const seen = new Map(agents.map((a) => [a.agent, a.lastSeenAt]));
      const evidence: EvidenceEntry[] = [];
      const uncovered: string[] = [];
      for (const zone of zones) {
        const names = [...(served.get(zone) ?? [])].sort();
        const fresh = names.filter((a) => seen.has(a) && now.getTime() - Date.parse(seen.get(a)!) <= staleMs);
        const described = names.map((a) => `${a} (last delivery ${seen.get(a) ?? 'never'})`).join(', ');
        evidence.push({ source: `zone ${zone} (${nodes.filter((n) => n.zone === zone).length} nodes)`, text: names.length ? `agents: ${described}` : 'no agent served this zone in 24 h' });
        if (!fresh.length) uncovered.push(zone);
      }
      if (!uncovered.length) return { status: 'pass', summary: `every zone (${zones.join(', ')}) has an agent that delivered within ${s.config.monitor.staleAfterSeconds} s`, evidence };
      return { status: uncovered.length < zones.length ? 'partial' : 'fail', summary: `zones without a live agent: ${uncovered.join(', ')}`, evidence, hint: 'start (or fix) an egov-ops agent in each zone: egov-ops agent --zone ZONE' };
    },
  },
  'monitor.clock-offset': {
    description: "devices' clock offset measured from RFC 5424 syslog: the message's own timestamp minus when the zone agent received it (median per device over 24 h; at most 1 s passes, over 60 s fails); RFC 3164 messages carry no year or zone and are not used",
    async check(s, now) {
      const since = now.getTime() - DAY;
      const rows = await s.database.db
        .selectFrom('monitor_log')
        .select(['node', 'time', 'received_at'])
        .where('format', '=', 'rfc5424')
        .where('received_at', '>=', since)
        .where('node', 'is not', null)
        .orderBy('id', 'desc')
        .limit(50_000)
        .execute();
      // A message whose time equals its receipt had no timestamp of its own (NILVALUE): nothing to measure.
      const per = new Map<string, number[]>();
      for (const r of rows) if (Number(r.time) !== Number(r.received_at)) (per.get(r.node!) ?? per.set(r.node!, []).get(r.node!)!).push(Number(r.time) - Number(r.received_at));
      if (!per.size) return { status: 'na', summary: 'no device sent timestamped RFC 5424 syslog in 24 h: clock offsets cannot be measured here (host.time-sync and an attestation cover them)', evidence: [{ source: 'monitor logs (24 h)', text: `${rows.length} RFC 5424 messages, none with its own timestamp` }] };
      const offsets = [...per.entries()].map(([node, list]) => {
        const sorted = list.sort((a, b) => a - b);
        return { node, median: sorted[Math.floor(sorted.length / 2)]!, samples: sorted.length, min: sorted[0]!, max: sorted[sorted.length - 1]! };
      }).sort((a, b) => Math.abs(b.median) - Math.abs(a.median));
      const evidence = offsets.slice(0, 30).map((o) => ({ source: `node ${o.node} syslog (24 h)`, text: `median offset ${(o.median / 1000).toFixed(3)} s over ${o.samples} messages (min ${(o.min / 1000).toFixed(3)} s, max ${(o.max / 1000).toFixed(3)} s)` }));
      const far = offsets.filter((o) => Math.abs(o.median) > 60_000);
      const off = offsets.filter((o) => Math.abs(o.median) > 1000);
      if (far.length) return { status: 'fail', summary: `${far.length} of ${offsets.length} devices' clocks are more than 60 s off: ${far.slice(0, 10).map((o) => `${o.node} ${(o.median / 1000).toFixed(0)} s`).join(', ')}`, evidence, hint: 'point the devices at the city\'s NTP servers; audit records with wrong times cannot be correlated' };
      if (off.length) return { status: 'partial', summary: `${off.length} of ${offsets.length} devices' clocks are more than 1 s off`, evidence, hint: 'check the devices\' NTP configuration' };
      return { status: 'pass', summary: `${offsets.length} devices' clocks within 1 s of their agents'`, evidence };
    },
  },
  'auditlog.backup': {
    description: "the audit log is backed up: a backup plan saves the suite's stores (the database export holds audit_log) and one of its targets has a snapshot within its RPO objective",
    async check(s, now) {
      const list = await need(s.storeBackups, 'the backup module')();
      if (!list.length) return { status: 'fail', summary: "no backup plan saves the suite's stores: the audit log is not backed up", evidence: [], hint: 'give a backup plan stores: true (the default plan has it)', highRisks: ['no-local-backup'] };
      const evidence: EvidenceEntry[] = [];
      let recent = false;
      let any = false;
      for (const b of list) {
        const newest = [...b.snapshots].sort((x, y) => y.time.localeCompare(x.time))[0];
        const ageH = newest ? (now.getTime() - Date.parse(newest.time)) / 3_600_000 : null;
        evidence.push({ source: `backup plan ${b.plan} -> ${b.target} (${b.kind})`, text: b.error ? `snapshots not readable: ${b.error}` : newest ? `${b.snapshots.length} snapshots; newest ${newest.id.slice(0, 8)} at ${newest.time} (${ageH!.toFixed(1)} h ago, RPO objective ${b.rpoHours} h)` : 'no snapshot' });
        if (newest) any = true;
        if (newest && ageH! <= b.rpoHours) recent = true;
      }
      if (recent) return { status: 'pass', summary: 'the audit log is in a snapshot within its RPO objective', evidence };
      if (any) return { status: 'partial', summary: 'the audit log is backed up, but no snapshot is within its RPO objective', evidence, hint: 'egov-ops backup run (and check the schedule in serve)' };
      return { status: 'fail', summary: 'no snapshot holds the audit log yet', evidence, hint: 'egov-ops backup run', highRisks: ['no-local-backup'] };
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
