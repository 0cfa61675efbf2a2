// The deterministic name and labels of a scheduled run's object. A run is named after its
// schedule, its cluster and its slot (the scheduled time, UTC, to the second), so any replica,
// after any crash or failover, creates the same name for one slot: the API server's
// AlreadyExists is what makes a slot run once. Names are DNS-1123 labels (≤ 63 characters, so
// they fit in labels too), hash-shortened when the parts are long.
import { createHash } from 'node:crypto';
import { SNAPSHOT_GROUP } from '../../records/etcd-snapshot.ts';

/** The schedule that made an object (its name; the namespace is the object's own). */
export const LABEL_SCHEDULE = `${SNAPSHOT_GROUP}/schedule`;
/** The etcd cluster a scheduled VolumeSnapshot is of; absent on a group's. */
export const LABEL_SCHEDULE_CLUSTER = `${SNAPSHOT_GROUP}/schedule-cluster`;
/**
 * The schedule's and the cluster's names in full. Labels are cut and hashed past 63 characters
 * (nameLabel), so they select a lane's runs but cannot name its work key; these can.
 */
export const ANNOTATION_SCHEDULE_NAME = `${SNAPSHOT_GROUP}/schedule-name`;
export const ANNOTATION_SCHEDULE_CLUSTER_NAME = `${SNAPSHOT_GROUP}/schedule-cluster-name`;
/** The slot a run is for (RFC 3339, UTC); retention ages a run by it, not by creation. */
export const ANNOTATION_SCHEDULED_TIME = `${SNAPSHOT_GROUP}/scheduled-time`;

const MAX_NAME = 63;
const HASH_LENGTH = 10;

/** `20260302T140000Z`, lower-cased: sortable and valid in a name. */
export function slotStamp(slot: Date): string {
  return slot
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '')
    .toLowerCase();
}

function dnsLabel(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * A cluster's run: `<schedule>-<cluster>-<hash>-<stamp>`, the hash of the two parts apart, so
 * schedule `backup` over cluster `etcd-main` and `backup-etcd` over `main` never share a name
 * (a shared name would be AlreadyExists, taken for "this slot was run": a silent skip). A
 * group's: `<schedule>-<stamp>` (one schedule name per namespace; a hash once cut). Past 63
 * characters the readable head is cut; the hash keeps names distinct.
 */
export function runObjectName(schedule: string, cluster: string | undefined, slot: Date): string {
  const stamp = slotStamp(slot);
  const parts = cluster === undefined ? [schedule] : [schedule, cluster];
  const plain = dnsLabel([...parts, stamp].join('-'));
  if (cluster === undefined && plain.length <= MAX_NAME && plain === [...parts, stamp].join('-'))
    return plain;
  const hash = createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_NAME - stamp.length - hash.length - 2;
  const head = dnsLabel(parts.join('-')).slice(0, room).replace(/-+$/, '');
  return head ? `${head}-${hash}-${stamp}` : `${hash}-${stamp}`;
}

/** A label value for a name (≤ 63, alphanumeric ends), hash-shortened when it cannot be one as is. */
export function nameLabel(name: string): string {
  if (name.length <= MAX_NAME && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_LENGTH);
  const head = dnsLabel(name)
    .slice(0, MAX_NAME - HASH_LENGTH - 1)
    .replace(/-+$/, '');
  return head ? `${head}-${hash}` : hash;
}

/** Labels and annotations of a run's object: whose it is and which slot. */
export function runMetadata(
  schedule: string,
  cluster: string | undefined,
  slot: Date,
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const labels: Record<string, string> = { [LABEL_SCHEDULE]: nameLabel(schedule) };
  const annotations: Record<string, string> = {
    [ANNOTATION_SCHEDULED_TIME]: slot.toISOString(),
    [ANNOTATION_SCHEDULE_NAME]: schedule,
  };
  if (cluster !== undefined) {
    labels[LABEL_SCHEDULE_CLUSTER] = nameLabel(cluster);
    annotations[ANNOTATION_SCHEDULE_CLUSTER_NAME] = cluster;
  }
  return { labels, annotations };
}
