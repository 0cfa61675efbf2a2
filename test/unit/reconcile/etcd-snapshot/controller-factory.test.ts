import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type { Job, PersistentVolumeClaim, Pod, StatefulSet } from '../../../../src/informers/resources.ts';
import type { InformerEvent, StoredObject } from '../../../../src/informers/store-types.ts';
import type { Ownership, OwnershipChange } from '../../../../src/leader/ownership.ts';
import type { Controller } from '../../../../src/reconcile/controller.ts';
import { createEtcdSnapshotController } from '../../../../src/reconcile/etcd-snapshot/controller-factory.ts';
import { buildSaveJob } from '../../../../src/reconcile/etcd-snapshot/job-spec.ts';
import { resolvePipelineOptions } from '../../../../src/reconcile/etcd-snapshot/options.ts';
import type { EtcdSnapshot } from '../../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';
import { FakeWorld } from './fakes.ts';

class FakeSource<T extends StoredObject> {
  readonly events$ = new Subject<InformerEvent<T>>();
  readonly store = new IndexedStore<T>();
  addIndexer(name: string, fn: (o: T) => readonly string[]) {
    this.store.addIndexer(name, fn);
  }
}

const options = {
  agentImage: 'img',
  executorServiceAccount: 'sa',
  defaultStorageClass: 'standard',
};

function setup(owned: (shard: string) => boolean) {
  const world = new FakeWorld();
  const sources = {
    etcdSnapshots: new FakeSource<EtcdSnapshot>(),
    jobs: new FakeSource<Job>(),
    pods: new FakeSource<Pod>(),
    persistentVolumeClaims: new FakeSource<PersistentVolumeClaim>(),
    statefulSets: new FakeSource<StatefulSet>(),
  };
  const ownership: Ownership = { isOwner: owned, changes$: new Subject<OwnershipChange>() };
  const reconciled: string[] = [];
  const controller = createEtcdSnapshotController({
    client: { request: async () => ({}) as never },
    informers: sources,
    ownership,
    logger: createLogger({ level: 'error', format: 'json' }),
    options,
    health: null,
    api: world,
  });
  // Observe what is queued rather than running the pipeline.
  const add = controller.queue.add.bind(controller.queue);
  controller.queue.add = (key: string) => {
    reconciled.push(key);
    add(key);
  };
  return { world, sources, controller, reconciled };
}

let controller: Controller | undefined;
afterEach(async () => {
  await controller?.stop({ deadlineMs: 100 });
});

describe('createEtcdSnapshotController', () => {
  it('queues only records whose etcd cluster this replica owns (shard = spec.cluster.key)', () => {
    const s = setup((shard) => shard === 'etcd/main');
    controller = s.controller;
    const mine = s.world.addRecord('mine');
    const theirs = s.world.addRecord('theirs', { cluster: 'other' });
    s.sources.etcdSnapshots.store.upsert(mine);
    s.sources.etcdSnapshots.store.upsert(theirs);
    s.controller.start();
    s.sources.etcdSnapshots.events$.next({ type: 'added', object: mine });
    s.sources.etcdSnapshots.events$.next({ type: 'added', object: theirs });
    expect(s.reconciled).toEqual(['etcd/mine']);
  });

  it('maps a Job or pod to its record, and a record that ends to its cluster’s and group’s records', () => {
    const s = setup(() => true);
    controller = s.controller;
    const a = s.world.addRecord('a', { group: 'g' });
    const b = s.world.addRecord('b');
    const c = s.world.addRecord('c', { cluster: 'other', group: 'g' });
    for (const r of [a, b, c]) s.sources.etcdSnapshots.store.upsert(r);
    s.controller.start();
    const job = buildSaveJob(resolvePipelineOptions(options), { record: a, endpoints: ['http://x:2379'] });
    s.sources.jobs.events$.next({ type: 'added', object: job });
    expect(new Set(s.reconciled)).toEqual(new Set(['etcd/a', 'etcd/b']));
    s.reconciled.length = 0;
    const failed = { ...a, status: { phase: 'Failed' as const } };
    s.sources.etcdSnapshots.store.upsert(failed);
    s.sources.etcdSnapshots.events$.next({ type: 'modified', object: failed, old: a });
    expect(new Set(s.reconciled)).toEqual(new Set(['etcd/a', 'etcd/b', 'etcd/c']));
    // A foreign Job wakes nothing.
    s.reconciled.length = 0;
    s.sources.jobs.events$.next({
      type: 'added',
      object: { metadata: { name: 'other', namespace: 'etcd', labels: { app: 'x' } } },
    });
    expect(s.reconciled).toEqual([]);
  });

  it('maps the snapshot claim to the records of its cluster', () => {
    const s = setup(() => true);
    controller = s.controller;
    const a = s.world.addRecord('a');
    s.sources.etcdSnapshots.store.upsert(a);
    s.controller.start();
    s.sources.persistentVolumeClaims.events$.next({
      type: 'modified',
      old: { metadata: { name: 'etcd-snapshots-main', namespace: 'etcd' } },
      object: {
        metadata: {
          name: 'etcd-snapshots-main',
          namespace: 'etcd',
          labels: { app: 'etcd-snapshot-driver', 'snapshot.etcd-snapshot-driver.io/cluster': 'main' },
        },
      },
    });
    expect(s.reconciled).toEqual(['etcd/a']);
  });
});
