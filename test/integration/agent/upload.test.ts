// `agent upload` against a real S3 server (versitygw) and a snapshot `agent save` took from a
// real etcd (object-store-env.ts): plain, zstd, gzip and encrypted copies, their objects checked
// from outside with the SDK (SHA-256 = the manifest's, multipart parts from the ETag) and by
// `agent verify --remote`; wrong credentials, an unreachable endpoint and a missing bucket end
// with their reasons and no multipart upload left; a failing part leaves no upload open; a file
// that changed since its save is not uploaded.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CreateMultipartUploadCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { runUpload } from '../../../src/agent/upload.ts';
import { parseStoreConfig } from '../../../src/objectstore/config.ts';
import { keyId } from '../../../src/objectstore/encryption.ts';
import { parseManifest } from '../../../src/objectstore/manifest.ts';
import { s3ClientConfig } from '../../../src/objectstore/s3-options.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type ObjectStoreEnv, sha256, startObjectStoreEnv } from './object-store-env.ts';

const key = randomBytes(32);
let env: ObjectStoreEnv;

beforeAll(async () => {
  env = await startObjectStoreEnv();
});
afterAll(async () => {
  await env?.stop();
});

describe('agent upload against versitygw', () => {
  it.each([
    ['plain', 'none', false, 'when_required'],
    ['zstd', 'zstd', false, 'when_supported'],
    ['gzip', 'gzip', false, 'when_required'],
    ['zstd-encrypted', 'zstd', true, 'when_required'],
    ['encrypted', 'none', true, 'when_supported'],
  ] as const)(
    'uploads %s, the objects checked from outside and by verify',
    async (name, compression, encrypted, checksumMode) => {
      const args = env.uploadArgs(name, {
        compression,
        storeConfigDir: env.storeDir({ checksumMode, prefix: 'backups/etcd' }),
        members: 'etcd-0=http://10.0.0.1:2380',
        ...(encrypted ? { encryptionKeyFile: env.keyFile(key) } : {}),
      });
      const run = await env.agent(uploadCommand(args));
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      const result = run.result as AgentResult;
      const db = readFileSync(env.file);
      const prefix = `backups/etcd/prod/main/${name}/`;
      const manifest = parseManifest((await env.getBytes(`${prefix}manifest.json`)).toString('utf8'));
      // The attempt's own data object: named by how it is stored, and by the attempt.
      const dataKey = manifest.object.key;
      const ext = `${compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : ''}${encrypted ? '.enc' : ''}`;
      expect(dataKey).toMatch(new RegExp(`^${prefix}snapshot-[a-z0-9]+\\.db${ext.replaceAll('.', '\\.')}$`));
      expect(await env.listed(prefix)).toEqual([`${prefix}manifest.json`, dataKey].sort());

      const stored = await env.getBytes(dataKey);
      expect(manifest).toMatchObject({
        location: { namespace: 'prod', cluster: 'main', snapshot: name },
        snapshotId: 'prod/snap',
        db: { sha256: sha256(db), sizeBytes: db.length },
        object: { key: dataKey, sha256: sha256(stored), sizeBytes: stored.length },
        compression: { algorithm: compression },
        etcdVersion: '3.6.16',
        members: [{ name: 'etcd-0', peerURLs: ['http://10.0.0.1:2380'] }],
        encryption: encrypted
          ? { algorithm: 'aes-256-gcm-chunked-v1', keyId: keyId(key) }
          : { algorithm: 'none' },
      });
      expect(result.remote).toEqual({
        location: `s3://${env.s3.bucket}/${prefix}`,
        object: `s3://${env.s3.bucket}/${dataKey}`,
        manifest: `s3://${env.s3.bucket}/${prefix}manifest.json`,
        sha256: sha256(stored),
        sizeBytes: stored.length,
        compression,
        ...(encrypted ? { keyId: keyId(key) } : {}),
      });
      expect(run.terminationMessage).toEqual(result);
      if (compression === 'none' && !encrypted) {
        expect(stored.equals(db)).toBe(true);
        // Multipart in parts of partSizeMiB: the ETag is S3's "<md5 of part md5s>-<parts>".
        const parts = Math.ceil(db.length / (5 * 1024 * 1024));
        expect(parts).toBeGreaterThan(1);
        const [listing] =
          (await env.outside.send(new ListObjectsV2Command({ Bucket: env.s3.bucket, Prefix: dataKey })))
            .Contents ?? [];
        expect(listing?.ETag).toMatch(new RegExp(`-${parts}"?$`));
      }
      if (compression !== 'none') expect(stored.length).toBeLessThan(db.length * 0.8);
      if (encrypted) {
        expect(stored.subarray(0, 6).toString()).toBe('ESDENC');
        expect(stored.includes(Buffer.from('/registry/configmaps/prod/cm-1'))).toBe(false);
      }
      expect(await env.openUploads()).toEqual([]);

      const verify = await env.agent(
        verifyRemoteCommand({ ...args, storeConfigDir: env.storeDir({ prefix: 'backups/etcd' }) }),
      );
      expect(verify.code, verify.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(verify.result).toMatchObject({
        operation: 'verify',
        ok: true,
        sha256: sha256(db),
        remote: result.remote,
      });
    },
  );

  it.each([
    ['a wrong secret key', { secretAccessKey: 'wrong-secret' }, 'OBJECT_STORE_AUTH_FAILED'],
    ['an unknown access key', { accessKeyId: 'nobody' }, 'OBJECT_STORE_AUTH_FAILED'],
    ['an unreachable endpoint', { endpoint: 'UNREACHABLE' }, 'OBJECT_STORE_UNREACHABLE'],
    ['a missing bucket', { bucket: 'no-such-bucket' }, 'OBJECT_STORE_BUCKET_NOT_FOUND'],
  ])('fails on %s with its reason, leaving nothing behind', async (what, overrides, reason) => {
    const snapshot = `refused-${what.replaceAll(' ', '-')}`;
    // Port 9 (discard) of an address of this test's own slot: nothing listens there.
    const store = 'endpoint' in overrides ? { endpoint: `http://${env.etcd.subnet}.2.2:9` } : overrides;
    const run = await env.agent(
      uploadCommand(env.uploadArgs(snapshot, { storeConfigDir: env.storeDir(store) })),
    );
    expect(run.code, `${what}: ${run.stderr}`).toBe(AGENT_EXIT_CODES.OBJECT_STORE_FAILED);
    expect(run.result?.error?.reason).toBe(reason);
    expect(run.result?.error?.message).toContain(`s3://`);
    expect(run.stderr).not.toContain('wrong-secret');
    expect(await env.listed(`prod/main/${snapshot}/`)).toEqual([]);
    expect(await env.openUploads()).toEqual([]);
  });

  it('refuses a file that changed since its save, leaving no object, and a file without a save', async () => {
    const changedDir = join(env.dir, 'snapshots', 'changed');
    mkdirSync(changedDir, { recursive: true });
    const changed = join(changedDir, 'snapshot.db');
    const bytes = readFileSync(env.file);
    bytes[1000] = (bytes[1000] as number) ^ 1;
    writeFileSync(changed, bytes);
    writeFileSync(
      join(changedDir, 'snapshot.meta.json'),
      readFileSync(join(dirname(env.file), 'snapshot.meta.json')),
    );
    const run = await env.agent(uploadCommand({ ...env.uploadArgs('changed'), file: changed }));
    expect(run.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(run.result?.error).toMatchObject({
      reason: 'CHECKSUM_MISMATCH',
      message: expect.stringContaining('not uploaded'),
    });
    expect(await env.listed('prod/main/changed/')).toEqual([]);
    expect(await env.openUploads()).toEqual([]);

    const unsavedDir = join(env.dir, 'snapshots', 'unsaved');
    mkdirSync(unsavedDir, { recursive: true });
    writeFileSync(join(unsavedDir, 'snapshot.db'), bytes);
    const unsaved = await env.agent(
      uploadCommand({ ...env.uploadArgs('unsaved'), file: join(unsavedDir, 'snapshot.db') }),
    );
    expect(unsaved.code).toBe(AGENT_EXIT_CODES.NOT_FOUND);
    expect(unsaved.result?.error?.message).toContain('holds no successful save');
    expect(await env.listed('prod/main/unsaved/')).toEqual([]);
  });

  it('refuses an invalid store Secret naming the key, before contacting the store', async () => {
    const run = await env.agent(
      uploadCommand(env.uploadArgs('invalid', { storeConfigDir: env.storeDir({ partSizeMiB: '1' }) })),
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.USAGE);
    expect(run.result?.error).toEqual({
      reason: 'OBJECT_STORE_CONFIG_INVALID',
      message: 'object store key "partSizeMiB" = "1" is not a whole number in [5, 5120]',
    });
  });

  it('aborts its multipart upload, and an earlier one of the same key, when a part fails', async () => {
    const config = parseStoreConfig({
      endpoint: env.s3.endpoint,
      bucket: env.s3.bucket,
      forcePathStyle: 'true',
      accessKeyId: env.s3.credentials.accessKeyId,
      secretAccessKey: env.s3.credentials.secretAccessKey,
      partSizeMiB: '5',
      queueSize: '2',
      maxAttempts: '1',
    });
    const client = new S3Client(s3ClientConfig(config));
    const dataKey = 'prod/main/part-fails/snapshot.db';
    // An earlier attempt of the same Job that died mid-upload.
    await client.send(new CreateMultipartUploadCommand({ Bucket: env.s3.bucket, Key: dataKey }));
    expect(await env.openUploads()).toHaveLength(1);
    let parts = 0;
    client.middlewareStack.add(
      (next, context) => async (a) => {
        if (context.commandName === 'UploadPartCommand' && ++parts === 2) {
          throw Object.assign(new Error('injected part failure'), {
            name: 'InternalError',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return next(a);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );
    const logs: string[] = [];
    const log = createLogger({
      level: 'info',
      format: 'json',
      destination: { write: (l: string) => logs.push(l) } as never,
    });
    const tracing = {
      span: (_n: string, _a: unknown, fn: (s: never) => unknown) => fn({ setAttributes() {} } as never),
      shutdown: async () => {},
    };
    await expect(
      runUpload(env.uploadArgs('part-fails', { storeConfigDir: env.storeDir() }), {
        log,
        tracing: tracing as never,
        client,
      }),
    ).rejects.toMatchObject({
      reason: 'OBJECT_STORE_REQUEST_FAILED',
      message: expect.stringContaining('injected part failure'),
    });
    client.destroy();
    expect(await env.openUploads()).toEqual([]);
    expect(await env.listed('prod/main/part-fails/')).toEqual([]);
  });
});
