// What test/e2e/pipeline/object-store.test.ts does from outside the driver: read a remote copy's
// bytes with its own S3 client and decode them back to the db (to compare with the record's
// SHA-256), and run `agent verify --remote` as a Job of the pipeline's own pod spec, as the
// process kubelet runs every agent Job.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { zstdDecompressSync } from 'node:zlib';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  type AgentResult,
  ENCRYPTION_KEY_FILE_NAME,
  ENCRYPTION_KEY_MOUNT_PATH,
  parseAgentResult,
  STORE_CONFIG_MOUNT_PATH,
  verifyRemoteCommand,
} from '../../../src/agent/contract.ts';
import type { Job, Pod } from '../../../src/informers/resources.ts';
import { DecryptStream } from '../../../src/objectstore/encryption.ts';
import { jobName } from '../../../src/reconcile/snapshot-records/names.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { waitFor } from '../../harness/process.ts';
import type { DriverEnv } from '../../integration/csi/driver-env.ts';

/** The bucket and key of `s3://bucket/key`. */
function place(url: string): { Bucket: string; Key: string } {
  const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(url) ?? [];
  if (!bucket || !key) throw new Error(`not an s3:// URL: ${url}`);
  return { Bucket: bucket, Key: key };
}

export async function objectBytes(client: S3Client, url: string): Promise<Buffer> {
  const r = await client.send(new GetObjectCommand(place(url)));
  return Buffer.from(
    await (r.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

/** Overwrites the object at `url` with its bytes, one of them flipped halfway. */
export async function flipByte(client: S3Client, url: string): Promise<void> {
  const bytes = await objectBytes(client, url);
  const at = Math.floor(bytes.length / 2);
  bytes[at] = (bytes[at] as number) ^ 0x40;
  await client.send(new PutObjectCommand({ ...place(url), Body: bytes }));
}

/** The db a stored object holds: decrypted with `key` when given, then decompressed. */
export async function plainBytes(
  stored: Buffer,
  compression: 'none' | 'zstd' | 'gzip',
  key?: Buffer,
): Promise<Buffer> {
  let bytes = stored;
  if (key) {
    const chunks: Buffer[] = [];
    const decrypt = new DecryptStream(key);
    decrypt.on('data', (c: Buffer) => chunks.push(c));
    await pipeline(Readable.from([stored]), decrypt);
    bytes = Buffer.concat(chunks);
  }
  if (compression === 'zstd') return zstdDecompressSync(bytes);
  if (compression !== 'none') throw new Error(`no decoder here for ${compression}`);
  return bytes;
}

/**
 * `agent verify --remote` of a record's copy, as a Job: the pod spec of the record's upload Job
 * (the driver image, the store and key Secrets mounted where the contract says) with verify's
 * arguments, under labels of its own so the pipeline does not take it for one of its Jobs.
 * Resolves with the agent's result from the pod's termination message.
 */
export async function runVerifyJob(env: DriverEnv, record: EtcdSnapshot, name: string): Promise<AgentResult> {
  const namespace = record.metadata?.namespace ?? '';
  const jobs = `/apis/batch/v1/namespaces/${namespace}/jobs`;
  const upload = await env.kubeClient.request<Job>(
    'GET',
    `${jobs}/${jobName('upload', record.metadata?.name ?? '')}`,
  );
  const podSpec = upload.spec?.template?.spec;
  const container = podSpec?.containers?.[0];
  if (!podSpec || !container) throw new Error('the upload Job has no pod spec');
  const encrypted = record.status?.remote?.keyId !== undefined;
  const args = verifyRemoteCommand({
    storeConfigDir: STORE_CONFIG_MOUNT_PATH,
    namespace,
    cluster: record.spec.cluster.name,
    snapshot: record.metadata?.name ?? '',
    ...(encrypted ? { encryptionKeyFile: `${ENCRYPTION_KEY_MOUNT_PATH}/${ENCRYPTION_KEY_FILE_NAME}` } : {}),
  });
  const labels = { 'e2e.etcd-snapshot-driver.io/verify': name };
  await env.kubeClient.request('POST', jobs, {
    body: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, labels },
      spec: {
        backoffLimit: 0,
        activeDeadlineSeconds: 120,
        template: { metadata: { labels }, spec: { ...podSpec, containers: [{ ...container, args }] } },
      },
    },
  });
  return waitFor(
    `verify Job ${name} to end with a result`,
    async () => {
      const job = await env.kubeClient.request<Job>('GET', `${jobs}/${name}`);
      if (!job.status?.succeeded && !job.status?.failed) return undefined;
      const list = await env.kubeClient.request<{ items: Pod[] }>(
        'GET',
        `/api/v1/namespaces/${namespace}/pods?labelSelector=${encodeURIComponent(`job-name=${name}`)}`,
      );
      const message = list.items[0]?.status?.containerStatuses?.[0]?.state?.terminated?.message;
      return parseAgentResult(message);
    },
    { timeoutMs: 150_000, intervalMs: 500 },
  );
}
