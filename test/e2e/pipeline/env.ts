// The snapshot pipeline on a real local cluster, wired as main.ts wires it: CRDs, informers over
// the real apiserver, the CSI server on a unix socket (records are made the real way, through
// CreateVolume and CreateVolumeGroupSnapshot), and the pipeline controller in-process with the
// agent Jobs running the driver image through the process kubelet.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type {
  CreateVolumeGroupSnapshotResponse,
  CreateVolumeResponse,
  VolumeGroupSnapshot,
} from '../../../src/csi/messages.ts';
import { jobs, persistentVolumeClaims, pods, statefulSets } from '../../../src/informers/resources.ts';
import type { JsonRequester } from '../../../src/kube/custom-objects.ts';
import { alwaysOwner, type Ownership } from '../../../src/leader/ownership.ts';
import type { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { createEtcdSnapshotController } from '../../../src/reconcile/etcd-snapshot/controller-factory.ts';
import type { PipelineMetrics } from '../../../src/reconcile/etcd-snapshot/metrics.ts';
import type { PipelineOptionsInput } from '../../../src/reconcile/etcd-snapshot/options.ts';
import { etcdRestoreResource } from '../../../src/records/etcd-restore.ts';
import { type EtcdSnapshot, etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import { createLogger, type Logger } from '../../../src/telemetry/logger.ts';
import type { EtcdFixture } from '../../harness/etcd-fixture.ts';
import { freePort } from '../../harness/free-port.ts';
import type { LocalCluster } from '../../harness/local-cluster.ts';
import { startProcess, waitFor } from '../../harness/process.ts';
import { tool } from '../../harness/tools.ts';
import type { DriverEnv } from '../../integration/csi/driver-env.ts';

const execFileAsync = promisify(execFile);

/** The driver image as the process kubelet maps it (kind 'driver': runs bin/etcd-snapshot-driver). */
export const AGENT_IMAGE = 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:dev';
export const EXECUTOR_SA = 'etcd-snapshot-executor';
export const MOUNT = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

export function pipelineLogger(): Logger {
  return createLogger({
    level: process.env.PIPELINE_LOG_LEVEL === 'debug' ? 'debug' : 'warn',
    format: 'json',
  });
}

/**
 * Starts the pipeline controller over the CSI env's informer factory (shared informers). Benches
 * pass their own API client (one that counts writes), longer Job limits and, for several
 * replicas in one process, each replica's bucket elector as its ownership.
 */
export function startPipeline(
  env: DriverEnv,
  log: Logger,
  overrides: {
    client?: JsonRequester;
    options?: Partial<PipelineOptionsInput>;
    turns?: ClusterTurns;
    metrics?: PipelineMetrics;
    ownership?: Ownership;
  } = {},
): Controller {
  const f = env.factory;
  const controller = createEtcdSnapshotController({
    client: overrides.client ?? env.kubeClient,
    informers: {
      etcdSnapshots: f.informerFor(etcdSnapshotResource),
      jobs: f.informerFor(jobs),
      pods: f.informerFor(pods),
      persistentVolumeClaims: f.informerFor(persistentVolumeClaims),
      statefulSets: f.informerFor(statefulSets),
      ...(env.stores.druidEtcds ? { druidEtcds: { store: env.stores.druidEtcds } } : {}),
      // With a restore controller beside it: saves wait for its restores (one operation per cluster).
      ...(overrides.turns ? { etcdRestores: f.informerFor(etcdRestoreResource) } : {}),
    },
    ...(overrides.turns ? { turns: overrides.turns } : {}),
    ...(overrides.metrics ? { metrics: overrides.metrics } : {}),
    ownership: overrides.ownership ?? alwaysOwner,
    logger: log,
    logs: env.kubeClient,
    options: {
      agentImage: AGENT_IMAGE,
      executorServiceAccount: EXECUTOR_SA,
      defaultStorageClass: 'local-path',
      jobActiveDeadlineSeconds: 120,
      jobTtlSecondsAfterFinished: 600,
      pollIntervalMs: 2_000,
      workers: 4,
      ...overrides.options,
    },
  });
  controller.start();
  return controller;
}

/** A namespace that enforces PodSecurity `restricted` (labelled after the etcd fixture's pods exist). */
export async function restrictNamespace(cluster: LocalCluster, namespace: string): Promise<void> {
  await cluster.kubectl([
    'label',
    'namespace',
    namespace,
    '--overwrite',
    'pod-security.kubernetes.io/enforce=restricted',
    'pod-security.kubernetes.io/enforce-version=latest',
  ]);
  await cluster.kubectl(['create', 'serviceaccount', EXECUTOR_SA, '-n', namespace]).catch((err: Error) => {
    if (!/AlreadyExists/.test(err.message)) throw err;
  });
}

/**
 * Waits until Probe says ready, as csi-provisioner and csi-snapshotter do before their first call:
 * until then the driver answers UNAVAILABLE NOT_READY (informers made after start, such as the
 * pipeline's, may still be listing).
 */
export async function driverReady(env: DriverEnv): Promise<void> {
  await waitFor('the driver to report ready on Probe', async () =>
    (await env.client.Identity.Probe!({})).ready?.value === true ? true : undefined,
  );
}

export async function createVolume(
  env: DriverEnv,
  name: string,
  clusterName: string,
  namespace: string,
): Promise<string> {
  await driverReady(env);
  const res = (await env.client.Controller.CreateVolume!({
    name,
    capacity_range: { required_bytes: 1 << 20 },
    volume_capabilities: [MOUNT],
    parameters: { 'etcd-cluster-name': clusterName, 'etcd-namespace': namespace },
  })) as CreateVolumeResponse;
  return res.volume.volume_id;
}

/**
 * Creates a group snapshot and re-calls Create as csi-snapshotter does until it is ready (or the
 * call fails, which is returned as the gRPC error).
 */
export async function groupSnapshotUntilDone(
  env: DriverEnv,
  name: string,
  volumeIds: string[],
  timeoutMs = 170_000,
  parameters: Record<string, string> = {},
): Promise<{ group?: VolumeGroupSnapshot; error?: { code: number; details: string } }> {
  const call = () =>
    env.client.GroupController.CreateVolumeGroupSnapshot!({
      name,
      source_volume_ids: volumeIds,
      parameters: { 'storage-class': 'local-path', ...parameters },
    }) as Promise<CreateVolumeGroupSnapshotResponse>;
  return waitFor(
    `group snapshot ${name} to be ready or failed`,
    async () => {
      try {
        const res = await call();
        return res.group_snapshot.ready_to_use ? { group: res.group_snapshot } : undefined;
      } catch (err) {
        const e = err as { code: number; details: string };
        // ABORTED / UNAVAILABLE are re-called by the sidecar; anything else is the answer.
        if (e.code === 10 || e.code === 14) return undefined;
        return { error: e };
      }
    },
    { timeoutMs, intervalMs: 1_000 },
  );
}

export async function recordsOfGroup(env: DriverEnv, groupId: string): Promise<EtcdSnapshot[]> {
  const list = await env.kubeClient.request<{ items: EtcdSnapshot[] }>(
    'GET',
    `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/etcdsnapshots?labelSelector=${encodeURIComponent(`snapshot.etcd-snapshot-driver.io/group-snapshot-id=${groupId}`)}`,
  );
  return list.items;
}

/** The host directory of a snapshot claim (the local-path provisioner's hostPath PV). */
export async function claimDir(env: DriverEnv, namespace: string, claim: string): Promise<string> {
  const pvc = await env.kubeClient.request<{ spec?: { volumeName?: string } }>(
    'GET',
    `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${claim}`,
  );
  const pv = await env.kubeClient.request<{ spec?: { hostPath?: { path?: string } } }>(
    'GET',
    `/api/v1/persistentvolumes/${pvc.spec?.volumeName}`,
  );
  const path = pv.spec?.hostPath?.path;
  if (!path) throw new Error(`claim ${namespace}/${claim} has no hostPath PV`);
  return path;
}

export async function pipelineJobs(env: DriverEnv, namespace: string): Promise<string[]> {
  const list = await env.kubeClient.request<{ items: { metadata: { name: string } }[] }>(
    'GET',
    `/apis/batch/v1/namespaces/${namespace}/jobs?labelSelector=app%3Detcd-snapshot-driver`,
  );
  return list.items.map((j) => j.metadata.name);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * Restores a snapshot file with `etcdutl snapshot restore` into a fresh data dir, starts a
 * one-member etcd on it and returns every key it serves.
 */
export async function restoredKeys(file: string, logDir: string, user?: string): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'restore-'));
  const [client, peer] = [await freePort(), await freePort()];
  const peerUrl = `http://127.0.0.1:${peer}`;
  const clientUrl = `http://127.0.0.1:${client}`;
  try {
    await execFileAsync(tool('etcdutl'), [
      'snapshot',
      'restore',
      file,
      `--data-dir=${join(dir, 'data')}`,
      '--name=restored',
      `--initial-cluster=restored=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
    ]);
    const etcd = startProcess(
      'restored-etcd',
      tool('etcd'),
      [
        '--name=restored',
        `--data-dir=${join(dir, 'data')}`,
        `--listen-client-urls=${clientUrl}`,
        `--advertise-client-urls=${clientUrl}`,
        `--listen-peer-urls=${peerUrl}`,
        `--initial-advertise-peer-urls=${peerUrl}`,
        `--initial-cluster=restored=${peerUrl}`,
      ],
      { logFile: join(logDir, `restored-etcd-${client}.log`) },
    );
    try {
      const out = await waitFor(
        'the restored etcd to serve',
        async () => {
          const { stdout } = await execFileAsync(tool('etcdctl'), [
            `--endpoints=${clientUrl}`,
            ...(user ? [`--user=${user}`] : []),
            'get',
            '',
            '--prefix',
            '--keys-only',
          ]);
          return stdout;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      return out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .sort();
    } finally {
      await etcd.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function putKeys(fixture: EtcdFixture, keys: Record<string, string>): Promise<void> {
  for (const [k, v] of Object.entries(keys)) await fixture.etcdctl(['put', k, v]);
}

export { existsSync };
