// HA e2e (issue 7 item 4), on the local cluster: the driver Deployment of test/e2e/ha/overlay
// (3 replicas, 6 bucket Leases, LeaseDuration 6 s / RenewDeadline 4 s / RetryPeriod 1 s) is
// scaled 3 → 1 → 3 while VolumeSnapshots of two etcd clusters keep coming: every one ends Ready
// with exactly one record, one save Job, one save pod and one file — none lost, none twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { DRIVER_NAME, DRIVER_NAMESPACE } from '../../harness/snapshot-stack.ts';
import { startEventLog, type WatchedObject } from './event-log.ts';
import { counts, type Histories, once, saveHistories } from './exactly-once.ts';
import { ETCD_NAMESPACE, type HaStack, REPLICAS, startHaStack } from './ha-stack.ts';
import { bucketsByHolder, podOfIdentity } from './replicas.ts';

const CLUSTERS = ['main', 'second'];
const SAVE = 'snapshot.etcd-snapshot-driver.io/operation=save';
const INTERVAL_MS = 3_000;
/** How long the Deployment stays at one replica, snapshots still coming. */
const HOLD_MS = 6_000;
const MIN_SNAPSHOTS = 6;
const MAX_SNAPSHOTS = 10;

let stack: HaStack;
let histories: Histories;

beforeAll(async () => {
  stack = await startHaStack('ha-scaling', CLUSTERS);
  for (const c of CLUSTERS) await stack.fixtures.get(c)!.loadData(8);
  const kc = stack.cluster.kubeConfig;
  histories = {
    jobs: await startEventLog(kc, `/apis/batch/v1/namespaces/${ETCD_NAMESPACE}/jobs`, SAVE),
    pods: await startEventLog(kc, `/api/v1/namespaces/${ETCD_NAMESPACE}/pods`, SAVE),
    records: await startEventLog<WatchedObject & EtcdSnapshot>(
      kc,
      `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${ETCD_NAMESPACE}/etcdsnapshots`,
    ),
  };
});

afterAll(async () => {
  for (const log of [histories?.jobs, histories?.pods, histories?.records]) log?.stop();
  await stack?.stop();
});

async function scale(replicas: number): Promise<number> {
  const started = performance.now();
  await stack.cluster.kubectl([
    'scale',
    'deployment',
    DRIVER_NAME,
    '-n',
    DRIVER_NAMESPACE,
    `--replicas=${replicas}`,
  ]);
  const pods = await stack.waitDriverReady(replicas);
  const names = new Set(pods.map((p) => p.metadata.name));
  // Settled: the live replicas hold all 6 buckets between them, and only they do.
  await waitFor(
    `the ${replicas} replica(s) to hold every bucket`,
    async () => {
      const byHolder = await bucketsByHolder(stack.cluster);
      const held = [...byHolder.values()].flat().length;
      return held === 6 &&
        byHolder.size === replicas &&
        [...byHolder.keys()].every((h) => names.has(podOfIdentity(h)))
        ? true
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
  return performance.now() - started;
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/ha/scaling.test.ts',
    'deploys its own three replicas (test/e2e/ha/overlay) and scales them',
  ),
)('scaling the driver under a stream of snapshots', () => {
  it('3 → 1 → 3: every snapshot ends Ready exactly once', { timeout: 480_000 }, async () => {
    await stack.waitDriverReady(REPLICAS);
    const created: string[] = [];
    let scaled = false;
    const stream = (async () => {
      while (created.length < MAX_SNAPSHOTS && (!scaled || created.length < MIN_SNAPSHOTS)) {
        const name = `vs-${created.length}`;
        await stack.createVolumeSnapshot(name, CLUSTERS[created.length % CLUSTERS.length]!);
        created.push(name);
        await new Promise((r) => setTimeout(r, INTERVAL_MS));
      }
    })();
    try {
      await waitFor('the first snapshots to be requested', () => (created.length >= 2 ? true : undefined), {
        timeoutMs: 60_000,
      });
      const downFrom = created.length;
      const down = await scale(1);
      await new Promise((r) => setTimeout(r, HOLD_MS));
      const upFrom = created.length;
      const up = await scale(REPLICAS);
      const upTo = created.length;
      console.log(
        `[ha] scale 3 → 1 settled in ${(down / 1000).toFixed(1)} s, 1 → 3 in ${(up / 1000).toFixed(1)} s; ` +
          `snapshots requested before the scale-down ${downFrom}, while at 1 replica ${upFrom - downFrom}, ` +
          `during the scale-up ${upTo - upFrom}`,
      );
      // The stream really spanned every stage.
      expect(upFrom).toBeGreaterThan(downFrom);
      expect(upTo).toBeGreaterThan(upFrom);
    } finally {
      scaled = true;
      await stream;
    }
    expect(created.length).toBeGreaterThanOrEqual(MIN_SNAPSHOTS);

    await waitFor(
      'every VolumeSnapshot to be readyToUse',
      async () => {
        const ready = (await stack.volumeSnapshots()).filter((v) => v.status?.readyToUse === true);
        return ready.length === created.length ? true : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 1_000 },
    );
    const outcomes = await saveHistories(stack, histories, created);
    expect(outcomes.map(counts)).toEqual(created.map(once));
    // No record beyond one per VolumeSnapshot, and one save Job per record in the cluster.
    expect(await stack.records()).toHaveLength(created.length);
    const saveJobs = await stack.getJson<{ items: unknown[] }>(['jobs', '-n', ETCD_NAMESPACE, '-l', SAVE]);
    expect(saveJobs.items).toHaveLength(created.length);
  });
});
