// `velero backup delete` through the real Velero server (velero.test.ts): Velero 1.18.3 deletes a
// backup's snapshots through a temporary VolumeSnapshotContent per kept content
// (deletionPolicy Delete, internal/delete/actions/csi/volumesnapshotcontent_action.go), which
// csi-snapshotter turns into DeleteSnapshot calls: the backup's records and files go, those of
// another backup stay, and nothing of the deleted backup is left in the cluster or the bucket.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { withHostAccess } from '../../harness/existing-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { backupKeys } from '../../harness/velero-bucket.ts';
import { sha256File } from '../pipeline/env.ts';
import { NS, seconds, storedHandles, type VeleroCase } from './velero-context.ts';

async function handlesOf(c: VeleroCase, backup: string): Promise<string[]> {
  return (await storedHandles(c, backup)).map((x) => x.status?.snapshotHandle ?? '');
}

export function backupDeleteCase(c: VeleroCase): void {
  it('velero backup delete: its records and files go through DeleteSnapshot, another backup’s stay, nothing left behind', async () => {
    const { stack } = c.env;
    const { velero } = c;
    const kept = 'etcd-csi-2';
    await velero.cli(['backup', 'create', kept, '--include-namespaces', NS, '--wait'], {
      timeoutMs: 600_000,
    });
    expect((await velero.waitBackupFinished(kept, 600_000)).status?.phase, velero.logTail()).toBe(
      'Completed',
    );
    const keptHandles = await handlesOf(c, kept);
    const goneHandles = await handlesOf(c, c.single.name);
    expect(keptHandles).toHaveLength(2);
    expect(goneHandles).toHaveLength(2);
    const recordOf = async (handle: string) =>
      (await stack.records(NS)).find((r) => r.spec.members.some((m) => m.snapshotId === handle));
    const keptFiles = await Promise.all(keptHandles.map(async (h) => stack.recordFile((await recordOf(h))!)));

    const t = performance.now();
    await velero.cli(['backup', 'delete', c.single.name, '--confirm']);
    await waitFor(
      `backup ${c.single.name} and its records to be gone`,
      async () => {
        if (await velero.backup(c.single.name)) return undefined;
        for (const h of goneHandles) if (await recordOf(h)) return undefined;
        return true;
      },
      { timeoutMs: 300_000, intervalMs: 1_000 },
    );
    console.log(`velero backup delete → backup and its 2 records gone: ${seconds(t)}`);

    await withHostAccess('the deleted backup’s files are gone, the kept one’s intact', async () => {
      for (const { file } of c.single.files) expect(existsSync(file), file).toBe(false);
      for (const [i, h] of keptHandles.entries()) {
        const record = await recordOf(h);
        expect(record?.status).toMatchObject({ phase: 'Ready', readyToUse: true });
        expect(sha256File(keptFiles[i]!)).toBe(record?.status?.checksumSha256);
      }
    });
    // Nothing of the deleted backup left: no content (Velero's temporary ones included), no
    // VolumeSnapshot, no object in the bucket. The restores' own static copies (Retain, labelled
    // velero.io/restore-name) are theirs to delete; they now name deleted snapshots.
    type Labelled = { metadata: { labels?: Record<string, string> }; status?: { snapshotHandle?: string } };
    const notRestored = (x: Labelled) => !x.metadata.labels?.['velero.io/restore-name'];
    await waitFor(
      'the deleted backup’s contents to be gone',
      async () => {
        const contents = await stack.getJson<{ items: Labelled[] }>(['volumesnapshotcontents']);
        const left = contents.items.filter(
          (x) => notRestored(x) && goneHandles.includes(x.status?.snapshotHandle ?? ''),
        );
        return left.length === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    const snapshots = await stack.getJson<{ items: Labelled[] }>([
      'volumesnapshots',
      '-A',
      '-l',
      `velero.io/backup-name=${c.single.name}`,
    ]);
    expect(snapshots.items.filter(notRestored)).toEqual([]);
    expect(await backupKeys(c.s3, c.velero, c.single.name)).toEqual([]);
    expect((await backupKeys(c.s3, c.velero, kept)).length).toBeGreaterThan(0);
  }, 900_000);
}
