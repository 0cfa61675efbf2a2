// Controller overhead of a snapshot end to end: Create → ready for a BENCH_SIZE_MIB (default 1024)
// MiB etcd on the local cluster (single member, the process kubelet running the agent Job), minus
// the agent's own reported duration (durationSeconds of its result: health check, stream with
// in-stream verification, fsync, status check). What is left is the driver's part — record write,
// Discover/credentials/health/storage checks, Job creation, pod start (the process kubelet starts
// a Node process), result reading and the Ready write. Goal ≤ 5 s. Figures printed, never asserted.
//   node bench/pipeline-overhead.ts         BENCH_SIZE_MIB=256 BENCH_ROUNDS=3 node bench/pipeline-overhead.ts
import { performance } from 'node:perf_hooks';
import type { CreateVolumeGroupSnapshotResponse } from '../src/csi/messages.ts';
import { type EtcdSnapshot, etcdSnapshotResource } from '../src/records/etcd-snapshot.ts';
import { createVolume, pipelineLogger, restrictNamespace, startPipeline } from '../test/e2e/pipeline/env.ts';
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { installCrds, startDriver } from '../test/integration/csi/driver-env.ts';
import { saveResult, seconds } from './pipeline-common.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const NS = 'etcd';

const cluster = await startLocalCluster({ name: 'bench-overhead' });
const log = pipelineLogger();
try {
  await installCrds(cluster);
  const etcd = await deployEtcdFixture(cluster, {
    name: 'big',
    namespace: NS,
    replicas: 1,
    quotaBackendBytes: Math.max(2 * 1024 ** 3, SIZE_MIB * 1024 * 1024 * 2),
  });
  await etcd.waitHealthy(120_000);
  const loadStart = performance.now();
  await etcd.loadData(SIZE_MIB);
  console.log(`loaded ${SIZE_MIB} MiB into etcd in ${seconds(performance.now() - loadStart)} s`);
  await restrictNamespace(cluster, NS);
  const env = await startDriver(cluster, { etcdNamespace: NS, log });
  const pipeline = startPipeline(env, log);
  const records = env.factory.informerFor(etcdSnapshotResource);
  await env.factory.waitForSync(AbortSignal.timeout(60_000));
  const volume = await createVolume(env, 'big-data', 'big', NS);

  const rows: string[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const name = `overhead-${round}`;
    // Ready is seen the moment the informer delivers it, not at the next Create re-call.
    let readyAt = 0;
    let ready: EtcdSnapshot | undefined;
    const sub = records.events$.subscribe((e) => {
      if (
        e.type !== 'deleted' &&
        e.object.status?.phase === 'Ready' &&
        !readyAt &&
        e.object.spec.requestName === name
      ) {
        readyAt = performance.now();
        ready = e.object;
      }
    });
    const started = performance.now();
    (await env.client.GroupController.CreateVolumeGroupSnapshot!({
      name,
      source_volume_ids: [volume],
      parameters: { 'storage-class': 'local-path' },
    })) as CreateVolumeGroupSnapshotResponse;
    while (!readyAt) {
      await new Promise((r) => setTimeout(r, 50));
      if (performance.now() - started > 900_000) throw new Error(`${name} not ready in 15 min`);
    }
    sub.unsubscribe();
    const total = readyAt - started;
    const result = await saveResult(env, NS, ready!.metadata!.name!);
    const agent = (result?.durationSeconds ?? Number.NaN) * 1000;
    rows.push(
      `  round ${round}: Create → ready ${seconds(total)} s, agent ${seconds(agent)} s (${((result?.bytesPerSecond ?? 0) / 1e6).toFixed(0)} MB/s, ${((result?.sizeBytes ?? 0) / 1024 ** 2).toFixed(0)} MiB), controller overhead ${seconds(total - agent)} s`,
    );
    console.log(rows.at(-1));
  }
  console.log(
    `\npipeline overhead (${SIZE_MIB} MiB etcd, ${ROUNDS} rounds; the first includes the claim's creation):`,
  );
  for (const r of rows) console.log(r);
  await pipeline.stop({ deadlineMs: 5_000 });
  await env.stop();
} finally {
  await cluster.stop();
}
