// Set-up for `npm test` and `npm run bench`: dependencies, build, real peers.
import { build, ensureDependencies, ensureSystemPackages, nodeVersionOk } from './lib.mjs';
nodeVersionOk();
ensureSystemPackages();
ensureDependencies();
build();
