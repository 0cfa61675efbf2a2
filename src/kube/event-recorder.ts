// The one writer of core/v1 Events: every reconciler records through it, so every Event is
// aggregated the same way (event-correlator.ts). A repeat is a merge patch of the Event written
// first (count, lastTimestamp); an Event the API has dropped since (its TTL, an hour by default)
// is written anew. Recording never fails the caller: errors go to onError.
import { randomBytes } from 'node:crypto';
import { isNotFound } from './api-errors.ts';
import type { JsonRequester } from './custom-objects.ts';
import { EventCorrelator, type EventWrite, type InvolvedObject, type KubeEvent } from './event-correlator.ts';

export type { InvolvedObject, KubeEvent } from './event-correlator.ts';

/** The API server keeps an Event's message to 1 KiB; longer ones are refused. */
const MAX_MESSAGE = 1024;

export interface EventRecorderOptions {
  /** source.component of the Events. */
  component: string;
  /** Called when an Event cannot be written (logged by the caller; never thrown). */
  onError(err: unknown, event: KubeEvent): void;
  now?: () => number;
  windowMs?: number;
}

export class EventRecorder {
  readonly #client: JsonRequester;
  readonly #options: EventRecorderOptions;
  readonly #correlator: EventCorrelator;
  readonly #now: () => number;

  constructor(client: JsonRequester, options: EventRecorderOptions) {
    this.#client = client;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#correlator = new EventCorrelator({
      now: this.#now,
      ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
    });
  }

  async record(object: InvolvedObject, event: KubeEvent, signal: AbortSignal): Promise<void> {
    const write = this.#correlator.correlate(this.#options.component, object, event);
    try {
      if (write.action === 'update') {
        try {
          await this.#update(object.namespace, write, signal);
          this.#correlator.recordWritten(write, write.name);
          return;
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.#correlator.forget(write);
        }
      }
      const name = await this.#create(object, event, write, signal);
      this.#correlator.recordWritten({ ...write, count: 1, firstMs: this.#now() }, name);
    } catch (err) {
      this.#options.onError(err, event);
    }
  }

  #eventsPath(namespace: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`;
  }

  async #create(object: InvolvedObject, event: KubeEvent, write: EventWrite, signal: AbortSignal) {
    const name = `${object.name}.${randomBytes(6).toString('hex')}`;
    const now = new Date(this.#now()).toISOString();
    await this.#client.request('POST', this.#eventsPath(object.namespace), {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace: object.namespace },
        involvedObject: object,
        type: event.type,
        reason: event.reason,
        message: write.message.slice(0, MAX_MESSAGE),
        source: { component: this.#options.component },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
      signal,
    });
    return name;
  }

  async #update(namespace: string, write: EventWrite & { action: 'update' }, signal: AbortSignal) {
    await this.#client.request('PATCH', `${this.#eventsPath(namespace)}/${encodeURIComponent(write.name)}`, {
      body: {
        count: write.count,
        lastTimestamp: new Date(this.#now()).toISOString(),
        message: write.message.slice(0, MAX_MESSAGE),
      },
      contentType: 'application/merge-patch+json',
      signal,
    });
  }
}
