// A dynamic provisioner for local clusters, in the manner of rancher's local-path-provisioner:
// the default StorageClass `local-path` provisions each PVC as a host directory under baseDir and a
// hostPath PV pre-bound to the claim (claimRef with uid); kube-controller-manager's PV controller
// does the binding. When such a PV is Released and its reclaim policy is Delete, the directory and
// the PV go. It is a controller (admin credentials), not part of the node.
//
// It reacts to PVCs the PV controller has marked for it with
// `volume.kubernetes.io/storage-provisioner` (or the legacy beta annotation) = its name.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  CoreV1Api,
  type KubeConfig,
  StorageV1Api,
  type V1PersistentVolume,
  type V1PersistentVolumeClaim,
  type V1StorageClass,
} from '@kubernetes/client-node';
import { describeError, isConflict, isNotFound, wireForm } from './kubelet/kube-api.ts';
import { startListWatch } from './kubelet/list-watch.ts';
import { createLog, type Log } from './kubelet/log.ts';

export const LOCAL_PATH_PROVISIONER = 'etcd-snapshot-driver.test/local-path';
export const LOCAL_PATH_STORAGE_CLASS = 'local-path';

const PROVISIONED_BY = 'pv.kubernetes.io/provisioned-by';
const PROVISIONER_ANNOTATIONS = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
];

/** The default StorageClass of local clusters, for a provisioner of this name. */
export function localPathStorageClassFor(provisionerName: string): V1StorageClass {
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: {
      name: LOCAL_PATH_STORAGE_CLASS,
      annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' },
    },
    provisioner: provisionerName,
    volumeBindingMode: 'Immediate',
    reclaimPolicy: 'Delete',
  };
}

/** The default StorageClass of local clusters. */
export const localPathStorageClass: V1StorageClass = localPathStorageClassFor(LOCAL_PATH_PROVISIONER);

export interface LocalPathProvisionerOptions {
  /** Defaults to LOCAL_PATH_PROVISIONER. */
  provisionerName?: string;
  /** Where PV directories are made; one per cluster. */
  baseDir: string;
  /** The PVs are pinned to this node (nodeAffinity on kubernetes.io/hostname). */
  nodeName: string;
  /** Create the `local-path` StorageClass (default true). */
  createStorageClass?: boolean;
  log?: Log;
}

export interface LocalPathProvisioner {
  stop(): Promise<void>;
}

export async function startLocalPathProvisioner(
  kubeConfig: KubeConfig,
  options: LocalPathProvisionerOptions,
): Promise<LocalPathProvisioner> {
  const name = options.provisionerName ?? LOCAL_PATH_PROVISIONER;
  const baseDir = resolve(options.baseDir);
  const log = options.log ?? createLog('warn', { component: 'local-path-provisioner' });
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const storage = kubeConfig.makeApiClient(StorageV1Api);
  mkdirSync(baseDir, { recursive: true });

  if (options.createStorageClass ?? true) {
    try {
      await storage.createStorageClass({ body: localPathStorageClassFor(name) });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }

  // One thing at a time: provisioning and deletion are idempotent, but not concurrent-safe.
  let chain = Promise.resolve();
  let stopped = false;
  const enqueue = (what: string, job: () => Promise<void>) => {
    chain = chain.then(async () => {
      if (stopped) return;
      try {
        await job();
      } catch (err) {
        log.warn(`${what} failed`, { error: describeError(err) });
      }
    });
  };

  const reclaimPolicies = new Map<string, string>();
  const reclaimPolicyOf = async (className: string) => {
    let policy = reclaimPolicies.get(className);
    if (!policy) {
      const sc = await storage.readStorageClass({ name: className });
      policy = sc.reclaimPolicy ?? 'Delete';
      reclaimPolicies.set(className, policy);
    }
    return policy;
  };

  const provision = async (claim: V1PersistentVolumeClaim) => {
    const meta = claim.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const pvName = `pvc-${meta.uid}`;
    const className = claim.spec?.storageClassName ?? LOCAL_PATH_STORAGE_CLASS;
    const dir = join(baseDir, `${pvName}_${namespace}_${meta.name}`);
    mkdirSync(dir, { recursive: true });
    // Any container user may write, as with rancher's provisioner.
    chmodSync(dir, 0o777);
    const pv: V1PersistentVolume = {
      metadata: { name: pvName, annotations: { [PROVISIONED_BY]: name } },
      spec: {
        capacity: { storage: claim.spec?.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec?.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: await reclaimPolicyOf(className),
        storageClassName: className,
        volumeMode: claim.spec?.volumeMode ?? 'Filesystem',
        hostPath: { path: dir, type: 'DirectoryOrCreate' },
        claimRef: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace,
          name: meta.name,
          uid: meta.uid,
        },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              {
                matchExpressions: [
                  { key: 'kubernetes.io/hostname', operator: 'In', values: [options.nodeName] },
                ],
              },
            ],
          },
        },
      },
    };
    try {
      await core.createPersistentVolume({ body: pv });
      log.info('provisioned', { claim: `${namespace}/${meta.name}`, pv: pvName, dir });
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  };

  const reclaim = async (pv: V1PersistentVolume) => {
    const path = pv.spec?.hostPath?.path;
    // Only ever remove what this provisioner made.
    if (path) {
      const inside = relative(baseDir, resolve(path));
      if (inside && !inside.startsWith('..') && !inside.startsWith('/'))
        rmSync(path, { recursive: true, force: true });
    }
    try {
      await core.deletePersistentVolume({ name: pv.metadata?.name ?? '' });
      log.info('deleted released volume', { pv: pv.metadata?.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  };

  const claims = startListWatch<V1PersistentVolumeClaim>({
    kubeConfig,
    list: () => core.listPersistentVolumeClaimForAllNamespaces(),
    watchPath: '/api/v1/persistentvolumeclaims',
    onUpsert: (claim) => {
      const annotations = claim.metadata?.annotations ?? {};
      const mine = PROVISIONER_ANNOTATIONS.some((a) => annotations[a] === name);
      if (!mine || claim.spec?.volumeName || claim.metadata?.deletionTimestamp) return;
      if (claim.status?.phase && claim.status.phase !== 'Pending') return;
      if (claim.spec?.selector) {
        log.warn('claims with a selector are not provisioned', { claim: claim.metadata?.name });
        return;
      }
      enqueue('provisioning', () => provision(wireForm(claim)));
    },
    onDelete: () => undefined,
    log,
  });
  const volumes = startListWatch<V1PersistentVolume>({
    kubeConfig,
    list: () => core.listPersistentVolume(),
    watchPath: '/api/v1/persistentvolumes',
    onUpsert: (pv) => {
      if (pv.metadata?.annotations?.[PROVISIONED_BY] !== name) return;
      if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return;
      if (pv.metadata?.deletionTimestamp) return;
      enqueue('reclaiming', () => reclaim(pv));
    },
    onDelete: () => undefined,
    log,
  });
  await Promise.all([claims.synced, volumes.synced]);

  return {
    async stop() {
      stopped = true;
      claims.stop();
      volumes.stop();
      await chain;
    },
  };
}
