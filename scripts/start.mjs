// `npm start`: install, build, and run the suite on its embedded defaults
// (SQLite, demo hierarchies and desk operators, a demo network of real snmpd
// devices with two agents, embedded metrics, local backups). Extra arguments
// go to `egov-ops serve`.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { build, ensureDependencies, ensureSystemPackages, nodeVersionOk, root, RUN_PEERS } from './lib.mjs';
nodeVersionOk();
ensureSystemPackages(RUN_PEERS, false);
ensureDependencies();
build();
const child = spawn(process.execPath, [path.join(root, 'dist/egov-ops/main.js'), 'serve', '--demo', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code) => process.exit(code ?? 0));
