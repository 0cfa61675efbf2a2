// Maintenance.Snapshot read straight off HTTP/2 (node:http2) instead of through grpc-js: the one
// call that moves the whole database. grpc-js assembles every 32 KiB message into a new Buffer
// before a decoder sees it (a copy of every byte, an allocation per message, and the GC work of
// both); here the frames go to SnapshotFrameParser as they arrive and each blob leaves as views
// into them (bench/README.md, "Agent save"). The rest of the client — Authenticate, Status, the
// unary calls — stays on grpc-js; this speaks only what one server-streaming call needs: the
// request headers, a 5-byte empty request, flow-control windows, pausing when the consumer is
// behind, and the status in the trailers (or in the headers of a trailers-only answer).
import http2 from 'node:http2';
import type { PeerCertificate } from 'node:tls';
import { SnapshotFrameParser, type SnapshotMessage } from './snapshot-frames.ts';

const SNAPSHOT_PATH = '/etcdserverpb.Maintenance/Snapshot';
/** An empty SnapshotRequest: not compressed, length 0. */
const EMPTY_REQUEST = Buffer.alloc(5);
/**
 * The stream's and the connection's receive windows: HTTP/2's default 64 KiB lets etcd send two
 * 32 KiB messages per round trip (53 MB/s on loopback, measured with grpc-js); 8 MiB keeps the
 * pipe full. Backpressure still holds: a paused stream stops consuming, so its window closes.
 */
const WINDOW_BYTES = 8 * 1024 * 1024;
/** Received bytes held before the stream is paused, and the level it resumes at. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;

export interface SnapshotDial {
  /** host:port */
  target: string;
  /** TLS options when the member speaks TLS; the server name is checked by `checkServerIdentity`. */
  tls?: {
    ca?: Buffer;
    cert?: Buffer;
    key?: Buffer;
    servername?: string;
    checkServerIdentity: (host: string, cert: PeerCertificate) => Error | undefined;
  };
  /** etcd's simple-auth token, sent as the `token` header. */
  token?: string;
  dialTimeoutMs: number;
  signal?: AbortSignal;
}

/** A gRPC status other than OK, with the `code` and `details` toEtcdError reads of grpc-js's errors. */
export class SnapshotStatusError extends Error {
  override name = 'SnapshotStatusError';
  readonly code: number;
  readonly details: string;
  constructor(code: number, details: string) {
    super(`${code} ${details}`);
    this.code = code;
    this.details = details;
  }
}

/**
 * The Snapshot stream's messages, in order, read only as fast as the consumer iterates. Throws
 * the connection's error (for toEtcdError), a SnapshotStatusError for a non-OK status, or the
 * signal's reason; ends the call and the connection when the consumer stops early.
 */
export async function* snapshotOverHttp2(dial: SnapshotDial): AsyncGenerator<SnapshotMessage> {
  const { signal } = dial;
  signal?.throwIfAborted();
  const session = http2.connect(`${dial.tls ? 'https' : 'http'}://${dial.target}`, {
    settings: { initialWindowSize: WINDOW_BYTES },
    ...(dial.tls ?? {}),
  });
  const chunks: (Buffer | undefined)[] = [];
  let head = 0;
  let queued = 0;
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const stop = (err: unknown) => {
    failure ??= err;
    notify();
  };
  // A connection error once the stream has ended (its trailers in) loses nothing: every byte is
  // queued. The server may close the connection as it likes then, even by a reset.
  const fail = (err: unknown) => {
    if (!ended) stop(err);
  };
  session.on('error', fail);
  // The caller's abort stops the read whatever was received.
  const onAbort = () => stop(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const dialTimer = setTimeout(
    () => fail(new Error(`no HTTP/2 connection within ${dial.dialTimeoutMs} ms`)),
    dial.dialTimeoutMs,
  );
  session.once('connect', () => {
    clearTimeout(dialTimer);
    session.setLocalWindowSize(WINDOW_BYTES);
  });

  const req = session.request({
    ':method': 'POST',
    ':path': SNAPSHOT_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
    ...(dial.token ? { token: dial.token } : {}),
  });
  let headers: http2.IncomingHttpHeaders | undefined;
  let trailers: http2.IncomingHttpHeaders | undefined;
  req.on('response', (h) => {
    headers = h;
  });
  req.on('trailers', (t) => {
    trailers = t;
  });
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    queued += chunk.length;
    if (queued >= HIGH_WATER) req.pause();
    notify();
  });
  req.on('end', () => {
    ended = true;
    notify();
  });
  req.on('error', fail);
  req.on('close', () => {
    // Closed before its end without an 'error' (a reset, or the connection cut): still a failure.
    if (!ended) fail(new Error(`the snapshot stream closed before its end (HTTP/2 code ${req.rstCode})`));
  });
  req.end(EMPTY_REQUEST);

  const parser = new SnapshotFrameParser();
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      if (head < chunks.length) {
        const chunk = chunks[head] as Buffer;
        chunks[head++] = undefined; // the array is compacted below
        queued -= chunk.length;
        if (head > 1024) {
          chunks.splice(0, head);
          head = 0;
        }
        if (req.isPaused() && queued <= LOW_WATER) req.resume();
        for (const message of parser.push(chunk)) yield message;
        continue;
      }
      if (ended) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
    checkStatus(headers, trailers);
    if (!parser.atBoundary) throw new Error('the snapshot stream ended inside a message');
  } finally {
    clearTimeout(dialTimer);
    signal?.removeEventListener('abort', onAbort);
    // Ends the call when the consumer stopped early or it failed: etcd stops sending.
    if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
    session.destroy();
  }
}

function checkStatus(
  headers: http2.IncomingHttpHeaders | undefined,
  trailers: http2.IncomingHttpHeaders | undefined,
): void {
  const httpStatus = headers?.[':status'];
  // A trailers-only answer (an error before any message) carries the status in its headers.
  const grpcStatus = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
  const message = trailers?.['grpc-message'] ?? headers?.['grpc-message'];
  if (grpcStatus === undefined) {
    throw new Error(`the snapshot stream ended without a gRPC status (HTTP status ${httpStatus ?? 'none'})`);
  }
  const code = Number(grpcStatus);
  if (code === 0) return;
  const details = typeof message === 'string' ? safeDecode(message) : '';
  throw new SnapshotStatusError(code, details.slice(0, 1000));
}

/** grpc-message is percent-encoded; a malformed one is shown as sent. */
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
