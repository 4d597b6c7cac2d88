// The runbooks this suite ships, by name.

import { EgovError } from '../core/index.js';
import type { Runbook } from './types.js';
import { auditEvidencePack } from './runbooks/audit-evidence-pack.js';
import { caKeyCeremony } from './runbooks/ca-key-ceremony.js';
import { drSwitchover } from './runbooks/dr-switchover.js';
import { linkDownTriage } from './runbooks/link-down-triage.js';
import { onboardSite } from './runbooks/onboard-site.js';
import { publishCrl } from './runbooks/publish-crl.js';
import { renewDeviceCertificates } from './runbooks/renew-device-certificates.js';
import { restoreDrill } from './runbooks/restore-drill.js';

export const RUNBOOKS: ReadonlyArray<Runbook<any>> = [onboardSite, renewDeviceCertificates, publishCrl, restoreDrill, drSwitchover, caKeyCeremony, auditEvidencePack, linkDownTriage];

export function findRunbook(name: string): Runbook<any> {
  const found = RUNBOOKS.find((r) => r.name === name);
  if (!found) throw new EgovError('not-found', `no runbook ${name} (there are: ${RUNBOOKS.map((r) => r.name).join(', ')})`);
  return found;
}
