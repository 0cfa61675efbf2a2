// `agent verify --remote`: a remote copy checked end to end, as a restore would read it:
// manifest.json fetched and checked, the data object streamed through
//   SHA-256 + size (stored bytes) → decrypt (every chunk authenticated) → decompress
//   → SHA-256 + etcd's trailer (the plain db)
// and both SHA-256s and sizes compared with the manifest. Any difference is CHECKSUM_MISMATCH
// (SNAPSHOT_INCOMPLETE for a cut-off object). Nothing is written anywhere, unless `--out` makes
// it a fetch (fetch-file.ts): then the plain db goes to <out>.part in the same pass and is renamed
// to <out> only after every check passed.
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { decompressor, HashTap } from '../objectstore/codec.ts';
import { DecryptStream, EncryptionError } from '../objectstore/encryption.ts';
import { MANIFEST_OBJECT_NAME, s3Url, snapshotPrefix } from '../objectstore/layout.ts';
import { type Manifest, ManifestError, parseManifest } from '../objectstore/manifest.ts';
import { customerKeyParams, s3ClientConfig } from '../objectstore/s3-options.ts';
import { AGENT_EXIT_CODES, type AgentResult, type RemoteVerifyArguments } from './contract.ts';
import { AgentFailure } from './failure.ts';
import { alreadyFetched, PartFile } from './fetch-file.ts';
import { encryptionFailure, storeFailure } from './store-failure.ts';
import { readEncryptionKey, readStoreConfig } from './store-files.ts';
import type { AgentTracing } from './tracing.ts';
import { TrailerHasher } from './trailer-hash.ts';

export interface RemoteVerifyDeps {
  log: Logger;
  tracing: AgentTracing;
  signal?: AbortSignal;
  client?: S3Client;
}

const mismatch = (message: string) =>
  new AgentFailure(AGENT_EXIT_CODES.CORRUPT_STREAM, 'CHECKSUM_MISMATCH', message);

export async function runRemoteVerify(
  args: RemoteVerifyArguments,
  deps: RemoteVerifyDeps,
): Promise<AgentResult> {
  const { tracing, signal } = deps;
  const started = performance.now();
  const config = await readStoreConfig(args.storeConfigDir);
  const prefix = snapshotPrefix(config.prefix, args);
  const manifestUrl = s3Url(config.bucket, `${prefix}${MANIFEST_OBJECT_NAME}`);
  const client = deps.client ?? new S3Client(s3ClientConfig(config));
  const ssec = customerKeyParams(config);
  const options = signal ? { abortSignal: signal } : {};

  return tracing.span('agent.verify', { 'object.url': manifestUrl }, async () => {
    try {
      const manifest = await tracing.span('manifest', {}, async () => {
        const text = await client
          .send(
            new GetObjectCommand({ Bucket: config.bucket, Key: `${prefix}${MANIFEST_OBJECT_NAME}`, ...ssec }),
            options,
          )
          .then((r) => r.Body?.transformToString('utf8') ?? '')
          .catch((err: unknown) => {
            throw storeFailure(err, `read of ${manifestUrl} (a copy without its manifest is incomplete)`);
          });
        try {
          return parseManifest(text);
        } catch (err) {
          if (err instanceof ManifestError) throw mismatch(`${manifestUrl}: ${err.message}`);
          throw err;
        }
      });
      checkManifestPlace(manifest, args, prefix, manifestUrl);
      const encrypted = manifest.encryption.algorithm !== 'none';
      if (encrypted && !args.encryptionKeyFile) {
        throw new AgentFailure(
          AGENT_EXIT_CODES.USAGE,
          'OBJECT_STORE_KEY_INVALID',
          `${manifestUrl}: the copy is encrypted with key id ${manifest.encryption.algorithm === 'none' ? '' : manifest.encryption.keyId}; no --encryption-key-file was given`,
        );
      }
      // A key given says the copy must be encrypted: a plain copy in its place (an attacker's, or
      // an upload that lost its key mount) is not the copy asked for.
      if (!encrypted && args.encryptionKeyFile) {
        throw new AgentFailure(
          AGENT_EXIT_CODES.USAGE,
          'OBJECT_STORE_KEY_INVALID',
          `${manifestUrl}: the copy is not encrypted, but --encryption-key-file was given: refusing a plain copy where an encrypted one is expected`,
        );
      }
      const key =
        encrypted && args.encryptionKeyFile ? await readEncryptionKey(args.encryptionKeyFile) : undefined;
      const objectUrl = s3Url(config.bucket, manifest.object.key);
      const remote = (stored: { sha256: string; sizeBytes: number }) => ({
        location: s3Url(config.bucket, prefix),
        object: objectUrl,
        manifest: manifestUrl,
        ...stored,
        compression: manifest.compression.algorithm,
        ...(manifest.encryption.algorithm === 'none' ? {} : { keyId: manifest.encryption.keyId }),
      });
      const facts = {
        ...(manifest.snapshotId ? { snapshotId: manifest.snapshotId } : {}),
        ...(manifest.revision !== undefined ? { revision: manifest.revision } : {}),
        ...(manifest.etcdVersion ? { etcdVersion: manifest.etcdVersion } : {}),
        ...(manifest.createdAt ? { createdAt: manifest.createdAt } : {}),
      };
      // A re-run of a fetch whose rename happened: the file there is the verified db, kept.
      if (args.out && (await alreadyFetched(args.out, manifest.db, signal))) {
        deps.log.info({ file: args.out, sha256: manifest.db.sha256 }, 'fetched file already in place');
        return {
          operation: 'verify',
          ok: true,
          ...facts,
          file: args.out,
          fetched: 'already-present',
          sha256: manifest.db.sha256,
          sizeBytes: manifest.db.sizeBytes,
          remote: remote(manifest.object),
          durationSeconds: Math.round(performance.now() - started) / 1000,
        } satisfies AgentResult;
      }
      const part = args.out ? await PartFile.open(args.out) : undefined;
      let committed = false;
      try {
        const { stored, plain, plainBytes } = await tracing.span('hash', {}, async () => {
          const response = await client
            .send(new GetObjectCommand({ Bucket: config.bucket, Key: manifest.object.key, ...ssec }), options)
            .catch((err: unknown) => {
              throw storeFailure(err, `read of ${objectUrl}`);
            });
          // Stored as read (no compression, no encryption): the db's hash pass is the stored one too.
          const identity = !key && manifest.compression.algorithm === 'none';
          const storedTap = new HashTap({ hash: !identity });
          const trailer = new TrailerHasher();
          const sink = new Writable({
            write(chunk: Buffer, _enc, done) {
              trailer.update(chunk);
              if (!part) return done();
              part.write(chunk).then(() => done(), done);
            },
          });
          try {
            await pipeline(
              response.Body as NodeJS.ReadableStream,
              storedTap,
              ...(key ? [new DecryptStream(key)] : []),
              decompressor(manifest.compression.algorithm),
              sink,
              ...(signal ? [{ signal }] : []),
            );
          } catch (err) {
            if (err instanceof EncryptionError) throw encryptionFailure(err, objectUrl);
            const code = (err as NodeJS.ErrnoException).code ?? '';
            if (code === 'ENOSPC')
              throw new AgentFailure(
                AGENT_EXIT_CODES.DISK_FULL,
                'STORAGE_QUOTA_EXCEEDED',
                `no room for ${args.out}.part: ${(err as Error).message}`,
              );
            if (code.startsWith('Z_') || code.startsWith('ERR_ZSTD') || code.startsWith('ZSTD')) {
              throw mismatch(
                `${objectUrl} does not decompress as ${manifest.compression.algorithm}: ${(err as Error).message}`,
              );
            }
            throw storeFailure(err, `read of ${objectUrl}`);
          }
          const plain = trailer.finish();
          return {
            stored: { sha256: identity ? plain.sha256 : storedTap.digest(), sizeBytes: storedTap.bytes },
            plain,
            plainBytes: trailer.totalBytes,
          };
        });

        if (stored.sizeBytes !== manifest.object.sizeBytes || stored.sha256 !== manifest.object.sha256) {
          throw mismatch(
            `${objectUrl} is ${stored.sizeBytes} bytes with SHA-256 ${stored.sha256}; its manifest records ${manifest.object.sizeBytes} bytes with ${manifest.object.sha256}`,
          );
        }
        if (plainBytes !== manifest.db.sizeBytes || plain.sha256 !== manifest.db.sha256) {
          throw mismatch(
            `${objectUrl} reads back as ${plainBytes} bytes of db with SHA-256 ${plain.sha256}; its manifest records ${manifest.db.sizeBytes} bytes with ${manifest.db.sha256}`,
          );
        }
        if (!plain.ok)
          throw mismatch(`${objectUrl}: etcd's SHA-256 trailer does not match the database before it`);
        if (part) {
          await part.commit();
          committed = true;
        }

        const result: AgentResult = {
          operation: 'verify',
          ok: true,
          ...facts,
          ...(args.out ? { file: args.out, fetched: 'downloaded' as const } : {}),
          sha256: plain.sha256,
          sizeBytes: plainBytes,
          remote: remote(stored),
          durationSeconds: Math.round(performance.now() - started) / 1000,
        };
        const { operation: _operation, ...fields } = result;
        deps.log.info(fields, args.out ? 'remote copy fetched and verified' : 'remote copy verified');
        return result;
      } finally {
        if (!committed) await part?.discard();
      }
    } finally {
      if (!deps.client) client.destroy();
    }
  });
}

/** A manifest copied under another snapshot's prefix must not pass for that snapshot. */
function checkManifestPlace(
  manifest: Manifest,
  args: RemoteVerifyArguments,
  prefix: string,
  url: string,
): void {
  const l = manifest.location;
  if (l.namespace !== args.namespace || l.cluster !== args.cluster || l.snapshot !== args.snapshot) {
    throw mismatch(
      `${url} describes ${l.namespace}/${l.cluster}/${l.snapshot}, not ${args.namespace}/${args.cluster}/${args.snapshot}`,
    );
  }
  if (!manifest.object.key.startsWith(prefix) || manifest.object.key.slice(prefix.length).includes('/')) {
    throw mismatch(
      `${url}: its data object ${JSON.stringify(manifest.object.key.slice(0, 300))} is not beside it`,
    );
  }
}
