// The restore engine on the local cluster, beside the snapshot pipeline: both controllers
// in-process over the CSI env's shared informers, one ClusterTurns between them as the driver
// wires them (src/app/default-controllers.ts), the agent Jobs running the driver image through
// the process kubelet.
import { jobs, persistentVolumeClaims, pods, statefulSets } from '../../../src/informers/resources.ts';
import { alwaysOwner } from '../../../src/leader/ownership.ts';
import type { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { createEtcdRestoreController } from '../../../src/reconcile/etcd-restore/controller-factory.ts';
import type { RestoreOptionsInput } from '../../../src/reconcile/etcd-restore/options.ts';
import type { LiveClusterProbe } from '../../../src/reconcile/etcd-restore/ports.ts';
import {
  type EtcdRestore,
  type EtcdRestoreSpec,
  etcdRestoreResource,
} from '../../../src/records/etcd-restore.ts';
import { etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import type { Logger } from '../../../src/telemetry/logger.ts';
import type { EtcdFixture } from '../../harness/etcd-fixture.ts';
import type { LocalCluster } from '../../harness/local-cluster.ts';
import type { DriverEnv } from '../../integration/csi/driver-env.ts';
import { AGENT_IMAGE, EXECUTOR_SA } from '../pipeline/env.ts';

const RESTORES = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces';

export function startRestoreController(
  env: DriverEnv,
  log: Logger,
  turns: ClusterTurns,
  options: Partial<RestoreOptionsInput> = {},
  probe?: LiveClusterProbe,
): Controller {
  const f = env.factory;
  const controller = createEtcdRestoreController({
    client: env.kubeClient,
    informers: {
      etcdRestores: f.informerFor(etcdRestoreResource),
      etcdSnapshots: f.informerFor(etcdSnapshotResource),
      jobs: f.informerFor(jobs),
      pods: f.informerFor(pods),
      persistentVolumeClaims: f.informerFor(persistentVolumeClaims),
      statefulSets: f.informerFor(statefulSets),
    },
    ownership: alwaysOwner,
    logger: log,
    logs: env.kubeClient,
    turns,
    ...(probe ? { probe } : {}),
    options: {
      job: {
        agentImage: AGENT_IMAGE,
        executorServiceAccount: EXECUTOR_SA,
        jobActiveDeadlineSeconds: 300,
        jobTtlSecondsAfterFinished: 600,
        resources: { requests: {}, limits: {} },
      },
      pollIntervalMs: 1_000,
      ...options,
    },
  });
  controller.start();
  return controller;
}

export async function createRestore(
  env: DriverEnv,
  namespace: string,
  name: string,
  spec: EtcdRestoreSpec,
): Promise<EtcdRestore> {
  return env.kubeClient.request<EtcdRestore>('POST', `${RESTORES}/${namespace}/etcdrestores`, {
    body: {
      apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
      kind: 'EtcdRestore',
      metadata: { name, namespace },
      spec,
    },
  });
}

export async function getRestore(env: DriverEnv, namespace: string, name: string): Promise<EtcdRestore> {
  return env.kubeClient.request<EtcdRestore>('GET', `${RESTORES}/${namespace}/etcdrestores/${name}`);
}

export function phaseLine(label: string, phases: { phase: string; seconds: number }[]): string {
  const total = phases.reduce((n, p) => n + p.seconds, 0);
  return `${label}: ${phases.map((p) => `${p.phase} ${p.seconds.toFixed(1)} s`).join(', ')} — total ${total.toFixed(1)} s`;
}

/**
 * The executor account in the etcd namespace, and PodSecurity `restricted` as a warning only: a
 * restore restarts the etcd fixture's own pods, which do not pass `restricted` (the Jobs do:
 * their template is the one agent Job template, checked in test/unit/reconcile/jobs).
 */
export async function prepareNamespace(cluster: LocalCluster, namespace: string): Promise<void> {
  await cluster.kubectl([
    'label',
    'namespace',
    namespace,
    '--overwrite',
    'pod-security.kubernetes.io/warn=restricted',
  ]);
  await cluster.kubectl(['create', 'serviceaccount', EXECUTOR_SA, '-n', namespace]).catch((err: Error) => {
    if (!/AlreadyExists/.test(err.message)) throw err;
  });
}

/** Every key under `prefix` with its value, as etcdctl reads them from the fixture. */
export async function keysWithValues(fixture: EtcdFixture, prefix: string): Promise<Record<string, string>> {
  const out = await fixture.etcdctl(['get', prefix, '--prefix']);
  const lines = out.split('\n').filter((l) => l !== '');
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) result[lines[i]!] = lines[i + 1]!;
  return result;
}
