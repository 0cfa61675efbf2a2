import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../src/informers/backoff.ts';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, jitter: 0, resetAfterMs: 60_000 });
    const delays = [0, 1, 2, 3, 4, 5].map((i) => backoff.next(i));
    expect(delays).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('stretches each delay by up to `jitter` of itself', () => {
    const low = new Backoff({ initialMs: 100, jitter: 1 }, () => 0);
    const high = new Backoff({ initialMs: 100, jitter: 1 }, () => 0.99);
    expect(low.next(0)).toBe(100);
    expect(high.next(0)).toBeCloseTo(199);
  });

  it('starts over after a healthy period without failures', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 10_000, jitter: 0, resetAfterMs: 5_000 });
    backoff.next(0);
    backoff.next(1_000);
    expect(backoff.next(2_000)).toBe(400);
    expect(backoff.next(2_000 + 5_001)).toBe(100);
  });

  it('starts over on reset()', () => {
    const backoff = new Backoff({ initialMs: 100, jitter: 0 });
    backoff.next(0);
    backoff.next(0);
    backoff.reset();
    expect(backoff.next(0)).toBe(100);
  });
});
