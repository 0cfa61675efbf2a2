// `agent delete --remote` and the remote listing against a real S3 server (versitygw): a copy's
// manifest, data objects of any attempt and open multipart uploads all go; a re-run and a copy
// that never existed are success; the manifest goes first, so a delete that stops halfway leaves
// a copy that no longer claims to be complete (verify: not found; the listing: incomplete), and a
// re-run finishes it; --dir removes the local directory too (a --dir it would refuse stops the
// delete before it starts); wrong credentials are refused.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateMultipartUploadCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_EXIT_CODES,
  deleteRemoteCommand,
  uploadCommand,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import { runRemoteDelete } from '../../../src/agent/delete-remote.ts';
import { parseStoreConfig } from '../../../src/objectstore/config.ts';
import { listRemoteSnapshots } from '../../../src/objectstore/listing.ts';
import { s3ClientConfig } from '../../../src/objectstore/s3-options.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type ObjectStoreEnv, startObjectStoreEnv } from './object-store-env.ts';

let env: ObjectStoreEnv;

beforeAll(async () => {
  env = await startObjectStoreEnv();
  for (const snapshot of ['gone', 'kept', 'half', 'both']) {
    const run = await env.agent(uploadCommand(env.uploadArgs(snapshot, { compression: 'zstd' })));
    if (!run.result?.ok) throw new Error(`upload ${snapshot} failed: ${run.stderr}`);
  }
});
afterAll(async () => {
  await env?.stop();
});

const place = (snapshot: string) => ({
  storeConfigDir: env.storeDir(),
  namespace: 'prod',
  cluster: 'main',
  snapshot,
});
const listing = async () =>
  (await listRemoteSnapshots(env.outside, env.s3.bucket, '', 'prod', 'main')).snapshots.map(
    (s) => `${s.snapshot} ${s.complete ? 'complete' : 'incomplete'}`,
  );

describe('agent delete --remote against versitygw', () => {
  it('lists the copies of a cluster by their manifests', async () => {
    await env.outside.send(
      new PutObjectCommand({ Bucket: env.s3.bucket, Key: 'prod/main/dead/snapshot-1.db', Body: 'x' }),
    );
    expect(await listing()).toEqual([
      'both complete',
      'dead incomplete',
      'gone complete',
      'half complete',
      'kept complete',
    ]);
    expect((await listRemoteSnapshots(env.outside, env.s3.bucket, '', 'prod', 'other')).snapshots).toEqual(
      [],
    );
  });

  it('removes manifest, every data object and open uploads; again and for no copy it is success', async () => {
    const bucket = env.s3.bucket;
    // What dead attempts leave: a data object no manifest points at, an open multipart upload.
    await env.outside.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'prod/main/gone/snapshot-20260101t000000zdead.db',
        Body: 'x',
      }),
    );
    await env.outside.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: 'prod/main/gone/snapshot-20260101t000001zbeef.db',
      }),
    );
    expect(await env.listed('prod/main/gone/')).toHaveLength(3);
    const run = await env.agent(deleteRemoteCommand(place('gone')));
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(run.result).toEqual({
      operation: 'delete',
      ok: true,
      remoteDelete: {
        location: `s3://${bucket}/prod/main/gone/`,
        manifestFound: true,
        objectsDeleted: 3,
        uploadsAborted: 1,
      },
    });
    expect(await env.listed('prod/main/gone/')).toEqual([]);
    expect(await env.openUploads()).toEqual([]);
    const verify = await env.agent(verifyRemoteCommand(place('gone')));
    expect(verify.result?.error?.reason).toBe('OBJECT_STORE_NOT_FOUND');
    expect(await env.listed('prod/main/kept/')).toHaveLength(2);

    for (const snapshot of ['gone', 'never-uploaded']) {
      const again = await env.agent(deleteRemoteCommand(place(snapshot)));
      expect(again.code, again.stderr).toBe(AGENT_EXIT_CODES.OK);
      expect(again.result?.remoteDelete).toMatchObject({
        manifestFound: false,
        objectsDeleted: 0,
        uploadsAborted: 0,
      });
    }
    expect(await listing()).not.toContain('gone complete');
  });

  it('deletes the manifest first: stopped halfway, the copy no longer claims completeness; a re-run ends it', async () => {
    const config = parseStoreConfig({
      endpoint: env.s3.endpoint,
      bucket: env.s3.bucket,
      forcePathStyle: 'true',
      accessKeyId: env.s3.credentials.accessKeyId,
      secretAccessKey: env.s3.credentials.secretAccessKey,
      maxAttempts: '1',
    });
    const client = new S3Client(s3ClientConfig(config));
    client.middlewareStack.add(
      (next, context) => async (a) => {
        const input = (a as { input?: { Key?: string } }).input;
        if (context.commandName === 'DeleteObjectCommand' && !input?.Key?.endsWith('manifest.json')) {
          throw Object.assign(new Error('injected delete failure'), {
            name: 'InternalError',
            $metadata: { httpStatusCode: 500 },
          });
        }
        return next(a);
      },
      { step: 'initialize', name: 'failDataDelete' },
    );
    const log = createLogger({ level: 'error', format: 'json', destination: { write: () => true } as never });
    const tracing = {
      span: (_n: string, _a: unknown, fn: (s: never) => unknown) => fn({ setAttributes() {} } as never),
      shutdown: async () => {},
    };
    await expect(
      runRemoteDelete(place('half'), { log, tracing: tracing as never, client }),
    ).rejects.toMatchObject({
      reason: 'OBJECT_STORE_REQUEST_FAILED',
      message: expect.stringContaining('injected delete failure'),
    });
    client.destroy();
    const left = await env.listed('prod/main/half/');
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/snapshot-[a-z0-9]+\.db\.zst$/);
    expect(await listing()).toContain('half incomplete');
    expect((await env.agent(verifyRemoteCommand(place('half')))).result?.error?.reason).toBe(
      'OBJECT_STORE_NOT_FOUND',
    );

    const rerun = await env.agent(deleteRemoteCommand(place('half')));
    expect(rerun.code, rerun.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(rerun.result?.remoteDelete).toMatchObject({ manifestFound: false, objectsDeleted: 1 });
    expect(await env.listed('prod/main/half/')).toEqual([]);
  });

  it('with --dir, removes the local directory after the remote objects', async () => {
    const dir = join(env.dir, 'snapshots', 'both');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'snapshot.db'), 'local');
    const run = await env.agent(deleteRemoteCommand({ ...place('both'), dir }));
    expect(run.code, run.stderr).toBe(AGENT_EXIT_CODES.OK);
    expect(run.result).toMatchObject({
      operation: 'delete',
      ok: true,
      file: dir,
      remoteDelete: { manifestFound: true },
    });
    expect(existsSync(dir)).toBe(false);
    expect(await env.listed('prod/main/both/')).toEqual([]);
  });

  it('refuses wrong credentials with their reason, touching nothing', async () => {
    const dir = join(env.dir, 'snapshots', 'kept');
    mkdirSync(dir, { recursive: true });
    const run = await env.agent(
      deleteRemoteCommand({
        ...place('kept'),
        storeConfigDir: env.storeDir({ secretAccessKey: 'wrong-secret' }),
        dir,
      }),
    );
    expect(run.code).toBe(AGENT_EXIT_CODES.OBJECT_STORE_FAILED);
    expect(run.result).toMatchObject({ ok: false, file: dir, error: { reason: 'OBJECT_STORE_AUTH_FAILED' } });
    expect(await env.listed('prod/main/kept/')).toHaveLength(2);
    expect(existsSync(dir)).toBe(true);
  });

  it('refuses a --dir that is no snapshot directory before deleting anything remote', async () => {
    const run = await env.agent(deleteRemoteCommand({ ...place('kept'), dir: '/snapshots' }));
    expect(run.code).toBe(AGENT_EXIT_CODES.USAGE);
    expect(run.result?.error?.message).toContain("is not a snapshot's own directory");
    expect(await env.listed('prod/main/kept/')).toHaveLength(2);
  });
});
