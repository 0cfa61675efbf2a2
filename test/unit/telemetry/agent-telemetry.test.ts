import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { initAgentTelemetry, jobTracingEnv } from '../../../src/telemetry/agent-telemetry.ts';

describe('agent telemetry', () => {
  it('does not trace without a TRACEPARENT or with the none exporter', async () => {
    for (const env of [
      {},
      {
        TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        OTEL_TRACES_EXPORTER: 'none',
      },
    ]) {
      const t = await initAgentTelemetry(env);
      expect(t.tracing.enabled).toBe(false);
      expect(trace.getSpanContext(t.parentContext)).toBeUndefined();
      await t.shutdown();
    }
  });

  it('continues the TRACEPARENT it is given', async () => {
    const t = await initAgentTelemetry({
      TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      OTEL_TRACES_EXPORTER: 'otlp',
      // Nothing listens there; nothing is exported either (no span is started).
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
    });
    try {
      expect(t.tracing.enabled).toBe(true);
      const span = trace.getTracer('t').startSpan('stream', {}, t.parentContext);
      expect(span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
      expect(span.isRecording()).toBe(true);
    } finally {
      await t.shutdown();
    }
  });

  it('rejects a bad exporter name naming the value', async () => {
    await expect(initAgentTelemetry({ TRACEPARENT: 'x', OTEL_TRACES_EXPORTER: 'zipkin' })).rejects.toThrow(
      /"zipkin"/,
    );
  });

  it('builds the Job env from the record trace context and the driver settings', () => {
    const tp = {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'esd=1',
    };
    expect(jobTracingEnv(tp, { exporter: 'jaeger', endpoint: 'http://jaeger:14268/api/traces' })).toEqual([
      { name: 'TRACEPARENT', value: tp.traceparent },
      { name: 'OTEL_TRACES_EXPORTER', value: 'jaeger' },
      { name: 'TRACESTATE', value: 'esd=1' },
      { name: 'OTEL_EXPORTER_JAEGER_ENDPOINT', value: 'http://jaeger:14268/api/traces' },
    ]);
    expect(jobTracingEnv(tp, { exporter: 'none' })).toEqual([]);
    expect(jobTracingEnv(undefined, { exporter: 'otlp' })).toEqual([]);
  });
});
