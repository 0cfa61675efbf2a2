// A small JSON-over-HTTP client for the apiserver: requests and watch streams, authenticated and
// TLS-configured by client-node's KubeConfig, over ONE keep-alive agent shared by every informer
// (and by the leader module's Lease client, which main wires to it).
//
// Why not client-node's generated API and Watch: they open a new undici Agent for every request
// (no connection reuse, a TLS handshake per Lease renewal), and Watch offers no way to tell a
// stalled stream from a quiet one. Objects come back as the apiserver's JSON (see wire.ts).
//
// This belongs in src/kube once that module exists; only the informer and leader layers use it now.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, TransportError } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Defaults to application/json; use application/merge-patch+json etc. for PATCH. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request timeout; default 60 s (client-go's default for non-watch calls). */
  timeoutMs?: number;
}

/** One line of a watch stream. `object` is a metav1.Status when type is ERROR. */
export interface RawWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: unknown;
}

export interface KubeClientOptions {
  userAgent?: string;
  defaultTimeoutMs?: number;
}

interface Prepared {
  url: URL;
  options: https.RequestOptions;
  transport: typeof https | typeof http;
}

export class KubeClient {
  readonly #kc: KubeConfig;
  readonly #server: URL;
  readonly #userAgent: string;
  readonly #defaultTimeoutMs: number;
  #agent: http.Agent | undefined;

  constructor(kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error('the kubeconfig has no current cluster');
    this.#kc = kc;
    this.#server = new URL(cluster.server);
    this.#userAgent = options.userAgent ?? 'etcd-snapshot-driver';
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? 60_000;
  }

  /** The apiserver's base URL (without a trailing slash). */
  get server(): string {
    return this.#server.toString().replace(/\/$/, '');
  }

  /** Sends one request and decodes the JSON answer; throws ApiError on a non-2xx status. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const body = await this.#send(method, path, options);
    return (body === '' ? undefined : JSON.parse(body)) as T;
  }

  /** A GET whose answer is text, not JSON (a pod's log); throws ApiError on a non-2xx status. */
  requestText(
    path: string,
    options: Pick<RequestOptions, 'query' | 'signal' | 'timeoutMs'> = {},
  ): Promise<string> {
    return this.#send('GET', path, options);
  }

  async #send(method: string, path: string, options: RequestOptions): Promise<string> {
    const { url, options: reqOptions, transport } = await this.#prepare(path, options.query);
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    if (payload !== undefined) {
      reqOptions.headers = {
        ...reqOptions.headers,
        'Content-Type': options.contentType ?? 'application/json',
        'Content-Length': Buffer.byteLength(payload),
      };
    }
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#defaultTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = transport.request(url, { ...reqOptions, method, signal }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on('error', (err) => reject(new TransportError(method, path, err)));
      });
      req.on('error', (err) =>
        reject(new TransportError(method, path, signal.aborted ? signal.reason : err)),
      );
      req.end(payload);
    });
    if (status < 200 || status > 299) throw apiErrorFrom(method, path, status, body);
    return body;
  }

  /**
   * Opens a watch and yields its events until the server ends the stream (normal at
   * timeoutSeconds) or `signal` aborts it (the generator then throws the abort reason).
   * A non-200 answer throws ApiError; ERROR events are yielded for the caller to judge.
   */
  async *watch(path: string, query: Query, signal: AbortSignal): AsyncGenerator<RawWatchEvent> {
    const { url, options, transport } = await this.#prepare(path, { ...query, watch: 'true' });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = transport.request(url, { ...options, method: 'GET', signal }, resolve);
      req.on('error', (err) =>
        reject(signal.aborted ? signal.reason : new TransportError('WATCH', path, err)),
      );
      req.end();
    });
    res.setEncoding('utf8');
    if (res.statusCode !== 200) {
      let text = '';
      for await (const chunk of res) text += chunk as string;
      throw apiErrorFrom('WATCH', path, res.statusCode ?? 0, text);
    }
    let pending = '';
    try {
      for await (const chunk of res) {
        pending += chunk as string;
        let newline = pending.indexOf('\n');
        while (newline >= 0) {
          const line = pending.slice(0, newline);
          pending = pending.slice(newline + 1);
          if (line.trim() !== '') yield JSON.parse(line) as RawWatchEvent;
          newline = pending.indexOf('\n');
        }
      }
    } catch (err) {
      throw signal.aborted ? signal.reason : new TransportError('WATCH', path, err);
    } finally {
      res.destroy();
    }
    // A destroyed socket may end the stream quietly; an abort must still surface as one.
    if (signal.aborted) throw signal.reason;
  }

  /** Closes the shared agent's idle and active sockets. */
  destroy(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  async #prepare(path: string, query: Query | undefined): Promise<Prepared> {
    const url = new URL(this.#server.toString().replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    // Asked per request: bearer tokens from files or exec plugins rotate.
    const options: https.RequestOptions = { headers: {} };
    await this.#kc.applyToHTTPSOptions(options);
    options.headers = { ...options.headers, 'User-Agent': this.#userAgent, Accept: 'application/json' };
    const transport = url.protocol === 'http:' ? http : https;
    const proxied = this.#kc.getCurrentCluster()?.proxyUrl;
    if (!proxied) options.agent = this.#sharedAgent(options, transport);
    return { url, options, transport };
  }

  #sharedAgent(tls: https.RequestOptions, transport: typeof https | typeof http): http.Agent {
    if (this.#agent === undefined) {
      // keepAlive: lists and Lease writes reuse connections; each watch holds its own socket.
      this.#agent =
        transport === https
          ? new https.Agent({
              keepAlive: true,
              ca: tls.ca,
              cert: tls.cert,
              key: tls.key,
              pfx: tls.pfx,
              passphrase: tls.passphrase,
              servername: tls.servername,
              ...(tls.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tls.rejectUnauthorized }),
            })
          : new http.Agent({ keepAlive: true });
    }
    return this.#agent;
  }
}

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

export function apiErrorFrom(method: string, path: string, statusCode: number, body: string): ApiError {
  let status: StatusBody | undefined;
  try {
    status = JSON.parse(body) as StatusBody;
  } catch {
    status = undefined;
  }
  const message = status?.message ?? (body.slice(0, 200) || http.STATUS_CODES[statusCode] || 'error');
  return new ApiError(method, path, statusCode, status?.reason, message);
}
