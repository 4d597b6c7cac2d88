// Object identifiers: parsing what people type, comparing as SNMP does
// (arc by arc, numerically), and a few well-known names so that
// `snmp walk host system` works without MIB files.

import { EgovError } from '../../core/errors.js';

/** A dotted OID without the leading dot, e.g. `1.3.6.1.2.1.1.3.0`. */
export type Oid = string;

const MAX_ARC = 4294967295;
const MAX_ARCS = 128;

/** Names people use for the OIDs the suite polls; anything else is given numerically. */
export const WELL_KNOWN_OIDS: Readonly<Record<string, Oid>> = {
  iso: '1',
  internet: '1.3.6.1',
  mib2: '1.3.6.1.2.1',
  'mib-2': '1.3.6.1.2.1',
  enterprises: '1.3.6.1.4.1',
  system: '1.3.6.1.2.1.1',
  sysDescr: '1.3.6.1.2.1.1.1',
  sysObjectID: '1.3.6.1.2.1.1.2',
  sysUpTime: '1.3.6.1.2.1.1.3',
  sysContact: '1.3.6.1.2.1.1.4',
  sysName: '1.3.6.1.2.1.1.5',
  sysLocation: '1.3.6.1.2.1.1.6',
  interfaces: '1.3.6.1.2.1.2',
  ifNumber: '1.3.6.1.2.1.2.1',
  ifTable: '1.3.6.1.2.1.2.2',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifAdminStatus: '1.3.6.1.2.1.2.2.1.7',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifInOctets: '1.3.6.1.2.1.2.2.1.10',
  ifInDiscards: '1.3.6.1.2.1.2.2.1.13',
  ifInErrors: '1.3.6.1.2.1.2.2.1.14',
  ifOutOctets: '1.3.6.1.2.1.2.2.1.16',
  ifOutDiscards: '1.3.6.1.2.1.2.2.1.19',
  ifOutErrors: '1.3.6.1.2.1.2.2.1.20',
  ifMIB: '1.3.6.1.2.1.31',
  ifXTable: '1.3.6.1.2.1.31.1.1',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15',
  host: '1.3.6.1.2.1.25',
  hrSystemUptime: '1.3.6.1.2.1.25.1.1',
  hrStorageTable: '1.3.6.1.2.1.25.2.3',
  hrProcessorLoad: '1.3.6.1.2.1.25.3.3.1.2',
  snmpTrapOID: '1.3.6.1.6.3.1.1.4.1',
};

/**
 * Parses `1.3.6.1`, `.1.3.6.1`, a well-known name, or a name with an
 * instance suffix (`sysUpTime.0`, `ifDescr.2`). Throws a bad-request error
 * naming the input otherwise.
 */
export function parseOid(text: string): Oid {
  const trimmed = text.trim();
  const nameMatch = /^([A-Za-z][A-Za-z0-9-]*)((?:\.\d+)*)$/.exec(trimmed);
  if (nameMatch) {
    const base = WELL_KNOWN_OIDS[nameMatch[1]!];
    if (!base) throw new EgovError('bad-request', `unknown OID name "${nameMatch[1]}": give it numerically (e.g. 1.3.6.1.2.1.1.3.0); known names: ${Object.keys(WELL_KNOWN_OIDS).join(', ')}`);
    return checkArcs(base + nameMatch[2]!, text);
  }
  return checkArcs(trimmed.startsWith('.') ? trimmed.slice(1) : trimmed, text);
}

function checkArcs(dotted: string, original: string): Oid {
  if (!/^\d+(\.\d+)*$/.test(dotted)) throw new EgovError('bad-request', `"${original}" is not an OID (digits separated by dots, e.g. 1.3.6.1.2.1.1.3.0)`);
  const arcs = dotted.split('.');
  if (arcs.length > MAX_ARCS) throw new EgovError('bad-request', `OID "${original}" has ${arcs.length} arcs; SNMP allows at most ${MAX_ARCS}`);
  for (const arc of arcs) {
    if (Number(arc) > MAX_ARC) throw new EgovError('bad-request', `OID "${original}" has an arc ${arc} above ${MAX_ARC}`);
  }
  if (arcs.length >= 2 && Number(arcs[0]) > 2) throw new EgovError('bad-request', `OID "${original}" must start with 0, 1 or 2`);
  return arcs.map((a) => String(Number(a))).join('.');
}

/** SNMP order: arc by arc, numerically; a prefix sorts first. Negative, zero or positive like Array.sort. */
export function compareOids(a: Oid, b: Oid): number {
  if (a === b) return 0;
  const x = a.split('.');
  const y = b.split('.');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** True when `oid` lies strictly inside the subtree rooted at `root`. */
export function isUnder(oid: Oid, root: Oid): boolean {
  return oid.length > root.length && oid.startsWith(root) && oid.charCodeAt(root.length) === 46; /* '.' */
}

/** The instance part of `oid` below `root` (`1.3.6.1.2.1.2.2.1.2.7` under ifDescr is `7`). */
export function instanceOf(oid: Oid, root: Oid): string {
  return oid.slice(root.length + 1);
}
