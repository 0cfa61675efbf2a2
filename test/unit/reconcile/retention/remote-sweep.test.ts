// The orphan sweep over the object store: a cluster whose records name a store has its remote
// snapshots listed by the sweep Job (the store Secret mounted, optional), unowned ones reported
// (metric, Warning on the claim) and, only with --delete-orphan-files and only what two sweeps
// found unowned, deleted.
import { describe, expect, it } from 'vitest';
import { clusterStore } from '../../../../src/reconcile/retention/remote-orphans.ts';
import type { EtcdSnapshot } from '../../../../src/records/etcd-snapshot.ts';
import { claim, record, world } from './fakes.ts';

const JOB = 'snapshot-sweep-etcd-snapshots-main';
const LOCATION = 's3://backups/etcd/main/';

function copied(name: string, secretName = 'store', ageMs?: number): EtcdSnapshot {
  const r = record(name, ageMs !== undefined ? { ageMs } : {});
  r.spec.objectStore = { secretName, compression: 'zstd', mode: 'required' };
  return r;
}

const sweepResult = (remote: Record<string, unknown>) => ({
  operation: 'sweep',
  ok: true,
  sweep: { scanned: 1, unownedCount: 0, unowned: [], deleted: [], remote },
});

describe('RetentionReconciler: remote snapshots', () => {
  it('lists the store of the cluster’s records, reports unowned remote snapshots, deletes them only with the flag at the next sweep', async () => {
    for (const flag of [false, true]) {
      const w = world({ sweepIntervalMs: 60_000, deleteOrphanFiles: flag }, false);
      w.add(copied('a'));
      w.claims.upsert(claim());
      await w.run();
      const pod = w.api.jobs.get(JOB)!.spec!.template.spec!;
      const args = pod.containers[0]!.args!;
      expect(args).toEqual(
        expect.arrayContaining([
          '--store-config-dir=/etc/etcd-snapshot-driver/object-store',
          '--namespace=etcd',
          '--cluster=main',
          '--remote-keep=a',
          '--remote-delete=',
        ]),
      );
      expect(pod.volumes?.find((v) => v.name === 'object-store')?.secret).toMatchObject({
        secretName: 'store',
        optional: true,
      });

      // 'b' got a record meanwhile: owned, no orphan.
      w.add(copied('b'));
      w.api.finish(
        JOB,
        sweepResult({ location: LOCATION, scanned: 4, unownedCount: 2, unowned: ['gone', 'b'], deleted: [] }),
      );
      await w.run();
      expect(w.metrics.remote).toEqual([['etcd/main', 1]]);
      const warn = w.api.events.find((e) => e.event.reason === 'OrphanedRemoteSnapshots');
      expect(warn?.on).toBe('claim/etcd-snapshots-main');
      expect(warn?.event.type).toBe('Warning');
      expect(warn?.event.message).toMatch(
        /^1 remote snapshots under s3:\/\/backups\/etcd\/main\/ no record owns: gone;/,
      );

      w.advance(61_000);
      await w.run();
      const second = w.api.jobs.get(JOB)!.spec!.template.spec!.containers[0]!.args!;
      expect(second).toContain(flag ? '--remote-delete=gone' : '--remote-delete=');
      expect(second).toContain('--remote-keep=a,b');
      w.api.finish(
        JOB,
        sweepResult({
          location: LOCATION,
          scanned: 3,
          unownedCount: 0,
          unowned: [],
          deleted: flag ? ['gone'] : [],
        }),
      );
      await w.run();
      const done = w.api.events.find((e) => e.event.reason === 'OrphanedRemoteSnapshotsDeleted');
      expect(done?.event.message).toBe(
        flag ? `deleted 1 remote snapshots under ${LOCATION} no record owned: gone` : undefined,
      );
    }
  });

  it('a store that cannot be listed is a Warning on the claim, and nothing it reported before is deleted', async () => {
    const w = world({ sweepIntervalMs: 60_000, deleteOrphanFiles: true }, false);
    w.add(copied('a'));
    w.claims.upsert(claim());
    await w.run();
    w.api.finish(
      JOB,
      sweepResult({ location: LOCATION, scanned: 2, unownedCount: 1, unowned: ['gone'], deleted: [] }),
    );
    await w.run();
    w.advance(61_000);
    await w.run();
    w.api.finish(
      JOB,
      sweepResult({
        location: LOCATION,
        scanned: 0,
        unownedCount: 0,
        unowned: [],
        deleted: [],
        error: { reason: 'OBJECT_STORE_AUTH_FAILED', message: 'refused' },
      }),
    );
    await w.run();
    const warn = w.api.events.find((e) => e.event.reason === 'RemoteSweepFailed');
    expect(warn?.event.message).toBe(`sweep of ${LOCATION} failed: OBJECT_STORE_AUTH_FAILED: refused`);
    w.advance(61_000);
    await w.run();
    expect(w.api.jobs.get(JOB)!.spec!.template.spec!.containers[0]!.args).toContain('--remote-delete=');
  });

  it('a cluster whose records name no store sweeps its claim only', async () => {
    const w = world({ sweepIntervalMs: 60_000 }, false);
    w.add(record('a'));
    w.claims.upsert(claim());
    await w.run();
    const pod = w.api.jobs.get(JOB)!.spec!.template.spec!;
    expect(pod.containers[0]!.args!.some((a) => a.startsWith('--store-config-dir'))).toBe(false);
    expect(pod.volumes?.map((v) => v.name)).toEqual(['snapshots']);
  });

  it('the store listed is the newest record’s', () => {
    expect(
      clusterStore([copied('old', 'store-1', 60 * 60_000), copied('new', 'store-2', 60_000), record('x')]),
    ).toBe('store-2');
    expect(clusterStore([record('x')])).toBeUndefined();
  });
});
