// One trace per snapshot, read back from a real Jaeger, and the seed's metric series scraped from
// /metrics while a snapshot runs. The driver is composed as main.ts composes it (loadConfig from
// flags → startTracing → runDriver) in this process, over the local cluster; the agent Jobs run
// the driver image through the process kubelet and export their own spans to the same Jaeger,
// told where by the Job's env (TRACEPARENT + OTEL_*). Jaeger listens on the cluster's host IP,
// which every pod reaches (one network namespace, all of 127/8 on lo).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningDriver, runDriver } from '../../../src/app/run-driver.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { ANNOTATION_TRACEPARENT, type EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { startTracing, type TraceExporterKind, type Tracing } from '../../../src/telemetry/tracing.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type Jaeger, type JaegerTrace, startJaeger } from '../../harness/jaeger.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type DriverEnv, installCrds } from '../../integration/csi/driver-env.ts';
import {
  AGENT_IMAGE,
  createVolume,
  EXECUTOR_SA,
  groupSnapshotUntilDone,
  pipelineLogger,
  putKeys,
  recordsOfGroup,
  restrictNamespace,
} from '../pipeline/env.ts';

const NS = 'etcd';
const RPC_SPAN = 'csi.v1.GroupController/CreateVolumeGroupSnapshot';
/** docs/pipeline.md's phases of a save, as the pipeline names its spans. */
const PHASE_SPANS = [
  'Discover',
  'ResolveCredentials',
  'CheckHealth',
  'PrepareStorage',
  'RunJob',
  'AwaitJob',
  'Verify',
].map((p) => `etcd-snapshot.${p}`);
/** The agent's operation span and its steps (src/agent/save.ts). */
const AGENT_SPANS = ['agent.save', 'health', 'stream', 'check', 'fsync', 'rename'];

const log = pipelineLogger();
let cluster: LocalCluster;
let main: EtcdFixture;
let jaeger: Jaeger;
let volume = '';

/** The driver as main.ts runs it, with its tracing; stop() flushes the spans. */
interface TracedDriver {
  driver: RunningDriver;
  tracing: Tracing;
  client: CsiClient;
  /** What env.ts's helpers read of a DriverEnv: the CSI client and the Kubernetes client. */
  env: DriverEnv;
  stop(): Promise<void>;
}

async function startTracedDriver(exporter: TraceExporterKind, endpoint: string, ratio: number) {
  const dir = mkdtempSync(join(tmpdir(), 'esd-trace-e2e-'));
  const config = loadConfig(
    [
      `--csi-endpoint=unix://${join(dir, 'csi.sock')}`,
      `--kubeconfig=${cluster.kubeconfigPath}`,
      `--etcd-namespace=${NS}`,
      '--storage-class=local-path',
      `--agent-image=${AGENT_IMAGE}`,
      `--executor-service-account=${EXECUTOR_SA}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--job-active-deadline=120',
      `--trace-exporter=${exporter}`,
      `--trace-endpoint=${endpoint}`,
      `--trace-sample-ratio=${ratio}`,
    ],
    {},
  );
  // main.ts's order: tracing first, so every span of the driver goes to its SDK.
  const tracing = await startTracing({
    exporter: config.traceExporter,
    endpoint,
    sampleRatio: config.traceSampleRatio,
  });
  const driver = await runDriver(config, log);
  const client = createCsiClient(config.csiEndpoint);
  const env = { client, kubeClient: driver.parts.client } as unknown as DriverEnv;
  return {
    driver,
    tracing,
    client,
    env,
    async stop() {
      client.close();
      await driver.stop(15_000);
      await tracing.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  } satisfies TracedDriver;
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'telemetry' });
  [jaeger, main] = await Promise.all([
    startJaeger(cluster.hostIP),
    installCrds(cluster).then(() => deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 })),
  ]);
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  await putKeys(main, { '/app/a': '1', '/app/b': '2' });
});

afterAll(async () => {
  await jaeger?.stop();
  await cluster?.stop();
});

/** Takes a group snapshot of `main` and returns its one record once Ready. */
async function snapshotReady(d: TracedDriver, name: string): Promise<EtcdSnapshot> {
  if (!volume) volume = await createVolume(d.env, 'main-data', 'main', NS);
  const started = performance.now();
  const { group, error } = await groupSnapshotUntilDone(d.env, name, [volume], 120_000);
  expect(error).toBeUndefined();
  console.log(`${name}: Create → ready ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const [record] = await recordsOfGroup(d.env, group!.group_snapshot_id);
  expect(record?.status?.phase).toBe('Ready');
  return record!;
}

function traceIdOf(record: EtcdSnapshot): string {
  const traceparent = record.metadata?.annotations?.[ANNOTATION_TRACEPARENT] ?? '';
  const m = /^00-([0-9a-f]{32})-[0-9a-f]{16}-0[01]$/.exec(traceparent);
  if (!m) throw new Error(`record ${record.metadata?.name} has no traceparent annotation: "${traceparent}"`);
  return m[1]!;
}

/** Every span's parent is in the trace (the RPC span is the one root); returns name → span. */
function checkTree(t: JaegerTrace) {
  const byId = new Map(t.spans.map((s) => [s.spanID, s]));
  const parentName = (name: string) => {
    const span = t.spans.find((s) => s.operationName === name);
    if (!span) throw new Error(`span ${name} is not in trace ${t.traceID}`);
    const ref = span.references.find((r) => r.refType === 'CHILD_OF');
    return ref ? (byId.get(ref.spanID)?.operationName ?? `<missing ${ref.spanID}>`) : '<root>';
  };
  const roots = t.spans.filter((s) => !s.references.some((r) => r.refType === 'CHILD_OF'));
  expect(roots.map((s) => s.operationName)).toEqual([RPC_SPAN]);
  for (const s of t.spans) {
    for (const r of s.references) expect(byId.has(r.spanID), `${s.operationName}'s parent`).toBe(true);
  }
  return parentName;
}

async function expectWholeTrace(record: EtcdSnapshot, exporter: string) {
  const traceId = traceIdOf(record);
  const expected = [RPC_SPAN, ...PHASE_SPANS, ...AGENT_SPANS];
  const started = performance.now();
  // Wait for every expected name: the agent's spans come from another process, a little later.
  const t = await waitFor(
    `trace ${traceId} (${exporter}) with ${expected.join(', ')}`,
    async () => {
      const got = await jaeger.getTrace(traceId);
      const names = new Set(got?.spans.map((s) => s.operationName));
      return got && expected.every((n) => names.has(n)) ? got : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  ).catch(async (err: Error) => {
    const got = await jaeger.getTrace(traceId);
    throw new Error(`${err.message}\nhas: ${got?.spans.map((s) => s.operationName).join(', ')}`);
  });
  console.log(
    `${exporter}: ${t.spans.length} spans in Jaeger ${((performance.now() - started) / 1000).toFixed(1)} s after Ready`,
  );
  const parentName = checkTree(t);
  for (const phase of PHASE_SPANS) expect(parentName(phase), phase).toBe(RPC_SPAN);
  // The Job's TRACEPARENT is the RunJob span; the agent's steps nest under its operation.
  expect(parentName('agent.save')).toBe('etcd-snapshot.RunJob');
  for (const step of AGENT_SPANS.slice(1)) expect(parentName(step), step).toBe('agent.save');
  // Two services, one trace: the driver's and the agent's spans, from different processes.
  const services = new Set(t.spans.map((s) => t.processes[s.processID]?.serviceName));
  expect([...services].sort()).toEqual(['etcd-snapshot-agent', 'etcd-snapshot-driver']);
  return t;
}

/** Prometheus text exposition → samples (name, labels, value). */
function parseExposition(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return {
    text,
    /** The samples of `name` whose labels include `match`. */
    get: (name: string, match: Record<string, string> = {}) =>
      samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)),
    declared: (name: string) => text.includes(`# TYPE ${name} `),
  };
}

async function scrape(d: TracedDriver) {
  const res = await fetch(`http://${d.driver.http!.address}/metrics`);
  expect(res.status).toBe(200);
  return parseExposition(await res.text());
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/telemetry/trace.test.ts',
    'runs the driver in this process and a Jaeger on the host IP of the cluster, for its pods',
  ),
)('telemetry on the local cluster', () => {
  it('OTLP: one trace from the RPC through every phase into the Job; /metrics during and after the snapshot', async () => {
    const d = await startTracedDriver('otlp', jaeger.otlpHttpEndpoint, 1);
    try {
      if (!volume) volume = await createVolume(d.env, 'main-data', 'main', NS);
      // Scrape while the save Job runs: CheckHealth has reported the cluster, the record is pending.
      const flow = snapshotReady(d, 'traced-otlp');
      const during = await waitFor(
        'a scrape while the save runs',
        async () => {
          const m = await scrape(d);
          const pending = m.get('etcd_snapshots_total', { cluster: `${NS}/main`, status: 'pending' });
          const checked = m.get('etcd_cluster_has_quorum', { cluster: `${NS}/main` });
          return pending[0]?.value === 1 && checked.length > 0 ? m : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 200 },
      );
      const record = await flow;
      const after = await scrape(d);
      const cluster = { cluster: `${NS}/main` };
      expect(during.get('etcd_cluster_members', { ...cluster, state: 'up' })[0]?.value).toBe(3);
      expect(during.get('etcd_cluster_has_quorum', cluster)[0]?.value).toBe(1);
      expect(during.get('csi_rpc_active_calls')).not.toEqual([]);

      expect(
        after.get('etcd_snapshot_operations_total', { ...cluster, operation: 'save', status: 'success' })[0]
          ?.value,
      ).toBeGreaterThanOrEqual(1);
      const durationCount = after.get('etcd_snapshot_operation_duration_seconds_count', {
        operation: 'save',
      });
      expect(durationCount[0]?.value).toBeGreaterThanOrEqual(1);
      const durationSum = after.get('etcd_snapshot_operation_duration_seconds_sum', { operation: 'save' });
      // Seconds, not milliseconds: a save on this cluster takes ~1–60 s.
      expect(durationSum[0]?.value).toBeGreaterThan(0);
      expect(durationSum[0]?.value).toBeLessThan(120);
      const size = after.get('etcd_snapshot_size_bytes', cluster)[0]?.value ?? 0;
      expect(size).toBe(record.status?.sizeBytes);
      expect(size).toBeGreaterThan(0);
      expect(after.get('etcd_snapshots_total', { ...cluster, status: 'ready' })[0]?.value).toBe(1);
      expect(
        after.get('csi_rpc_calls_total', { method: 'CreateVolumeGroupSnapshot', status: 'success' })[0]
          ?.value,
      ).toBeGreaterThanOrEqual(1);
      expect(
        after.get('csi_rpc_latency_seconds_count', { method: 'CreateVolumeGroupSnapshot' })[0]?.value,
      ).toBeGreaterThanOrEqual(1);
      // No call in flight now: the gauge is back to 0 for the method.
      expect(after.get('csi_rpc_active_calls', { method: 'CreateVolumeGroupSnapshot' })[0]?.value).toBe(0);
      expect(after.get('etcd_cluster_members', { ...cluster, state: 'up' })[0]?.value).toBe(3);
      expect(after.get('etcd_cluster_has_quorum', cluster)[0]?.value).toBe(1);
      for (const family of [
        'etcd_snapshot_job_timeout_total',
        'etcd_snapshot_storage_errors_total',
        'etcd_snapshot_pvc_usage_bytes',
        'etcd_snapshot_pvc_available_bytes',
      ]) {
        expect(after.declared(family), family).toBe(true);
      }
      // The snapshot claim's filesystem, as the agent measured it after the save.
      const claim = { namespace: NS, pvc_name: record.spec.storage.claimName };
      expect(after.get('etcd_snapshot_pvc_usage_bytes', claim)[0]?.value).toBeGreaterThan(0);
      expect(after.get('etcd_snapshot_pvc_available_bytes', claim)[0]?.value).toBeGreaterThan(0);
      // Nothing timed out or failed in storage.
      expect(after.get('etcd_snapshot_job_timeout_total').every((s) => s.value === 0)).toBe(true);
      expect(after.get('etcd_snapshot_storage_errors_total').every((s) => s.value === 0)).toBe(true);

      await d.tracing.forceFlush();
      await expectWholeTrace(record, 'otlp');
    } finally {
      await d.stop();
    }
  });

  it('Jaeger exporter (thrift over HTTP): the same whole trace', async () => {
    const d = await startTracedDriver('jaeger', jaeger.thriftHttpEndpoint, 1);
    try {
      const record = await snapshotReady(d, 'traced-jaeger');
      await d.tracing.forceFlush();
      await expectWholeTrace(record, 'jaeger');
    } finally {
      await d.stop();
    }
  });
  it('sample ratio 0: a successful snapshot leaves no trace; a failed one (missing credentials) is kept, RPC span included', async () => {
    const d = await startTracedDriver('otlp', jaeger.otlpHttpEndpoint, 0);
    try {
      const ok = await snapshotReady(d, 'unsampled-ok');
      expect(ok.metadata?.annotations?.[ANNOTATION_TRACEPARENT]).toMatch(/-00$/);
      await d.tracing.forceFlush();

      // The cluster's pods now name a credentials Secret that does not exist.
      for (const pod of await main.pods()) {
        await cluster.kubectl([
          'annotate',
          'pod',
          '--overwrite',
          '-n',
          NS,
          pod.metadata!.name!,
          'etcd.io/credentials-secret=no-such-secret',
        ]);
      }
      await waitFor(
        'the pod cache to see the annotation',
        () =>
          d.driver.parts.informers.pods.store
            .list()
            .some((p) => p.metadata?.annotations?.['etcd.io/credentials-secret'] === 'no-such-secret')
            ? true
            : undefined,
        { timeoutMs: 30_000 },
      );
      const { error } = await groupSnapshotUntilDone(d.env, 'unsampled-failed', [volume], 90_000);
      expect(error?.details).toMatch(/^AUTH_[A-Z_]+:/);
      const [failed] = (
        await d.env.kubeClient.request<{ items: EtcdSnapshot[] }>(
          'GET',
          `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
        )
      ).items.filter((r) => r.spec.requestName === 'unsampled-failed');
      await d.tracing.forceFlush();
      const traceId = traceIdOf(failed!);
      const t = await waitFor(
        `failed trace ${traceId} in jaeger`,
        async () => {
          const got = await jaeger.getTrace(traceId);
          const names = new Set(got?.spans.map((s) => s.operationName));
          return got && names.has(RPC_SPAN) && names.has('etcd-snapshot.ResolveCredentials')
            ? got
            : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500 },
      );
      const parentName = checkTree(t);
      expect(parentName('etcd-snapshot.ResolveCredentials')).toBe(RPC_SPAN);
      const resolve = t.spans.find((s) => s.operationName === 'etcd-snapshot.ResolveCredentials')!;
      expect(resolve.tags).toContainEqual(expect.objectContaining({ key: 'error', value: true }));
      // Nothing got past the failed phase.
      expect(t.spans.map((s) => s.operationName)).not.toContain('etcd-snapshot.RunJob');

      // By now the successful snapshot's spans (driver's and agent's) would have arrived: none did.
      expect(await jaeger.getTrace(traceIdOf(ok))).toBeUndefined();
    } finally {
      await d.stop();
    }
  });
});
