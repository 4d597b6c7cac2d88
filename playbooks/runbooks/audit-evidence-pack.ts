// audit-evidence-pack: run a grade-protection audit of one system, render its
// report (PDF and JSON), gather the run with every item's evidence and the
// attachments its attestations name, and put it all into one tar.gz with a
// SHA-256 manifest (manifest.sha256, as `sha256sum -c` reads it).

import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { EgovError } from '../../core/index.js';
import { defineRunbook } from '../types.js';

interface SystemView {
  name: string;
  level: number;
}
interface RunView {
  id: number;
  system: string;
  level: number;
  score: number | null;
  conclusion: string;
  results: Array<{ code: string; status: string; attestation?: { id: number; code: string; attachments: string[] } }>;
}

const PACK_FILES = ['run.json', 'report.pdf', 'report.json', 'attachments.json'];

export const auditEvidencePack = defineRunbook({
  name: 'audit-evidence-pack',
  title: 'Audit evidence pack',
  description: 'Run a grade-protection audit of a system, render its PDF and JSON report, gather the run with its evidence, and archive it all (tar.gz) with a SHA-256 manifest.',
  params: {
    system: { type: 'string', required: true, pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, description: 'the system under evaluation (egov-ops audit systems list)' },
    level: { type: 'enum', values: ['2', '3'], default: '3', description: 'the protection level to evaluate' },
    out: { type: 'string', required: true, pattern: /\.(tar\.gz|tgz)$/, description: 'the archive to write (FILE.tar.gz; must not exist)' },
  },
  steps: [
    {
      name: 'check',
      description: 'the system exists and the archive does not (egov-ops audit systems list)',
      changes: false,
      run: async ({ operator, params, note }) => {
        const systems = await operator.cliJson<SystemView[]>(['audit', 'systems', 'list']);
        const system = systems.find((s) => s.name === params.system);
        if (!system) throw new EgovError('not-found', `no system under evaluation ${params.system} (there are: ${systems.map((s) => s.name).join(', ') || 'none'}; egov-ops audit systems add)`);
        if (String(system.level) !== params.level) throw new EgovError('bad-request', `system ${system.name} is graded level ${system.level}: give level=${system.level} (an audit evaluates a system at its own level)`);
        const out = path.resolve(params.out);
        if (existsSync(out)) throw new EgovError('conflict', `${out} exists: give another out (the pack never overwrites)`);
        if (!existsSync(path.dirname(out))) throw new EgovError('not-found', `the directory of ${out} does not exist`);
        note(`system ${system.name} (level ${system.level}), evaluated at level ${params.level}; archive ${out}`);
        return { system: system.name, out };
      },
    },
    {
      name: 'run-audit',
      description: 'a new audit run of the system at the level (egov-ops audit run; recorded)',
      changes: true,
      timeoutMs: 30 * 60_000,
      dryRun: ({ params }) => `egov-ops audit run --system ${params.system} --level ${params.level} --json`,
      run: async ({ operator, params, note }) => {
        const run = await operator.cliJson<RunView>(['audit', 'run', '--system', params.system, '--level', params.level]);
        note(`run #${run.id}: score ${run.score ?? '-'}, ${run.conclusion}`);
        return { run: run.id, score: run.score, conclusion: run.conclusion };
      },
    },
    {
      name: 'gather',
      description: "the run with every item's evidence (audit show), its PDF and JSON reports (audit report) and the attachments its attestations name, in the run's work directory",
      changes: false,
      timeoutMs: 10 * 60_000,
      run: async ({ operator, results, workDir, note }) => {
        const id = String((results['run-audit'] as { run: number }).run);
        const dir = path.join(workDir, 'pack');
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const { stdout } = await operator.cli(['--json', 'audit', 'show', id]);
        const run = JSON.parse(stdout) as RunView;
        writeFileSync(path.join(dir, 'run.json'), stdout.endsWith('\n') ? stdout : stdout + '\n');
        await operator.cli(['audit', 'report', id, '--format', 'pdf', '--out', path.join(dir, 'report.pdf')]);
        await operator.cli(['audit', 'report', id, '--format', 'json', '--out', path.join(dir, 'report.json')]);
        // The attachments are stored by SHA-256 in the suite; the pack lists each with the attestation that holds it.
        const attachments = run.results.filter((r) => r.attestation && r.attestation.attachments.length).flatMap((r) => r.attestation!.attachments.map((sha256) => ({ sha256, item: r.code, attestation: r.attestation!.id })));
        writeFileSync(path.join(dir, 'attachments.json'), JSON.stringify(attachments, null, 2) + '\n');
        const evidence = run.results.length;
        note(`run #${id}: ${evidence} items, ${attachments.length} attachment(s) named`);
        return { dir, items: evidence, attachments: attachments.length };
      },
    },
    {
      name: 'manifest',
      description: 'manifest.sha256 of every file of the pack (sha256sum)',
      changes: false,
      run: async ({ operator, results }) => {
        const { dir } = results.gather as { dir: string };
        const { stdout } = await operator.run('sha256sum', ['--', ...PACK_FILES], { cwd: dir });
        writeFileSync(path.join(dir, 'manifest.sha256'), stdout);
        return { manifest: path.join(dir, 'manifest.sha256'), files: PACK_FILES.length };
      },
    },
    {
      name: 'archive',
      description: 'the pack and its manifest in one tar.gz at out (tar); a half-written archive is removed',
      changes: true,
      timeoutMs: 10 * 60_000,
      dryRun: ({ params }) => `tar -czf ${path.resolve(params.out)} (${[...PACK_FILES, 'manifest.sha256'].join(', ')})`,
      run: async ({ operator, results }) => {
        const { dir } = results.gather as { dir: string };
        const { out } = results.check as { out: string };
        if (existsSync(out)) throw new EgovError('conflict', `${out} appeared meanwhile: not overwritten`);
        const partial = `${out}.partial`;
        try {
          await operator.run('tar', ['-czf', partial, '-C', dir, '--', 'manifest.sha256', ...PACK_FILES]);
          renameSync(partial, out);
        } catch (error) {
          rmSync(partial, { force: true });
          throw error;
        }
        return { out };
      },
      rollback: async (_ctx, result) => {
        const out = (result as { out?: string } | undefined)?.out;
        if (out) {
          rmSync(out, { force: true });
          rmSync(`${out}.partial`, { force: true });
        }
      },
    },
    {
      name: 'verify',
      description: 'the archive extracted into a scratch directory passes sha256sum -c',
      changes: false,
      run: async ({ operator, results, workDir, note }) => {
        const { out } = results.archive as { out: string };
        const scratch = path.join(workDir, 'verify');
        rmSync(scratch, { recursive: true, force: true });
        mkdirSync(scratch, { recursive: true });
        await operator.run('tar', ['-xzf', out, '-C', scratch]);
        const { stdout } = await operator.run('sha256sum', ['-c', 'manifest.sha256'], { cwd: scratch });
        rmSync(scratch, { recursive: true, force: true });
        const ok = stdout.split('\n').filter((l) => / OK$/.test(l)).length;
        if (ok !== PACK_FILES.length) throw new EgovError('chain-broken', `sha256sum -c checked ${ok} of ${PACK_FILES.length} files`);
        note(`${out}: ${ok} files, manifest verified`);
        return { out, verified: ok };
      },
    },
  ],
});
