// A rate-limited, delaying work queue with client-go's semantics (util/workqueue):
//
// - a key waiting in the queue is there once, however often it is added (dirty set);
// - a key handed to a worker is not handed to another until done(key) (processing set);
// - a key added while being processed is queued again when done(key) is called;
// - addAfter keeps the earliest time asked for a key;
// - addRateLimited waits the key's exponential backoff; forget(key) resets it.
//
// Keys are strings. After shutDown, adds are ignored and get() hands out what is left, then
// resolves undefined (client-go's ShutDown); drop() removes keys outright (ownership lost).
import { type ControllerMetrics, noopControllerMetrics, type WorkqueueMetrics } from './metrics.ts';
import { ItemExponentialRateLimiter, type RateLimiterOptions } from './rate-limiter.ts';

export interface WorkQueueOptions {
  /** The `name` label of the workqueue metrics. */
  name: string;
  metrics?: WorkqueueMetrics | ControllerMetrics;
  rateLimiter?: Partial<RateLimiterOptions>;
  /** How often the unfinished-work gauges are refreshed (client-go: 500 ms). */
  unfinishedWorkUpdateMs?: number;
}

interface Waiting {
  key: string;
  readyAt: number;
}

export class WorkQueue {
  readonly name: string;
  readonly #metrics: WorkqueueMetrics;
  readonly #limiter: ItemExponentialRateLimiter;
  // FIFO as an array with a moving head: O(1) push and shift, compacted now and then.
  #queue: string[] = [];
  #head = 0;
  readonly #dirty = new Set<string>();
  /** key → time it started processing. */
  readonly #processing = new Map<string, number>();
  /** key → time it was queued (for workqueue_queue_duration_seconds). */
  readonly #addedAt = new Map<string, number>();
  readonly #getters: ((key: string | undefined) => void)[] = [];
  readonly #drainWaiters: (() => void)[] = [];
  #shuttingDown = false;
  // Delayed adds: the earliest readyAt per key, and a min-heap with lazily dropped stale entries.
  readonly #waitingAt = new Map<string, number>();
  readonly #heap: Waiting[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  readonly #unfinishedTimer: NodeJS.Timeout | undefined;

  constructor(options: WorkQueueOptions) {
    this.name = options.name;
    this.#metrics = options.metrics ?? noopControllerMetrics;
    this.#limiter = new ItemExponentialRateLimiter(options.rateLimiter);
    if (this.#metrics !== noopControllerMetrics) {
      this.#unfinishedTimer = setInterval(
        () => this.#updateUnfinishedWork(),
        options.unfinishedWorkUpdateMs ?? 500,
      );
      this.#unfinishedTimer.unref();
    }
  }

  /** Keys waiting to be handed out (not counting delayed or processing ones). */
  get length(): number {
    return this.#queue.length - this.#head;
  }

  get shuttingDown(): boolean {
    return this.#shuttingDown;
  }

  add(key: string): void {
    if (this.#shuttingDown || this.#dirty.has(key)) return;
    this.#metrics.incAdds(this.name);
    this.#dirty.add(key);
    // Being processed: done() queues it again, so no worker gets it twice at once.
    if (this.#processing.has(key)) return;
    this.#push(key);
  }

  /** Adds the key after `delayMs`; if it is already waiting, the earlier of the two times wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = performance.now() + delayMs;
    const current = this.#waitingAt.get(key);
    if (current !== undefined && current <= readyAt) return;
    this.#waitingAt.set(key, readyAt);
    heapPush(this.#heap, { key, readyAt });
    this.#armTimer();
  }

  /** Adds the key after its backoff (5 ms, 10 ms, 20 ms … per consecutive failure). */
  addRateLimited(key: string): void {
    if (this.#shuttingDown) return;
    this.#metrics.incRetries(this.name);
    this.addAfter(key, this.#limiter.when(key));
  }

  /** Clears the key's failure count: its next rate-limited add waits the base delay again. */
  forget(key: string): void {
    this.#limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.#limiter.numRequeues(key);
  }

  /** The next key, once one is ready; undefined once shut down and empty. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.length > 0) return Promise.resolve(this.#take());
    if (this.#shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#getters.push(resolve));
  }

  /** Marks the key's processing finished; queues it again if it was added meanwhile. */
  done(key: string): void {
    const started = this.#processing.get(key);
    if (started === undefined) return;
    this.#processing.delete(key);
    this.#metrics.observeWorkDuration(this.name, (performance.now() - started) / 1000);
    if (this.#dirty.has(key)) this.#push(key);
    if (this.#processing.size === 0) for (const resolve of this.#drainWaiters.splice(0)) resolve();
  }

  /**
   * Removes every queued, delayed or re-added key matching `predicate` and forgets its backoff;
   * keys being processed stay processing (the caller aborts them) but are not queued again.
   */
  drop(predicate: (key: string) => boolean): void {
    const kept: string[] = [];
    for (let i = this.#head; i < this.#queue.length; i++) {
      const key = this.#queue[i]!;
      if (predicate(key)) this.#addedAt.delete(key);
      else kept.push(key);
    }
    this.#queue = kept;
    this.#head = 0;
    for (const key of [...this.#dirty]) if (predicate(key)) this.#dirty.delete(key);
    for (const key of [...this.#waitingAt.keys()]) if (predicate(key)) this.#waitingAt.delete(key);
    for (const key of [...this.#processing.keys()]) if (predicate(key)) this.#limiter.forget(key);
    this.#metrics.setDepth(this.name, this.length);
  }

  /** True if the key is queued, delayed, or processing. */
  has(key: string): boolean {
    return this.#dirty.has(key) || this.#processing.has(key) || this.#waitingAt.has(key);
  }

  get processing(): number {
    return this.#processing.size;
  }

  /** Stops accepting keys and wakes idle workers; queued keys are still handed out. */
  shutDown(): void {
    this.#shuttingDown = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waitingAt.clear();
    this.#heap.length = 0;
    if (this.#unfinishedTimer !== undefined) clearInterval(this.#unfinishedTimer);
    if (this.length === 0) for (const resolve of this.#getters.splice(0)) resolve(undefined);
  }

  /** Resolves once no key is being processed. */
  async drained(): Promise<void> {
    if (this.#processing.size === 0) return;
    await new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
  }

  #push(key: string): void {
    const getter = this.#getters.shift();
    if (getter !== undefined) {
      // A worker is waiting: hand the key over directly.
      this.#addedAt.set(key, performance.now());
      this.#queue.push(key);
      getter(this.#take());
      return;
    }
    this.#addedAt.set(key, performance.now());
    this.#queue.push(key);
    this.#metrics.setDepth(this.name, this.length);
  }

  #take(): string {
    const key = this.#queue[this.#head++]!;
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    const now = performance.now();
    const addedAt = this.#addedAt.get(key);
    this.#addedAt.delete(key);
    if (addedAt !== undefined) this.#metrics.observeQueueDuration(this.name, (now - addedAt) / 1000);
    this.#processing.set(key, now);
    this.#dirty.delete(key);
    this.#metrics.setDepth(this.name, this.length);
    return key;
  }

  #armTimer(): void {
    const next = this.#heap[0];
    if (next === undefined || next.readyAt >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = next.readyAt;
    this.#timer = setTimeout(() => this.#fireDelayed(), Math.max(0, next.readyAt - performance.now()));
  }

  #fireDelayed(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    while (this.#heap.length > 0 && this.#heap[0]!.readyAt <= now) {
      const { key, readyAt } = heapPop(this.#heap)!;
      // Stale heap entry: the key was re-scheduled earlier, added, or dropped since.
      if (this.#waitingAt.get(key) !== readyAt) continue;
      this.#waitingAt.delete(key);
      this.add(key);
    }
    this.#armTimer();
  }

  #updateUnfinishedWork(): void {
    const now = performance.now();
    let total = 0;
    let longest = 0;
    for (const started of this.#processing.values()) {
      const seconds = (now - started) / 1000;
      total += seconds;
      if (seconds > longest) longest = seconds;
    }
    this.#metrics.setUnfinishedWork(this.name, total);
    this.#metrics.setLongestRunningProcessor(this.name, longest);
  }
}

function heapPush(heap: Waiting[], item: Waiting): void {
  heap.push(item);
  let i = heap.length - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent]!.readyAt <= item.readyAt) break;
    heap[i] = heap[parent]!;
    i = parent;
  }
  heap[i] = item;
}

function heapPop(heap: Waiting[]): Waiting | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top === undefined || last === undefined || heap.length === 0) return top;
  let i = 0;
  while (true) {
    const left = 2 * i + 1;
    if (left >= heap.length) break;
    const right = left + 1;
    const child = right < heap.length && heap[right]!.readyAt < heap[left]!.readyAt ? right : left;
    if (heap[child]!.readyAt >= last.readyAt) break;
    heap[i] = heap[child]!;
    i = child;
  }
  heap[i] = last;
  return top;
}
