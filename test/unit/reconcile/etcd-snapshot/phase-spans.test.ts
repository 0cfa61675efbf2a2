// The pipeline's phase spans with a real tracing SDK (in-memory exporter): one trace from the
// record's traceparent through every phase of a save, AwaitJob spanning the Job's whole run.
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../../../src/telemetry/tracing.ts';
import { FakeWorld, healthy, makeReconciler, okSave } from './fakes.ts';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const RPC_SPAN = '00f067aa0ba902b7';

let tracing: Tracing | undefined;
afterEach(async () => {
  await tracing?.shutdown();
  tracing = undefined;
});

async function traced(): Promise<InMemorySpanExporter> {
  const exporter = new InMemorySpanExporter();
  tracing = await startTracing({
    exporter: 'otlp',
    spanExporter: exporter,
    sampleRatio: 1,
    exportImmediately: true,
  });
  return exporter;
}

function recordWithTrace(w: FakeWorld, name: string) {
  const r = w.addRecord(name);
  w.records.upsert({
    ...r,
    metadata: {
      ...r.metadata,
      annotations: { 'snapshot.etcd-snapshot-driver.io/traceparent': `00-${TRACE_ID}-${RPC_SPAN}-01` },
    },
  });
}

const byName = (spans: ReadableSpan[], name: string) => spans.find((s) => s.name === name);

describe('pipeline phase spans', () => {
  it('a save is one trace: every phase under the RPC span, AwaitJob from the Job’s start to its end', async () => {
    const exporter = await traced();
    const w = new FakeWorld();
    recordWithTrace(w, 'r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    await run('r1'); // still running: no AwaitJob span yet
    expect(byName(exporter.getFinishedSpans(), 'etcd-snapshot.AwaitJob')).toBeUndefined();
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await run('r1');
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name).sort()).toEqual(
      ['Discover', 'ResolveCredentials', 'CheckHealth', 'PrepareStorage', 'RunJob', 'AwaitJob', 'Verify']
        .map((p) => `etcd-snapshot.${p}`)
        .sort(),
    );
    for (const s of spans) {
      expect(s.spanContext().traceId).toBe(TRACE_ID);
      expect(s.parentSpanContext?.spanId).toBe(RPC_SPAN);
    }
    const awaitJob = byName(spans, 'etcd-snapshot.AwaitJob')!;
    const startedAt = Date.parse(w.record('r1').status!.startedAt!);
    const startMs = awaitJob.startTime[0] * 1000 + awaitJob.startTime[1] / 1e6;
    expect(startMs).toBe(startedAt);
    expect(awaitJob.attributes['k8s.job.name']).toBe('snapshot-save-r1');
    expect(awaitJob.status.code).not.toBe(SpanStatusCode.ERROR);
    // The Job's TRACEPARENT names the RunJob span: the agent's spans hang under it.
    const env = w.jobs.get('etcd/snapshot-save-r1')!.spec!.template.spec!.containers[0]!.env!;
    const runJob = byName(spans, 'etcd-snapshot.RunJob')!;
    expect(env[0]).toEqual({
      name: 'TRACEPARENT',
      value: `00-${TRACE_ID}-${runJob.spanContext().spanId}-01`,
    });
  });

  it('a failed Job ends AwaitJob as an error carrying the reason', async () => {
    const exporter = await traced();
    const w = new FakeWorld();
    recordWithTrace(w, 'r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.finishJob('snapshot-save-r1', { complete: false, reason: 'DeadlineExceeded' });
    await run('r1');
    const awaitJob = byName(exporter.getFinishedSpans(), 'etcd-snapshot.AwaitJob')!;
    expect(awaitJob.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'JOB_TIMEOUT' });
  });

  it('a phase that fails ends its span as an error: a save result without a checksum fails Verify', async () => {
    const exporter = await traced();
    const w = new FakeWorld();
    recordWithTrace(w, 'r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    const noChecksum = JSON.stringify({ ...JSON.parse(okSave('r1')), sha256: undefined });
    w.finishJob('snapshot-save-r1', { complete: true, message: noChecksum });
    await run('r1');
    expect(w.record('r1').status).toMatchObject({
      phase: 'Failed',
      step: 'Verify',
      reason: 'SNAPSHOT_STATUS_FAILED',
    });
    const verify = byName(exporter.getFinishedSpans(), 'etcd-snapshot.Verify')!;
    expect(verify.status.code).toBe(SpanStatusCode.ERROR);
    expect(verify.status.message).toMatch(/sha256/);
    expect(verify.events.map((e) => e.attributes?.['exception.type'])).toEqual(['SNAPSHOT_STATUS_FAILED']);
  });

  it('a save Job recreated after a crash still joins the trace (under the CSI call’s span)', async () => {
    await traced();
    const w = new FakeWorld();
    recordWithTrace(w, 'r1');
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    w.jobs.remove('etcd/snapshot-save-r1'); // as if createJob never happened
    await run('r1');
    const env = w.jobs.get('etcd/snapshot-save-r1')!.spec!.template.spec!.containers[0]!.env!;
    expect(env).toEqual([{ name: 'TRACEPARENT', value: `00-${TRACE_ID}-${RPC_SPAN}-01` }]);
  });
});
