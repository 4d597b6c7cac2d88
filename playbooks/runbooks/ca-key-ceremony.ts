// ca-key-ceremony: a new CA hierarchy made before a witness and two
// operators. The second operator approves the ceremony through the API (four
// eyes) before any key is made; every act and fingerprint goes into a witness
// log; the public parts are exported; the database holding the encrypted keys
// is backed up and a drill restores it and signs with the restored keys; a
// test certificate is issued, verified with openssl, and revoked.

import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import type { StepContext } from '../types.js';
import { defineRunbook } from '../types.js';

const witnessFile = (exportDir: string) => path.join(exportDir, 'witness-log.txt');

/** One line of the witness log: when, who, what. */
function witness(ctx: StepContext<{ exportDir: string }>, who: string, what: string): void {
  appendFileSync(witnessFile(ctx.params.exportDir), `${new Date().toISOString()}  ${who}  ${what}\n`, { mode: 0o644 });
  ctx.note(`witness log: ${what}`);
}

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

export const caKeyCeremony = defineRunbook({
  name: 'ca-key-ceremony',
  title: 'CA key ceremony',
  description: 'A new hierarchy with a witness log and two operators: public parts exported, the encrypted keys backed up and drilled, a test issuance.',
  params: {
    ca: { type: 'string', required: true, pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, description: 'the new hierarchy\'s name' },
    algorithm: { type: 'enum', values: ['rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384', 'sm2'], required: true, description: 'key algorithm' },
    subject: { type: 'string', required: true, description: 'the root\'s subject, e.g. "/C=CN/O=City E-Gov/CN=City Root CA 2027"' },
    witness: { type: 'string', required: true, description: 'the witness\'s name, as the log shows it' },
    exportDir: { type: 'string', required: true, pattern: /^\//, description: 'where the public parts and the witness log go (absolute; absent or empty)' },
    backupTarget: { type: 'string', description: 'the backup target for the encrypted keys (default: every target)' },
  },
  steps: [
    {
      name: 'preflight',
      description: 'the hierarchy is new, the export directory is empty, the operator holds ca-admin; the witness log opens',
      changes: false,
      run: async (ctx) => {
        const { params, operator } = ctx;
        const existing = await operator.cliJson<Array<{ name: string }>>(['ca', 'list']);
        if (existing.some((h) => h.name === params.ca)) throw new EgovError('conflict', `hierarchy ${params.ca} exists already`);
        if (existsSync(params.exportDir) && readdirSync(params.exportDir).length) throw new EgovError('conflict', `the export directory ${params.exportDir} is not empty`);
        const me = (await operator.api('GET', '/api/access/me')).json<{ name: string; activeRoles: string[] }>();
        if (!me.activeRoles.includes('ca-admin')) throw new EgovError('forbidden', `${me.name} has no active ca-admin role (sign in with the password file)`);
        mkdirSync(params.exportDir, { recursive: true, mode: 0o755 });
        witness(ctx, me.name, `ceremony for hierarchy ${params.ca} (${params.algorithm}, ${params.subject}) opened; witness ${params.witness}; run ${ctx.runId}`);
        return { operator: me.name };
      },
      // An aborted ceremony's witness log is kept, and says so; a new attempt takes a new export directory.
      rollback: async (ctx, result) => witness(ctx, (result as { operator: string }).operator, 'ceremony ABORTED: a later step failed (see the run log); nothing after this line happened'),
    },
    {
      name: 'second-operator',
      description: 'a second operator approves the ceremony through the API before any key is made',
      changes: true,
      gate: 'four-eyes',
      dryRun: 'POST /api/playbooks/approvals, then wait for a second operator to approve it',
      run: async (ctx) => {
        const { approvals } = (await ctx.operator.api('GET', '/api/playbooks/approvals?state=approved')).json<{ approvals: Array<{ runId: string; step: string; decidedBy: string; decidedAt: string }> }>();
        const approval = approvals.find((a) => a.runId === ctx.runId && a.step === 'second-operator');
        if (!approval) throw new EgovError('policy-violation', 'no approval of this ceremony by a second operator');
        witness(ctx, approval.decidedBy, `approved the ceremony as the second operator at ${approval.decidedAt}`);
        return { secondOperator: approval.decidedBy };
      },
    },
    {
      name: 'generate',
      description: 'make the root, the issuing CA and the OCSP responder (egov-ops ca init); keys encrypted with the CA passphrase',
      changes: true,
      timeoutMs: 10 * 60_000,
      dryRun: ({ params }) => `egov-ops ca init --ca ${params.ca} --algorithm ${params.algorithm} --subject "${params.subject}"`,
      run: async (ctx) => {
        const { params, operator, results, workDir } = ctx;
        const args = ['--json', 'ca', 'init', '--ca', params.ca, '--algorithm', params.algorithm, '--subject', params.subject];
        const { stdout } = await operator.run(process.execPath, [operator.bin, ...operator.globalArgs(), ...args], { shown: `egov-ops ${args.join(' ')}`, quietOutput: true });
        const made = JSON.parse(stdout) as { root: { subject: string; fingerprintSha256: string }; issuing: { subject: string; fingerprintSha256: string }; enrolment?: { code: string } };
        if (made.enrolment) {
          ctx.secret(made.enrolment.code);
          writeFileSync(path.join(workDir, 'first-admin-enrolment-code.txt'), made.enrolment.code + '\n', { mode: 0o600 });
        }
        const who = (results.preflight as { operator: string }).operator;
        witness(ctx, who, `root ${made.root.subject} made, SHA-256 ${made.root.fingerprintSha256}`);
        witness(ctx, who, `issuing CA ${made.issuing.subject} made, SHA-256 ${made.issuing.fingerprintSha256}`);
        return { root: made.root.fingerprintSha256, issuing: made.issuing.fingerprintSha256 };
      },
    },
    {
      name: 'export-public',
      description: 'export the root and issuing certificates (PEM) and the chain; openssl checks the issuing CA against the root',
      changes: true,
      dryRun: ({ params }) => `egov-ops ca chain --ca ${params.ca} > ${params.exportDir}/${params.ca}-chain.pem (+ -root.pem, -issuing.pem)`,
      run: async (ctx) => {
        const { params, operator, results } = ctx;
        const { stdout } = await operator.cli(['ca', 'chain', '--ca', params.ca]);
        const [issuing, root] = stdout.match(PEM) ?? [];
        if (!issuing || !root) throw new EgovError('internal', `egov-ops ca chain --ca ${params.ca} printed no issuing and root certificate`);
        const files = { chain: path.join(params.exportDir, `${params.ca}-chain.pem`), root: path.join(params.exportDir, `${params.ca}-root.pem`), issuing: path.join(params.exportDir, `${params.ca}-issuing.pem`) };
        writeFileSync(files.chain, stdout);
        writeFileSync(files.root, root);
        writeFileSync(files.issuing, issuing);
        if (params.algorithm !== 'sm2') {
          const verified = await operator.run('openssl', ['verify', '-CAfile', files.root, files.issuing]);
          if (!/: OK/.test(verified.stdout)) throw new EgovError('bad-signature', `openssl does not verify the issuing CA against the root: ${verified.stdout.trim()}`);
        }
        const generated = results.generate as { root: string; issuing: string };
        for (const [name, file] of Object.entries(files)) {
          if (name === 'chain') continue;
          const fingerprint = createHash('sha256').update(Buffer.from(readFileSync(file, 'utf8').replace(/-----[^-]+-----|\s/g, ''), 'base64')).digest('hex');
          if (fingerprint !== generated[name as 'root' | 'issuing']) throw new EgovError('chain-broken', `the exported ${name} certificate's fingerprint ${fingerprint} is not the one made (${generated[name as 'root' | 'issuing']})`);
        }
        witness(ctx, (results.preflight as { operator: string }).operator, `public parts exported: ${Object.values(files).map((f) => path.basename(f)).join(', ')}`);
        return files;
      },
    },
    {
      name: 'backup-keys',
      description: 'back up the database that holds the encrypted keys, then drill it: the restored keys must sign a certificate openssl verifies',
      changes: true,
      timeoutMs: 60 * 60_000,
      dryRun: ({ params }) => `egov-ops backup run${params.backupTarget ? ` --target ${params.backupTarget}` : ''}; egov-ops backup drill${params.backupTarget ? ` --target ${params.backupTarget}` : ''}`,
      run: async (ctx) => {
        const { params, operator, results } = ctx;
        const target = params.backupTarget ? ['--target', params.backupTarget] : [];
        const runs = await operator.cliJson<Array<{ target: string; snapshotId: string; ok: boolean }>>(['backup', 'run', ...target]);
        const drill = await operator.cliJson<{ ok: boolean; target: string; snapshot: string; checks: Array<{ name: string; ok: boolean; detail: string }> }>(['backup', 'drill', ...target]);
        const keys = drill.checks.filter((c) => /key/i.test(c.name));
        if (!drill.ok) throw new EgovError('chain-broken', `the drill of the new backup failed: ${drill.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`).join('; ')}`);
        const who = (results.preflight as { operator: string }).operator;
        witness(ctx, who, `encrypted keys backed up: ${runs.map((r) => `${r.target} snapshot ${r.snapshotId.slice(0, 8)}`).join(', ')}; drill of ${drill.target} passed${keys.length ? ` (${keys.map((k) => k.detail).join('; ')})` : ''}`);
        return { snapshots: runs.map((r) => ({ target: r.target, snapshot: r.snapshotId })), drill: { target: drill.target, snapshot: drill.snapshot, ok: drill.ok } };
      },
    },
    {
      name: 'test-issuance',
      description: 'issue a short-lived test certificate from an openssl CSR, verify it against the exported chain, then revoke it',
      changes: true,
      dryRun: ({ params }) => `openssl req; egov-ops ca issue --ca ${params.ca} --profile server --days 1; openssl verify; egov-ops ca revoke --reason cessationOfOperation`,
      run: async (ctx) => {
        const { params, operator, results, workDir } = ctx;
        const key = path.join(workDir, 'ceremony-test.key');
        const csr = path.join(workDir, 'ceremony-test.csr');
        const cert = path.join(workDir, 'ceremony-test.pem');
        const keyArgs = params.algorithm.startsWith('rsa') ? ['-newkey', 'rsa:3072'] : params.algorithm === 'sm2' ? ['-newkey', 'sm2'] : ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${params.algorithm === 'ecdsa-p384' ? 'P-384' : 'P-256'}`];
        await operator.run('openssl', ['req', '-new', ...keyArgs, '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=ceremony-test.${params.ca}.invalid`]);
        const issued = await operator.cliJson<{ serial: string; fingerprintSha256: string }>(['ca', 'issue', '--ca', params.ca, '--profile', 'server', '--csr', csr, '--san', `DNS:ceremony-test.${params.ca}.invalid`, '--days', '1', '--out', cert]);
        const { chain } = results['export-public'] as { chain: string };
        if (params.algorithm !== 'sm2') {
          const verified = await operator.run('openssl', ['verify', '-CAfile', chain, cert]);
          if (!/: OK/.test(verified.stdout)) throw new EgovError('bad-signature', `openssl does not verify the test certificate: ${verified.stdout.trim()}`);
        }
        await operator.cli(['ca', 'revoke', '--ca', params.ca, '--serial', issued.serial, '--reason', 'cessationOfOperation']);
        witness(ctx, (results.preflight as { operator: string }).operator, `test certificate ${issued.serial} issued, verified with openssl, revoked`);
        return { serial: issued.serial };
      },
    },
    {
      name: 'close-witness-log',
      description: 'close the witness log and write its SHA-256 beside it',
      changes: true,
      run: async (ctx) => {
        const { params, results } = ctx;
        witness(ctx, (results.preflight as { operator: string }).operator, `ceremony closed; operators ${(results.preflight as { operator: string }).operator} and ${(results['second-operator'] as { secondOperator: string }).secondOperator}; witness ${params.witness}`);
        const log = witnessFile(params.exportDir);
        const sha = createHash('sha256').update(readFileSync(log)).digest('hex');
        writeFileSync(`${log}.sha256`, `${sha}  ${path.basename(log)}\n`);
        return { witnessLog: log, sha256: sha };
      },
    },
  ],
});
