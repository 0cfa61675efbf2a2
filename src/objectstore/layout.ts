// Where a snapshot's copy lives in the bucket: `<prefix>/<namespace>/<cluster>/<snapshot>/`
// holding the data object and `manifest.json`. The data object's name says how it was stored
// (`snapshot.db`, then `.zst` or `.gz`, then `.enc`), so a listing alone tells an operator what a
// copy needs to be read; the manifest says it precisely. Pure: names in, keys out.

export type Compression = 'none' | 'zstd' | 'gzip';

export interface SnapshotLocation {
  /** The EtcdSnapshot record's namespace. */
  namespace: string;
  /** The etcd cluster's name. */
  cluster: string;
  /** The EtcdSnapshot record's name. */
  snapshot: string;
}

export const MANIFEST_OBJECT_NAME = 'manifest.json';

/** A Kubernetes object name (DNS-1123 subdomain): what namespace, cluster and record names are. */
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

export class LocationError extends Error {
  override name = 'LocationError';
}

export function checkLocation(location: SnapshotLocation): SnapshotLocation {
  for (const field of ['namespace', 'cluster', 'snapshot'] as const) {
    const v = location[field];
    if (!NAME.test(v)) {
      throw new LocationError(
        `${field} ${JSON.stringify(v.slice(0, 100))} is not a Kubernetes object name (lowercase letters, digits, "." and "-")`,
      );
    }
  }
  return location;
}

/** `<prefix>/<namespace>/<cluster>/<snapshot>/` (no leading slash; no prefix part when prefix is ''). */
export function snapshotPrefix(prefix: string, location: SnapshotLocation): string {
  const { namespace, cluster, snapshot } = checkLocation(location);
  return `${prefix === '' ? '' : `${prefix}/`}${namespace}/${cluster}/${snapshot}/`;
}

export function dataObjectName(compression: Compression, encrypted: boolean): string {
  const ext = compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
  return `snapshot.db${ext}${encrypted ? '.enc' : ''}`;
}

export interface SnapshotKeys {
  prefix: string;
  data: string;
  manifest: string;
}

export function snapshotKeys(
  prefix: string,
  location: SnapshotLocation,
  compression: Compression,
  encrypted: boolean,
): SnapshotKeys {
  const dir = snapshotPrefix(prefix, location);
  return {
    prefix: dir,
    data: `${dir}${dataObjectName(compression, encrypted)}`,
    manifest: `${dir}${MANIFEST_OBJECT_NAME}`,
  };
}

/** `s3://<bucket>/<key>`: how records, results and logs name a remote object. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
