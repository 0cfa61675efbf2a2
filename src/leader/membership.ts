// Membership: which replicas of the set are alive, from member Leases. Each replica renews
// `<name>-member-<identity>` with its buckets; one that stops renewing drops out after its
// LeaseDuration, a graceful stop deletes it at once. Member Leases that nobody renewed for
// 10 × LeaseDuration are deleted by whoever notices. The count of live replicas, and the bucket
// count each announces, is what the share policy divides the buckets by.
import { ANNOTATION_BUCKETS, memberLeaseName } from './buckets.ts';
import type { Clock } from './clock.ts';
import type { LeaseApi, LeaseObject } from './lease-api.ts';
import type { LeaseCall } from './lease-calls.ts';
import { isMemberLease, memberLease, type Writer } from './lease-objects.ts';
import { expired, leaseDurationMsOf, type Observed, observe } from './observation.ts';

export interface MembershipOptions {
  api: LeaseApi;
  call: LeaseCall;
  clock: Clock;
  /** The Lease set's name. */
  name: string;
  bucketCount: number;
  writer: Writer;
}

/** Unrenewed for this many LeaseDurations, a member Lease is garbage. */
const STALE_AFTER_LEASE_DURATIONS = 10;

export class Membership {
  readonly leaseName: string;
  readonly #o: MembershipOptions;
  /** Our own member Lease as last written or read; undefined until created. */
  #own: LeaseObject | undefined;
  readonly #seen = new Map<string, Observed>();

  constructor(options: MembershipOptions) {
    this.#o = options;
    this.leaseName = memberLeaseName(options.name, options.writer.identity);
  }

  /** Takes in the member Leases of a listing of the set; those not in it are forgotten. */
  observe(leases: LeaseObject[], now: number): void {
    const listed = new Set<string>();
    for (const lease of leases) {
      if (!isMemberLease(lease)) continue;
      const name = lease.metadata.name;
      listed.add(name);
      const previous = this.#seen.get(name);
      this.#seen.set(
        name,
        previous === undefined ? this.#firstSight(lease, now) : observe(previous, lease, now),
      );
    }
    for (const name of [...this.#seen.keys()]) if (!listed.has(name)) this.#seen.delete(name);
  }

  /**
   * A member Lease seen for the first time counts as alive for a LeaseDuration, as any Lease
   * would, unless its renewTime is already older than that by our wall clock: then it is a
   * crashed replica's, and counting it would make a newly started replica campaign for too few
   * buckets for a whole LeaseDuration. Only membership is judged this way: it sets how many
   * buckets to campaign for, never who may act on one (bucket expiry is by observation only).
   */
  #firstSight(lease: LeaseObject, now: number): Observed {
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const durationMs = leaseDurationMsOf(lease, this.#o.writer.leaseDurationMs);
    if (Number.isFinite(renewed) && this.#o.clock.date().getTime() - renewed > durationMs) {
      return { lease, changedAt: now - durationMs - 1 };
    }
    return { lease, changedAt: now };
  }

  /** identity → bucket count announced by each live replica (this one included). */
  live(now: number): Map<string, number> {
    const { identity, leaseDurationMs } = this.#o.writer;
    const live = new Map<string, number>([[identity, this.#o.bucketCount]]);
    for (const m of this.#seen.values()) {
      const holder = m.lease.spec?.holderIdentity;
      if (!holder || holder === identity || expired(m, now, leaseDurationMs)) continue;
      live.set(holder, Number(m.lease.metadata.annotations?.[ANNOTATION_BUCKETS] ?? this.#o.bucketCount));
    }
    return live;
  }

  async renew(): Promise<void> {
    const { api, call, clock, name, bucketCount, writer } = this.#o;
    const lease = memberLease(this.leaseName, name, bucketCount, writer, this.#own, clock.date());
    const written = await call('renew member Lease', (signal) =>
      this.#own ? api.update(lease, signal) : api.create(lease, signal),
    );
    if (written !== undefined) {
      this.#own = written;
      return;
    }
    // Conflict or error: read it again, so the next write carries its current resourceVersion
    // (or creates it, if someone garbage-collected it).
    this.#own = await call('get member Lease', (signal) => api.get(this.leaseName, signal));
  }

  collectGarbage(now: number): void {
    const staleAfter = STALE_AFTER_LEASE_DURATIONS * this.#o.writer.leaseDurationMs;
    for (const [name, m] of this.#seen) {
      const rv = m.lease.metadata.resourceVersion;
      if (name === this.leaseName || rv === undefined || now - m.changedAt < staleAfter) continue;
      this.#seen.delete(name);
      void this.#o.call(`delete stale member Lease ${name}`, (signal) =>
        this.#o.api.delete(name, rv, signal),
      );
    }
  }

  /**
   * Others count this replica until its member Lease is gone; left behind, it would cap their
   * share of buckets for a whole LeaseDuration. A stale resourceVersion (409) is read again.
   */
  async leave(): Promise<void> {
    const { api, call } = this.#o;
    for (let attempt = 0; attempt < 3; attempt++) {
      const rv = this.#own?.metadata.resourceVersion;
      if (rv === undefined) return;
      const deleted = await call('delete member Lease', async (signal) => {
        await api.delete(this.leaseName, rv, signal);
        return true;
      });
      if (deleted) return;
      this.#own = await call('get member Lease', (signal) => api.get(this.leaseName, signal));
    }
  }
}
