// `npm run fuzz`: the long fuzz campaign. Runs the same property tests as
// `npm test` (test/fuzz-*.test.ts) with many more inputs and a fresh seed,
// then prints inputs tried per parser and what they found, and writes the
// report to bench/results/fuzz-<time>.json.
//
//   npm run fuzz                          # 20,000 inputs per parser, a random seed
//   EGOV_FUZZ_RUNS=200000 npm run fuzz    # longer
//   EGOV_FUZZ_SEED=12345 npm run fuzz     # replay a seed a finding was made with
//   npm run fuzz -- test/fuzz-ca.test.ts  # one file
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { root } from './lib.mjs';

const runs = Number(process.env.EGOV_FUZZ_RUNS ?? 20_000);
const seed = Number(process.env.EGOV_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const files = process.argv.slice(2).length ? process.argv.slice(2) : ['test/fuzz-ca.test.ts', 'test/fuzz-agents.test.ts', 'test/fuzz-files.test.ts', 'test/fuzz-http.test.ts'].filter((f) => existsSync(path.join(root, f)));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
const lines = path.join(root, 'bench', 'results', `fuzz-${stamp}.jsonl`);
rmSync(lines, { force: true });

process.stdout.write(`fuzz campaign: ${runs} inputs per parser, seed ${seed}, ${files.join(' ')}\n`);
const started = Date.now();
const result = spawnSync('npx', ['vitest', 'run', '--testTimeout', String(24 * 3600_000), ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, EGOV_FUZZ_RUNS: String(runs), EGOV_FUZZ_SEED: String(seed), EGOV_FUZZ_REPORT: lines },
});

const tallies = existsSync(lines) ? readFileSync(lines, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
const pad = (s, n) => String(s).padEnd(n);
process.stdout.write(`\n${pad('parser', 30)} ${pad('tried', 9)} ${pad('accepted', 9)} ${pad('refused', 9)} ${pad('slowest ms', 11)} found\n`);
for (const t of tallies) {
  const found = t.findings.length ? t.findings.join('; ') : 'nothing (refusals: ' + (Object.entries(t.byCode).map(([k, v]) => `${k} ${v}`).join(', ') || 'none') + ')';
  process.stdout.write(`${pad(t.parser, 30)} ${pad(t.tried, 9)} ${pad(t.accepted, 9)} ${pad(t.refused, 9)} ${pad(t.slowestMs, 11)} ${found}\n`);
}
const summary = { seed, runsPerParser: runs, seconds: Math.round((Date.now() - started) / 1000), exitCode: result.status, tallies };
const json = lines.replace(/\.jsonl$/, '.json');
writeFileSync(json, JSON.stringify(summary, null, 2) + '\n');
rmSync(lines, { force: true });
process.stdout.write(`\n${tallies.reduce((a, t) => a + t.tried, 0)} inputs in ${summary.seconds} s; report: ${path.relative(root, json)}\n`);
process.exit(result.status ?? 1);
