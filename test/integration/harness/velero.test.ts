// The harness Velero server (test/harness/velero.ts: the real `velero server` of the tools cache
// with velero-plugin-for-aws) against a local control plane and the harness S3 server: its
// backup storage location becomes Available, and `velero backup create` of a namespace without
// volumes completes with the namespace's objects in the bucket, read back from the backup's
// tarball as Velero wrote it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { installSnapshotCrds } from '../../harness/snapshot-stack.ts';
import { startVelero, type Velero } from '../../harness/velero.ts';
import { readBackupFromBucket } from '../../harness/velero-bucket.ts';

const APP = 'app';
let cluster: LocalCluster;
let s3: S3Server;
let velero: Velero;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

beforeAll(async () => {
  // No kubelet: a backup of API objects needs no node, and Velero runs no pod here.
  cluster = await startLocalCluster({ name: 'velero', kubelet: false });
  // With EnableCSI every backup lists VolumeSnapshots: without their CRDs it is PartiallyFailed.
  await installSnapshotCrds(cluster);
  s3 = await startS3Server(cluster.hostIP, { dir: cluster.dir });
  velero = await startVelero(cluster, s3);
  console.log(`velero server start (spawn → location Available): ${seconds(velero.startMs)}`);
}, 600_000);

afterAll(async () => {
  await velero?.stop();
  await s3?.stop();
  await cluster?.stop();
});

describe('the harness Velero server', () => {
  it('finds its backup storage location on the S3 server Available', async () => {
    const { stdout } = await velero.cli(['backup-location', 'get', velero.location]);
    expect(stdout).toMatch(
      new RegExp(`^${velero.location}\\s+aws\\s+${s3.bucket}/${velero.prefix}\\s+Available`, 'm'),
    );
  });

  it('backs up a namespace without volumes: the backup Completed, its objects in the bucket', async () => {
    await cluster.kubectl(['create', 'namespace', APP]);
    await cluster.kubectl(['create', 'configmap', 'settings', '-n', APP, '--from-literal=colour=teal']);
    await cluster.kubectl(['create', 'configmap', 'outside', '-n', 'default', '--from-literal=a=b']);

    const t = performance.now();
    await velero.cli(['backup', 'create', 'app-1', '--include-namespaces', APP, '--wait']);
    const backup = await velero.waitBackupFinished('app-1');
    console.log(
      `velero backup create (namespace, no volumes) → Completed: ${seconds(performance.now() - t)}`,
    );
    expect(backup.status, velero.logTail()).toMatchObject({ phase: 'Completed' });
    expect(backup.status?.errors ?? 0).toBe(0);

    const stored = await readBackupFromBucket(s3, velero, 'app-1');
    expect(stored.keys).toEqual(
      expect.arrayContaining(['app-1.tar.gz', 'app-1-logs.gz', 'velero-backup.json']),
    );
    const item = 'resources/configmaps/namespaces/app/settings.json';
    expect(stored.items).toContain(item);
    expect(stored.items.some((e) => e.includes('/namespaces/default/'))).toBe(false);
    expect((await stored.item<{ data?: Record<string, string> }>(item)).data).toEqual({ colour: 'teal' });
  });

  it('stops with its plugins and its network forwarder: nothing of its process group is left', async () => {
    const { pid } = velero;
    await velero.stop();
    // The group's last members are killed as the leader exits; they are gone once reaped.
    const groupGone = () => {
      try {
        process.kill(-pid, 0);
        return undefined;
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH' ? true : undefined;
      }
    };
    await waitFor(`process group ${pid} to be gone`, groupGone, { timeoutMs: 15_000, intervalMs: 100 });
  });
});
