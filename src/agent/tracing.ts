// Spans of the agent. The Job gets the snapshot's trace context as env TRACEPARENT (and
// TRACESTATE); with it, every phase becomes a child span of the pipeline's span. The OpenTelemetry
// SDK is not set up here: src/telemetry owns that. If src/telemetry/tracing.ts exports
// `initAgentTelemetry`, it is called (and its shutdown awaited before exit); without an SDK the
// API is a no-op. Without TRACEPARENT the agent makes no spans at all.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type Attributes,
  type Context,
  context,
  defaultTextMapGetter,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

export interface AgentTracing {
  /** Runs `fn` in a span named `name`, a child of the current span (or of TRACEPARENT). */
  span<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T>;
  shutdown(): Promise<void>;
}

type Shutdown = () => Promise<void>;

// The hook's module is found relative to this file: `.ts` when run from source, `.js` in dist/.
// A computed specifier keeps the build from requiring the module to exist.
async function callTelemetryHook(env: NodeJS.ProcessEnv): Promise<Shutdown | undefined> {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  const url = new URL(`../telemetry/tracing${ext}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return undefined;
  const mod = (await import(url.href)) as { initAgentTelemetry?: (o: object) => unknown };
  if (typeof mod.initAgentTelemetry !== 'function') return undefined;
  const handle = await mod.initAgentTelemetry({ serviceName: 'etcd-snapshot-driver-agent', env });
  if (typeof handle === 'function') return handle as Shutdown;
  const shutdown = (handle as { shutdown?: unknown } | undefined)?.shutdown;
  return typeof shutdown === 'function' ? () => (shutdown as Shutdown).call(handle) : undefined;
}

export async function startAgentTracing(env: NodeJS.ProcessEnv): Promise<AgentTracing> {
  const traceparent = env.TRACEPARENT;
  let tracer: Tracer | undefined;
  let parent: Context = ROOT_CONTEXT;
  let shutdown: Shutdown | undefined;
  if (traceparent) {
    try {
      shutdown = await callTelemetryHook(env);
    } catch (err) {
      process.stderr.write(`agent: telemetry hook failed, no spans: ${(err as Error).message}\n`);
    }
    tracer = trace.getTracer('etcd-snapshot-driver-agent');
    parent = new W3CTraceContextPropagator().extract(
      ROOT_CONTEXT,
      { traceparent, ...(env.TRACESTATE ? { tracestate: env.TRACESTATE } : {}) },
      defaultTextMapGetter,
    );
  }
  const noop = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  return {
    async span(name, attributes, fn) {
      if (!tracer) return fn(noop);
      const active = trace.getSpan(context.active()) ? context.active() : parent;
      return tracer.startActiveSpan(name, { attributes }, active, async (span) => {
        try {
          const value = await fn(span);
          span.setStatus({ code: SpanStatusCode.OK });
          return value;
        } catch (err) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message ?? String(err) });
          throw err;
        } finally {
          span.end();
        }
      });
    },
    async shutdown() {
      await shutdown?.().catch(() => undefined);
    },
  };
}
