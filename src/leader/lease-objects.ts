// The Lease objects the elector writes, built from what it last read. Every update keeps the
// read object's resourceVersion, so the apiserver refuses it (409) if anyone wrote in between.
import { ANNOTATION_BUCKETS, LABEL_LEASE_ROLE, LABEL_LEASE_SET } from './buckets.ts';
import type { LeaseObject } from './lease-api.ts';

/** Who writes: a replica's identity and the LeaseDuration it promises to renew within. */
export interface Writer {
  identity: string;
  leaseDurationMs: number;
}

/** metav1.MicroTime: RFC 3339 with six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function isMemberLease(lease: LeaseObject): boolean {
  return lease.metadata.labels?.[LABEL_LEASE_ROLE] === 'member';
}

function setMetadata(name: string, set: string, role: 'bucket' | 'member', buckets: number) {
  return {
    name,
    labels: { [LABEL_LEASE_SET]: set, [LABEL_LEASE_ROLE]: role },
    annotations: { [ANNOTATION_BUCKETS]: String(buckets) },
  };
}

/** A bucket Lease nobody has held yet, taken by `writer`. */
export function newBucketLease(
  name: string,
  set: string,
  buckets: number,
  writer: Writer,
  at: Date,
): LeaseObject {
  return {
    metadata: setMetadata(name, set, 'bucket', buckets),
    spec: {
      holderIdentity: writer.identity,
      leaseDurationSeconds: writer.leaseDurationMs / 1000,
      acquireTime: microTime(at),
      renewTime: microTime(at),
      leaseTransitions: 0,
    },
  };
}

/** `current` taken by `writer`: a new holder counts a transition, as client-go does. */
export function takenLease(current: LeaseObject, writer: Writer, at: Date): LeaseObject {
  const renewed = renewedLease(current, writer, at);
  if ((current.spec?.holderIdentity ?? '') === writer.identity) return renewed;
  return {
    ...renewed,
    spec: {
      ...renewed.spec,
      acquireTime: microTime(at),
      leaseTransitions: (current.spec?.leaseTransitions ?? 0) + 1,
    },
  };
}

export function renewedLease(current: LeaseObject, writer: Writer, at: Date): LeaseObject {
  return {
    ...current,
    spec: {
      ...current.spec,
      holderIdentity: writer.identity,
      leaseDurationSeconds: writer.leaseDurationMs / 1000,
      renewTime: microTime(at),
    },
  };
}

/** client-go's release: empty holder, 1 s duration; others may take it at once. */
export function releasedLease(current: LeaseObject, at: Date): LeaseObject {
  return {
    ...current,
    spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(at) },
  };
}

/** The member Lease `writer` renews; `previous` is what it last read of it (none: create it). */
export function memberLease(
  name: string,
  set: string,
  buckets: number,
  writer: Writer,
  previous: LeaseObject | undefined,
  at: Date,
): LeaseObject {
  return {
    metadata: {
      ...setMetadata(name, set, 'member', buckets),
      ...(previous ? { resourceVersion: previous.metadata.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: writer.identity,
      leaseDurationSeconds: writer.leaseDurationMs / 1000,
      renewTime: microTime(at),
      ...(previous ? {} : { acquireTime: microTime(at) }),
    },
  };
}
