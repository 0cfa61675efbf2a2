// The whole runtime on a real kube-apiserver: per replica an informer, a bucket elector and a
// controller, several replicas in one process. The property under test: no key is ever
// reconciled by two replicas at overlapping times, whatever starts, stops, crashes and network
// partitions happen; and no key is forgotten (a replica that gains a bucket queues its keys).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../../src/informers/backoff.ts';
import type { Informer } from '../../../src/informers/informer.ts';
import { InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { ResourceDefinition } from '../../../src/informers/resources.ts';
import type { StoredObject } from '../../../src/informers/store-types.ts';
import { Controller } from '../../../src/reconcile/controller.ts';
import { enqueueObject } from '../../../src/reconcile/handlers.ts';
import type { ReconcileResult } from '../../../src/reconcile/result.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { type ElectorReplica, electorReplica } from '../leader/replicas.ts';

const FAST = { leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 };
// Liveness bounds carry this for apiserver latency on a loaded machine; the safety check has none.
const LOAD_SLACK_MS = 3_000;
const NS = 'sharded';
const KEYS = 24;
const BUCKETS = 8;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

const configMaps: ResourceDefinition<StoredObject> = {
  group: '',
  version: 'v1',
  plural: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
};

interface Interval {
  key: string;
  replica: string;
  start: number;
  end: number;
}

let cluster: LocalCluster;
let client: KubeClient;
let seq = 0;
// A seeded generator, so a failure can be replayed with the printed seed.
const seed = Number(process.env.SHARDED_SEED ?? Date.now() % 100_000);
let state = seed;
const random = () => {
  state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
  return state / 2 ** 31;
};
const between = (lo: number, hi: number) => lo + (hi - lo) * random();

class Replica {
  readonly id: string;
  readonly factory: InformerFactory;
  readonly informer: Informer<StoredObject>;
  readonly elector: ElectorReplica;
  readonly controller: Controller;
  running = true;

  constructor(
    name: string,
    log$: Interval[],
    reconcile: (key: string, signal: AbortSignal) => Promise<ReconcileResult>,
  ) {
    this.id = `replica-${++seq}`;
    this.factory = new InformerFactory(client, { reflector: { backoff: { initialMs: 100, maxMs: 1_000 } } });
    this.informer = this.factory.informerFor(configMaps, { namespace: NS });
    this.elector = electorReplica(client, NS, this.id, { name, buckets: BUCKETS, timing: FAST });
    this.controller = new Controller({
      name: `${name}-${this.id}`,
      logger: log,
      workers: 4,
      ownership: this.elector.elector,
      reconciler: {
        reconcile: async (key, ctx) => {
          const start = performance.now();
          try {
            const result = await reconcile(key, ctx.signal);
            ctx.assertOwner(); // the "write"
            return result;
          } finally {
            log$.push({ key, replica: this.id, start, end: performance.now() });
          }
        },
      },
    });
    this.controller.watch(this.informer, enqueueObject());
  }

  async start(): Promise<void> {
    this.factory.start();
    await this.informer.waitForSync();
    this.elector.elector.start();
    this.controller.start();
  }

  /** Graceful: drain in-flight work, then hand the buckets over, then stop watching. */
  async stop(): Promise<void> {
    this.running = false;
    const { drained } = await this.controller.stop({ deadlineMs: 2_000, abortGraceMs: 1_000 });
    await this.elector.elector.stop({ release: drained });
    await this.factory.stop();
  }

  /** As a crash looks to the others: nothing more is written; local work is cut short at once. */
  async crash(): Promise<void> {
    this.running = false;
    await this.elector.elector.stop({ release: false });
    await this.controller.stop({ deadlineMs: 0, abortGraceMs: 1_000 });
    await this.factory.stop();
  }
}

/** Polls the condition until it holds or `timeoutMs` passed; says which. */
async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}

/** Every bucket has exactly one owner among the replicas. */
function everyBucketOwnedOnce(rs: Replica[]): boolean {
  const held = rs.flatMap((r) => r.elector.elector.heldBuckets());
  return held.length === BUCKETS && new Set(held).size === BUCKETS;
}

/** Pairs of intervals of one key, on different replicas, that overlap in time. */
function overlaps(intervals: Interval[]): [Interval, Interval][] {
  const found: [Interval, Interval][] = [];
  const byKey = new Map<string, Interval[]>();
  for (const i of intervals) byKey.set(i.key, [...(byKey.get(i.key) ?? []), i]);
  for (const list of byKey.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 0; i < list.length; i++) {
      for (let j = i + 1; j < list.length && list[j]!.start < list[i]!.end; j++) {
        if (list[j]!.replica !== list[i]!.replica) found.push([list[i]!, list[j]!]);
      }
    }
  }
  return found;
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'sharded', kubelet: false });
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
  for (let i = 0; i < KEYS; i++) {
    await client.request('POST', `/api/v1/namespaces/${NS}/configmaps`, {
      body: { metadata: { name: `cluster-${i}` }, data: { generation: '0' } },
    });
  }
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
});

describe('sharded controllers', () => {
  it('a replica that gains a crashed replica’s buckets reconciles their keys from its warm cache', async () => {
    const intervals: Interval[] = [];
    const reconcileOnce = async () => ({});
    const rs = [new Replica('warm', intervals, reconcileOnce), new Replica('warm', intervals, reconcileOnce)];
    await Promise.all(rs.map((r) => r.start()));
    const allKeys = Array.from({ length: KEYS }, (_, i) => `${NS}/cluster-${i}`);
    const reconciled = () => new Set(intervals.map((i) => i.key));
    await waitFor(() => allKeys.every((k) => reconciled().has(k)), 20_000);
    // ConfigMaps in the namespace besides ours (kube-root-ca.crt) are keys too.
    for (const key of allKeys) expect(reconciled()).toContain(key);
    // Settled: both hold 4 buckets, and neither has a key queued, waiting or running (a key
    // reconciled after the crash must be one the survivor gained, not one left from the start).
    const idle = (r: Replica) => [...reconciled()].every((k) => !r.controller.queue.has(k));
    const settled = await waitFor(
      () => rs.every((r) => r.elector.elector.heldBuckets().length === BUCKETS / 2 && idle(r)),
      20_000,
    );
    expect(settled, 'two replicas settle on 4 buckets each').toBe(true);
    const [victim, survivor] = rs as [Replica, Replica];
    // Every cached key counts, kube-root-ca.crt included: it lands in one of the buckets too, and
    // when that bucket is the victim's the survivor rightly reconciles it.
    const orphaned = [...reconciled()].filter((k) => victim.elector.elector.isOwner(k));
    expect(orphaned.length).toBeGreaterThan(0);
    const before = intervals.length;
    const crashedAt = performance.now();
    await victim.crash();
    const later = () => intervals.slice(before).filter((i) => i.replica === survivor.id);
    await waitFor(() => orphaned.every((k) => later().some((i) => i.key === k)), 15_000);
    const took = performance.now() - crashedAt;
    expect(orphaned.every((k) => later().some((i) => i.key === k))).toBe(true);
    expect(took).toBeLessThanOrEqual(FAST.leaseDurationMs + 2 * FAST.retryPeriodMs + LOAD_SLACK_MS);
    // Nothing changed on the server: only the keys it gained were reconciled, each once.
    expect(
      later()
        .map((i) => i.key)
        .sort(),
    ).toEqual([...orphaned].sort());
    await survivor.stop();
    expect(overlaps(intervals)).toEqual([]);
  });

  it('over 200 random start/stop/crash/pause/touch steps no key is reconciled by two replicas at once', async () => {
    const intervals: Interval[] = [];
    // Every reconcile takes a while and asks to come back soon, so keys are busy all the time.
    // Some take longer than LeaseDuration − RenewDeadline: only aborting them when a bucket is
    // lost keeps those from overlapping with the next owner.
    const busy = async (_key: string, signal: AbortSignal): Promise<ReconcileResult> => {
      await sleep(random() < 0.15 ? between(800, 3_000) : between(10, 150), signal);
      return { requeueAfter: Math.round(between(50, 400)) };
    };
    const replicas: Replica[] = [];
    const live = () => replicas.filter((r) => r.running);
    const spawn = async () => {
      const r = new Replica('safety', intervals, busy);
      replicas.push(r);
      await r.start();
    };
    await Promise.all([spawn(), spawn(), spawn()]);
    const pauses: Promise<void>[] = [];
    const counts: Record<string, number> = {};
    for (let step = 0; step < 200; step++) {
      const roll = random();
      const pick = () => live()[Math.floor(random() * live().length)]!;
      let action: string;
      if (roll < 0.12 && live().length < 4) {
        action = 'start';
        await spawn();
      } else if (roll < 0.22 && live().length > 1) {
        action = 'stop';
        await pick().stop();
      } else if (roll < 0.32 && live().length > 1) {
        action = 'crash';
        await pick().crash();
      } else if (roll < 0.45) {
        action = 'pause';
        const r = pick();
        if (!r.elector.api.partitioned) {
          r.elector.api.partitioned = true;
          pauses.push(
            sleep(between(500, 4_000)).then(() => {
              r.elector.api.partitioned = false;
            }),
          );
        }
      } else {
        action = 'touch';
        const name = `cluster-${Math.floor(random() * KEYS)}`;
        await client.request('PATCH', `/api/v1/namespaces/${NS}/configmaps/${name}`, {
          body: { data: { generation: String(step) } },
          contentType: 'application/merge-patch+json',
        });
      }
      counts[action] = (counts[action] ?? 0) + 1;
      await sleep(between(50, 400));
    }
    await Promise.all(pauses);
    // Settled (all partitions healed, every bucket owned once): every key is reconciled again.
    const allKeys = Array.from({ length: KEYS }, (_, i) => `${NS}/cluster-${i}`);
    const settleDeadline = performance.now() + FAST.leaseDurationMs + 4 * FAST.retryPeriodMs + 10_000;
    await waitFor(() => everyBucketOwnedOnce(live()), settleDeadline - performance.now());
    const settledFrom = performance.now();
    const reconciledSince = () => new Set(intervals.filter((i) => i.start >= settledFrom).map((i) => i.key));
    await waitFor(() => allKeys.every((k) => reconciledSince().has(k)), settleDeadline - performance.now());
    const recent = reconciledSince();
    const owners = (key: string) =>
      live()
        .filter((r) => r.elector.elector.isOwner(key))
        .map((r) => r.id);
    const forgotten = allKeys
      .filter((k) => !recent.has(k))
      .map((k) => `${k} (owned by ${owners(k).join(', ') || 'nobody'})`);
    await Promise.all(live().map((r) => r.stop()));

    const found = overlaps(intervals);
    const replicasUsed = new Set(intervals.map((i) => i.replica)).size;
    console.log(
      `sharded safety: seed ${seed}, steps ${JSON.stringify(counts)}, ${intervals.length} reconciles on ${replicasUsed} replicas, ${found.length} overlaps`,
    );
    expect(found.slice(0, 3), 'reconciles of one key that overlapped on two replicas').toEqual([]);
    expect(intervals.length).toBeGreaterThan(300);
    expect(forgotten).toEqual([]);
  });
});
