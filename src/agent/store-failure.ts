// A failed object store request → an AgentFailure with the catalog reason an operator acts on:
// the store unreachable, the credentials refused, the bucket or object missing, or another
// refusal (its S3 error code in the message). Messages name the request and the object and
// quote the store's own error text bounded: the SDK's messages carry no credentials.
import { EncryptionError } from '../objectstore/encryption.ts';
import type { Reason } from '../reasons/reasons.ts';
import { AGENT_EXIT_CODES } from './contract.ts';
import { AgentFailure } from './failure.ts';

const AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'CredentialsProviderError',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
]);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const bounded = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

/** `what` names the request: "upload of s3://bucket/key". */
export function storeFailure(err: unknown, what: string): AgentFailure {
  if (err instanceof AgentFailure) return err;
  if (err instanceof EncryptionError) return encryptionFailure(err, what);
  const e = (err ?? {}) as SdkError;
  const code = e.Code ?? e.code ?? e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const detail = `${code}${status ? ` (HTTP ${status})` : ''}: ${bounded(e.message ?? String(err))}`;
  const fail = (reason: Reason, message: string) =>
    new AgentFailure(AGENT_EXIT_CODES.OBJECT_STORE_FAILED, reason, message);
  if (AUTH_CODES.has(code) || status === 401 || status === 403) {
    return fail('OBJECT_STORE_AUTH_FAILED', `${what}: the store refused the credentials: ${detail}`);
  }
  if (code === 'NoSuchBucket') return fail('OBJECT_STORE_BUCKET_NOT_FOUND', `${what}: ${detail}`);
  if (code === 'NoSuchKey' || code === 'NotFound')
    return fail('OBJECT_STORE_NOT_FOUND', `${what}: ${detail}`);
  const cause = (err as { cause?: SdkError } | undefined)?.cause;
  if (NETWORK_CODES.has(code) || (cause?.code && NETWORK_CODES.has(cause.code))) {
    return fail('OBJECT_STORE_UNREACHABLE', `${what}: the store did not answer: ${detail}`);
  }
  return fail('OBJECT_STORE_REQUEST_FAILED', `${what}: ${detail}`);
}

export function encryptionFailure(err: EncryptionError, what: string): AgentFailure {
  if (err.kind === 'key') {
    return new AgentFailure(AGENT_EXIT_CODES.USAGE, 'OBJECT_STORE_KEY_INVALID', `${what}: ${err.message}`);
  }
  const reason = err.kind === 'truncated' ? 'SNAPSHOT_INCOMPLETE' : 'CHECKSUM_MISMATCH';
  return new AgentFailure(AGENT_EXIT_CODES.CORRUPT_STREAM, reason, `${what}: ${err.message}`);
}
