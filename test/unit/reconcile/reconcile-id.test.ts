// Every log line of one reconcile carries the same reconcileID, and the next reconcile of the same
// key another one (controller-runtime does the same), so one snapshot's reconciles can be told
// apart in the logs.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Subject } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { IndexedStore } from '../../../src/informers/indexed-store.ts';
import type { InformerEvent, StoredObject } from '../../../src/informers/store-types.ts';
import { Controller } from '../../../src/reconcile/controller.ts';
import { enqueueObject } from '../../../src/reconcile/handlers.ts';

interface Line {
  key?: string;
  reconcileID?: string;
  msg?: string;
}

const controllers: Controller[] = [];
afterEach(async () => {
  await Promise.all(controllers.splice(0).map((c) => c.stop({ deadlineMs: 100, abortGraceMs: 100 })));
});

describe('reconcile ID', () => {
  it('is one per reconcile, on every line the reconcile logs', async () => {
    const lines: Line[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const text of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(text));
        done();
      },
    });
    const store = new IndexedStore<StoredObject>();
    const events = new Subject<InformerEvent<StoredObject>>();
    let runs = 0;
    let secondDone!: () => void;
    const done = new Promise<void>((resolve) => {
      secondDone = resolve;
    });
    const controller = new Controller({
      name: 'test',
      logger: pino({ level: 'info' }, sink),
      reconciler: {
        async reconcile(_key, ctx) {
          runs++;
          ctx.log.info('first line');
          ctx.log.info('second line');
          if (runs === 1) return { requeueAfter: 1 };
          secondDone();
          return {};
        },
      },
    });
    controllers.push(controller);
    controller.watch({ store, events$: events.asObservable() }, enqueueObject());
    controller.start();
    const object = { metadata: { namespace: 'ns', name: 'a' } };
    store.upsert(object);
    events.next({ type: 'added', object });
    await done;

    const ofReconciles = lines.filter((l) => l.msg === 'first line' || l.msg === 'second line');
    expect(ofReconciles).toHaveLength(4);
    const ids = ofReconciles.map((l) => l.reconcileID);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    // Lines 1–2 are the first reconcile, 3–4 the second.
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[2]);
    expect(ofReconciles.every((l) => l.key === 'ns/a')).toBe(true);
  });
});
