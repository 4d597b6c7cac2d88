// Set-up for `npm test` and `npm run bench`: dependencies, build, real peers.
// With --bench also the peers only the benchmarks measure (rsyslog,
// prometheus-snmp-exporter), best effort.
import { BENCH_PEERS, build, ensureDependencies, ensureSystemPackages, nodeVersionOk } from './lib.mjs';
nodeVersionOk();
ensureSystemPackages();
if (process.argv.includes('--bench')) ensureSystemPackages(BENCH_PEERS, false);
ensureDependencies();
build();
