// The object store a snapshot is copied to, as its Secret describes it (docs/object-store.md
// lists every key). parseStoreConfig is pure: the agent reads the mounted Secret's files into a
// record and calls it, and the pipeline can call it on the Secret's data before it creates a Job,
// so an invalid store fails the snapshot before anything is uploaded. Every refusal is a
// StoreConfigError naming the key and, for keys that are not secret, the value (bounded).
import {
  checkBucket,
  checkCaBundle,
  checkEndpoint,
  checkPrefix,
  checkRegion,
  oneOf,
  wholeNumber,
} from './config-checks.ts';
import { StoreConfigError } from './config-error.ts';

export { StoreConfigError } from './config-error.ts';

/** The SDK's requestChecksumCalculation / responseChecksumValidation, in the Secret's words. */
export type ChecksumMode = 'when_supported' | 'when_required';

export type StoreCredentials =
  | { kind: 'static'; accessKeyId: string; secretAccessKey: string; sessionToken?: string }
  /** The SDK's default chain: environment, web identity (IRSA), the instance's metadata. */
  | { kind: 'ambient' };

export type ServerSideEncryption =
  | { kind: 'none' }
  | { kind: 'sse-s3' }
  | { kind: 'sse-kms'; kmsKeyId?: string }
  /** The customer's key, 32 bytes; S3 needs it again on every read. */
  | { kind: 'sse-c'; customerKey: Buffer };

export interface ObjectLockRetention {
  mode: 'GOVERNANCE' | 'COMPLIANCE';
  days: number;
}

export interface StoreConfig {
  /** http(s)://host[:port]; undefined: AWS S3's own endpoint for the region. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** Key prefix without leading or trailing slash; '' for the bucket's root. */
  prefix: string;
  forcePathStyle: boolean;
  /** PEM bundle trusted for the endpoint's certificate (added to Node's roots). */
  caBundle?: string;
  credentials: StoreCredentials;
  checksumMode: ChecksumMode;
  sse: ServerSideEncryption;
  objectLock?: ObjectLockRetention;
  /** Bytes per multipart part; memory held by an upload is about partSizeBytes × queueSize. */
  partSizeBytes: number;
  /** Parts in flight at once. */
  queueSize: number;
  /** Tries per request (the SDK's standard retry mode: exponential backoff with jitter). */
  maxAttempts: number;
}

/** Every key the Secret may hold. Another key is refused: a typo must not go unnoticed. */
export const STORE_CONFIG_KEYS = [
  'endpoint',
  'bucket',
  'region',
  'prefix',
  'forcePathStyle',
  'ca.crt',
  'accessKeyId',
  'secretAccessKey',
  'sessionToken',
  'checksumMode',
  'sse',
  'sseKmsKeyId',
  'sseCustomerKey',
  'objectLockMode',
  'objectLockDays',
  'partSizeMiB',
  'queueSize',
  'maxAttempts',
] as const;

export type StoreConfigKey = (typeof STORE_CONFIG_KEYS)[number];

/** Keys whose values never appear in a message. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'secretAccessKey',
  'sessionToken',
  'sseCustomerKey',
]);

export const DEFAULT_PART_SIZE_MIB = 8;
export const DEFAULT_QUEUE_SIZE = 4;
export const DEFAULT_MAX_ATTEMPTS = 5;
/** S3's limits: parts of at least 5 MiB (but the last), at most 5 GiB. */
const PART_SIZE_MIB = { min: 5, max: 5120 } as const;
const MiB = 1024 * 1024;

/** The Secret's data (values as text, as mounted files or decoded `data`) → a checked StoreConfig. */
export function parseStoreConfig(data: Readonly<Record<string, string>>): StoreConfig {
  for (const key of Object.keys(data)) {
    if (!(STORE_CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new StoreConfigError(
        key.slice(0, 64),
        `is not a key of an object store Secret (known: ${STORE_CONFIG_KEYS.join(', ')})`,
      );
    }
  }
  // Surrounding whitespace is a file's trailing newline, not part of a value (the CA bundle keeps it).
  const get = (key: StoreConfigKey): string | undefined => {
    const v = data[key];
    if (v === undefined) return undefined;
    const t = v.trim();
    return t === '' ? undefined : t;
  };
  const required = (key: StoreConfigKey): string => {
    const v = get(key);
    if (v === undefined) throw new StoreConfigError(key, 'is required');
    return v;
  };

  const endpoint = get('endpoint');
  const config: StoreConfig = {
    bucket: checkBucket(required('bucket')),
    region: checkRegion(get('region') ?? 'us-east-1'),
    prefix: checkPrefix(get('prefix') ?? ''),
    forcePathStyle: oneOf('forcePathStyle', get('forcePathStyle') ?? 'false', ['true', 'false']) === 'true',
    credentials: credentials(get('accessKeyId'), get('secretAccessKey'), get('sessionToken')),
    checksumMode: oneOf('checksumMode', get('checksumMode') ?? 'when_supported', [
      'when_supported',
      'when_required',
    ]),
    sse: serverSideEncryption(get('sse') ?? 'none', get('sseKmsKeyId'), get('sseCustomerKey')),
    partSizeBytes:
      wholeNumber('partSizeMiB', get('partSizeMiB') ?? String(DEFAULT_PART_SIZE_MIB), PART_SIZE_MIB) * MiB,
    queueSize: wholeNumber('queueSize', get('queueSize') ?? String(DEFAULT_QUEUE_SIZE), { min: 1, max: 16 }),
    maxAttempts: wholeNumber('maxAttempts', get('maxAttempts') ?? String(DEFAULT_MAX_ATTEMPTS), {
      min: 1,
      max: 10,
    }),
  };
  if (endpoint !== undefined) config.endpoint = checkEndpoint(endpoint);
  const ca = data['ca.crt'];
  if (ca !== undefined && ca.trim() !== '') config.caBundle = checkCaBundle(ca);
  const lockMode = get('objectLockMode');
  const lockDays = get('objectLockDays');
  if (lockMode !== undefined || lockDays !== undefined) {
    if (lockMode === undefined)
      throw new StoreConfigError('objectLockMode', 'is required with objectLockDays');
    if (lockDays === undefined)
      throw new StoreConfigError('objectLockDays', 'is required with objectLockMode');
    config.objectLock = {
      mode: oneOf('objectLockMode', lockMode, ['GOVERNANCE', 'COMPLIANCE']),
      days: wholeNumber('objectLockDays', lockDays, { min: 1, max: 36500 }),
    };
  }
  return config;
}

function credentials(
  accessKeyId: string | undefined,
  secretAccessKey: string | undefined,
  sessionToken: string | undefined,
): StoreCredentials {
  if (accessKeyId === undefined && secretAccessKey === undefined) {
    if (sessionToken !== undefined)
      throw new StoreConfigError('sessionToken', 'needs accessKeyId and secretAccessKey');
    return { kind: 'ambient' };
  }
  if (accessKeyId === undefined)
    throw new StoreConfigError('accessKeyId', 'is required with secretAccessKey');
  if (secretAccessKey === undefined)
    throw new StoreConfigError('secretAccessKey', 'is required with accessKeyId');
  if (!/^[\x21-\x7e]{1,128}$/.test(accessKeyId)) {
    throw new StoreConfigError(
      'accessKeyId',
      'must be 1–128 printable characters without spaces',
      accessKeyId,
    );
  }
  // Checked without quoting: the value is a secret.
  if (!/^[\x21-\x7e]{1,256}$/.test(secretAccessKey)) {
    throw new StoreConfigError('secretAccessKey', 'must be 1–256 printable characters without spaces');
  }
  if (sessionToken !== undefined && !/^[\x21-\x7e]{1,8192}$/.test(sessionToken)) {
    throw new StoreConfigError('sessionToken', 'must be 1–8192 printable characters without spaces');
  }
  return { kind: 'static', accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function serverSideEncryption(
  kind: string,
  kmsKeyId: string | undefined,
  customerKey: string | undefined,
): ServerSideEncryption {
  const sse = oneOf('sse', kind, ['none', 'sse-s3', 'sse-kms', 'sse-c']);
  if (kmsKeyId !== undefined && sse !== 'sse-kms')
    throw new StoreConfigError('sseKmsKeyId', `is only used with sse "sse-kms", not "${sse}"`);
  if (customerKey !== undefined && sse !== 'sse-c')
    throw new StoreConfigError('sseCustomerKey', `is only used with sse "sse-c", not "${sse}"`);
  if (sse === 'sse-kms') {
    if (kmsKeyId !== undefined && !/^[\x21-\x7e]{1,2048}$/.test(kmsKeyId)) {
      throw new StoreConfigError('sseKmsKeyId', 'must be a KMS key ID, alias or ARN', kmsKeyId);
    }
    return kmsKeyId === undefined ? { kind: 'sse-kms' } : { kind: 'sse-kms', kmsKeyId };
  }
  if (sse === 'sse-c') {
    if (customerKey === undefined)
      throw new StoreConfigError('sseCustomerKey', 'is required with sse "sse-c"');
    const key = /^[A-Za-z0-9+/]+={0,2}$/.test(customerKey) ? Buffer.from(customerKey, 'base64') : undefined;
    if (key?.length !== 32) {
      throw new StoreConfigError('sseCustomerKey', 'must be 32 bytes in base64 (44 characters)');
    }
    return { kind: 'sse-c', customerKey: key };
  }
  return { kind: sse };
}
