// In-process replicas of the elector for integration tests: each has its own Lease client whose
// network can be cut (calls hang until their timeout, as across a partition).
import { pino } from 'pino';
import type { KubeClient } from '../../../src/informers/kube-client.ts';
import { BucketElector, type BucketElectorOptions } from '../../../src/leader/bucket-elector.ts';
import { kubeLeaseApi, type LeaseApi } from '../../../src/leader/lease-api.ts';
import type { OwnershipChange } from '../../../src/leader/ownership.ts';

export interface PartitionableLeaseApi extends LeaseApi {
  partitioned: boolean;
}

export function partitionable(api: LeaseApi): PartitionableLeaseApi {
  const cut = <T>(call: (signal: AbortSignal) => Promise<T>) =>
    async function (this: PartitionableLeaseApi, signal: AbortSignal): Promise<T> {
      if (!wrapper.partitioned) return call(signal);
      return new Promise<T>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    };
  const wrapper: PartitionableLeaseApi = {
    partitioned: false,
    list: (selector, signal) => cut((s) => api.list(selector, s)).call(wrapper, signal),
    get: (name, signal) => cut((s) => api.get(name, s)).call(wrapper, signal),
    create: (lease, signal) => cut((s) => api.create(lease, s)).call(wrapper, signal),
    update: (lease, signal) => cut((s) => api.update(lease, s)).call(wrapper, signal),
    delete: (name, rv, signal) => cut((s) => api.delete(name, rv, s)).call(wrapper, signal),
  };
  return wrapper;
}

export interface ElectorReplica {
  identity: string;
  elector: BucketElector;
  api: PartitionableLeaseApi;
  changes: { at: number; change: OwnershipChange }[];
}

export function electorReplica(
  client: KubeClient,
  namespace: string,
  identity: string,
  options: Partial<BucketElectorOptions> & { name: string },
): ElectorReplica {
  const api = partitionable(kubeLeaseApi(client, namespace));
  const elector = new BucketElector({
    api,
    identity,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    ...options,
  });
  const changes: ElectorReplica['changes'] = [];
  elector.changes$.subscribe((change) => changes.push({ at: performance.now(), change }));
  return { identity, elector, api, changes };
}
