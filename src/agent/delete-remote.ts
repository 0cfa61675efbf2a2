// `agent delete --remote`: a snapshot's remote copy removed, idempotently (a copy already gone is
// success). Order matters because a run can stop anywhere: the manifest goes first, so from the
// first request on the copy no longer claims to be complete (upload, verify and the listing all
// go by the manifest); then the open multipart uploads under its prefix (a killed attempt's),
// then every object under the prefix (data objects of any attempt). A re-run finishes whatever
// an interrupted one left. With --dir, the local directory goes after the remote objects, so a
// failed remote delete leaves the record's local copy for the retry to find.
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { MANIFEST_OBJECT_NAME, s3Url, snapshotPrefix } from '../objectstore/layout.ts';
import { s3ClientConfig } from '../objectstore/s3-options.ts';
import type { AgentResult, RemoteDeleteArguments, RemoteDeleteReport } from './contract.ts';
import { deletableDir, runDelete } from './delete.ts';
import { listOpenUploads } from './multipart-cleanup.ts';
import { storeFailure } from './store-failure.ts';
import { readStoreConfig } from './store-files.ts';
import type { AgentTracing } from './tracing.ts';

export interface RemoteDeleteDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  /** Test seam: the client to use (one from the store config when absent). */
  client?: S3Client;
  /** Passed on to the local delete (delete.ts). */
  protectedRoots?: string[];
}

export async function runRemoteDelete(
  args: RemoteDeleteArguments,
  deps: RemoteDeleteDeps,
): Promise<AgentResult> {
  const { log, tracing, signal } = deps;
  // Every check before the first delete: a --dir the local delete would refuse stops it all.
  if (args.dir !== undefined) deletableDir(args.dir, deps.protectedRoots);
  const config = await readStoreConfig(args.storeConfigDir);
  const bucket = config.bucket;
  const prefix = snapshotPrefix(config.prefix, args);
  const location = s3Url(bucket, prefix);
  const client = deps.client ?? new S3Client(s3ClientConfig(config));
  const report = await tracing.span('agent.delete', { 'object.url': location }, async () => {
    try {
      return await deleteRemoteCopy(client, bucket, prefix, { log, ...(signal ? { signal } : {}) });
    } finally {
      if (!deps.client) client.destroy();
    }
  });

  const local = args.dir
    ? await runDelete(
        { dir: args.dir },
        { log, tracing, ...(deps.protectedRoots ? { protectedRoots: deps.protectedRoots } : {}) },
      )
    : undefined;
  return {
    operation: 'delete',
    ok: true,
    ...(local?.file ? { file: local.file } : {}),
    remoteDelete: report,
  };
}

/**
 * Every object and open multipart upload under one snapshot's `prefix`, the manifest first (the
 * order above). Store failures are thrown as the store's reasons (store-failure.ts). Also the
 * sweep's, for remote orphans.
 */
export async function deleteRemoteCopy(
  client: S3Client,
  bucket: string,
  prefix: string,
  deps: { log: Logger; signal?: AbortSignal },
): Promise<RemoteDeleteReport> {
  const { log, signal } = deps;
  const location = s3Url(bucket, prefix);
  const options = signal ? { abortSignal: signal } : {};
  const send = async <T>(what: string, request: () => Promise<T>): Promise<T> => {
    try {
      return await request();
    } catch (err) {
      throw storeFailure(err, what);
    }
  };

  // S3's DeleteObject of a missing key succeeds; a store that answers NoSuchKey instead means
  // the same: the object is gone.
  const deleteObject = (key: string) =>
    send(`delete of ${s3Url(bucket, key)}`, () =>
      client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), options),
    ).catch((err: unknown) => {
      if ((err as { reason?: string }).reason !== 'OBJECT_STORE_NOT_FOUND') throw err;
    });

  const manifestKey = `${prefix}${MANIFEST_OBJECT_NAME}`;
  const before = await listKeys(client, bucket, prefix, options, send);
  await deleteObject(manifestKey);
  let uploadsAborted = 0;
  const uploads = await send(`listing of the multipart uploads under ${location}`, () =>
    listOpenUploads(client, bucket, prefix),
  );
  for (const u of uploads) {
    try {
      await client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }),
        options,
      );
      uploadsAborted++;
    } catch (err) {
      // Completed or aborted meanwhile: nothing left open.
      if ((err as { name?: string }).name !== 'NoSuchUpload') {
        throw storeFailure(err, `abort of the multipart upload ${u.uploadId} of ${s3Url(bucket, u.key)}`);
      }
    }
  }
  // Listed again: an upload that completed while its multipart upload was being aborted.
  const rest = await listKeys(client, bucket, prefix, options, send);
  for (const key of rest) await deleteObject(key);
  const objectsDeleted = new Set([...before, ...rest]).size;
  const manifestFound = before.includes(manifestKey);
  log.info(
    {
      location,
      manifest_found: manifestFound,
      objects_deleted: objectsDeleted,
      uploads_aborted: uploadsAborted,
    },
    objectsDeleted + uploadsAborted === 0 ? 'remote copy was already gone' : 'remote copy deleted',
  );
  return { location, manifestFound, objectsDeleted, uploadsAborted };
}

/** Every key under `prefix` (all pages). */
async function listKeys(
  client: S3Client,
  bucket: string,
  prefix: string,
  options: { abortSignal?: AbortSignal },
  send: <T>(what: string, request: () => Promise<T>) => Promise<T>,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await send(`listing of ${s3Url(bucket, prefix)}`, () =>
      client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
        options,
      ),
    );
    for (const o of page.Contents ?? []) if (o.Key?.startsWith(prefix)) keys.push(o.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}
