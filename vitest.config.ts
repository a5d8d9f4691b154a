import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

// Tests import @vigil/shared, and a service another service's tests start, from source by package name (never a
// path into another package's src/) so a change is visible without a rebuild.
const alias = [
  { find: /^@vigil\/shared\/testing$/, replacement: here('./packages/shared/src/testing/index.ts') },
  { find: /^@vigil\/shared$/, replacement: here('./packages/shared/src/index.ts') },
  ...['scheduler', 'reports', 'notifier', 'secrets', 'webhooks'].map((s) => ({
    find: new RegExp(`^@vigil/${s}$`),
    replacement: here(`./services/${s}/src/index.ts`),
  })),
];

// test/chaos (~75 s: 200 runs, kill -9 and a broker restart) finishes well within budget, so npm test runs it
// too; `pnpm test:chaos` runs it alone (vitest.chaos.config.ts).
const slow: string[] = [];

export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', ...slow],
    setupFiles: [here('./test/vitest-setup.ts')],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Integration files spawn real servers and services; two at a time keeps a 2-core machine honest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
