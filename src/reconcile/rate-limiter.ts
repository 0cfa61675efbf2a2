// Per-key exponential failure backoff (client-go's ItemExponentialFailureRateLimiter): the n-th
// consecutive failure of a key waits base·2^(n-1), capped; Forget starts the key over.

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
}

/** 5 ms doubling to 5 minutes: fast retries for conflicts, minutes apart for persistent failures. */
export const DEFAULT_RATE_LIMITER: RateLimiterOptions = { baseDelayMs: 5, maxDelayMs: 5 * 60_000 };

export class ItemExponentialRateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #failures = new Map<string, number>();

  constructor(options: Partial<RateLimiterOptions> = {}) {
    this.#options = { ...DEFAULT_RATE_LIMITER, ...options };
  }

  /** Records a failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after the cap is reached; min() handles both.
    return Math.min(this.#options.baseDelayMs * 2 ** failures, this.#options.maxDelayMs);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
