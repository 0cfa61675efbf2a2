// `agent verify --remote --out` (the fetch a restore from a remote-only snapshot runs) against a
// real S3 server (versitygw): the copy lands at --out byte for byte as the save wrote it, plain
// and zstd-encrypted; a re-run keeps the verified file without downloading; a copy damaged behind
// the server's back is refused with CHECKSUM_MISMATCH and leaves no file under either name.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  type AgentResult,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { type ObjectStoreEnv, sha256, startObjectStoreEnv } from './object-store-env.ts';

const key = randomBytes(32);
let env: ObjectStoreEnv;
let storeDir: string;
const uploaded = new Map<string, AgentResult>();

beforeAll(async () => {
  env = await startObjectStoreEnv();
  storeDir = env.storeDir();
  for (const [name, encrypted] of [
    ['plain', false],
    ['zstd-encrypted', true],
    ['damaged', false],
  ] as const) {
    const run = await env.agent(
      uploadCommand(
        env.uploadArgs(name, {
          storeConfigDir: storeDir,
          compression: encrypted ? 'zstd' : 'none',
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

const fetch = (snapshot: string, out: string, k?: Buffer) =>
  env.agent(
    verifyRemoteCommand({
      storeConfigDir: storeDir,
      namespace: 'prod',
      cluster: 'main',
      snapshot,
      out,
      ...(k ? { encryptionKeyFile: env.keyFile(k) } : {}),
    }),
  );
const objectKey = (name: string) =>
  (uploaded.get(name)?.remote?.object ?? '').replace(`s3://${env.s3.bucket}/`, '');

describe('agent verify --remote --out', () => {
  it('writes the saved file, byte for byte, into a directory it creates; a re-run keeps it', async () => {
    const saved = readFileSync(env.file);
    for (const [name, k] of [
      ['plain', undefined],
      ['zstd-encrypted', key],
    ] as const) {
      const out = join(env.dir, 'fetched', name, 'snapshot.db');
      const run = await fetch(name, out, k);
      expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(run.result).toMatchObject({ ok: true, fetched: 'downloaded', file: out, sha256: sha256(saved) });
      expect(run.result?.revision).toBeGreaterThan(0);
      expect(sha256(readFileSync(out))).toBe(sha256(saved));
      expect(existsSync(`${out}.part`)).toBe(false);
    }

    // The data object gone from the store: a re-run still succeeds, so it did not download.
    const out = join(env.dir, 'fetched', 'plain', 'snapshot.db');
    await env.outside.send(new DeleteObjectCommand({ Bucket: env.s3.bucket, Key: objectKey('plain') }));
    const again = await fetch('plain', out);
    expect(again.code, again.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(again.result).toMatchObject({ ok: true, fetched: 'already-present', sha256: sha256(saved) });
  });

  it('replaces a file at --out that is not the copy (a half-written or other file)', async () => {
    const out = join(env.dir, 'fetched', 'replaced', 'snapshot.db');
    const run0 = await fetch('zstd-encrypted', out, key);
    expect(run0.result?.ok, run0.stderr).toBe(true);
    writeFileSync(out, 'not a snapshot');
    const run = await fetch('zstd-encrypted', out, key);
    expect(run.result).toMatchObject({ ok: true, fetched: 'downloaded' });
    expect(sha256(readFileSync(out))).toBe(sha256(readFileSync(env.file)));
  });

  it('refuses a flipped byte with CHECKSUM_MISMATCH and leaves no file', async () => {
    const backend = env.backendFile(objectKey('damaged'));
    const bytes = readFileSync(backend);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(backend, bytes);
    const out = join(env.dir, 'fetched', 'damaged', 'snapshot.db');
    const run = await fetch('damaged', out);
    expect(run.code).toBe(AGENT_EXIT_CODES.CORRUPT_STREAM);
    expect(run.result?.error?.reason).toBe('CHECKSUM_MISMATCH');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part`)).toBe(false);
  });

  it('fails an unreachable store with an OBJECT_STORE_ reason, before writing anything', async () => {
    const out = join(env.dir, 'fetched', 'unreachable', 'snapshot.db');
    const dir = env.storeDir({ endpoint: 'http://127.0.0.1:1', maxAttempts: '1' });
    const run = await env.agent(
      verifyRemoteCommand({
        storeConfigDir: dir,
        namespace: 'prod',
        cluster: 'main',
        snapshot: 'plain',
        out,
      }),
    );
    expect(run.result?.ok).toBe(false);
    expect(run.result?.error?.reason).toMatch(/^OBJECT_STORE_/);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.part`)).toBe(false);
  });
});
