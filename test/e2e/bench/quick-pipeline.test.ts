// Quick mode of the snapshot, restore and copy benches (issue 16, item 6): each bench runs as by
// hand with a few MiB and must end well and print its figures. Timings are not checked (they are
// the manual runs' business, bench/README.md); the counts that are correctness (every snapshot
// ready, no overlapping saves of one cluster, the restored key count) are.
// The benches wait mostly on Jobs and pods, so they run concurrently: each has its own cluster.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explain, runBench } from './run-bench.ts';

const figure = String.raw`-?[\d,.]+`;
const RUN_TIMEOUT_MS = 420_000;
const TEST_TIMEOUT_MS = RUN_TIMEOUT_MS + 30_000;

describe.concurrent('benches, quick mode: snapshot, restore and copy', () => {
  it(
    'pipeline-scale: every snapshot ready, no overlapping saves, writes per snapshot printed',
    async () => {
      const run = await runBench(
        'pipeline-scale.ts',
        [],
        { BENCH_CLUSTERS: '2', BENCH_SNAPSHOTS: '3' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(new RegExp(`all ready in ${figure} s`));
      expect(run.output).toMatch(/save Jobs: 3; overlapping saves of one cluster: 0/);
      expect(run.output).toMatch(new RegExp(`= \\d+ → ${figure} per snapshot`));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'many-clusters: every snapshot ready with one save Job, no overlaps, its curve printed',
    async () => {
      const run = await runBench(
        'many-clusters.ts',
        [],
        { BENCH_CLUSTER_STEPS: '2,4', BENCH_WAVES: '1' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      for (const step of [2, 4]) {
        expect(run.output).toMatch(new RegExp(`^\\s+${step}\\s+${step}(\\s+${figure}){9}$`, 'm'));
      }
      expect(run.output).toMatch(
        /all 6 of 6 snapshots ready; save Jobs 6 \(one per ready snapshot: true\); overlapping saves of one cluster: 0/,
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'many-clusters over 3 replicas: every snapshot ready, the save Jobs by replica printed',
    async () => {
      const run = await runBench(
        'many-clusters.ts',
        [],
        { BENCH_CLUSTER_STEPS: '6', BENCH_WAVES: '1', BENCH_REPLICAS: '3' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(
        /save Jobs by replica \d+ \/ \d+ \/ \d+ \(buckets 2 \/ 2 \/ 2\): \d+ % from even/,
      );
      expect(run.output).toMatch(/all 6 of 6 snapshots ready; .*overlapping saves of one cluster: 0/);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'seed-targets prints creation, size overhead and deletion against the seed',
    async () => {
      const run = await runBench('seed-targets.ts', [], { BENCH_SIZE_MIB: '4' }, RUN_TIMEOUT_MS);
      expect(run.code, explain(run)).toBe(0);
      for (const row of ['creation', 'size', 'deletion']) {
        expect(run.output).toMatch(
          new RegExp(`^  ${row} .* seed < ${figure} s? ?%?\\s+ratio ${figure}$`, 'm'),
        );
      }
      expect(run.output).toMatch(
        new RegExp(`driver\\s+CPU ${figure} s over ${figure} s, peak RSS ${figure} MB`),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'pipeline-overhead prints Create → ready, the agent and the controller overhead',
    async () => {
      const run = await runBench(
        'pipeline-overhead.ts',
        [],
        { BENCH_SIZE_MIB: '4', BENCH_ROUNDS: '1' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(
        new RegExp(
          `round 1: Create → ready ${figure} s, agent ${figure} s .*controller overhead ${figure} s`,
        ),
      );
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'restore restores every key and prints its phases against the hand-run restore',
    async () => {
      const run = await runBench('restore.ts', [], { BENCH_SIZE_MIB: '4' }, RUN_TIMEOUT_MS);
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(new RegExp(`EtcdRestore phases: .* total ${figure} s`));
      const keys = /restored: revision \d+, (\d+) keys \(snapshot (\d+)\)/.exec(run.output);
      expect(keys, explain(run)).not.toBeNull();
      expect(keys![1]).toBe(keys![2]);
      expect(run.output).toMatch(new RegExp(`etcdutl snapshot restore by hand ${figure} s`));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'object-store-upload prints every upload mode and the raw SDK',
    async () => {
      const run = await runBench(
        'object-store-upload.ts',
        [],
        { BENCH_SIZE_MIB: '4', BENCH_ROUNDS: '1' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(new RegExp(`raw SDK Upload\\s+${figure} s`));
      for (const mode of ['plain', 'zstd', 'gzip', 'zstd\\+encrypted']) {
        expect(run.output).toMatch(new RegExp(`agent upload ${mode}\\s+${figure} s .*RSS ${figure} MiB`));
      }
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'agent-save prints etcdctl and the agent side by side',
    async () => {
      const run = await runBench(
        'agent-save.ts',
        [],
        { BENCH_SIZE_MIB: '8', BENCH_ROUNDS: '1' },
        RUN_TIMEOUT_MS,
      );
      expect(run.code, explain(run)).toBe(0);
      expect(run.output).toMatch(new RegExp(`etcdctl snapshot save\\s+${figure} s`));
      expect(run.output).toMatch(new RegExp(`agent save .*${figure}× etcdctl`));
      // With /usr/bin/time (Debian's `time`) each side's CPU and peak RSS are printed too.
      if (existsSync('/usr/bin/time')) {
        const cpu = `\\[user ${figure} s, sys ${figure} s, peak RSS ${figure} MiB\\]`;
        expect(run.output).toMatch(new RegExp(`CPU, medians: etcdctl ${cpu}; agent save ${cpu}`));
      }
    },
    TEST_TIMEOUT_MS,
  );
});
