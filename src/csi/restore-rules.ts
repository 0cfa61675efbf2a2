// The restore door's decisions, pure: which etcd cluster a CreateVolume-from-snapshot may restore,
// and what an EtcdRestore's status answers. restore-door.ts does the reads and the write.
//
// A restore replaces an etcd cluster's data, so the door restores only what the claim itself
// names, in the snapshot's namespace (docs/restore.md, "The CSI door"):
//   - the request names its claim (csi.storage.k8s.io/pvc/*; csi-provisioner --extra-create-metadata);
//   - the claim is in the namespace of the snapshot's cluster (an EtcdRestore lives there and reads
//     the snapshot's file from there) — Velero's data-mover "backup PVC", made from the snapshot in
//     Velero's own namespace to copy it elsewhere, is refused here and restores nothing;
//   - the claim's etcd.io/cluster annotation or label names the StatefulSet to restore (the class
//     parameter etcd-cluster-name does not: every claim of the class would then restore it).
// The named cluster need not run yet: the reconciler waits for it (spec.target.waitForTargetSeconds).
import { referenceFromAnnotations } from '../etcd/discovery.ts';
import type { PersistentVolumeClaim } from '../informers/resources.ts';
import { CONDITION_RESTORE_WAITING, type EtcdRestore } from '../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../records/etcd-snapshot.ts';
import { ERROR_CATALOG, type ErrorReason, type GrpcCodeName, isErrorReason } from './errors.ts';
import { isDnsSubdomain } from './ids.ts';
import { echo } from './limits.ts';

export interface RestoreTarget {
  namespace: string;
  /** The StatefulSet (spec.target.cluster). */
  cluster: string;
}

export type TargetDecision = RestoreTarget | { reason: 'no-target' | 'claim-not-cached'; missing: string };

export interface TargetInput {
  snapshot: EtcdSnapshot;
  snapshotId: string;
  /** csi.storage.k8s.io/pvc/namespace and pvc/name of the request, when sent. */
  claimKey: { namespace?: string | undefined; name?: string | undefined };
  /** The claim from the cache. */
  claim?: PersistentVolumeClaim;
  /** The class parameter etcd-namespace, when set. */
  etcdNamespace?: string;
}

const NOTHING = 'nothing was restored';

export function decideRestoreTarget(input: TargetInput): TargetDecision {
  const { snapshot, claimKey } = input;
  const namespace = snapshot.metadata?.namespace ?? snapshot.spec.cluster.namespace;
  const source = `snapshot ${echo(input.snapshotId)} (etcd cluster ${snapshot.spec.cluster.key})`;
  const noTarget = (missing: string): TargetDecision => ({ reason: 'no-target', missing });
  if (!claimKey.namespace || !claimKey.name) {
    return noTarget(
      `CreateVolume from ${source} names no claim (csi.storage.k8s.io/pvc/name and pvc/namespace, which csi-provisioner sends with --extra-create-metadata): a restore is made only for a claim that names its etcd cluster; ${NOTHING}`,
    );
  }
  const claimName = echo(`${claimKey.namespace}/${claimKey.name}`);
  if (claimKey.namespace !== namespace) {
    return noTarget(
      `claim ${claimName} is in namespace ${echo(claimKey.namespace)}, not ${namespace} where ${source} is: a restore runs in the snapshot's namespace, so a claim elsewhere (such as a backup tool's copy of the snapshot) names no target; ${NOTHING}`,
    );
  }
  if (input.etcdNamespace !== undefined && input.etcdNamespace !== namespace) {
    return noTarget(
      `the class parameter etcd-namespace=${echo(input.etcdNamespace)} of claim ${claimName} names another namespace than ${namespace} where ${source} is; ${NOTHING}`,
    );
  }
  if (!input.claim) return { reason: 'claim-not-cached', missing: `claim ${claimName} is not known (yet)` };
  const reference = referenceFromAnnotations(input.claim.metadata?.annotations, input.claim.metadata?.labels);
  if (!reference.name) {
    const endpointsOnly = reference.endpoints?.length
      ? ' (etcd.io/endpoints names no StatefulSet to restore)'
      : '';
    return noTarget(
      `claim ${claimName} names no etcd cluster to restore${endpointsOnly}: annotate or label it etcd.io/cluster=<StatefulSet> (the class parameter etcd-cluster-name does not name a restore target); ${NOTHING}`,
    );
  }
  if (!isDnsSubdomain(reference.name)) {
    return noTarget(
      `claim ${claimName}: etcd.io/cluster=${echo(reference.name)} is not a StatefulSet name; ${NOTHING}`,
    );
  }
  return { namespace, cluster: reference.name };
}

export type RestoreVerdict =
  | { kind: 'completed' }
  | { kind: 'in-progress' | 'ended'; reason: ErrorReason; message: string };

const MAX_DETAIL = 512;

/** The codes csi-provisioner retries as a provisioning still under way, not as a final answer. */
const IN_BACKGROUND_CODES: ReadonlySet<GrpcCodeName> = new Set([
  'ABORTED',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'CANCELLED',
]);

function bounded(text: string): string {
  return text.length > MAX_DETAIL ? `${text.slice(0, MAX_DETAIL)}…` : text;
}

/**
 * What CreateVolume answers for the restore as its status is now: Completed → the volume;
 * Failed/RolledBack → the restore's own catalogued reason (VOLUME_RESTORE_FAILED for one this
 * catalog does not know), final; anything else → ABORTED "restore in progress".
 */
export function restoreVerdict(restore: EtcdRestore): RestoreVerdict {
  const status = restore.status ?? {};
  const key = `${restore.metadata?.namespace}/${restore.metadata?.name}`;
  const phase = status.phase ?? 'Pending';
  if (phase === 'Completed') return { kind: 'completed' };
  if (phase === 'Failed' || phase === 'RolledBack') {
    // An ended restore must answer a final code: csi-provisioner takes ABORTED, UNAVAILABLE,
    // DEADLINE_EXCEEDED and CANCELLED as "still in background" (docs/csi.md) and would keep the
    // claim in progress forever. A reason with such a code answers VOLUME_RESTORE_FAILED, named.
    const known = status.reason && isErrorReason(status.reason) ? status.reason : undefined;
    const reason =
      known && !IN_BACKGROUND_CODES.has(ERROR_CATALOG[known].code) ? known : 'VOLUME_RESTORE_FAILED';
    const own = status.reason && reason !== status.reason ? `${status.reason}: ` : '';
    return {
      kind: 'ended',
      reason,
      message: bounded(
        `EtcdRestore ${key} ended ${phase}${status.failedPhase ? ` in ${status.failedPhase}` : ''}: ${own}${
          status.message ?? 'no message'
        }${phase === 'RolledBack' ? ' (the cluster runs on its previous data)' : ''}`,
      ),
    };
  }
  // The reconciler's Waiting condition (status True while the phase waits) says what for.
  const waiting = status.conditions?.find(
    (c) => c.type === CONDITION_RESTORE_WAITING && c.status === 'True' && c.message,
  )?.message;
  return {
    kind: 'in-progress',
    reason: 'VOLUME_RESTORE_IN_PROGRESS',
    message: bounded(
      `restore in progress: EtcdRestore ${key} into cluster ${restore.spec?.target?.cluster ?? '?'} is ${phase}${
        waiting ? ` (${waiting})` : ''
      }; retry`,
    ),
  };
}
