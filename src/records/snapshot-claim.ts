// The snapshot claim of an etcd cluster, the one name both writers of records use: the CSI
// server for a request and the store import for a copy it finds.
import { hashId } from './hash-id.ts';

/**
 * The snapshot claim of an etcd cluster: `etcd-snapshots-<cluster name>`, or, when that is not a
 * valid name of at most 63 characters, a readable prefix and a hash of the cluster name.
 */
export function snapshotClaimName(clusterName: string): string {
  const plain = `etcd-snapshots-${clusterName}`;
  if (plain.length <= 63 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(plain)) return plain;
  const readable = clusterName
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .slice(0, 30)
    .replace(/^-+|-+$/g, '');
  return `etcd-snapshots-${readable ? `${readable}-` : ''}${hashId(['claim', clusterName], 12)}`;
}
