// One copy of each repeated string among cached objects. JSON.parse gives every object its own
// copy of a value such as a Job condition's reason or message ("Reached expected number of
// succeeded pods"), so 10 000 cached Jobs hold 10 000 copies of a handful of strings. A pool
// shares them. It is bounded: only fields with a small vocabulary are passed to it, and once
// full it hands strings back unpooled, so a field that turns out to be varied costs the cache
// nothing more than before, and nothing it pooled is kept alive past the cap.

export class StringPool {
  readonly #strings = new Map<string, string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The pooled copy of `value`, pooling it if there is room. */
  intern(value: string): string;
  intern(value: string | undefined): string | undefined;
  intern(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const pooled = this.#strings.get(value);
    if (pooled !== undefined) return pooled;
    if (this.#strings.size < this.#capacity) this.#strings.set(value, value);
    return value;
  }

  get size(): number {
    return this.#strings.size;
  }
}
