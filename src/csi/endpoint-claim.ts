// Making a CSI endpoint ours before the gRPC server binds it. A unix socket's directory is made
// (owner and group only) and a socket left by a process that died is removed; a path that is
// not a socket is refused at once. While another live process still holds the endpoint (a
// socket that answers, a TCP port in use) start-up waits for it, up to --csi-listen-timeout
// (the seed's CSI_LISTEN_TIMEOUT), then refuses to start naming the endpoint and the timeout.
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../telemetry/logger.ts';

export type Endpoint = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The endpoint is held by another live process (worth waiting for). */
class EndpointHeld extends Error {}

const RETRY_MS = 250;

/** Resolves once `endpoint` can be bound; rejects when it cannot be, or is still held after timeoutMs. */
export async function claimEndpoint(
  endpoint: Endpoint,
  timeoutMs: number,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const started = Date.now();
  let reported = false;
  for (;;) {
    try {
      return endpoint.kind === 'unix' ? await prepareUnixSocket(endpoint.path) : await probeTcp(endpoint);
    } catch (err) {
      if (!(err instanceof EndpointHeld)) throw err;
      const left = timeoutMs - (Date.now() - started);
      if (left <= 0) {
        throw new Error(
          `${err.message}; still held after ${timeoutMs / 1000}s (--csi-listen-timeout); refusing to start`,
          { cause: err },
        );
      }
      if (!reported) log.warn({ timeout_ms: timeoutMs }, `${err.message}; waiting for it to be released`);
      reported = true;
      // A start-up stopped by a signal stops waiting too (it rejects with the signal's reason).
      await sleep(Math.min(RETRY_MS, left), undefined, signal ? { signal } : {});
    }
  }
}

async function prepareUnixSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o750 });
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (!isSocket) throw new Error(`CSI endpoint ${path} exists and is not a socket; refusing to replace it`);
  if (await socketAnswers(path))
    throw new EndpointHeld(`CSI endpoint ${path} is served by another live process`);
  await unlink(path);
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (live: boolean) => {
      socket.destroy();
      resolve(live);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    // A process that accepts but never answers is still alive.
    socket.setTimeout(2_000, () => done(true));
  });
}

/** Listens on the port for a moment: in use → held; any other error is the bind's to report. */
function probeTcp({ host, port }: { host: string; port: number }): Promise<void> {
  if (port === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE'
        ? reject(new EndpointHeld(`CSI endpoint tcp://${host}:${port} is in use by another process`))
        : resolve(),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
