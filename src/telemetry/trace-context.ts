// W3C trace context in and out of strings: the CSI record annotation, the Job's TRACEPARENT and
// gRPC metadata all carry a trace as `traceparent` (+ optional `tracestate`). The propagator is
// used directly, not through the global one, so these helpers work whether or not the SDK runs.
import { type Context, context as contextApi, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

const propagator = new W3CTraceContextPropagator();

// Whether a tracing SDK runs (startTracing sets it). Without one, nothing would ever be exported
// downstream either (a Job gets no tracing env), so the helpers do no parsing or formatting at
// all: `--trace-exporter=none` then costs nothing on the paths that carry trace context.
let propagationActive = false;

/** Called by startTracing and its shutdown; not for other callers. */
export function setPropagationActive(active: boolean): void {
  propagationActive = active;
}

export function isPropagationActive(): boolean {
  return propagationActive;
}

export interface TraceHeaders {
  traceparent: string;
  tracestate?: string;
}

/** The traceparent of the span active in `ctx` (default: the active context); undefined without one or without a tracing SDK. */
export function traceparentOf(ctx: Context = contextApi.active()): string | undefined {
  return traceHeadersOf(ctx)?.traceparent;
}

export function traceHeadersOf(ctx: Context = contextApi.active()): TraceHeaders | undefined {
  if (!propagationActive) return undefined;
  const carrier: Record<string, string> = {};
  propagator.inject(ctx, carrier, {
    set: (c, k, v) => {
      c[k] = v;
    },
  });
  const traceparent = carrier.traceparent;
  if (traceparent === undefined) return undefined;
  return carrier.tracestate ? { traceparent, tracestate: carrier.tracestate } : { traceparent };
}

/**
 * A context whose (remote) parent is the span named by `traceparent`; `base` (default ROOT) when
 * the string is absent or malformed — a broken annotation must never fail an operation — or
 * when no tracing SDK runs.
 */
export function contextFromTraceparent(
  traceparent: string | undefined,
  tracestate?: string,
  base: Context = ROOT_CONTEXT,
): Context {
  if (!propagationActive || traceparent === undefined || traceparent === '') return base;
  const carrier: Record<string, string> = { traceparent, ...(tracestate ? { tracestate } : {}) };
  return propagator.extract(base, carrier, {
    get: (c, k) => c[k],
    keys: (c) => Object.keys(c),
  });
}

/** Whether the string is a valid W3C traceparent naming a real (non-zero) trace and span. */
export function isValidTraceparent(traceparent: string): boolean {
  const sc = trace.getSpanContext(
    propagator.extract(
      ROOT_CONTEXT,
      { traceparent },
      { get: (c, k) => c[k as 'traceparent'], keys: (c) => Object.keys(c) },
    ),
  );
  return sc !== undefined && trace.isSpanContextValid(sc);
}
