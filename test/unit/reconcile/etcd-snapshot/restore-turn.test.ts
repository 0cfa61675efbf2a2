import { describe, expect, it } from 'vitest';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import { ClusterTurns } from '../../../../src/reconcile/cluster-turns.ts';
import {
  type EtcdRestore,
  etcdRestoreIndexers,
  INDEX_RESTORE_CLUSTER,
} from '../../../../src/records/etcd-restore.ts';
import { FakeWorld, healthy, makeReconciler } from './fakes.ts';

function restores(phase?: 'Restoring' | 'Completed'): IndexedStore<EtcdRestore> {
  const store = new IndexedStore<EtcdRestore>();
  store.addIndexer(INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]);
  store.upsert({
    metadata: { name: 'back', namespace: 'etcd', resourceVersion: '1' },
    spec: { source: { etcdSnapshot: { name: 'old' } }, target: { cluster: 'main' } },
    ...(phase ? { status: { phase } } : {}),
  });
  return store;
}

describe('pipeline reconciler: the cluster turn a restore holds', () => {
  it('a save waits while a restore of its cluster has not ended, with a condition naming it', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run } = makeReconciler(w, async () => healthy, undefined, {
      etcdRestores: restores('Restoring'),
    });
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.calls.filter((c) => c.startsWith('createJob'))).toEqual([]);
    expect(w.record('r1').status?.conditions?.[0]?.message).toContain('the restore back');
  });

  it('a save starts once the restore ended', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const { run } = makeReconciler(w, async () => healthy, undefined, {
      etcdRestores: restores('Completed'),
    });
    await run('r1');
    expect(w.calls).toContain('createJob snapshot-save-r1');
  });

  it('a save waits for a restore this process noted before its cache shows it', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const turns = new ClusterTurns();
    turns.noteIntent('etcd/main', { kind: 'restore', name: 'just-now' });
    const empty = new IndexedStore<EtcdRestore>();
    empty.addIndexer(INDEX_RESTORE_CLUSTER, etcdRestoreIndexers[INDEX_RESTORE_CLUSTER]);
    const { run } = makeReconciler(w, async () => healthy, undefined, { etcdRestores: empty, turns });
    await run('r1');
    expect(w.calls.filter((c) => c.startsWith('createJob'))).toEqual([]);
  });
});
