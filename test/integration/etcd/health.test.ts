// The health and quorum check against a real 3-member etcd of local processes: the source is a
// follower, a lost quorum and an unreachable cluster are told apart quickly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { EtcdError } from '../../../src/etcd/errors.ts';
import { checkClusterHealth } from '../../../src/etcd/health.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';

async function reasonOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EtcdError) return err.reason;
    throw err;
  }
  throw new Error('expected the check to fail');
}

describe('checkClusterHealth on a 3-member cluster', () => {
  let cluster: EtcdProcessCluster;
  beforeAll(async () => {
    cluster = await startEtcdProcessCluster({ size: 3 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('reports every member, the leader, and a follower as the source', async () => {
    const client = new EtcdClient(cluster.endpoints[0] as string, { credentials: NO_CREDENTIALS });
    await client.put('/health/a', 'x');
    client.close();
    const health = await checkClusterHealth(cluster.endpoints, NO_CREDENTIALS);
    expect(health.memberCount).toBe(3);
    expect(health.reachableCount).toBe(3);
    expect(health.hasQuorum).toBe(true);
    expect(health.members.filter((m) => m.isLeader)).toHaveLength(1);
    const leader = health.members.find((m) => m.isLeader);
    expect(health.leaderId).toBe(leader?.id);
    expect(health.source).not.toBe(leader?.endpoint);
    expect(cluster.endpoints).toContain(health.source);
    expect(new Set(health.members.map((m) => m.endpoint))).toEqual(new Set(cluster.endpoints));
    expect(health.members.map((m) => m.name).sort()).toEqual(['m0', 'm1', 'm2']);
    expect(health.dbSizeBytes).toBeGreaterThan(0);
    expect(health.etcdVersion).toBe('3.6.16');
  });

  it('finds the other members from one seed endpoint through the member list', async () => {
    const health = await checkClusterHealth([cluster.endpoints[1] as string], NO_CREDENTIALS);
    expect(health.reachableCount).toBe(3);
  });

  it('says ETCD_QUORUM_LOST quickly when 2 of 3 members are down', async () => {
    await cluster.stopMember(1);
    await cluster.stopMember(2);
    const started = Date.now();
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, NO_CREDENTIALS, { timeoutMs: 5000 }))).toBe(
      'ETCD_QUORUM_LOST',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('says ETCD_ENDPOINTS_UNREACHABLE when every member is down', async () => {
    await cluster.stopMember(0);
    const started = Date.now();
    expect(await reasonOf(checkClusterHealth(cluster.endpoints, NO_CREDENTIALS, { timeoutMs: 5000 }))).toBe(
      'ETCD_ENDPOINTS_UNREACHABLE',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('is healthy again once a majority is back', async () => {
    await cluster.startMember(0);
    await cluster.startMember(1);
    await cluster.waitHealthy();
    const health = await checkClusterHealth(cluster.endpoints, NO_CREDENTIALS);
    expect(health.reachableCount).toBe(2);
    expect(health.memberCount).toBe(3);
    expect(health.members.find((m) => m.name === 'm2')?.reachable).toBe(false);
    expect(cluster.endpoints.slice(0, 2)).toContain(health.source);
  });

  it('gives up at its deadline on an address that never answers', async () => {
    // 10.255.255.1 is not routed from a test machine: the connection hangs instead of failing.
    const started = Date.now();
    expect(
      await reasonOf(checkClusterHealth(['http://10.255.255.1:2379'], NO_CREDENTIALS, { timeoutMs: 1500 })),
    ).toBe('ETCD_ENDPOINTS_UNREACHABLE');
    expect(Date.now() - started).toBeLessThan(6000);
  });
});
