// The local control plane is the real thing: pinned versions, RBAC and Node authorization,
// PodSecurity admission, state in etcd that survives an apiserver restart, compaction that gives
// 410 Gone, and parallel clusters that share nothing and leave no process behind.
import { join } from 'node:path';
import { ApiException, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { writeKubeconfig } from '../../harness/pki.ts';

let cluster: LocalCluster;
let core: CoreV1Api;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'control-plane-test', kubelet: false });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await cluster?.stop();
});

/** A client authenticated by a certificate with this user name and groups. */
function clientAs(user: string, groups: string[] = []): CoreV1Api {
  const safe = user.replace(/[^a-z0-9-]/gi, '-');
  const pair = cluster.pki.issue(`user-${safe}`, {
    commonName: user,
    organizations: groups,
    usage: 'client',
  });
  const file = join(cluster.dir, `user-${safe}.kubeconfig`);
  writeKubeconfig(file, cluster.apiserverUrl, cluster.pki.ca.certFile, user, pair);
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc.makeApiClient(CoreV1Api);
}

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

describe('local control plane', () => {
  it('runs the pinned Kubernetes release', async () => {
    const { stdout } = await cluster.kubectl(['version', '-o', 'json']);
    const version = JSON.parse(stdout) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe('v1.36.3');
    expect(version.clientVersion.gitVersion).toBe('v1.36.3');
  });

  it('authorizes with RBAC: a user without bindings is forbidden, system:masters is not', async () => {
    expect(await statusOf(clientAs('nobody').listNamespacedPod({ namespace: 'default' }))).toBe(403);
    expect(
      await statusOf(clientAs('root-like', ['system:masters']).listNamespacedPod({ namespace: 'default' })),
    ).toBe(200);
  });

  it('authorizes nodes with the Node authorizer: a node cannot read a Secret no pod of it uses', async () => {
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'unrelated' }, stringData: { a: 'b' } },
    });
    const node = clientAs('system:node:some-node', ['system:nodes']);
    expect(await statusOf(node.readNamespacedSecret({ name: 'unrelated', namespace: 'default' }))).toBe(403);
  });

  it('enforces PodSecurity: a restricted namespace rejects a privileged pod', async () => {
    await core.createNamespace({
      body: {
        metadata: { name: 'restricted', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
      },
    });
    const create = core.createNamespacedPod({
      namespace: 'restricted',
      body: {
        metadata: { name: 'privileged' },
        spec: { containers: [{ name: 'c', image: 'busybox:1.37', securityContext: { privileged: true } }] },
      },
    });
    await expect(create).rejects.toMatchObject({
      code: 403,
      body: expect.stringMatching(/violates PodSecurity .*restricted.*privileged/),
    });
  });

  it('keeps its state in etcd across an apiserver restart, and compaction makes old versions 410 Gone', async () => {
    const created = await core.createNamespacedConfigMap({
      namespace: 'default',
      body: { metadata: { name: 'survivor' }, data: { k: 'v' } },
    });
    const oldVersion = created.metadata!.resourceVersion!;
    await core.patchNamespacedConfigMap({
      name: 'survivor',
      namespace: 'default',
      body: [{ op: 'replace', path: '/data/k', value: 'v2' }],
    });
    await cluster.restartApiserver();
    const read = await core.readNamespacedConfigMap({ name: 'survivor', namespace: 'default' });
    expect(read.data).toEqual({ k: 'v2' });

    await cluster.compactEtcd();
    const list = core.listNamespacedConfigMap({
      namespace: 'default',
      resourceVersion: oldVersion,
      resourceVersionMatch: 'Exact',
    });
    await expect(list).rejects.toMatchObject({ code: 410 });
  });

  it('runs a second cluster beside the first on its own addresses, and leaves no process behind', async () => {
    const second = await startLocalCluster({ name: 'control-plane-test-2', kubelet: false });
    const pids = second.processes().map((p) => p.pid);
    try {
      expect(second.subnet).not.toBe(cluster.subnet);
      expect(second.apiserverUrl).not.toBe(cluster.apiserverUrl);
      const secondCore = second.kubeConfig.makeApiClient(CoreV1Api);
      await secondCore.createNamespace({ body: { metadata: { name: 'only-in-second' } } });
      expect(await statusOf(core.readNamespace({ name: 'only-in-second' }))).toBe(404);
      expect(pids.length).toBeGreaterThanOrEqual(4);
    } finally {
      await second.stop();
    }
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
