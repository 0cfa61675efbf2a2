// OpenTelemetry tracing of the driver (and, through initAgentTelemetry, of the Job-side agent).
//
// `--trace-exporter=none` loads no SDK at all: the @opentelemetry/api calls the rest of the code
// makes then hit the API's no-op tracer, which costs nothing measurable (bench/tracing-overhead.ts).
// Otherwise the NodeSDK runs with the W3C trace-context propagator, an AsyncLocalStorage context
// manager, the SnapshotSampler and the TailSamplingSpanProcessor in front of a batch exporter
// (tail-sampling.ts explains the sampling). Exporters are imported only when chosen, so the
// deprecated Jaeger exporter and its thrift client are never loaded by an OTLP deployment.
import { type Attributes, context, propagation, trace } from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import {
  SnapshotSampler,
  type TailSamplingOptions,
  TailSamplingSpanProcessor,
  type TailSamplingStats,
} from './tail-sampling.ts';
import { setPropagationActive } from './trace-context.ts';

export const TRACE_EXPORTERS = ['otlp', 'jaeger', 'none'] as const;
export type TraceExporterKind = (typeof TRACE_EXPORTERS)[number];

export const SERVICE_NAME = 'etcd-snapshot-driver';
/** The name every tracer of the project is obtained with: trace.getTracer(TRACER_NAME). */
export const TRACER_NAME = 'etcd-snapshot-driver';
/** The seed's default: 5 % of the traces that neither fail nor run slow. */
export const DEFAULT_SAMPLE_RATIO = 0.05;

export interface TracingOptions {
  exporter: TraceExporterKind;
  /**
   * otlp: the OTLP/HTTP base URL (http://collector:4318; /v1/traces is appended unless present);
   * unset: the exporter reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT.
   * jaeger: the collector's thrift-over-HTTP URL (http://jaeger:14268/api/traces); unset: the
   * exporter reads OTEL_EXPORTER_JAEGER_ENDPOINT, else sends UDP to the agent
   * (OTEL_EXPORTER_JAEGER_AGENT_HOST / _PORT).
   */
  endpoint?: string;
  /** Share of root traces kept up front, 0…1 (default 0.05); errors and slow ones always. */
  sampleRatio?: number;
  serviceName?: string;
  serviceVersion?: string;
  resourceAttributes?: Attributes;
  tailSampling?: TailSamplingOptions;
  /** Export each span as it ends instead of in batches (tests, short-lived agents). */
  exportImmediately?: boolean;
  /** An exporter to use instead of the configured one (tests: InMemorySpanExporter). */
  spanExporter?: SpanExporter;
}

export interface Tracing {
  readonly enabled: boolean;
  readonly exporter: TraceExporterKind;
  /** Exports what has ended so far. */
  forceFlush(): Promise<void>;
  /** Flushes and stops; the global API falls back to no-ops, so tracing can start again. */
  shutdown(): Promise<void>;
  stats(): TailSamplingStats | undefined;
}

const disabled: Tracing = {
  enabled: false,
  exporter: 'none',
  forceFlush: async () => {},
  shutdown: async () => {},
  stats: () => undefined,
};

export function parseTraceExporter(value: string): TraceExporterKind {
  if ((TRACE_EXPORTERS as readonly string[]).includes(value)) return value as TraceExporterKind;
  throw new Error(`trace exporter "${value}" is not one of ${TRACE_EXPORTERS.join(', ')}`);
}

export function parseSampleRatio(value: string, field = 'trace sample ratio'): number {
  const ratio = Number(value);
  if (value.trim() === '' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new Error(`${field} must be a number within 0…1, got "${value}"`);
  }
  return ratio;
}

export async function startTracing(options: TracingOptions): Promise<Tracing> {
  if (options.exporter === 'none' && options.spanExporter === undefined) return disabled;
  const sampleRatio = options.sampleRatio ?? DEFAULT_SAMPLE_RATIO;
  const sampler = new SnapshotSampler(sampleRatio);
  const [{ NodeSDK }, sdkTrace, resources, { W3CTraceContextPropagator }] = await Promise.all([
    import('@opentelemetry/sdk-node'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  const exporter = options.spanExporter ?? (await createExporter(options));
  const exporting: SpanProcessor = options.exportImmediately
    ? new sdkTrace.SimpleSpanProcessor({ exporter })
    : new sdkTrace.BatchSpanProcessor({ exporter });
  const tail = new TailSamplingSpanProcessor(exporting, options.tailSampling);
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes({
      'service.name': options.serviceName ?? SERVICE_NAME,
      ...(options.serviceVersion ? { 'service.version': options.serviceVersion } : {}),
      ...options.resourceAttributes,
    }),
  );
  const sdk = new NodeSDK({
    resource,
    // OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME still apply (the env detector), nothing else
    // is probed: host and process detectors add attributes nobody asked for.
    resourceDetectors: [resources.envDetector],
    sampler,
    spanProcessors: [tail],
    textMapPropagator: new W3CTraceContextPropagator(),
    // Traces only: no metric readers or log processors from OTEL_* defaults (Prometheus is the
    // metrics path, pino the log path).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
  });
  sdk.start();
  setPropagationActive(true);
  let stopped = false;
  return {
    enabled: true,
    exporter: options.exporter,
    forceFlush: () => tail.forceFlush(),
    stats: () => tail.stats(),
    async shutdown() {
      if (stopped) return;
      stopped = true;
      try {
        await sdk.shutdown();
      } finally {
        setPropagationActive(false);
        trace.disable();
        context.disable();
        propagation.disable();
      }
    },
  };
}

async function createExporter(options: TracingOptions): Promise<SpanExporter> {
  if (options.exporter === 'jaeger') {
    const { JaegerExporter } = await import('@opentelemetry/exporter-jaeger');
    // The Jaeger exporter is built against sdk-trace 2.x; its span shape is the same.
    return new JaegerExporter(
      options.endpoint ? { endpoint: options.endpoint } : {},
    ) as unknown as SpanExporter;
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter(options.endpoint ? { url: otlpTracesUrl(options.endpoint) } : {});
}

/** OTLP/HTTP: a base URL gets the traces path, as OTEL_EXPORTER_OTLP_ENDPOINT does. */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new Error(`trace endpoint "${endpoint}" is not an http(s) URL (expected http://host:4318)`);
  }
  if (url.pathname.endsWith('/v1/traces')) return url.toString();
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/v1/traces`;
  return url.toString();
}
