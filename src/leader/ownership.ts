// The ownership interface the reconcile runtime consumes (ARCHITECTURE §3: reconcile may import
// leader's interface; leader imports nothing of reconcile). A shard is a bucket Lease; a key is
// the string a reconciler's queue key is hashed by (e.g. the etcd cluster key).
import { NEVER, type Observable } from 'rxjs';

export interface OwnershipChange {
  readonly type: 'acquired' | 'lost';
  /** Which shard (the bucket Lease name). */
  readonly shard: string;
  /** Whether a key hashes into this shard. */
  contains(key: string): boolean;
  /**
   * For 'lost': the elector releases a shard it gives up voluntarily (rebalancing, shutdown) only
   * after every promise handed in here settled, so the next owner never overlaps in-flight work.
   * Call synchronously from the subscriber. Ignored for 'acquired' and for a missed renew deadline
   * (the Lease then simply expires).
   */
  waitUntil(work: Promise<unknown>): void;
}

export interface Ownership {
  /**
   * True while this replica may act on the key: checked at reconcile start and before every write.
   * Judged by the local clock against the renew deadline, so it turns false on time even if a
   * timer runs late.
   */
  isOwner(key: string): boolean;
  /** Emitted after isOwner changed: 'acquired' once it is true, 'lost' once it is false. */
  readonly changes$: Observable<OwnershipChange>;
}

/** A single replica without leader election: owns everything, forever. */
export const alwaysOwner: Ownership = {
  isOwner: () => true,
  changes$: NEVER,
};
