import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', '**/*.unit.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    // Real peers (openssl, postgres) are started by the tests: give them time.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
