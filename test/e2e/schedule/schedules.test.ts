// EtcdSnapshotSchedules on the local cluster: the driver (deploy/overlays/local, with the test
// flag --schedule-seconds-for-tests through its environment) creates VolumeSnapshots that the
// real snapshot-controller and csi-snapshotter make ready; retention prunes exactly the oldest of
// the schedule's own ones (their records and files go with them) while a hand-made snapshot
// survives; a suspended schedule creates nothing; a driver down across slots makes up one run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import type { EtcdSnapshotSchedule } from '../../../src/records/etcd-snapshot-schedule.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { withHostAccess } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  type ContentInfo,
  DRIVER_NAMESPACE,
  type SnapshotStack,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
  type VolumeSnapshotInfo,
} from '../../harness/snapshot-stack.ts';

const NS = 'etcd';
const LABEL_SCHEDULE = 'snapshot.etcd-snapshot-driver.io/schedule';
const ANNOTATION_SLOT = 'snapshot.etcd-snapshot-driver.io/scheduled-time';
let cluster: LocalCluster;
let etcd: EtcdFixture;
let stack: SnapshotStack;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'schedules' });
  etcd = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 1 });
  stack = await startSnapshotStack(cluster, { overlay: 'local', etcdNamespaces: [NS] });
  await stack.createDynamicSource(NS, 'main-source', 'main', { 'backup.example.com/fleet': 'yes' });
  await stack.waitBound(NS, 'main-source');
  await etcd.waitHealthy(120_000);
  // The test flag: six-field (seconds) cron expressions.
  await stack.kubectl([
    'set',
    'env',
    '-n',
    DRIVER_NAMESPACE,
    'deployment/etcd-snapshot-driver',
    '-c',
    'driver',
    'SCHEDULE_SECONDS_FOR_TESTS=true',
  ]);
  await waitFor(
    'a ready driver pod with the seconds flag',
    async () => {
      const pods = (await stack.driverPods()).filter((p) => !p.metadata.deletionTimestamp);
      const spec = await Promise.all(
        pods.map((p) =>
          stack.getJson<{ spec: { containers: { name: string; env?: { name: string }[] }[] } }>([
            'pod',
            '-n',
            DRIVER_NAMESPACE,
            p.metadata.name,
          ]),
        ),
      );
      const flagged = pods.filter((_p, i) =>
        spec[i]!.spec.containers.some(
          (c) => c.name === 'driver' && c.env?.some((e) => e.name === 'SCHEDULE_SECONDS_FOR_TESTS'),
        ),
      );
      const ready = flagged.filter((p) => (p.status.containerStatuses ?? []).every((c) => c.ready));
      return pods.length === 1 && ready.length === 1 ? true : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 1_000 },
  );
}, 600_000);

afterAll(async () => {
  await stack?.stop();
  await cluster?.stop();
});

function schedule(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
    kind: 'EtcdSnapshotSchedule',
    metadata: { name, namespace: NS },
    spec: { target: { cluster: 'main' }, snapshot: { className: VOLUME_SNAPSHOT_CLASS }, ...spec },
  };
}

async function runsOf(name: string): Promise<VolumeSnapshotInfo[]> {
  const list = await stack.getJson<{ items: VolumeSnapshotInfo[] }>([
    'volumesnapshots',
    '-n',
    NS,
    '-l',
    `${LABEL_SCHEDULE}=${name}`,
  ]);
  return list.items.filter((v) => !v.metadata.deletionTimestamp);
}

async function getSchedule(name: string): Promise<EtcdSnapshotSchedule> {
  return stack.getJson<EtcdSnapshotSchedule>([
    'etcdsnapshotschedules.snapshot.etcd-snapshot-driver.io',
    name,
    '-n',
    NS,
  ]);
}

const slotOf = (v: VolumeSnapshotInfo) => v.metadata.annotations?.[ANNOTATION_SLOT] ?? '';

async function recordOf(handle: string): Promise<EtcdSnapshot | undefined> {
  return (await stack.records(NS)).find((r) => r.spec.members.some((m) => m.snapshotId === handle));
}

describe('EtcdSnapshotSchedule', () => {
  it('a bad spec is refused: Valid=False names the field and the value, nothing is created', async () => {
    await stack.apply([schedule('bad-zone', { schedule: '*/5 * * * * *', timeZone: 'Mars/Olympus' })]);
    const bad = await waitFor(
      'the Valid=False condition of bad-zone',
      async () => {
        const c = (await getSchedule('bad-zone')).status?.conditions?.find((x) => x.type === 'Valid');
        return c?.status === 'False' ? c : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(bad.reason).toBe('SCHEDULE_INVALID');
    expect(bad.message).toContain('spec.timeZone: "Mars/Olympus"');
    // The API server refuses what the schema can tell (CEL): H, and two targets.
    const refused = await stack
      .apply([
        schedule('bad-cel', {
          schedule: 'H * * * *',
          target: { cluster: 'main', selector: { matchLabels: { a: 'b' } } },
        }),
      ])
      .then(() => '')
      .catch((err: Error) => err.message);
    expect(refused).toMatch(/H \(a random value\)/);
    expect(refused).toMatch(/exactly one of target.cluster and target.selector/);
    expect(await runsOf('bad-zone')).toEqual([]);
  });

  it('runs become ready through the real snapshot path; keepLast prunes exactly the oldest, files too; a hand-made snapshot survives', async () => {
    await stack.apply([
      {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'by-hand', namespace: NS },
        spec: {
          volumeSnapshotClassName: VOLUME_SNAPSHOT_CLASS,
          source: { persistentVolumeClaimName: 'main-source' },
        },
      },
    ]);
    await stack.waitVolumeSnapshotReady(NS, 'by-hand');
    // Every 10 s: a run slower than that only makes the next slot a SkippedRun (Forbid), so the
    // four runs come as fast as the snapshot path allows.
    await stack.apply([schedule('every-10s', { schedule: '*/10 * * * * *', retention: { keepLast: 2 } })]);

    // Watch the runs: each one seen ready, with its content handle (its record) while it lives.
    const seen = new Map<string, { slot: string; handle?: string }>();
    await waitFor(
      'four runs of every-10s to have become ready',
      async () => {
        for (const v of await runsOf('every-10s')) {
          const entry = seen.get(v.metadata.name) ?? { slot: slotOf(v) };
          if (v.status?.readyToUse && !entry.handle && v.status.boundVolumeSnapshotContentName) {
            const content = await stack.getJson<ContentInfo>([
              'volumesnapshotcontent',
              v.status.boundVolumeSnapshotContentName,
            ]);
            if (content.status?.snapshotHandle) entry.handle = content.status.snapshotHandle;
          }
          seen.set(v.metadata.name, entry);
        }
        return [...seen.values()].filter((e) => e.handle).length >= 4 ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 1_000 },
    );
    // Suspend, so the set stops moving, and let retention settle.
    await stack.kubectl([
      'patch',
      'etcdsnapshotschedule',
      'every-10s',
      '-n',
      NS,
      '--type=merge',
      '-p',
      '{"spec":{"suspend":true}}',
    ]);
    const ready = [...seen.entries()]
      .filter(([, e]) => e.handle)
      .sort(([, a], [, b]) => a.slot.localeCompare(b.slot));
    const kept = await waitFor(
      'retention to keep only the two newest ready runs',
      async () => {
        const live = (await runsOf('every-10s')).filter((v) => v.status?.readyToUse);
        const pending = (await runsOf('every-10s')).filter((v) => !v.status?.readyToUse && !v.status?.error);
        return live.length === 2 && pending.length === 0 ? live : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    const keptSlots = kept.map(slotOf).sort();
    // Exactly the oldest were pruned: every pruned ready run is older than both kept ones.
    const pruned = ready.filter(([name]) => !kept.some((k) => k.metadata.name === name));
    expect(pruned.length).toBeGreaterThanOrEqual(2);
    for (const [, e] of pruned) expect(e.slot < keptSlots[0]!).toBe(true);
    // Their records (and files) went with them, through the upstream path.
    for (const [name, e] of pruned) {
      await waitFor(
        `the record of pruned run ${name} to be gone`,
        async () => ((await recordOf(e.handle!)) ? undefined : true),
        {
          timeoutMs: 120_000,
          intervalMs: 1_000,
        },
      );
    }
    await withHostAccess('the snapshot directories of the pruned runs', async () => {
      const dirs = await stack.snapshotDirs(NS, 'main');
      const live = (await stack.records(NS)).map((r) => r.metadata?.name ?? '');
      for (const d of dirs) expect(live.some((r) => d.endsWith(r))).toBe(true);
    });
    // The hand-made snapshot is never a candidate.
    const byHand = await stack.getJson<VolumeSnapshotInfo>(['volumesnapshot', 'by-hand', '-n', NS]);
    expect(byHand.status?.readyToUse).toBe(true);
    const status = (await getSchedule('every-10s')).status;
    expect(status?.clusters?.main?.lastSuccessfulTime).toBeTruthy();
    expect(status?.clusterCount).toBe(1);
  }, 600_000);

  it('a suspended schedule creates nothing', async () => {
    await stack.apply([schedule('suspended', { schedule: '*/5 * * * * *', suspend: true })]);
    const created = Date.now();
    // The lane decides slots while suspended (status), so its passing slots are observable.
    await waitFor(
      'two slots of the suspended schedule to pass decided',
      async () => {
        const decided = (await getSchedule('suspended')).status?.clusters?.main?.lastDecidedSlot;
        return decided && Date.parse(decided) > created + 5_000 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    expect(await runsOf('suspended')).toEqual([]);
  }, 180_000);

  it('a driver down across several slots makes up exactly one run, never a burst', async () => {
    await stack.apply([schedule('outage', { schedule: '*/15 * * * * *', retention: { keepLast: 10 } })]);
    const first = await waitFor(
      // Ready first: a run still in progress at the made-up slot would be skipped (Forbid), rightly.
      'a first run of outage, ready',
      async () => ((await runsOf('outage')).some((v) => v.status?.readyToUse) ? true : undefined),
      { timeoutMs: 180_000, intervalMs: 500 },
    );
    expect(first).toBe(true);
    await stack.kubectl(['scale', '-n', DRIVER_NAMESPACE, 'deployment/etcd-snapshot-driver', '--replicas=0']);
    await waitFor('no driver pod', async () => ((await stack.driverPods()).length === 0 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    const before = new Set((await runsOf('outage')).map((v) => v.metadata.name));
    const down = Date.now();
    // Three slots pass with no driver (the clock is the condition).
    await waitFor('three slots to pass', async () => (Date.now() > down + 46_000 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    await stack.kubectl(['scale', '-n', DRIVER_NAMESPACE, 'deployment/etcd-snapshot-driver', '--replicas=1']);
    await stack.waitDriverReady(1);
    const made = await waitFor(
      'the made-up run',
      async () => {
        const after = (await runsOf('outage')).filter((v) => !before.has(v.metadata.name));
        return after.length > 0 ? after : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    // A burst would create every missed slot's run at once: all with slots before the first
    // creation. Exactly one is; the rest of the outage's slots are counted missed.
    const created = (v: VolumeSnapshotInfo) =>
      Date.parse((v.metadata as { creationTimestamp?: string }).creationTimestamp ?? '');
    const firstCreated = Math.min(...made.map(created));
    const madeUp = made.filter((v) => Date.parse(slotOf(v)) <= firstCreated);
    expect(madeUp).toHaveLength(1);
    expect(Date.parse(slotOf(madeUp[0]!))).toBeGreaterThan(down);
    const missed = await waitFor(
      'the missed slots in status',
      async () => {
        const n = (await getSchedule('outage')).status?.clusters?.main?.missedRuns ?? 0;
        return n >= 2 ? n : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(missed).toBeGreaterThanOrEqual(2);
  }, 420_000);
});
