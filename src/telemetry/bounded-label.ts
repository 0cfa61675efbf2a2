// A guard on label cardinality. Every label value the driver exports comes from a bounded set
// (operations, methods, gRPC codes, error reasons, etcd clusters), but some of those sets are
// only bounded by what the cluster holds. Past `limit` distinct values a label reads `other`,
// so a bug or an unexpected input can never turn one family into millions of series.
export const OVERFLOW_LABEL = 'other';

export class BoundedLabel {
  readonly #seen = new Set<string>();
  readonly #limit: number;

  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`label limit must be a positive integer, got ${limit}`);
    this.#limit = limit;
  }

  /** The value to export for `value`: itself while the set has room or already holds it. */
  map(value: string): string {
    if (this.#seen.has(value)) return value;
    if (this.#seen.size >= this.#limit) return OVERFLOW_LABEL;
    this.#seen.add(value);
    return value;
  }

  get size(): number {
    return this.#seen.size;
  }
}
