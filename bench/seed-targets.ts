// The seed's single-snapshot targets (driver-specification.md, "Performance and Scalability
// Testing"), measured in one run on the local cluster: a single-member etcd loaded with
// BENCH_SIZE_MIB MiB (default 1024), one snapshot through CreateSnapshot (re-called every second
// as csi-snapshotter does) and its DeleteSnapshot, with the CSI server and the pipeline in-process
// (test/e2e/pipeline/env.ts). Prints, against the seed's target:
//   - creation: CreateSnapshot → ready (seed < 5 min for 1 GB);
//   - size overhead: the snapshot file / etcd's dbSize just before (seed < 110 %);
//   - deletion: DeleteSnapshot → the record gone (its delete Job removed the file; seed < 2 min);
//   - the in-process driver's CPU and RSS over the run, and the save Job's agent duration.
// Concurrent snapshots (5, 10, 20) are bench/many-clusters.ts's steps. Figures printed, never asserted.
//   node bench/seed-targets.ts      BENCH_SIZE_MIB=4 node bench/seed-targets.ts
import { performance } from 'node:perf_hooks';
import type { CreateSnapshotResponse } from '../src/csi/messages.ts';
import { etcdSnapshotResource } from '../src/records/etcd-snapshot.ts';
import { createVolume, pipelineLogger, restrictNamespace, startPipeline } from '../test/e2e/pipeline/env.ts';
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { installCrds, startDriver } from '../test/integration/csi/driver-env.ts';
import { saveResult, seconds } from './pipeline-common.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const NS = 'etcd';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 1024 ** 2).toFixed(0);

const cluster = await startLocalCluster({ name: 'bench-seed' });
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
  await etcd.loadData(SIZE_MIB);
  const status = JSON.parse(await etcd.etcdctl(['endpoint', 'status', '-w', 'json'])) as {
    Status: { dbSize: number };
  }[];
  const dbSize = status[0]!.Status.dbSize;
  await restrictNamespace(cluster, NS);
  const env = await startDriver(cluster, { etcdNamespace: NS, log });
  const pipeline = startPipeline(env, log, {
    options: { jobActiveDeadlineSeconds: 900, jobTtlSecondsAfterFinished: 3600 },
  });
  const records = env.factory.informerFor(etcdSnapshotResource);
  await env.factory.waitForSync(AbortSignal.timeout(60_000));
  const volume = await createVolume(env, 'big-data', 'big', NS);

  const cpuBefore = process.cpuUsage();
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 200);
  const request = { name: 'seed-1', source_volume_id: volume, parameters: { 'storage-class': 'local-path' } };
  const created = performance.now();
  let snapshotId = '';
  for (;;) {
    const res = (await env.client.Controller.CreateSnapshot!(request)) as CreateSnapshotResponse;
    snapshotId = res.snapshot.snapshot_id;
    if (res.snapshot.ready_to_use) break;
    await sleep(1_000);
    if (performance.now() - created > 900_000) throw new Error('not ready in 15 min');
  }
  const creation = performance.now() - created;
  const record = [...records.store.list()].find((r) => r.spec.requestName === request.name)!;
  const result = await saveResult(env, NS, record.metadata!.name!);
  const fileSize = result?.sizeBytes ?? Number.NaN;

  const deleting = performance.now();
  let gone = false;
  const sub = records.events$.subscribe((e) => {
    if (e.type === 'deleted' && e.object.metadata?.name === record.metadata!.name) gone = true;
  });
  await env.client.Controller.DeleteSnapshot!({ snapshot_id: snapshotId });
  while (!gone) {
    await sleep(50);
    if (performance.now() - deleting > 600_000) throw new Error('record not gone in 10 min');
  }
  sub.unsubscribe();
  const deletion = performance.now() - deleting;
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuBefore);

  console.log(`\nseed targets (${SIZE_MIB} MiB loaded, single-member etcd, one snapshot)`);
  console.log(
    `  creation      CreateSnapshot → ready ${seconds(creation)} s (agent ${result?.durationSeconds?.toFixed(2)} s)   seed < 300 s   ratio ${(creation / 300_000).toFixed(3)}`,
  );
  console.log(
    `  size          file ${mib(fileSize)} MiB / etcd dbSize ${mib(dbSize)} MiB = ${((100 * fileSize) / dbSize).toFixed(1)} %   seed < 110 %   ratio ${(fileSize / dbSize / 1.1).toFixed(3)}`,
  );
  console.log(
    `  deletion      DeleteSnapshot → record gone ${seconds(deletion)} s   seed < 120 s   ratio ${(deletion / 120_000).toFixed(3)}`,
  );
  console.log(
    `  driver        CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s over ${seconds(creation + deletion)} s, peak RSS ${(peakRss / 1e6).toFixed(1)} MB (in-process: CSI server, informers, pipeline)`,
  );
  await pipeline.stop({ deadlineMs: 5_000 });
  await env.stop();
} finally {
  await cluster.stop();
}
