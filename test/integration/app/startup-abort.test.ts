// A signal during start-up stops everything, against a real apiserver. In-process: runDriver is
// held after each start-up step (after the elector took its buckets, for the later steps) and
// aborted there; it must reject, stop what had started in reverse and hand its buckets back
// (empty holder, member Lease deleted), leaving no CSI socket or HTTP port open. As a process:
// a SIGTERM while discovery waits on the apiserver (a paused proxy) must end the process with 0
// by itself, and nothing may start once the apiserver answers again.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDriver, type StartupStep } from '../../../src/app/run-driver.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { podOfIdentity } from '../../../src/leader/identity.ts';
import type { LeaseObject } from '../../../src/leader/lease-api.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { freePort } from '../../harness/free-port.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';
import { installCrds } from '../csi/driver-env.ts';
import { startTcpProxy } from '../informers/tcp-proxy.ts';
import { until } from './driver-child.ts';

const NS = 'etcd-snapshot-driver';
const BUCKETS = 2;
let cluster: LocalCluster;
let client: KubeClient;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'startup-abort-'));
  cluster = await startLocalCluster({ name: 'startup-abort', kubelet: false });
  await installCrds(cluster);
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function leases(): Promise<LeaseObject[]> {
  const list = await client.request<{ items: LeaseObject[] }>(
    'GET',
    `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases`,
  );
  return list.items;
}

/** Bucket Leases held by the replica of pod `pod`, and whether its member Lease exists. */
async function taken(pod: string): Promise<{ buckets: number; member: boolean }> {
  const all = await leases();
  const mine = all.filter((l) => podOfIdentity(l.spec?.holderIdentity ?? '') === pod);
  return {
    buckets: mine.filter((l) => l.metadata.name.includes('-bucket-')).length,
    member: mine.some((l) => l.metadata.name.includes('-member-')),
  };
}

/** Whether anything accepts connections there (a unix socket path or host:port). */
function accepts(to: { path: string } | { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(to);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function driverArgs(socket: string, metricsPort: number, kubeconfig = cluster.kubeconfigPath): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--csi-endpoint=unix://${socket}`,
    `--metrics-bind-address=${cluster.hostIP}:${metricsPort}`,
    '--trace-exporter=none',
    '--leader-elect',
    `--leader-election-namespace=${NS}`,
    `--leader-election-buckets=${BUCKETS}`,
    '--leader-election-lease-duration=4s',
    '--leader-election-renew-deadline=2500ms',
    '--leader-election-retry-period=1s',
  ];
}

describe('runDriver aborted during start-up', () => {
  const steps: StartupStep[] = ['informers', 'http', 'controllers', 'csi'];
  steps.forEach((target, i) => {
    it(`after "${target}": rejects, stops what started and hands back every bucket it took`, async () => {
      const pod = `abort-${target}`;
      const identity = `${pod}_00000000`;
      const socket = join(dir, `${target}.sock`);
      const metricsPort = await freePort(cluster.hostIP);
      const config = loadConfig(driverArgs(socket, metricsPort), {});
      const log = createLogger({ level: 'error', format: 'json' });
      const abort = new AbortController();
      const reached: StartupStep[] = [];
      const started = runDriver(config, log, {
        identity,
        signal: abort.signal,
        async onStartupStep(step) {
          reached.push(step);
          if (step !== target) return;
          // From "controllers" on the elector runs: abort only once it holds its buckets.
          if (reached.includes('controllers'))
            await until('buckets taken', async () => (await taken(pod)).buckets === BUCKETS);
          abort.abort(new Error('SIGTERM received'));
        },
      });
      await expect(started).rejects.toThrow('SIGTERM received');
      expect(reached).toEqual(steps.slice(0, i + 1));
      // Handed back, not left to expire: no bucket held, the member Lease deleted.
      expect(await taken(pod)).toEqual({ buckets: 0, member: false });
      expect(await accepts({ path: socket })).toBe(false);
      expect(await accepts({ host: cluster.hostIP, port: metricsPort })).toBe(false);
    });
  });
});

describe('runDriver with a controller whose start throws', () => {
  it('rejects with that error and stops the controllers that had started, and everything before them', async () => {
    const socket = join(dir, 'failed-controller.sock');
    const metricsPort = await freePort(cluster.hostIP);
    const config = loadConfig(driverArgs(socket, metricsPort), {});
    const log = createLogger({ level: 'error', format: 'json' });
    const events: string[] = [];
    const controller = (name: string, fails = false) => ({
      start() {
        events.push(`start ${name}`);
        if (fails) throw new Error(`${name} could not start`);
      },
      async stop() {
        events.push(`stop ${name}`);
        return { drained: true };
      },
    });
    const started = runDriver(config, log, {
      identity: 'failed-controller_00000000',
      controllers: () => [controller('first'), controller('second', true)],
    });
    await expect(started).rejects.toThrow('second could not start');
    expect(events).toEqual(['start first', 'start second', 'stop first', 'stop second']);
    expect(await taken('failed-controller')).toEqual({ buckets: 0, member: false });
    expect(await accepts({ host: cluster.hostIP, port: metricsPort })).toBe(false);
  });
});

describe('etcd-snapshot-driver process signalled during start-up', () => {
  it('exits 0 by itself, and starts nothing once the apiserver answers again', async () => {
    const url = new URL(cluster.apiserverUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    const kubeconfig = join(dir, 'via-proxy.kubeconfig');
    writeFileSync(
      kubeconfig,
      readFileSync(cluster.kubeconfigPath, 'utf8').replaceAll(cluster.apiserverUrl, proxy.url),
    );
    const pod = 'process-abort';
    const socket = join(dir, 'process.sock');
    const metricsPort = await freePort(cluster.hostIP);
    proxy.pause();
    let child: ChildProcess | undefined;
    try {
      child = spawn(
        join(PROJECT_ROOT, 'bin/etcd-snapshot-driver'),
        driverArgs(socket, metricsPort, kubeconfig),
        {
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, POD_NAME: pod },
        },
      );
      const messages: string[] = [];
      let buffered = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) if (line.trim()) messages.push(String(JSON.parse(line).message));
      });
      const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
      // Start-up is in discovery, waiting on the apiserver: the signal lands mid-step.
      await until('discovery waiting on the apiserver', () => proxy.connections > 0);
      child.kill('SIGTERM');
      await until('start-up abandoned', () => messages.includes('stopped while starting'));
      proxy.resume();
      const code = await Promise.race([
        exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('still running'), 20_000)),
      ]);
      expect(code).toBe(0);
      expect(messages).not.toContain('driver running');
      expect(await taken(pod)).toEqual({ buckets: 0, member: false });
      expect(await accepts({ path: socket })).toBe(false);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await proxy.close();
    }
  });
});
