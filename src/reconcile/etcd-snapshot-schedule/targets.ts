// Which etcd clusters a schedule covers, and which source claim each run snapshots, from caches.
// A cluster is known through its source claims: Bound PVCs in the schedule's namespace whose PV
// is this driver's, naming an etcd cluster (the claim's etcd.io/cluster annotation or label, or
// the PV's etcd-cluster-name attribute — the names CreateVolume and static PVs use). A cluster
// with several source claims is snapshotted through the first by name: one object per cluster
// per run. Only clusters of the schedule's own namespace are targets.
import { referenceFromAnnotations } from '../../etcd/discovery.ts';
import type { PersistentVolume, PersistentVolumeClaim } from '../../informers/resources.ts';
import type { ReadonlyStore } from '../../informers/store-types.ts';
import type { EtcdSnapshotSchedule, LabelSelectorSpec } from '../../records/etcd-snapshot-schedule.ts';

/** The PV attribute naming the cluster (src/csi/volume-resolver.ts's CONTEXT_ETCD_CLUSTER_NAME). */
const ATTRIBUTE_CLUSTER = 'etcd-cluster-name';
const ATTRIBUTE_NAMESPACE = 'etcd-namespace';

export interface TargetStores {
  persistentVolumeClaims: ReadonlyStore<PersistentVolumeClaim>;
  persistentVolumes: ReadonlyStore<PersistentVolume>;
}

export interface ClusterTarget {
  cluster: string;
  /** The source claim the run's VolumeSnapshot names. */
  claim: string;
}

export function matchesLabelSelector(
  labels: Record<string, string> | undefined,
  selector: LabelSelectorSpec,
): boolean {
  const have = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (have[k] !== v) return false;
  for (const req of selector.matchExpressions ?? []) {
    const value = have[req.key];
    const values = req.values ?? [];
    const ok =
      req.operator === 'In'
        ? value !== undefined && values.includes(value)
        : req.operator === 'NotIn'
          ? value === undefined || !values.includes(value)
          : req.operator === 'Exists'
            ? value !== undefined
            : value === undefined;
    if (!ok) return false;
  }
  return true;
}

/** The cluster a Bound source claim of this driver names, or undefined. */
export function claimCluster(
  claim: PersistentVolumeClaim,
  stores: TargetStores,
  driverName: string,
): string | undefined {
  if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return undefined;
  const pv = stores.persistentVolumes.get(claim.spec.volumeName);
  const csi = pv?.spec?.csi;
  if (!csi || csi.driver !== driverName) return undefined;
  const namespace = claim.metadata?.namespace ?? '';
  const attributes = csi.volumeAttributes ?? {};
  if ((attributes[ATTRIBUTE_NAMESPACE] || namespace) !== namespace) return undefined;
  const fromClaim = referenceFromAnnotations(claim.metadata?.annotations, claim.metadata?.labels);
  return fromClaim.name ?? (attributes[ATTRIBUTE_CLUSTER] || undefined);
}

/** The schedule's targets now, sorted by cluster name. */
export function scheduleTargets(
  schedule: EtcdSnapshotSchedule,
  stores: TargetStores,
  driverName: string,
): ClusterTarget[] {
  const namespace = schedule.metadata?.namespace ?? '';
  const { cluster: named, selector } = schedule.spec.target ?? {};
  const byCluster = new Map<string, string>();
  for (const claim of stores.persistentVolumeClaims.list()) {
    if (claim.metadata?.namespace !== namespace) continue;
    if (selector && !matchesLabelSelector(claim.metadata?.labels, selector)) continue;
    const cluster = claimCluster(claim, stores, driverName);
    if (!cluster || (named !== undefined && cluster !== named)) continue;
    const name = claim.metadata?.name ?? '';
    const current = byCluster.get(cluster);
    if (current === undefined || name < current) byCluster.set(cluster, name);
  }
  return [...byCluster.entries()]
    .map(([cluster, claim]) => ({ cluster, claim }))
    .sort((a, b) => a.cluster.localeCompare(b.cluster));
}
