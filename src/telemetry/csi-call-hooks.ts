// What the CSI server calls around every RPC (src/csi/server.ts CsiCallHooks, met structurally):
// the csi_rpc_* families and one SERVER span per call. The span's parent is the caller's
// `traceparent` metadata when it sends one; the span's own traceparent goes back to the server,
// which hands it to the handler, which stores it on the snapshot record, so every reconcile
// phase and the Job's agent continue this trace.
import {
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { BoundedLabel } from './bounded-label.ts';
import { contextFromTraceparent, isPropagationActive, traceparentOf } from './trace-context.ts';
import { TRACER_NAME } from './tracing.ts';

/** gRPC status codes by name (the numbers are the protocol's). */
export const GRPC_STATUS_CODES: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** The seed's buckets (0.1 … 30 s) with finer ones below: most calls answer from caches in ms. */
const RPC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The part of grpc-js Metadata the hooks read. */
export interface MetadataLike {
  get(key: string): unknown[];
}

export interface CsiCallStart {
  service: string;
  method: string;
  metadata: MetadataLike;
}

export interface CsiCallEnd {
  /** A gRPC status code name, or OK. */
  code: string;
  /** The driver's catalogued reason (src/csi/errors.ts) when the call failed. */
  reason?: string;
  durationSeconds: number;
}

export interface CsiCallObserver {
  traceparent?: string;
  /** Runs `fn` with the call's span active (logs then carry its trace_id and span_id). */
  run<T>(fn: () => T): T;
  end(outcome: CsiCallEnd): void;
}

export class CsiCallTelemetry {
  readonly #calls: Counter<'method' | 'status' | 'code'>;
  readonly #latency: Histogram<'method'>;
  readonly #active: Gauge<'method'>;
  readonly #tracer: Tracer | undefined;
  // Methods come from the proto (a few dozen), but the label is guarded anyway.
  readonly #method = new BoundedLabel(64);

  /** @param tracer undefined: no tracing code runs at all (metrics only) */
  constructor(registry: Registry, tracer: Tracer | undefined = trace.getTracer(TRACER_NAME)) {
    const registers = [registry];
    this.#calls = new Counter({
      name: 'csi_rpc_calls_total',
      help: 'CSI RPCs answered, by method, status (success, error) and gRPC code',
      labelNames: ['method', 'status', 'code'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'csi_rpc_latency_seconds',
      help: 'CSI RPC latency by method, from the request to the answer',
      labelNames: ['method'],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.#active = new Gauge({
      name: 'csi_rpc_active_calls',
      help: 'CSI RPCs in progress, by method',
      labelNames: ['method'],
      registers,
    });
    this.#tracer = tracer;
  }

  /** The CsiCallHooks.onCall the CSI server takes. */
  readonly onCall = (call: CsiCallStart): CsiCallObserver => {
    const method = this.#method.map(call.method);
    this.#active.inc({ method });
    // Without a tracing SDK no span is started: the call costs its metrics and nothing more.
    const traced = this.#tracer !== undefined && isPropagationActive();
    const parent = traced
      ? contextFromTraceparent(header(call.metadata, 'traceparent'), header(call.metadata, 'tracestate'))
      : undefined;
    const span: Span | undefined =
      traced && parent !== undefined
        ? this.#tracer?.startSpan(
            `csi.v1.${call.service}/${call.method}`,
            {
              kind: SpanKind.SERVER,
              attributes: {
                'rpc.system': 'grpc',
                'rpc.service': `csi.v1.${call.service}`,
                'rpc.method': call.method,
              },
            },
            parent,
          )
        : undefined;
    const spanContext: Context | undefined = span && parent ? trace.setSpan(parent, span) : undefined;
    const traceparent = spanContext ? traceparentOf(spanContext) : undefined;
    let ended = false;
    return {
      ...(traceparent ? { traceparent } : {}),
      run: (fn) => (spanContext ? context.with(spanContext, fn) : fn()),
      end: (outcome) => {
        if (ended) return;
        ended = true;
        this.#active.dec({ method });
        const ok = outcome.code === 'OK';
        this.#calls.inc({ method, status: ok ? 'success' : 'error', code: outcome.code });
        this.#latency.observe({ method }, outcome.durationSeconds);
        if (span === undefined) return;
        span.setAttribute(
          'rpc.grpc.status_code',
          GRPC_STATUS_CODES[outcome.code] ?? GRPC_STATUS_CODES.UNKNOWN ?? 2,
        );
        if (!ok) {
          if (outcome.reason) span.setAttribute('csi.error_reason', outcome.reason);
          span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.reason ?? outcome.code });
        }
        span.end();
      },
    };
  };
}

function header(metadata: MetadataLike, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
