// gRPC and TLS failures → EtcdError with a catalog reason. etcd's own errors are recognised by
// code and message (api/v3rpc/rpctypes: "etcdserver: …" texts are stable API); connection-level
// failures arrive from grpc-js as UNAVAILABLE whose details carry the socket or TLS error.
import { type ServiceError, status } from '@grpc/grpc-js';
import { EtcdError } from '../errors.ts';
import { cleanTlsDetail, describeTlsFailure, type TlsContext } from './tls-failure.ts';

// What Node's TLS stack and OpenSSL say when a certificate is refused, on either side.
const TLS_FAILURE =
  /certificate|\bcert\b|self[- ]signed|SSL|TLS|handshake|alert|unable to (?:get|verify)|CERT_|ERR_TLS|wrong version number|Hostname\/IP does not match|server certificate does not name/i;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'details' in err;
}

/** An AbortSignal's reason as an Error (what a cancelled call rejects with). */
export function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  return r instanceof Error ? r : new DOMException(String(r ?? 'aborted'), 'AbortError');
}

const NO_TLS_CONTEXT: TlsContext = { hasCa: false, hasClientCert: false };

/** A TLS failure's message: what did not verify, of which member, against which Secret. */
function tlsFailure(details: string, endpoint: string, what: string, tls: TlsContext): string {
  return (
    describeTlsFailure(details, endpoint, tls) ??
    `${what} at ${endpoint}: TLS failed: ${cleanTlsDetail(details)}`
  );
}

export function toEtcdError(err: unknown, endpoint: string, what: string, tls = NO_TLS_CONTEXT): Error {
  if (err instanceof EtcdError) return err;
  if (!isServiceError(err)) {
    const message = err instanceof Error ? err.message : String(err);
    if (TLS_FAILURE.test(message)) {
      return new EtcdError('AUTH_CERT_INVALID', tlsFailure(message, endpoint, what, tls), {
        endpoint,
        cause: err,
      });
    }
    return new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', `${what} at ${endpoint}: ${message}`, {
      endpoint,
      cause: err,
    });
  }
  const details = err.details || err.message;
  const opts = { endpoint, grpcCode: err.code, cause: err };
  const text = `${what} at ${endpoint}: ${details}`;
  switch (err.code) {
    case status.PERMISSION_DENIED:
      return new EtcdError('AUTH_PERMISSION_DENIED', text, opts);
    case status.UNAUTHENTICATED:
      return new EtcdError('AUTH_BASIC_INVALID', text, opts);
    case status.INVALID_ARGUMENT:
      if (/authentication failed|invalid user ID or password/i.test(details)) {
        return new EtcdError('AUTH_BASIC_INVALID', text, opts);
      }
      // "user name is empty" (auth is on and no user was sent), "permission not given".
      if (/user name is empty|permission/i.test(details))
        return new EtcdError('AUTH_PERMISSION_DENIED', text, opts);
      return new EtcdError('SNAPSHOT_FAILED', text, opts);
    case status.FAILED_PRECONDITION:
      if (/user name not found|role is not granted|permission is not granted/i.test(details)) {
        return new EtcdError('AUTH_PERMISSION_DENIED', text, opts);
      }
      return new EtcdError('SNAPSHOT_FAILED', text, opts);
    case status.UNAVAILABLE:
      if (/no leader/i.test(details)) return new EtcdError('ETCD_NO_LEADER', text, opts);
      if (TLS_FAILURE.test(details)) {
        return new EtcdError('AUTH_CERT_INVALID', tlsFailure(details, endpoint, what, tls), opts);
      }
      return new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', text, opts);
    case status.DEADLINE_EXCEEDED:
    case status.CANCELLED:
      return new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', text, opts);
    default:
      return new EtcdError('SNAPSHOT_FAILED', text, opts);
  }
}
