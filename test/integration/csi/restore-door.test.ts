// The CSI restore door against a real apiserver: CreateVolume from a snapshot creates exactly one
// EtcdRestore (in the real CRD) however often csi-provisioner retries, answers ABORTED until its
// status says Completed — the test writes the status, standing in for the restore reconciler —
// then returns the volume with its content source; a Failed restore answers its final code; a
// data-mover-style claim in another namespace and a clone are refused with nothing created.
import { status } from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVolumeResponse } from '../../../src/csi/messages.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { EtcdRestore } from '../../../src/records/etcd-restore.ts';
import type { EtcdSourceVolume } from '../../../src/records/etcd-source-volume.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { createBoundClaim, type DriverEnv, deployEtcd, installCrds, startDriver } from './driver-env.ts';
import { fromSnapshot, RECORDS, restoresOf, setRestoreStatus, snapshotOf } from './restore-door-steps.ts';

const NS = 'etcd';

let cluster: LocalCluster;
let env: DriverEnv;
let admin: KubeClient;
let core: CoreV1Api;
let source: string;

/** A claim as a user (or Velero) makes it: Pending, of a class nobody provisions here. */
async function pendingClaim(
  namespace: string,
  name: string,
  annotations: Record<string, string> = {},
  labels: Record<string, string> = {},
) {
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name, annotations, labels },
      spec: {
        storageClassName: 'etcd-source-unprovisioned',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Mi' } },
      },
    },
  });
  await waitFor(`claim ${namespace}/${name} in the cache`, () =>
    env.stores.persistentVolumeClaims.get(`${namespace}/${name}`) ? true : undefined,
  );
  return { namespace, name };
}

async function grpcError(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the call to fail');
}

const allRestores = async () =>
  (await admin.request<{ items: EtcdRestore[] }>('GET', `${RECORDS}/etcdrestores`)).items;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'csi-restore' });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  admin = new KubeClient(cluster.kubeConfig);
  await installCrds(cluster);
  await deployEtcd(cluster, { replicas: 1 });
  env = await startDriver(cluster, { etcdNamespace: NS });
  source = await createBoundClaim(core, {
    namespace: NS,
    name: 'data-main',
    annotations: { 'etcd.io/cluster': 'main' },
  });
  await waitFor('the source claim Bound in the cache', () =>
    env.stores.persistentVolumeClaims.get(source)?.status?.phase === 'Bound' ? true : undefined,
  );
});

afterAll(async () => {
  await env?.stop();
  admin?.destroy();
  await cluster?.stop();
});

describe('CreateVolume from a snapshot', () => {
  it('creates exactly one EtcdRestore across retries, answers ABORTED until it is Completed, then the volume', async () => {
    const snapshotId = await snapshotOf(env, admin, 'snapcontent-door-1', source, true);
    const claim = await pendingClaim(NS, 'restored-1', { 'etcd.io/cluster': 'main' });
    const request = fromSnapshot('pvc-door-1', snapshotId, claim);

    for (let i = 0; i < 3; i++) {
      const err = await grpcError(env.client.Controller.CreateVolume!(request));
      expect(err.code, err.details).toBe(status.ABORTED);
      expect(err.details).toMatch(
        /^VOLUME_RESTORE_IN_PROGRESS: restore in progress: EtcdRestore etcd\/restore-/,
      );
    }
    const made = await restoresOf(admin, NS, 'pvc-door-1');
    expect(made).toHaveLength(1);
    const [record] = env.stores.etcdSnapshots.byIndex('snapshot-id', snapshotId);
    expect(made[0]!.spec).toEqual({
      source: { etcdSnapshot: { name: record!.metadata!.name } },
      target: { cluster: 'main' },
    });

    await setRestoreStatus(env, admin, made[0]!, { phase: 'Restoring' });
    expect((await grpcError(env.client.Controller.CreateVolume!(request))).details).toContain('is Restoring');

    await setRestoreStatus(env, admin, made[0]!, { phase: 'Completed' });
    const { volume } = (await env.client.Controller.CreateVolume!(request)) as CreateVolumeResponse;
    expect(volume).toMatchObject({
      volume_id: 'etcd/restored-1',
      volume_context: { 'etcd-namespace': NS, 'etcd-cluster-name': 'main' },
      content_source: { snapshot: { snapshot_id: snapshotId } },
    });
    const kept = await admin.request<EtcdSourceVolume>(
      'GET',
      `${RECORDS}/namespaces/${NS}/etcdsourcevolumes/restored-1`,
    );
    expect(kept.spec.contentSource).toEqual({ snapshotId, restore: made[0]!.metadata!.name });

    // csi-provisioner may call once more: the same volume, still one restore.
    expect(((await env.client.Controller.CreateVolume!(request)) as CreateVolumeResponse).volume).toEqual(
      volume,
    );
    expect(await restoresOf(admin, NS, 'pvc-door-1')).toHaveLength(1);
  });

  it('answers the final code of a Failed restore, on every retry, without a second restore', async () => {
    const snapshotId = await snapshotOf(env, admin, 'snapcontent-door-2', source, true);
    const claim = await pendingClaim(NS, 'restored-2', { 'etcd.io/cluster': 'main' });
    const request = fromSnapshot('pvc-door-2', snapshotId, claim);
    expect((await grpcError(env.client.Controller.CreateVolume!(request))).code).toBe(status.ABORTED);
    const [restore] = await restoresOf(admin, NS, 'pvc-door-2');
    await setRestoreStatus(env, admin, restore!, {
      phase: 'Failed',
      failedPhase: 'VerifyingFile',
      reason: 'CHECKSUM_MISMATCH',
      message: 'the file does not match its record',
    });
    for (let i = 0; i < 2; i++) {
      const err = await grpcError(env.client.Controller.CreateVolume!(request));
      expect(err.code, err.details).toBe(status.INTERNAL);
      expect(err.details).toMatch(
        /^CHECKSUM_MISMATCH: EtcdRestore etcd\/restore-\S+ ended Failed in VerifyingFile/,
      );
    }
    expect(await restoresOf(admin, NS, 'pvc-door-2')).toHaveLength(1);
    expect(env.stores.etcdSourceVolumes.get(`${NS}/restored-2`)).toBeUndefined();
  });

  it('the member claims one Velero restore makes of one cluster share one EtcdRestore and both bind after it', async () => {
    const snapshotId = await snapshotOf(env, admin, 'snapcontent-door-group', source, true);
    const velero = { 'velero.io/restore-name': 'nightly-restore-1' };
    const a = await pendingClaim(NS, 'member-a', { 'etcd.io/cluster': 'main' }, velero);
    const b = await pendingClaim(NS, 'member-b', { 'etcd.io/cluster': 'main' }, velero);
    const before = (await allRestores()).length;
    for (const [volume, claim] of [
      ['pvc-member-a', a],
      ['pvc-member-b', b],
    ] as const) {
      const err = await grpcError(
        env.client.Controller.CreateVolume!(fromSnapshot(volume, snapshotId, claim)),
      );
      expect(err.code, err.details).toBe(status.ABORTED);
    }
    const all = await allRestores();
    expect(all).toHaveLength(before + 1);
    const [shared] = await restoresOf(admin, NS, 'pvc-member-a');
    expect(shared).toBeDefined();
    await setRestoreStatus(env, admin, shared!, { phase: 'Completed' });
    for (const [volume, claim] of [
      ['pvc-member-a', a],
      ['pvc-member-b', b],
    ] as const) {
      const { volume: made } = (await env.client.Controller.CreateVolume!(
        fromSnapshot(volume, snapshotId, claim),
      )) as CreateVolumeResponse;
      expect(made.volume_id).toBe(`${NS}/${claim.name}`);
    }
  });

  it('refuses a data-mover-style claim in another namespace, and a clone, creating nothing', async () => {
    const snapshotId = await snapshotOf(env, admin, 'snapcontent-door-3', source, true);
    await core.createNamespace({ body: { metadata: { name: 'velero' } } });
    // Velero's data mover makes its "backup PVC" from the snapshot in its own namespace.
    const backup = await pendingClaim('velero', 'backup-pvc');
    const before = (await allRestores()).length;

    const moved = await grpcError(
      env.client.Controller.CreateVolume!(fromSnapshot('pvc-door-3', snapshotId, backup)),
    );
    expect(moved.code, moved.details).toBe(status.FAILED_PRECONDITION);
    expect(moved.details).toMatch(
      /^RESTORE_TARGET_UNKNOWN: claim "velero\/backup-pvc" is in namespace "velero"/,
    );
    expect(moved.details).toContain('nothing was restored');

    const clone = await grpcError(
      env.client.Controller.CreateVolume!({
        ...fromSnapshot('pvc-door-4', snapshotId, { namespace: NS, name: 'restored-1' }),
        volume_content_source: { volume: { volume_id: source } },
      }),
    );
    expect(clone.code, clone.details).toBe(status.INVALID_ARGUMENT);
    expect(clone.details).toMatch(/^VOLUME_CONTENT_SOURCE_UNSUPPORTED: .*cloning a volume is not supported/);

    expect(await allRestores()).toHaveLength(before);
    expect(env.stores.etcdSourceVolumes.get('velero/backup-pvc')).toBeUndefined();
  });
});
