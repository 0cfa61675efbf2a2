// Bucket Leases against a real kube-apiserver: spreading, crash failover, graceful handover,
// partitions, with short timings (LD 4 s / RD 2.5 s / RP 1 s) except where defaults are tested.
//
// Time bounds carry LOAD_SLACK_MS: on a loaded 2-core machine (other test files run their own
// clusters in parallel) an apiserver round trip can take hundreds of milliseconds, which has
// nothing to do with the Lease logic under test. Safety properties carry no slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { LeaseObject } from '../../../src/leader/lease-api.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { type ElectorReplica, electorReplica } from './replicas.ts';

const FAST = { leaseDurationMs: 4_000, renewDeadlineMs: 2_500, retryPeriodMs: 1_000 };
const LOAD_SLACK_MS = 2_000;
const NS = 'leader-test';
let cluster: LocalCluster;
let client: KubeClient;
const running: ElectorReplica[] = [];

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'leader', kubelet: false });
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.elector.stop({ release: false })));
  client?.destroy();
  await cluster?.stop();
});

function start(name: string, identity: string, buckets: number, timing = FAST): ElectorReplica {
  const r = electorReplica(client, NS, identity, { name, buckets, timing });
  r.elector.start();
  running.push(r);
  return r;
}

async function serverHolders(name: string): Promise<Map<string, string>> {
  const list = await client.request<{ items: LeaseObject[] }>(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
    {
      query: {
        labelSelector: `etcd-snapshot-driver.io/lease-set=${name},etcd-snapshot-driver.io/lease-role=bucket`,
      },
    },
  );
  return new Map(list.items.map((l) => [l.metadata.name, l.spec?.holderIdentity ?? '']));
}

async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await condition())) {
    if (performance.now() - started > timeoutMs) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return performance.now() - started;
}

const held = (rs: ElectorReplica[]) => rs.map((r) => r.elector.heldBuckets().length);
const balanced = (rs: ElectorReplica[], total: number) => {
  const counts = held(rs);
  return counts.reduce((a, b) => a + b, 0) === total && Math.max(...counts) - Math.min(...counts) <= 1;
};

describe('BucketElector against kube-apiserver', () => {
  it('three replicas with B = 8 hold buckets within ±1 of each other, matching the Leases', async () => {
    const rs = ['a', 'b', 'c'].map((id) => start('spread', id, 8));
    await waitUntil(() => balanced(rs, 8), 20_000);
    const holders = await serverHolders('spread');
    expect(holders.size).toBe(8);
    for (const r of rs) {
      for (const bucket of r.elector.heldBuckets()) {
        expect(holders.get(`spread-bucket-${bucket}-of-8`)).toBe(r.identity);
      }
    }
  });

  it('moves a crashed replica’s buckets within LeaseDuration + 2·RetryPeriod', async () => {
    const rs = ['a', 'b', 'c'].map((id) => start('crash', id, 8));
    await waitUntil(() => balanced(rs, 8), 20_000);
    const [victim, ...survivors] = rs as [ElectorReplica, ...ElectorReplica[]];
    const orphaned = victim.elector.heldBuckets();
    expect(orphaned.length).toBeGreaterThan(0);
    await victim.elector.stop({ release: false });
    const took = await waitUntil(
      () => orphaned.every((b) => survivors.some((s) => s.elector.heldBuckets().includes(b))),
      20_000,
    );
    expect(took).toBeLessThanOrEqual(FAST.leaseDurationMs + 2 * FAST.retryPeriodMs + LOAD_SLACK_MS);
    // Nobody may take a bucket before LeaseDuration has passed since they last saw it renewed.
    expect(took).toBeGreaterThan(FAST.leaseDurationMs - 1.2 * FAST.retryPeriodMs);
    await waitUntil(() => balanced(survivors, 8), 10_000);
  });

  it('hands a gracefully stopped replica’s buckets over within about 2·RetryPeriod, long before expiry', async () => {
    // A long LeaseDuration tells a handover from an expiry: without the release, no survivor may
    // take a bucket before LD − RP (8.8 s) has passed.
    const timing = { leaseDurationMs: 10_000, renewDeadlineMs: 6_000, retryPeriodMs: 1_000 };
    const rs = ['a', 'b', 'c'].map((id) => start('graceful', id, 8, timing));
    await waitUntil(() => balanced(rs, 8), 20_000);
    const [leaving, ...staying] = rs as [ElectorReplica, ...ElectorReplica[]];
    const handed = leaving.elector.heldBuckets();
    expect(handed.length).toBeGreaterThan(0);
    await leaving.elector.stop();
    // stop() returns after the release was written: no Lease names the leaving replica any more.
    const holders = await serverHolders('graceful');
    expect([...holders.values()].filter((h) => h === leaving.identity)).toEqual([]);
    const took = await waitUntil(
      () => handed.every((b) => staying.some((s) => s.elector.heldBuckets().includes(b))),
      10_000,
    );
    expect(took).toBeLessThanOrEqual(2 * timing.retryPeriodMs + LOAD_SLACK_MS);
    expect(took).toBeLessThan(timing.leaseDurationMs - timing.retryPeriodMs);
  });

  it('a partitioned holder stops acting at its renew deadline, and no bucket ever has two owners', async () => {
    const rs = ['a', 'b'].map((id) => start('partition', id, 2));
    await waitUntil(() => balanced(rs, 2), 20_000);
    const [cut, other] = rs as [ElectorReplica, ElectorReplica];
    const cutAt = performance.now();
    cut.api.partitioned = true;
    const stoppedActing = await waitUntil(() => cut.elector.heldBuckets().length === 0, 20_000);
    expect(stoppedActing).toBeLessThanOrEqual(FAST.renewDeadlineMs + LOAD_SLACK_MS);
    await waitUntil(() => other.elector.heldBuckets().length === 2, 20_000);
    cut.api.partitioned = false;
    await waitUntil(() => balanced(rs, 2), 20_000);
    const now = performance.now();
    for (const shard of ['partition-bucket-0-of-2', 'partition-bucket-1-of-2']) {
      const a = ownership(cut, shard, now);
      const b = ownership(other, shard, now);
      for (const x of a) {
        for (const y of b) {
          // Never both at once; and a handover leaves at least LD − RD between them (the margin
          // the design keeps for clock-rate differences and last writes).
          const gap = x.from < y.from ? y.from - x.to : x.from - y.to;
          expect(gap, `${shard}: ${JSON.stringify({ cut: x, other: y, cutAt })}`).toBeGreaterThanOrEqual(0);
        }
      }
    }
    const handedOver = ownership(other, 'partition-bucket-0-of-2', now)
      .concat(ownership(other, 'partition-bucket-1-of-2', now))
      .filter((i) => i.from > cutAt);
    const lostByCut = ownership(cut, 'partition-bucket-0-of-2', now)
      .concat(ownership(cut, 'partition-bucket-1-of-2', now))
      .filter((i) => i.to > cutAt && i.to < now);
    expect(handedOver.length).toBeGreaterThan(0);
    for (const taken of handedOver) {
      const previous = lostByCut.filter((l) => l.to <= taken.from).at(-1);
      if (previous)
        expect(taken.from - previous.to).toBeGreaterThanOrEqual(FAST.leaseDurationMs - FAST.renewDeadlineMs);
    }
  });
});

/** [from, to] intervals during which a replica owned the shard, from its change log. */
function ownership(r: ElectorReplica, shard: string, now: number): { from: number; to: number }[] {
  const out: { from: number; to: number }[] = [];
  let from: number | undefined;
  for (const { at, change } of r.changes) {
    if (change.shard !== shard) continue;
    if (change.type === 'acquired' && from === undefined) from = at;
    if (change.type === 'lost' && from !== undefined) {
      out.push({ from, to: at });
      from = undefined;
    }
  }
  if (from !== undefined) out.push({ from, to: now });
  return out;
}

describe('BucketElector with default timings (15 s / 10 s / 2 s)', () => {
  it('fails over a crash within 20 s and hands over gracefully within 5 s', async () => {
    const timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
    const a = start('defaults', 'a', 1, timing);
    await waitUntil(() => a.elector.isOwner('k'), 10_000);
    const b = start('defaults', 'b', 1, timing);
    // b is a standby that has seen a (and a's bucket Lease) before a crashes.
    await waitUntil(() => b.elector.liveReplicas >= 2, 10_000);
    await a.elector.stop({ release: false });
    const failover = await waitUntil(() => b.elector.isOwner('k'), 30_000);
    expect(failover).toBeLessThanOrEqual(timing.leaseDurationMs + 2 * timing.retryPeriodMs + LOAD_SLACK_MS);
    const c = start('defaults', 'c', 1, timing);
    // c is a standby that has seen b before b hands over.
    await waitUntil(() => c.elector.liveReplicas >= 2, 10_000);
    const stopStarted = performance.now();
    await b.elector.stop();
    await waitUntil(() => c.elector.isOwner('k'), 10_000);
    expect(performance.now() - stopStarted).toBeLessThanOrEqual(2 * timing.retryPeriodMs + LOAD_SLACK_MS);
  });
});
