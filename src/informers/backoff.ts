// Exponential backoff with jitter that forgets past failures after a healthy period, like
// client-go's ExponentialBackoffManager (800 ms doubling to 30 s, reset after 2 min, jitter 1.0).
// The jitter spreads the retries of many replicas that lost the apiserver at the same moment.

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  factor: number;
  /** Each delay is stretched by up to this fraction of itself, at random. */
  jitter: number;
  /** A failure more than this long after the previous one starts again from initialMs. */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  initialMs: 800,
  maxMs: 30_000,
  factor: 2,
  jitter: 1,
  resetAfterMs: 120_000,
};

export class Backoff {
  readonly #options: BackoffOptions;
  readonly #random: () => number;
  #nextBaseMs: number;
  #lastFailureAt: number | undefined;

  constructor(options: Partial<BackoffOptions> = {}, random: () => number = Math.random) {
    this.#options = { ...DEFAULT_BACKOFF, ...options };
    this.#random = random;
    this.#nextBaseMs = this.#options.initialMs;
  }

  /** Records a failure at `now` and returns how long to wait before the next attempt. */
  next(now: number = performance.now()): number {
    const { initialMs, maxMs, factor, jitter, resetAfterMs } = this.#options;
    if (this.#lastFailureAt !== undefined && now - this.#lastFailureAt > resetAfterMs) {
      this.#nextBaseMs = initialMs;
    }
    this.#lastFailureAt = now;
    const base = this.#nextBaseMs;
    this.#nextBaseMs = Math.min(base * factor, maxMs);
    return Math.min(base + base * jitter * this.#random(), maxMs * (1 + jitter));
  }

  reset(): void {
    this.#nextBaseMs = this.#options.initialMs;
    this.#lastFailureAt = undefined;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
