import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Temporal's native bridge needs real processes, not worker threads.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Integration suites share one dev server; running them one file at a time keeps
    // the 2-core machine from starving the Temporal server.
    fileParallelism: false,
  },
});
