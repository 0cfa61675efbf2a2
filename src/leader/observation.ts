// What a replica knows of a Lease: the object as last read, and when, by its own monotonic clock,
// it last saw the resourceVersion change. Expiry is judged from that moment, never from the
// holder's renewTime, so the clocks of different machines are not compared.
import type { LeaseObject } from './lease-api.ts';

export interface Observed {
  lease: LeaseObject;
  /** Local monotonic time (Clock.now) at which this replica saw the resourceVersion change. */
  changedAt: number;
}

/** The observation after seeing `lease` at `now`: changedAt moves only if the resourceVersion did. */
export function observe(previous: Observed | undefined, lease: LeaseObject, now: number): Observed {
  if (previous !== undefined && previous.lease.metadata.resourceVersion === lease.metadata.resourceVersion) {
    return { lease, changedAt: previous.changedAt };
  }
  return { lease, changedAt: now };
}

/** The Lease's own duration, or `fallbackMs` when it names none. */
export function leaseDurationMsOf(lease: LeaseObject, fallbackMs: number): number {
  return (lease.spec?.leaseDurationSeconds ?? fallbackMs / 1000) * 1000;
}

/** Whether the Lease's holder has not renewed it for longer than its duration, by our observation. */
export function expired(observed: Observed, now: number, fallbackMs: number): boolean {
  return now - observed.changedAt > leaseDurationMsOf(observed.lease, fallbackMs);
}
