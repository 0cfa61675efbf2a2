// Classifies failures of Kubernetes API calls, so callers decide on kinds (not found, conflict,
// unavailable…) instead of status numbers and socket error codes. Understands any error carrying
// `statusCode` and `statusReason` (the informer layer's ApiError, which every API call of the
// driver throws: it does not use client-node's generated API client or its ApiException).

export type ApiErrorKind =
  | 'not-found'
  | 'already-exists'
  | 'conflict'
  | 'gone'
  | 'unauthorized'
  | 'forbidden'
  | 'invalid'
  | 'too-many-requests'
  | 'server-error'
  | 'network'
  | 'other';

// Errors of the transport (no HTTP answer at all), from Node's net stack and undici.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The HTTP status of a failed API call, if the API server answered. */
export function apiStatusCode(err: unknown): number | undefined {
  const code = (err as { statusCode?: unknown } | null | undefined)?.statusCode;
  return err instanceof Error && typeof code === 'number' ? code : undefined;
}

/** The `reason` of the Status object the API server sent with an error, if any. */
export function apiStatusReason(err: unknown): string | undefined {
  const reason = (err as { statusReason?: unknown } | null | undefined)?.statusReason;
  return err instanceof Error && typeof reason === 'string' ? reason : undefined;
}

export function apiErrorKind(err: unknown): ApiErrorKind {
  const code = apiStatusCode(err);
  if (code !== undefined) {
    switch (code) {
      case 400:
      case 422:
        return 'invalid';
      case 401:
        return 'unauthorized';
      case 403:
        return 'forbidden';
      case 404:
        return 'not-found';
      case 409:
        return apiStatusReason(err) === 'AlreadyExists' ? 'already-exists' : 'conflict';
      case 410:
        return 'gone';
      case 429:
        return 'too-many-requests';
      default:
        return code >= 500 ? 'server-error' : 'other';
    }
  }
  return isNetworkError(err) ? 'network' : 'other';
}

function isNetworkError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
    if (e.name === 'TransportError') return true;
    if (e.name === 'TypeError' && e.message === 'fetch failed') return true;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') return true;
  }
  return false;
}

export const isNotFound = (err: unknown): boolean => apiErrorKind(err) === 'not-found';
export const isAlreadyExists = (err: unknown): boolean => apiErrorKind(err) === 'already-exists';
export const isConflict = (err: unknown): boolean => apiErrorKind(err) === 'conflict';
