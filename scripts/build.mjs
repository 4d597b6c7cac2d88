import { build, ensureDependencies } from './lib.mjs';
ensureDependencies();
build();
