// Typed errors of the informer layer and of the HTTP client it shares with the leader module.
// Callers branch on the class or on ApiError's status helpers, never on message text.

/** The apiserver answered with a non-2xx status; `status` is its metav1.Status when it sent one. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  /**
   * The Kubernetes Status reason (metav1.StatusReason: "Expired", "Conflict", "AlreadyExists",
   * "NotFound"…), not a reason of the driver's vocabulary (src/reasons).
   */
  readonly statusReason: string | undefined;
  readonly method: string;
  readonly path: string;

  constructor(
    method: string,
    path: string,
    statusCode: number,
    statusReason: string | undefined,
    message: string,
  ) {
    super(`${method} ${path}: ${statusCode}${statusReason ? ` ${statusReason}` : ''}: ${message}`);
    this.method = method;
    this.path = path;
    this.statusCode = statusCode;
    this.statusReason = statusReason;
  }

  /** 410: the resourceVersion asked for has been compacted away (watch, or a list's continue token). */
  get isGone(): boolean {
    return this.statusCode === 410 || this.statusReason === 'Expired' || this.statusReason === 'Gone';
  }
  get isConflict(): boolean {
    return this.statusCode === 409;
  }
  get isAlreadyExists(): boolean {
    return this.statusCode === 409 && this.statusReason === 'AlreadyExists';
  }
  get isNotFound(): boolean {
    return this.statusCode === 404;
  }
}

/** The request never got an HTTP answer: connection refused or reset, TLS failure, timeout. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(method: string, path: string, cause: unknown) {
    super(`${method} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The watchdog saw no event (not even a bookmark) for this long and cut the stream. */
export class WatchStalledError extends Error {
  override name = 'WatchStalledError';
  readonly silentMs: number;
  constructor(silentMs: number) {
    super(`watch stream silent for ${silentMs} ms`);
    this.silentMs = silentMs;
  }
}

/** The server closed a watch at once without sending anything: treated as an error so it backs off. */
export class WatchClosedEarlyError extends Error {
  override name = 'WatchClosedEarlyError';
}

export class UnknownIndexError extends Error {
  override name = 'UnknownIndexError';
  constructor(indexName: string) {
    super(`no index named "${indexName}" is registered`);
  }
}

/** Two consumers registered different functions under one index name on a shared informer. */
export class IndexConflictError extends Error {
  override name = 'IndexConflictError';
  constructor(indexName: string) {
    super(`an index named "${indexName}" is already registered with a different function`);
  }
}
