// The real Velero server's data mover against the driver's claims: Velero 1.18.3's CSI PVC
// backup action checks, before it makes any snapshot, that the node-agent DaemonSet has a ready
// pod (pkg/backup/actions/csi/pvc_action.go, nodeagent.IsReady) — the harness runs none — so the
// data mover's backup claim is never made and the driver's own refusal of such a claim
// (test/e2e/upstream/restore-door.test.ts) is not reached: what the user sees is Velero's error.
import { expect, it } from 'vitest';
import type { EtcdRestore } from '../../../src/records/etcd-restore.ts';
import type { VolumeSnapshotInfo } from '../../harness/snapshot-stack.ts';
import { VELERO_NAMESPACE } from '../../harness/velero.ts';
import { allKeys, NS, seconds, type VeleroCase } from './velero-context.ts';

async function etcdRestores(c: VeleroCase): Promise<EtcdRestore[]> {
  return (await c.env.stack.getJson<{ items: EtcdRestore[] }>(['etcdrestores', '-n', NS])).items;
}

export function dataMoverCase(c: VeleroCase): void {
  it('--snapshot-move-data: refused by Velero before any snapshot (no node-agent); nothing restored or changed', async () => {
    const { etcd, stack } = c.env;
    const name = 'etcd-mover-1';
    const records = (await stack.records(NS)).map((r) => r.metadata?.uid).sort();
    const restores = (await etcdRestores(c)).map((r) => r.metadata?.uid);
    const pods = (await etcd.pods()).map((p) => p.metadata?.uid);
    const keys = await allKeys(etcd);

    const t = performance.now();
    await c.velero.cli(
      ['backup', 'create', name, '--include-namespaces', NS, '--snapshot-move-data', '--wait'],
      { timeoutMs: 600_000 },
    );
    const backup = await c.velero.waitBackupFinished(name, 600_000);
    console.log(`velero backup create --snapshot-move-data → ${backup.status?.phase}: ${seconds(t)}`);
    expect(backup.status?.phase, c.velero.logTail()).toBe('PartiallyFailed');
    expect(backup.status?.errors ?? 0).toBeGreaterThanOrEqual(1);
    expect(backup.status?.csiVolumeSnapshotsAttempted ?? 0).toBe(0);
    const { stdout: log } = await c.velero.cli(['backup', 'logs', name]);
    const why = log
      .split('\n')
      .filter((l) => l.includes('node-agent is not ready for snapshot data movement'));
    console.log(`what velero backup logs says:\n${why.slice(0, 2).join('\n')}`);
    expect(why.length).toBeGreaterThanOrEqual(1);

    // No snapshot, no DataUpload, no claim: the driver saw nothing and nothing changed.
    const snapshots = await stack.getJson<{ items: VolumeSnapshotInfo[] }>([
      'volumesnapshots',
      '-A',
      '-l',
      `velero.io/backup-name=${name}`,
    ]);
    expect(snapshots.items).toEqual([]);
    const uploads = await stack.getJson<{ items: unknown[] }>([
      'datauploads.velero.io',
      '-n',
      VELERO_NAMESPACE,
    ]);
    expect(uploads.items).toEqual([]);
    const claims = await stack.getJson<{ items: unknown[] }>(['pvc', '-n', VELERO_NAMESPACE]);
    expect(claims.items).toEqual([]);
    expect((await stack.records(NS)).map((r) => r.metadata?.uid).sort()).toEqual(records);
    expect((await etcdRestores(c)).map((r) => r.metadata?.uid)).toEqual(restores);
    expect((await etcd.pods()).map((p) => p.metadata?.uid)).toEqual(pods);
    expect(await allKeys(etcd)).toEqual(keys);
  }, 600_000);
}
