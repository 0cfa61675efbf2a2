// HA e2e (issue 7 item 4), on the local cluster: three driver replicas of test/e2e/ha/overlay
// (deploy/overlays/local-ha with LeaseDuration 6 s, RenewDeadline 4 s, RetryPeriod 1 s) share 6
// bucket Leases. The replica owning an etcd cluster's bucket dies in the middle of a snapshot —
// SIGKILL of its driver process (the kubelet restarts the container, which comes back as a new
// holder: identities are the pod name plus a per-process suffix, so the dead one's buckets move
// by expiry), a graceful pod deletion (SIGTERM: release), a forced pod deletion (the pod never
// returns; the kubelet still sends SIGTERM with its minimum grace, so release, or expiry if the
// process is killed first) — and the snapshot still completes exactly once, and no bucket Lease
// ever has two holders. The failover and handover times are printed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketLeaseName } from '../../../src/leader/buckets.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { DRIVER_NAME, DRIVER_NAMESPACE } from '../../harness/snapshot-stack.ts';
import { type EventLog, type LoggedEvent, startEventLog, type WatchedObject } from './event-log.ts';
import { counts, type Histories, once, saveHistories } from './exactly-once.ts';
import {
  BUCKETS,
  ETCD_NAMESPACE,
  type HaStack,
  LEASE_DURATION_MS,
  REPLICAS,
  startHaStack,
} from './ha-stack.ts';
import { handoverKind, handoverViolations, microsOf } from './lease-handover.ts';
import {
  bucketLeaseOf,
  bucketsByHolder,
  driverPid,
  type LeaseInfo,
  leaseHolder,
  podOfIdentity,
} from './replicas.ts';

const CLUSTER = 'main';
const CLUSTER_KEY = `${ETCD_NAMESPACE}/${CLUSTER}`;
const BUCKET_LEASE = bucketLeaseOf(CLUSTER_KEY);
const SAVE = 'snapshot.etcd-snapshot-driver.io/operation=save';
const BUCKET_LEASES = Array.from({ length: BUCKETS }, (_, i) => bucketLeaseName(DRIVER_NAME, i, BUCKETS));

let stack: HaStack;
let histories: Histories;
let leases: EventLog<WatchedObject & LeaseInfo>;

beforeAll(async () => {
  stack = await startHaStack('ha-failover', [CLUSTER]);
  // Enough data that the save is real work, little enough for a loaded machine.
  await stack.fixtures.get(CLUSTER)!.loadData(32);
  const kc = stack.cluster.kubeConfig;
  histories = {
    jobs: await startEventLog(kc, `/apis/batch/v1/namespaces/${ETCD_NAMESPACE}/jobs`, SAVE),
    pods: await startEventLog(kc, `/api/v1/namespaces/${ETCD_NAMESPACE}/pods`, SAVE),
    records: await startEventLog<WatchedObject & EtcdSnapshot>(
      kc,
      `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${ETCD_NAMESPACE}/etcdsnapshots`,
    ),
  };
  leases = await startEventLog(kc, `/apis/coordination.k8s.io/v1/namespaces/${DRIVER_NAMESPACE}/leases`);
});

afterAll(async () => {
  for (const log of [histories?.jobs, histories?.pods, histories?.records, leases]) log?.stop();
  await stack?.stop();
});

/** Waits until the three replicas are ready and share all 6 buckets; returns the cluster's owner. */
async function settledOwner(): Promise<string> {
  const pods = await stack.waitDriverReady(REPLICAS);
  const names = new Set(pods.map((p) => p.metadata.name));
  return waitFor(
    'every bucket held by a ready replica, two each',
    async () => {
      const byHolder = await bucketsByHolder(stack.cluster);
      const held = [...byHolder.values()].flat().length;
      // Balanced (2 each): a replica still above its share would hand a bucket over on its own.
      if (
        held !== 6 ||
        byHolder.size !== REPLICAS ||
        ![...byHolder.entries()].every(
          ([h, buckets]) => names.has(podOfIdentity(h)) && buckets.length === 6 / REPLICAS,
        )
      )
        return undefined;
      return leaseHolder(stack.cluster, BUCKET_LEASE);
    },
    { timeoutMs: 120_000, intervalMs: 1_000 },
  );
}

/** The save Job of the next record to be created: resolves as soon as its ADDED event arrives. */
function nextSaveJob(after: number): Promise<LoggedEvent> {
  return histories.jobs.next(
    (e) => e.type === 'ADDED' && e.at > after && e.object.metadata.name.startsWith('snapshot-save-'),
    120_000,
    'a save Job to be created',
  );
}

/** The versions of one Lease in the order they were written (ADDED and MODIFIED events). */
function leaseHistory(name: string): (WatchedObject & LeaseInfo)[] {
  return leases.events
    .filter((e) => e.type !== 'DELETED' && e.object.metadata.name === name)
    .map((e) => e.object);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/ha/failover.test.ts',
    'deploys its own three replicas (test/e2e/ha/overlay) and kills driver processes on the host',
  ),
)('three driver replicas with bucket Leases', () => {
  it('SIGKILL of the owning replica mid-snapshot: the snapshot completes exactly once', {
    timeout: 420_000,
  }, async () => {
    const owner = await settledOwner();
    const began = performance.now();
    await stack.createVolumeSnapshot('vs-kill', CLUSTER);
    const job = await nextSaveJob(began);
    const ownerPod = podOfIdentity(owner);
    const pid = await driverPid(stack.cluster, ownerPod);
    const killedAt = performance.now();
    const killedWall = Date.now();
    process.kill(pid, 'SIGKILL');

    // The first write of the bucket Lease by a live process: its renewTime is after the kill (a
    // renewal the dead process had in flight carries an earlier one).
    const takeover = await leases.next(
      (e) =>
        e.at > killedAt &&
        e.object.metadata.name === BUCKET_LEASE &&
        (e.object.spec?.holderIdentity ?? '') !== '' &&
        Date.parse(e.object.spec?.renewTime ?? '') > killedWall,
      120_000,
      `${BUCKET_LEASE} to be written by a live replica`,
    );
    const newHolder = takeover.object.spec!.holderIdentity!;
    await waitFor(
      'vs-kill to be readyToUse',
      async () =>
        (await stack.volumeSnapshots()).find((v) => v.metadata.name === 'vs-kill')?.status?.readyToUse ===
        true
          ? true
          : undefined,
      // LeaseDuration + the Job's run, with a loaded machine's slack.
      { timeoutMs: LEASE_DURATION_MS + 150_000, intervalMs: 500 },
    );
    const readyAt = performance.now();
    console.log(
      `[ha] SIGKILL of ${owner} (pid ${pid}) while ${job.object.metadata.name} ran: ${BUCKET_LEASE} ` +
        `${podOfIdentity(newHolder) === ownerPod ? 'retaken by the restarted container of' : 'taken over by'} ${newHolder} ` +
        `after ${seconds(takeover.at - killedAt)} (LeaseDuration ${seconds(LEASE_DURATION_MS)}); ` +
        `kill → VolumeSnapshot ready ${seconds(readyAt - killedAt)}`,
    );

    const [history] = await saveHistories(stack, histories, ['vs-kill']);
    expect(counts(history!)).toEqual(once('vs-kill'));
    expect(history!.jobUids).toEqual([job.object.metadata.uid]);
    // The kill was real: the driver container restarted (the pod is the same).
    const restarted = (await stack.driverPods()).find((p) => p.metadata.name === ownerPod);
    expect(restarted?.status.containerStatuses?.find((c) => c.name === 'driver')?.restartCount).toBe(1);
  });

  it('SIGTERM (pod deletion with grace) hands the buckets over by release, not expiry', {
    timeout: 420_000,
  }, async () => {
    const owner = await settledOwner();
    const began = performance.now();
    await stack.createVolumeSnapshot('vs-term', CLUSTER);
    const job = await nextSaveJob(began);
    const deletedAt = performance.now();
    await stack.cluster.kubectl([
      'delete',
      'pod',
      podOfIdentity(owner),
      '-n',
      DRIVER_NAMESPACE,
      '--wait=false',
    ]);

    const released = await leases.next(
      (e) =>
        e.at > deletedAt &&
        e.object.metadata.name === BUCKET_LEASE &&
        (e.object.spec?.holderIdentity ?? '') === '',
      60_000,
      `${owner} to release ${BUCKET_LEASE}`,
    );
    const taken = await leases.next(
      (e) =>
        e.at > released.at &&
        e.object.metadata.name === BUCKET_LEASE &&
        ![owner, ''].includes(e.object.spec?.holderIdentity ?? ''),
      60_000,
      `another replica to take ${BUCKET_LEASE}`,
    );
    // A release leaves leaseDurationSeconds 1 so the next owner need not wait out the old one.
    expect(released.object.spec?.leaseDurationSeconds).toBe(1);
    await waitFor(
      'vs-term to be readyToUse',
      async () =>
        (await stack.volumeSnapshots()).find((v) => v.metadata.name === 'vs-term')?.status?.readyToUse ===
        true
          ? true
          : undefined,
      { timeoutMs: 150_000, intervalMs: 500 },
    );
    const readyAt = performance.now();
    console.log(
      `[ha] SIGTERM of ${owner} while ${job.object.metadata.name} ran: ${BUCKET_LEASE} released after ` +
        `${seconds(released.at - deletedAt)}, taken by ${taken.object.spec?.holderIdentity} after ` +
        `${seconds(taken.at - deletedAt)} (release → take ${seconds(taken.at - released.at)}); ` +
        `delete → VolumeSnapshot ready ${seconds(readyAt - deletedAt)}`,
    );

    const [history] = await saveHistories(stack, histories, ['vs-term']);
    expect(counts(history!)).toEqual(once('vs-term'));
    // Every snapshot so far, still once (the kill case's too), and no record beyond them.
    expect(await stack.records()).toHaveLength(2);
  });

  it('a force-deleted owner (its identity never returns): another replica takes over only after its release or LeaseDuration', {
    timeout: 420_000,
  }, async () => {
    const owner = await settledOwner();
    const began = performance.now();
    await stack.createVolumeSnapshot('vs-gone', CLUSTER);
    const job = await nextSaveJob(began);
    const killedAt = performance.now();
    // The pod object goes at once and its replacement has another name, so the owner's identity
    // never returns. Like a real kubelet, the process kubelet still terminates it gracefully
    // (SIGTERM, SIGKILL a second later): the owner may release its buckets, or be killed first
    // and leave them to expire. Which one happens is up to timing; what must hold is not.
    await stack.cluster.kubectl([
      'delete',
      'pod',
      podOfIdentity(owner),
      '-n',
      DRIVER_NAMESPACE,
      '--grace-period=0',
      '--force',
      '--wait=false',
    ]);
    const taken = await leases.next(
      (e) =>
        e.at > killedAt &&
        e.object.metadata.name === BUCKET_LEASE &&
        ![owner, ''].includes(e.object.spec?.holderIdentity ?? ''),
      120_000,
      `another replica to take ${BUCKET_LEASE}`,
    );
    const history = leaseHistory(BUCKET_LEASE);
    const takeIndex = history.indexOf(taken.object);
    expect(takeIndex, 'the Lease had a version before the take').toBeGreaterThan(0);
    const before = history[takeIndex - 1]!;
    const how = handoverKind(history, takeIndex);
    // On failure, the Lease's history around the deletion (holder, duration, renewTime, acquireTime).
    const around = history
      .slice(Math.max(0, takeIndex - 4), takeIndex + 1)
      .map(
        (v) =>
          `${v.spec?.holderIdentity || '-'} ${v.spec?.leaseDurationSeconds} ${v.spec?.renewTime} ${v.spec?.acquireTime}`,
      )
      .join('; ');
    // Taken from the owner (release) or from its last renewal (expiry), never from anyone else.
    expect(how === 'release' || before.spec?.holderIdentity === owner, around).toBe(true);
    expect(handoverViolations(history), around).toEqual([]);
    await waitFor(
      'vs-gone to be readyToUse',
      async () =>
        (await stack.volumeSnapshots()).find((v) => v.metadata.name === 'vs-gone')?.status?.readyToUse ===
        true
          ? true
          : undefined,
      { timeoutMs: LEASE_DURATION_MS + 150_000, intervalMs: 500 },
    );
    const readyAt = performance.now();
    // From the version before the take (the release, or the owner's last renewal) to the take.
    const waitedMs = (microsOf(taken.object.spec?.acquireTime) - microsOf(before.spec?.renewTime)) / 1000;
    console.log(
      `[ha] force deletion of ${owner} while ${job.object.metadata.name} ran: ${BUCKET_LEASE} ` +
        `taken by ${taken.object.spec?.holderIdentity} after ${seconds(taken.at - killedAt)}, ` +
        (how === 'release'
          ? `${seconds(waitedMs)} after its release`
          : `by expiry, ${seconds(waitedMs)} after the last renewal (LeaseDuration ${seconds(LEASE_DURATION_MS)})`) +
        `; delete → VolumeSnapshot ready ${seconds(readyAt - killedAt)}`,
    );

    const [saves] = await saveHistories(stack, histories, ['vs-gone']);
    expect(counts(saves!)).toEqual(once('vs-gone'));
    expect(await stack.records()).toHaveLength(3);
    // The owner never wrote this Lease again once it was taken: it never held it beside the taker.
    const later = leaseHistory(BUCKET_LEASE);
    expect(later.slice(later.indexOf(taken.object)).filter((v) => v.spec?.holderIdentity === owner)).toEqual(
      [],
    );
    // Over every case so far: no bucket Lease changed hands before a release or its expiry.
    expect(BUCKET_LEASES.flatMap((name) => handoverViolations(leaseHistory(name)))).toEqual([]);
  });
});
