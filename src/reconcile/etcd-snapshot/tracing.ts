// Spans of the pipeline: one per phase, parented on the trace of the CSI call that created the
// record (its traceparent annotation), so one trace runs from the RPC through every phase into
// the agent's Job (TRACEPARENT). Spans carry IDs and names only, never credentials.
import { type Context, context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ANNOTATION_TRACEPARENT, type EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { StepResult } from '../step.ts';

const propagator = new W3CTraceContextPropagator();
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};
const setter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value;
  },
};

export const tracer = () => trace.getTracer('etcd-snapshot-driver');

/** The context of the record's trace (the CSI call's), or the active one when it has none. */
export function recordContext(record: EtcdSnapshot): Context {
  const traceparent = record.metadata?.annotations?.[ANNOTATION_TRACEPARENT];
  if (!traceparent) return context.active();
  return propagator.extract(context.active(), { traceparent }, getter);
}

/** The W3C traceparent of a span, for a Job's TRACEPARENT. */
export function traceparentOf(span: Span, parent: Context): string | undefined {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(parent, span), carrier, setter);
  return carrier.traceparent;
}

/** Runs fn in a span named `etcd-snapshot.<phase>` under the record's trace; errors mark the span. */
export async function inPhaseSpan<T>(
  record: EtcdSnapshot,
  phase: string,
  fn: (span: Span, parent: Context) => Promise<T>,
): Promise<T> {
  const parent = recordContext(record);
  const span = tracer().startSpan(
    `etcd-snapshot.${phase}`,
    {
      attributes: {
        'etcd_snapshot.id': record.metadata?.name ?? '',
        'etcd_snapshot.cluster': record.spec.cluster.key,
        'etcd_snapshot.phase': phase,
      },
    },
    parent,
  );
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span, parent));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * A phase in its span, as inPhaseSpan: a `fail` result marks the span as an error (its reason
 * as the exception's name, its message as the status), as a thrown error does.
 */
export async function inStepSpan<R extends StepResult>(
  record: EtcdSnapshot,
  phase: string,
  fn: (span: Span, parent: Context) => Promise<R>,
): Promise<R> {
  return inPhaseSpan(record, phase, async (span, parent) => {
    const result = await fn(span, parent);
    if (result.kind === 'fail') {
      span.recordException({ name: result.reason, message: result.message });
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
    }
    return result;
  });
}

/**
 * A phase that outlives one reconcile — AwaitJob runs from the Job's creation (`startedAt`) over
 * many polls to its judged end — recorded once, when it ends, as one span under the record's
 * trace. `failure` marks it failed (the reason stays in the span, never a credential).
 */
export function recordEndedPhase(
  record: EtcdSnapshot,
  phase: string,
  startedAt: string | undefined,
  attributes: Record<string, string>,
  failure?: string,
): void {
  const start = Date.parse(startedAt ?? '');
  const span = tracer().startSpan(
    `etcd-snapshot.${phase}`,
    {
      ...(Number.isFinite(start) ? { startTime: start } : {}),
      attributes: {
        'etcd_snapshot.id': record.metadata?.name ?? '',
        'etcd_snapshot.cluster': record.spec.cluster.key,
        'etcd_snapshot.phase': phase,
        ...attributes,
      },
    },
    recordContext(record),
  );
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}
