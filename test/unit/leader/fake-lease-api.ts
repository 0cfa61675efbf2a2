// Leases in memory with apiserver semantics for what the elector uses: resourceVersion checks on
// update and delete, AlreadyExists on create. Each replica gets its own client whose network can
// be cut (calls hang until their timeout, as across a partition).
import { type LeaseApi, LeaseConflictError, type LeaseObject } from '../../../src/leader/lease-api.ts';

export class FakeLeaseServer {
  readonly leases = new Map<string, LeaseObject>();
  revision = 0;
  writes = 0;

  client(): FakeLeaseClient {
    return new FakeLeaseClient(this);
  }

  holderOf(name: string): string | undefined {
    return this.leases.get(name)?.spec?.holderIdentity;
  }

  stamp(lease: LeaseObject): LeaseObject {
    this.revision++;
    this.writes++;
    const stored = structuredClone({
      ...lease,
      metadata: { ...lease.metadata, resourceVersion: String(this.revision) },
    });
    this.leases.set(stored.metadata.name, stored);
    return structuredClone(stored);
  }
}

export class FakeLeaseClient implements LeaseApi {
  readonly #server: FakeLeaseServer;
  /** While true every call hangs until its signal aborts. */
  partitioned = false;

  constructor(server: FakeLeaseServer) {
    this.#server = server;
  }

  async #net(signal: AbortSignal): Promise<void> {
    await Promise.resolve();
    if (!this.partitioned) return;
    await new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  async list(labelSelector: string, signal: AbortSignal): Promise<LeaseObject[]> {
    await this.#net(signal);
    const [k, v] = labelSelector.split('=') as [string, string];
    return [...this.#server.leases.values()]
      .filter((l) => l.metadata.labels?.[k] === v)
      .map((l) => structuredClone(l));
  }

  async get(name: string, signal: AbortSignal): Promise<LeaseObject | undefined> {
    await this.#net(signal);
    const lease = this.#server.leases.get(name);
    return lease === undefined ? undefined : structuredClone(lease);
  }

  async create(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject> {
    await this.#net(signal);
    if (this.#server.leases.has(lease.metadata.name)) throw new LeaseConflictError('AlreadyExists');
    return this.#server.stamp(lease);
  }

  async update(lease: LeaseObject, signal: AbortSignal): Promise<LeaseObject> {
    await this.#net(signal);
    const current = this.#server.leases.get(lease.metadata.name);
    if (current === undefined) throw new Error('NotFound');
    if (current.metadata.resourceVersion !== lease.metadata.resourceVersion)
      throw new LeaseConflictError('Conflict');
    return this.#server.stamp(lease);
  }

  async delete(name: string, resourceVersion: string, signal: AbortSignal): Promise<void> {
    await this.#net(signal);
    const current = this.#server.leases.get(name);
    if (current === undefined) return;
    if (current.metadata.resourceVersion !== resourceVersion) throw new LeaseConflictError('Conflict');
    this.#server.leases.delete(name);
  }
}
