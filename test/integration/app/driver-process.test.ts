// The driver as a process, wired by main.ts, against a real apiserver: it syncs its informers,
// serves CSI on its socket (Probe ready), takes its bucket Leases, and on SIGTERM stops serving,
// hands every bucket back (empty holder) and deletes its member Lease before exiting 0.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDriver } from '../../../src/app/run-driver.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createCsiClient } from '../../../src/csi/csi-client.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { podOfIdentity } from '../../../src/leader/identity.ts';
import type { LeaseObject } from '../../../src/leader/lease-api.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { installCrds } from '../csi/driver-env.ts';
import { type FollowedDriver, followDriver, until } from './driver-child.ts';

const NS = 'etcd-snapshot-driver';
let cluster: LocalCluster;
let client: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'driver-process-'));
  cluster = await startLocalCluster({ name: 'driver-process', kubelet: false });
  await installCrds(cluster);
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function startDriverProcess(identity: string, socket: string): FollowedDriver {
  const child = spawn(
    join(PROJECT_ROOT, 'bin/etcd-snapshot-driver'),
    [
      `--kubeconfig=${cluster.kubeconfigPath}`,
      `--csi-endpoint=unix://${socket}`,
      '--metrics-bind-address=127.0.0.1:0',
      '--trace-exporter=none',
      '--leader-elect',
      `--leader-election-namespace=${NS}`,
      '--leader-election-buckets=3',
      '--leader-election-lease-duration=4s',
      '--leader-election-renew-deadline=2500ms',
      '--leader-election-retry-period=1s',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAME: identity } },
  );
  return followDriver(child);
}

async function leases(): Promise<LeaseObject[]> {
  const list = await client.request<{ items: LeaseObject[] }>(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
  );
  return list.items;
}

describe('etcd-snapshot-driver process', () => {
  it('serves CSI with ready caches, holds every bucket alone, and hands them back on SIGTERM', async () => {
    const socket = join(dir, 'a.sock');
    const driver = startDriverProcess('replica-a', socket);
    await until('started', () => driver.lines.some((l) => l.message === 'etcd-snapshot-driver started'));
    const csi = createCsiClient(`unix://${socket}`);
    try {
      await until('Probe ready', async () => (await csi.Identity.Probe!()).ready?.value === true);
      const info = await csi.Identity.GetPluginInfo!();
      expect(info.name).toBe('etcd-snapshot-driver');
    } finally {
      csi.close();
    }
    // The HTTP side: probes and metrics, with the controller-runtime and CSI families.
    const running = driver.lines.find((l) => l.message === 'driver running');
    const base = `http://${String(running?.metrics_address)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await until('ready', async () => {
      const res = await fetch(`${base}/ready`);
      return res.status === 200 ? res : undefined;
    });
    expect(await ready.text()).toContain('grpc_serving');
    const exposition = await (await fetch(`${base}/metrics`)).text();
    for (const family of [
      'csi_rpc_calls_total{',
      'leader_election_master_status{',
      '# TYPE workqueue_depth gauge',
      '# TYPE controller_runtime_reconcile_total counter',
      'process_resident_memory_bytes',
    ]) {
      expect(exposition).toContain(family);
    }

    const held = await until('all 3 buckets held', async () => {
      const buckets = (await leases()).filter((l) => l.metadata.name.includes('-bucket-'));
      return buckets.length === 3 &&
        buckets.every((l) => podOfIdentity(l.spec?.holderIdentity ?? '') === 'replica-a')
        ? buckets
        : undefined;
    });
    expect(held.map((l) => l.metadata.name).sort()).toEqual([
      'etcd-snapshot-driver-bucket-0-of-3',
      'etcd-snapshot-driver-bucket-1-of-3',
      'etcd-snapshot-driver-bucket-2-of-3',
    ]);

    driver.child.kill('SIGTERM');
    expect(await driver.exited).toBe(0);
    expect(driver.lines.map((l) => l.message)).toContain('stopped');
    const after = await leases();
    expect(after.filter((l) => l.metadata.name.includes('-member-'))).toEqual([]);
    for (const lease of after) expect(lease.spec?.holderIdentity ?? '').toBe('');
  });

  it('leaves its buckets to expire when a reconcile did not end by the deadline (no handover over running work)', async () => {
    const config = loadConfig(
      [
        `--kubeconfig=${cluster.kubeconfigPath}`,
        `--csi-endpoint=unix://${join(dir, 'c.sock')}`,
        '--metrics-bind-address=0',
        '--trace-exporter=none',
        '--leader-elect',
        `--leader-election-namespace=${NS}`,
        '--leader-election-buckets=2',
        '--leader-election-lease-duration=4s',
        '--leader-election-renew-deadline=2500ms',
        '--leader-election-retry-period=1s',
      ],
      {},
    );
    const log = createLogger({ level: 'error', format: 'json' });
    const stuck = { start() {}, stop: async () => ({ drained: false }) };
    const driver = await runDriver(config, log, { controllers: () => [stuck], identity: 'stuck_00000000' });
    const bucketLeases = () =>
      leases().then((all) =>
        all.filter(
          (l) =>
            l.metadata.name.startsWith('etcd-snapshot-driver-bucket-') && l.metadata.name.endsWith('-of-2'),
        ),
      );
    await until('both buckets held', async () => {
      const held = await bucketLeases();
      return held.length === 2 && held.every((l) => l.spec?.holderIdentity === 'stuck_00000000')
        ? true
        : undefined;
    });
    await driver.stop(10_000);
    // Not released: the holder stays until the Leases expire, and the next owner waits for that.
    for (const lease of await bucketLeases()) expect(lease.spec?.holderIdentity).toBe('stuck_00000000');
  });

  it('refuses --leader-elect without a Lease namespace, saying which flag or variable to set', async () => {
    const child = spawn(
      join(PROJECT_ROOT, 'bin/etcd-snapshot-driver'),
      [
        `--kubeconfig=${cluster.kubeconfigPath}`,
        `--csi-endpoint=unix://${join(dir, 'b.sock')}`,
        '--metrics-bind-address=0',
        '--leader-elect',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAMESPACE: '' } },
    );
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('--leader-election-namespace or POD_NAMESPACE');
  });
});
