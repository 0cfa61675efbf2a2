// Restore end to end (issue 12, item 8): a BENCH_SIZE_MIB (default 1024) MiB snapshot of a
// 3-member etcd StatefulSet (the process kubelet runs it) restored in place by an EtcdRestore,
// against `etcdutl snapshot restore` of the same file run by hand for one member with the flags
// the agent uses (bump, mark-compacted) — both in the same run. Goal: restore wall time
// ≤ 1.5 × the hand-run restore + 20 s of orchestration. Figures printed, never asserted.
//   npm run bench:restore            BENCH_SIZE_MIB=64 npm run bench:restore   (quick check)
// The etcd is filled with Kubernetes-like objects (bench/restore-data.ts). Phases are timed by
// polling the EtcdRestore's status (200 ms), the member Jobs from their agent results.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseAgentResult } from '../src/agent/contract.ts';
import { ClusterTurns } from '../src/reconcile/cluster-turns.ts';
import { DEFAULT_RESTORE_OPTIONS } from '../src/reconcile/etcd-restore/options.ts';
import {
  AGENT_IMAGE,
  claimDir,
  createVolume,
  EXECUTOR_SA,
  groupSnapshotUntilDone,
  pipelineLogger,
  recordsOfGroup,
  startPipeline,
} from '../test/e2e/pipeline/env.ts';
import {
  createRestore,
  phaseLine,
  prepareNamespace,
  startRestoreController,
} from '../test/e2e/restore/env.ts';
import { followRestore } from '../test/e2e/restore/follow-restore.ts';
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { waitFor } from '../test/harness/process.ts';
import { tool } from '../test/harness/tools.ts';
import { type DriverEnv, installCrds, startDriver } from '../test/integration/csi/driver-env.ts';
import { seconds } from './pipeline-common.ts';
import { loadKubernetesLikeData } from './restore-data.ts';

const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const NS = 'etcd';
const NAME = 'big';
const TIMEOUT_MS = 30 * 60_000;

/**
 * A Job's figures: the agent's own duration (its pod's termination message) and the Job's wall
 * time from creation to completionTime (adds the Job controller, pod start by the process kubelet,
 * the agent's process start) — what is left of a phase is the engine's own part.
 */
async function jobFigures(env: DriverEnv, job: string): Promise<string> {
  const list = await env.kubeClient.request<{
    items: { status?: { containerStatuses?: { state?: { terminated?: { message?: string } } }[] } }[];
  }>('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`);
  let agent = Number.NaN;
  for (const pod of list.items) {
    const r = parseAgentResult(pod.status?.containerStatuses?.[0]?.state?.terminated?.message);
    if (r?.durationSeconds !== undefined) agent = r.durationSeconds;
  }
  const j = await env.kubeClient.request<{
    metadata: { creationTimestamp: string };
    status?: { completionTime?: string };
  }>('GET', `/apis/batch/v1/namespaces/${NS}/jobs/${job}`);
  const wall = (Date.parse(j.status?.completionTime ?? '') - Date.parse(j.metadata.creationTimestamp)) / 1000;
  return `agent ${agent.toFixed(1)} s / Job ${wall.toFixed(0)} s`;
}

const cluster = await startLocalCluster({ name: 'bench-restore' });
const log = pipelineLogger();
const scratch = mkdtempSync(join(tmpdir(), 'bench-restore-'));
try {
  await installCrds(cluster);
  const etcd = await deployEtcdFixture(cluster, {
    name: NAME,
    namespace: NS,
    replicas: 3,
    // Each claim holds the db, the WAL, the restored copy and the kept previous data.
    storage: `${Math.max(2, Math.ceil((SIZE_MIB * 6) / 1024))}Gi`,
    quotaBackendBytes: Math.max(2 * 1024 ** 3, SIZE_MIB * 1024 * 1024 * 3),
  });
  await etcd.waitHealthy(120_000);
  const loadStart = performance.now();
  const keys = await loadKubernetesLikeData(await etcd.endpoints(), SIZE_MIB);
  console.log(
    `loaded ${SIZE_MIB} MiB of Kubernetes-like objects (${keys} keys) in ${seconds(performance.now() - loadStart)} s`,
  );

  await prepareNamespace(cluster, NS);
  const env = await startDriver(cluster, { etcdNamespace: NS, log });
  const turns = new ClusterTurns();
  const pipeline = startPipeline(env, log, {
    turns,
    options: { jobActiveDeadlineSeconds: 1800, jobTtlSecondsAfterFinished: 3600 },
  });
  const restores = startRestoreController(env, log, turns, {
    job: {
      agentImage: AGENT_IMAGE,
      executorServiceAccount: EXECUTOR_SA,
      jobActiveDeadlineSeconds: 1800,
      jobTtlSecondsAfterFinished: 3600,
      resources: { requests: {}, limits: {} },
    },
    // The driver's own poll interval (the e2e shortens it): orchestration is measured as shipped.
    pollIntervalMs: DEFAULT_RESTORE_OPTIONS.pollIntervalMs,
  });
  await waitFor('the informers to sync', async () =>
    env.factory.informers().every((i) => i.hasSynced) ? true : undefined,
  );

  const volume = await createVolume(env, `${NAME}-data`, NAME, NS);
  const snapStart = performance.now();
  const { group, error } = await groupSnapshotUntilDone(env, 'bench', [volume], TIMEOUT_MS);
  if (error) throw new Error(`snapshot failed: ${error.details}`);
  const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
  const file = join(await claimDir(env, NS, record!.spec.storage.claimName), record!.status!.backupPath!);
  console.log(
    `snapshot through the driver: ${((record!.status!.sizeBytes ?? 0) / 1024 ** 2).toFixed(0)} MiB file, ${record!.status!.totalKeys} keys, ${seconds(performance.now() - snapStart)} s`,
  );

  // (b) the EtcdRestore of the 3 members, end to end.
  const restoreStart = performance.now();
  await createRestore(env, NS, 'bench', {
    source: { etcdSnapshot: { name: record!.metadata!.name! } },
    target: { cluster: NAME },
  });
  const { restore, phases } = await followRestore(
    env,
    NS,
    'bench',
    ['Completed', 'Failed', 'RolledBack'],
    TIMEOUT_MS,
  );
  const restoreSeconds = (performance.now() - restoreStart) / 1000;
  const s = restore.status!;
  if (s.phase !== 'Completed') throw new Error(`restore ${s.phase}: ${s.reason} ${s.message}`);
  const memberJobs = await Promise.all(
    (s.members ?? []).map(async (m) => `${m.name} ${await jobFigures(env, m.job!)}`),
  );
  const verifyFigures = s.verifyJob ? await jobFigures(env, s.verifyJob) : 'none';

  // (a) by hand: one member's `etcdutl snapshot restore` of the same file with the same flags.
  const first = s.members![0]!;
  const initialCluster = s.members!.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const handStart = performance.now();
  await promisify(execFile)(tool('etcdutl'), [
    'snapshot',
    'restore',
    file,
    `--name=${first.name}`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${s.clusterToken}`,
    `--initial-advertise-peer-urls=${first.peerUrl}`,
    `--bump-revision=${s.revisionBump}`,
    '--mark-compacted',
    `--data-dir=${join(scratch, 'data')}`,
  ]);
  const handSeconds = (performance.now() - handStart) / 1000;
  rmSync(join(scratch, 'data'), { recursive: true, force: true });

  const goal = 1.5 * handSeconds + 20;
  console.log(`\nrestore (${SIZE_MIB} MiB loaded, 3 members, bump ${s.revisionBump}):`);
  console.log(`  ${phaseLine('EtcdRestore phases', phases)}`);
  console.log(`  verify Job: ${verifyFigures}`);
  console.log(`  member restore Jobs: ${memberJobs.join(', ')}`);
  console.log(
    `  restored: revision ${s.result?.revision}, ${s.result?.totalKeys} keys (snapshot ${record!.status!.totalKeys})`,
  );
  console.log(`  EtcdRestore created → Completed  ${restoreSeconds.toFixed(1)} s`);
  console.log(`  etcdutl snapshot restore by hand ${handSeconds.toFixed(1)} s (one member)`);
  console.log(
    `  ratio ${(restoreSeconds / handSeconds).toFixed(2)}×; goal 1.5 × ${handSeconds.toFixed(1)} + 20 = ${goal.toFixed(1)} s → ${restoreSeconds <= goal ? 'met' : 'NOT met'}`,
  );
  await restores.stop({ deadlineMs: 5_000 });
  await pipeline.stop({ deadlineMs: 5_000 });
  await env.stop();
} finally {
  rmSync(scratch, { recursive: true, force: true });
  await cluster.stop();
}
