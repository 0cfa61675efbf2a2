// One informer per (resource, namespace, selectors), shared by every consumer of the process:
// each watch costs the apiserver a connection and us a full copy of the collection, so two
// reconcilers or a reconciler and a CSI handler asking for Jobs get the same informer.
import type { Logger } from '../telemetry/logger.ts';
import { Informer } from './informer.ts';
import type { KubeClient } from './kube-client.ts';
import { kubeListWatch, type Selectors } from './kube-list-watch.ts';
import type { ReflectorOptions } from './list-watch.ts';
import { type ResourceCoordinates, type ResourceDefinition, resourceId } from './resources.ts';
import type { StoredObject } from './store-types.ts';

export class InformerConflictError extends Error {
  override name = 'InformerConflictError';
}

export interface InformerFactoryOptions {
  logger?: Logger;
  reflector?: Partial<ReflectorOptions>;
}

export class InformerFactory {
  readonly #client: KubeClient;
  readonly #options: InformerFactoryOptions;
  readonly #informers = new Map<string, Informer<StoredObject>>();
  #started = false;

  constructor(client: KubeClient, options: InformerFactoryOptions = {}) {
    this.#client = client;
    this.#options = options;
  }

  /** The shared informer for this resource and selectors, created on first use (and started if the factory is). */
  informerFor<T extends StoredObject>(
    resource: ResourceDefinition<T>,
    selectors: Selectors = {},
  ): Informer<T> {
    const key = informerKey(resource, selectors);
    const existing = this.#informers.get(key) as Informer<T> | undefined;
    if (existing !== undefined) {
      if (existing.resource.transform !== resource.transform || existing.resource.keep !== resource.keep) {
        throw new InformerConflictError(
          `${key}: already informed with a different transform or keep filter; share one resource definition`,
        );
      }
      return existing;
    }
    const informer = new Informer(resource, kubeListWatch(this.#client, resource, selectors), {
      name: key,
      reflector: this.#options.reflector,
      logger: this.#options.logger,
    });
    this.#informers.set(key, informer as unknown as Informer<StoredObject>);
    if (this.#started) informer.start();
    return informer;
  }

  /** Starts every informer, and any created later. */
  start(): void {
    this.#started = true;
    for (const informer of this.#informers.values()) informer.start();
  }

  /** Resolves once every informer created so far has synced. */
  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.waitForSync(signal)));
  }

  informers(): Informer<StoredObject>[] {
    return [...this.#informers.values()];
  }

  async stop(): Promise<void> {
    this.#started = false;
    await Promise.all([...this.#informers.values()].map((i) => i.stop()));
  }
}

export function informerKey(resource: ResourceCoordinates, selectors: Selectors): string {
  const parts = [resourceId(resource)];
  if (selectors.namespace) parts.push(`ns=${selectors.namespace}`);
  if (selectors.labelSelector) parts.push(`labels=${selectors.labelSelector}`);
  if (selectors.fieldSelector) parts.push(`fields=${selectors.fieldSelector}`);
  return parts.join(' ');
}
