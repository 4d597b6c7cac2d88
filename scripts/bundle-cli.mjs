// Bundles the compiled CLI (dist/cli/main.js) into dist/egov-ops/: one file
// per command group plus shared chunks. Node's ESM loader pays per file, and
// kysely and TypeBox alone are hundreds of files: loaded one by one they cost
// a command about 0.3 s before it does anything; bundled, a few ms.
//
// Left outside the bundle: better-sqlite3 (a native addon that finds its
// .node file from its own directory), pg-native (pg's optional native
// driver), playwright-core (it reads files beside itself through __dirname:
// audit reports as PDF), and the packages our modules load lazily with createRequire
// (fastify, pino, influx), which resolve from node_modules at run time.
import path from 'node:path';
import { cpSync, rmSync } from 'node:fs';
import { build } from 'esbuild';
import { root } from './lib.mjs';

const outdir = path.join(root, 'dist/egov-ops');
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist/cli/main.js')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['better-sqlite3', 'pg-native', 'playwright-core'],
  // CommonJS packages inside an ESM bundle call require() for node's own modules.
  banner: { js: "import { createRequire as __egovCreateRequire } from 'node:module';\nconst require = __egovCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

// Data the bundled audit room reads beside its code (audit/checklist.ts and
// audit/scoring.ts look next to import.meta.url, here dist/egov-ops/).
for (const dir of ['checklists', 'scoring']) cpSync(path.join(root, 'audit', dir), path.join(outdir, dir), { recursive: true });
