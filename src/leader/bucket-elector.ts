// Sharded leader election over Leases (Knative-style buckets, client-go timing). B = 1 is classic
// leader election.
//
// Every RetryPeriod (plus up to 20 % jitter) a replica:
//   1. lists the Leases of its set (one LIST by label: bucket Leases and member Leases);
//   2. renews its member Lease and every bucket Lease it holds, each PUT carrying the
//      resourceVersion it last saw, so a replica with a stale view gets 409 instead of winning;
//   3. counts the live replicas R (member Leases seen changing within LeaseDuration) and holds
//      at most ceil(B / R) buckets: it releases the surplus, and takes free or expired buckets
//      (in its own rendezvous order) up to that limit.
//
// Safety. A replica acts on a bucket only while `now < sentAt + RenewDeadline`, where sentAt is
// when it SENT the last renewal that succeeded. Others take a bucket over only when
// `now > observedAt + LeaseDuration`, where observedAt is when THEY last saw the Lease's
// resourceVersion change (never the holder's renewTime: clocks of different machines are not
// compared). Since observedAt ≥ sentAt and LD > RD, the old holder has stopped before anyone else
// may start, with LD − RD to spare. A deadline timer flips ownership off on time, and isOwner()
// also checks the clock itself in case that timer runs late.
//
// Handing over. A bucket given up on purpose (rebalancing or shutdown) first stops counting as
// owned, then emits 'lost' and waits for the consumers' in-flight work (OwnershipChange.waitUntil),
// still renewing meanwhile, and only then writes an empty holder, so the next owner can take it
// at once without overlapping. A bucket whose renew deadline passed is just lost: no write.
//
// Membership. Each replica holds `<name>-member-<identity>`, renewed with the buckets; a replica
// that stops renewing it drops out of R after LeaseDuration, a graceful stop deletes it at once.
// Member Leases that nobody renewed for 10 × LeaseDuration are deleted by whoever notices.
import { type Observable, Subject } from 'rxjs';
import type { Logger } from '../telemetry/logger.ts';
import {
  ANNOTATION_BUCKETS,
  bucketLeaseName,
  bucketOf,
  LABEL_LEASE_ROLE,
  LABEL_LEASE_SET,
  memberLeaseName,
  preference,
} from './buckets.ts';
import { type LeaseApi, LeaseConflictError, type LeaseObject } from './lease-api.ts';
import { type LeaderMetrics, noopLeaderMetrics } from './metrics.ts';
import type { Ownership, OwnershipChange } from './ownership.ts';
import { LeaderConfigError, type LeaseTiming, validateTiming } from './timing.ts';

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
}

interface Observed {
  lease: LeaseObject;
  /** Local time (performance.now) at which this replica saw the resourceVersion change. */
  changedAt: number;
}

interface Bucket {
  index: number;
  leaseName: string;
  observed: Observed | undefined;
  held: boolean;
  /** Given up on purpose: not owned any more, still renewed until released. */
  releasing: boolean;
  /** The empty holder is being written: renewals stop, so they cannot race the release into a 409. */
  handingOver: boolean;
  /** The renewal in flight, which a release waits out before it writes. */
  renewing: Promise<void> | undefined;
  /** Owned while performance.now() < validUntil. */
  validUntil: number;
  deadlineTimer: NodeJS.Timeout | undefined;
  /** Not taken again before this, after handing it over (avoids ping-pong). */
  cooldownUntil: number;
  /** The resourceVersion our release wrote; a later one means someone else has acted on it. */
  releasedVersion: string | undefined;
}

export class BucketElector implements Ownership {
  readonly name: string;
  readonly identity: string;
  readonly bucketCount: number;
  readonly timing: LeaseTiming;
  readonly changes$: Observable<OwnershipChange>;
  readonly #api: LeaseApi;
  readonly #log: Logger;
  readonly #metrics: LeaderMetrics;
  readonly #random: () => number;
  readonly #drainTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #buckets: Bucket[];
  readonly #members = new Map<string, Observed>();
  readonly #memberLeaseName: string;
  readonly #changes = new Subject<OwnershipChange>();
  readonly #releases = new Set<Promise<void>>();
  #memberLease: LeaseObject | undefined;
  #tickTimer: NodeJS.Timeout | undefined;
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
    this.#log = options.logger.child({
      component: 'leader',
      lease_set: options.name,
      identity: options.identity,
    });
    this.#metrics = options.metrics ?? noopLeaderMetrics;
    this.#random = options.random ?? Math.random;
    this.#drainTimeoutMs = options.drainTimeoutMs ?? this.timing.renewDeadlineMs;
    this.#requestTimeoutMs = this.timing.renewDeadlineMs / 2;
    this.#memberLeaseName = memberLeaseName(options.name, options.identity);
    this.#buckets = Array.from({ length: buckets }, (_, index) => ({
      index,
      leaseName: bucketLeaseName(options.name, index, buckets),
      observed: undefined,
      held: false,
      releasing: false,
      handingOver: false,
      renewing: undefined,
      validUntil: 0,
      deadlineTimer: undefined,
      cooldownUntil: 0,
      releasedVersion: undefined,
    }));
    this.changes$ = this.#changes.asObservable();
  }

  bucketOf(key: string): number {
    return bucketOf(key, this.bucketCount);
  }

  isOwner(key: string): boolean {
    return this.#owns(this.#buckets[this.bucketOf(key)]!, performance.now());
  }

  /** Indexes of the buckets this replica currently acts on. */
  heldBuckets(): number[] {
    const now = performance.now();
    return this.#buckets.filter((b) => this.#owns(b, now)).map((b) => b.index);
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
   * (waiting for in-flight work as described above), deletes the member Lease, then stops.
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
      await this.#deleteMemberLease();
    } else {
      await this.#haltTicks();
    }
    for (const b of this.#buckets) this.#lose(b, 'stopped');
    this.#running = false;
    this.#changes.complete();
  }

  /**
   * Others count this replica until its member Lease is gone; left behind, it would cap their
   * share of buckets for a whole LeaseDuration. A stale resourceVersion (409) is read again.
   */
  async #deleteMemberLease(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const rv = this.#memberLease?.metadata.resourceVersion;
      if (rv === undefined) return;
      const deleted = await this.#call('delete member Lease', async (signal) => {
        await this.#api.delete(this.#memberLeaseName, rv, signal);
        return true;
      });
      if (deleted) return;
      this.#memberLease = await this.#call('get member Lease', (signal) =>
        this.#api.get(this.#memberLeaseName, signal),
      );
    }
  }

  #owns(b: Bucket, now: number): boolean {
    return b.held && !b.releasing && now < b.validUntil;
  }

  async #haltTicks(): Promise<void> {
    this.#running = false;
    if (this.#tickTimer !== undefined) clearTimeout(this.#tickTimer);
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
        this.#tickTimer = setTimeout(() => this.#runTick(), delay);
      });
  }

  async #tick(): Promise<void> {
    // List first, then write: renewals then carry the newest resourceVersion, and a list that
    // raced with our own write cannot make us believe a bucket was taken from us.
    const leases = await this.#call('list Leases', (signal) =>
      this.#api.list(`${LABEL_LEASE_SET}=${this.name}`, signal),
    );
    if (leases !== undefined) this.#observe(leases, performance.now());
    await Promise.all([
      this.#renewMember(),
      ...this.#buckets.filter((b) => b.held).map((b) => this.#renew(b)),
    ]);
    if (!this.#running || this.#stopping) return;
    await this.#rebalance(performance.now());
  }

  #observe(leases: LeaseObject[], now: number): void {
    const seenMembers = new Set<string>();
    for (const lease of leases) {
      const role = lease.metadata.labels?.[LABEL_LEASE_ROLE];
      if (role === 'member') {
        seenMembers.add(lease.metadata.name);
        const previous = this.#members.get(lease.metadata.name);
        this.#members.set(
          lease.metadata.name,
          previous === undefined ? this.#firstSightOfMember(lease, now) : observe(previous, lease, now),
        );
        continue;
      }
      const b = this.#buckets.find((x) => x.leaseName === lease.metadata.name);
      if (b === undefined) continue; // a bucket Lease of another B: noticed through its member Lease
      b.observed = observe(b.observed, lease, now);
      const holder = lease.spec?.holderIdentity ?? '';
      if (b.held && holder !== this.identity) this.#lose(b, `taken over by ${holder || 'nobody'}`);
      // The cooldown after a handover exists so that someone else gets the bucket; once anyone
      // has written the Lease after our release, it is over — the taker may already have handed
      // it straight back (its own shutdown), and waiting out the cooldown would leave it unowned.
      if (
        !b.held &&
        b.releasedVersion !== undefined &&
        lease.metadata.resourceVersion !== b.releasedVersion
      ) {
        b.cooldownUntil = 0;
        b.releasedVersion = undefined;
      }
    }
    for (const name of [...this.#members.keys()]) if (!seenMembers.has(name)) this.#members.delete(name);
  }

  /**
   * A member Lease seen for the first time counts as alive for a LeaseDuration, as any Lease
   * would, unless its renewTime is already older than that by our wall clock: then it is a
   * crashed replica's, and counting it would make a newly started replica campaign for too few
   * buckets for a whole LeaseDuration. Only membership is judged this way: it sets how many
   * buckets to campaign for, never who may act on one (bucket expiry is by observation only).
   */
  #firstSightOfMember(lease: LeaseObject, now: number): Observed {
    const renewed = Date.parse(lease.spec?.renewTime ?? '');
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.timing.leaseDurationMs / 1000) * 1000;
    if (Number.isFinite(renewed) && Date.now() - renewed > durationMs) {
      return { lease, changedAt: now - durationMs - 1 };
    }
    return { lease, changedAt: now };
  }

  async #renewMember(): Promise<void> {
    const now = new Date();
    const lease: LeaseObject = {
      metadata: {
        name: this.#memberLeaseName,
        labels: { [LABEL_LEASE_SET]: this.name, [LABEL_LEASE_ROLE]: 'member' },
        annotations: { [ANNOTATION_BUCKETS]: String(this.bucketCount) },
        ...(this.#memberLease ? { resourceVersion: this.#memberLease.metadata.resourceVersion } : {}),
      },
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
        renewTime: microTime(now),
        ...(this.#memberLease ? {} : { acquireTime: microTime(now) }),
      },
    };
    const written = await this.#call('renew member Lease', (signal) =>
      this.#memberLease ? this.#api.update(lease, signal) : this.#api.create(lease, signal),
    );
    if (written !== undefined) {
      this.#memberLease = written;
      return;
    }
    // Conflict or error: read it again, so the next write carries its current resourceVersion
    // (or creates it, if someone garbage-collected it).
    this.#memberLease = await this.#call('get member Lease', (signal) =>
      this.#api.get(this.#memberLeaseName, signal),
    );
  }

  #renew(b: Bucket): Promise<void> {
    if (b.handingOver) return Promise.resolve();
    const renewing = this.#renewOnce(b).finally(() => {
      if (b.renewing === renewing) b.renewing = undefined;
    });
    b.renewing = renewing;
    return renewing;
  }

  async #renewOnce(b: Bucket): Promise<void> {
    const current = b.observed?.lease;
    if (current === undefined) return;
    const sentAt = performance.now();
    const updated = await this.#call(`renew ${b.leaseName}`, (signal) =>
      this.#api.update(
        {
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: this.identity,
            leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
            renewTime: microTime(new Date()),
          },
        },
        signal,
      ),
    );
    if (updated !== undefined) {
      b.observed = observe(b.observed, updated, performance.now());
      if (b.held) this.#extend(b, sentAt);
      return;
    }
    // Failed: find out whether someone else holds it now (a 409 means it changed under us).
    const fresh = await this.#call(`get ${b.leaseName}`, (signal) => this.#api.get(b.leaseName, signal));
    if (fresh !== undefined) {
      b.observed = observe(b.observed, fresh, performance.now());
      const holder = fresh.spec?.holderIdentity ?? '';
      if (holder !== this.identity) this.#lose(b, `taken over by ${holder || 'nobody'}`);
    }
  }

  async #rebalance(now: number): Promise<void> {
    const live = this.#liveMembers(now);
    this.#liveReplicas = live.size;
    this.#metrics.setLiveReplicas(this.name, live.size);
    this.#collectGarbage(now);
    const mismatched = [...live.values()].filter((buckets) => buckets !== this.bucketCount);
    const limit = mismatched.length > 0 ? 0 : Math.ceil(this.bucketCount / live.size);
    if (mismatched.length > 0) {
      this.#log.error(
        { buckets: this.bucketCount, other: mismatched[0] },
        'a live replica uses a different bucket count; holding no buckets until it is gone',
      );
    }
    const held = this.#buckets.filter((b) => this.#owns(b, now));
    const byPreference = (a: Bucket, b: Bucket) =>
      preference(this.identity, b.index) - preference(this.identity, a.index);

    if (held.length > limit) {
      const surplus = [...held].sort(byPreference).slice(limit);
      for (const b of surplus)
        this.#releaseInBackground(b, `rebalancing to ${limit} buckets for ${live.size} replicas`);
      return;
    }
    if (this.#shouldYieldOne(now, live, held.length)) {
      const [least] = [...held].sort(byPreference).reverse();
      if (least !== undefined) this.#releaseInBackground(least, 'a replica holds fewer than its share');
      return;
    }
    if (held.length >= limit) return;
    const candidates = this.#buckets
      .filter((b) => !b.held && now >= b.cooldownUntil && this.#acquirable(b, now))
      .sort(byPreference);
    // Several replicas may go for the same freed bucket; the losers (409) try their next
    // candidates in this same tick rather than a RetryPeriod later.
    let wanted = limit - held.length;
    for (let next = 0; wanted > 0 && next < candidates.length && this.#running && !this.#stopping; ) {
      const batch = candidates.slice(next, next + wanted);
      next += batch.length;
      const won = await Promise.all(batch.map((b) => this.#acquire(b)));
      wanted -= won.filter(Boolean).length;
    }
  }

  /** identity → bucket count announced by each live replica (this one included). */
  #liveMembers(now: number): Map<string, number> {
    const live = new Map<string, number>([[this.identity, this.bucketCount]]);
    for (const [, m] of this.#members) {
      const holder = m.lease.spec?.holderIdentity;
      if (!holder || holder === this.identity) continue;
      const durationMs = (m.lease.spec?.leaseDurationSeconds ?? this.timing.leaseDurationMs / 1000) * 1000;
      if (now - m.changedAt > durationMs) continue;
      live.set(holder, Number(m.lease.metadata.annotations?.[ANNOTATION_BUCKETS] ?? this.bucketCount));
    }
    return live;
  }

  /**
   * ceil(B/R) bounds the most a replica holds, not the least (B = 8, R = 5 could end 2,2,2,2,0).
   * When no bucket is free and a live replica holds fewer than floor(B/R), the replica holding
   * the most (lowest identity on ties) gives one up for it.
   */
  #shouldYieldOne(now: number, live: Map<string, number>, heldCount: number): boolean {
    const fair = Math.floor(this.bucketCount / live.size);
    if (heldCount <= fair) return false;
    const counts = new Map<string, number>([...live.keys()].map((id) => [id, 0]));
    counts.set(this.identity, heldCount);
    for (const b of this.#buckets) {
      if (b.held) continue;
      if (this.#acquirable(b, now)) return false; // a free bucket: whoever is short can take it
      const holder = b.observed?.lease.spec?.holderIdentity ?? '';
      if (counts.has(holder)) counts.set(holder, counts.get(holder)! + 1);
    }
    if (![...counts.values()].some((c) => c < fair)) return false;
    const richest = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
    return richest?.[0] === this.identity;
  }

  #acquirable(b: Bucket, now: number): boolean {
    const lease = b.observed?.lease;
    if (lease === undefined) return true;
    const holder = lease.spec?.holderIdentity ?? '';
    if (holder === '' || holder === this.identity) return true;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? this.timing.leaseDurationMs / 1000) * 1000;
    return now - b.observed!.changedAt > durationMs;
  }

  /** Tries to take the bucket; true if this replica now holds it. */
  async #acquire(b: Bucket): Promise<boolean> {
    const current = b.observed?.lease;
    const now = new Date();
    const previousHolder = current?.spec?.holderIdentity ?? '';
    const sentAt = performance.now();
    const written = await this.#call(`acquire ${b.leaseName}`, (signal) => {
      if (current === undefined) {
        return this.#api.create(
          {
            metadata: {
              name: b.leaseName,
              labels: { [LABEL_LEASE_SET]: this.name, [LABEL_LEASE_ROLE]: 'bucket' },
              annotations: { [ANNOTATION_BUCKETS]: String(this.bucketCount) },
            },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
          signal,
        );
      }
      const transition = previousHolder !== this.identity;
      return this.#api.update(
        {
          ...current,
          spec: {
            ...current.spec,
            holderIdentity: this.identity,
            leaseDurationSeconds: this.timing.leaseDurationMs / 1000,
            renewTime: microTime(now),
            ...(transition
              ? { acquireTime: microTime(now), leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1 }
              : {}),
          },
        },
        signal,
      );
    });
    if (written === undefined) return false;
    b.observed = observe(b.observed, written, performance.now());
    b.held = true;
    b.releasing = false;
    this.#extend(b, sentAt);
    this.#metrics.setMasterStatus(b.leaseName, true);
    this.#metrics.setBucketsHeld(this.name, this.#heldCount());
    this.#log.info(
      { bucket: b.index, lease: b.leaseName, previous_holder: previousHolder },
      'bucket acquired',
    );
    this.#changes.next(this.#change('acquired', b, () => {}));
    // stop() began while we were writing: hand it straight back rather than let it expire.
    if (this.#stopping) this.#releaseInBackground(b, 'shutdown');
    return true;
  }

  #extend(b: Bucket, sentAt: number): void {
    b.validUntil = sentAt + this.timing.renewDeadlineMs;
    this.#armDeadline(b);
  }

  /**
   * Fires 'lost' once performance.now() reaches validUntil. Timers run on the event loop's
   * coarser clock, which may lag performance.now(), so a timer can fire a little early: it then
   * re-arms for the rest instead of giving up (which would leave consumers unaware of the loss).
   */
  #armDeadline(b: Bucket): void {
    if (b.deadlineTimer !== undefined) clearTimeout(b.deadlineTimer);
    b.deadlineTimer = setTimeout(
      () => {
        b.deadlineTimer = undefined;
        if (!b.held) return;
        if (performance.now() >= b.validUntil) this.#lose(b, 'renew deadline passed');
        else this.#armDeadline(b);
      },
      Math.max(0, b.validUntil - performance.now()),
    );
  }

  /** Stops acting on the bucket at once, without writing (deadline missed, taken over, stopped). */
  #lose(b: Bucket, reason: string): void {
    if (!b.held) return;
    const announced = b.releasing; // a handover already emitted 'lost'
    b.held = false;
    b.releasing = false;
    b.handingOver = false;
    b.validUntil = 0;
    if (b.deadlineTimer !== undefined) clearTimeout(b.deadlineTimer);
    b.deadlineTimer = undefined;
    this.#metrics.setMasterStatus(b.leaseName, false);
    this.#metrics.setBucketsHeld(this.name, this.#heldCount());
    if (reason !== 'stopped') this.#log.warn({ bucket: b.index, lease: b.leaseName, reason }, 'bucket lost');
    if (!announced) this.#changes.next(this.#change('lost', b, () => {}));
  }

  #releaseInBackground(b: Bucket, reason: string): void {
    const task = this.#release(b, reason).finally(() => this.#releases.delete(task));
    this.#releases.add(task);
  }

  /** Hands a held bucket over: stop owning, wait for in-flight work, then write an empty holder. */
  async #release(b: Bucket, reason: string): Promise<void> {
    if (!b.held || b.releasing) return;
    b.releasing = true;
    this.#metrics.setMasterStatus(b.leaseName, false);
    this.#metrics.setBucketsHeld(this.name, this.#heldCount());
    this.#log.info({ bucket: b.index, lease: b.leaseName, reason }, 'handing bucket over');
    const work: Promise<unknown>[] = [];
    this.#changes.next(this.#change('lost', b, (p) => work.push(p)));
    const drained = await settlesWithin(Promise.allSettled(work), this.#drainTimeoutMs);
    if (!b.held) return; // the renew deadline passed meanwhile: nothing left to release
    if (!drained) {
      // Keep it until it expires rather than hand a bucket over with work still running in it.
      this.#log.error(
        { bucket: b.index, lease: b.leaseName },
        'in-flight work did not end; letting the Lease expire',
      );
      this.#lose(b, 'drain timed out');
      b.cooldownUntil = performance.now() + this.timing.leaseDurationMs;
      return;
    }
    // Renewals stop now; one already sent may still move the resourceVersion, so wait it out, and
    // should the write meet a 409 all the same, read the Lease again and retry while it is ours.
    b.handingOver = true;
    await b.renewing;
    for (let attempt = 0; attempt < 3 && b.held; attempt++) {
      const current = b.observed?.lease;
      if (current === undefined || (current.spec?.holderIdentity ?? '') !== this.identity) break;
      const released = await this.#call(`release ${b.leaseName}`, (signal) =>
        this.#api.update(
          {
            ...current,
            // client-go's release: empty holder, 1 s duration; others may take it at once.
            spec: {
              ...current.spec,
              holderIdentity: '',
              leaseDurationSeconds: 1,
              renewTime: microTime(new Date()),
            },
          },
          signal,
        ),
      );
      if (released !== undefined) {
        b.observed = observe(b.observed, released, performance.now());
        b.releasedVersion = released.metadata.resourceVersion;
        break;
      }
      const fresh = await this.#call(`get ${b.leaseName}`, (signal) => this.#api.get(b.leaseName, signal));
      if (fresh !== undefined) b.observed = observe(b.observed, fresh, performance.now());
    }
    this.#lose(b, 'released');
    b.cooldownUntil = performance.now() + this.timing.leaseDurationMs;
  }

  #collectGarbage(now: number): void {
    const staleAfter = 10 * this.timing.leaseDurationMs;
    for (const [name, m] of this.#members) {
      const rv = m.lease.metadata.resourceVersion;
      if (name === this.#memberLeaseName || rv === undefined || now - m.changedAt < staleAfter) continue;
      this.#members.delete(name);
      void this.#call(`delete stale member Lease ${name}`, (signal) => this.#api.delete(name, rv, signal));
    }
  }

  #heldCount(): number {
    return this.#buckets.filter((b) => b.held && !b.releasing).length;
  }

  #change(type: 'acquired' | 'lost', b: Bucket, waitUntil: (p: Promise<unknown>) => void): OwnershipChange {
    const buckets = this.bucketCount;
    return {
      type,
      shard: b.leaseName,
      contains: (key) => bucketOf(key, buckets) === b.index,
      waitUntil,
    };
  }

  /** Runs one API call with a timeout; logs and returns undefined on failure. */
  async #call<T>(what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T | undefined> {
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new Error(`${what}: no answer in ${this.#requestTimeoutMs} ms`)),
      this.#requestTimeoutMs,
    );
    try {
      return await fn(abort.signal);
    } catch (err) {
      const level = err instanceof LeaseConflictError ? 'debug' : 'warn';
      this.#log[level]({ err: err instanceof Error ? err.message : String(err) }, `${what} failed`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The observation after seeing `lease` at `now`: changedAt moves only if the resourceVersion did. */
function observe(previous: Observed | undefined, lease: LeaseObject, now: number): Observed {
  if (previous !== undefined && previous.lease.metadata.resourceVersion === lease.metadata.resourceVersion) {
    return { lease, changedAt: previous.changedAt };
  }
  return { lease, changedAt: now };
}

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
