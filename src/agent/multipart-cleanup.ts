// After a failed upload, no multipart upload of the object may stay open (parts cost storage
// and nothing would ever complete them). lib-storage aborts its own upload when the body or a
// part fails; this is the second line for the paths where it does not wait (Upload.abort()) or
// its abort itself failed: the upload it started, by id, then any other open upload of the same
// key (an earlier attempt of the same Job that died). Best effort: the store may be the problem.
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';

export async function abortLeftoverUpload(
  client: S3Client,
  bucket: string,
  key: string,
  uploadId: string | undefined,
  log: Logger,
): Promise<void> {
  const ids = new Set<string>(uploadId ? [uploadId] : []);
  try {
    const open = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: key }));
    for (const u of open.Uploads ?? []) if (u.Key === key && u.UploadId) ids.add(u.UploadId);
  } catch {
    // Listing may be refused (credentials) or impossible (unreachable): the known id still goes.
  }
  for (const id of ids) {
    try {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: id }));
      log.info({ key, upload_id: id }, 'aborted an incomplete multipart upload');
    } catch (err) {
      const name = (err as { name?: string }).name;
      if (name !== 'NoSuchUpload')
        log.warn({ key, upload_id: id, error: name ?? String(err) }, 'could not abort a multipart upload');
    }
  }
}
