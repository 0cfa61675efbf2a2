// Disaster recovery through the real Velero server (issue 15, item 4), from the remote copies
// alone: on local cluster A the driver's class keeps a required remote copy of every snapshot on
// a versitygw that outlives A, and Velero (v1.18.3, EnableCSI) backs the etcd namespace up to a
// bucket of that store; a `velero schedule` there makes a backup that expires with its --ttl,
// and Velero's garbage collection deletes it with its record, file and remote copy, the DR
// backup's staying. Cluster A is then torn down entirely. Local cluster B gets the driver
// with `--import-from-store` naming the re-created store Secret, and Velero on the same bucket:
// the imported records carry A's CSI snapshot IDs, Velero's backup sync finds the backup, and
// `velero restore create --from-backup` re-creates the source claim from its content (A's
// snapshot handle); the driver's door restore fetches the copy and etcd serves exactly the keys of
// backup time. Its own file: the two clusters run one after the other (docs/velero.md, DR runbook).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployEtcdFixture } from '../../harness/etcd-fixture.ts';
import { runEtcdctl } from '../../harness/etcd-processes.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import {
  DRIVER_NAMESPACE,
  type PodInfo,
  type SnapshotStack,
  startSnapshotStack,
  VOLUME_SNAPSHOT_CLASS,
} from '../../harness/snapshot-stack.ts';
import { startVelero, VELERO_CSI_CLASS_LABEL, VELERO_NAMESPACE, type Velero } from '../../harness/velero.ts';
import { backupKeys, storedSnapshotHandles } from '../../harness/velero-bucket.ts';
import { allKeys, NS, seconds } from './velero-context.ts';

const STORE_SECRET = 'store';
const SOURCE = 'main-source';
const BACKUP = 'etcd-dr-1';
const SCHEDULE = 'etcd-every-10s';
/** Short enough that the test sees Velero's expiry; as Velero prints a duration. */
const SCHEDULE_TTL = '1m30s';
const STORE_PARAMETERS = { 'object-store-secret': STORE_SECRET, remote: 'required' };

let s3: S3Server;
const clusters: LocalCluster[] = [];
const stops: (() => Promise<unknown>)[] = [];
/** What cluster A's backup held: etcd's keys and the snapshot IDs its contents name. */
const backedUp = {
  keys: [] as string[],
  snapshotIds: [] as string[],
  record: undefined as RecordInfo | undefined,
};
/** Velero on cluster A. */
let velero: Velero;

const skip = localClusterOnly(
  'test/e2e/upstream/velero-dr.test.ts',
  'runs two local clusters one after the other and a versitygw on the first one’s host address',
);

/** The driver's class as deploy/base has it, plus the store: every snapshot gets a remote copy. */
async function classWithStore(stack: SnapshotStack): Promise<void> {
  await stack.kubectl([
    'patch',
    'volumesnapshotclass',
    VOLUME_SNAPSHOT_CLASS,
    '--type=merge',
    '-p',
    JSON.stringify({ parameters: STORE_PARAMETERS }),
  ]);
  await stack.kubectl([
    'label',
    'volumesnapshotclass',
    VOLUME_SNAPSHOT_CLASS,
    `${VELERO_CSI_CLASS_LABEL}=true`,
  ]);
}

async function storeSecret(cluster: LocalCluster): Promise<void> {
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: STORE_SECRET, namespace: NS },
      stringData: s3.storeSecretData({ maxAttempts: '2' }),
    }),
  });
}

async function startVeleroOn(cluster: LocalCluster, serverArgs: readonly string[] = []): Promise<Velero> {
  const t = performance.now();
  const server = await startVelero(cluster, s3, { serverArgs });
  stops.unshift(() => server.stop());
  console.log(`velero on ${cluster.name}: ${seconds(t)}`);
  return server;
}

beforeAll(async () => {
  if (skip) return;
  const t = performance.now();
  const a = await startLocalCluster({ name: 'velero-dr-a' });
  clusters.push(a);
  // The store outlives cluster A: its data directory is its own, not the cluster's.
  s3 = await startS3Server(a.hostIP);
  const etcd = await deployEtcdFixture(a, { name: 'main', namespace: NS, replicas: 1 });
  const stack = await startSnapshotStack(a, { overlay: 'local', etcdNamespaces: [NS] });
  stops.push(() => stack.stop());
  await storeSecret(a);
  await classWithStore(stack);
  await stack.createDynamicSource(NS, SOURCE, 'main');
  await stack.waitBound(NS, SOURCE);
  await etcd.waitHealthy(120_000);
  console.log(`cluster A setup (cluster, etcd, stack, store, source): ${seconds(t)}`);
}, 600_000);

afterAll(async () => {
  for (const stop of stops) await stop().catch(() => undefined);
  for (const c of clusters) await c.stop().catch(() => undefined);
  await s3?.stop();
});

describe.skipIf(skip)(
  'disaster recovery through Velero into a second cluster, from the remote copies alone',
  () => {
    it('cluster A: velero backup create Completed, its snapshot’s record has its remote copy', async () => {
      const a = clusters[0]!;
      velero = await startVeleroOn(a, ['--garbage-collection-frequency=10s']);
      const etcdEndpoints = await endpointsOf(a);
      await runEtcdctl([`--endpoints=${etcdEndpoints.join(',')}`, 'put', '/app/dr', 'backed-up']);
      await runEtcdctl([`--endpoints=${etcdEndpoints.join(',')}`, 'put', '/app/dr-2', 'also']);
      backedUp.keys = await keysOf(a);

      const t = performance.now();
      await velero.cli(['backup', 'create', BACKUP, '--include-namespaces', NS, '--wait'], {
        timeoutMs: 600_000,
      });
      const backup = await velero.waitBackupFinished(BACKUP, 600_000);
      console.log(`velero backup create (remote copy required) → ${backup.status?.phase}: ${seconds(t)}`);
      expect(backup.status, velero.logTail()).toMatchObject({
        phase: 'Completed',
        csiVolumeSnapshotsAttempted: 1,
        csiVolumeSnapshotsCompleted: 1,
      });
      const records = await recordsOfBackup(a, BACKUP);
      expect(records).toHaveLength(1);
      const [record] = records;
      expect(record?.status).toMatchObject({ phase: 'Ready', readyToUse: true });
      expect(record?.status?.remote?.object).toBeTruthy();
      backedUp.record = record!;
      backedUp.snapshotIds = record!.spec.members.map((m) => m.snapshotId);
    }, 900_000);

    it('cluster A: a velero schedule’s backup gets a remote copy and expires with its --ttl: its record, file and copy go, the other backup’s stay; then A is torn down', async () => {
      const a = clusters[0]!;
      const t = performance.now();
      await velero.cli([
        'schedule',
        'create',
        SCHEDULE,
        // Due 10 s after its creation; Velero looks at schedules once a minute, so the first
        // run comes at that look (with `@every 1m` it came 117 s after the create).
        '--schedule=@every 10s',
        '--include-namespaces',
        NS,
        `--ttl=${SCHEDULE_TTL}`,
      ]);
      const first = await waitFor(
        'the schedule’s first backup to complete',
        async () => (await scheduleBackups(a)).find((b) => b.status?.phase === 'Completed'),
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      // One run is enough: no more are made once the schedule is gone.
      await velero.cli(['schedule', 'delete', SCHEDULE, '--confirm']);
      console.log(`velero schedule create → its first backup Completed: ${seconds(t)}`);
      expect(first.spec?.ttl).toBe(SCHEDULE_TTL);
      expect(first.metadata.labels?.['velero.io/schedule-name']).toBe(SCHEDULE);
      expect(first.status).toMatchObject({ csiVolumeSnapshotsAttempted: 1, csiVolumeSnapshotsCompleted: 1 });
      // Every run of the schedule (a second may have started before the delete): its records.
      const runs = await waitFor(
        'every run of the schedule to finish',
        async () => {
          const all = await scheduleBackups(a);
          return all.every((b) => ['Completed', 'PartiallyFailed', 'Failed'].includes(b.status?.phase ?? ''))
            ? all
            : undefined;
        },
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      const expiring: RecordInfo[] = [];
      for (const run of runs) expiring.push(...(await recordsOfBackup(a, run.metadata.name)));
      expect(expiring.length).toBeGreaterThanOrEqual(1);
      for (const r of expiring) {
        expect(r.status, r.metadata.name).toMatchObject({ phase: 'Ready', readyToUse: true });
        expect(r.status?.remote?.object).toBeTruthy();
        expect((await s3.keysUnder(remotePrefix(r))).objects.length).toBeGreaterThan(0);
      }

      // Velero's garbage collection (every 10 s here) deletes each expired backup as
      // `velero backup delete` does; the driver's DeleteSnapshot takes the remote copy too.
      const t1 = performance.now();
      await waitFor(
        'the schedule’s backups and their records to be gone',
        async () => {
          if ((await scheduleBackups(a)).length > 0) return undefined;
          const names = new Set((await recordsOf(a)).map((r) => r.metadata.name));
          return expiring.every((r) => !names.has(r.metadata.name)) ? true : undefined;
        },
        { timeoutMs: 420_000, intervalMs: 1_000 },
      );
      console.log(`${runs.length} scheduled backup(s) expired → records gone: ${seconds(t1)}`);
      for (const r of expiring) {
        expect(await s3.keysUnder(remotePrefix(r)), r.metadata.name).toEqual({ objects: [], uploads: [] });
      }
      for (const run of runs) expect(await backupKeys(s3, velero, run.metadata.name)).toEqual([]);
      // The DR backup, its record and its copy stay.
      expect((await velero.backup(BACKUP))?.status?.phase).toBe('Completed');
      const kept = (await recordsOf(a)).find((r) => r.metadata.name === backedUp.record?.metadata.name);
      expect(kept?.status).toMatchObject({ phase: 'Ready', readyToUse: true });
      expect((await s3.keysUnder(remotePrefix(kept!))).objects.length).toBeGreaterThan(0);

      // The disaster: Velero, the driver, the cluster and its files gone; only the store is left.
      const t2 = performance.now();
      for (const stop of stops.splice(0)) await stop();
      await a.stop();
      clusters.splice(0);
      console.log(`cluster A torn down: ${seconds(t2)}`);
    }, 1_200_000);

    it('cluster B: driver with --import-from-store, Velero on the same bucket; velero restore brings etcd back with the keys of backup time', async () => {
      expect(backedUp.snapshotIds.length).toBeGreaterThan(0);
      const t = performance.now();
      const b = await startLocalCluster({ name: 'velero-dr-b' });
      clusters.push(b);
      await b.kubectl(['create', 'namespace', NS]);
      await storeSecret(b);
      const stack = await startSnapshotStack(b, { overlay: 'local', etcdNamespaces: [NS] });
      stops.unshift(() => stack.stop());
      await classWithStore(stack);
      await stack.kubectl([
        'set',
        'env',
        '-n',
        DRIVER_NAMESPACE,
        'deployment/etcd-snapshot-driver',
        '-c',
        'driver',
        `IMPORT_FROM_STORE=${NS}/${STORE_SECRET}`,
        'IMPORT_INTERVAL=5s',
      ]);
      await stack.kubectl(
        ['rollout', 'status', '-n', DRIVER_NAMESPACE, 'deployment/etcd-snapshot-driver', '--timeout=300s'],
        { timeoutMs: 320_000 },
      );
      await stack.waitDriverReady();
      console.log(`cluster B setup (cluster, stack, store, --import-from-store): ${seconds(t)}`);

      const t1 = performance.now();
      const imported = await waitFor(
        'the remote copy to be imported as a Ready record',
        async () => {
          const ready = (await recordsOf(b)).filter((r) => r.status?.phase === 'Ready' && r.spec.imported);
          return ready.length === 1 ? ready[0] : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 1_000 },
      );
      expect(imported.spec.members.map((m) => m.snapshotId)).toEqual(backedUp.snapshotIds);
      console.log(`remote copy imported: ${seconds(t1)}`);

      // Velero's first backup sync comes about 1 min after its start (--backup-sync-period=2s
      // did not bring it sooner in a run): the test waits for the Backup to appear.
      const veleroB = await startVeleroOn(b);
      const t2 = performance.now();
      const synced = await waitFor('Velero’s backup sync to find the backup', () => veleroB.backup(BACKUP), {
        timeoutMs: 300_000,
        intervalMs: 1_000,
      });
      expect(synced.status?.phase).toBe('Completed');
      console.log(`backup synced into B: ${seconds(t2)}`);

      const restore = 'etcd-dr-restore-1';
      const t3 = performance.now();
      await veleroB.cli(
        ['restore', 'create', restore, '--from-backup', BACKUP, '--include-namespaces', NS, '--wait'],
        {
          timeoutMs: 900_000,
        },
      );
      const done = await veleroB.waitRestoreFinished(restore, 900_000);
      console.log(
        `velero restore create (door restore from the remote copy) → ${done.status?.phase}: ${seconds(t3)}`,
      );
      if (done.status?.phase !== 'Completed') {
        const { stdout } = await veleroB.cli(['restore', 'describe', restore, '--details']);
        expect.fail(`restore ${restore} ${done.status?.phase}:\n${stdout}\n${veleroB.logTail()}`);
      }
      await stack.waitBound(NS, SOURCE, 300_000);
      const keys = await waitFor(
        'the restored etcd to answer',
        async () => keysOf(b).catch(() => undefined),
        { timeoutMs: 300_000, intervalMs: 1_000 },
      );
      console.log(`velero restore → claim bound, etcd answering: ${seconds(t3)}`);
      expect(keys).toEqual(backedUp.keys);
      expect(
        await runEtcdctl([
          `--endpoints=${(await endpointsOf(b)).join(',')}`,
          'get',
          '/app/dr',
          '--print-value-only',
        ]),
      ).toContain('backed-up');

      // Velero's content named A's snapshot; the door's restore came from the imported record, its
      // copy fetched from the store and verified first (no file of it existed in B before).
      const contents = await stack.getJson<{ items: ContentInfo[] }>(['volumesnapshotcontents']);
      const handles = contents.items.map((c) => c.spec.source?.snapshotHandle ?? c.status?.snapshotHandle);
      expect(handles).toEqual(expect.arrayContaining(backedUp.snapshotIds));
      const restores = (await stack.getJson<{ items: RestoreInfo[] }>(['etcdrestores', '-n', NS])).items;
      expect(restores.length).toBeGreaterThanOrEqual(1);
      for (const r of restores) {
        expect(r.status).toMatchObject({ phase: 'Completed', snapshot: { record: imported.metadata.name } });
        expect(r.status?.fetch?.fetched?.sha256).toBe(imported.status?.checksumSha256);
      }
    }, 1_800_000);
  },
);

interface RestoreInfo {
  status?: { phase?: string; snapshot?: { record?: string }; fetch?: { fetched?: { sha256?: string } } };
}

interface ContentInfo {
  spec: { source?: { snapshotHandle?: string } };
  status?: { snapshotHandle?: string };
}

interface RecordInfo {
  metadata: { name: string };
  spec: { members: { snapshotId: string }[]; imported?: unknown };
  status?: {
    phase?: string;
    readyToUse?: boolean;
    checksumSha256?: string;
    remote?: { object?: string; location?: string };
  };
}

interface ScheduledBackup {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { ttl?: string };
  status?: { phase?: string; csiVolumeSnapshotsAttempted?: number; csiVolumeSnapshotsCompleted?: number };
}

/** The records of a backup's snapshots: by the snapshot handles of the contents it stored. */
async function recordsOfBackup(cluster: LocalCluster, backup: string): Promise<RecordInfo[]> {
  const handles = await storedSnapshotHandles(s3, velero, backup);
  return (await recordsOf(cluster)).filter((r) => r.spec.members.some((m) => handles.includes(m.snapshotId)));
}

/** The Backups the schedule made (Velero labels them with its name). */
async function scheduleBackups(cluster: LocalCluster): Promise<ScheduledBackup[]> {
  const out = await cluster.kubectl([
    'get',
    'backups.velero.io',
    '-n',
    VELERO_NAMESPACE,
    '-l',
    `velero.io/schedule-name=${SCHEDULE}`,
    '-o',
    'json',
  ]);
  return (JSON.parse(out.stdout) as { items: ScheduledBackup[] }).items;
}

/** The key prefix of a record's remote copy in the store's bucket (`s3://<bucket>/<prefix>`). */
function remotePrefix(record: RecordInfo): string {
  const location = record.status?.remote?.location ?? '';
  const prefix = `s3://${s3.bucket}/`;
  if (!location.startsWith(prefix))
    throw new Error(`record ${record.metadata.name}: remote location ${location}`);
  return location.slice(prefix.length);
}

async function recordsOf(cluster: LocalCluster): Promise<RecordInfo[]> {
  const out = await cluster.kubectl(['get', 'etcdsnapshots', '-n', NS, '-o', 'json']);
  return (JSON.parse(out.stdout) as { items: RecordInfo[] }).items;
}

/** The etcd members' client URLs on a cluster (no fixture object in B: Velero made the StatefulSet). */
async function endpointsOf(cluster: LocalCluster): Promise<string[]> {
  const out = await cluster.kubectl(['get', 'pods', '-n', NS, '-l', 'etcd.io/cluster=main', '-o', 'json']);
  const pods = (JSON.parse(out.stdout) as { items: PodInfo[] }).items;
  const ips = pods.map((p) => p.status.podIP).filter((ip): ip is string => Boolean(ip));
  if (ips.length === 0) throw new Error(`no etcd pod with an IP on ${cluster.name}`);
  return ips.map((ip) => `http://${ip}:2379`);
}

async function keysOf(cluster: LocalCluster): Promise<string[]> {
  return allKeys({
    etcdctl: async (args: readonly string[]) =>
      runEtcdctl([`--endpoints=${(await endpointsOf(cluster)).join(',')}`, '--command-timeout=10s', ...args]),
  } as Parameters<typeof allKeys>[0]);
}
