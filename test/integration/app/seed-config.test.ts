// The seed's configuration surface on the real CLI against a real apiserver: the seed HA
// Deployment's arguments (--leader-elect-namespace, --v=4) with the seed's ConfigMap mounted as a
// file start the driver; its Leases land in the namespace the seed names. A file that restricts
// discovery and turns metrics off does both: /metrics answers 404 while the probes stay, and a
// cluster only a disabled method could find is not looked for there.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createCsiClient } from '../../../src/csi/csi-client.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { LeaseObject } from '../../../src/leader/lease-api.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { installCrds } from '../csi/driver-env.ts';
import { type FollowedDriver, followDriver, until } from './driver-child.ts';

const SEED_CONFIG = (
  parse(readFileSync(join(PROJECT_ROOT, 'test/fixtures/seed/driver-configmap.yaml'), 'utf8')) as {
    data: Record<string, string>;
  }
).data['config.yaml']!;

let cluster: LocalCluster;
let client: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'seed-config-'));
  cluster = await startLocalCluster({ name: 'seed-config', kubelet: false });
  await installCrds(cluster);
  client = new KubeClient(cluster.kubeConfig);
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The CLI as the seed's pod runs it: `args`, the ConfigMap's config.yaml at `configFile`. */
function startDriver(args: string[], configFile: string): FollowedDriver {
  const child = spawn(join(PROJECT_ROOT, 'bin/etcd-snapshot-driver'), args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      POD_NAME: 'seed-0',
      POD_NAMESPACE: 'etcd-snapshot-driver',
      // Where the pod would have the kubelet's in-cluster config, and no trace collector.
      KUBECONFIG: cluster.kubeconfigPath,
      TRACE_EXPORTER: 'none',
      CONFIG_FILE: configFile,
    },
  });
  return followDriver(child);
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function stop(driver: FollowedDriver): Promise<number | null> {
  driver.child.kill('SIGTERM');
  return driver.exited;
}

describe("the seed's configuration", () => {
  it("starts with the seed HA Deployment's args and its ConfigMap, electing in the seed's namespace", async () => {
    const socket = join(dir, 'seed.sock');
    const driver = startDriver(
      [
        `--csi-endpoint=unix://${socket}`,
        '--leader-elect',
        '--leader-elect-namespace=kube-system',
        '--v=4',
        // Not the seed's: the file's metrics.port 8080 would collide with parallel test files.
        '--metrics-bind-address=127.0.0.1:0',
      ],
      file('seed.yaml', SEED_CONFIG),
    );
    try {
      await until('started', () => driver.lines.some((l) => l.message === 'etcd-snapshot-driver started'));
      expect(driver.lines.find((l) => l.message === 'etcd-snapshot-driver starting')).toMatchObject({
        log_level: 'debug',
      });
      // The one replica takes its buckets one Lease at a time: wait for all it is configured with.
      const held = await until('the six bucket Leases in kube-system, each held', async () => {
        const list = await client.request<{ items: LeaseObject[] }>(
          'GET',
          '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases',
        );
        const buckets = list.items.filter((l) => l.metadata.name.startsWith('etcd-snapshot-driver-bucket-'));
        return buckets.length >= 6 && buckets.every((l) => l.spec?.holderIdentity) ? buckets : undefined;
      });
      expect(held.length).toBe(6);
      const running = driver.lines.find((l) => l.message === 'driver running');
      const metrics = await fetch(`http://${String(running?.metrics_address)}/metrics`);
      expect(metrics.status).toBe(200);
    } finally {
      expect(await stop(driver)).toBe(0);
    }
  });

  it('restricts discovery and leaves /metrics out as its file says', async () => {
    const socket = join(dir, 'restricted.sock');
    const config = SEED_CONFIG.replace(/- annotation\n\s*- statefulset\n/, '').replace(
      'enabled: true',
      'enabled: false',
    );
    expect(parse(config)).toMatchObject({ discovery: { methods: ['label'] }, metrics: { enabled: false } });
    const driver = startDriver(
      [`--csi-endpoint=unix://${socket}`, '--metrics-bind-address=127.0.0.1:0'],
      file('restricted.yaml', config),
    );
    const csi = createCsiClient(`unix://${socket}`);
    try {
      await until('started', () => driver.lines.some((l) => l.message === 'etcd-snapshot-driver started'));
      const running = driver.lines.find((l) => l.message === 'driver running');
      const base = `http://${String(running?.metrics_address)}`;
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      await until('ready', async () => (await fetch(`${base}/ready`)).status === 200);

      // With only `label`, StatefulSets are not looked at, and the answer says so.
      const err = await csi.Controller.CreateVolume!({
        name: 'restricted-1',
        capacity_range: { required_bytes: 1 << 20 },
        volume_capabilities: [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
        parameters: { 'etcd-cluster-name': 'main', 'etcd-namespace': 'default' },
      }).then(
        () => undefined,
        (e: { code: number; details: string }) => e,
      );
      expect(err?.code).toBe(status.NOT_FOUND);
      expect(err?.details).toContain('no pods labelled etcd.io/cluster=main in default');
      expect(err?.details).toContain(
        'labelled StatefulSets not looked at: discovery method statefulset is not enabled',
      );
    } finally {
      csi.close();
      expect(await stop(driver)).toBe(0);
    }
  });
});
