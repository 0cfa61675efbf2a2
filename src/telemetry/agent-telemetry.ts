// Tracing of the Job-side agent. The pipeline puts the snapshot's trace context and the exporter
// settings into the Job's environment (jobTracingEnv); the agent calls initAgentTelemetry at
// start, runs its work inside `parentContext`, and awaits `shutdown()` before exiting, so its
// spans (stream, hash, fsync, check) are exported and join the snapshot's trace.
//
// Environment (OpenTelemetry's names where one exists):
//   TRACEPARENT, TRACESTATE          the parent span (W3C); without it the agent does not trace
//   OTEL_TRACES_EXPORTER             otlp (default) | jaeger | none
//   OTEL_EXPORTER_OTLP_ENDPOINT      read by the OTLP exporter itself (and _TRACES_ENDPOINT)
//   OTEL_EXPORTER_JAEGER_ENDPOINT    read by the Jaeger exporter itself (or _AGENT_HOST/_PORT)
//   OTEL_TRACES_SAMPLER_ARG          ratio for traces the agent roots itself (it never does in
//                                    a Job: the parent's sampled flag decides)
//   OTEL_SERVICE_NAME                default etcd-snapshot-agent
import { type Context, ROOT_CONTEXT } from '@opentelemetry/api';
import { contextFromTraceparent, type TraceHeaders } from './trace-context.ts';
import {
  parseSampleRatio,
  parseTraceExporter,
  startTracing,
  type TraceExporterKind,
  type Tracing,
} from './tracing.ts';

export const AGENT_SERVICE_NAME = 'etcd-snapshot-agent';

export interface AgentTelemetry {
  /** The context to run the agent's work in: the snapshot's span as a remote parent. */
  readonly parentContext: Context;
  readonly tracing: Tracing;
  /** Exports every ended span; call before the process exits. */
  shutdown(): Promise<void>;
}

export async function initAgentTelemetry(
  env: Readonly<Record<string, string | undefined>>,
  serviceVersion?: string,
): Promise<AgentTelemetry> {
  const traceparent = env.TRACEPARENT;
  const exporter: TraceExporterKind = env.OTEL_TRACES_EXPORTER
    ? parseTraceExporter(env.OTEL_TRACES_EXPORTER)
    : 'otlp';
  if (!traceparent || exporter === 'none') {
    return {
      parentContext: ROOT_CONTEXT,
      tracing: await startTracing({ exporter: 'none' }),
      shutdown: async () => {},
    };
  }
  const tracing = await startTracing({
    exporter,
    serviceName: env.OTEL_SERVICE_NAME || AGENT_SERVICE_NAME,
    ...(serviceVersion ? { serviceVersion } : {}),
    ...(env.OTEL_TRACES_SAMPLER_ARG
      ? { sampleRatio: parseSampleRatio(env.OTEL_TRACES_SAMPLER_ARG, 'OTEL_TRACES_SAMPLER_ARG') }
      : {}),
    // A Job lives for one operation: export as spans end, nothing waits in a batch at exit.
    exportImmediately: true,
  });
  return {
    parentContext: contextFromTraceparent(traceparent, env.TRACESTATE),
    tracing,
    shutdown: () => tracing.shutdown(),
  };
}

export interface JobTracingSettings {
  exporter: TraceExporterKind;
  /** As the driver's --trace-endpoint: the OTLP base URL or the Jaeger collector URL. */
  endpoint?: string;
}

/** The env entries a snapshot Job needs so its agent continues `trace` (see initAgentTelemetry). */
export function jobTracingEnv(
  trace: TraceHeaders | undefined,
  settings: JobTracingSettings,
): { name: string; value: string }[] {
  if (trace === undefined || settings.exporter === 'none') return [];
  const env = [
    { name: 'TRACEPARENT', value: trace.traceparent },
    { name: 'OTEL_TRACES_EXPORTER', value: settings.exporter },
  ];
  if (trace.tracestate) env.push({ name: 'TRACESTATE', value: trace.tracestate });
  if (settings.endpoint) {
    env.push({
      name: settings.exporter === 'jaeger' ? 'OTEL_EXPORTER_JAEGER_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT',
      value: settings.endpoint,
    });
  }
  return env;
}
