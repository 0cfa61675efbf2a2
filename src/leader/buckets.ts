// Keys to buckets, and names of the Leases a replica set shares.
//
// The hash is 32-bit FNV-1a over the key's UTF-8 bytes, modulo B: fixed forever (changing it
// would move every key at an upgrade), cheap, and well spread for short keys such as
// "namespace/name". Replicas of one deployment must agree on B; it is part of the Lease names
// and of each member Lease, and a replica that sees a live member with another B stands down.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const encoder = new TextEncoder();

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash >>> 0;
}

export function bucketOf(key: string, buckets: number): number {
  return fnv1a32(key) % buckets;
}

/**
 * How much `identity` prefers `bucket` (rendezvous hashing): replicas try buckets in their own
 * order, so when several campaign at once they mostly go for different buckets.
 */
export function preference(identity: string, bucket: number): number {
  return fnv1a32(`${identity}/${bucket}`);
}

export function bucketLeaseName(name: string, bucket: number, buckets: number): string {
  return `${name}-bucket-${bucket}-of-${buckets}`;
}

export function memberLeaseName(name: string, identity: string): string {
  return `${name}-member-${dnsSafe(identity)}`.slice(0, 253).replace(/[-.]+$/, '');
}

/** Lower-case alphanumerics, '-' and '.', as object names allow. */
function dnsSafe(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
}

export const LABEL_LEASE_SET = 'etcd-snapshot-driver.io/lease-set';
export const LABEL_LEASE_ROLE = 'etcd-snapshot-driver.io/lease-role';
export const ANNOTATION_BUCKETS = 'etcd-snapshot-driver.io/buckets';
