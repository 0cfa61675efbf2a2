// Off-cluster copies against a real S3 server (versitygw, test/harness/s3-server.ts): a snapshot
// saved by `agent save` from a real etcd is uploaded by `agent upload` plain, zstd, gzip and
// encrypted; the objects are checked from outside with the SDK (their SHA-256 is the manifest's)
// and by `agent verify --remote`. Wrong credentials, an unreachable endpoint and a missing bucket
// end with their reasons and no multipart upload left; a flipped byte, a cut encrypted object, a
// missing manifest and another key are refused by verify.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  saveCommand,
  type UploadArguments,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { runUpload } from '../../../src/agent/upload.ts';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { parseStoreConfig } from '../../../src/objectstore/config.ts';
import { keyId } from '../../../src/objectstore/encryption.ts';
import { parseManifest } from '../../../src/objectstore/manifest.ts';
import { s3ClientConfig } from '../../../src/objectstore/s3-options.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { runAgentProcess } from './agent-env.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const key = randomBytes(32);
const otherKey = randomBytes(32);

let etcd: EtcdProcessCluster;
let s3: S3Server;
let outside: S3Client;
let dir: string;
let file: string;
let n = 0;

/** A mounted object store Secret: one file per key (trailing newlines as `kubectl create secret --from-file` leaves them). */
function storeDir(overrides: Record<string, string> = {}): string {
  const d = join(dir, `store-${n++}`);
  mkdirSync(d, { recursive: true });
  const data: Record<string, string> = {
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: s3.region,
    forcePathStyle: 'true',
    accessKeyId: s3.credentials.accessKeyId,
    secretAccessKey: s3.credentials.secretAccessKey,
    checksumMode: 'when_required',
    partSizeMiB: '5',
    queueSize: '2',
    maxAttempts: '2',
    ...overrides,
  };
  for (const [k, v] of Object.entries(data)) if (v !== '') writeFileSync(join(d, k), `${v}\n`);
  // What the kubelet adds to every Secret volume: must be skipped.
  mkdirSync(join(d, '..2026_01_01_00_00_00.000000000'));
  return d;
}

function keyFile(k: Buffer): string {
  const f = join(dir, `key-${keyId(k)}`);
  writeFileSync(f, `${k.toString('base64')}\n`);
  return f;
}

const term = () => join(dir, `term-${n++}`);
const agent = (argv: string[]) => runAgentProcess(argv, { terminationLog: term() });

function uploadArgs(snapshot: string, extra: Partial<UploadArguments> = {}): UploadArguments {
  return {
    file,
    storeConfigDir: storeDir(),
    namespace: 'prod',
    cluster: 'main',
    snapshot,
    compression: 'none',
    ...extra,
  };
}

async function getBytes(k: string): Promise<Buffer> {
  const r = await outside.send(new GetObjectCommand({ Bucket: s3.bucket, Key: k }));
  return Buffer.from(
    await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

async function listed(prefix: string): Promise<string[]> {
  const r = await outside.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (r.Contents ?? []).map((o) => o.Key as string).sort();
}

async function openUploads(): Promise<string[]> {
  const r = await outside.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
  return (r.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
}

/** The object's file in versitygw's posix backend, to damage it behind the server's back. */
const backendFile = (k: string) => join(s3.dataDir, s3.bucket, k);

beforeAll(async () => {
  etcd = await startEtcdProcessCluster({ size: 1 });
  dir = join(etcd.dir, 'upload');
  mkdirSync(dir, { recursive: true });
  s3 = await startS3Server(`${etcd.subnet}.2.1`, { dir: join(dir, 's3') });
  outside = new S3Client(s3.clientConfig());
  // About 12 MiB of Kubernetes-like objects, half of each random: more than two 5 MiB parts
  // plain, and still more than one compressed.
  const client = new EtcdClient(etcd.endpoints[0] as string, { credentials: NO_CREDENTIALS });
  try {
    for (let i = 0; i < 1400; i++) {
      const object = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: `cm-${i}`,
          namespace: 'prod',
          uid: randomBytes(16).toString('hex'),
          labels: { app: 'web' },
        },
        data: {
          blob: randomBytes(3072).toString('base64'),
          config: 'replicas: 3\nimage: nginx:1.27\n'.repeat(80),
        },
      };
      await client.put(`/registry/configmaps/prod/cm-${i}`, JSON.stringify(object));
    }
  } finally {
    client.close();
  }
  file = join(dir, 'snapshots', 'snap', 'snapshot.db');
  const save = await agent(saveCommand({ endpoints: etcd.endpoints, file, snapshotId: 'prod/snap' }));
  expect(save.code, save.stderr).toBe(AGENT_EXIT_CODES.OK);
});

afterAll(async () => {
  outside?.destroy();
  await s3?.stop();
  await etcd?.stop();
});

describe('agent upload and verify --remote against versitygw', () => {
  const uploaded = new Map<string, AgentResult>();

  it.each([
    ['plain', 'none', false, 'when_required'],
    ['zstd', 'zstd', false, 'when_supported'],
    ['gzip', 'gzip', false, 'when_required'],
    ['zstd-encrypted', 'zstd', true, 'when_required'],
    ['encrypted', 'none', true, 'when_supported'],
  ] as const)(
    'uploads %s, the objects checked from outside and by verify',
    async (name, compression, encrypted, checksumMode) => {
      const args = uploadArgs(name, {
        compression,
        storeConfigDir: storeDir({ checksumMode, prefix: 'backups/etcd' }),
        members: 'etcd-0=http://10.0.0.1:2380',
        ...(encrypted ? { encryptionKeyFile: keyFile(key) } : {}),
      });
      const run = await agent(uploadCommand(args));
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      const result = run.result as AgentResult;
      const db = readFileSync(file);
      const prefix = `backups/etcd/prod/main/${name}/`;
      const dataKey = `${prefix}snapshot.db${compression === 'zstd' ? '.zst' : compression === 'gzip' ? '.gz' : ''}${encrypted ? '.enc' : ''}`;
      expect(await listed(prefix)).toEqual([`${prefix}manifest.json`, dataKey].sort());

      const manifest = parseManifest((await getBytes(`${prefix}manifest.json`)).toString('utf8'));
      const stored = await getBytes(dataKey);
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
        location: `s3://${s3.bucket}/${prefix}`,
        object: `s3://${s3.bucket}/${dataKey}`,
        manifest: `s3://${s3.bucket}/${prefix}manifest.json`,
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
          (await outside.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: dataKey }))).Contents ??
          [];
        expect(listing?.ETag).toMatch(new RegExp(`-${parts}"?$`));
      }
      if (compression !== 'none') expect(stored.length).toBeLessThan(db.length * 0.8);
      if (encrypted) {
        expect(stored.subarray(0, 6).toString()).toBe('ESDENC');
        expect(stored.includes(Buffer.from('/registry/configmaps/prod/cm-1'))).toBe(false);
      }
      expect(await openUploads()).toEqual([]);

      const verify = await agent(
        verifyRemoteCommand({ ...args, storeConfigDir: storeDir({ prefix: 'backups/etcd' }) }),
      );
      expect(verify.code, verify.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(verify.result).toMatchObject({
        operation: 'verify',
        ok: true,
        sha256: sha256(db),
        remote: result.remote,
      });
      uploaded.set(name, result);
    },
  );

  it.each([
    ['a wrong secret key', { secretAccessKey: 'wrong-secret' }, 'OBJECT_STORE_AUTH_FAILED'],
    ['an unknown access key', { accessKeyId: 'nobody' }, 'OBJECT_STORE_AUTH_FAILED'],
    ['an unreachable endpoint', { endpoint: 'UNREACHABLE' }, 'OBJECT_STORE_UNREACHABLE'],
    ['a missing bucket', { bucket: 'no-such-bucket' }, 'OBJECT_STORE_BUCKET_NOT_FOUND'],
  ])('fails on %s with its reason, leaving nothing behind', async (what, overrides, reason) => {
    const snapshot = `refused-${n}`;
    // Port 9 (discard) of an address of this test's own slot: nothing listens there.
    const store = 'endpoint' in overrides ? { endpoint: `http://${etcd.subnet}.2.2:9` } : overrides;
    const run = await agent(uploadCommand(uploadArgs(snapshot, { storeConfigDir: storeDir(store) })));
    expect(run.code, `${what}: ${run.stderr}`).toBe(AGENT_EXIT_CODES.OBJECT_STORE_FAILED);
    expect(run.result?.error?.reason).toBe(reason);
    expect(run.result?.error?.message).toContain(`s3://`);
    expect(run.stderr).not.toContain('wrong-secret');
    expect(await listed(`prod/main/${snapshot}/`)).toEqual([]);
    expect(await openUploads()).toEqual([]);
  });

  it('refuses a file that changed since its save, leaving no object, and a file without a save', async () => {
    const changedDir = join(dir, 'snapshots', 'changed');
    mkdirSync(changedDir, { recursive: true });
    const changed = join(changedDir, 'snapshot.db');
    const bytes = readFileSync(file);
    bytes[1000] = (bytes[1000] as number) ^ 1;
    writeFileSync(changed, bytes);
    writeFileSync(
      join(changedDir, 'snapshot.meta.json'),
      readFileSync(join(dirname(file), 'snapshot.meta.json')),
    );
    const run = await agent(uploadCommand({ ...uploadArgs('changed'), file: changed }));
    expect(run.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(run.result?.error).toMatchObject({
      reason: 'CHECKSUM_MISMATCH',
      message: expect.stringContaining('not uploaded'),
    });
    expect(await listed('prod/main/changed/')).toEqual([]);
    expect(await openUploads()).toEqual([]);

    const unsavedDir = join(dir, 'snapshots', 'unsaved');
    mkdirSync(unsavedDir, { recursive: true });
    writeFileSync(join(unsavedDir, 'snapshot.db'), bytes);
    const unsaved = await agent(
      uploadCommand({ ...uploadArgs('unsaved'), file: join(unsavedDir, 'snapshot.db') }),
    );
    expect(unsaved.code).toBe(AGENT_EXIT_CODES.NOT_FOUND);
    expect(unsaved.result?.error?.message).toContain('holds no successful save');
    expect(await listed('prod/main/unsaved/')).toEqual([]);
  });

  it('refuses an invalid store Secret naming the key, before contacting the store', async () => {
    const run = await agent(
      uploadCommand(uploadArgs('invalid', { storeConfigDir: storeDir({ partSizeMiB: '1' }) })),
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.USAGE);
    expect(run.result?.error).toEqual({
      reason: 'OBJECT_STORE_CONFIG_INVALID',
      message: 'object store key "partSizeMiB" = "1" is not a whole number in [5, 5120]',
    });
  });

  it('aborts its multipart upload, and an earlier one of the same key, when a part fails', async () => {
    const config = parseStoreConfig({
      endpoint: s3.endpoint,
      bucket: s3.bucket,
      forcePathStyle: 'true',
      accessKeyId: s3.credentials.accessKeyId,
      secretAccessKey: s3.credentials.secretAccessKey,
      partSizeMiB: '5',
      queueSize: '2',
      maxAttempts: '1',
    });
    const client = new S3Client(s3ClientConfig(config));
    const dataKey = 'prod/main/part-fails/snapshot.db';
    // An earlier attempt of the same Job that died mid-upload.
    await client.send(new CreateMultipartUploadCommand({ Bucket: s3.bucket, Key: dataKey }));
    expect(await openUploads()).toHaveLength(1);
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
      runUpload(uploadArgs('part-fails', { storeConfigDir: storeDir() }), {
        log,
        tracing: tracing as never,
        client,
      }),
    ).rejects.toMatchObject({
      reason: 'OBJECT_STORE_REQUEST_FAILED',
      message: expect.stringContaining('injected part failure'),
    });
    client.destroy();
    expect(await openUploads()).toEqual([]);
    expect(await listed('prod/main/part-fails/')).toEqual([]);
  });

  describe('verify --remote finds damage', () => {
    const verify = (snapshot: string, k?: Buffer) =>
      agent(
        verifyRemoteCommand({
          storeConfigDir: storeDir({ prefix: 'backups/etcd' }),
          namespace: 'prod',
          cluster: 'main',
          snapshot,
          ...(k ? { encryptionKeyFile: keyFile(k) } : {}),
        }),
      );
    const objectKey = (name: string) =>
      (uploaded.get(name)?.remote?.object ?? '').replace(`s3://${s3.bucket}/`, '');

    it('refuses another key, and an encrypted copy without a key, naming the key ids', async () => {
      const wrong = await verify('encrypted', otherKey);
      expect(wrong.result?.error?.reason).toBe('OBJECT_STORE_KEY_INVALID');
      expect(wrong.result?.error?.message).toContain(keyId(key));
      expect(wrong.result?.error?.message).toContain(keyId(otherKey));
      expect((await verify('encrypted')).result?.error?.reason).toBe('OBJECT_STORE_KEY_INVALID');
    });

    it.each(['plain', 'zstd', 'gzip', 'zstd-encrypted'])(
      'finds a flipped byte in the %s object',
      async (name) => {
        const path = backendFile(objectKey(name));
        const bytes = readFileSync(path);
        const at = Math.floor(bytes.length / 2);
        bytes[at] = (bytes[at] as number) ^ 0x40;
        writeFileSync(path, bytes);
        const run = await verify(name, name.includes('encrypted') ? key : undefined);
        expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
        expect(run.result?.error?.reason).toBe('CHECKSUM_MISMATCH');
      },
    );

    it('refuses an encrypted object cut after a whole chunk, and one cut inside a chunk', async () => {
      const path = backendFile(objectKey('encrypted'));
      const size = readFileSync(path).length;
      const sealedChunk = 1024 * 1024 + 16;
      truncateSync(path, 36 + 2 * sealedChunk);
      expect(size).toBeGreaterThan(36 + 3 * sealedChunk);
      const atBoundary = await verify('encrypted', key);
      expect(atBoundary.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
      expect(atBoundary.result?.error).toMatchObject({
        reason: 'SNAPSHOT_INCOMPLETE',
        message: expect.stringContaining('not its final chunk'),
      });
      truncateSync(path, 36 + sealedChunk + 100);
      const inside = await verify('encrypted', key);
      expect(inside.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
      expect(inside.result?.ok).toBe(false);
    });

    it('calls a copy without its manifest not found', async () => {
      await outside.send(
        new DeleteObjectCommand({ Bucket: s3.bucket, Key: 'backups/etcd/prod/main/plain/manifest.json' }),
      );
      const run = await verify('plain');
      expect(run.result?.error?.reason).toBe('OBJECT_STORE_NOT_FOUND');
      expect(run.result?.error?.message).toContain('a copy without its manifest is incomplete');
    });
  });
});
