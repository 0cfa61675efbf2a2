import { pino } from 'pino';
import { Observable, Subject } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IndexedStore } from '../../../src/informers/indexed-store.ts';
import type { InformerEvent, StoredObject } from '../../../src/informers/store-types.ts';
import type { Ownership, OwnershipChange } from '../../../src/leader/ownership.ts';
import { Controller, type ControllerOptions } from '../../../src/reconcile/controller.ts';
import { OwnershipLostError, ShutdownError, TerminalError } from '../../../src/reconcile/errors.ts';
import { enqueueObject, enqueueOwner, generationChanged } from '../../../src/reconcile/handlers.ts';
import { RecordingControllerMetrics } from '../../../src/reconcile/metrics.ts';
import type { ReconcileContext, ReconcileResult } from '../../../src/reconcile/result.ts';

interface Obj extends StoredObject {
  metadata: {
    name: string;
    namespace: string;
    generation?: number;
    resourceVersion?: string;
    ownerReferences?: { apiVersion: string; kind: string; name: string; controller?: boolean }[];
  };
}

const log = pino({ level: 'silent' });
const obj = (namespace: string, name: string, extra: Partial<Obj['metadata']> = {}): Obj => ({
  metadata: { namespace, name, ...extra },
});

class FakeSource {
  readonly store = new IndexedStore<Obj>();
  readonly live = new Subject<InformerEvent<Obj>>();
  readonly events$ = this.live.asObservable();
  add(o: Obj): void {
    this.store.upsert(o);
    this.live.next({ type: 'added', object: o });
  }
  modify(o: Obj): void {
    const old = this.store.upsert(o)!;
    this.live.next({ type: 'modified', object: o, old });
  }
}

/** Owns the namespaces in `owned`; shard key = namespace. */
class FakeOwnership implements Ownership {
  readonly owned = new Set<string>();
  readonly changes = new Subject<OwnershipChange>();
  readonly changes$ = this.changes.asObservable();
  isOwner(shard: string): boolean {
    return this.owned.has(shard);
  }
  acquire(shard: string): void {
    this.owned.add(shard);
    this.changes.next({ type: 'acquired', shard, contains: (k) => k === shard, waitUntil: () => {} });
  }
  /** Returns a promise that settles when every waitUntil promise did. */
  lose(shard: string): Promise<unknown> {
    this.owned.delete(shard);
    const waits: Promise<unknown>[] = [];
    this.changes.next({ type: 'lost', shard, contains: (k) => k === shard, waitUntil: (p) => waits.push(p) });
    return Promise.allSettled(waits);
  }
}

type ReconcileFn = (key: string, ctx: ReconcileContext) => Promise<ReconcileResult>;

const controllers: Controller[] = [];
function makeController(reconcile: ReconcileFn, options: Partial<ControllerOptions> = {}) {
  const metrics = new RecordingControllerMetrics();
  const controller = new Controller({
    name: 'test',
    logger: log,
    reconciler: { reconcile },
    metrics,
    ...options,
  });
  controllers.push(controller);
  return { controller, metrics };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(controllers.splice(0).map((c) => c.stop({ deadlineMs: 100, abortGraceMs: 100 })));
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('Controller', () => {
  it('reconciles keys mapped from events, including the cache replayed at start', async () => {
    const source = new FakeSource();
    source.store.upsert(obj('ns', 'existing'));
    const seen: string[] = [];
    const { controller } = makeController(async (key) => {
      seen.push(key);
      return {};
    });
    // A source that replays its store to each subscriber, as an informer does.
    controller.watch(
      {
        store: source.store,
        events$: new Observable<InformerEvent<Obj>>((sub) => {
          for (const o of source.store.list()) sub.next({ type: 'added', object: o });
          return source.live.subscribe(sub);
        }),
      },
      enqueueObject(),
    );
    controller.start();
    source.add(obj('ns', 'new'));
    await vi.waitFor(() => expect(seen.sort()).toEqual(['ns/existing', 'ns/new']));
  });

  it('maps owned objects to their owner and filters with predicates', async () => {
    const jobs = new FakeSource();
    const seen: string[] = [];
    const { controller } = makeController(async (key) => {
      seen.push(key);
      return {};
    });
    controller.watch(jobs, enqueueOwner({ group: 'snapshot.example.io', kind: 'Snap' }), generationChanged());
    controller.start();
    const ownedBy = (owner: string, generation: number, controllerRef = true) =>
      obj('ns', 'job-1', {
        generation,
        ownerReferences: [
          { apiVersion: 'snapshot.example.io/v1', kind: 'Snap', name: owner, controller: controllerRef },
          { apiVersion: 'other.io/v1', kind: 'Snap', name: 'not-this', controller: true },
        ],
      });
    jobs.add(ownedBy('s1', 1));
    await vi.waitFor(() => expect(seen).toEqual(['ns/s1']));
    jobs.modify({ ...ownedBy('s1', 1), metadata: { ...ownedBy('s1', 1).metadata, resourceVersion: '9' } });
    jobs.modify(ownedBy('s2', 2)); // moved to another owner: both are woken
    await vi.waitFor(() => expect(seen.sort()).toEqual(['ns/s1', 'ns/s1', 'ns/s2']));
    jobs.add({
      ...ownedBy('s3', 1, false),
      metadata: { ...ownedBy('s3', 1, false).metadata, name: 'job-2' },
    });
    // A sentinel owned through the same source, queued after: once it is reconciled, s3 would be too.
    jobs.add({ ...ownedBy('sentinel', 1), metadata: { ...ownedBy('sentinel', 1).metadata, name: 'job-3' } });
    await vi.waitFor(() => expect(seen).toContain('ns/sentinel'));
    expect(seen).not.toContain('ns/s3');
  });

  it('requeues a failing key with growing backoff until it succeeds, and counts the errors', async () => {
    let calls = 0;
    const times: number[] = [];
    const { controller, metrics } = makeController(
      async () => {
        times.push(performance.now());
        if (++calls < 4) throw new Error('transient');
        return {};
      },
      { rateLimiter: { baseDelayMs: 20, maxDelayMs: 1_000 } },
    );
    controller.start();
    controller.enqueue('ns/a');
    await vi.waitFor(() => expect(calls).toBe(4));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(19);
    expect(gaps[1]).toBeGreaterThanOrEqual(39);
    expect(gaps[2]).toBeGreaterThanOrEqual(79);
    const c = { controller: 'test' };
    expect(metrics.value('controller_runtime_reconcile_total', { ...c, result: 'error' })).toBe(3);
    expect(metrics.value('controller_runtime_reconcile_total', { ...c, result: 'success' })).toBe(1);
    expect(metrics.value('controller_runtime_reconcile_errors_total', c)).toBe(3);
    expect(controller.queue.numRequeues('ns/a')).toBe(0);
  });

  it('does not requeue a TerminalError (also when wrapped as a cause) and counts it', async () => {
    let calls = 0;
    let sentinelDone = false;
    const { controller, metrics } = makeController(async (key) => {
      if (key === 'ns/sentinel') {
        sentinelDone = true;
        return {};
      }
      calls++;
      if (key === 'ns/wrapped') throw new Error('outer', { cause: new TerminalError('bad spec') });
      throw new TerminalError('bad spec');
    });
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/wrapped');
    await vi.waitFor(() => expect(calls).toBe(2));
    // One worker, in order: once the sentinel ran, both failures were handled (a requeue, even a
    // delayed one, would show in queue.has).
    controller.enqueue('ns/sentinel');
    await vi.waitFor(() => expect(sentinelDone).toBe(true));
    expect(calls).toBe(2);
    expect(controller.queue.has('ns/wrapped')).toBe(false);
    expect(metrics.value('controller_runtime_terminal_reconcile_errors_total', { controller: 'test' })).toBe(
      2,
    );
    expect(controller.queue.has('ns/a')).toBe(false);
  });

  it('survives reconcilers that throw synchronously or throw non-errors, and handlers that throw', async () => {
    const source = new FakeSource();
    let calls = 0;
    const { controller, metrics } = makeController(
      ((key: string) => {
        calls++;
        if (key === 'ns/sync') throw new Error('sync throw');
        return Promise.reject('a string');
      }) as ReconcileFn,
      { rateLimiter: { baseDelayMs: 60_000 } },
    );
    controller.watch(source, (e) => {
      if (e.object.metadata.name === 'bad') throw new Error('handler bug');
      return [`ns/${e.object.metadata.name}`];
    });
    controller.start();
    source.add(obj('ns', 'bad'));
    source.add(obj('ns', 'sync'));
    source.add(obj('ns', 'reject'));
    await vi.waitFor(() => expect(calls).toBe(2));
    expect(metrics.value('controller_runtime_event_handler_errors_total', { controller: 'test' })).toBe(1);
    expect(metrics.value('controller_runtime_reconcile_errors_total', { controller: 'test' })).toBe(2);
  });

  it('requeues after the asked delay without backoff', async () => {
    const times: number[] = [];
    const { controller, metrics } = makeController(async () => {
      times.push(performance.now());
      return times.length < 3 ? { requeueAfter: 30 } : {};
    });
    controller.start();
    controller.enqueue('ns/a');
    await vi.waitFor(() => expect(times).toHaveLength(3));
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(29);
    expect(
      metrics.value('controller_runtime_reconcile_total', { controller: 'test', result: 'requeue_after' }),
    ).toBe(2);
  });

  it('runs distinct keys in parallel up to the worker count, never one key twice at once', async () => {
    let running = 0;
    let maxRunning = 0;
    const runningKeys = new Set<string>();
    let overlap = false;
    let calls = 0;
    const { controller } = makeController(
      async (key) => {
        if (runningKeys.has(key)) overlap = true;
        runningKeys.add(key);
        maxRunning = Math.max(maxRunning, ++running);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        runningKeys.delete(key);
        calls++;
        return {};
      },
      { workers: 3 },
    );
    controller.start();
    for (let round = 0; round < 5; round++) {
      for (const k of ['a', 'b', 'c', 'd', 'e']) controller.enqueue(`ns/${k}`);
      await new Promise((r) => setTimeout(r, 3));
    }
    await vi.waitFor(() => expect(controller.queue.processing + controller.queue.length).toBe(0));
    expect(overlap).toBe(false);
    expect(maxRunning).toBe(3);
    expect(calls).toBeGreaterThanOrEqual(5);
  });
});

describe('Controller with sharded ownership', () => {
  it('queues only owned keys, and queues a whole shard from the cache when it is acquired', async () => {
    const source = new FakeSource();
    const ownership = new FakeOwnership();
    ownership.owned.add('mine');
    const seen: string[] = [];
    const { controller } = makeController(
      async (key) => {
        seen.push(key);
        return {};
      },
      { ownership, shardKey: (k) => k.split('/')[0]! },
    );
    controller.watch(source, enqueueObject());
    controller.start();
    source.add(obj('mine', 'a'));
    source.add(obj('theirs', 'b'));
    source.add(obj('theirs', 'c'));
    await vi.waitFor(() => expect(seen).toEqual(['mine/a']));
    ownership.acquire('theirs');
    await vi.waitFor(() => expect(seen.sort()).toEqual(['mine/a', 'theirs/b', 'theirs/c']));
  });

  it('on loss aborts in-flight reconciles of the shard, drops its queued keys, and reports when they ended', async () => {
    const ownership = new FakeOwnership();
    ownership.owned.add('s1');
    ownership.owned.add('s2');
    const started: string[] = [];
    const aborted: unknown[] = [];
    const blockers = new Map<string, ReturnType<typeof deferred>>();
    let ended = false;
    const { controller, metrics } = makeController(
      async (key, ctx) => {
        started.push(key);
        if (key.endsWith('/sentinel')) return {};
        const gate = deferred();
        blockers.set(key, gate);
        await new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.push(ctx.signal.reason);
            // Cleanup takes a while; the elector must wait for it.
            setTimeout(() => {
              ended = true;
              resolve();
            }, 30);
          });
          void gate.promise.then(resolve);
        });
        ctx.assertOwner();
        return {};
      },
      { ownership, shardKey: (k) => k.split('/')[0]!, workers: 2 },
    );
    controller.start();
    controller.enqueue('s1/a');
    controller.enqueue('s2/x');
    controller.enqueue('s1/b'); // queued behind the two workers
    await vi.waitFor(() => expect(started).toEqual(['s1/a', 's2/x']));
    const released = ownership.lose('s1');
    expect(aborted).toHaveLength(1);
    expect(aborted[0]).toBeInstanceOf(OwnershipLostError);
    expect(ended).toBe(false);
    await released;
    expect(ended).toBe(true);
    blockers.get('s2/x')!.resolve();
    // Queued behind s1/b, in a shard still owned: once it started, s1/b would have.
    controller.enqueue('s2/sentinel');
    await vi.waitFor(() => expect(started).toContain('s2/sentinel'));
    expect(started).toEqual(['s1/a', 's2/x', 's2/sentinel']); // s1/b was dropped, not started
    // An abort for lost ownership is neither an error nor a retry.
    expect(metrics.value('controller_runtime_reconcile_errors_total', { controller: 'test' })).toBe(0);
    expect(controller.queue.has('s1/a')).toBe(false);
  });

  it('assertOwner throws and aborts once the shard is no longer owned, even before any change event', async () => {
    const ownership = new FakeOwnership();
    ownership.owned.add('s');
    let thrown: unknown;
    let signalAborted = false;
    const gate = deferred();
    let began = false;
    const { controller } = makeController(
      async (_key, ctx) => {
        began = true;
        await gate.promise;
        try {
          ctx.assertOwner();
        } catch (err) {
          thrown = err;
          signalAborted = ctx.signal.aborted;
          throw err;
        }
        return {};
      },
      { ownership, shardKey: (k) => k.split('/')[0]! },
    );
    controller.start();
    controller.enqueue('s/a');
    await vi.waitFor(() => expect(began).toBe(true));
    ownership.owned.delete('s'); // e.g. renew deadline passed; the timer has not fired yet
    gate.resolve();
    await vi.waitFor(() => expect(thrown).toBeInstanceOf(OwnershipLostError));
    expect(signalAborted).toBe(true);
  });

  it('skips a key whose shard was lost while it waited', async () => {
    const ownership = new FakeOwnership();
    ownership.owned.add('s');
    ownership.owned.add('kept');
    const seen: string[] = [];
    const { controller } = makeController(
      async (key) => {
        seen.push(key);
        return {};
      },
      { ownership, shardKey: (k) => k.split('/')[0]! },
    );
    controller.queue.add('s/a'); // queued before start, as by a source
    controller.queue.add('kept/sentinel'); // behind it, in a shard still owned
    ownership.owned.delete('s');
    controller.start();
    await vi.waitFor(() => expect(seen).toContain('kept/sentinel'));
    expect(seen).toEqual(['kept/sentinel']);
  });
});

describe('Controller shutdown', () => {
  it('lets in-flight work finish within the deadline and starts nothing new', async () => {
    const started: string[] = [];
    const gate = deferred();
    const { controller } = makeController(async (key) => {
      started.push(key);
      await gate.promise;
      return {};
    });
    controller.start();
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    await vi.waitFor(() => expect(started).toEqual(['ns/a']));
    const stopping = controller.stop({ deadlineMs: 1_000 });
    setTimeout(() => gate.resolve(), 20);
    expect(await stopping).toEqual({ drained: true });
    expect(started).toEqual(['ns/a']);
  });

  it('aborts work past the deadline with ShutdownError and reports whether it ended', async () => {
    const reasons: unknown[] = [];
    const begun: string[] = [];
    const { controller: polite } = makeController(
      (_key, ctx) =>
        new Promise((_, reject) => {
          begun.push('polite');
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        }),
    );
    polite.start();
    polite.enqueue('ns/a');
    await vi.waitFor(() => expect(begun).toEqual(['polite']));
    expect(await polite.stop({ deadlineMs: 20, abortGraceMs: 100 })).toEqual({ drained: true });
    expect(reasons[0]).toBeInstanceOf(ShutdownError);

    const { controller: stubborn } = makeController(() => {
      begun.push('stubborn');
      return new Promise(() => {});
    });
    stubborn.start();
    stubborn.enqueue('ns/a');
    await vi.waitFor(() => expect(begun).toEqual(['polite', 'stubborn']));
    expect(await stubborn.stop({ deadlineMs: 20, abortGraceMs: 20 })).toEqual({ drained: false });
  });
});
