// What tracing costs on the driver's hot paths, measured in one run:
//   baseline  the work with no tracing code at all
//   disabled  the same work instrumented (spans, attributes, traceparent, log mixin path) with
//             --trace-exporter=none: no SDK, the API's no-op tracer   goal ≤ 1.02× baseline
//   enabled   the SDK running (ratio 0.05, tail sampling, batch export to a no-op exporter)
// Two paths: reconcile-like (a root span, four phase spans, a traceparent read from a record,
// ~20 µs of JSON and hashing) and RPC-like (the CSI call hooks around ~5 µs of work).
// Baseline and disabled rounds alternate so drift of a loaded machine hits both alike; the
// median of the rounds is reported.
//
//   node bench/tracing-overhead.ts [--rounds 15] [--iterations 20000]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { context, type Tracer, trace } from '@opentelemetry/api';
import type { ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { Registry } from 'prom-client';
import { CsiCallTelemetry } from '../src/telemetry/csi-call-hooks.ts';
import { contextFromTraceparent, traceparentOf } from '../src/telemetry/trace-context.ts';
import { startTracing, TRACER_NAME } from '../src/telemetry/tracing.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, iterations: { type: 'string', default: '20000' } },
});
const ROUNDS = Number(values.rounds);
const ITERATIONS = Number(values.iterations);

const record = {
  metadata: {
    name: 'snap-7f3a',
    namespace: 'db',
    annotations: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
  },
  spec: { cluster: 'db/etcd-a', members: ['etcd-0', 'etcd-1', 'etcd-2'], snapshotIds: ['s1', 's2', 's3'] },
  status: { phase: 'RunJob', conditions: [{ type: 'Ready', status: 'False', reason: 'JobRunning' }] },
};
let sink = 0;

function work(weight: number): void {
  for (let i = 0; i < weight; i++) {
    const text = JSON.stringify(record);
    sink += createHash('sha256').update(text).digest()[0] ?? 0;
  }
}

function reconcilePlain(): void {
  for (let p = 0; p < 4; p++) work(1);
}

function reconcileTraced(tracer: Tracer): void {
  const parent = contextFromTraceparent(record.metadata.annotations.traceparent);
  tracer.startActiveSpan(
    'reconcile EtcdSnapshot',
    { attributes: { cluster: record.spec.cluster } },
    parent,
    (root) => {
      for (const phase of ['Discover', 'CheckHealth', 'RunJob', 'AwaitJob']) {
        const span = tracer.startSpan(phase);
        work(1);
        span.end();
      }
      if (traceparentOf() === 'never') sink++;
      root.end();
    },
  );
}

const metadata = { get: () => [] as unknown[] };
function rpc(hooks: CsiCallTelemetry): void {
  const observer = hooks.onCall({
    service: 'GroupController',
    method: 'CreateVolumeGroupSnapshot',
    metadata,
  });
  observer.run(() => work(1));
  observer.end({ code: 'OK', durationSeconds: 0.001 });
}

function time(fn: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return Number(process.hrtime.bigint() - start) / ITERATIONS; // ns per call
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

class NullExporter implements SpanExporter {
  exported = 0;
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.exported += spans.length;
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

type Path = { name: string; plain: () => void; traced: () => void };

function measure(paths: Path[]): Map<string, { plain: number; traced: number }> {
  const samples = new Map(paths.map((p) => [p.name, { plain: [] as number[], traced: [] as number[] }]));
  for (const p of paths) {
    time(p.plain);
    time(p.traced);
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const p of paths) {
      const s = samples.get(p.name)!;
      if (r % 2 === 0) {
        s.plain.push(time(p.plain));
        s.traced.push(time(p.traced));
      } else {
        s.traced.push(time(p.traced));
        s.plain.push(time(p.plain));
      }
    }
  }
  return new Map([...samples].map(([k, v]) => [k, { plain: median(v.plain), traced: median(v.traced) }]));
}

const tracer = trace.getTracer(TRACER_NAME);
// Metrics are on in every variant (they are not tracing): the RPC baseline is the hooks built
// without a tracer, which run no tracing code at all.
const untraced = new CsiCallTelemetry(new Registry(), undefined);
const hooks = new CsiCallTelemetry(new Registry(), tracer);
const paths: Path[] = [
  { name: 'reconcile', plain: reconcilePlain, traced: () => reconcileTraced(tracer) },
  { name: 'rpc', plain: () => rpc(untraced), traced: () => rpc(hooks) },
];

const disabled = measure(paths);
const exporter = new NullExporter();
const tracing = await startTracing({ exporter: 'otlp', spanExporter: exporter, sampleRatio: 0.05 });
const enabled = measure(paths);
await tracing.shutdown();
if (context.active() === undefined) sink++;

const fmt = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
console.log(`tracing overhead (${ROUNDS} rounds × ${ITERATIONS} calls, medians)`);
for (const p of paths) {
  const d = disabled.get(p.name)!;
  const e = enabled.get(p.name)!;
  console.log(
    `  ${p.name.padEnd(10)} baseline ${fmt(d.plain)}   disabled ${fmt(d.traced)} (${(d.traced / d.plain).toFixed(3)}×)   enabled ${fmt(e.traced)} (${(e.traced / e.plain).toFixed(3)}×)`,
  );
}
console.log(
  `  spans exported while enabled: ${exporter.exported}; tail stats: ${JSON.stringify(tracing.stats())}`,
);
if (sink === -1) console.log('');
