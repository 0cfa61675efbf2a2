// Every record the CSI server writes carries Velero's exclude label (docs/velero.md, "The
// driver's records are not backed up"): a source volume record, snapshot record, name claim or
// restore brought back by a Velero restore would hold IDs and runs of another life.
import { describe, expect, it } from 'vitest';
import { addClaim, MOUNT_CAPABILITY, world } from './fakes.ts';
import { failure, fromSnapshot, readySnapshot } from './restore-fixtures.ts';

type Labelled = { metadata?: { labels?: Record<string, string> } };
const labelsOf = (objects: ReadonlyMap<string, Labelled>) =>
  [...objects.values()].map((o) => o.metadata?.labels?.['velero.io/exclude-from-backup']);

describe('the records the CSI server writes', () => {
  it('are all labelled velero.io/exclude-from-backup=true', async () => {
    const w = world();
    const snapshotId = await readySnapshot(w);
    await w.call('Controller', 'CreateVolume', {
      name: 'pvc-source',
      capacity_range: { required_bytes: 1024 ** 3, limit_bytes: 0 },
      volume_capabilities: [MOUNT_CAPABILITY],
      parameters: { 'etcd-cluster-name': 'main' },
    });
    addClaim(w, 'restored', { cluster: 'main', phase: 'Pending' });
    const answer = await failure(w.call('Controller', 'CreateVolume', fromSnapshot(snapshotId)));
    expect(answer).toMatchObject({ reason: 'VOLUME_RESTORE_IN_PROGRESS' });

    for (const api of [w.volumesApi, w.snapshotsApi, w.nameClaimsApi, w.restoresApi]) {
      expect(api.objects.size).toBeGreaterThan(0);
      expect(labelsOf(api.objects)).toEqual([...api.objects.keys()].map(() => 'true'));
    }
  });
});
