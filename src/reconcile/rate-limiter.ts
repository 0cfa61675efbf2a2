// Retry pacing for failed keys, as controller-runtime's default: the larger of a per-key
// exponential backoff (client-go's ItemExponentialFailureRateLimiter: the n-th consecutive failure
// of a key waits base·2^(n-1), capped; Forget starts the key over) and an overall token bucket
// (BucketRateLimiter, 10 retries/s with a burst of 100), so that many keys failing at once — the
// API server down, say — retry at a bounded rate instead of all together.

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Retries per second across all keys; 0 turns the overall limit off. */
  overallPerSecond: number;
  overallBurst: number;
}

/** 5 ms doubling to 5 minutes per key; 10/s with a burst of 100 overall. */
export const DEFAULT_RATE_LIMITER: RateLimiterOptions = {
  baseDelayMs: 5,
  maxDelayMs: 5 * 60_000,
  overallPerSecond: 10,
  overallBurst: 100,
};

/** Tokens refill continuously; each retry takes one, waiting for it when none is left. */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(perSecond: number, burst: number, now: () => number = performance.now.bind(performance)) {
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#updatedAt = now();
  }

  /** Reserves a token and returns how long until it is available (0 when one is there now). */
  reserve(): number {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updatedAt) * this.#perMs);
    this.#updatedAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : -this.#tokens / this.#perMs;
  }
}

export class ItemExponentialRateLimiter {
  readonly #options: RateLimiterOptions;
  readonly #failures = new Map<string, number>();
  readonly #overall: TokenBucket | undefined;

  constructor(options: Partial<RateLimiterOptions> = {}, now?: () => number) {
    this.#options = { ...DEFAULT_RATE_LIMITER, ...options };
    const { overallPerSecond, overallBurst } = this.#options;
    this.#overall =
      overallPerSecond > 0 ? new TokenBucket(overallPerSecond, Math.max(1, overallBurst), now) : undefined;
  }

  /** Records a failure of `key` and returns how long to wait before retrying it. */
  when(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    // 2^failures overflows to Infinity long after the cap is reached; min() handles both.
    const own = Math.min(this.#options.baseDelayMs * 2 ** failures, this.#options.maxDelayMs);
    return Math.max(own, this.#overall?.reserve() ?? 0);
  }

  forget(key: string): void {
    this.#failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.#failures.get(key) ?? 0;
  }
}
