// `agent upload`: a verified backup file into the object store, in one streaming pass:
//   file → SHA-256 + etcd's trailer (the plain db) → zstd|gzip → chunked AES-256-GCM
//        → SHA-256 + size (the stored bytes) → lib-storage Upload (multipart, parts × queue bounded)
// then manifest.json, written last. "A manifest means the copy is complete and verified" holds
// for every attempt: a copy already complete (a manifest of the same saved bytes) is kept as it
// is and reported, one of other bytes is refused (OBJECT_STORE_COPY_CONFLICT); the data goes to
// a key of this attempt's own (layout.ts), so nothing a manifest points at is ever overwritten
// or deleted. The plain SHA-256 must equal the one the save recorded in the meta file (the file
// changed since it was verified otherwise). Failed or not, no multipart upload under the
// snapshot's prefix stays open (an earlier attempt's too), and a failure leaves no manifest.

import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Logger } from 'pino';
import { compressionLevel, compressor, HashTap } from '../objectstore/codec.ts';
import { DEFAULT_CHUNK_BYTES, EncryptStream, keyId } from '../objectstore/encryption.ts';
import { newAttemptId, s3Url, snapshotKeys } from '../objectstore/layout.ts';
import {
  ENCRYPTION_FORMAT,
  type Manifest,
  parseMembers,
  parseVolumeSnapshots,
  serializeManifest,
} from '../objectstore/manifest.ts';
import { customerKeyParams, s3ClientConfig, writeParams } from '../objectstore/s3-options.ts';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  META_FILE_NAME,
  parseAgentResult,
  type UploadArguments,
} from './contract.ts';
import { driverVersion } from './driver-version.ts';
import { AgentFailure } from './failure.ts';
import { abortOpenUploads } from './multipart-cleanup.ts';
import { fetchManifestText, type ManifestPlace, matchingCopy, uploadResult } from './remote-manifest.ts';
import { storeFailure } from './store-failure.ts';
import { readEncryptionKey, readStoreConfig } from './store-files.ts';
import type { AgentTracing } from './tracing.ts';
import { TrailerHasher } from './trailer-hash.ts';

export interface UploadDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  /** Test seam: the client the upload uses (one from the store config when absent). */
  client?: S3Client;
}

const READ_CHUNK_BYTES = 1024 * 1024;

async function savedResult(file: string): Promise<AgentResult> {
  const metaPath = join(dirname(file), META_FILE_NAME);
  const meta = await readFile(metaPath, 'utf8').then(parseAgentResult, () => undefined);
  if (!meta?.ok || meta.operation !== 'save' || !meta.sha256 || meta.sizeBytes === undefined) {
    throw new AgentFailure(
      AGENT_EXIT_CODES.NOT_FOUND,
      'SNAPSHOT_STATUS_FAILED',
      `${metaPath} holds no successful save: only a saved and verified file is uploaded`,
    );
  }
  return meta;
}

export async function runUpload(args: UploadArguments, deps: UploadDeps): Promise<AgentResult> {
  const { log, tracing, signal } = deps;
  const started = performance.now();
  const config = await readStoreConfig(args.storeConfigDir);
  const key = args.encryptionKeyFile ? await readEncryptionKey(args.encryptionKeyFile) : undefined;
  const meta = await savedResult(args.file);
  const level = compressionLevel(args.compression, args.compressionLevel);
  const now = new Date();
  const attempt = newAttemptId(now, randomBytes(4).toString('hex'));
  const keys = snapshotKeys(config.prefix, args, args.compression, key !== undefined, attempt);
  const objectUrl = s3Url(config.bucket, keys.data);
  const client = deps.client ?? new S3Client(s3ClientConfig(config));
  const place: ManifestPlace = { bucket: config.bucket, key: keys.manifest, ssec: customerKeyParams(config) };
  const options = signal ? { abortSignal: signal } : {};
  const manifestUrl = s3Url(config.bucket, keys.manifest);
  /** The copy in place when there is one (throws OBJECT_STORE_COPY_CONFLICT when it holds other bytes). */
  const existing = async () => {
    const text = await fetchManifestText(client, place, options, `read of ${manifestUrl}`);
    return text === undefined ? undefined : matchingCopy(text, place, args, meta);
  };
  const finish = async (manifest: Manifest, message: string) => {
    await abortOpenUploads(client, config.bucket, keys.prefix, undefined, log);
    const seconds = (performance.now() - started) / 1000;
    const result: AgentResult = {
      ...uploadResult(manifest, config.bucket, keys.prefix, args.file),
      durationSeconds: Math.round(seconds * 1000) / 1000,
      bytesPerSecond: Math.round(manifest.db.sizeBytes / Math.max(seconds, 1e-3)),
    };
    const { operation: _operation, ...fields } = result;
    log.info(fields, message);
    return result;
  };

  return tracing.span(
    'agent.upload',
    { 'snapshot.file': args.file, 'object.url': objectUrl },
    async (root) => {
      try {
        const found = await tracing.span('existing', {}, existing);
        if (found) return await finish(found, 'remote copy already complete: kept as it is');

        const plain = new TrailerHasher();
        // etcd's trailer hasher gives the plain SHA-256 too: one hash pass for the plain bytes.
        const plainTap = new HashTap({ hash: false, onChunk: (chunk) => plain.update(chunk) });
        // Stored as read (no compression, no encryption): the plain pass is the stored one too.
        const identity = args.compression === 'none' && !key;
        const storedTap = identity ? undefined : new HashTap();
        const body = storedTap ?? plainTap;
        const source = createReadStream(args.file, { highWaterMark: READ_CHUNK_BYTES });
        // pipeline() carries any stage's error into the last stream, the body.
        pipeline(
          source,
          plainTap,
          ...(storedTap
            ? [
                compressor(args.compression, level),
                ...(key ? [new EncryptStream(key, DEFAULT_CHUNK_BYTES)] : []),
                storedTap,
              ]
            : []),
          () => undefined,
        );
        // A signal ends the body with an error: lib-storage then aborts the multipart upload itself
        // before done() rejects (docs/local-cluster.md), rather than at once as Upload.abort() does.
        const onAbort = () => source.destroy(new Error(`aborted: ${String(signal?.reason)}`));
        signal?.addEventListener('abort', onAbort, { once: true });
        const upload = new Upload({
          client,
          params: {
            Bucket: config.bucket,
            Key: keys.data,
            Body: body,
            ContentType: 'application/octet-stream',
            ...writeParams(config, now),
          },
          partSize: config.partSizeBytes,
          queueSize: config.queueSize,
          leavePartsOnError: false,
        });
        try {
          await tracing.span('upload', { 'upload.part_size': config.partSizeBytes }, () => upload.done());
        } catch (err) {
          source.destroy();
          const failure = storeFailure(
            signal?.aborted ? new Error(`aborted: ${String(signal.reason)}`) : err,
            `upload of ${objectUrl}`,
          );
          // A store that never answered holds no upload of ours; asking it again would only wait
          // out more connection timeouts.
          if (upload.uploadId !== undefined || failure.reason !== 'OBJECT_STORE_UNREACHABLE') {
            const own = upload.uploadId ? { key: keys.data, uploadId: upload.uploadId } : undefined;
            await abortOpenUploads(client, config.bucket, keys.prefix, own, log);
          }
          throw failure;
        } finally {
          signal?.removeEventListener('abort', onAbort);
        }

        const db = plain.finish();
        const stored = storedTap
          ? { sha256: storedTap.digest(), sizeBytes: storedTap.bytes }
          : { sha256: db.sha256, sizeBytes: plain.totalBytes };
        // This attempt's own object, which no manifest points at: deleting it never loses a copy.
        const dropOwn = () =>
          client
            .send(new DeleteObjectCommand({ Bucket: config.bucket, Key: keys.data }))
            .catch(() => undefined);
        if (db.sha256 !== meta.sha256 || plain.totalBytes !== meta.sizeBytes || !db.ok) {
          // Not a copy of what was verified: it must not stay where a restore could find it.
          await dropOwn();
          await abortOpenUploads(client, config.bucket, keys.prefix, undefined, log);
          throw new AgentFailure(
            AGENT_EXIT_CODES.CORRUPT_STREAM,
            'CHECKSUM_MISMATCH',
            `${args.file} read ${plain.totalBytes} bytes with SHA-256 ${db.sha256}${db.ok ? '' : ' and a wrong etcd trailer'}; the save recorded ${meta.sizeBytes} bytes with ${meta.sha256}: not uploaded`,
          );
        }
        const manifest: Manifest = {
          formatVersion: 1,
          location: { namespace: args.namespace, cluster: args.cluster, snapshot: args.snapshot },
          ...(meta.snapshotId ? { snapshotId: meta.snapshotId } : {}),
          db: { sha256: db.sha256, sizeBytes: plain.totalBytes },
          object: { key: keys.data, ...stored },
          compression: { algorithm: args.compression, ...(level !== undefined ? { level } : {}) },
          encryption: key
            ? { algorithm: ENCRYPTION_FORMAT, keyId: keyId(key), chunkBytes: DEFAULT_CHUNK_BYTES }
            : { algorithm: 'none' },
          ...(meta.revision !== undefined ? { revision: meta.revision } : {}),
          ...(meta.etcdVersion ? { etcdVersion: meta.etcdVersion } : {}),
          ...(meta.member ? { sourceMember: meta.member } : {}),
          ...(args.members ? { members: parseMembers(args.members) } : {}),
          ...(args.requestKind && args.requestName
            ? { request: { kind: args.requestKind, name: args.requestName } }
            : {}),
          ...(args.groupSnapshotId ? { groupSnapshotId: args.groupSnapshotId } : {}),
          ...(args.volumeSnapshots ? { volumeSnapshots: parseVolumeSnapshots(args.volumeSnapshots) } : {}),
          createdAt: meta.createdAt ?? now.toISOString(),
          uploadedAt: new Date().toISOString(),
          driverVersion: driverVersion(),
        };
        // Another attempt may have completed meanwhile: its copy stands, this one is surplus.
        const raced = await existing().catch(async (err: unknown) => {
          await dropOwn();
          throw err;
        });
        if (raced) {
          await dropOwn();
          return await finish(raced, 'remote copy completed by another attempt: kept as it is');
        }
        await tracing.span('manifest', {}, () =>
          client
            .send(
              new PutObjectCommand({
                Bucket: config.bucket,
                Key: keys.manifest,
                Body: serializeManifest(manifest),
                ContentType: 'application/json',
                ...writeParams(config, now),
              }),
              options,
            )
            .catch((err: unknown) => {
              throw storeFailure(err, `write of ${manifestUrl}`);
            }),
        );

        root.setAttributes({
          'object.size_bytes': stored.sizeBytes,
          'snapshot.size_bytes': plain.totalBytes,
        });
        return await finish(manifest, 'snapshot uploaded');
      } finally {
        if (!deps.client) client.destroy();
      }
    },
  );
}
