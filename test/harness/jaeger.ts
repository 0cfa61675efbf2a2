// A real Jaeger v2 (the tools cache's `jaeger`, hack/tools/jaeger) for the tracing tests: one
// all-in-one process with in-memory storage, receiving OTLP (HTTP :4318, gRPC :4317) and Jaeger
// thrift over HTTP (:14268, what @opentelemetry/exporter-jaeger sends to a collector), serving
// the query API on :16686 — all on one loopback address, so parallel test files each give it
// their own cluster slot's address (test/harness/cluster-slot.ts) and never share a port.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManagedProcess, startProcess, waitFor } from './process.ts';
import { ensureTools, tool } from './tools.ts';

export interface Jaeger {
  readonly host: string;
  /** OTLP/HTTP base URL, for --trace-endpoint / OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly otlpHttpEndpoint: string;
  /** Jaeger thrift-over-HTTP collector URL, for --trace-exporter=jaeger --trace-endpoint. */
  readonly thriftHttpEndpoint: string;
  /** The query UI and API. */
  readonly queryUrl: string;
  readonly logFile: string;
  /** The spans of a trace as Jaeger stores them; undefined while it does not know the trace. */
  getTrace(traceId: string): Promise<JaegerTrace | undefined>;
  /** Polls until the trace holds at least `minSpans` spans (export and storage are async). */
  waitForTrace(traceId: string, minSpans: number, timeoutMs?: number): Promise<JaegerTrace>;
  stop(): Promise<void>;
}

/** The query API's (v1 JSON, /api/traces/<id>) shape, the fields the tests read. */
export interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: 'CHILD_OF' | 'FOLLOWS_FROM'; traceID: string; spanID: string }[];
  startTime: number;
  duration: number;
  tags: { key: string; type: string; value: unknown }[];
  processID: string;
}

export interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
}

export const JAEGER_PORTS = {
  otlpGrpc: 4317,
  otlpHttp: 4318,
  thriftHttp: 14268,
  query: 16686,
  queryGrpc: 16685,
  health: 13133,
};

function config(host: string): string {
  const p = JAEGER_PORTS;
  // The shape of Jaeger's own cmd/jaeger/internal/all-in-one.yaml, reduced to what the tests
  // use: no remote sampling, zipkin, expvar or zpages, no metrics endpoint of its own.
  return `service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp, jaeger]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: info
extensions:
  jaeger_query:
    storage:
      traces: memory_store
    http:
      endpoint: ${host}:${p.query}
    grpc:
      endpoint: ${host}:${p.queryGrpc}
  jaeger_storage:
    backends:
      memory_store:
        memory:
          max_traces: 10000
  healthcheckv2:
    use_v2: true
    http:
      endpoint: ${host}:${p.health}
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: ${host}:${p.otlpGrpc}
      http:
        endpoint: ${host}:${p.otlpHttp}
  jaeger:
    protocols:
      thrift_http:
        endpoint: ${host}:${p.thriftHttp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memory_store
`;
}

/** Starts Jaeger on `host` (a loopback address of the caller's cluster slot) and waits until it serves queries. */
export async function startJaeger(host: string): Promise<Jaeger> {
  await ensureTools(['jaeger']);
  const dir = mkdtempSync(join(tmpdir(), 'esd-jaeger-'));
  const configFile = join(dir, 'jaeger.yaml');
  const logFile = join(dir, 'jaeger.log');
  writeFileSync(configFile, config(host));
  const proc: ManagedProcess = startProcess('jaeger', tool('jaeger'), ['--config', configFile], { logFile });
  const queryUrl = `http://${host}:${JAEGER_PORTS.query}`;
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  try {
    await waitFor(
      'jaeger to serve its query API',
      async () => ((await fetch(`${queryUrl}/api/services`)).ok ? true : undefined),
      { timeoutMs: 60_000, abortIf: () => (proc.hasExited ? `jaeger exited:\n${readLog()}` : undefined) },
    );
    // The receivers start with the pipeline; the query API may answer before they listen.
    await waitFor('jaeger to accept OTLP', async () => {
      const res = await fetch(`http://${host}:${JAEGER_PORTS.otlpHttp}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"resourceSpans":[]}',
      });
      return res.status < 500 ? true : undefined;
    });
  } catch (err) {
    await proc.stop();
    throw err;
  }

  async function getTrace(traceId: string): Promise<JaegerTrace | undefined> {
    const res = await fetch(`${queryUrl}/api/traces/${traceId}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`jaeger /api/traces/${traceId}: HTTP ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data?: JaegerTrace[] };
    return body.data?.[0];
  }

  return {
    host,
    otlpHttpEndpoint: `http://${host}:${JAEGER_PORTS.otlpHttp}`,
    thriftHttpEndpoint: `http://${host}:${JAEGER_PORTS.thriftHttp}/api/traces`,
    queryUrl,
    logFile,
    getTrace,
    waitForTrace: (traceId, minSpans, timeoutMs = 30_000) =>
      waitFor(
        `trace ${traceId} with ${minSpans} spans in jaeger`,
        async () => {
          const t = await getTrace(traceId);
          return t !== undefined && t.spans.length >= minSpans ? t : undefined;
        },
        { timeoutMs, intervalMs: 300 },
      ),
    async stop() {
      await proc.stop();
      if (!process.env.KEEP_LOCAL_CLUSTER) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** parent span name → child span names, from the references Jaeger stored (CHILD_OF). */
export function spanTree(t: JaegerTrace): Map<string, string[]> {
  const names = new Map(t.spans.map((s) => [s.spanID, s.operationName]));
  const tree = new Map<string, string[]>();
  for (const s of t.spans) {
    const parent = s.references.find((r) => r.refType === 'CHILD_OF');
    const key = parent ? (names.get(parent.spanID) ?? `<missing ${parent.spanID}>`) : '<root>';
    tree.set(key, [...(tree.get(key) ?? []), s.operationName].sort());
  }
  return tree;
}
