// The etcd health families fire: a 3-member etcd fixture and the driver composed as main.ts
// composes it; a snapshot while healthy, then 2 members stopped (the StatefulSet scaled to 1) and
// another snapshot, whose health check finds no quorum. The driver's real /metrics must then read
// has_quorum 0, members up 1 / down 2, and the scraped series, as promtool input, must make the
// real ETCDClusterUnhealthy rule fire. The etcd request families are fed along the way.
// The degraded case loses quorum in an etcd cluster of its own (`degraded`): `main` stays
// healthy, so either case runs alone or first.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { type RunningDriver, runDriver } from '../../../src/app/run-driver.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { ensureTools, PROJECT_ROOT, type ToolComponent, tool } from '../../harness/tools.ts';
import { type DriverEnv, installCrds } from '../../integration/csi/driver-env.ts';
import {
  AGENT_IMAGE,
  createVolume,
  EXECUTOR_SA,
  groupSnapshotUntilDone,
  pipelineLogger,
  restrictNamespace,
} from '../pipeline/env.ts';
import { type Sample, type Scrape, scrapeMetrics } from './scrape.ts';

const run = promisify(execFile);
const NS = 'etcd';
const DEGRADED = 'degraded';
const log = pipelineLogger();
let cluster: LocalCluster;
let main: EtcdFixture;
/** Only the degraded case touches it: it loses quorum there, and `main` stays healthy. */
let degraded: EtcdFixture;
let driver: RunningDriver;
let client: CsiClient;
let env: DriverEnv;
let dir: string;
let volume: string;
/** The driver's metric labels of an etcd cluster in NS. */
const labelsOf = (etcdName: string) => ({ cluster: `${NS}/${etcdName}` });
const CLUSTER = labelsOf('main');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'esd-etcd-health-'));
  cluster = await startLocalCluster({ name: 'etcd-health' });
  await Promise.all([
    // 'prometheus' is the build.sh component of promtool (hack/tools/prometheus).
    ensureTools(['prometheus' as ToolComponent]),
    installCrds(cluster).then(async () => {
      // Before the namespace is restricted (the fixture's pods do not pass `restricted`), and one
      // after the other (the fixture's ensureNamespace is not safe to run concurrently).
      main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
      degraded = await deployEtcdFixture(cluster, { name: DEGRADED, namespace: NS, replicas: 3 });
      await Promise.all([main.waitHealthy(120_000), degraded.waitHealthy(120_000)]);
    }),
  ]);
  await restrictNamespace(cluster, NS);
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
      '--trace-exporter=none',
    ],
    {},
  );
  driver = await runDriver(config, log);
  client = createCsiClient(config.csiEndpoint);
  env = { client, kubeClient: driver.parts.client } as unknown as DriverEnv;
  volume = await createVolume(env, 'main-data', 'main', NS);
});

afterAll(async () => {
  client?.close();
  await driver?.stop(15_000);
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const scrape = () => scrapeMetrics(driver.http!.address);
const value = (m: Scrape, name: string, labels: Record<string, string> = {}, etcdName = 'main') =>
  m.get(name, { ...labelsOf(etcdName), ...labels })[0]?.value;

/** The three health series of an etcd cluster in one scrape. */
function healthSeries(m: Scrape, etcdName: string): Sample[] {
  const cluster = labelsOf(etcdName);
  return [
    ...m.get('etcd_cluster_has_quorum', cluster),
    ...m.get('etcd_cluster_members', { ...cluster, state: 'up' }),
    ...m.get('etcd_cluster_members', { ...cluster, state: 'down' }),
  ];
}

function ruleGroups(): unknown {
  const docs = parseAllDocuments(
    readFileSync(join(PROJECT_ROOT, 'deploy/monitoring/prometheus-rule.yaml'), 'utf8'),
  );
  return docs.map((d) => d.toJS()).find((o) => o?.kind === 'PrometheusRule').spec;
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/telemetry/etcd-health.test.ts',
    'runs the driver in-process on the host and runs promtool on its scrape',
  ),
)('etcd health metrics on the local cluster', () => {
  it('healthy: a snapshot becomes ready; quorum 1, 3 members up, 0 down; the etcd requests are timed', async () => {
    const { error } = await groupSnapshotUntilDone(env, 'while-healthy', [volume], 120_000);
    expect(error).toBeUndefined();
    const healthy = await scrape();
    expect(value(healthy, 'etcd_cluster_has_quorum')).toBe(1);
    expect(value(healthy, 'etcd_cluster_members', { state: 'up' })).toBe(3);
    expect(value(healthy, 'etcd_cluster_members', { state: 'down' })).toBe(0);
    for (const operation of ['status', 'member_list']) {
      expect(
        healthy.get('etcd_operation_latency_seconds_count', { operation })[0]?.value,
        operation,
      ).toBeGreaterThan(0);
    }
    // A healthy cluster without credentials: nothing failed.
    expect(healthy.get('etcd_operation_errors_total', CLUSTER).every((s) => s.value === 0)).toBe(true);
  });

  it('2 of 3 members down: /metrics reads quorum 0, 1 up, 2 down; promtool fires ETCDClusterUnhealthy on those series', async () => {
    // Its own cluster, scraped while healthy for the first minute of the promtool input.
    const degradedVolume = await createVolume(env, `${DEGRADED}-data`, DEGRADED, NS);
    const whileHealthy = await groupSnapshotUntilDone(
      env,
      'degraded-while-healthy',
      [degradedVolume],
      120_000,
    );
    expect(whileHealthy.error).toBeUndefined();
    const healthy = await scrape();
    expect(value(healthy, 'etcd_cluster_has_quorum', {}, DEGRADED)).toBe(1);

    await cluster.kubectl(['scale', 'statefulset', DEGRADED, '-n', NS, '--replicas=1']);
    // The members are stopped when their pods are gone; the driver's cache must see that too.
    await waitFor(
      'members 1 and 2 to be gone (API and the driver cache)',
      async () => {
        const inCache = driver.parts.informers.pods.store
          .list()
          .filter(
            (p) => p.metadata?.namespace === NS && p.metadata?.labels?.['etcd.io/cluster'] === DEGRADED,
          );
        return (await degraded.pods()).length === 1 && inCache.length === 1 ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );

    const started = performance.now();
    const flow = groupSnapshotUntilDone(env, 'after-loss', [degradedVolume], 120_000);
    const lost = await waitFor(
      'the scrape to read quorum 0, 1 up, 2 down',
      async () => {
        const m = await scrape();
        return value(m, 'etcd_cluster_has_quorum', {}, DEGRADED) === 0 &&
          value(m, 'etcd_cluster_members', { state: 'up' }, DEGRADED) === 1 &&
          value(m, 'etcd_cluster_members', { state: 'down' }, DEGRADED) === 2
          ? m
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    console.log(`Create → /metrics reads no quorum: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const { error } = await flow;
    expect(error?.details).toMatch(/ETCD_QUORUM_LOST/);
    // The stopped members' Status requests failed and were counted for this cluster.
    expect(value(lost, 'etcd_operation_errors_total', { operation: 'status' }, DEGRADED)).toBeGreaterThan(0);

    // promtool on the real series: one minute of the healthy scrape, then the scrape without quorum.
    const before = new Map(healthSeries(healthy, DEGRADED).map((s) => [s.series, s.value]));
    const inputSeries = healthSeries(lost, DEGRADED).map((s) => ({
      series: s.series,
      values: `${before.get(s.series) ?? s.value} ${s.value}x6`,
    }));
    expect(inputSeries.map((s) => s.series).sort()).toEqual(
      [
        `etcd_cluster_has_quorum{cluster="${NS}/${DEGRADED}"}`,
        `etcd_cluster_members{cluster="${NS}/${DEGRADED}",state="down"}`,
        `etcd_cluster_members{cluster="${NS}/${DEGRADED}",state="up"}`,
      ].sort(),
    );
    writeFileSync(join(dir, 'rules.yaml'), stringify(ruleGroups()));
    const fired = {
      exp_labels: { severity: 'critical', cluster: `${NS}/${DEGRADED}` },
      exp_annotations: {
        summary: `ETCD cluster ${NS}/${DEGRADED} lost quorum`,
        description: `The driver's health check found no quorum in ${NS}/${DEGRADED} for 2 minutes; snapshots of it are refused until it recovers.`,
      },
    };
    const unitTest = {
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: inputSeries,
          alert_rule_test: [
            // Quorum gone at 1m: pending for its `for: 2m`, firing from 3m on.
            { eval_time: '2m', alertname: 'ETCDClusterUnhealthy', exp_alerts: [] },
            { eval_time: '4m', alertname: 'ETCDClusterUnhealthy', exp_alerts: [fired] },
          ],
        },
      ],
    };
    writeFileSync(join(dir, 'scraped.promtool.yaml'), stringify(unitTest));
    const out = await run(tool('promtool'), ['test', 'rules', 'scraped.promtool.yaml'], { cwd: dir }).catch(
      (err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`promtool test rules failed:\n${err.stdout ?? ''}${err.stderr ?? err.message}`);
      },
    );
    expect(out.stdout + out.stderr).toMatch(/SUCCESS/);
    // Two snapshots and the loss take longer than one case's default.
  }, 420_000);
});
