// 50 snapshots across 10 etcd clusters (single-member fixtures, a little data each), all
// requested at once through the CSI server, as csi-snapshotter does (re-calling Create until
// ready). Prints: time until all are ready, whether two saves of one cluster ever overlapped
// (from the save Jobs' startTime/completionTime — the API's 1 s resolution; overlap means a
// start strictly before another's completion; bench/save-overlaps.ts), and the API writes per snapshot: the CSI's
// record writes plus every POST/PUT/PATCH/DELETE the pipeline made (its client wrapped in-process).
// Goal ≤ 8 writes per snapshot. Figures printed, never asserted.
//   node bench/pipeline-scale.ts          BENCH_CLUSTERS=4 BENCH_SNAPSHOTS=12 node bench/pipeline-scale.ts
import { performance } from 'node:perf_hooks';
import type { CreateSnapshotResponse } from '../src/csi/messages.ts';
import { createVolume, pipelineLogger, restrictNamespace } from '../test/e2e/pipeline/env.ts';
import { deployEtcdFixture, type EtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { installCrds, startDriver } from '../test/integration/csi/driver-env.ts';
import { countingClient, seconds, startCountedPipeline, type WriteCounter } from './pipeline-common.ts';
import { saveJobOverlaps } from './save-overlaps.ts';

const CLUSTERS = Number(process.env.BENCH_CLUSTERS ?? 10);
const SNAPSHOTS = Number(process.env.BENCH_SNAPSHOTS ?? 50);
const NS = 'etcd';

const cluster = await startLocalCluster({ name: 'bench-scale' });
const log = pipelineLogger();
try {
  await installCrds(cluster);
  const fixtures: EtcdFixture[] = [];
  // One at a time: the fixture's namespace creation is not safe to run concurrently the first time.
  fixtures.push(await deployEtcdFixture(cluster, { name: 'c0', namespace: NS, replicas: 1 }));
  fixtures.push(
    ...(await Promise.all(
      Array.from({ length: CLUSTERS - 1 }, (_, i) =>
        deployEtcdFixture(cluster, { name: `c${i + 1}`, namespace: NS, replicas: 1 }),
      ),
    )),
  );
  for (const f of fixtures) await f.waitHealthy(180_000);
  await Promise.all(fixtures.map((f) => f.loadData(2)));
  await restrictNamespace(cluster, NS);
  const env = await startDriver(cluster, { etcdNamespace: NS, log });
  const counter: WriteCounter = { writes: 0, byMethod: {} };
  const pipeline = startCountedPipeline(env, log, countingClient(env.kubeClient, counter));
  await env.factory.waitForSync(AbortSignal.timeout(60_000));
  const volumes = await Promise.all(fixtures.map((f) => createVolume(env, `${f.name}-data`, f.name, NS)));
  const csiWritesBefore = env.apiCalls.writes;

  const started = performance.now();
  const readyAt: number[] = [];
  await Promise.all(
    Array.from({ length: SNAPSHOTS }, async (_, i) => {
      const request = {
        name: `scale-${i}`,
        source_volume_id: volumes[i % CLUSTERS]!,
        parameters: { 'storage-class': 'local-path' },
      };
      for (;;) {
        try {
          const res = (await env.client.Controller.CreateSnapshot!(request)) as CreateSnapshotResponse;
          if (res.snapshot.ready_to_use) break;
        } catch (err) {
          const code = (err as { code?: number }).code;
          if (code !== 10 && code !== 14) throw err; // ABORTED / UNAVAILABLE are re-called
        }
        await new Promise((r) => setTimeout(r, 1_000));
        if (performance.now() - started > 1_800_000) throw new Error(`${request.name} not ready in 30 min`);
      }
      readyAt.push(performance.now() - started);
    }),
  );
  const csiWrites = env.apiCalls.writes - csiWritesBefore;

  const { jobs, overlaps } = await saveJobOverlaps(env.kubeClient, NS);
  readyAt.sort((a, b) => a - b);
  console.log(`\npipeline scale: ${SNAPSHOTS} snapshots over ${CLUSTERS} etcd clusters`);
  console.log(
    `  all ready in ${seconds(readyAt.at(-1)!)} s (first ${seconds(readyAt[0]!)} s, median ${seconds(readyAt[Math.floor(readyAt.length / 2)]!)} s)`,
  );
  console.log(`  save Jobs: ${jobs}; overlapping saves of one cluster: ${overlaps}`);
  console.log(
    `  API writes: CSI records ${csiWrites} + pipeline ${counter.writes} = ${csiWrites + counter.writes} → ${((csiWrites + counter.writes) / SNAPSHOTS).toFixed(2)} per snapshot`,
  );
  console.log(`  pipeline writes by kind: ${JSON.stringify(counter.byMethod)}`);
  await pipeline.stop({ deadlineMs: 5_000 });
  await env.stop();
} finally {
  await cluster.stop();
}
