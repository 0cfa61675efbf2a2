// Every rule of the driver's own roles is needed (issue 7 item 2): with the driver running under
// its ServiceAccount's token through the process kubelet, each variant of its roles with exactly
// one rule removed is applied, the driver pod restarted (so its informers list and watch afresh
// under the variant), and the shortest flow — a VolumeSnapshot of one source claim created,
// ready, deleted, its record gone — must fail.
//
// Budget: a variant costs a driver restart plus a flow that times out (~1 min on a loaded 2-core
// machine), so by default a representative subset runs — one rule per way the driver fails
// without one: the CSI server's records, the pipeline's status writes, an informer the driver
// waits for before it is ready (Jobs), the Lease Role of its bucket election. RBAC_MATRIX=all
// runs every rule of ClusterRole etcd-snapshot-driver and Role etcd-snapshot-driver-leases
// (~12 min) and prints which rules the flow did not need. Its last run: needed — records, status,
// pods, statefulsets, jobs, leases; not needed by this flow — etcdsnapshots/finalizers (only
// under the OwnerReferencesPermissionEnforcement admission plugin), pods/log (failed Jobs only),
// secrets (etcd with credentials only), etcds.druid (etcd-druid only), and claims, PVs, events,
// volumesnapshotcontents, volumegroupsnapshotcontents: the sidecars' ClusterRoles, bound to the
// same ServiceAccount, grant those too (claim create is needed once per etcd cluster, and the
// flow's cluster already had its snapshot claim). The sidecars' roles are upstream's
// (docs/rbac.md) and are not varied here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  type ContentInfo,
  type SnapshotStack,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
} from '../../harness/snapshot-stack.ts';
import { find, render } from '../../integration/deploy/kustomize.ts';
import {
  type RoleObject,
  type RuleRemoved,
  singleRuleRemovedVariants,
} from '../../integration/deploy/rbac-rules.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let stack: SnapshotStack;
const results: { label: string; outcome: string; seconds: number }[] = [];

// Rendered at collection time so the test names list the rules (kubectl kustomize, ~0.2 s).
const rendered = await render('overlays/local');
const fullRoles: RoleObject[] = [
  find(rendered, 'ClusterRole', 'etcd-snapshot-driver') as unknown as RoleObject,
  find(rendered, 'Role', 'etcd-snapshot-driver-leases') as unknown as RoleObject,
];
const allVariants = singleRuleRemovedVariants(fullRoles);

/** One rule per way the driver fails without one (see the header); the rest with RBAC_MATRIX=all. */
function representative(v: RuleRemoved): boolean {
  const r = v.removed;
  const has = (group: string, resource: string) =>
    (r.apiGroups ?? []).includes(group) && (r.resources ?? []).includes(resource);
  return (
    v.role.kind === 'Role' ||
    has('snapshot.etcd-snapshot-driver.io', 'etcdsnapshots') ||
    has('snapshot.etcd-snapshot-driver.io', 'etcdsnapshots/status') ||
    has('batch', 'jobs')
  );
}
const variants = process.env.RBAC_MATRIX === 'all' ? allVariants : allVariants.filter(representative);

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'upstream-rbac' });
  const etcd = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 });
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NS] });
  // A static PV+PVC source: the driver resolves it through its claim and PV caches (a dynamic
  // source would resolve through its EtcdSourceVolume record alone).
  await stack.createStaticSource(NS, 'main-source', 'main');
  await stack.waitBound(NS, 'main-source');
  await etcd.waitHealthy(120_000);
}, 420_000);

afterAll(async () => {
  if (results.length > 0) {
    console.log(
      `RBAC matrix (${results.length} of ${allVariants.length} rules):\n${results
        .map(
          (r) =>
            `  ${r.outcome === 'ok' ? 'NOT NEEDED' : 'needed    '} ${r.label} — ${r.outcome} (${r.seconds} s)`,
        )
        .join('\n')}`,
    );
  }
  await stack?.stop();
  await cluster?.stop();
});

async function replaceRoles(roles: readonly RoleObject[]): Promise<void> {
  const items = roles.map((r) => {
    const { metadata, ...rest } = r;
    // Without resourceVersion, creationTimestamp or uid: an unconditional replace.
    return {
      ...rest,
      metadata: { name: metadata.name, namespace: metadata.namespace, labels: metadata.labels },
    };
  });
  await stack.kubectl(['replace', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
  });
}

let flowCount = 0;

/**
 * The shortest flow that exercises the driver's powers: a VolumeSnapshot created and ready, then
 * deleted and its record gone. 'ok', or what went wrong.
 */
async function snapshotFlow(timeoutMs: number): Promise<string> {
  const name = `rbac-${++flowCount}`;
  await stack.apply([
    {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name, namespace: NS },
      spec: {
        volumeSnapshotClassName: VOLUME_SNAPSHOT_CLASS,
        source: { persistentVolumeClaimName: 'main-source' },
      },
    },
  ]);
  let handle: string | undefined;
  try {
    const vs = await stack.waitVolumeSnapshotReady(NS, name, timeoutMs);
    handle = (
      await stack.getJson<ContentInfo>(['volumesnapshotcontent', vs.status!.boundVolumeSnapshotContentName!])
    ).status?.snapshotHandle;
  } catch (err) {
    return `create: ${(err as Error).message.slice(0, 160)}`;
  } finally {
    await stack.kubectl(['delete', 'volumesnapshot', name, '-n', NS, '--wait=false']);
  }
  try {
    await waitFor(
      `the record of ${handle} to be gone`,
      async () =>
        (await stack.records(NS)).some((r) => r.spec.members.some((m) => m.snapshotId === handle))
          ? undefined
          : true,
      { timeoutMs, intervalMs: 1_000 },
    );
  } catch (err) {
    return `delete: ${(err as Error).message.slice(0, 160)}`;
  }
  return 'ok';
}

describe('the driver’s RBAC is minimal: without any one rule a flow fails', () => {
  it('with every rule the flow passes (driver under its own ServiceAccount)', async () => {
    const pods = await stack.driverPods();
    expect(pods[0]?.metadata.name).toBeDefined();
    const spec = await stack.getJson<{ spec: { serviceAccountName: string } }>([
      'pod',
      pods[0]!.metadata.name,
      '-n',
      'etcd-snapshot-driver',
    ]);
    expect(spec.spec.serviceAccountName).toBe('etcd-snapshot-driver');
    expect(await snapshotFlow(120_000)).toBe('ok');
  });

  it.each(variants.map((v) => [v.label, v] as const))(
    'without %s',
    async (_label, variant) => {
      const started = performance.now();
      await replaceRoles(variant.roles);
      let outcome: string;
      try {
        // A driver that cannot list what it watches never becomes ready: that is a failure too.
        await stack.restartDriver(60_000);
        outcome = await snapshotFlow(35_000);
      } catch (err) {
        outcome = `driver: ${(err as Error).message.slice(0, 160)}`;
      }
      results.push({
        label: variant.label,
        outcome,
        seconds: Math.round((performance.now() - started) / 1000),
      });
      expect(outcome, `${variant.label} is not needed by the snapshot flow`).not.toBe('ok');
    },
    300_000,
  );

  it('with every rule back, the driver recovers and the flow passes again', async () => {
    await replaceRoles(fullRoles);
    await stack.restartDriver(120_000);
    expect(await snapshotFlow(120_000)).toBe('ok');
  }, 300_000);
});
