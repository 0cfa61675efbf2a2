// deploy/overlays/local really runs: on the local cluster (process kubelet), after the upstream
// snapshot CRDs, `kubectl apply -k deploy/overlays/local` brings up the driver with csi-snapshotter
// and csi-provisioner under the driver's own ServiceAccount and RBAC, every container becomes
// ready, and the sidecars reach the driver over the shared socket and take their leader Leases.
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podOfIdentity } from '../../../src/leader/identity.ts';
import { waitCrdsEstablished } from '../../harness/kubectl.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT, toolsDir } from '../../harness/tools.ts';

const NAMESPACE = 'etcd-snapshot-driver';
let cluster: LocalCluster;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'deploy-local-overlay' });
  await cluster.kubectl(['apply', '--server-side', '-f', realpathSync(join(toolsDir(), 'snapshot-crds'))]);
  await waitCrdsEstablished((args) => cluster.kubectl(args), 'all');
});
afterAll(async () => {
  await cluster?.stop();
});

interface PodStatus {
  metadata: { name: string };
  status: {
    phase?: string;
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
  };
}

async function driverPods(): Promise<PodStatus[]> {
  const out = await cluster.kubectl(['get', 'pods', '-n', NAMESPACE, '-o', 'json']);
  return (JSON.parse(out.stdout) as { items: PodStatus[] }).items;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('deploy/overlays/local on the local cluster', () => {
  it('runs the driver and both sidecars, ready, under the driver ServiceAccount', async () => {
    await cluster.kubectl(['apply', '-k', join(PROJECT_ROOT, 'deploy/overlays/local')]);
    // Generous: three programs start on a shared 2-core machine; informers sync; probes pass twice.
    const pod = await until(
      'every container of the driver pod to be ready',
      async () => {
        const [p] = await driverPods();
        const statuses = p?.status.containerStatuses ?? [];
        return statuses.length === 3 && statuses.every((c) => c.ready) ? p : undefined;
      },
      240_000,
    );
    const spec = JSON.parse(
      (await cluster.kubectl(['get', 'pod', pod.metadata.name, '-n', NAMESPACE, '-o', 'jsonpath={.spec}']))
        .stdout,
    ) as { serviceAccountName: string };
    expect(spec.serviceAccountName).toBe('etcd-snapshot-driver');
    expect(pod.status.containerStatuses!.map((c) => c.restartCount)).toEqual([0, 0, 0]);
  });

  it('the sidecars took their leader-election Leases in the driver namespace (RBAC let them)', async () => {
    const leases = await until(
      'the sidecars’ leader Leases',
      async () => {
        const out = await cluster.kubectl(['get', 'leases', '-n', NAMESPACE, '-o', 'json']);
        const items = (
          JSON.parse(out.stdout) as {
            items: { metadata: { name: string }; spec: { holderIdentity?: string } }[];
          }
        ).items;
        const held = items.filter((l) => l.spec.holderIdentity);
        // csi-snapshotter's Lease is "external-snapshotter-leader-<driver>", csi-provisioner's
        // "<driver>" with dots and slashes replaced.
        return held.some((l) => l.metadata.name.startsWith('external-snapshotter-leader')) &&
          held.some((l) => l.metadata.name === 'etcd-snapshot-driver')
          ? held
          : undefined;
      },
      120_000,
    );
    expect(leases.length).toBeGreaterThanOrEqual(2);
  });

  it('overlay local-ha: 3 replicas become ready and share the 6 bucket Leases', {
    timeout: 300_000,
  }, async () => {
    await cluster.kubectl(['apply', '-k', join(PROJECT_ROOT, 'deploy/overlays/local-ha')]);
    const holders = await until(
      'three ready replicas each holding buckets',
      async () => {
        const pods = await driverPods();
        const ready = pods.filter(
          (p) => (p.status.containerStatuses ?? []).filter((c) => c.ready).length === 3,
        );
        if (ready.length !== 3) return undefined;
        const out = await cluster.kubectl(['get', 'leases', '-n', NAMESPACE, '-o', 'json']);
        const buckets = (
          JSON.parse(out.stdout) as {
            items: { metadata: { name: string }; spec: { holderIdentity?: string } }[];
          }
        ).items.filter((l) => /-bucket-\d+-of-6$/.test(l.metadata.name));
        const byHolder = new Map<string, number>();
        for (const b of buckets)
          if (b.spec.holderIdentity)
            byHolder.set(b.spec.holderIdentity, (byHolder.get(b.spec.holderIdentity) ?? 0) + 1);
        const names = new Set(ready.map((p) => p.metadata.name));
        // Holders are pod name + a per-process suffix (src/leader/identity.ts).
        // Every bucket held (one in a handover has an empty holder for a moment) by three replicas.
        return buckets.length === 6 &&
          [...byHolder.values()].reduce((a, b) => a + b, 0) === 6 &&
          byHolder.size === 3 &&
          [...byHolder.keys()].every((h) => names.has(podOfIdentity(h)))
          ? byHolder
          : undefined;
      },
      240_000,
    );
    expect([...holders.values()].reduce((a, b) => a + b, 0)).toBe(6);
  });

  it('no container logged a forbidden API call', async () => {
    const [pod] = await driverPods();
    for (const container of ['driver', 'csi-snapshotter', 'csi-provisioner']) {
      const { stdout } = await cluster.kubectl([
        'logs',
        '-n',
        NAMESPACE,
        pod!.metadata.name,
        '-c',
        container,
      ]);
      expect(stdout, container).not.toMatch(/forbidden|is not allowed|\b403\b/i);
    }
  });
});
