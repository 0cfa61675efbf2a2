// Spans of the agent. The Job gets the snapshot's trace context as env TRACEPARENT (and
// TRACESTATE); with it, the operation's span (`agent.save`, …) and its phases (`stream`, `check`,
// `fsync`, `rename`) become children of the pipeline's span. The SDK is set up by
// src/telemetry/agent-telemetry.ts (exporter from OTEL_* env) and shut down — spans flushed —
// before the process exits. Without TRACEPARENT the agent makes no spans at all.
//
// Parents are passed explicitly through an AsyncLocalStorage of our own rather than the global
// context manager, so phases nest under the operation even when no SDK registered one.
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type Attributes,
  type Context,
  defaultTextMapGetter,
  INVALID_SPAN_CONTEXT,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { initAgentTelemetry } from '../telemetry/agent-telemetry.ts';

export const AGENT_TRACER_NAME = 'etcd-snapshot-driver-agent';

export interface AgentTracing {
  /** Runs `fn` in a span named `name`, a child of the enclosing span (or of TRACEPARENT). */
  span<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T>;
  /** Flushes the spans; call before exit. */
  shutdown(): Promise<void>;
}

export interface AgentTracingOptions {
  /** Sets up the SDK; src/telemetry's initAgentTelemetry unless replaced (tests). */
  init?: (env: NodeJS.ProcessEnv) => Promise<{ shutdown(): Promise<void> }>;
}

export async function startAgentTracing(
  env: NodeJS.ProcessEnv,
  options: AgentTracingOptions = {},
): Promise<AgentTracing> {
  const noop = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const traceparent = env.TRACEPARENT;
  if (!traceparent) {
    return { span: (_name, _attributes, fn) => fn(noop), shutdown: async () => {} };
  }
  let shutdown: () => Promise<void> = async () => {};
  try {
    const telemetry = await (options.init ?? initAgentTelemetry)(env);
    shutdown = () => telemetry.shutdown();
  } catch (err) {
    // Tracing must never fail a backup: go on with whatever provider is registered (maybe none).
    process.stderr.write(`etcd-snapshot-driver agent: tracing not started: ${(err as Error).message}\n`);
  }
  const parent: Context = new W3CTraceContextPropagator().extract(
    ROOT_CONTEXT,
    { traceparent, ...(env.TRACESTATE ? { tracestate: env.TRACESTATE } : {}) },
    defaultTextMapGetter,
  );
  const tracer: Tracer = trace.getTracer(AGENT_TRACER_NAME);
  const current = new AsyncLocalStorage<Context>();
  return {
    async span(name, attributes, fn) {
      const parentContext = current.getStore() ?? parent;
      const span = tracer.startSpan(name, { attributes }, parentContext);
      try {
        const value = await current.run(trace.setSpan(parentContext, span), () => fn(span));
        span.setStatus({ code: SpanStatusCode.OK });
        return value;
      } catch (err) {
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: err instanceof Error ? err.message : String(err),
        });
        throw err;
      } finally {
        span.end();
      }
    },
    async shutdown() {
      await shutdown().catch(() => undefined);
    },
  };
}
