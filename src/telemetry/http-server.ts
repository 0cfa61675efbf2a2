// The metrics and health HTTP server (--metrics-bind-address, default :8080) the Deployment's
// probes and Prometheus use:
//   GET /metrics  the registry; OpenMetrics when the scraper's Accept asks for it
//   GET /healthz  liveness: 200 while the event loop answers within a bound, else 503
//   GET /ready    readiness: every named check passes (caches synced, API reachable, gRPC
//                 serving) → 200, else 503; the JSON body names each check and its error
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from './openmetrics.ts';

/** A readiness check: resolves (to anything but false) when ready; rejects or false when not. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown> | unknown;

export interface HealthServerOptions {
  /** host:port, :port (all interfaces) or [v6]:port. */
  bindAddress: string;
  registry: Registry;
  /** false (METRICS_ENABLED=false): /metrics answers 404; the probes stay. Default true. */
  serveMetrics?: boolean;
  readiness?: Record<string, ReadinessCheck>;
  /** Liveness fails when the event loop's worst delay over the last window exceeds this. */
  maxEventLoopDelayMs?: number;
  /** Window over which the worst delay is taken. */
  eventLoopWindowMs?: number;
  /** A readiness check slower than this fails (the probe's own timeout is 3 s). */
  checkTimeoutMs?: number;
}

export interface HealthServer {
  /** The bound address as host:port (with the real port when 0 was asked). */
  readonly address: string;
  readonly port: number;
  /** Stops listening, ends idle keep-alive connections, waits for requests in flight. */
  close(): Promise<void>;
}

export interface BindAddress {
  host: string | undefined;
  port: number;
}

export function parseBindAddress(value: string): BindAddress {
  const m = /^(\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : Number.NaN;
  if (!m || port > 65_535) {
    throw new Error(`metrics bind address "${value}" must be host:port, :port or [v6]:port`);
  }
  const host = m[1] === '' ? undefined : m[1]?.replace(/^\[|\]$/g, '');
  return { host, port };
}

/**
 * Liveness from the event loop's delay: a histogram sampled every 20 ms, read and reset every
 * window; the worst delay of the last complete window is the figure. A loop blocked for longer
 * than the bound also cannot answer the probe, so the kubelet's timeout covers that case too.
 */
class EventLoopWatch {
  readonly #histogram: ReturnType<typeof monitorEventLoopDelay>;
  readonly #timer: NodeJS.Timeout;
  #lastMaxMs = 0;
  #lastTick = performance.now();
  readonly #windowMs: number;

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
    this.#histogram = monitorEventLoopDelay({ resolution: 20 });
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      const now = performance.now();
      // How late this very timer is counts too: the histogram's own sample of a long block may
      // land after this callback has reset it.
      const late = now - this.#lastTick - windowMs;
      this.#lastMaxMs = Math.max(this.#histogram.max / 1e6, late);
      this.#histogram.reset();
      this.#lastTick = now;
    }, windowMs);
    this.#timer.unref();
  }

  /** Worst delay of the last complete window and of the current one so far. */
  delayMs(): number {
    const overdue = performance.now() - this.#lastTick - this.#windowMs;
    const current = this.#histogram.count > 0 ? this.#histogram.max / 1e6 : 0;
    return Math.max(this.#lastMaxMs, current, overdue, 0);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}

export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const { host, port } = parseBindAddress(options.bindAddress);
  const maxDelayMs = options.maxEventLoopDelayMs ?? 5_000;
  const checkTimeoutMs = options.checkTimeoutMs ?? 2_500;
  const readiness = Object.entries(options.readiness ?? {});
  const loop = new EventLoopWatch(options.eventLoopWindowMs ?? 1_000);

  const handlers: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    '/metrics': async (req, res) => {
      const openMetrics = /application\/openmetrics-text/.test(req.headers.accept ?? '');
      const body = openMetrics ? await renderOpenMetrics(options.registry) : await options.registry.metrics();
      send(res, 200, openMetrics ? OPENMETRICS_CONTENT_TYPE : options.registry.contentType, body);
    },
    '/healthz': async (_req, res) => {
      const delayMs = Math.round(loop.delayMs());
      const ok = delayMs <= maxDelayMs;
      sendJson(res, ok ? 200 : 503, {
        status: ok ? 'ok' : 'unresponsive',
        event_loop_delay_ms: delayMs,
        max_event_loop_delay_ms: maxDelayMs,
      });
    },
    '/ready': async (_req, res) => {
      const results = await Promise.all(
        readiness.map(([name, check]) => runCheck(name, check, checkTimeoutMs)),
      );
      const ok = results.every((r) => r.ok);
      sendJson(res, ok ? 200 : 503, {
        status: ok ? 'ready' : 'not ready',
        checks: Object.fromEntries(results.map(({ name, ...r }) => [name, r])),
      });
    },
  };

  if (options.serveMetrics === false) delete handlers['/metrics'];

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const handler = handlers[path];
    if (handler === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, 'text/plain; charset=utf-8', `${(err as Error).message ?? String(err)}\n`);
      else res.destroy();
    });
  });
  // Probes and scrapes are short: a slow or stuck client must not hold a socket for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(host === undefined ? { port } : { port, host }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    loop.stop();
    throw new Error(`metrics server cannot listen on ${options.bindAddress}: ${(err as Error).message}`, {
      cause: err,
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    address: `${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    port: address.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        loop.stop();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
}

async function runCheck(name: string, check: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`no answer within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(() => check(controller.signal)), timeout]);
    return result === false ? { name, ok: false, error: 'not ready' } : { name, ok: true };
  } catch (err) {
    return { name, ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', `${JSON.stringify(body)}\n`);
}
