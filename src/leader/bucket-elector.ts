// Sharded leader election over Leases (Knative-style buckets, client-go timing). B = 1 is classic
// leader election.
//
// Every RetryPeriod (plus up to 20 % jitter) a replica:
//   1. lists the Leases of its set (one LIST by label: bucket Leases and member Leases);
//   2. renews its member Lease and every bucket Lease it holds, each PUT carrying the
//      resourceVersion it last saw, so a replica with a stale view gets 409 instead of winning;
//   3. asks the share policy what to give up and what to campaign for, and does it.
//
// The parts: membership.ts (member Leases: who is alive), share-policy.ts (pure: which buckets to
// hold), bucket-lease.ts (one bucket's writes and renew deadline: the safety argument is there),
// and this loop, which runs them on an injectable clock (clock.ts).
import { type Observable, Subject } from 'rxjs';
import type { Logger } from '../telemetry/logger.ts';
import { BucketLease } from './bucket-lease.ts';
import { bucketOf, LABEL_LEASE_SET } from './buckets.ts';
import { type Clock, realClock, type Timer } from './clock.ts';
import type { LeaseApi, LeaseObject } from './lease-api.ts';
import { type LeaseCall, leaseCaller } from './lease-calls.ts';
import { isMemberLease } from './lease-objects.ts';
import { Membership } from './membership.ts';
import { type LeaderMetrics, noopLeaderMetrics } from './metrics.ts';
import type { Ownership, OwnershipChange } from './ownership.ts';
import { planShare } from './share-policy.ts';
import { LeaderConfigError, type LeaseTiming, validateTiming } from './timing.ts';

export { microTime } from './lease-objects.ts';

/**
 * Default B. Six splits evenly over 1, 2, 3 and 6 replicas (the sizes this controller is run
 * at: one, or two to three for availability), so load differs by at most one bucket, while
 * keeping Lease traffic small: B renewals per RetryPeriod across the set (3 writes/s at 2 s).
 */
export const DEFAULT_BUCKETS = 6;

/** Extra random wait on each RetryPeriod, so replicas do not all write at the same instant. */
const RETRY_JITTER = 0.2;

export interface BucketElectorOptions {
  api: LeaseApi;
  /** Names the Lease set: `<name>-bucket-<i>-of-<B>` and `<name>-member-<identity>`. */
  name: string;
  /** Unique per process (see defaultIdentity). */
  identity: string;
  buckets?: number;
  timing?: Partial<LeaseTiming>;
  logger: Logger;
  metrics?: LeaderMetrics;
  /** Longest wait for in-flight work before a handover; default RenewDeadline. */
  drainTimeoutMs?: number;
  random?: () => number;
  /** Time and timers; default the real ones. */
  clock?: Clock;
}

export class BucketElector implements Ownership {
  readonly name: string;
  readonly identity: string;
  readonly bucketCount: number;
  readonly timing: LeaseTiming;
  readonly changes$: Observable<OwnershipChange>;
  readonly #api: LeaseApi;
  readonly #call: LeaseCall;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #metrics: LeaderMetrics;
  readonly #random: () => number;
  readonly #buckets: BucketLease[];
  readonly #membership: Membership;
  readonly #changes = new Subject<OwnershipChange>();
  readonly #releases = new Set<Promise<void>>();
  #tickTimer: Timer | undefined;
  #ticking: Promise<void> | undefined;
  #running = false;
  #stopping = false;
  #liveReplicas = 1;

  constructor(options: BucketElectorOptions) {
    const buckets = options.buckets ?? DEFAULT_BUCKETS;
    if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1024) {
      throw new LeaderConfigError(`buckets must be an integer from 1 to 1024, got ${buckets}`);
    }
    if (options.identity === '') throw new LeaderConfigError('identity must not be empty');
    this.timing = validateTiming(options.timing);
    this.name = options.name;
    this.identity = options.identity;
    this.bucketCount = buckets;
    this.#api = options.api;
    this.#clock = options.clock ?? realClock;
    this.#log = options.logger.child({
      component: 'leader',
      lease_set: options.name,
      identity: options.identity,
    });
    this.#metrics = options.metrics ?? noopLeaderMetrics;
    this.#random = options.random ?? Math.random;
    this.#call = leaseCaller(this.#clock, this.#log, this.timing.renewDeadlineMs / 2);
    const writer = { identity: options.identity, leaseDurationMs: this.timing.leaseDurationMs };
    const shared = {
      api: this.#api,
      call: this.#call,
      clock: this.#clock,
      name: this.name,
      bucketCount: buckets,
    };
    this.#membership = new Membership({ ...shared, writer });
    const context = {
      ...shared,
      writer,
      log: this.#log,
      metrics: this.#metrics,
      timing: this.timing,
      drainTimeoutMs: options.drainTimeoutMs ?? this.timing.renewDeadlineMs,
      announce: (change: OwnershipChange) => this.#changes.next(change),
      heldChanged: () =>
        this.#metrics.setBucketsHeld(this.name, this.#buckets.filter((b) => b.counted).length),
    };
    this.#buckets = Array.from({ length: buckets }, (_, index) => new BucketLease(context, index));
    this.changes$ = this.#changes.asObservable();
  }

  bucketOf(key: string): number {
    return bucketOf(key, this.bucketCount);
  }

  isOwner(key: string): boolean {
    return this.#buckets[this.bucketOf(key)]!.owns(this.#clock.now());
  }

  /** Indexes of the buckets this replica currently acts on. */
  heldBuckets(): number[] {
    const now = this.#clock.now();
    return this.#buckets.filter((b) => b.owns(now)).map((b) => b.index);
  }

  /** Replicas seen alive at the last tick, this one included. */
  get liveReplicas(): number {
    return this.#liveReplicas;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const b of this.#buckets) this.#metrics.setMasterStatus(b.leaseName, false);
    this.#metrics.setBucketsHeld(this.name, 0);
    this.#runTick();
  }

  /**
   * Graceful (release: true, the default): stops taking buckets, hands every held bucket over
   * (waiting for in-flight work, see bucket-lease.ts), deletes the member Lease, then stops.
   * release: false stops at once without writing anything, as a crash would look to the others;
   * held buckets are reported lost and expire after LeaseDuration.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (!this.#running) return;
    this.#stopping = true;
    if (options.release ?? true) {
      // The tick loop keeps renewing while buckets drain; it takes nothing new while stopping.
      for (const b of this.#buckets) if (b.held) this.#releaseInBackground(b, 'shutdown');
      await Promise.all([...this.#releases]);
      await this.#haltTicks();
      await Promise.all([...this.#releases]); // an acquisition that was in flight
      await this.#membership.leave();
    } else {
      await this.#haltTicks();
    }
    for (const b of this.#buckets) b.lose('stopped');
    this.#running = false;
    this.#changes.complete();
  }

  async #haltTicks(): Promise<void> {
    this.#running = false;
    this.#tickTimer?.cancel();
    this.#tickTimer = undefined;
    await this.#ticking;
  }

  #runTick(): void {
    this.#ticking = this.#tick()
      .catch((err: unknown) => this.#log.error({ err }, 'leader election tick failed'))
      .finally(() => {
        this.#ticking = undefined;
        if (!this.#running) return;
        const delay = this.timing.retryPeriodMs * (1 + RETRY_JITTER * this.#random());
        this.#tickTimer = this.#clock.after(delay, () => this.#runTick());
      });
  }

  async #tick(): Promise<void> {
    // List first, then write: renewals then carry the newest resourceVersion, and a list that
    // raced with our own write cannot make us believe a bucket was taken from us.
    const leases = await this.#call('list Leases', (signal) =>
      this.#api.list(`${LABEL_LEASE_SET}=${this.name}`, signal),
    );
    if (leases !== undefined) this.#observe(leases, this.#clock.now());
    await Promise.all([
      this.#membership.renew(),
      ...this.#buckets.filter((b) => b.held).map((b) => b.renew()),
    ]);
    if (!this.#running || this.#stopping) return;
    await this.#rebalance(this.#clock.now());
  }

  #observe(leases: LeaseObject[], now: number): void {
    this.#membership.observe(leases, now);
    for (const lease of leases) {
      if (isMemberLease(lease)) continue;
      // A bucket Lease of another B matches none of ours: it is noticed through its member Lease.
      this.#buckets.find((b) => b.leaseName === lease.metadata.name)?.observeListed(lease, now);
    }
  }

  async #rebalance(now: number): Promise<void> {
    const live = this.#membership.live(now);
    this.#liveReplicas = live.size;
    this.#metrics.setLiveReplicas(this.name, live.size);
    this.#membership.collectGarbage(now);
    const { otherBucketCount, decision } = planShare({
      identity: this.identity,
      bucketCount: this.bucketCount,
      live,
      buckets: this.#buckets.map((b) => b.standing(now)),
    });
    if (otherBucketCount !== undefined) {
      this.#log.error(
        { buckets: this.bucketCount, other: otherBucketCount },
        'a live replica uses a different bucket count; holding no buckets until it is gone',
      );
    }
    if (decision.action === 'release') {
      for (const index of decision.buckets) this.#releaseInBackground(this.#buckets[index]!, decision.reason);
      return;
    }
    if (decision.action !== 'campaign') return;
    // Several replicas may go for the same freed bucket; the losers (409) try their next
    // candidates in this same tick rather than a RetryPeriod later.
    const { candidates } = decision;
    let wanted = decision.wanted;
    for (let next = 0; wanted > 0 && next < candidates.length && this.#running && !this.#stopping; ) {
      const batch = candidates.slice(next, next + wanted);
      next += batch.length;
      const won = await Promise.all(batch.map((index) => this.#acquire(this.#buckets[index]!)));
      wanted -= won.filter(Boolean).length;
    }
  }

  async #acquire(b: BucketLease): Promise<boolean> {
    const won = await b.acquire();
    // stop() began while we were writing: hand it straight back rather than let it expire.
    if (won && this.#stopping) this.#releaseInBackground(b, 'shutdown');
    return won;
  }

  #releaseInBackground(b: BucketLease, reason: string): void {
    const task = b.release(reason).finally(() => this.#releases.delete(task));
    this.#releases.add(task);
  }
}
