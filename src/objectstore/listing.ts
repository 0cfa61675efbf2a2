// The remote copies of one etcd cluster, as retention and the orphan sweep will see them: every
// snapshot directory under `<prefix>/<namespace>/<cluster>/`, complete when its manifest.json is
// there (a manifest means a complete, verified copy: upload.ts), incomplete otherwise (an upload
// that died before its manifest, or a delete that stopped after it). Names only, from a listing:
// a reader that needs what a copy holds fetches its manifest. groupListing is pure (unit-tested);
// listRemoteSnapshots pages through ListObjectsV2.
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { checkLocation, clusterPrefix, MANIFEST_OBJECT_NAME } from './layout.ts';

export interface ListedObject {
  key: string;
  lastModified?: Date;
  sizeBytes?: number;
}

export interface RemoteSnapshotEntry {
  /** The EtcdSnapshot record's name (the directory's). */
  snapshot: string;
  /** manifest.json is there: the copy is complete. */
  complete: boolean;
  /** The manifest's key when complete. */
  manifestKey?: string;
  /** When the manifest was written (complete), else the newest object's time. */
  lastModified?: Date;
  /** Every key in the directory (data objects of any attempt, the manifest). */
  keys: string[];
}

export interface RemoteListing {
  snapshots: RemoteSnapshotEntry[];
  /** Keys under the cluster's prefix that are no snapshot's (not `<snapshot>/<object>`): reported, never touched. */
  foreign: string[];
}

/** Objects listed under `base` (clusterPrefix) → snapshots by name, sorted. */
export function groupListing(base: string, objects: readonly ListedObject[]): RemoteListing {
  const bySnapshot = new Map<string, ListedObject[]>();
  const foreign: string[] = [];
  for (const o of objects) {
    if (!o.key.startsWith(base)) continue;
    const rest = o.key.slice(base.length);
    const slash = rest.indexOf('/');
    const name = slash > 0 ? rest.slice(0, slash) : '';
    const object = slash > 0 ? rest.slice(slash + 1) : '';
    if (!isSnapshotName(name) || object === '' || object.includes('/')) {
      foreign.push(o.key);
      continue;
    }
    bySnapshot.set(name, [...(bySnapshot.get(name) ?? []), o]);
  }
  const snapshots = [...bySnapshot.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([snapshot, list]): RemoteSnapshotEntry => {
      const manifestKey = `${base}${snapshot}/${MANIFEST_OBJECT_NAME}`;
      const manifest = list.find((o) => o.key === manifestKey);
      const newest = list
        .map((o) => o.lastModified)
        .filter((d): d is Date => d !== undefined)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      const lastModified = manifest ? manifest.lastModified : newest;
      return {
        snapshot,
        complete: manifest !== undefined,
        ...(manifest ? { manifestKey } : {}),
        ...(lastModified ? { lastModified } : {}),
        keys: list.map((o) => o.key).sort(),
      };
    });
  return { snapshots, foreign: foreign.sort() };
}

function isSnapshotName(name: string): boolean {
  try {
    checkLocation({ namespace: 'n', cluster: 'c', snapshot: name });
    return true;
  } catch {
    return false;
  }
}

/** Every snapshot directory of `<prefix>/<namespace>/<cluster>/` in the bucket. Store errors propagate. */
export async function listRemoteSnapshots(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  prefix: string,
  namespace: string,
  cluster: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<RemoteListing> {
  const base = clusterPrefix(prefix, namespace, cluster);
  return groupListing(base, await listObjects(client, bucket, base, options));
}

/** Every object under a key prefix, all pages of ListObjectsV2. Store errors propagate. */
export async function listObjects(
  client: Pick<S3Client, 'send'>,
  bucket: string,
  keyPrefix: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<ListedObject[]> {
  const objects: ListedObject[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: keyPrefix,
        ...(token ? { ContinuationToken: token } : {}),
      }),
      options,
    );
    for (const o of page.Contents ?? []) {
      if (o.Key === undefined) continue;
      objects.push({
        key: o.Key,
        ...(o.LastModified ? { lastModified: o.LastModified } : {}),
        ...(o.Size !== undefined ? { sizeBytes: o.Size } : {}),
      });
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects;
}
