// The CSI gRPC server: endpoints, socket hygiene, and the pipeline every call goes through —
// deadline and cancellation into an AbortSignal, logging with secrets stripped, metrics and
// tracing hooks, and the mapping of whatever a handler throws to a gRPC status (errors.ts).
import { chmod, lstat, unlink } from 'node:fs/promises';
import {
  type Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { boundForLog } from '../telemetry/log-bounds.ts';
import type { Logger } from '../telemetry/logger.ts';
import { claimEndpoint, type Endpoint } from './endpoint-claim.ts';
import { CsiError, ERROR_CATALOG, type ErrorReason, type GrpcCodeName, toGrpcStatus } from './errors.ts';
import type { CallContext, ServiceHandlers, UnaryHandler } from './handler.ts';
import { type CsiServiceName, csiMessageRegistry, csiServiceDefinitions } from './proto.ts';
import { checkedDeserializer, RefusedRequest } from './request-check.ts';

export interface CallOutcome {
  code: GrpcCodeName | 'OK';
  reason?: ErrorReason;
  durationSeconds: number;
}

export interface CallObserver {
  /** Trace context to hand to the handler (records carry it into the pipeline). */
  traceparent?: string;
  end(outcome: CallOutcome): void;
}

/** Where telemetry plugs in: called as each call starts; the observer hears how it ended. */
export interface CsiCallHooks {
  onCall?(call: { service: CsiServiceName; method: string; metadata: Metadata }): CallObserver | undefined;
}

export interface CsiServerOptions {
  /** unix:///absolute/path.sock or tcp://host:port (host:port alone is TCP too); at least one. */
  endpoints: readonly string[];
  services: Partial<Record<CsiServiceName, ServiceHandlers>>;
  log: Logger;
  hooks?: CsiCallHooks;
  /** Mode of unix sockets; only the owner and its group (the sidecars) may connect. */
  socketMode?: number;
  /** How long to wait for an endpoint another live process still holds (default 0: fail at once). */
  listenTimeoutMs?: number;
  /** Stops that wait (a signal during start-up). */
  signal?: AbortSignal;
}

export interface CsiServer {
  /** The bound addresses (TCP with the actual port). */
  readonly addresses: readonly string[];
  /** True from listening until stop() begins (readiness: the sidecars can reach us). */
  readonly serving: boolean;
  /**
   * Stops accepting calls, lets in-flight calls finish for up to graceMs, then cancels the rest;
   * removes the unix sockets it created.
   */
  stop(graceMs?: number): Promise<void>;
}

export type { Endpoint } from './endpoint-claim.ts';

export function parseEndpoint(endpoint: string): Endpoint {
  if (endpoint.startsWith('unix://') || endpoint.startsWith('unix:')) {
    const path = endpoint.startsWith('unix://')
      ? endpoint.slice('unix://'.length)
      : endpoint.slice('unix:'.length);
    if (!path.startsWith('/')) throw new Error(`CSI endpoint ${endpoint}: the socket path must be absolute`);
    return { kind: 'unix', path };
  }
  const address = endpoint.startsWith('tcp://') ? endpoint.slice('tcp://'.length) : endpoint;
  const m = /^(\[[^\]]+\]|[^:/]*):(\d{1,5})$/.exec(address);
  if (!m || Number(m[2]) > 65_535)
    throw new Error(`CSI endpoint ${endpoint}: expected unix:///path or tcp://host:port`);
  return { kind: 'tcp', host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

/** A copy of a message for logs: every `secrets` map (CSI's only secret fields) is replaced. */
export function stripSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripSecrets);
  if (value === null || typeof value !== 'object' || Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'secrets' ? (v && Object.keys(v).length > 0 ? '[REDACTED]' : {}) : stripSecrets(v);
  }
  return out;
}

/** A request as log lines carry it: secrets stripped, long values and lists cut (log-bounds.ts). */
function loggable(request: unknown): unknown {
  if (request instanceof RefusedRequest) return { refused: request.problem.reason };
  return boundForLog(stripSecrets(request));
}

function deadlineOf(call: ServerUnaryCall<unknown, unknown>): Date | undefined {
  const deadline = call.getDeadline();
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? new Date(ms) : undefined;
}

function adapt(
  service: CsiServiceName,
  method: string,
  handler: UnaryHandler,
  log: Logger,
  hooks: CsiCallHooks | undefined,
): (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => void {
  const path = `/csi.v1.${service}/${method}`;
  const callLog = log.child({ method: path });
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const observer = hooks?.onCall?.({ service, method, metadata: call.metadata });
    const controller = new AbortController();
    const deadline = deadlineOf(call);
    let timer: NodeJS.Timeout | undefined;
    if (deadline) {
      const ms = Math.max(0, deadline.getTime() - Date.now());
      timer = setTimeout(
        () =>
          controller.abort(
            new CsiError('DEADLINE_EXCEEDED', `no answer within the call's deadline (${ms} ms)`),
          ),
        ms,
      );
    }
    const onCancel = () => controller.abort(new CsiError('CANCELLED', 'the client cancelled the call'));
    call.on('cancelled', onCancel);
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => undefined);
    const traceparent = observer?.traceparent ?? headerValue(call.metadata, 'traceparent');
    const context: CallContext = {
      method: path,
      signal: controller.signal,
      deadline,
      log: callLog,
      traceparent,
    };
    // The request's log copy (secrets stripped, bounded) is made only when it will be written:
    // every re-call of a pending snapshot passes here.
    if (callLog.isLevelEnabled('debug')) callLog.debug({ request: loggable(call.request) }, 'call');

    const finish = (code: GrpcCodeName | 'OK', reason?: ErrorReason) => {
      if (timer) clearTimeout(timer);
      call.removeListener('cancelled', onCancel);
      const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
      observer?.end({ code, durationSeconds, ...(reason ? { reason } : {}) });
      return durationSeconds;
    };
    const request = call.request;
    const run = () => {
      if (request instanceof RefusedRequest)
        throw new CsiError(request.problem.reason, request.problem.message);
      return handler(request, context);
    };
    Promise.race([Promise.resolve().then(run), aborted]).then(
      (response) => {
        const seconds = finish('OK');
        callLog.debug({ duration_ms: Math.round(seconds * 1000) }, 'ok');
        callback(null, response);
      },
      (err: unknown) => {
        const st = toGrpcStatus(err);
        const code = ERROR_CATALOG[st.reason].code;
        const seconds = finish(code, st.reason);
        const fields = { code, reason: st.reason, duration_ms: Math.round(seconds * 1000) };
        if (st.reason === 'INTERNAL') {
          // Unexpected: the cause (with its stack) goes to the log only, never to the client.
          callLog.error({ ...fields, err, request: loggable(call.request) }, st.details);
        } else if (st.reason.startsWith('KUBE_')) {
          // The driver's own API call failed: the cause says which and why.
          callLog.warn({ ...fields, err: (err as Error).cause ?? err }, st.details);
        } else {
          // The caller's mistake or a catalogued outcome (a failed snapshot, a conflict).
          callLog.info(fields, st.details);
        }
        callback({ code: st.code, details: st.details });
      },
    );
  };
}

function headerValue(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function bind(server: Server, address: string): Promise<number> {
  return new Promise((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}

export async function startCsiServer(options: CsiServerOptions): Promise<CsiServer> {
  if (options.endpoints.length === 0) throw new Error('no CSI endpoint to listen on');
  const endpoints = options.endpoints.map(parseEndpoint);
  const log = options.log;
  const definitions = csiServiceDefinitions();
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  const registry = csiMessageRegistry();
  for (const [service, handlers] of Object.entries(options.services) as [CsiServiceName, ServiceHandlers][]) {
    // Every request passes the wire check (UTF-8, size limits, framing) as it is decoded.
    const definition = Object.fromEntries(
      Object.entries(definitions[service]).map(([method, def]) => [
        method,
        {
          ...def,
          requestDeserialize: checkedDeserializer(
            registry,
            `csi.v1.${(def as { requestType?: { type: { name: string } } }).requestType?.type.name ?? `${method}Request`}`,
            def.requestDeserialize,
          ),
        },
      ]),
    ) as (typeof definitions)[CsiServiceName];
    const implementation: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(handlers)) {
      if (!Object.hasOwn(definition, method)) throw new Error(`csi.v1.${service} has no method ${method}`);
      implementation[method] = adapt(service, method, handler, log, options.hooks);
    }
    // Methods of the proto without a handler answer UNIMPLEMENTED (grpc-js does that for us).
    server.addService(definition, implementation);
  }

  const sockets: string[] = [];
  const addresses: string[] = [];
  try {
    for (const endpoint of endpoints) {
      await claimEndpoint(endpoint, options.listenTimeoutMs ?? 0, log, options.signal);
      if (endpoint.kind === 'unix') {
        await bind(server, `unix://${endpoint.path}`);
        sockets.push(endpoint.path);
        await chmod(endpoint.path, options.socketMode ?? 0o660);
        addresses.push(`unix://${endpoint.path}`);
      } else {
        const port = await bind(server, `${endpoint.host}:${endpoint.port}`);
        addresses.push(`tcp://${endpoint.host}:${port}`);
      }
    }
  } catch (err) {
    server.forceShutdown();
    await removeSockets(sockets);
    throw err;
  }
  log.info({ addresses }, 'CSI server listening');

  let stopping: Promise<void> | undefined;
  return {
    addresses,
    get serving() {
      return stopping === undefined;
    },
    stop(graceMs = 10_000) {
      stopping ??= (async () => {
        log.info({ grace_ms: graceMs }, 'CSI server draining');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            log.warn('CSI calls still running after the grace period; cancelling them');
            server.forceShutdown();
            resolve();
          }, graceMs);
          server.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
        await removeSockets(sockets);
        log.info('CSI server stopped');
      })();
      return stopping;
    },
  };
}

async function removeSockets(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    try {
      if ((await lstat(path)).isSocket()) await unlink(path);
    } catch {
      // Already gone.
    }
  }
}
