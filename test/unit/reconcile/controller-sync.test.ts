// The controller's WaitForCacheSync contract: no worker runs before every source has synced;
// events meanwhile are queued, and reconciled once the last source syncs.
import { pino } from 'pino';
import { BehaviorSubject, Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { IndexedStore } from '../../../src/informers/indexed-store.ts';
import type { InformerEvent, StoredObject } from '../../../src/informers/store-types.ts';
import { Controller } from '../../../src/reconcile/controller.ts';
import { enqueueObject } from '../../../src/reconcile/handlers.ts';

const log = pino({ level: 'silent' });

class SyncingSource {
  readonly store = new IndexedStore<StoredObject>();
  readonly live = new Subject<InformerEvent<StoredObject>>();
  readonly events$ = this.live.asObservable();
  readonly synced = new BehaviorSubject(false);
  readonly synced$ = this.synced.asObservable();
  readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  get hasSynced(): boolean {
    return this.synced.value;
  }
  add(name: string): void {
    const object = { metadata: { namespace: 'ns', name } };
    this.store.upsert(object);
    this.live.next({ type: 'added', object });
  }
}

const started: Controller[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((c) => c.stop({ deadlineMs: 100, abortGraceMs: 100 })));
});

function controllerOn(sources: SyncingSource[], reconciled: string[], alsoSynced: SyncingSource[] = []) {
  let woke!: () => void;
  const first = new Promise<void>((resolve) => {
    woke = resolve;
  });
  const controller = new Controller({
    name: 'sync-test',
    logger: log,
    alsoSynced,
    reconciler: {
      async reconcile(key) {
        reconciled.push(key);
        woke();
        return {};
      },
    },
  });
  for (const s of sources) controller.watch(s, enqueueObject());
  started.push(controller);
  return { controller, first };
}

describe('Controller start-up', () => {
  it('queues events while a source has not synced and reconciles them only once every source has', async () => {
    const records = new SyncingSource('records');
    const contents = new SyncingSource('contents');
    const reconciled: string[] = [];
    const { controller, first } = controllerOn([records, contents], reconciled);
    controller.start();
    records.add('a');
    // No worker took the key: it waits in the queue (a running worker would have it at once).
    expect(controller.queue.length).toBe(1);
    expect(controller.queue.processing).toBe(0);
    expect(controller.hasSynced).toBe(false);

    records.synced.next(true);
    expect(controller.queue.length).toBe(1);
    expect(controller.hasSynced).toBe(false);

    contents.synced.next(true);
    expect(controller.hasSynced).toBe(true);
    await first;
    expect(reconciled).toEqual(['ns/a']);
  });

  it('starts at once when every source has synced already, or reports no sync (an in-memory store)', async () => {
    const synced = new SyncingSource('synced');
    synced.synced.next(true);
    const plain = {
      store: new IndexedStore<StoredObject>(),
      events$: new Subject<InformerEvent<StoredObject>>(),
    };
    const reconciled: string[] = [];
    const { controller, first } = controllerOn([synced], reconciled);
    controller.watch(plain, enqueueObject());
    controller.start();
    expect(controller.hasSynced).toBe(true);
    synced.add('b');
    await first;
    expect(reconciled).toEqual(['ns/b']);
  });

  it('waits for a store it reads without watching it (alsoSynced)', async () => {
    const records = new SyncingSource('records');
    records.synced.next(true);
    const statefulSets = new SyncingSource('statefulsets');
    const reconciled: string[] = [];
    const { controller, first } = controllerOn([records], reconciled, [statefulSets]);
    controller.start();
    records.add('d');
    expect(controller.hasSynced).toBe(false);
    expect(controller.queue.length).toBe(1);
    statefulSets.synced.next(true);
    await first;
    expect(reconciled).toEqual(['ns/d']);
  });

  it('stops cleanly (drained) while still waiting for a sync, and starts no worker afterwards', async () => {
    const source = new SyncingSource('never');
    const reconciled: string[] = [];
    const { controller } = controllerOn([source], reconciled);
    controller.start();
    source.add('c');
    expect(await controller.stop({ deadlineMs: 100 })).toEqual({ drained: true });
    source.synced.next(true);
    expect(controller.hasSynced).toBe(false);
    expect(controller.queue.processing).toBe(0);
    expect(reconciled).toEqual([]);
  });
});
