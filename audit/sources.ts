// Suite sources from the modules' live objects: the CLI and serve build
// them from what they have open.
import type { Authority, OcspResponder } from '../ca/index.js';
import type { BackupService } from '../backup/index.js';
import type { Monitor } from '../monitor/index.js';
import type { AccessControl, Config } from '../core/index.js';
import type { SuiteSources } from './collectors/index.js';

export interface LiveModules {
  config: Config;
  authority?: Authority;
  /** The suite's OCSP responder (the one serve answers /ocsp/CA with). */
  ocsp?: OcspResponder;
  access?: AccessControl;
  monitor?: Monitor;
  backup?: BackupService;
  snmpTimeoutMs?: number;
}

export function liveSources(modules: LiveModules): Omit<SuiteSources, 'database'> {
  const { authority, access, monitor, backup, ocsp } = modules;
  return {
    config: modules.config,
    ...(modules.snmpTimeoutMs ? { snmpTimeoutMs: modules.snmpTimeoutMs } : {}),
    ...(authority
      ? {
          hierarchies: () => authority.listHierarchies(),
          certificatesExpiring: async (before: string) => {
            const out: Array<{ ca: string; serial: string; subject: string; notAfter: string }> = [];
            for (const h of await authority.listHierarchies())
              for (const c of await authority.listCertificates(h.name, { status: 'good', expiringBefore: before, limit: 1000 }))
                if (c.notAfter > new Date().toISOString()) out.push({ ca: h.name, serial: String(c.serial), subject: c.subject, notAfter: c.notAfter });
            return out;
          },
          crls: async () => {
            const out: Array<{ ca: string; number: number; thisUpdate: string; nextUpdate: string; entries: number } | { ca: string; none: true }> = [];
            for (const h of await authority.listHierarchies()) {
              const row = await authority.database.db.selectFrom('crl').select(['number', 'this_update', 'next_update', 'entries']).where('ca_name', '=', h.name).where('kind', '=', 'full').orderBy('number', 'desc').limit(1).executeTakeFirst();
              out.push(row ? { ca: h.name, number: row.number, thisUpdate: row.this_update, nextUpdate: row.next_update, entries: row.entries } : { ca: h.name, none: true });
            }
            return out;
          },
          ...(ocsp
            ? {
                ocsp: {
                  respond: (ca: string, request: Buffer) => ocsp.respond(ca, request),
                  chain: (ca: string) => authority.chain(ca),
                  knownCertificate: async (ca: string) => {
                    const [good] = await authority.listCertificates(ca, { status: 'good', limit: 1 });
                    const [any] = good ? [good] : await authority.listCertificates(ca, { limit: 1 });
                    return any ? { serial: String(any.serial), status: any.status } : null;
                  },
                },
              }
            : {}),
        }
      : {}),
    ...(access ? { bindings: () => access.listBindings() } : {}),
    ...(monitor
      ? {
          nodes: () => monitor.inventory.listNodes(),
          nodeStatuses: () => monitor.status.nodeStatuses(),
          syslogVolume: (from: number, to: number) => monitor.logs.volume(from, to),
          agents: async () => (await monitor.ingestor.agents()).map((a) => ({ agent: a.agent, lastSeenAt: a.lastSeenAt })),
        }
      : {}),
    ...(backup
      ? {
          backupStatus: () => backup.status(),
          storeBackups: async () => {
            const status = await backup.status();
            const out: Array<{ plan: string; target: string; kind: string; rpoHours: number; snapshots: Array<{ id: string; time: string }>; error?: string }> = [];
            for (const plan of backup.settings.plans.values()) {
              if (!plan.stores) continue;
              for (const target of plan.targets) {
                const t = status.targets.find((x) => x.target === target);
                const base = { plan: plan.name, target, kind: t?.kind ?? 'unknown', rpoHours: t?.objectives.rpoHours ?? 24 };
                try {
                  out.push({ ...base, snapshots: (await backup.snapshots(target, plan.name)).map((x) => ({ id: x.id, time: x.time })) });
                } catch (error) {
                  out.push({ ...base, snapshots: [], error: (error as Error).message });
                }
              }
            }
            return out;
          },
        }
      : {}),
  };
}
