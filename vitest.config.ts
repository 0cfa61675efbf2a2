import { defineConfig } from 'vitest/config';

// Three tiers, runnable alone (`npm run test:unit` …) or together (`npm test`):
// - unit: pure logic with in-memory fakes, no processes;
// - integration: one piece against a real local cluster (test/harness) or real etcd;
// - e2e: whole flows on a local cluster.
// The cluster tiers share one tools build (globalSetup) and start a cluster per test file;
// clusters are isolated by loopback subnet, so files may run in parallel.
const clusterTier = {
  globalSetup: ['test/harness/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 600_000,
  teardownTimeout: 60_000,
};

export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // Some unit tests spawn the CLI or a Node process; with cluster tiers running beside them
          // on 2 cores, a start-up took over 30 s (the SIGTERM drain test, load average 34). Each
          // waits for what the process prints, so the limit only bounds a hang.
          testTimeout: 120_000,
        },
      },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...clusterTier } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], ...clusterTier } },
    ],
  },
});
