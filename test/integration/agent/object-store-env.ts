// What the object store tests of the agent share: a real 1-member etcd (loaded with about
// 12 MiB of Kubernetes-like objects, half of each random: more than two 5 MiB parts plain, more
// than one compressed) saved once by `agent save`, a real S3 server (versitygw) on an address of
// the same slot, and helpers to mount a store Secret, run the agent and look from outside.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { AGENT_EXIT_CODES, saveCommand, type UploadArguments } from '../../../src/agent/contract.ts';
import { EtcdClient } from '../../../src/etcd/client/etcd-client.ts';
import { NO_CREDENTIALS } from '../../../src/etcd/credentials.ts';
import { keyId } from '../../../src/objectstore/encryption.ts';
import { type EtcdProcessCluster, startEtcdProcessCluster } from '../../harness/etcd-processes.ts';
import { type S3Server, startS3Server } from '../../harness/s3-server.ts';
import { type AgentRun, runAgentProcess } from './agent-env.ts';

export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export interface ObjectStoreEnv {
  etcd: EtcdProcessCluster;
  s3: S3Server;
  /** A client of the test, not of the agent: how the tests look at the bucket. */
  outside: S3Client;
  dir: string;
  /** The saved snapshot (its meta file beside it). */
  file: string;
  /** A mounted object store Secret: one file per key, with a trailing newline, plus the kubelet's `..` dir. */
  storeDir(overrides?: Record<string, string>): string;
  keyFile(key: Buffer): string;
  agent(argv: string[]): Promise<AgentRun>;
  uploadArgs(snapshot: string, extra?: Partial<UploadArguments>): UploadArguments;
  getBytes(key: string): Promise<Buffer>;
  listed(prefix: string): Promise<string[]>;
  openUploads(): Promise<string[]>;
  /** The object's file in versitygw's posix backend, to damage it behind the server's back. */
  backendFile(key: string): string;
  stop(): Promise<void>;
}

export async function startObjectStoreEnv(): Promise<ObjectStoreEnv> {
  const etcd = await startEtcdProcessCluster({ size: 1 });
  const dir = join(etcd.dir, 'object-store');
  mkdirSync(dir, { recursive: true });
  const s3 = await startS3Server(`${etcd.subnet}.2.1`, { dir: join(dir, 's3') });
  const outside = new S3Client(s3.clientConfig());
  let n = 0;

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

  const agent = (argv: string[]) => runAgentProcess(argv, { terminationLog: join(dir, `term-${n++}`) });
  const file = join(dir, 'snapshots', 'snap', 'snapshot.db');
  const save = await agent(saveCommand({ endpoints: etcd.endpoints, file, snapshotId: 'prod/snap' }));
  if (save.code !== AGENT_EXIT_CODES.OK) throw new Error(`agent save failed: ${save.stderr}`);

  const storeDir = (overrides: Record<string, string> = {}) => {
    const d = join(dir, `store-${n++}`);
    mkdirSync(join(d, '..2026_01_01_00_00_00.000000000'), { recursive: true });
    const data = s3.storeSecretData({ partSizeMiB: '5', queueSize: '2', maxAttempts: '2', ...overrides });
    for (const [k, v] of Object.entries(data)) if (v !== '') writeFileSync(join(d, k), `${v}\n`);
    return d;
  };

  return {
    etcd,
    s3,
    outside,
    dir,
    file,
    storeDir,
    keyFile(key) {
      const f = join(dir, `key-${keyId(key)}`);
      writeFileSync(f, `${key.toString('base64')}\n`);
      return f;
    },
    agent,
    uploadArgs: (snapshot, extra = {}) => ({
      file,
      storeConfigDir: storeDir(),
      namespace: 'prod',
      cluster: 'main',
      snapshot,
      compression: 'none',
      ...extra,
    }),
    async getBytes(key) {
      const r = await outside.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      return Buffer.from(
        await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
    },
    async listed(prefix) {
      const r = await outside.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
      return (r.Contents ?? []).map((o) => o.Key as string).sort();
    },
    async openUploads() {
      const r = await outside.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
      return (r.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
    },
    backendFile: (key) => join(s3.dataDir, s3.bucket, key),
    async stop() {
      outside.destroy();
      await s3.stop();
      await etcd.stop();
    },
  };
}
