// The agent's spans: children of TRACEPARENT, phases nested under the operation, errors marked;
// none at all without TRACEPARENT.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAgentTracing } from '../../../src/agent/tracing.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
const init = async () => ({ shutdown: async () => {} });

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(() => {
  trace.disable();
});
beforeEach(() => exporter.reset());

describe('startAgentTracing', () => {
  it('makes the operation a child of TRACEPARENT and the phases children of the operation', async () => {
    const tracing = await startAgentTracing({ TRACEPARENT: `00-${TRACE_ID}-${PARENT_ID}-01` }, { init });
    await tracing.span('agent.save', { 'etcd.snapshot.id': 's1' }, async () => {
      await tracing.span('stream', {}, async () => undefined);
      await tracing.span('fsync', {}, async () => undefined);
    });
    await expect(
      tracing.span('agent.verify', {}, () => Promise.reject(new Error('checksum'))),
    ).rejects.toThrow('checksum');
    await tracing.shutdown();
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    const save = byName.get('agent.save');
    expect(save?.spanContext().traceId).toBe(TRACE_ID);
    expect(save?.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(save?.attributes['etcd.snapshot.id']).toBe('s1');
    for (const phase of ['stream', 'fsync']) {
      expect(byName.get(phase)?.parentSpanContext?.spanId).toBe(save?.spanContext().spanId);
    }
    expect(byName.get('agent.verify')?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'checksum' });
  });

  it('makes no spans without TRACEPARENT', async () => {
    const tracing = await startAgentTracing({}, { init });
    expect(await tracing.span('agent.save', {}, async () => 42)).toBe(42);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('still traces (and never fails the operation) when the SDK set-up throws', async () => {
    const tracing = await startAgentTracing(
      { TRACEPARENT: `00-${TRACE_ID}-${PARENT_ID}-01` },
      {
        init: async () => {
          throw new Error('no exporter');
        },
      },
    );
    expect(await tracing.span('agent.delete', {}, async () => 'ok')).toBe('ok');
  });
});
