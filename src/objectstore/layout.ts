// Where a snapshot's copy lives in the bucket: `<prefix>/<namespace>/<cluster>/<snapshot>/`
// holding the data object and `manifest.json`. The data object's name says how it was stored
// (`snapshot.db`, then `.zst` or `.gz`, then `.enc`), so a listing alone tells an operator what a
// copy needs to be read; the manifest says it precisely. An upload names its data object by its
// attempt too (`snapshot-<attempt>.db…`): no attempt can overwrite an object another attempt's
// manifest points at. Pure: names in, keys out.

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

/** An upload attempt's id: letters and digits, so it is one segment of an object name. */
const ATTEMPT = /^[a-z0-9]{1,40}$/;

export function dataObjectName(compression: Compression, encrypted: boolean, attempt?: string): string {
  if (attempt !== undefined && !ATTEMPT.test(attempt)) {
    throw new LocationError(`upload attempt ${JSON.stringify(attempt.slice(0, 50))} is not [a-z0-9]{1,40}`);
  }
  const ext = compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : '';
  return `snapshot${attempt ? `-${attempt}` : ''}.db${ext}${encrypted ? '.enc' : ''}`;
}

/** A fresh attempt id: UTC time to the second (listings sort by it), then random. */
export function newAttemptId(now: Date, random: string): string {
  return `${now
    .toISOString()
    .replace(/[-:]|\.\d+/g, '')
    .toLowerCase()}${random}`.replace(/[^a-z0-9]/g, '');
}

/** `<prefix>/<namespace>/<cluster>/`: every snapshot of one etcd cluster (the remote listing's scope). */
export function clusterPrefix(prefix: string, namespace: string, cluster: string): string {
  return snapshotPrefix(prefix, { namespace, cluster, snapshot: 'x' }).slice(0, -'x/'.length);
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
  attempt?: string,
): SnapshotKeys {
  const dir = snapshotPrefix(prefix, location);
  return {
    prefix: dir,
    data: `${dir}${dataObjectName(compression, encrypted, attempt)}`,
    manifest: `${dir}${MANIFEST_OBJECT_NAME}`,
  };
}

/** `s3://<bucket>/<key>`: how records, results and logs name a remote object. */
export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
