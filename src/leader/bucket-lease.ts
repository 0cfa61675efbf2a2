// One bucket Lease as held (or not) by this replica: its writes (acquire, renew, hand over) and
// the renew deadline (renew-deadline.ts) that bounds how long this replica acts on it.
//
// Safety. The holder acts only while `now < sentAt + RenewDeadline`, sentAt being when it SENT
// the last renewal that succeeded. Others take the bucket over only when `now > observedAt +
// LeaseDuration`, observedAt being when THEY last saw its resourceVersion change. Since
// observedAt ≥ sentAt and LD > RD, the old holder has stopped before anyone else may start, with
// LD − RD to spare. A deadline timer announces the loss on time, and owns() checks the clock
// itself in case that timer runs late.
//
// Handing over. A bucket given up on purpose (rebalancing or shutdown) first stops counting as
// owned, then announces 'lost' and waits for the consumers' in-flight work (waitUntil), still
// renewed meanwhile, and only then is written with an empty holder, so the next owner can take it
// at once without overlapping. A bucket whose renew deadline passed is just lost: no write.
import type { Logger } from '../telemetry/logger.ts';
import { bucketLeaseName, bucketOf } from './buckets.ts';
import { type Clock, settlesWithin } from './clock.ts';
import type { LeaseApi, LeaseObject } from './lease-api.ts';
import type { LeaseCall } from './lease-calls.ts';
import { newBucketLease, releasedLease, renewedLease, takenLease, type Writer } from './lease-objects.ts';
import type { LeaderMetrics } from './metrics.ts';
import { expired, type Observed, observe } from './observation.ts';
import type { OwnershipChange } from './ownership.ts';
import { RenewDeadline } from './renew-deadline.ts';
import type { BucketStanding } from './share-policy.ts';
import type { LeaseTiming } from './timing.ts';

export interface BucketLeaseContext {
  api: LeaseApi;
  call: LeaseCall;
  clock: Clock;
  log: Logger;
  metrics: LeaderMetrics;
  /** The Lease set's name. */
  name: string;
  bucketCount: number;
  writer: Writer;
  timing: LeaseTiming;
  /** Longest wait for in-flight work before a handover. */
  drainTimeoutMs: number;
  /** Delivers a change to the elector's subscribers. */
  announce(change: OwnershipChange): void;
  /** Called whenever the number of buckets counted as held changed. */
  heldChanged(): void;
}

export class BucketLease {
  readonly index: number;
  readonly leaseName: string;
  readonly #c: BucketLeaseContext;
  #observed: Observed | undefined;
  #held = false;
  /** Given up on purpose: not owned any more, still renewed until released. */
  #releasing = false;
  /** The empty holder is being written: renewals stop, so they cannot race the release into a 409. */
  #handingOver = false;
  /** The renewal in flight, which a release waits out before it writes. */
  #renewing: Promise<void> | undefined;
  readonly #deadline: RenewDeadline;
  /** Not taken again before this, after handing it over (avoids ping-pong). */
  #cooldownUntil = 0;
  /** The resourceVersion our release wrote; a later one means someone else has acted on it. */
  #releasedVersion: string | undefined;
  /** Seen past its renew deadline by owns(): being lost, whatever a late renewal answers. */
  #lapsed = false;

  constructor(context: BucketLeaseContext, index: number) {
    this.#c = context;
    this.index = index;
    this.leaseName = bucketLeaseName(context.name, index, context.bucketCount);
    this.#deadline = new RenewDeadline(context.clock, context.timing.renewDeadlineMs, () =>
      this.lose('renew deadline passed'),
    );
  }

  get held(): boolean {
    return this.#held;
  }

  /** Held and not being handed over: what the buckets-held gauge counts. */
  get counted(): boolean {
    return this.#held && !this.#releasing && !this.#lapsed;
  }

  owns(now: number): boolean {
    if (!this.counted) return false;
    if (this.#deadline.validAt(now)) return true;
    // The deadline passed and its timer has not run yet (a busy event loop). Whoever asked now
    // treats the bucket as lost — a controller drops its keys — so it must be lost for good and
    // announced: a renewal answered late must not make it owned again without an 'acquired',
    // the one event on which consumers queue a bucket's keys again. After the current call
    // stack: announcing re-enters the consumers.
    this.#lapsed = true;
    queueMicrotask(() => {
      if (this.#lapsed) this.lose('renew deadline passed');
    });
    return false;
  }

  standing(now: number): BucketStanding {
    const lease = this.#observed?.lease;
    const holder = lease?.spec?.holderIdentity ?? '';
    return {
      index: this.index,
      held: this.#held,
      owned: this.owns(now),
      free:
        this.#observed === undefined ||
        holder === '' ||
        holder === this.#c.writer.identity ||
        expired(this.#observed, now, this.#c.timing.leaseDurationMs),
      coolingDown: now < this.#cooldownUntil,
      holder,
    };
  }

  /** Takes in the Lease as listed. */
  observeListed(lease: LeaseObject, now: number): void {
    this.#observed = observe(this.#observed, lease, now);
    const holder = lease.spec?.holderIdentity ?? '';
    if (this.#held && holder !== this.#c.writer.identity) this.lose(`taken over by ${holder || 'nobody'}`);
    // The cooldown after a handover exists so that someone else gets the bucket; once anyone
    // has written the Lease after our release, it is over — the taker may already have handed
    // it straight back (its own shutdown), and waiting out the cooldown would leave it unowned.
    if (
      !this.#held &&
      this.#releasedVersion !== undefined &&
      lease.metadata.resourceVersion !== this.#releasedVersion
    ) {
      this.#cooldownUntil = 0;
      this.#releasedVersion = undefined;
    }
  }

  /** Tries to take the bucket; true if this replica now holds it. */
  async acquire(): Promise<boolean> {
    const { api, call, clock, writer } = this.#c;
    const current = this.#observed?.lease;
    const at = clock.date();
    const previousHolder = current?.spec?.holderIdentity ?? '';
    const sentAt = clock.now();
    const written = await call(`acquire ${this.leaseName}`, (signal) =>
      current === undefined
        ? api.create(newBucketLease(this.leaseName, this.#c.name, this.#c.bucketCount, writer, at), signal)
        : api.update(takenLease(current, writer, at), signal),
    );
    if (written === undefined) return false;
    this.#observed = observe(this.#observed, written, clock.now());
    this.#held = true;
    this.#releasing = false;
    this.#lapsed = false;
    this.#deadline.extend(sentAt);
    this.#c.metrics.setMasterStatus(this.leaseName, true);
    this.#c.heldChanged();
    this.#c.log.info(
      { bucket: this.index, lease: this.leaseName, previous_holder: previousHolder },
      'bucket acquired',
    );
    this.#c.announce(this.#change('acquired', () => {}));
    return true;
  }

  /** Renews a held bucket, unless it is being handed over. */
  renew(): Promise<void> {
    if (this.#handingOver) return Promise.resolve();
    const renewing = this.#renewOnce().finally(() => {
      if (this.#renewing === renewing) this.#renewing = undefined;
    });
    this.#renewing = renewing;
    return renewing;
  }

  async #renewOnce(): Promise<void> {
    const { api, call, clock, writer } = this.#c;
    const current = this.#observed?.lease;
    if (current === undefined) return;
    const sentAt = clock.now();
    const updated = await call(`renew ${this.leaseName}`, (signal) =>
      api.update(renewedLease(current, writer, clock.date()), signal),
    );
    if (updated !== undefined) {
      this.#observed = observe(this.#observed, updated, clock.now());
      if (this.#held && !this.#lapsed) this.#deadline.extend(sentAt);
      return;
    }
    // Failed: find out whether someone else holds it now (a 409 means it changed under us).
    const fresh = await this.#get();
    const holder = fresh?.spec?.holderIdentity ?? '';
    if (fresh !== undefined && holder !== writer.identity) this.lose(`taken over by ${holder || 'nobody'}`);
  }

  /** Reads the Lease again into the observation; undefined if that failed or it is gone. */
  async #get(): Promise<LeaseObject | undefined> {
    const fresh = await this.#c.call(`get ${this.leaseName}`, (signal) =>
      this.#c.api.get(this.leaseName, signal),
    );
    if (fresh !== undefined) this.#observed = observe(this.#observed, fresh, this.#c.clock.now());
    return fresh;
  }

  /** Stops acting on the bucket at once, without writing (deadline missed, taken over, stopped). */
  lose(reason: string): void {
    if (!this.#held) return;
    const announced = this.#releasing; // a handover already announced 'lost'
    this.#held = false;
    this.#releasing = false;
    this.#lapsed = false;
    this.#handingOver = false;
    this.#deadline.clear();
    this.#c.metrics.setMasterStatus(this.leaseName, false);
    this.#c.heldChanged();
    if (reason !== 'stopped')
      this.#c.log.warn({ bucket: this.index, lease: this.leaseName, reason }, 'bucket lost');
    if (!announced) this.#c.announce(this.#change('lost', () => {}));
  }

  /** Hands a held bucket over: stop owning, wait for in-flight work, then write an empty holder. */
  async release(reason: string): Promise<void> {
    const { clock, log, timing } = this.#c;
    if (!this.#held || this.#releasing) return;
    this.#releasing = true;
    this.#c.metrics.setMasterStatus(this.leaseName, false);
    this.#c.heldChanged();
    log.info({ bucket: this.index, lease: this.leaseName, reason }, 'handing bucket over');
    const work: Promise<unknown>[] = [];
    this.#c.announce(this.#change('lost', (p) => work.push(p)));
    const drained = await settlesWithin(Promise.allSettled(work), this.#c.drainTimeoutMs, clock);
    if (!this.#held) return; // the renew deadline passed meanwhile: nothing left to release
    if (!drained) {
      // Keep it until it expires rather than hand a bucket over with work still running in it.
      log.error(
        { bucket: this.index, lease: this.leaseName },
        'in-flight work did not end; letting the Lease expire',
      );
      this.lose('drain timed out');
      this.#cooldownUntil = clock.now() + timing.leaseDurationMs;
      return;
    }
    // Renewals stop now; one already sent may still move the resourceVersion, so wait it out, and
    // should the write meet a 409 all the same, read the Lease again and retry while it is ours.
    this.#handingOver = true;
    await this.#renewing;
    for (let attempt = 0; attempt < 3 && this.#held; attempt++) {
      const current = this.#observed?.lease;
      if (current === undefined || (current.spec?.holderIdentity ?? '') !== this.#c.writer.identity) break;
      const released = await this.#c.call(`release ${this.leaseName}`, (signal) =>
        this.#c.api.update(releasedLease(current, clock.date()), signal),
      );
      if (released !== undefined) {
        this.#observed = observe(this.#observed, released, clock.now());
        this.#releasedVersion = released.metadata.resourceVersion;
        break;
      }
      await this.#get();
    }
    this.lose('released');
    this.#cooldownUntil = clock.now() + timing.leaseDurationMs;
  }

  #change(type: 'acquired' | 'lost', waitUntil: (p: Promise<unknown>) => void): OwnershipChange {
    const { bucketCount } = this.#c;
    return {
      type,
      shard: this.leaseName,
      contains: (key) => bucketOf(key, bucketCount) === this.index,
      waitUntil,
    };
  }
}
