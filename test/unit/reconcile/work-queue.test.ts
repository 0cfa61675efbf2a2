import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RecordingControllerMetrics } from '../../../src/reconcile/metrics.ts';
import { ItemExponentialRateLimiter, TokenBucket } from '../../../src/reconcile/rate-limiter.ts';
import { WorkQueue } from '../../../src/reconcile/work-queue.ts';

/** Resolves what get() would hand out right now, or 'nothing' if it would wait. */
async function poll(queue: WorkQueue): Promise<string | undefined | 'nothing'> {
  let got: string | undefined | 'nothing' = 'nothing';
  let resolved = false;
  const pending = queue.get().then((key) => {
    resolved = true;
    got = key;
  });
  await Promise.resolve();
  await Promise.resolve();
  if (!resolved) {
    // Leave no dangling getter behind: satisfy it with a throwaway key.
    queue.add('__poll__');
    await pending;
    queue.done('__poll__');
    return 'nothing';
  }
  return got;
}

async function drainNow(queue: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (true) {
    const key = await poll(queue);
    if (key === 'nothing' || key === undefined) return out;
    out.push(key);
  }
}

beforeEach(() => {
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance', 'Date'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('WorkQueue', () => {
  it('hands keys out in FIFO order and queues a pending key once', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await drainNow(queue)).toEqual(['a', 'b']);
  });

  it('never hands a key to two workers at once; a key re-added while processing comes back after done', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.add('a');
    expect(await queue.get()).toBe('a');
    queue.add('a');
    queue.add('a');
    expect(queue.length).toBe(0);
    expect(await poll(queue)).toBe('nothing');
    queue.done('a');
    expect(await drainNow(queue)).toEqual(['a']);
    queue.done('a');
    expect(await poll(queue)).toBe('nothing');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue({ name: 'q' });
    const waiting = queue.get();
    queue.add('x');
    expect(await waiting).toBe('x');
  });

  it('adds after a delay, keeping the earliest time asked for a key', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.addAfter('a', 1_000);
    queue.addAfter('a', 300);
    queue.addAfter('a', 2_000);
    queue.addAfter('b', 500);
    await vi.advanceTimersByTimeAsync(299);
    expect(queue.length).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(await drainNow(queue)).toEqual(['a']);
    queue.done('a');
    await vi.advanceTimersByTimeAsync(200);
    expect(await drainNow(queue)).toEqual(['b']);
    queue.done('b');
    // The later requests for "a" were superseded, not kept as extra entries.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(queue.length).toBe(0);
  });

  it('adds at once for a zero or negative delay', () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.addAfter('a', 0);
    queue.addAfter('b', -5);
    expect(queue.length).toBe(2);
  });

  it('a delayed add of a key already queued does not duplicate it', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.add('a');
    queue.addAfter('a', 10);
    await vi.advanceTimersByTimeAsync(10);
    expect(queue.length).toBe(1);
  });

  it('backs a key off exponentially per failure and starts over after forget', async () => {
    const queue = new WorkQueue({ name: 'q', rateLimiter: { baseDelayMs: 5, maxDelayMs: 60_000 } });
    const readyAfter = async (): Promise<number> => {
      queue.addRateLimited('k');
      let waited = 0;
      while (queue.length === 0) {
        await vi.advanceTimersByTimeAsync(1);
        waited++;
      }
      expect(await queue.get()).toBe('k');
      queue.done('k');
      return waited;
    };
    expect([await readyAfter(), await readyAfter(), await readyAfter(), await readyAfter()]).toEqual([
      5, 10, 20, 40,
    ]);
    expect(queue.numRequeues('k')).toBe(4);
    queue.forget('k');
    expect(queue.numRequeues('k')).toBe(0);
    expect(await readyAfter()).toBe(5);
  });

  it('drops matching keys from the queue, the delayed set and the re-add set', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.add('drop/1');
    queue.add('keep/1');
    queue.addAfter('drop/2', 100);
    queue.add('drop/3');
    expect(await queue.get()).toBe('drop/1');
    queue.add('drop/1'); // re-added while processing
    queue.drop((k) => k.startsWith('drop/'));
    queue.done('drop/1');
    await vi.advanceTimersByTimeAsync(200);
    expect(await drainNow(queue)).toEqual(['keep/1']);
  });

  it('after shutDown ignores adds, hands out what is left, then resolves undefined', async () => {
    const queue = new WorkQueue({ name: 'q' });
    const idle = new WorkQueue({ name: 'idle' });
    const waiting = idle.get();
    idle.shutDown();
    expect(await waiting).toBeUndefined();

    queue.add('a');
    queue.addAfter('later', 10);
    queue.shutDown();
    queue.add('b');
    expect(await queue.get()).toBe('a');
    queue.done('a');
    await vi.advanceTimersByTimeAsync(20);
    expect(await queue.get()).toBeUndefined();
  });

  it('drained() resolves once nothing is processing', async () => {
    const queue = new WorkQueue({ name: 'q' });
    queue.add('a');
    await queue.get();
    let drained = false;
    void queue.drained().then(() => {
      drained = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(false);
    queue.done('a');
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toBe(true);
  });

  it('reports depth, adds, retries, queue and work durations, and unfinished work', async () => {
    const metrics = new RecordingControllerMetrics();
    const queue = new WorkQueue({ name: 'q', metrics });
    const labels = { name: 'q' };
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(metrics.value('workqueue_adds_total', labels)).toBe(2);
    expect(metrics.value('workqueue_depth', labels)).toBe(2);
    await vi.advanceTimersByTimeAsync(250);
    expect(await queue.get()).toBe('a');
    expect(metrics.value('workqueue_depth', labels)).toBe(1);
    expect(metrics.observed('workqueue_queue_duration_seconds', labels)).toEqual([0.25]);
    // The gauges refresh every 500 ms; the next refresh after this is at t = 1.5 s.
    await vi.advanceTimersByTimeAsync(1_250);
    expect(metrics.value('workqueue_unfinished_work_seconds', labels)).toBeCloseTo(1.25);
    expect(metrics.value('workqueue_longest_running_processor_seconds', labels)).toBeCloseTo(1.25);
    queue.done('a');
    expect(metrics.observed('workqueue_work_duration_seconds', labels)).toEqual([1.25]);
    queue.addRateLimited('a');
    expect(metrics.value('workqueue_retries_total', labels)).toBe(1);
    queue.shutDown();
  });
});

describe('ItemExponentialRateLimiter', () => {
  it('caps the delay, even after very many failures', () => {
    const limiter = new ItemExponentialRateLimiter({
      baseDelayMs: 5,
      maxDelayMs: 300_000,
      overallPerSecond: 0,
    });
    const delays = Array.from({ length: 2_000 }, () => limiter.when('k'));
    expect(delays.slice(0, 3)).toEqual([5, 10, 20]);
    expect(delays.at(-1)).toBe(300_000);
    expect(Math.max(...delays)).toBe(300_000);
  });

  it('keeps keys apart', () => {
    const limiter = new ItemExponentialRateLimiter();
    limiter.when('a');
    limiter.when('a');
    expect(limiter.when('b')).toBe(5);
    expect(limiter.when('a')).toBe(20);
  });
});

describe('overall retry limit (token bucket)', () => {
  it('lets a burst through, then paces retries at the rate across keys', () => {
    let now = 0;
    const limiter = new ItemExponentialRateLimiter({ overallPerSecond: 10, overallBurst: 100 }, () => now);
    // 100 different keys failing at once: their own first backoff (5 ms) applies.
    for (let i = 0; i < 100; i++) expect(limiter.when(`k${i}`)).toBe(5);
    // The next ones wait for tokens: 100 ms apart at 10/s.
    expect(limiter.when('k100')).toBeCloseTo(100);
    expect(limiter.when('k101')).toBeCloseTo(200);
    now = 1_000; // ten tokens came back, two of which were already promised
    expect(limiter.when('k102')).toBe(5);
  });

  it('never lets the bucket hold more than its burst', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 3, () => now);
    now = 3_600_000;
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    expect(bucket.reserve()).toBeCloseTo(100);
  });

  it('is off with overallPerSecond 0: only the per-key backoff counts', () => {
    const limiter = new ItemExponentialRateLimiter({ overallPerSecond: 0 }, () => 0);
    for (let i = 0; i < 500; i++) expect(limiter.when(`k${i}`)).toBe(5);
  });
});
