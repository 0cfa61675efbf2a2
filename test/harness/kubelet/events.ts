// core/v1 Events about pods, as the kubelet's recorder emits them (source.component=kubelet).
// Best effort: events go out one at a time in the background, a repeat of the same event bumps the
// count of the first, and a failure is only logged — a pod worker never waits on an event.
import type { CoreV1Event, V1Pod } from '@kubernetes/client-node';
import { type KubeletApi, mergePatch } from './kube-api.ts';
import type { Log } from './log.ts';

export type EventType = 'Normal' | 'Warning';

interface Sent {
  name: string;
  namespace: string;
  count: number;
}

const MAX_QUEUE = 1000;
const MAX_REMEMBERED = 2000;

export class EventRecorder {
  readonly #api: KubeletApi;
  readonly #nodeName: string;
  readonly #log: Log;
  readonly #queue: Array<() => Promise<void>> = [];
  readonly #sent = new Map<string, Sent>();
  #draining = false;

  constructor(api: KubeletApi, nodeName: string, log: Log) {
    this.#api = api;
    this.#nodeName = nodeName;
    this.#log = log;
  }

  /** `container` names the container the event is about (involvedObject.fieldPath). */
  record(pod: V1Pod, type: EventType, reason: string, message: string, container?: string): void {
    const namespace = pod.metadata?.namespace ?? 'default';
    const podName = pod.metadata?.name ?? '';
    const uid = pod.metadata?.uid ?? '';
    const isInit =
      container !== undefined && (pod.spec?.initContainers ?? []).some((c) => c.name === container);
    const fieldPath = container
      ? `spec.${isInit ? 'initContainers' : 'containers'}{${container}}`
      : undefined;
    if (this.#queue.length >= MAX_QUEUE) return;
    this.#queue.push(async () => {
      const key = `${uid}\u0000${fieldPath ?? ''}\u0000${type}\u0000${reason}\u0000${message}`;
      const now = new Date();
      const previous = this.#sent.get(key);
      if (previous) {
        previous.count++;
        await this.#api.core.patchNamespacedEvent(
          {
            name: previous.name,
            namespace: previous.namespace,
            body: { count: previous.count, lastTimestamp: now.toISOString() },
          },
          mergePatch,
        );
        return;
      }
      const name = `${podName}.${(now.getTime() * 1e6 + this.#sent.size).toString(16)}`;
      const event: CoreV1Event = {
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'Pod',
          namespace,
          name: podName,
          uid,
          ...(fieldPath ? { fieldPath } : {}),
        },
        type,
        reason,
        message,
        source: { component: 'kubelet', host: this.#nodeName },
        reportingComponent: 'kubelet',
        reportingInstance: this.#nodeName,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await this.#api.core.createNamespacedEvent({ namespace, body: event });
      if (this.#sent.size >= MAX_REMEMBERED) this.#sent.clear();
      this.#sent.set(key, { name, namespace, count: 1 });
    });
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let job = this.#queue.shift(); job; job = this.#queue.shift()) {
        try {
          await job();
        } catch (err) {
          this.#log.debug('event not recorded', { error: err instanceof Error ? err.message : String(err) });
        }
      }
    } finally {
      this.#draining = false;
    }
  }
}
