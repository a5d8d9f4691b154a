import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// `pnpm test:chaos`: the kill -9 / broker-restart ledger test, alone (it runs 200 jobs on the whole stack).
// The base config's include/exclude are replaced, not merged (the base excludes test/chaos).
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ['test/chaos/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 240_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
