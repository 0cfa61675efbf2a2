// The kubelet's HTTPS endpoint on <nodeIP>:<port>, reduced to what this harness needs: the
// apiserver proxies pods/log (kubectl logs) to GET /containerLogs/{namespace}/{pod}/{container}.
// Clients may present a certificate (the apiserver does, with --kubelet-client-certificate);
// one that does not verify against the cluster CA is refused.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type LogRecord, parseLogText, renderRecords, selectRecords } from './container-log.ts';
import type { Log } from './log.ts';

export interface LogSource {
  /** The log of a container; an HTTP status and message when there is none. */
  logFile(
    namespace: string,
    pod: string,
    container: string,
    previous: boolean,
  ): { path: string; running: () => boolean } | { status: number; message: string };
}

export interface LogServerOptions {
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  clientCAFile: string;
  source: LogSource;
  log: Log;
}

export interface LogQueryParams {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  limitBytes?: number;
  since?: Date;
}

const FOLLOW_POLL_MS = 200;

export function parseLogQuery(params: URLSearchParams): LogQueryParams {
  const flag = (name: string) => params.get(name) === 'true' || params.get(name) === '1';
  const int = (name: string) => {
    const value = params.get(name);
    if (value === null || value === '') return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`invalid ${name} "${value}"`);
    return n;
  };
  const sinceSeconds = int('sinceSeconds');
  const sinceTime = params.get('sinceTime');
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  return {
    follow: flag('follow'),
    previous: flag('previous'),
    timestamps: flag('timestamps'),
    ...(tailLines !== undefined ? { tailLines } : {}),
    ...(limitBytes !== undefined ? { limitBytes } : {}),
    ...(sinceSeconds !== undefined
      ? { since: new Date(Date.now() - sinceSeconds * 1000) }
      : sinceTime
        ? { since: new Date(sinceTime) }
        : {}),
  };
}

/** Cuts output at limitBytes over the whole response. */
class Limiter {
  #left: number;
  constructor(limit: number | undefined) {
    this.#left = limit ?? Number.POSITIVE_INFINITY;
  }
  get exhausted(): boolean {
    return this.#left <= 0;
  }
  take(text: string): Buffer {
    const bytes = Buffer.from(text, 'utf8');
    const out = bytes.length <= this.#left ? bytes : bytes.subarray(0, this.#left);
    this.#left -= out.length;
    return out;
  }
}

export function startLogServer(options: LogServerOptions): Promise<Server> {
  const server = createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ca: readFileSync(options.clientCAFile),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      handle(req, res, options).catch((err: unknown) => {
        options.log.warn('log request failed', {
          url: req.url,
          error: err instanceof Error ? err.message : String(err),
        });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end();
      });
    },
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, options: LogServerOptions): Promise<void> {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate();
  if (peer && Object.keys(peer).length > 0 && !socket.authorized) {
    res
      .writeHead(401, { 'Content-Type': 'text/plain' })
      .end(`Unauthorized: ${String(socket.authorizationError)}\n`);
    return;
  }
  const url = new URL(req.url ?? '/', 'https://kubelet');
  if (req.method !== 'GET') {
    res.writeHead(405, { 'Content-Type': 'text/plain' }).end('method not allowed\n');
    return;
  }
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
    return;
  }
  const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (!match) {
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('404 page not found\n');
    return;
  }
  const [namespace, pod, container] = match.slice(1).map(decodeURIComponent) as [string, string, string];
  let query: LogQueryParams;
  try {
    query = parseLogQuery(url.searchParams);
  } catch (err) {
    res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${(err as Error).message}\n`);
    return;
  }
  const target = options.source.logFile(namespace, pod, container, query.previous);
  if ('status' in target) {
    res.writeHead(target.status, { 'Content-Type': 'text/plain' }).end(target.message);
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
  const limiter = new Limiter(query.limitBytes);
  const write = (records: readonly LogRecord[]) => {
    if (records.length === 0 || limiter.exhausted) return;
    res.write(limiter.take(renderRecords(records, query.timestamps)));
  };

  const data = readFileSync(target.path);
  const { records, consumed } = parseLogText(data);
  write(selectRecords(records, query));
  if (!query.follow || limiter.exhausted) {
    res.end();
    return;
  }

  // Follow: poll the file for new records until the container stops or the client goes away.
  let offset = consumed;
  let closed = false;
  res.on('close', () => {
    closed = true;
  });
  while (!closed && !limiter.exhausted) {
    const wasRunning = target.running();
    const size = statSync(target.path).size;
    if (size > offset) {
      const chunk = Buffer.alloc(size - offset);
      const fd = openSync(target.path, 'r');
      try {
        readSync(fd, chunk, 0, chunk.length, offset);
      } finally {
        closeSync(fd);
      }
      const parsed = parseLogText(chunk);
      offset += parsed.consumed;
      write(query.since ? selectRecords(parsed.records, { since: query.since }) : parsed.records);
    } else if (!wasRunning) {
      break;
    }
    await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
  }
  res.end();
}
