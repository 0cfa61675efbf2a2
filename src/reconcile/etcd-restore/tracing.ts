// One trace per restore: the traceparent annotation of the request that created it (the CSI
// door), else a root derived from the restore's uid, so every replica and every reconcile after
// a crash joins the same trace. Each phase is one span, recorded when the phase ends (from
// status.phaseStartedAt), and the agent Jobs get the trace as TRACEPARENT.
import { createHash } from 'node:crypto';
import { type Context, context, SpanStatusCode, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { ANNOTATION_TRACEPARENT, type EtcdRestore } from '../../records/etcd-restore.ts';

const propagator = new W3CTraceContextPropagator();
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

/** The restore's traceparent: its annotation, else `00-<uid as trace id>-<hash of uid>-01`. */
export function restoreTraceparent(restore: EtcdRestore): string | undefined {
  const annotated = restore.metadata?.annotations?.[ANNOTATION_TRACEPARENT];
  if (annotated) return annotated;
  const uid = (restore.metadata?.uid ?? '').replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(uid) || /^0+$/.test(uid)) return undefined;
  const spanId = createHash('sha256').update(uid).digest('hex').slice(0, 16);
  return `00-${uid}-${spanId}-01`;
}

export function restoreContext(restore: EtcdRestore): Context {
  const traceparent = restoreTraceparent(restore);
  if (!traceparent) return context.active();
  return propagator.extract(context.active(), { traceparent }, getter);
}

/** The span of a phase that ended now (it began at `startedAt`); `failure` marks it failed. */
export function recordPhaseSpan(
  restore: EtcdRestore,
  phase: string,
  startedAt: string | undefined,
  failure?: string,
): void {
  const start = Date.parse(startedAt ?? '');
  const span = trace.getTracer('etcd-snapshot-driver').startSpan(
    `etcd-restore.${phase}`,
    {
      ...(Number.isFinite(start) ? { startTime: start } : {}),
      attributes: {
        'etcd_restore.name': restore.metadata?.name ?? '',
        'etcd_restore.cluster': `${restore.metadata?.namespace}/${restore.spec.target.cluster}`,
        'etcd_restore.phase': phase,
      },
    },
    restoreContext(restore),
  );
  if (failure !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
  span.end();
}
