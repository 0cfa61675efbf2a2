import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { CsiCallTelemetry } from '../../../src/telemetry/csi-call-hooks.ts';
import { FORCE_KEEP_ATTRIBUTE } from '../../../src/telemetry/tail-sampling.ts';
import {
  contextFromTraceparent,
  isValidTraceparent,
  traceparentOf,
} from '../../../src/telemetry/trace-context.ts';
import {
  otlpTracesUrl,
  parseSampleRatio,
  parseTraceExporter,
  startTracing,
  TRACER_NAME,
  type Tracing,
} from '../../../src/telemetry/tracing.ts';

let tracing: Tracing | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

async function start(sampleRatio: number, tail = {}) {
  const exporter = new InMemorySpanExporter();
  tracing = await startTracing({
    exporter: 'otlp',
    spanExporter: exporter,
    sampleRatio,
    exportImmediately: true,
    tailSampling: tail,
  });
  return { exporter, tracer: trace.getTracer(TRACER_NAME) };
}

const names = (spans: ReadableSpan[]) => spans.map((s) => s.name).sort();

describe('tracing: export and parent links', () => {
  it('exports a span tree with parent links, across a traceparent hop', async () => {
    const { exporter, tracer } = await start(1);
    let carried: string | undefined;
    tracer.startActiveSpan('CreateVolumeGroupSnapshot', (rpc) => {
      carried = traceparentOf();
      rpc.end();
    });
    // Another replica (or a later reconcile) continues from the record's annotation.
    const parent = contextFromTraceparent(carried);
    tracer.startActiveSpan('RunJob', {}, parent, (phase) => {
      tracer.startSpan('CreateJob').end();
      phase.end();
    });
    await tracing?.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(names(spans)).toEqual(['CreateJob', 'CreateVolumeGroupSnapshot', 'RunJob']);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const rpc = byName.get('CreateVolumeGroupSnapshot')!;
    const runJob = byName.get('RunJob')!;
    expect(new Set(spans.map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(rpc.parentSpanContext).toBeUndefined();
    expect(runJob.parentSpanContext?.spanId).toBe(rpc.spanContext().spanId);
    expect(byName.get('CreateJob')!.parentSpanContext?.spanId).toBe(runJob.spanContext().spanId);
    expect(rpc.resource.attributes['service.name']).toBe('etcd-snapshot-driver');
  });

  it('traceparent helpers round-trip and tolerate garbage', async () => {
    await start(1);
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(traceparentOf(contextFromTraceparent(tp))).toBe(tp);
    expect(isValidTraceparent(tp)).toBe(true);
    expect(isValidTraceparent('nonsense')).toBe(false);
    expect(trace.getSpanContext(contextFromTraceparent('nonsense'))).toBeUndefined();
    expect(traceparentOf(contextFromTraceparent(undefined))).toBeUndefined();
  });

  it('without an SDK spans are no-ops and the helpers do nothing at all', () => {
    const tracer = trace.getTracer(TRACER_NAME);
    const span = tracer.startSpan('x');
    expect(span.isRecording()).toBe(false);
    expect(traceparentOf(trace.setSpan(context.active(), span))).toBeUndefined();
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // Nothing downstream traces either, so the context is not even parsed.
    expect(trace.getSpanContext(contextFromTraceparent(tp))).toBeUndefined();
    expect(isValidTraceparent(tp)).toBe(true);
  });

  it('without an SDK the CSI hooks start no span and hand back no traceparent', () => {
    const hooks = new CsiCallTelemetry(new Registry());
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const observer = hooks.onCall({ service: 'Identity', method: 'Probe', metadata: { get: () => [tp] } });
    expect(observer.traceparent).toBeUndefined();
    expect(observer.run(() => trace.getActiveSpan())).toBeUndefined();
    observer.end({ code: 'OK', durationSeconds: 0.001 });
  });
});

describe('tracing: sampling per seed §15', () => {
  it('ratio 0 drops successful fast traces, whole', async () => {
    const { exporter, tracer } = await start(0);
    for (let i = 0; i < 20; i++) {
      tracer.startActiveSpan('op', (root) => {
        tracer.startSpan('child').end();
        root.end();
      });
    }
    await tracing?.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(tracing?.stats()).toMatchObject({ droppedSegments: 20, keptSegments: 0, bufferedSpans: 0 });
  });

  it('keeps every span of a trace with an error, whatever the ratio', async () => {
    const { exporter, tracer } = await start(0);
    tracer.startActiveSpan('op', (root) => {
      tracer.startSpan('fine').end();
      const failing = tracer.startSpan('Verify');
      failing.recordException(new Error('hash mismatch'));
      failing.setStatus({ code: SpanStatusCode.ERROR, message: 'hash mismatch' });
      failing.end();
      root.end();
    });
    await tracing?.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(names(spans)).toEqual(['Verify', 'fine', 'op']);
    // Exported spans are flagged sampled (exporting processors would drop them otherwise).
    expect(spans.every((s) => (s.spanContext().traceFlags & 1) === 1)).toBe(true);
  });

  it('keeps an operation slower than the threshold', async () => {
    const { exporter, tracer } = await start(0, { slowThresholdSeconds: 100 });
    const t0 = Date.now();
    const slow = tracer.startSpan('save', { startTime: t0 - 101_000 });
    slow.end(t0);
    const fast = tracer.startSpan('save', { startTime: t0 - 99_000 });
    fast.end(t0);
    await tracing?.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]!.spanContext().traceId).toBe(slow.spanContext().traceId);
  });

  it('keeps a trace a caller marks with sampling.priority', async () => {
    const { exporter, tracer } = await start(0);
    tracer.startSpan('marked', { attributes: { [FORCE_KEEP_ATTRIBUTE]: 1 } }).end();
    await tracing?.forceFlush();
    expect(names(exporter.getFinishedSpans())).toEqual(['marked']);
  });

  it('is parent-based: a sampled remote parent keeps its children, an unsampled one drops them', async () => {
    const { exporter, tracer } = await start(0);
    const sampled = contextFromTraceparent('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    const unsampled = contextFromTraceparent('00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00');
    tracer.startSpan('from-sampled', {}, sampled).end();
    tracer.startSpan('from-unsampled', {}, unsampled).end();
    await tracing?.forceFlush();
    expect(names(exporter.getFinishedSpans())).toEqual(['from-sampled']);
  });

  it('samples roughly the configured ratio of root traces, consistently by trace ID', async () => {
    const { exporter, tracer } = await start(0.25);
    for (let i = 0; i < 2000; i++) tracer.startSpan('root').end();
    await tracing?.forceFlush();
    const share = exporter.getFinishedSpans().length / 2000;
    expect(share).toBeGreaterThan(0.18);
    expect(share).toBeLessThan(0.32);
  });

  it('rescues the earlier, dropped segment of a trace that fails later (RPC fine, reconcile fails)', async () => {
    const { exporter, tracer } = await start(0);
    let carried: string | undefined;
    tracer.startActiveSpan('CreateVolumeGroupSnapshot', (rpc) => {
      carried = traceparentOf();
      rpc.end();
    });
    await tracing?.forceFlush();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    const phase = tracer.startSpan('AwaitJob', {}, contextFromTraceparent(carried));
    phase.setStatus({ code: SpanStatusCode.ERROR, message: 'job failed' });
    phase.end();
    await tracing?.forceFlush();
    expect(names(exporter.getFinishedSpans())).toEqual(['AwaitJob', 'CreateVolumeGroupSnapshot']);
    expect(tracing?.stats()?.rescuedSegments).toBe(1);
  });

  it('bounds what waits for a decision', async () => {
    const { tracer } = await start(0, { maxBufferedSpans: 50, maxSpansPerTrace: 10, maxRescueSpans: 30 });
    const root = tracer.startSpan('never-ends');
    const ctx = trace.setSpan(context.active(), root);
    for (let i = 0; i < 100; i++) tracer.startSpan('child', {}, ctx).end();
    for (let i = 0; i < 100; i++) tracer.startSpan('other-root').end();
    const stats = tracing!.stats()!;
    expect(stats.bufferedSpans).toBeLessThanOrEqual(50);
    expect(stats.rescueSpans).toBeLessThanOrEqual(30);
    expect(stats.overflowSpans).toBeGreaterThan(0);
  });
});

describe('tracing: configuration', () => {
  it('none starts no SDK', async () => {
    tracing = await startTracing({ exporter: 'none' });
    expect(tracing.enabled).toBe(false);
    expect(trace.getTracer(TRACER_NAME).startSpan('x').isRecording()).toBe(false);
  });

  it('rejects bad values naming the field and value', () => {
    expect(() => parseTraceExporter('zipkin')).toThrow(
      /trace exporter "zipkin" is not one of otlp, jaeger, none/,
    );
    expect(() => parseSampleRatio('1.5')).toThrow(
      /trace sample ratio must be a number within 0…1, got "1.5"/,
    );
    expect(() => parseSampleRatio('')).toThrow(/got ""/);
    expect(parseSampleRatio('0.05')).toBe(0.05);
    expect(() => otlpTracesUrl('collector:4318')).toThrow(
      /trace endpoint "collector:4318" is not an http\(s\) URL/,
    );
    expect(otlpTracesUrl('http://collector:4318')).toBe('http://collector:4318/v1/traces');
    expect(otlpTracesUrl('http://c:4318/v1/traces')).toBe('http://c:4318/v1/traces');
  });
});

describe('CSI call hooks', () => {
  const metadata = (headers: Record<string, string>) => ({
    get: (k: string) => (headers[k] ? [headers[k]] : []),
  });

  it('a span per RPC whose traceparent the hook returns, errors recorded, csi_rpc_* counted', async () => {
    const { exporter } = await start(0);
    const registry = new Registry();
    const hooks = new CsiCallTelemetry(registry, trace.getTracer(TRACER_NAME));
    const ok = hooks.onCall({ service: 'Identity', method: 'Probe', metadata: metadata({}) });
    expect(await registry.getSingleMetricAsString('csi_rpc_active_calls')).toContain(
      'csi_rpc_active_calls{method="Probe"} 1',
    );
    ok.end({ code: 'OK', durationSeconds: 0.002 });
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00';
    const failed = hooks.onCall({
      service: 'GroupController',
      method: 'CreateVolumeGroupSnapshot',
      metadata: metadata({ traceparent: incoming }),
    });
    expect(failed.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    const inside = failed.run(() => traceparentOf());
    expect(inside).toBe(failed.traceparent);
    failed.end({ code: 'FAILED_PRECONDITION', reason: 'CLUSTER_NO_QUORUM', durationSeconds: 0.05 });
    failed.end({ code: 'OK', durationSeconds: 1 }); // a second end is ignored
    await tracing?.forceFlush();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['csi.v1.GroupController/CreateVolumeGroupSnapshot']);
    const span = spans[0]!;
    expect(span.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: 'CLUSTER_NO_QUORUM' });
    expect(span.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.grpc.status_code': 9,
      'csi.error_reason': 'CLUSTER_NO_QUORUM',
    });
    const text = await registry.metrics();
    expect(text).toContain('csi_rpc_calls_total{method="Probe",status="success",code="OK"} 1');
    expect(text).toContain(
      'csi_rpc_calls_total{method="CreateVolumeGroupSnapshot",status="error",code="FAILED_PRECONDITION"} 1',
    );
    expect(text).toContain('csi_rpc_latency_seconds_count{method="CreateVolumeGroupSnapshot"} 1');
    expect(text).toContain('csi_rpc_active_calls{method="CreateVolumeGroupSnapshot"} 0');
  });
});
