// `agent verify --remote` against a real S3 server (versitygw): copies uploaded by `agent upload`
// (object-store-env.ts), then damaged behind the server's back in its posix backend: a flipped
// byte in a plain, zstd, gzip or encrypted object, an encrypted object cut after a chunk or
// inside one, a missing manifest, another key, no key for an encrypted copy and a key for a
// plain one. Each is refused with its reason.
import { randomBytes } from 'node:crypto';
import { readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { keyId } from '../../../src/objectstore/encryption.ts';
import { type ObjectStoreEnv, startObjectStoreEnv } from './object-store-env.ts';

const key = randomBytes(32);
const otherKey = randomBytes(32);
let env: ObjectStoreEnv;
const uploaded = new Map<string, AgentResult>();

beforeAll(async () => {
  env = await startObjectStoreEnv();
  for (const [name, compression, encrypted] of [
    ['plain', 'none', false],
    ['zstd', 'zstd', false],
    ['gzip', 'gzip', false],
    ['zstd-encrypted', 'zstd', true],
    ['encrypted', 'none', true],
  ] as const) {
    const run = await env.agent(
      uploadCommand(
        env.uploadArgs(name, {
          compression,
          storeConfigDir: env.storeDir({ prefix: 'backups/etcd' }),
          ...(encrypted ? { encryptionKeyFile: env.keyFile(key) } : {}),
        }),
      ),
    );
    if (!run.result?.ok) throw new Error(`upload ${name} failed: ${run.stderr}`);
    uploaded.set(name, run.result);
  }
});
afterAll(async () => {
  await env?.stop();
});

describe('agent verify --remote finds damage', () => {
  const verify = (snapshot: string, k?: Buffer) =>
    env.agent(
      verifyRemoteCommand({
        storeConfigDir: env.storeDir({ prefix: 'backups/etcd' }),
        namespace: 'prod',
        cluster: 'main',
        snapshot,
        ...(k ? { encryptionKeyFile: env.keyFile(k) } : {}),
      }),
    );
  const objectKey = (name: string) =>
    (uploaded.get(name)?.remote?.object ?? '').replace(`s3://${env.s3.bucket}/`, '');

  it('refuses another key, and an encrypted copy without a key, naming the key ids', async () => {
    const wrong = await verify('encrypted', otherKey);
    expect(wrong.result?.error?.reason).toBe('OBJECT_STORE_KEY_INVALID');
    expect(wrong.result?.error?.message).toContain(keyId(key));
    expect(wrong.result?.error?.message).toContain(keyId(otherKey));
    expect((await verify('encrypted')).result?.error?.reason).toBe('OBJECT_STORE_KEY_INVALID');
  });

  it('refuses a plain copy when a key is given: an encrypted one was expected', async () => {
    for (const name of ['plain', 'zstd']) {
      const run = await verify(name, key);
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.USAGE);
      expect(run.result?.error).toMatchObject({
        reason: 'OBJECT_STORE_KEY_INVALID',
        message: expect.stringContaining('the copy is not encrypted, but --encryption-key-file was given'),
      });
    }
  });

  it.each(['plain', 'zstd', 'gzip', 'zstd-encrypted'])(
    'finds a flipped byte in the %s object',
    async (name) => {
      const path = env.backendFile(objectKey(name));
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
    const path = env.backendFile(objectKey('encrypted'));
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
    await env.outside.send(
      new DeleteObjectCommand({ Bucket: env.s3.bucket, Key: 'backups/etcd/prod/main/plain/manifest.json' }),
    );
    const run = await verify('plain');
    expect(run.result?.error?.reason).toBe('OBJECT_STORE_NOT_FOUND');
    expect(run.result?.error?.message).toContain('a copy without its manifest is incomplete');
  });
});
