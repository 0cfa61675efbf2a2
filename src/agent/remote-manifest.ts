// A snapshot's manifest.json as upload and verify --remote read it: absent (undefined) is an
// answer, not an error, for the upload that asks whether a copy already exists; any other
// failure is the store's reason. And the check an upload makes of a copy it finds: the same
// plain bytes (the save's SHA-256 and size) are a complete copy to keep, anything else a
// conflict — never overwritten, so a re-run cannot destroy the only good copy.
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { MANIFEST_OBJECT_NAME, s3Url } from '../objectstore/layout.ts';
import { type Manifest, ManifestError, parseManifest } from '../objectstore/manifest.ts';
import type { CustomerKeyParams } from '../objectstore/s3-options.ts';
import { AGENT_EXIT_CODES, type AgentResult, type UploadArguments } from './contract.ts';
import { AgentFailure } from './failure.ts';
import { storeFailure } from './store-failure.ts';

export interface ManifestPlace {
  bucket: string;
  key: string;
  /** SSE-C parameters: a manifest written with them is read with them. */
  ssec: CustomerKeyParams;
}

/** The manifest's text; undefined when the store has no such object. */
export async function fetchManifestText(
  client: S3Client,
  place: ManifestPlace,
  options: { abortSignal?: AbortSignal },
  what: string,
): Promise<string | undefined> {
  try {
    const r = await client.send(
      new GetObjectCommand({ Bucket: place.bucket, Key: place.key, ...place.ssec }),
      options,
    );
    return (await r.Body?.transformToString('utf8')) ?? '';
  } catch (err) {
    const failure = storeFailure(err, what);
    if (failure.reason === 'OBJECT_STORE_NOT_FOUND') return undefined;
    throw failure;
  }
}

const conflict = (message: string) =>
  new AgentFailure(AGENT_EXIT_CODES.OBJECT_STORE_FAILED, 'OBJECT_STORE_COPY_CONFLICT', message);

/**
 * The copy an upload finds already in place: its manifest when it holds exactly the saved
 * bytes, else OBJECT_STORE_COPY_CONFLICT (nothing is written or deleted).
 */
export function matchingCopy(
  text: string,
  place: ManifestPlace,
  args: UploadArguments,
  saved: AgentResult,
): Manifest {
  const url = s3Url(place.bucket, place.key);
  const advice = 'not overwritten: delete the copy (agent delete --remote) to upload this snapshot again';
  let manifest: Manifest;
  try {
    manifest = parseManifest(text);
  } catch (err) {
    if (err instanceof ManifestError)
      throw conflict(`${url} exists but is not a manifest this driver reads (${err.message}); ${advice}`);
    throw err;
  }
  const l = manifest.location;
  if (l.namespace !== args.namespace || l.cluster !== args.cluster || l.snapshot !== args.snapshot) {
    throw conflict(`${url} describes ${l.namespace}/${l.cluster}/${l.snapshot}; ${advice}`);
  }
  if (manifest.db.sha256 !== saved.sha256 || manifest.db.sizeBytes !== saved.sizeBytes) {
    throw conflict(
      `${url} records a copy of ${manifest.db.sizeBytes} bytes with SHA-256 ${manifest.db.sha256}; the save recorded ${saved.sizeBytes} bytes with ${saved.sha256}: ${advice}`,
    );
  }
  return manifest;
}

/** An upload's result for the copy a manifest describes (the one just written, or one found complete). */
export function uploadResult(manifest: Manifest, bucket: string, prefix: string, file: string): AgentResult {
  return {
    operation: 'upload',
    ok: true,
    file,
    ...(manifest.snapshotId ? { snapshotId: manifest.snapshotId } : {}),
    sha256: manifest.db.sha256,
    sizeBytes: manifest.db.sizeBytes,
    ...(manifest.revision !== undefined ? { revision: manifest.revision } : {}),
    remote: {
      location: s3Url(bucket, prefix),
      object: s3Url(bucket, manifest.object.key),
      manifest: s3Url(bucket, `${prefix}${MANIFEST_OBJECT_NAME}`),
      sha256: manifest.object.sha256,
      sizeBytes: manifest.object.sizeBytes,
      compression: manifest.compression.algorithm,
      ...(manifest.encryption.algorithm === 'none' ? {} : { keyId: manifest.encryption.keyId }),
    },
  };
}
