// A controller: sources (informers) → event handlers → predicates → work queue → N workers →
// reconciler (controller-runtime's internal/controller, reduced to what we use).
//
// Sharding: each key maps to a shard key (default: the key itself) that the Ownership hashes
// to a bucket. Events for keys this replica does not own are not queued; a key is checked again
// at reconcile start and the reconciler checks before every write (ctx.assertOwner()). When a
// bucket is lost, in-flight reconciles of its keys are aborted and its queued keys dropped, and
// the elector is told when they ended (waitUntil) so it releases the Lease only after. When a
// bucket is gained, every key of it is queued from the sources' warm caches.
//
// Start-up: as controller-runtime's Start, workers begin once every source synced (sources-synced.ts).
// Failure handling: an error requeues the key with per-key exponential backoff; a TerminalError
// does not requeue and is counted; a synchronous throw, a rejected promise or a throwing event
// handler is caught, logged and counted and never reaches the process.
import { randomUUID } from 'node:crypto';
import type { Observable, Subscription } from 'rxjs';
import type { InformerEvent, ReadonlyStore, StoredObject } from '../informers/store-types.ts';
import { realClock, settlesWithin } from '../leader/clock.ts';
import { alwaysOwner, type Ownership, type OwnershipChange } from '../leader/ownership.ts';
import type { Logger } from '../telemetry/logger.ts';
import type { ControllerOptions, StopOptions } from './controller-options.ts';
import { isTerminalError, OwnershipLostError, ShutdownError } from './errors.ts';
import type { EventHandler, Predicate } from './handlers.ts';
import { type ControllerMetrics, noopControllerMetrics } from './metrics.ts';
import type { ReconcileContext, Reconciler } from './result.ts';
import { type SyncingSource, whenAllSynced } from './sources-synced.ts';
import { WorkQueue } from './work-queue.ts';

/** What a controller watches: an informer (or anything with these members). */
export interface Source<T extends StoredObject> extends SyncingSource {
  readonly events$: Observable<InformerEvent<T>>;
  readonly store: ReadonlyStore<T>;
}

export type { ControllerOptions, StopOptions } from './controller-options.ts';

interface Watch {
  source: Source<StoredObject>;
  handler: EventHandler<StoredObject>;
  predicates: Predicate<StoredObject>[];
}

interface InFlight {
  shard: string;
  abort: AbortController;
  finished: Promise<void>;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly #reconciler: Reconciler;
  readonly #log: Logger;
  readonly #workers: number;
  readonly #ownership: Ownership;
  readonly #shardKey: (key: string) => string;
  readonly #metrics: ControllerMetrics;
  readonly #watches: Watch[] = [];
  readonly #alsoSynced: readonly SyncingSource[];
  readonly #subscriptions: Subscription[] = [];
  #hasSynced = false;
  #ownershipSubscription: Subscription | undefined;
  readonly #inFlight = new Map<string, InFlight>();
  #workerLoops: Promise<void>[] = [];
  #active = 0;
  #started = false;
  #stopping = false;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.#reconciler = options.reconciler;
    this.#log = options.logger.child({ controller: options.name });
    this.#workers = options.workers ?? 1;
    if (!Number.isInteger(this.#workers) || this.#workers < 1) {
      throw new RangeError(`workers must be a positive integer, got ${this.#workers}`);
    }
    this.#ownership = options.ownership ?? alwaysOwner;
    this.#shardKey = options.shardKey ?? ((key) => key);
    this.#metrics = options.metrics ?? noopControllerMetrics;
    this.#alsoSynced = options.alsoSynced ?? [];
    this.queue = new WorkQueue({
      name: options.name,
      metrics: this.#metrics,
      rateLimiter: options.rateLimiter,
    });
  }

  /** Wakes keys from a source's events: handler maps an event to keys, predicates filter first. */
  watch<T extends StoredObject>(
    source: Source<T>,
    handler: EventHandler<T>,
    ...predicates: Predicate<T>[]
  ): this {
    if (this.#started) throw new Error(`controller ${this.name}: watch() after start()`);
    this.#watches.push({
      source: source as unknown as Source<StoredObject>,
      handler: handler as EventHandler<StoredObject>,
      predicates: predicates as Predicate<StoredObject>[],
    });
    return this;
  }

  /** Queues a key directly (if owned), e.g. from a timer or another controller. */
  enqueue(key: string): void {
    if (this.#ownership.isOwner(this.#shardKey(key))) this.queue.add(key);
  }

  /** True once every source has synced and the workers run. */
  get hasSynced(): boolean {
    return this.#hasSynced;
  }

  /** Subscribes to the sources (each replays its cache as adds); workers start once all synced. */
  start(): void {
    if (this.#started) throw new Error(`controller ${this.name} already started`);
    this.#started = true;
    this.#ownershipSubscription = this.#ownership.changes$.subscribe({
      next: (change) => this.#onOwnershipChange(change),
      error: (err: unknown) => this.#log.error({ err }, 'ownership stream failed'),
    });
    for (const watch of this.#watches) {
      this.#subscriptions.push(
        watch.source.events$.subscribe({
          next: (event) => this.#onEvent(watch, event, undefined),
          error: (err: unknown) => this.#log.error({ err }, 'source stream failed'),
        }),
      );
    }
    this.#metrics.setActiveWorkers(this.name, 0);
    const startWorkers = () => {
      if (this.#stopping) return;
      this.#hasSynced = true;
      this.#workerLoops = Array.from({ length: this.#workers }, () => this.#worker());
    };
    const sources = [...this.#watches.map((w) => w.source), ...this.#alsoSynced];
    this.#subscriptions.push(whenAllSynced(sources, this.#log, startWorkers));
  }

  /**
   * Stops taking events, lets in-flight reconciles finish until the deadline, then aborts the rest
   * (ShutdownError) and waits a grace period for them. `drained` is true when nothing is left
   * running: only then may the caller release the Leases guarding this work.
   */
  async stop(options: StopOptions = {}): Promise<{ drained: boolean }> {
    if (!this.#started || this.#stopping) return { drained: this.#inFlight.size === 0 };
    this.#stopping = true;
    const { deadlineMs = 30_000, abortGraceMs = 5_000 } = options;
    // Sources first: no new keys. The ownership subscription stays until the end, so a bucket
    // lost during the drain still aborts its reconciles at once.
    for (const s of this.#subscriptions.splice(0)) s.unsubscribe();
    this.queue.shutDown();
    const workersDone = Promise.all(this.#workerLoops);
    let drained = await settlesWithin(workersDone, deadlineMs, realClock);
    if (!drained) {
      this.#log.warn(
        { in_flight: this.#inFlight.size },
        'shutdown deadline passed; aborting in-flight reconciles',
      );
      for (const entry of this.#inFlight.values()) {
        entry.abort.abort(new ShutdownError(`controller ${this.name} shut down`));
      }
      drained = await settlesWithin(workersDone, abortGraceMs, realClock);
    }
    this.#ownershipSubscription?.unsubscribe();
    if (!drained)
      this.#log.error({ in_flight: this.#inFlight.size }, 'reconciles ignored abort; not drained');
    return { drained };
  }

  #onEvent(watch: Watch, event: InformerEvent<StoredObject>, only: OwnershipChange | undefined): void {
    if (this.#stopping) return;
    try {
      for (const predicate of watch.predicates) if (!predicate(event)) return;
      for (const key of watch.handler(event)) {
        const shard = this.#shardKey(key);
        if (only !== undefined ? only.contains(shard) : this.#ownership.isOwner(shard)) this.queue.add(key);
      }
    } catch (err) {
      this.#metrics.incHandlerErrors(this.name);
      this.#log.error({ err, event: event.type }, 'event handler threw; event skipped');
    }
  }

  #onOwnershipChange(change: OwnershipChange): void {
    if (change.type === 'acquired') {
      if (this.#stopping) return;
      // The caches are warm: queue every key of the new shard, as if its objects were just added.
      for (const watch of this.#watches) {
        for (const object of watch.source.store.list()) {
          this.#onEvent(watch, { type: 'added', object }, change);
        }
      }
      this.#log.info({ shard: change.shard }, 'shard acquired; queued its keys');
      return;
    }
    this.queue.drop((key) => change.contains(this.#shardKey(key)));
    const ending: Promise<void>[] = [];
    for (const [key, entry] of this.#inFlight) {
      if (!change.contains(entry.shard)) continue;
      entry.abort.abort(new OwnershipLostError(key));
      ending.push(entry.finished);
    }
    change.waitUntil(Promise.all(ending));
    this.#log.info({ shard: change.shard, aborted: ending.length }, 'shard lost; dropped its keys');
  }

  async #worker(): Promise<void> {
    while (true) {
      const key = await this.queue.get();
      if (key === undefined) return;
      if (this.#stopping) {
        // Shutting down: keys not yet started are left for the next owner (or next start).
        this.queue.done(key);
        continue;
      }
      await this.#process(key);
    }
  }

  async #process(key: string): Promise<void> {
    const shard = this.#shardKey(key);
    if (!this.#ownership.isOwner(shard)) {
      this.queue.forget(key);
      this.queue.done(key);
      return;
    }
    const abort = new AbortController();
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.#inFlight.set(key, { shard, abort, finished });
    this.#metrics.setActiveWorkers(this.name, ++this.#active);
    // controller-runtime's reconcileID: one reconcile's lines can be told from the next one's of
    // the same key, and followed next to its trace ID.
    const log = this.#log.child({ key, reconcileID: randomUUID() });
    const ctx: ReconcileContext = {
      signal: abort.signal,
      log,
      assertOwner: () => {
        if (!abort.signal.aborted && !this.#ownership.isOwner(shard))
          abort.abort(new OwnershipLostError(key));
        abort.signal.throwIfAborted();
      },
    };
    const started = performance.now();
    try {
      // Called inside the try (not just awaited) so a synchronous throw is caught too.
      const result = (await this.#reconciler.reconcile(key, ctx)) ?? {};
      if (abort.signal.reason instanceof OwnershipLostError) {
        this.queue.forget(key);
      } else if (result.requeueAfter !== undefined && result.requeueAfter > 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, result.requeueAfter);
        this.#metrics.incReconcile(this.name, 'requeue_after');
      } else {
        this.queue.forget(key);
        this.#metrics.incReconcile(this.name, 'success');
      }
    } catch (err) {
      const reason: unknown = abort.signal.reason;
      if (abort.signal.aborted && (reason instanceof OwnershipLostError || reason instanceof ShutdownError)) {
        // Not a failure: the work was taken away. The next owner reconciles the key from scratch.
        this.queue.forget(key);
        log.info({ reason: (reason as Error).message }, 'reconcile aborted');
      } else if (isTerminalError(err)) {
        this.queue.forget(key);
        this.#metrics.incReconcile(this.name, 'error');
        this.#metrics.incReconcileErrors(this.name);
        this.#metrics.incTerminalErrors(this.name);
        log.error({ err }, 'reconcile failed terminally; not retrying');
      } else {
        this.queue.addRateLimited(key);
        this.#metrics.incReconcile(this.name, 'error');
        this.#metrics.incReconcileErrors(this.name);
        log.warn({ err, retries: this.queue.numRequeues(key) }, 'reconcile failed; retrying with backoff');
      }
    } finally {
      this.#metrics.observeReconcileTime(this.name, (performance.now() - started) / 1000);
      this.#metrics.setActiveWorkers(this.name, --this.#active);
      this.#inFlight.delete(key);
      this.queue.done(key);
      finish();
    }
  }
}
