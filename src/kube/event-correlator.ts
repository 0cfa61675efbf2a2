// client-go's EventCorrelator habits, as a pure decision on an injected clock: an Event repeated
// within a window (same source, object, type, reason and message) updates the one Event already
// written (count, lastTimestamp) instead of adding another; and once an object has had
// MAX_SIMILAR different messages of one type and reason within the window, the rest are combined
// into one Event whose message says so. A requeue loop therefore writes one Event, not thousands.

export interface KubeEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** The object an Event is about (core/v1 ObjectReference, as much of it as Events need). */
export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid?: string;
  resourceVersion?: string;
}

/** client-go's defaults: a 10-minute window, 10 distinct messages before combining, 4096 keys. */
export const EVENT_WINDOW_MS = 600_000;
export const MAX_SIMILAR = 10;
const MAX_KEYS = 4096;
export const COMBINED_PREFIX = '(combined from similar events): ';

export type EventWrite =
  /** A new Event; `key` is what to remember its name under (recordWritten). */
  | { action: 'create'; key: string; message: string; count: 1; firstMs: number }
  /** The Event `name` again: count and lastTimestamp (and message, for a combined one). */
  | { action: 'update'; key: string; name: string; message: string; count: number; firstMs: number };

interface Written {
  name: string;
  count: number;
  firstMs: number;
  lastMs: number;
}

interface Similar {
  messages: Set<string>;
  sinceMs: number;
}

export class EventCorrelator {
  readonly #now: () => number;
  readonly #windowMs: number;
  /** Dedupe key → the Event written for it. Map order is recency (refreshed on use): LRU. */
  readonly #written = new Map<string, Written>();
  /** Aggregate key (no message) → the distinct messages seen in the current window. */
  readonly #similar = new Map<string, Similar>();

  constructor(options: { now?: () => number; windowMs?: number } = {}) {
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? EVENT_WINDOW_MS;
  }

  /** What to write for this Event now. */
  correlate(source: string, object: InvolvedObject, event: KubeEvent): EventWrite {
    const now = this.#now();
    const aggregateKey = JSON.stringify([
      source,
      object.apiVersion,
      object.kind,
      object.namespace,
      object.name,
      object.uid ?? '',
      event.type,
      event.reason,
    ]);
    let similar = this.#similar.get(aggregateKey);
    if (!similar || now - similar.sinceMs > this.#windowMs) {
      similar = { messages: new Set(), sinceMs: now };
    }
    similar.messages.add(event.message);
    remember(this.#similar, aggregateKey, similar);
    const combined = similar.messages.size >= MAX_SIMILAR;
    const key = combined ? aggregateKey : `${aggregateKey}${JSON.stringify(event.message)}`;
    const message = combined ? `${COMBINED_PREFIX}${event.message}` : event.message;

    const written = this.#written.get(key);
    if (written && now - written.lastMs <= this.#windowMs) {
      return {
        action: 'update',
        key,
        name: written.name,
        message,
        count: written.count + 1,
        firstMs: written.firstMs,
      };
    }
    return { action: 'create', key, message, count: 1, firstMs: now };
  }

  /** The write was made (the API answered): the next repeat updates this Event. */
  recordWritten(write: EventWrite, name: string): void {
    remember(this.#written, write.key, {
      name,
      count: write.count,
      firstMs: write.firstMs,
      lastMs: this.#now(),
    });
  }

  /** The Event is gone (expired by the API's TTL, deleted): the next repeat creates a new one. */
  forget(write: EventWrite): void {
    this.#written.delete(write.key);
  }

  get size(): number {
    return this.#written.size;
  }
}

/** Sets the key as the most recent, dropping the least recent past MAX_KEYS. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > MAX_KEYS) map.delete(map.keys().next().value as string);
}
