// No multipart upload of a snapshot may stay open: parts cost storage and nothing would ever
// complete them. lib-storage aborts its own upload when the body or a part fails; this is the
// second line for the paths where it does not wait (Upload.abort()) or its abort itself failed,
// and for uploads an earlier attempt left when it was killed: after a failure AND after a
// success (or a copy found complete), every open upload under the snapshot's prefix is aborted.
// Each attempt writes its own data key (layout.ts), so an upload under the prefix that is still
// open when this attempt is done is never the one a manifest points at. Best effort: the store
// may be the problem.
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';

export interface OpenUpload {
  key: string;
  uploadId: string;
}

/** Every open multipart upload whose key starts with `prefix` (all pages). */
export async function listOpenUploads(
  client: S3Client,
  bucket: string,
  prefix: string,
): Promise<OpenUpload[]> {
  const out: OpenUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await client.send(
      new ListMultipartUploadsCommand({
        Bucket: bucket,
        Prefix: prefix,
        ...(keyMarker !== undefined ? { KeyMarker: keyMarker } : {}),
        ...(uploadIdMarker !== undefined ? { UploadIdMarker: uploadIdMarker } : {}),
      }),
    );
    for (const u of page.Uploads ?? []) {
      if (u.Key?.startsWith(prefix) && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId });
    }
    if (!page.IsTruncated || (page.NextKeyMarker === undefined && page.NextUploadIdMarker === undefined)) {
      return out;
    }
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
}

/**
 * Aborts `known` (this attempt's own upload, when it has one) and every upload listed under
 * `prefix`. Returns how many were aborted.
 */
export async function abortOpenUploads(
  client: S3Client,
  bucket: string,
  prefix: string,
  known: OpenUpload | undefined,
  log: Logger,
): Promise<number> {
  const uploads = new Map<string, OpenUpload>(known ? [[known.uploadId, known]] : []);
  try {
    for (const u of await listOpenUploads(client, bucket, prefix)) uploads.set(u.uploadId, u);
  } catch {
    // Listing may be refused (credentials) or impossible (unreachable): the known id still goes.
  }
  let aborted = 0;
  for (const { key, uploadId } of uploads.values()) {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
      aborted++;
      log.info({ key, upload_id: uploadId }, 'aborted an incomplete multipart upload');
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'NoSuchUpload')
        log.warn(
          { key, upload_id: uploadId, error: name ?? String(err) },
          'could not abort a multipart upload',
        );
    }
  }
  return aborted;
}
