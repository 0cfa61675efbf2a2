// What the driver's ServiceAccount (the driver and its two sidecars share it) must be able to do,
// and what it must not — the statement docs/rbac.md explains, checked two ways: the rendered
// ClusterRoles grant exactly NEEDED_CLUSTER_GRANTS (manifests.test.ts), and the real apiserver's
// authorizer answers every check as expected (rbac.test.ts).
import type { AccessCheck } from './access-review.ts';

export type Needer = 'driver' | 'csi-snapshotter' | 'csi-provisioner';

export interface NeededGrant {
  group: string;
  resource: string;
  verbs: string[];
  who: Needer[];
}

const RECORDS = 'snapshot.etcd-snapshot-driver.io';
const SNAPSHOT = 'snapshot.storage.k8s.io';
const GROUP_SNAPSHOT = 'groupsnapshot.storage.k8s.io';

/** Cluster-wide grants, by (group, resource): the union of the three ClusterRoles. */
export const NEEDED_CLUSTER_GRANTS: NeededGrant[] = [
  {
    group: RECORDS,
    resource: 'etcdsnapshots',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    who: ['driver'],
  },
  { group: RECORDS, resource: 'etcdsnapshotnames', verbs: ['get', 'create', 'delete'], who: ['driver'] },
  { group: RECORDS, resource: 'etcdsnapshots/status', verbs: ['get', 'update', 'patch'], who: ['driver'] },
  {
    group: RECORDS,
    resource: 'etcdsnapshots/finalizers',
    verbs: ['update'],
    who: ['driver'],
  },
  {
    group: RECORDS,
    resource: 'etcdsourcevolumes',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    who: ['driver'],
  },
  {
    group: '',
    resource: 'persistentvolumeclaims',
    verbs: ['get', 'list', 'watch', 'create'],
    who: ['driver'],
  },
  {
    group: '',
    resource: 'persistentvolumeclaims',
    verbs: ['get', 'list', 'watch', 'update'],
    who: ['csi-provisioner'],
  },
  { group: '', resource: 'persistentvolumes', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  {
    group: '',
    resource: 'persistentvolumes',
    verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'],
    who: ['csi-provisioner'],
  },
  { group: '', resource: 'pods', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  { group: '', resource: 'pods/log', verbs: ['get'], who: ['driver'] },
  { group: 'apps', resource: 'statefulsets', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  { group: 'batch', resource: 'jobs', verbs: ['get', 'list', 'watch', 'create', 'delete'], who: ['driver'] },
  { group: '', resource: 'secrets', verbs: ['get'], who: ['driver'] },
  { group: SNAPSHOT, resource: 'volumesnapshotcontents', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  {
    group: SNAPSHOT,
    resource: 'volumesnapshotcontents',
    verbs: ['get', 'list', 'watch', 'update', 'patch'],
    who: ['csi-snapshotter'],
  },
  { group: SNAPSHOT, resource: 'volumesnapshotcontents', verbs: ['get', 'list'], who: ['csi-provisioner'] },
  {
    group: SNAPSHOT,
    resource: 'volumesnapshotcontents/status',
    verbs: ['update', 'patch'],
    who: ['csi-snapshotter'],
  },
  {
    group: SNAPSHOT,
    resource: 'volumesnapshotclasses',
    verbs: ['get', 'list', 'watch'],
    who: ['csi-snapshotter'],
  },
  {
    group: SNAPSHOT,
    resource: 'volumesnapshots',
    verbs: ['get', 'list', 'watch', 'update'],
    who: ['csi-provisioner'],
  },
  {
    group: GROUP_SNAPSHOT,
    resource: 'volumegroupsnapshotcontents',
    verbs: ['get', 'list', 'watch'],
    who: ['driver'],
  },
  {
    group: GROUP_SNAPSHOT,
    resource: 'volumegroupsnapshotcontents',
    verbs: ['get', 'list', 'watch', 'update', 'patch'],
    who: ['csi-snapshotter'],
  },
  {
    group: GROUP_SNAPSHOT,
    resource: 'volumegroupsnapshotcontents/status',
    verbs: ['update', 'patch'],
    who: ['csi-snapshotter'],
  },
  {
    group: GROUP_SNAPSHOT,
    resource: 'volumegroupsnapshotclasses',
    verbs: ['get', 'list', 'watch'],
    who: ['csi-snapshotter'],
  },
  {
    group: 'storage.k8s.io',
    resource: 'storageclasses',
    verbs: ['get', 'list', 'watch'],
    who: ['csi-provisioner'],
  },
  { group: '', resource: 'events', verbs: ['create', 'patch'], who: ['driver'] },
  {
    group: '',
    resource: 'events',
    verbs: ['list', 'watch', 'create', 'update', 'patch'],
    who: ['csi-snapshotter', 'csi-provisioner'],
  },
  { group: 'druid.gardener.cloud', resource: 'etcds', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  {
    group: RECORDS,
    resource: 'etcdrestores',
    // patch: the door's per-volume finalizers, and Velero's exclude label on a user's restore.
    verbs: ['get', 'list', 'watch', 'create', 'delete', 'patch'],
    who: ['driver'],
  },
  { group: RECORDS, resource: 'etcdrestores/status', verbs: ['get', 'update', 'patch'], who: ['driver'] },
  { group: RECORDS, resource: 'etcdrestores/finalizers', verbs: ['update'], who: ['driver'] },
  { group: 'apps', resource: 'statefulsets/scale', verbs: ['get', 'patch'], who: ['driver'] },
  // A restore's restartPods (docs/rbac.md says why this one is granted).
  { group: '', resource: 'pods', verbs: ['delete'], who: ['driver'] },
  // Schedules (docs/schedules.md).
  { group: RECORDS, resource: 'etcdsnapshotschedules', verbs: ['get', 'list', 'watch'], who: ['driver'] },
  { group: RECORDS, resource: 'etcdsnapshotschedules/status', verbs: ['get', 'patch'], who: ['driver'] },
  {
    group: SNAPSHOT,
    resource: 'volumesnapshots',
    verbs: ['get', 'list', 'watch', 'create', 'delete'],
    who: ['driver'],
  },
  {
    group: GROUP_SNAPSHOT,
    resource: 'volumegroupsnapshots',
    verbs: ['get', 'list', 'watch', 'create', 'delete'],
    who: ['driver'],
  },
  { group: SNAPSHOT, resource: 'volumesnapshotclasses', verbs: ['get'], who: ['driver'] },
  { group: GROUP_SNAPSHOT, resource: 'volumegroupsnapshotclasses', verbs: ['get'], who: ['driver'] },
];

/** Granted only in the driver's own namespace (role-leases.yaml): bucket and leader Leases. */
export const NEEDED_NAMESPACE_GRANTS: NeededGrant[] = [
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
    who: ['driver', 'csi-snapshotter', 'csi-provisioner'],
  },
];

/** The set of "verb resource.group" a table grants. */
export function grantSet(table: readonly NeededGrant[]): Set<string> {
  const set = new Set<string>();
  for (const g of table)
    for (const verb of g.verbs) set.add(`${verb} ${g.resource}${g.group === '' ? '' : `.${g.group}`}`);
  return set;
}

/** A check per needed grant: cluster-wide ones in an etcd namespace and across all namespaces. */
export function neededChecks(driverNamespace: string, etcdNamespace: string): AccessCheck[] {
  const checks: AccessCheck[] = [];
  for (const key of grantSet(NEEDED_CLUSTER_GRANTS)) {
    const check = parseGrantKey(key);
    // Cluster-scoped resources have no namespace; namespaced ones are checked in an etcd
    // namespace and (for list/watch, what informers do) across all namespaces.
    const clusterScoped = [
      'persistentvolumes',
      'volumesnapshotcontents',
      'volumesnapshotcontents/status',
      'volumesnapshotclasses',
      'volumegroupsnapshotcontents',
      'volumegroupsnapshotcontents/status',
      'volumegroupsnapshotclasses',
      'storageclasses',
    ].includes(check.resource);
    if (clusterScoped) {
      checks.push(check);
    } else {
      checks.push({ ...check, namespace: etcdNamespace });
      if (check.verb === 'list' || check.verb === 'watch') checks.push(check);
    }
  }
  for (const key of grantSet(NEEDED_NAMESPACE_GRANTS))
    checks.push({ ...parseGrantKey(key), namespace: driverNamespace });
  return checks;
}

function parseGrantKey(key: string): AccessCheck {
  const [verb, qualified] = key.split(' ') as [string, string];
  const [resourcePart, ...groupParts] = qualified.split('.');
  const [resource, subresource] = resourcePart!.split('/') as [string, string | undefined];
  return {
    verb,
    group: groupParts.join('.'),
    resource: subresource ? `${resource}/${subresource}` : resource,
  };
}

/** Things the ServiceAccount must NOT be able to do, each with why it matters. */
export function forbiddenChecks(
  driverNamespace: string,
  etcdNamespace: string,
): (AccessCheck & { why: string })[] {
  return [
    { verb: 'list', group: '', resource: 'secrets', why: 'enumerate every Secret of the cluster' },
    {
      verb: 'list',
      group: '',
      resource: 'secrets',
      namespace: etcdNamespace,
      why: 'enumerate Secrets of an etcd namespace',
    },
    { verb: 'watch', group: '', resource: 'secrets', why: 'stream every Secret' },
    { verb: 'create', group: '', resource: 'secrets', namespace: etcdNamespace, why: 'write Secrets' },
    { verb: 'update', group: '', resource: 'secrets', namespace: etcdNamespace, why: 'change credentials' },
    { verb: 'delete', group: '', resource: 'secrets', namespace: etcdNamespace, why: 'remove credentials' },
    {
      verb: 'delete',
      group: '',
      resource: 'persistentvolumeclaims',
      namespace: etcdNamespace,
      why: 'delete etcd data or snapshot claims',
    },
    {
      verb: 'patch',
      group: '',
      resource: 'persistentvolumeclaims',
      namespace: etcdNamespace,
      why: 'rewrite claims',
    },
    {
      verb: 'create',
      group: '',
      resource: 'pods',
      namespace: etcdNamespace,
      why: 'run arbitrary pods outside Jobs',
    },
    {
      verb: 'create',
      group: '',
      resource: 'pods/exec',
      namespace: etcdNamespace,
      why: 'exec into etcd members',
    },
    {
      verb: 'create',
      group: '',
      resource: 'pods/eviction',
      namespace: etcdNamespace,
      why: 'evict etcd members',
    },
    {
      verb: 'update',
      group: 'batch',
      resource: 'jobs',
      namespace: etcdNamespace,
      why: 'rewrite Jobs it did not make',
    },
    {
      verb: 'patch',
      group: 'apps',
      resource: 'statefulsets',
      namespace: etcdNamespace,
      why: 'change etcd StatefulSets',
    },
    {
      verb: 'delete',
      group: 'apps',
      resource: 'statefulsets',
      namespace: etcdNamespace,
      why: 'delete etcd clusters',
    },
    {
      verb: 'create',
      group: '',
      resource: 'serviceaccounts',
      namespace: etcdNamespace,
      why: 'make identities',
    },
    {
      verb: 'create',
      group: '',
      resource: 'serviceaccounts/token',
      namespace: etcdNamespace,
      why: 'mint tokens of other accounts',
    },
    {
      verb: 'get',
      group: '',
      resource: 'configmaps',
      namespace: etcdNamespace,
      why: 'read configuration it does not use',
    },
    { verb: 'get', group: '', resource: 'nodes', why: 'read nodes (no topology)' },
    {
      verb: 'create',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: etcdNamespace,
      why: 'write Leases outside its namespace',
    },
    {
      verb: 'update',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: 'kube-node-lease',
      why: 'fake node heartbeats',
    },
    { verb: 'list', group: 'coordination.k8s.io', resource: 'leases', why: 'read Leases cluster-wide' },
    {
      verb: 'patch',
      group: 'coordination.k8s.io',
      resource: 'leases',
      namespace: driverNamespace,
      why: 'nothing patches a Lease',
    },
    {
      verb: 'delete',
      group: SNAPSHOT,
      resource: 'volumesnapshotcontents',
      why: 'drop contents behind snapshot-controller',
    },
    {
      verb: 'delete',
      group: GROUP_SNAPSHOT,
      resource: 'volumegroupsnapshotcontents',
      why: 'drop group contents',
    },
    // Schedules create and delete VolumeSnapshots (schedule-runs-policy.yaml limits both to
    // objects carrying a schedule label); csi-provisioner's role holds update; patch is nobody's.
    {
      verb: 'patch',
      group: SNAPSHOT,
      resource: 'volumesnapshots',
      namespace: etcdNamespace,
      why: "rewrite users' snapshots",
    },
    {
      verb: 'update',
      group: 'druid.gardener.cloud',
      resource: 'etcds',
      namespace: etcdNamespace,
      why: 'change etcd-druid clusters',
    },
    {
      verb: 'create',
      group: 'rbac.authorization.k8s.io',
      resource: 'rolebindings',
      namespace: etcdNamespace,
      why: 'grant itself more',
    },
    {
      verb: 'escalate',
      group: 'rbac.authorization.k8s.io',
      resource: 'clusterroles',
      why: 'grant itself more',
    },
    { verb: 'bind', group: 'rbac.authorization.k8s.io', resource: 'clusterroles', why: 'grant itself more' },
    {
      verb: 'impersonate',
      group: '',
      resource: 'serviceaccounts',
      namespace: etcdNamespace,
      why: 'act as another account',
    },
    { verb: 'impersonate', group: '', resource: 'users', why: 'act as another user' },
    {
      verb: 'create',
      group: 'apiextensions.k8s.io',
      resource: 'customresourcedefinitions',
      why: 'change APIs',
    },
    { verb: 'delete', group: '', resource: 'namespaces', why: 'delete namespaces' },
    {
      verb: 'create',
      group: 'admissionregistration.k8s.io',
      resource: 'mutatingwebhookconfigurations',
      why: 'intercept API writes',
    },
  ];
}
