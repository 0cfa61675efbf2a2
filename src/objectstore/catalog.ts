// The complete copies one namespace has in a store, as a cluster importing them sees them: every
// `<prefix>/<namespace>/<cluster>/<snapshot>/manifest.json`, read and checked (parseManifest),
// and trusted only when it describes the place it was found at, with its data object beside it.
// Anything else is a refusal with the key and why, never an exception: one bad manifest must
// not hide the good ones. Directories without a manifest are incomplete copies and not listed.
// Read-only: List and Get, nothing is written.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { StoreConfig } from './config.ts';
import { MANIFEST_OBJECT_NAME, snapshotPrefix } from './layout.ts';
import { type ListedObject, listObjects } from './listing.ts';
import { type Manifest, ManifestError, parseManifest } from './manifest.ts';
import { customerKeyParams } from './s3-options.ts';

/** A manifest is a few KiB; a bigger object at that name is not one of ours (and is not read). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface CatalogCopy {
  /** The manifest's key. */
  key: string;
  manifest: Manifest;
}

export interface CatalogRefusal {
  key: string;
  message: string;
}

export interface NamespaceCatalog {
  copies: CatalogCopy[];
  refused: CatalogRefusal[];
}

/** `<prefix>/<namespace>/`: every cluster's copies of a namespace. */
export function namespacePrefix(prefix: string, namespace: string): string {
  // snapshotPrefix checks the namespace; the cluster and snapshot parts are cut off again.
  const full = snapshotPrefix(prefix, { namespace, cluster: 'c', snapshot: 's' });
  return full.slice(0, -'c/s/'.length);
}

/** The manifests among a listing of namespacePrefix: `<cluster>/<snapshot>/manifest.json` only. */
export function manifestObjects(base: string, objects: readonly ListedObject[]): ListedObject[] {
  return objects
    .filter((o) => {
      if (!o.key.startsWith(base)) return false;
      const parts = o.key.slice(base.length).split('/');
      return parts.length === 3 && parts[2] === MANIFEST_OBJECT_NAME && parts[0] !== '' && parts[1] !== '';
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * A manifest's text as found at `key` (under `base`) → the copy, or why it is refused: not a
 * manifest this driver reads, one describing another place, or one whose data object is not
 * in its own directory.
 */
export function checkFoundManifest(
  base: string,
  key: string,
  text: string,
  namespace: string,
): CatalogCopy | CatalogRefusal {
  const [cluster = '', snapshot = ''] = key.slice(base.length).split('/');
  let manifest: Manifest;
  try {
    manifest = parseManifest(text);
  } catch (err) {
    if (err instanceof ManifestError) return { key, message: err.message };
    throw err;
  }
  const l = manifest.location;
  if (l.namespace !== namespace || l.cluster !== cluster || l.snapshot !== snapshot) {
    return {
      key,
      message: `manifest.json describes ${l.namespace}/${l.cluster}/${l.snapshot}, not the place it is at (${namespace}/${cluster}/${snapshot})`,
    };
  }
  const dir = key.slice(0, -MANIFEST_OBJECT_NAME.length);
  const rest = manifest.object.key.startsWith(dir) ? manifest.object.key.slice(dir.length) : '';
  if (rest === '' || rest.includes('/') || rest === MANIFEST_OBJECT_NAME) {
    return { key, message: `manifest.json names data object ${manifest.object.key}, not one beside it` };
  }
  return { key, manifest };
}

/** Lists the namespace's copies and reads every manifest. Listing errors propagate; a manifest that cannot be read is a refusal. */
export async function readNamespaceCatalog(
  client: Pick<S3Client, 'send'>,
  config: StoreConfig,
  namespace: string,
  options: { abortSignal?: AbortSignal } = {},
): Promise<NamespaceCatalog> {
  const base = namespacePrefix(config.prefix, namespace);
  const found = manifestObjects(base, await listObjects(client, config.bucket, base, options));
  const copies: CatalogCopy[] = [];
  const refused: CatalogRefusal[] = [];
  for (const object of found) {
    if ((object.sizeBytes ?? 0) > MAX_MANIFEST_BYTES) {
      refused.push({
        key: object.key,
        message: `manifest.json is ${object.sizeBytes} bytes: not a manifest`,
      });
      continue;
    }
    let text: string;
    try {
      const answer = await client.send(
        new GetObjectCommand({ Bucket: config.bucket, Key: object.key, ...customerKeyParams(config) }),
        options,
      );
      text = (await answer.Body?.transformToString('utf8')) ?? '';
    } catch (err) {
      if (options.abortSignal?.aborted) throw err;
      refused.push({
        key: object.key,
        message: `cannot be read: ${(err as Error).name}: ${(err as Error).message}`,
      });
      continue;
    }
    const checked = checkFoundManifest(base, object.key, text, namespace);
    if ('manifest' in checked) copies.push(checked);
    else refused.push(checked);
  }
  return { copies, refused };
}
