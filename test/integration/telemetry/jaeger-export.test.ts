// The tracing module's exporters against the real Jaeger v2: a span tree (RPC → reconcile phases
// across a traceparent hop → a failing agent step) exported through OTLP and through the Jaeger
// thrift exporter, read back through Jaeger's query API with every parent link intact.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contextFromTraceparent, traceparentOf } from '../../../src/telemetry/trace-context.ts';
import { startTracing, TRACER_NAME, type TraceExporterKind } from '../../../src/telemetry/tracing.ts';
import { type ClusterSlot, claimSlot } from '../../harness/cluster-slot.ts';
import { type Jaeger, spanTree, startJaeger } from '../../harness/jaeger.ts';

let slot: ClusterSlot;
let jaeger: Jaeger;

beforeAll(async () => {
  slot = claimSlot();
  jaeger = await startJaeger(slot.hostIP);
});
afterAll(async () => {
  await jaeger?.stop();
  slot?.release();
});

/** Emits the tree the snapshot pipeline will: returns its trace ID. */
function emitSnapshotTrace(): string {
  const tracer = trace.getTracer(TRACER_NAME);
  let carried: string | undefined;
  let traceId = '';
  tracer.startActiveSpan('csi.v1.GroupController/CreateVolumeGroupSnapshot', (rpc) => {
    traceId = rpc.spanContext().traceId;
    carried = traceparentOf();
    rpc.end();
  });
  // A reconcile continues from the record's traceparent annotation.
  tracer.startActiveSpan('reconcile EtcdSnapshot', {}, contextFromTraceparent(carried), (reconcile) => {
    for (const phase of ['Discover', 'CheckHealth', 'ResolveCredentials', 'PrepareStorage', 'RunJob']) {
      tracer.startSpan(phase).end();
    }
    tracer.startActiveSpan('AwaitJob', (await_) => {
      // The agent's spans continue from the Job's TRACEPARENT.
      const jobParent = contextFromTraceparent(traceparentOf());
      tracer.startActiveSpan('agent save', {}, jobParent, (agent) => {
        tracer.startSpan('stream').end();
        tracer.startSpan('hash').end();
        tracer.startSpan('fsync').end();
        const check = tracer.startSpan('check');
        check.setStatus({ code: SpanStatusCode.ERROR, message: 'etcd hash mismatch' });
        check.end();
        agent.setStatus({ code: SpanStatusCode.ERROR, message: 'etcd hash mismatch' });
        agent.end();
      });
      await_.setStatus({ code: SpanStatusCode.ERROR, message: 'job failed' });
      await_.end();
    });
    reconcile.end();
  });
  return traceId;
}

describe.each([
  ['otlp', () => jaeger.otlpHttpEndpoint],
  ['jaeger', () => jaeger.thriftHttpEndpoint],
] as [TraceExporterKind, () => string][])(
  'tracing through the %s exporter into Jaeger',
  (exporter, endpoint) => {
    it('stores the whole tree with parent links, the error kept at ratio 0', async () => {
      // Ratio 0: only the tail decision (an error) keeps this trace.
      const tracing = await startTracing({
        exporter,
        endpoint: endpoint(),
        sampleRatio: 0,
        serviceVersion: 'test',
      });
      let traceId: string;
      try {
        traceId = emitSnapshotTrace();
      } finally {
        await tracing.shutdown();
      }
      const stored = await jaeger.waitForTrace(traceId, 13);
      expect(stored.spans).toHaveLength(13);
      const tree = spanTree(stored);
      expect(Object.fromEntries(tree)).toEqual({
        '<root>': ['csi.v1.GroupController/CreateVolumeGroupSnapshot'],
        'csi.v1.GroupController/CreateVolumeGroupSnapshot': ['reconcile EtcdSnapshot'],
        'reconcile EtcdSnapshot': [
          'AwaitJob',
          'CheckHealth',
          'Discover',
          'PrepareStorage',
          'ResolveCredentials',
          'RunJob',
        ],
        AwaitJob: ['agent save'],
        'agent save': ['check', 'fsync', 'hash', 'stream'],
      });
      const services = new Set(Object.values(stored.processes).map((p) => p.serviceName));
      expect(services).toEqual(new Set(['etcd-snapshot-driver']));
      const check = stored.spans.find((s) => s.operationName === 'check');
      expect(check?.tags).toEqual(
        expect.arrayContaining([expect.objectContaining({ key: 'error', value: true })]),
      );
    });
  },
);
