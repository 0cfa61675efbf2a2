// The etcd fixture is a real multi-member etcd running in pods of the local cluster: it reaches
// quorum, replicates, and enforces the authentication its variant promises.
import { execFile } from 'node:child_process';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_LABEL, deployEtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';

let cluster: LocalCluster;
let core: CoreV1Api;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'etcd-fixture-test' });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
});
afterAll(async () => {
  await cluster?.stop();
});

describe('etcd fixture', () => {
  it('runs a 3-member StatefulSet that reaches quorum and replicates a write to every member', async () => {
    const etcd = await deployEtcdFixture(cluster, { name: 'plain', namespace: 'etcd-plain' });
    const pods = await etcd.pods();
    expect(pods.map((p) => p.metadata?.name).sort()).toEqual(['plain-0', 'plain-1', 'plain-2']);
    expect(
      pods.every((p) => p.metadata?.labels?.[CLUSTER_LABEL] === 'plain' && p.status?.phase === 'Running'),
    ).toBe(true);
    const ips = pods.map((p) => p.status?.podIP);
    expect(new Set(ips).size).toBe(3);
    expect(ips.every((ip) => ip?.startsWith(`${cluster.subnet}.`))).toBe(true);

    const members = JSON.parse(await etcd.etcdctl(['member', 'list', '-w', 'json'])) as {
      members: unknown[];
    };
    expect(members.members).toHaveLength(3);

    const [first, , third] = await etcd.endpoints();
    await etcd.etcdctl(['put', '/fixture/key', 'written-on-member-0'], { endpoints: [first!] });
    const read = await etcd.etcdctl(['get', '/fixture/key', '--print-value-only', '--consistency=s'], {
      endpoints: [third!],
    });
    expect(read.trim()).toBe('written-on-member-0');

    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'etcd-plain' });
    expect(claims.items.map((c) => c.status?.phase)).toEqual(['Bound', 'Bound', 'Bound']);

    await etcd.loadData(3);
    const keys = await etcd.etcdctl(['get', '/load/', '--prefix', '--keys-only', '-w', 'json']);
    expect((JSON.parse(keys) as { count: number }).count).toBe(3);
  });

  it('serves client TLS only to holders of the client certificate in its kubernetes.io/tls Secret', async () => {
    const etcd = await deployEtcdFixture(cluster, { name: 'secure', namespace: 'etcd-tls', auth: 'tls' });
    const secret = await core.readNamespacedSecret({ name: etcd.credentialsSecret!, namespace: 'etcd-tls' });
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    const endpoints = await etcd.endpoints();
    expect(endpoints.every((e) => e.startsWith('https://'))).toBe(true);

    await etcd.etcdctl(['put', '/tls/key', 'v']);
    expect((await etcd.etcdctl(['get', '/tls/key', '--print-value-only'])).trim()).toBe('v');
    // The same request without the client certificate is refused by the server.
    const withoutCert = await new Promise<string>((resolve) =>
      execFile(
        `${cluster.toolsBinDir}/etcdctl`,
        [
          `--endpoints=${endpoints[0]}`,
          '--insecure-skip-tls-verify',
          '--command-timeout=3s',
          'get',
          '/tls/key',
        ],
        (err, _stdout, stderr) => resolve(err ? stderr : 'succeeded'),
      ),
    );
    expect(withoutCert).not.toBe('succeeded');
  });

  it('enforces user/password authentication from its kubernetes.io/basic-auth Secret', async () => {
    const etcd = await deployEtcdFixture(cluster, { name: 'locked', namespace: 'etcd-basic', auth: 'basic' });
    const secret = await core.readNamespacedSecret({
      name: etcd.credentialsSecret!,
      namespace: 'etcd-basic',
    });
    expect(secret.type).toBe('kubernetes.io/basic-auth');
    const password = Buffer.from(secret.data!.password!, 'base64').toString();
    expect(password.length).toBeGreaterThan(8);

    await etcd.etcdctl(['put', '/basic/key', 'v']);
    const [endpoint] = await etcd.endpoints();
    const anonymous = await new Promise<string>((resolve) =>
      execFile(
        `${cluster.toolsBinDir}/etcdctl`,
        [`--endpoints=${endpoint}`, '--command-timeout=3s', 'get', '/basic/key'],
        (err, _stdout, stderr) => resolve(err ? stderr : 'succeeded'),
      ),
    );
    expect(anonymous).toMatch(/user name is empty|permission denied|authentication/i);
  });
});
