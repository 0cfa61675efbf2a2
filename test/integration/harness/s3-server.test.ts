// The harness S3 server (test/harness/s3-server.ts: a real versitygw) as issue 13's upload code
// will meet it through @aws-sdk/client-s3 + @aws-sdk/lib-storage: path-style addressing, a
// multipart upload read back byte for byte, both checksum settings, aborted uploads that leave
// nothing listed, wrong keys refused with their S3 error codes, and a stop that leaves no process.
// docs/local-cluster.md records these facts.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterSlot, claimSlot } from '../../harness/cluster-slot.ts';
import { waitFor } from '../../harness/process.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';

const MiB = 1024 * 1024;
const source = randomBytes(20 * MiB);
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

let slot: ClusterSlot;
let server: S3Server;
const clients: S3Client[] = [];

beforeAll(async () => {
  slot = claimSlot();
  server = await startS3Server(slot.hostIP);
});
afterAll(async () => {
  for (const c of clients) c.destroy();
  await server?.stop();
  slot?.release();
});

interface SentRequest {
  command: string;
  hostname: string;
  path: string;
  headers: Record<string, string>;
}

/** A client that records every request as it goes on the wire (after signing and checksums). */
function recordingClient(overrides: S3ClientConfig = {}) {
  const client = new S3Client(server.clientConfig(overrides));
  clients.push(client);
  const sent: SentRequest[] = [];
  let inFlightParts = 0;
  let maxInFlightParts = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { hostname: string; path: string; headers: Record<string, string> };
      const command = context.commandName ?? '?';
      sent.push({ command, hostname: request.hostname, path: request.path, headers: { ...request.headers } });
      if (command !== 'UploadPartCommand') return next(args);
      maxInFlightParts = Math.max(maxInFlightParts, ++inFlightParts);
      try {
        return await next(args);
      } finally {
        inFlightParts--;
      }
    },
    { step: 'deserialize', name: 'recordRequests' },
  );
  return { client, sent, maxInFlightParts: () => maxInFlightParts };
}

/** The body as a file stream delivers it: 1 MiB chunks of unknown total length. */
function* chunksOf(data: Buffer, failAfter?: number) {
  for (let at = 0; at < data.length; at += MiB) {
    if (failAfter !== undefined && at >= failAfter) throw new Error('the source file could not be read');
    yield data.subarray(at, at + MiB);
  }
}

async function openUploads(client: S3Client, key: string): Promise<string[]> {
  const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: server.bucket, Prefix: key }));
  return (listed.Uploads ?? []).map((u) => u.UploadId ?? '');
}

/** Part files versitygw's posix backend keeps for open uploads (<bucket>/.sgwtmp/multipart/…). */
function partFilesOnDisk(): string[] {
  const root = join(server.dataDir, server.bucket, '.sgwtmp', 'multipart');
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const checksumHeader = (h: string) => /^x-amz-(checksum-|sdk-checksum-algorithm$)/.test(h);

describe('versitygw, the harness S3 server', () => {
  it('addresses the bucket in the path, and keeps each object as a file under its posix root', async () => {
    const { client, sent } = recordingClient();
    await client.send(
      new PutObjectCommand({ Bucket: server.bucket, Key: 'ns/cluster/a.txt', Body: 'hello' }),
    );
    expect(sent).toHaveLength(1);
    expect(sent[0]?.hostname).toBe(slot.hostIP);
    expect(sent[0]?.path).toBe(`/${server.bucket}/ns/cluster/a.txt`);
    expect(readFileSync(join(server.dataDir, server.bucket, 'ns/cluster/a.txt'), 'utf8')).toBe('hello');
  });

  describe.each([
    ['WHEN_REQUIRED', false],
    ['WHEN_SUPPORTED', true],
  ] as const)('with requestChecksumCalculation/responseChecksumValidation %s', (mode, sendsChecksums) => {
    it('takes a 20 MiB multipart upload in 5 MiB parts (queueSize 2) and gives back the same SHA-256', async () => {
      const { client, sent, maxInFlightParts } = recordingClient({
        requestChecksumCalculation: mode,
        responseChecksumValidation: mode,
      });
      const key = `multipart-${mode}`;
      const upload = new Upload({
        client,
        params: { Bucket: server.bucket, Key: key, Body: Readable.from(chunksOf(source)) },
        partSize: 5 * MiB,
        queueSize: 2,
      });
      const result = await upload.done();
      expect(result.ETag).toMatch(/-4"$/); // an S3 multipart ETag: 4 parts
      expect(sent.filter((r) => r.command === 'UploadPartCommand')).toHaveLength(4);
      expect(maxInFlightParts()).toBeLessThanOrEqual(2);
      // The two settings differ on the wire, so the store really accepted both.
      const withChecksums = sent.filter((r) => Object.keys(r.headers).some(checksumHeader));
      if (sendsChecksums) {
        const create = sent.find((r) => r.command === 'CreateMultipartUploadCommand');
        expect(create?.headers['x-amz-checksum-algorithm']).toBe('CRC32');
        expect(
          sent.filter((r) => r.command === 'UploadPartCommand' && r.headers['x-amz-checksum-crc32']),
        ).toHaveLength(4);
      } else {
        expect(withChecksums).toEqual([]);
      }

      const got = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key }));
      expect(got.ContentLength).toBe(20 * MiB);
      expect(sha256((await got.Body?.transformToByteArray()) ?? new Uint8Array())).toBe(sha256(source));
      expect(await openUploads(client, key)).toEqual([]);
    });
  });

  it('lists a multipart upload until it is aborted, and nothing of it afterwards', async () => {
    const { client } = recordingClient({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    const key = 'aborted-by-hand';
    const { UploadId } = await client.send(
      new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: key }),
    );
    await client.send(
      new UploadPartCommand({
        Bucket: server.bucket,
        Key: key,
        UploadId,
        PartNumber: 1,
        Body: source.subarray(0, 5 * MiB),
      }),
    );
    expect(await openUploads(client, key)).toEqual([UploadId]);
    expect(partFilesOnDisk()).toHaveLength(1);
    await client.send(new AbortMultipartUploadCommand({ Bucket: server.bucket, Key: key, UploadId }));
    expect(await openUploads(client, key)).toEqual([]);
    expect(partFilesOnDisk()).toEqual([]);
    await expect(
      client.send(new ListPartsCommand({ Bucket: server.bucket, Key: key, UploadId })),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' });
    expect(existsSync(join(server.dataDir, server.bucket, key))).toBe(false);
  });

  it('is left no upload when lib-storage fails part-way (its parts are aborted), one with leavePartsOnError', async () => {
    const { client } = recordingClient({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    for (const leavePartsOnError of [false, true]) {
      const key = `failed-body-leave-${leavePartsOnError}`;
      const upload = new Upload({
        client,
        params: { Bucket: server.bucket, Key: key, Body: Readable.from(chunksOf(source, 12 * MiB)) },
        partSize: 5 * MiB,
        queueSize: 2,
        leavePartsOnError,
      });
      await expect(upload.done()).rejects.toThrow('the source file could not be read');
      // done() settles after its AbortMultipartUpload: no waiting needed.
      const open = await openUploads(client, key);
      expect(open).toHaveLength(leavePartsOnError ? 1 : 0);
      expect(partFilesOnDisk().length > 0).toBe(leavePartsOnError);
      for (const UploadId of open) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: server.bucket, Key: key, UploadId }));
      }
      expect(partFilesOnDisk()).toEqual([]);
    }
  });

  it('is left no upload after Upload.abort(), though done() rejects before the abort reaches the store', async () => {
    const { client, sent } = recordingClient({ requestChecksumCalculation: 'WHEN_REQUIRED' });
    const key = 'aborted-upload';
    let upload: Upload | undefined;
    // The sentinel: abort once the store holds a part, so there is an upload to abort.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'UploadPartCommand') void upload?.abort();
        return out;
      },
      { step: 'initialize', name: 'abortAfterFirstPart' },
    );
    upload = new Upload({
      client,
      params: { Bucket: server.bucket, Key: key, Body: Readable.from(chunksOf(source)) },
      partSize: 5 * MiB,
      queueSize: 2,
    });
    await expect(upload.done()).rejects.toMatchObject({ name: 'AbortError' });
    expect(sent.some((r) => r.command === 'CreateMultipartUploadCommand')).toBe(true);
    await waitFor(
      'lib-storage to abort its multipart upload',
      async () => (sent.some((r) => r.command === 'AbortMultipartUploadCommand') ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    await waitFor('no open multipart upload', async () =>
      (await openUploads(client, key)).length === 0 ? true : undefined,
    );
    expect(partFilesOnDisk()).toEqual([]);
    await expect(
      client.send(new GetObjectCommand({ Bucket: server.bucket, Key: key })),
    ).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });

  it.each([
    ['a wrong secret key', { secretAccessKey: 'not-the-secret' }, 'SignatureDoesNotMatch'],
    ['an unknown access key', { accessKeyId: 'nobody-has-this-key' }, 'InvalidAccessKeyId'],
  ])('refuses %s with 403 and the S3 error code', async (_what, wrong, code) => {
    const { client } = recordingClient({ credentials: { ...server.credentials, ...wrong }, maxAttempts: 1 });
    const refused = client.send(new ListObjectsV2Command({ Bucket: server.bucket }));
    await expect(refused).rejects.toMatchObject({ name: code, $metadata: { httpStatusCode: 403 } });
  });

  it('refuses a request signed for another region', async () => {
    const { client } = recordingClient({ region: 'eu-west-1', maxAttempts: 1 });
    const refused = client.send(new ListObjectsV2Command({ Bucket: server.bucket }));
    await expect(refused).rejects.toMatchObject({
      name: 'AuthorizationHeaderMalformed',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('listens on loopback addresses only', async () => {
    await expect(startS3Server('0.0.0.0')).rejects.toThrow(
      'host must be a 127.x loopback address, got "0.0.0.0"',
    );
  });

  it('stops cleanly on SIGTERM and leaves no process, port or temp dir behind', async () => {
    const other = await startS3Server(slot.hostIP, { bucket: 'second' });
    expect(other.endpoint).not.toBe(server.endpoint);
    expect((await fetch(`${other.endpoint}/health`)).status).toBe(200);
    const exit = await other.stop();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(() => process.kill(-other.pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    await expect(fetch(`${other.endpoint}/health`)).rejects.toThrow();
    expect(existsSync(other.dataDir)).toBe(false);
  });
});
