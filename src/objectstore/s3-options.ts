// StoreConfig → what @aws-sdk/client-s3 takes: the client's configuration and the per-request
// parameters (server-side encryption, object lock). Pure, so the mapping is unit-tested; the
// agent builds the client from it.
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import type { StoreConfig } from './config.ts';

/** How long a connection may take before the store counts as unreachable. */
export const CONNECT_TIMEOUT_MS = 10_000;

export function s3ClientConfig(config: StoreConfig): S3ClientConfig {
  const checksum = config.checksumMode === 'when_required' ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED';
  const out: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: checksum,
    responseChecksumValidation: checksum,
    maxAttempts: config.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      // A CA bundle adds to Node's roots: a private CA for the store, public ones still trusted.
      ...(config.caBundle
        ? { httpsAgent: new HttpsAgent({ keepAlive: true, ca: [...rootCertificates, config.caBundle] }) }
        : {}),
    },
  };
  if (config.endpoint) out.endpoint = config.endpoint;
  if (config.credentials.kind === 'static') {
    const { accessKeyId, secretAccessKey, sessionToken } = config.credentials;
    out.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return out;
}

/** SSE-C: sent on every request that reads or writes the object's data. */
export interface CustomerKeyParams {
  SSECustomerAlgorithm?: 'AES256';
  SSECustomerKey?: string;
}

export function customerKeyParams(config: StoreConfig): CustomerKeyParams {
  return config.sse.kind === 'sse-c'
    ? { SSECustomerAlgorithm: 'AES256', SSECustomerKey: config.sse.customerKey.toString('base64') }
    : {};
}

export interface WriteParams extends CustomerKeyParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
  ObjectLockMode?: 'GOVERNANCE' | 'COMPLIANCE';
  ObjectLockRetainUntilDate?: Date;
}

/** Parameters of a PutObject / CreateMultipartUpload of a snapshot's objects, at `now`. */
export function writeParams(config: StoreConfig, now: Date): WriteParams {
  const out: WriteParams = { ...customerKeyParams(config) };
  if (config.sse.kind === 'sse-s3') out.ServerSideEncryption = 'AES256';
  if (config.sse.kind === 'sse-kms') {
    out.ServerSideEncryption = 'aws:kms';
    if (config.sse.kmsKeyId) out.SSEKMSKeyId = config.sse.kmsKeyId;
  }
  if (config.objectLock) {
    out.ObjectLockMode = config.objectLock.mode;
    out.ObjectLockRetainUntilDate = new Date(now.getTime() + config.objectLock.days * 86_400_000);
  }
  return out;
}
