// Quick mode of the controller-runtime and memory benches (issue 16, item 6): each bench runs as
// by hand with small sizes and must end well and print its figures. The values are not checked
// (they are the manual runs' business, bench/README.md); only that every figure is printed.
import { describe, expect, it } from 'vitest';
import { explain, runBench } from './run-bench.ts';

const figure = String.raw`-?[\d,.]+`;

// runBench stops a bench after 240 s; the test outlives it so the output is shown.
const TEST_TIMEOUT_MS = 270_000;

// Concurrent: the cluster benches wait mostly on Leases and settling, each on its own cluster.
describe.concurrent('benches, quick mode: controller runtime and memory', () => {
  it(
    'queue-throughput prints keys/s for its three runs',
    async () => {
      const run = await runBench('queue-throughput.ts', ['--keys', '5000']);
      expect(run.code, explain(run)).toBe(0);
      for (const label of ['distinct keys, no-op metrics', 'every metric hook recording', 'added 3 times']) {
        expect(run.output).toMatch(new RegExp(`${label}.*\\s${figure} keys/s`));
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'informer-memory prints heap per Job, the JSON ratios and RSS',
    async () => {
      const run = await runBench('informer-memory.ts', ['--jobs', '200']);
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(/informer memory: 200 Jobs cached/);
      expect(run.output).toMatch(
        new RegExp(`heap for the cache\\s+${figure} MB\\s+\\(${figure} B per Job\\)`),
      );
      expect(run.output).toMatch(new RegExp(`heap/JSON = ${figure}×`));
      expect(run.output).toMatch(new RegExp(`process RSS\\s+${figure} MB`));
      // What the driver caches of a Job: no managedFields, no pod template.
      expect(run.output).toMatch(new RegExp(`JSON as cached \\(src/informers/cached-job.ts\\) ${figure} MB`));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'tracing-overhead prints both paths in the three modes',
    async () => {
      const run = await runBench('tracing-overhead.ts', ['--rounds', '1', '--iterations', '200']);
      expect(run.code, explain(run)).toBe(0);
      for (const path of ['reconcile', 'rpc']) {
        expect(run.output).toMatch(
          new RegExp(`${path}\\s+baseline ${figure} µs\\s+disabled ${figure} µs .*enabled ${figure} µs`),
        );
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'csi-latency prints the latency table and the writes per re-call',
    async () => {
      const run = await runBench('csi-latency.ts', ['--calls=50', '--records=5', '--members=1']);
      expect(run.code, explain(run)).toBe(0);
      for (const call of ['Probe', 'CreateVolumeGroupSnapshot \\(re-call\\)', 'GetVolumeGroupSnapshot']) {
        expect(run.output).toMatch(new RegExp(`\\| ${call} \\| ${figure} µs \\| ${figure} µs \\|`));
      }
      expect(run.output).toMatch(/API writes per CreateVolumeGroupSnapshot re-call: \d+/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'cluster-memory prints the three RSS lines against the empty cluster',
    async () => {
      const run = await runBench('cluster-memory.ts', [
        '--pods',
        '20',
        '--claims',
        '10',
        '--concurrency',
        '8',
      ]);
      expect(run.code, explain(run)).toBe(0);
      for (const line of [
        'empty cluster \\(baseline\\)',
        'driver informers, unrelated objects',
        'cluster-wide Pods and claims',
      ]) {
        expect(run.output).toMatch(new RegExp(`${line}\\s+RSS\\s+${figure} MB .*pods cached\\s+\\d+`));
      }
      expect(run.output).toMatch(/pods cached\s+20\s+claims cached\s+10/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'failover prints crash and graceful times',
    async () => {
      const run = await runBench('failover.ts', ['--rounds', '1']);
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(new RegExp(`round 1: crash ${figure} s, graceful ${figure} s`));
      expect(run.output).toMatch(new RegExp(`crash failover\\s+min ${figure} s, median ${figure} s`));
    },
    TEST_TIMEOUT_MS,
  );
});
