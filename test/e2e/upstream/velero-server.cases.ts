// The real Velero server (test/harness/velero.ts, v1.18.3 with EnableCSI) on the cluster of
// velero.test.ts, one server for every case, which run in order and build on each other: a
// backup of the etcd namespace with one VolumeSnapshot per source claim, then a data-mover
// backup Velero refuses (velero-mover.cases.ts), restores of that backup into the namespace whose
// etcd cluster was deleted and in place (velero-restore.cases.ts), and the backup's deletion
// (velero-delete.cases.ts). The sources' label
// `velero.io/volume-group-snapshot` is not Velero 1.18's group key (`velero.io/volume-group`), so
// each source claim gets a VolumeSnapshot of its own. No group backup here: Velero v1.18.3 never
// finds the members snapshot-controller v8.7.0 makes; velero-group.test.ts runs Velero's group
// backup with snapshot-controller v8.4.0 (docs/velero.md, "Group backups").
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withHostAccess } from '../../harness/existing-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { startS3Server } from '../../harness/s3-server.ts';
import { VOLUME_SNAPSHOT_CLASS, type VolumeSnapshotInfo } from '../../harness/snapshot-stack.ts';
import { startVelero, VELERO_CSI_CLASS_LABEL } from '../../harness/velero.ts';
import { readBackupFromBucket } from '../../harness/velero-bucket.ts';
import { restoredKeys, sha256File } from '../pipeline/env.ts';
import { allKeys, NS, seconds, storedHandles, type UpstreamEnv, type VeleroCase } from './velero-context.ts';
import { backupDeleteCase } from './velero-delete.cases.ts';
import { dataMoverCase } from './velero-mover.cases.ts';
import { restoreCases } from './velero-restore.cases.ts';

export function realVeleroServer(env: () => UpstreamEnv): void {
  describe('the real Velero server (v1.18.3)', () => {
    const c = { single: { name: 'etcd-csi-1', keys: [], files: [] } } as unknown as VeleroCase;

    beforeAll(async () => {
      const t = performance.now();
      c.env = env();
      const { cluster, stack } = c.env;
      c.s3 = await startS3Server(cluster.hostIP, { dir: cluster.dir });
      c.velero = await startVelero(cluster, c.s3);
      await stack.kubectl([
        'label',
        'volumesnapshotclass',
        VOLUME_SNAPSHOT_CLASS,
        `${VELERO_CSI_CLASS_LABEL}=true`,
        '--overwrite',
      ]);
      console.log(
        `velero setup (S3, CRDs, location): ${seconds(t)}; server start → location Available: ${(c.velero.startMs / 1000).toFixed(1)} s`,
      );
    }, 600_000);

    afterAll(async () => {
      await c.velero?.stop();
      await c.s3?.stop();
    });

    it('velero backup create of the etcd namespace: one VolumeSnapshot per source claim, Completed, each file verified', async () => {
      const { cluster, etcd, stack } = c.env;
      const { velero } = c;
      const name = c.single.name;
      await etcd.etcdctl(['put', '/app/velero', 'backed-up']);
      c.single.keys = await allKeys(etcd);
      const t = performance.now();
      await velero.cli(['backup', 'create', name, '--include-namespaces', NS, '--wait'], {
        timeoutMs: 600_000,
      });
      const backup = await velero.waitBackupFinished(name, 600_000);
      console.log(
        `velero backup create (etcd namespace, 2 CSI snapshots) → ${backup.status?.phase}: ${seconds(t)}`,
      );
      expect(backup.status, velero.logTail()).toMatchObject({
        phase: 'Completed',
        csiVolumeSnapshotsAttempted: 2,
        csiVolumeSnapshotsCompleted: 2,
      });

      // What the backup keeps: a VolumeSnapshot per source claim and its content with the handle.
      const stored = await readBackupFromBucket(c.s3, velero, name);
      const snapshots = await stored.itemsOf<VolumeSnapshotInfo>('volumesnapshots.snapshot.storage.k8s.io');
      expect(snapshots.map((s) => s.spec.source.persistentVolumeClaimName).sort()).toEqual([
        'main-dynamic',
        'main-static',
      ]);
      const handles = (await storedHandles(c, name)).map((x) => x.status?.snapshotHandle ?? '');
      expect(new Set(handles).size).toBe(2);
      for (const h of handles) expect(h).toMatch(/^snap-/);

      const records = await stack.records(NS);
      for (const handle of handles) {
        const record = records.find((r) => r.spec.members.some((m) => m.snapshotId === handle));
        expect(record?.status, `record of ${handle}`).toMatchObject({ phase: 'Ready', readyToUse: true });
        const file = await stack.recordFile(record!);
        c.single.files.push({ file, checksum: record!.status!.checksumSha256! });
        await withHostAccess(`the file of ${handle}: SHA-256 and keys`, async () => {
          expect(sha256File(file)).toBe(record!.status!.checksumSha256);
          expect(await restoredKeys(file, join(cluster.dir, 'logs'))).toContain('/app/velero');
        });
      }
      // Velero drops its VolumeSnapshots at the end of the backup, their contents retained first.
      await waitFor(
        'the backup’s VolumeSnapshots to be gone',
        async () => {
          const left = await stack.getJson<{ items: VolumeSnapshotInfo[] }>([
            'volumesnapshots',
            '-n',
            NS,
            '-l',
            `velero.io/backup-name=${name}`,
          ]);
          return left.items.length === 0 ? true : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
    });

    dataMoverCase(c);
    restoreCases(c);
    backupDeleteCase(c);
  });
}
