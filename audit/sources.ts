// Suite sources from the modules' live objects: the CLI and serve build
// them from what they have open.
import type { Authority } from '../ca/index.js';
import type { BackupService } from '../backup/index.js';
import type { Monitor } from '../monitor/index.js';
import type { AccessControl, Config } from '../core/index.js';
import type { SuiteSources } from './collectors/index.js';

export interface LiveModules {
  config: Config;
  authority?: Authority;
  access?: AccessControl;
  monitor?: Monitor;
  backup?: BackupService;
  snmpTimeoutMs?: number;
}

export function liveSources(modules: LiveModules): Omit<SuiteSources, 'database'> {
  const { authority, access, monitor, backup } = modules;
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
        }
      : {}),
    ...(access ? { bindings: () => access.listBindings() } : {}),
    ...(monitor
      ? {
          nodes: () => monitor.inventory.listNodes(),
          nodeStatuses: () => monitor.status.nodeStatuses(),
          syslogVolume: (from: number, to: number) => monitor.logs.volume(from, to),
        }
      : {}),
    ...(backup ? { backupStatus: () => backup.status() } : {}),
  };
}
