// `agent upload` run again for a snapshot that already has a remote copy, against a real S3
// server (versitygw): "a manifest means a complete, verified copy" holds for every attempt. A
// complete copy of the same saved bytes is kept as it is (manifest and objects untouched, even
// when the re-run asks for another compression or its file changed since the save); one of other
// bytes is refused with OBJECT_STORE_COPY_CONFLICT and stays verifiable; and a multipart upload
// a killed attempt left open is aborted when a later attempt succeeds.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CreateMultipartUploadCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  saveCommand,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { type ObjectStoreEnv, startObjectStoreEnv } from './object-store-env.ts';

let env: ObjectStoreEnv;

beforeAll(async () => {
  env = await startObjectStoreEnv();
});
afterAll(async () => {
  await env?.stop();
});

const manifestKey = (snapshot: string) => `prod/main/${snapshot}/manifest.json`;

async function uploadOk(snapshot: string, extra: Parameters<ObjectStoreEnv['uploadArgs']>[1] = {}) {
  const run = await env.agent(uploadCommand(env.uploadArgs(snapshot, extra)));
  expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
  return run;
}

async function verifiesOk(snapshot: string) {
  const run = await env.agent(
    verifyRemoteCommand({ storeConfigDir: env.storeDir(), namespace: 'prod', cluster: 'main', snapshot }),
  );
  expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
}

/** A copy of the saved file and its meta in a directory of its own, the file then changed or not. */
function copyOfSave(name: string, change: boolean): string {
  const dir = join(env.dir, 'snapshots', name);
  mkdirSync(dir, { recursive: true });
  const bytes = readFileSync(env.file);
  if (change) bytes[1000] = (bytes[1000] as number) ^ 1;
  writeFileSync(join(dir, 'snapshot.db'), bytes);
  writeFileSync(join(dir, 'snapshot.meta.json'), readFileSync(join(dirname(env.file), 'snapshot.meta.json')));
  return join(dir, 'snapshot.db');
}

describe('agent upload of a snapshot that already has a remote copy', () => {
  it('keeps a complete copy of the same bytes as it is, whatever the re-run asks', async () => {
    const first = await uploadOk('again', { compression: 'zstd' });
    const manifest = await env.getBytes(manifestKey('again'));
    const objects = await env.listed('prod/main/again/');
    for (const extra of [{ compression: 'zstd' as const }, { compression: 'none' as const }]) {
      const again = await uploadOk('again', extra);
      expect(again.result?.remote).toEqual(first.result?.remote);
      expect(again.result?.sha256).toBe(first.result?.sha256);
      expect((await env.getBytes(manifestKey('again'))).equals(manifest)).toBe(true);
      expect(await env.listed('prod/main/again/')).toEqual(objects);
    }
    await verifiesOk('again');
  });

  it('never destroys a good copy when the re-run reads a file that changed since its save', async () => {
    await uploadOk('keep');
    const manifest = await env.getBytes(manifestKey('keep'));
    const objects = await env.listed('prod/main/keep/');
    // The verified bytes are already off the cluster: the re-run has nothing to add or remove.
    await uploadOk('keep', { file: copyOfSave('keep-changed', true) });
    expect((await env.getBytes(manifestKey('keep'))).equals(manifest)).toBe(true);
    expect(await env.listed('prod/main/keep/')).toEqual(objects);
    await verifiesOk('keep');
  });

  it('refuses a copy of other bytes under the same name, leaving the copy in place verifiable', async () => {
    await uploadOk('conflict');
    const manifest = await env.getBytes(manifestKey('conflict'));
    const objects = await env.listed('prod/main/conflict/');

    // Another snapshot of the same cluster, taken after one more write: other bytes.
    const client = new EtcdClient(env.etcd.endpoints[0] as string, { credentials: NO_CREDENTIALS });
    try {
      await client.put('/registry/configmaps/prod/one-more', 'x');
    } finally {
      client.close();
    }
    const other = join(env.dir, 'snapshots', 'other', 'snapshot.db');
    const save = await env.agent(
      saveCommand({ endpoints: env.etcd.endpoints, file: other, snapshotId: 'prod/other' }),
    );
    expect(save.code, save.stderr).toBe(AGENT_EXIT_CODES.OK);

    const run = await env.agent(uploadCommand(env.uploadArgs('conflict', { file: other })));
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OBJECT_STORE_FAILED);
    expect(run.result?.error).toMatchObject({
      reason: 'OBJECT_STORE_COPY_CONFLICT',
      message: expect.stringContaining(`s3://${env.s3.bucket}/${manifestKey('conflict')} records a copy of`),
    });
    expect((await env.getBytes(manifestKey('conflict'))).equals(manifest)).toBe(true);
    expect(await env.listed('prod/main/conflict/')).toEqual(objects);
    expect(await env.openUploads()).toEqual([]);
    await verifiesOk('conflict');
  });

  it("aborts a killed attempt's open multipart uploads when a later attempt succeeds", async () => {
    // What an attempt killed mid-upload leaves: open uploads (one with a part) under the prefix,
    // by the old single data key and by an attempt's own key.
    const bucket = env.s3.bucket;
    for (const key of ['prod/main/killed/snapshot.db', 'prod/main/killed/snapshot-20260101t000000zdead.db']) {
      const { UploadId } = await env.outside.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }),
      );
      await env.outside.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: 1,
          Body: Buffer.alloc(5 << 20, 1),
        }),
      );
    }
    expect(await env.openUploads()).toHaveLength(2);
    await uploadOk('killed');
    expect(await env.openUploads()).toEqual([]);
    await verifiesOk('killed');

    // And when the later attempt finds the copy complete.
    await env.outside.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: 'prod/main/killed/snapshot-20260101t000001zbeef.db',
      }),
    );
    expect(await env.openUploads()).toHaveLength(1);
    await uploadOk('killed');
    expect(await env.openUploads()).toEqual([]);
  });
});
