// A real S3 server for the tests: versitygw (the tools cache's `versitygw`, hack/tools/versitygw)
// with its posix backend on a temp directory, one root user with fixed test credentials, listening
// on a free port of a loopback address the caller owns (its cluster slot's, so parallel test files
// never meet), and one bucket made through the S3 API, as a client of a real store would find it.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { freePort } from './free-port.ts';
import { type ManagedProcess, type ProcessExit, startProcess, waitFor } from './process.ts';
import { ensureTools, tool } from './tools.ts';

export interface S3Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export interface S3Server {
  /** http://<host>:<port>, for the SDK's `endpoint` (path-style addressing: no bucket in the host). */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly credentials: S3Credentials;
  /** The posix backend's root: each bucket is a directory below it. */
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number;
  /** What an @aws-sdk/client-s3 client of this server needs (endpoint, region, keys, path style). */
  clientConfig(overrides?: S3ClientConfig): S3ClientConfig;
  /**
   * The driver's store Secret entries (docs/object-store.md) that reach this server: endpoint,
   * bucket, region, path style, the test keys and `when_required` checksums, then `overrides`.
   */
  storeSecretData(overrides?: Record<string, string>): Record<string, string>;
  /** The object keys and the open multipart uploads under `prefix` of `bucket` (default: its bucket). */
  keysUnder(prefix: string, bucket?: string): Promise<{ objects: string[]; uploads: string[] }>;
  /** SIGTERM (SIGKILL after a grace period) to its process group; resolves with how it exited. */
  stop(): Promise<ProcessExit>;
}

export interface S3ServerOptions {
  /** Where the data and the log go (a cluster's dir); a temp dir of its own when absent. */
  dir?: string;
  bucket?: string;
}

// Test-only keys: the server lives on a loopback address for one test file and holds test data.
export const S3_TEST_CREDENTIALS: S3Credentials = {
  accessKeyId: 'esd-test-access-key',
  secretAccessKey: 'esd-test-secret-key-not-a-secret',
};
export const S3_TEST_REGION = 'us-east-1';
const HEALTH_PATH = '/health';

function readTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

/** Starts versitygw on a free port of `host` (must be 127.x) and waits until the bucket exists. */
export async function startS3Server(host: string, options: S3ServerOptions = {}): Promise<S3Server> {
  await ensureTools(['versitygw']);
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) {
    throw new Error(`startS3Server: host must be a 127.x loopback address, got ${JSON.stringify(host)}`);
  }
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'esd-s3-'));
  const dataDir = join(dir, 's3-data');
  const logFile = join(dir, 's3-server.log');
  // With an IAM store of its own (empty: only the root user signs in), an unknown access key is
  // refused as AWS does (403 InvalidAccessKeyId); single-account mode answers 404
  // XAdminUserNotFound instead, which no real store sends.
  const iamDir = join(dir, 's3-iam');
  const bucket = options.bucket ?? 'etcd-snapshots';
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(iamDir, { recursive: true });

  // The port is free when picked; another process may take it before versitygw binds it, so a
  // start that dies at once is retried on a new port.
  let proc: ManagedProcess | undefined;
  let endpoint = '';
  for (let attempt = 1; proc === undefined; attempt++) {
    const port = await freePort(host);
    endpoint = `http://${host}:${port}`;
    const candidate = startProcess(
      's3-server',
      tool('versitygw'),
      [
        ...['--port', `${host}:${port}`, '--region', S3_TEST_REGION, '--health', HEALTH_PATH],
        ...['--iam-dir', iamDir, 'posix', dataDir],
      ],
      {
        logFile,
        // Only what it needs: versitygw reads VGW_* and ROOT_* variables as flags, and none of
        // the caller's may change how it listens or who may sign in.
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          ROOT_ACCESS_KEY_ID: S3_TEST_CREDENTIALS.accessKeyId,
          ROOT_SECRET_ACCESS_KEY: S3_TEST_CREDENTIALS.secretAccessKey,
        },
      },
    );
    try {
      await waitFor(
        `versitygw to answer on ${endpoint}${HEALTH_PATH}`,
        async () => ((await fetch(`${endpoint}${HEALTH_PATH}`)).ok ? true : undefined),
        {
          timeoutMs: 30_000,
          intervalMs: 100,
          abortIf: () => (candidate.hasExited ? `versitygw exited:\n${readTail(logFile)}` : undefined),
        },
      );
      proc = candidate;
    } catch (err) {
      const diedAtOnce = candidate.hasExited;
      await candidate.stop();
      if (!diedAtOnce || attempt >= 3) {
        if (ownDir && !process.env.KEEP_LOCAL_CLUSTER) rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const server = proc;

  const clientConfig = (overrides: S3ClientConfig = {}): S3ClientConfig => ({
    endpoint,
    region: S3_TEST_REGION,
    credentials: { ...S3_TEST_CREDENTIALS },
    forcePathStyle: true,
    ...overrides,
  });
  const storeSecretData = (overrides: Record<string, string> = {}): Record<string, string> => ({
    endpoint,
    bucket,
    region: S3_TEST_REGION,
    forcePathStyle: 'true',
    accessKeyId: S3_TEST_CREDENTIALS.accessKeyId,
    secretAccessKey: S3_TEST_CREDENTIALS.secretAccessKey,
    checksumMode: 'when_required',
    ...overrides,
  });
  const keysUnder = async (prefix: string, inBucket = bucket) => {
    const lister = new S3Client(clientConfig());
    try {
      const objects = await lister.send(new ListObjectsV2Command({ Bucket: inBucket, Prefix: prefix }));
      const uploads = await lister.send(
        new ListMultipartUploadsCommand({ Bucket: inBucket, Prefix: prefix }),
      );
      return {
        objects: (objects.Contents ?? []).map((o) => o.Key ?? ''),
        uploads: (uploads.Uploads ?? []).map((u) => u.Key ?? ''),
      };
    } finally {
      lister.destroy();
    }
  };
  const stop = async () => {
    const exit = await server.stop();
    if (ownDir && !process.env.KEEP_LOCAL_CLUSTER) rmSync(dir, { recursive: true, force: true });
    return exit;
  };

  const client = new S3Client(clientConfig());
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    await stop();
    throw new Error(`versitygw: CreateBucket ${bucket}: ${(err as Error).message}\n${readTail(logFile)}`);
  } finally {
    client.destroy();
  }

  return {
    endpoint,
    region: S3_TEST_REGION,
    bucket,
    credentials: S3_TEST_CREDENTIALS,
    dataDir,
    logFile,
    pid: server.pid,
    clientConfig,
    storeSecretData,
    keysUnder,
    stop,
  };
}
