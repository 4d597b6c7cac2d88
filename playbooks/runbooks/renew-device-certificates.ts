// renew-device-certificates: the good certificates of a profile that expire
// within N days, renewed from the devices' CSRs or with keys made here
// (PKCS#12), delivered into a directory with a SHA-256 manifest, and the
// superseded ones revoked once the grace period is over (a run that reaches
// the revocation early stops there, and `--from revoke-superseded` finishes
// it later).

import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import type { Operator } from '../operator.js';
import { defineRunbook } from '../types.js';

interface Expiring {
  ca: string;
  serial: string;
  subject: string;
  profile: string;
  notAfter: string;
  daysLeft: number;
  sans: string[];
  csr?: string;
}
interface Renewed {
  old: string;
  serial: string;
  subject: string;
  notAfter: string;
  file: string;
}

const cnOf = (subject: string) => (/(?:^|,)CN=([^,]+)/.exec(subject)?.[1] ?? 'certificate').replace(/[^A-Za-z0-9._-]/g, '_');

async function revoke(operator: Operator, ca: string, serial: string, reason: string): Promise<void> {
  if (operator.hasApi) await operator.api('POST', `/api/ca/${ca}/certificates/${serial}/revoke`, { reason });
  else await operator.cli(['ca', 'revoke', '--ca', ca, '--serial', serial, '--reason', reason]);
}

export const renewDeviceCertificates = defineRunbook({
  name: 'renew-device-certificates',
  title: 'Renew device certificates',
  description: 'Certificates of a profile expiring within N days: renew from CSRs or with keys made here, deliver, revoke the superseded ones after a grace period.',
  params: {
    ca: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, description: 'the hierarchy' },
    profile: { type: 'enum', values: ['device', 'server', 'agent', 'software', 'person'], default: 'device', description: 'the profile whose certificates are renewed' },
    days: { type: 'integer', default: 30, min: 1, max: 3650, description: 'renew what expires within this many days' },
    method: { type: 'enum', values: ['keygen', 'csr'], default: 'keygen', description: 'keygen: new keys made here, delivered as PKCS#12; csr: from the devices\' CSRs in csrDir (SERIAL.csr or CN.csr)' },
    csrDir: { type: 'string', description: 'for method=csr: the directory of the CSRs' },
    p12PasswordFile: { type: 'file', description: 'for method=keygen: the PKCS#12 password, a file' },
    deliverDir: { type: 'string', required: true, pattern: /^\//, description: 'where the renewed certificates go (absolute), with MANIFEST.sha256' },
    graceHours: { type: 'integer', default: 24, min: 0, max: 24 * 90, description: 'hours after renewal before the superseded certificates are revoked (0: at once)' },
  },
  steps: [
    {
      name: 'find-expiring',
      description: 'the good certificates of the profile that expire within the window (egov-ops ca expiring), with their names',
      changes: false,
      dryRun: async ({ operator, params }) => {
        const list = (await operator.cliJson<Expiring[]>(['ca', 'expiring', '--days', String(params.days)])).filter((c) => c.ca === params.ca && c.profile === params.profile);
        return list.length ? list.map((c) => `${c.serial} ${c.subject} expires ${c.notAfter} (${c.daysLeft} d)`).join('\n') : `nothing of profile ${params.profile} expires within ${params.days} days`;
      },
      run: async ({ operator, params, note }) => {
        if (params.method === 'keygen' && !params.p12PasswordFile) throw new EgovError('bad-request', 'method=keygen needs --param p12PasswordFile=FILE');
        if (params.method === 'csr' && !params.csrDir) throw new EgovError('bad-request', 'method=csr needs --param csrDir=DIR');
        const list = (await operator.cliJson<Expiring[]>(['ca', 'expiring', '--days', String(params.days)])).filter((c) => c.ca === params.ca && c.profile === params.profile);
        const out: Expiring[] = [];
        for (const c of list) {
          const shown = await operator.cliJson<{ sans: string[] }>(['ca', 'show', '--ca', c.ca, '--serial', c.serial]);
          const entry: Expiring = { ...c, sans: shown.sans ?? [] };
          if (params.method === 'csr') {
            const csr = [path.join(params.csrDir!, `${c.serial}.csr`), path.join(params.csrDir!, `${cnOf(c.subject)}.csr`)].find((f) => existsSync(f));
            if (!csr) throw new EgovError('not-found', `no CSR for ${c.serial} (${c.subject}) in ${params.csrDir}: name it ${c.serial}.csr or ${cnOf(c.subject)}.csr`);
            entry.csr = csr;
          }
          out.push(entry);
          note(`${c.serial} ${c.subject} expires ${c.notAfter} (${c.daysLeft} d)`);
        }
        if (!out.length) note(`nothing of profile ${params.profile} expires within ${params.days} days`);
        return out;
      },
    },
    {
      name: 'renew',
      description: 'issue a successor for each: from its CSR, or with a new key delivered as PKCS#12 (same subject and names)',
      changes: true,
      timeoutMs: 30 * 60_000,
      dryRun: ({ params }) => `egov-ops ca issue --ca ${params.ca} --profile ${params.profile} ${params.method === 'csr' ? '--csr DIR/SERIAL.csr' : '--keygen --subject SUBJECT --san … --p12-password-file FILE'}, for each`,
      run: async ({ operator, params, results, workDir }) => {
        const renewed: Renewed[] = [];
        for (const c of results['find-expiring'] as Expiring[]) {
          const file = path.join(workDir, `${cnOf(c.subject)}-${c.serial}.${params.method === 'csr' ? 'pem' : 'p12'}`);
          const args =
            params.method === 'csr'
              ? ['ca', 'issue', '--ca', c.ca, '--profile', params.profile, '--csr', c.csr!, '--out', file]
              : ['ca', 'issue', '--ca', c.ca, '--profile', params.profile, '--keygen', '--subject', c.subject, ...c.sans.flatMap((s) => ['--san', s]), '--p12-password-file', params.p12PasswordFile!, '--out', file];
          const issued = await operator.cliJson<{ serial: string; subject: string; notAfter: string }>(args);
          renewed.push({ old: c.serial, serial: issued.serial, subject: issued.subject, notAfter: issued.notAfter, file });
        }
        return { renewedAt: new Date().toISOString(), renewed };
      },
      rollback: async ({ operator, params }, result) => {
        // The successors are withdrawn; the old certificates stay good.
        for (const r of (result as { renewed: Renewed[] }).renewed) await revoke(operator, params.ca, r.serial, 'cessationOfOperation');
      },
    },
    {
      name: 'deliver',
      description: 'copy the renewed certificates into the delivery directory with a SHA-256 manifest',
      changes: true,
      dryRun: ({ params }) => `copy to ${params.deliverDir}, write ${params.deliverDir}/MANIFEST.sha256`,
      run: async ({ params, results }) => {
        const { renewed } = results.renew as { renewed: Renewed[] };
        mkdirSync(params.deliverDir, { recursive: true, mode: 0o700 });
        const lines: string[] = [];
        const files: string[] = [];
        for (const r of renewed) {
          const target = path.join(params.deliverDir, path.basename(r.file).replace(`-${r.old}.`, `-${r.serial}.`));
          copyFileSync(r.file, target);
          files.push(target);
          lines.push(`${createHash('sha256').update(readFileSync(target)).digest('hex')}  ${path.basename(target)}`);
        }
        const manifest = path.join(params.deliverDir, 'MANIFEST.sha256');
        writeFileSync(manifest, lines.join('\n') + (lines.length ? '\n' : ''));
        return { files, manifest };
      },
      rollback: async (_ctx, result) => {
        const { files, manifest } = result as { files: string[]; manifest: string };
        for (const f of [...files, manifest]) rmSync(f, { force: true });
      },
    },
    {
      name: 'revoke-superseded',
      description: 'revoke the superseded certificates (reason superseded) once the grace period after renewal is over',
      changes: true,
      onFailure: 'stop',
      dryRun: ({ params }) => `egov-ops ca revoke --reason superseded for each old certificate, ${params.graceHours} h after renewal`,
      run: async ({ operator, params, results, note }) => {
        const { renewedAt, renewed } = results.renew as { renewedAt: string; renewed: Renewed[] };
        const due = new Date(new Date(renewedAt).getTime() + params.graceHours * 3_600_000);
        if (Date.now() < due.getTime()) {
          throw new EgovError('policy-violation', `the grace period runs until ${due.toISOString()}: the devices install their new certificates meanwhile; then run \`egov-ops playbook run renew-device-certificates --from revoke-superseded\``);
        }
        for (const r of renewed) {
          await revoke(operator, params.ca, r.old, 'superseded');
          note(`revoked ${r.old} (superseded by ${r.serial})`);
        }
        return { revoked: renewed.map((r) => r.old) };
      },
    },
  ],
});
