// Many etcd clusters on one replica (issue 16, item 4): small single-member etcd processes
// (bench/etcd-fleet.ts) named by their source claims' etcd.io/endpoints annotation, snapshots
// requested in waves — one per cluster per wave, all at once, re-called every second as
// csi-snapshotter does — with the CSI server and the pipeline in-process on the local cluster
// (test/e2e/pipeline/env.ts), save Jobs run by the process kubelet. The fleet grows in steps
// (BENCH_CLUSTER_STEPS, default 10,50,100,200) and each step runs BENCH_WAVES waves (default 5:
// 1 000 snapshots at 200). The CSI calls come from a child process (bench/csi-caller.ts), as
// csi-snapshotter's come from another container. Per step it prints: wall time, the process's
// CPU per snapshot (the CSI server, informers and pipeline; with BENCH_CALLER=inline also the
// calls), API writes per snapshot (goal ≤ 5), p99 of the Create re-calls against p99 of a Probe
// sent every 100 ms meanwhile (goal ≤ 2×), the process's RSS and the fleet's. At the end: every
// snapshot ready, one save Job each, no two saves of a cluster overlapping. Figures printed,
// never asserted.
// BENCH_REPLICAS=3 runs three pipelines on bucket Leases and prints the save Jobs by replica.
//   node bench/many-clusters.ts     BENCH_CLUSTER_STEPS=2,4 BENCH_WAVES=1 node bench/many-clusters.ts
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import type { JsonRequester } from '../src/kube/custom-objects.ts';
import { BucketElector, DEFAULT_BUCKETS } from '../src/leader/bucket-elector.ts';
import { kubeLeaseApi } from '../src/leader/lease-api.ts';
import { pipelineLogger, restrictNamespace } from '../test/e2e/pipeline/env.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import {
  type ClaimApi,
  createBoundClaim,
  installCrds,
  startDriver,
} from '../test/integration/csi/driver-env.ts';
import { callInChild, runCallerStep } from './csi-caller.ts';
import { type EtcdFleet, startEtcdFleet } from './etcd-fleet.ts';
import { countingClient, startCountedPipeline, type WriteCounter } from './pipeline-common.ts';
import { saveJobOverlaps } from './save-overlaps.ts';

const STEPS = (process.env.BENCH_CLUSTER_STEPS ?? '10,50,100,200').split(',').map(Number);
const WAVES = Number(process.env.BENCH_WAVES ?? 5);
// BENCH_REPLICAS=3: three pipelines in this process, each owning the clusters of the bucket
// Leases its elector holds (B = 6, default timings), as three driver replicas would.
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 1);
const NS = 'etcd';
// The CSI calls run in a child process, as csi-snapshotter runs in another container
// (bench/csi-caller.ts); BENCH_CALLER=inline runs them in this process, as before.
const INLINE_CALLER = process.env.BENCH_CALLER === 'inline';

const p99 = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN;
};
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const COLUMNS = [
  'clusters',
  'snapshots',
  'wall s',
  'CPU ms/snapshot',
  'writes/snapshot',
  'p99 re-call ms',
  'p99 Probe ms',
  'ratio',
  'RSS MB',
  'etcd RSS MB',
  'load',
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** With REPLICAS > 1, one bucket elector per replica, settled: every bucket held, shares within one. */
async function startElectors(client: JsonRequester): Promise<BucketElector[]> {
  if (REPLICAS <= 1) return [];
  const electors = Array.from(
    { length: REPLICAS },
    (_, i) =>
      new BucketElector({
        api: kubeLeaseApi(client, NS),
        name: 'bench',
        identity: `replica-${i}`,
        logger: pino({ level: 'silent' }),
      }),
  );
  for (const e of electors) e.start();
  const held = () => electors.map((e) => e.heldBuckets().length);
  await until(
    () => {
      const h = held();
      return h.reduce((a, b) => a + b, 0) === DEFAULT_BUCKETS && Math.max(...h) - Math.min(...h) <= 1;
    },
    'the bucket electors to settle (every bucket held, shares within one)',
    () => `buckets held by replica: ${held().join(' / ')}`,
  );
  return electors;
}

/**
 * Polls `done` until it holds, printing `state()` every 30 s and failing after 10 min: a run that
 * cannot get going says where it stands instead of hanging silently.
 */
async function until(done: () => boolean, what: string, state: () => string): Promise<void> {
  const started = performance.now();
  let reported = started;
  while (!done()) {
    const now = performance.now();
    if (now - started > 600_000) throw new Error(`gave up after 10 min waiting for ${what}: ${state()}`);
    if (now - reported > 30_000) {
      console.log(`  … waiting ${((now - started) / 1000).toFixed(0)} s for ${what}: ${state()}`);
      reported = now;
    }
    await sleep(200);
  }
}

const cluster = await startLocalCluster({ name: 'bench-many' });
const fleet: EtcdFleet = startEtcdFleet('c');
const log = pipelineLogger();
try {
  await installCrds(cluster);
  await cluster.kubectl(['create', 'namespace', NS]);
  await restrictNamespace(cluster, NS);
  const env = await startDriver(cluster, { etcdNamespace: NS, log });
  const counters: WriteCounter[] = Array.from({ length: REPLICAS }, () => ({ writes: 0, byMethod: {} }));
  const electors = await startElectors(env.kubeClient);
  const pipelines = counters.map((c, i) =>
    startCountedPipeline(env, log, countingClient(env.kubeClient, c), electors[i]),
  );
  const pipelineWrites = () => counters.reduce((sum, c) => sum + c.writes, 0);
  const jobsByReplica = () => counters.map((c) => c.byMethod['POST jobs'] ?? 0);
  await env.factory.waitForSync(AbortSignal.timeout(60_000));
  const claimApi: ClaimApi = {
    createPersistentVolume: ({ body }) =>
      env.kubeClient.request('POST', '/api/v1/persistentvolumes', { body }),
    createNamespacedPersistentVolumeClaim: ({ namespace, body }) =>
      env.kubeClient.request('POST', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, { body }),
  };
  const volumes: string[] = [];
  let requested = 0;
  const failed = new Map<string, number>();
  console.log(
    `\nmany clusters: steps ${STEPS.join(', ')}, ${WAVES} waves each, one snapshot per cluster per wave`,
  );
  console.log(`  ${COLUMNS.join('  ')}`);

  for (const step of STEPS) {
    await fleet.grow(step);
    // Source claims for the new clusters, bound to static PVs of the driver (as a user makes
    // them), their annotations naming the member.
    const added = fleet.members.slice(volumes.length);
    for (const m of added) {
      const annotations = { 'etcd.io/cluster': m.name, 'etcd.io/endpoints': m.endpoint };
      volumes.push(await createBoundClaim(claimApi, { namespace: NS, name: m.name, annotations }));
    }
    const unbound = () =>
      added.filter(
        (m) => env.stores.persistentVolumeClaims.get(`${NS}/${m.name}`)?.status?.phase !== 'Bound',
      );
    await until(
      () => unbound().length === 0,
      `the ${added.length} new source claims to be Bound`,
      () => `${unbound().length} not Bound yet (first: ${unbound()[0]?.name})`,
    );

    const failedBefore = [...failed.values()].reduce((a, b) => a + b, 0);
    const writesBefore = env.apiCalls.writes + pipelineWrites();
    const jobsBefore = jobsByReplica();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const callerStep = { endpoint: env.endpoint, volumes, waves: WAVES, firstRequest: requested };
    const calls = INLINE_CALLER ? await runCallerStep(env.client, callerStep) : await callInChild(callerStep);
    requested += calls.requested;
    for (const [reason, n] of Object.entries(calls.failed)) failed.set(reason, (failed.get(reason) ?? 0) + n);
    const { recalls, probes } = calls;
    const wall = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const snapshots = volumes.length * WAVES;
    const writes = env.apiCalls.writes + pipelineWrites() - writesBefore;
    const ratio = p99(recalls) / p99(probes);
    const row = [
      step,
      snapshots,
      wall.toFixed(1),
      ((cpu.user + cpu.system) / 1000 / snapshots).toFixed(1),
      (writes / snapshots).toFixed(2),
      p99(recalls).toFixed(1),
      p99(probes).toFixed(1),
      ratio.toFixed(2),
      mb(process.memoryUsage().rss),
      mb(await fleet.rssBytes()),
      loadavg()[0]!.toFixed(1),
    ];
    console.log(`  ${row.map((v, i) => String(v).padStart(COLUMNS[i]!.length)).join('  ')}`);
    const failedNow = [...failed.values()].reduce((a, b) => a + b, 0) - failedBefore;
    if (failedNow > 0) console.log(`            failed in this step: ${failedNow} of ${snapshots}`);
    if (REPLICAS > 1) {
      const jobs = jobsByReplica().map((n, i) => n - jobsBefore[i]!);
      const even = jobs.reduce((a, b) => a + b, 0) / REPLICAS;
      const spread = Math.max(...jobs.map((n) => Math.abs(n - even))) / even;
      console.log(
        `            save Jobs by replica ${jobs.join(' / ')} (buckets ${electors.map((e) => e.heldBuckets().length).join(' / ')}): ${(100 * spread).toFixed(0)} % from even at most`,
      );
    }
  }

  const check = await saveJobOverlaps(env.kubeClient, NS);
  const failures = [...failed.values()].reduce((a, b) => a + b, 0);
  console.log(
    `  ${failures === 0 ? 'all ' : ''}${requested - failures} of ${requested} snapshots ready; save Jobs ${check.jobs} (one per ready snapshot: ${check.jobs === requested - failures}); overlapping saves of one cluster: ${check.overlaps}`,
  );
  if (failures > 0)
    console.log(`  failed snapshots by reason: ${JSON.stringify(Object.fromEntries(failed))}`);
  console.log(`  pipeline writes by kind: ${counters.map((c) => JSON.stringify(c.byMethod)).join(' ')}`);
  await Promise.all(pipelines.map((p) => p.stop({ deadlineMs: 5_000 })));
  await Promise.all(electors.map((e) => e.stop()));
  await env.stop();
} finally {
  await fleet.stop();
  await cluster.stop();
}
