// A real kube-apiserver whose etcd is the 3-member StatefulSet the driver restores in place: it
// keeps running through the restore (its --etcd-servers go through a stable forwarder, as a
// production apiserver's go through stable member names), and its clients see what Kubernetes
// clients must see: a watch from before the restore ends and cannot resume (410 Gone), a relist
// shows the snapshot's objects only, and no resourceVersion ever goes backwards.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { startTcpForwarder, type TcpForwarder } from '../../harness/tcp-forwarder.ts';
import {
  startTenantApiserver,
  type TenantApiserver,
  type WatchEvent,
} from '../../harness/tenant-apiserver.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  createVolume,
  groupSnapshotUntilDone,
  pipelineLogger,
  recordsOfGroup,
  startPipeline,
} from '../pipeline/env.ts';
import { createRestore, phaseLine, prepareNamespace, startRestoreController } from './env.ts';
import { followRestore } from './follow-restore.ts';

const NS = 'etcd';
const CONFIGMAPS = '/api/v1/namespaces/default/configmaps';
let cluster: LocalCluster;
let etcd: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let restores: Controller;
let forwarder: TcpForwarder;
let tenant: TenantApiserver;
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'restore-apiserver' });
  await installCrds(cluster);
  etcd = await deployEtcdFixture(cluster, { name: 'tenant', namespace: NS, replicas: 3 });
  await etcd.waitHealthy(120_000);
  await prepareNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  const turns = new ClusterTurns();
  pipeline = startPipeline(env, log, { turns });
  restores = startRestoreController(env, log, turns);
  await waitFor('the informers to sync', async () =>
    env.factory.informers().every((i) => i.hasSynced) ? true : undefined,
  );
  forwarder = await startTcpForwarder({ host: cluster.hostIP, port: 23790 }, async () =>
    (await etcd.endpoints()).map((e) => {
      const u = new URL(e);
      return { host: u.hostname, port: Number(u.port) };
    }),
  );
  tenant = await startTenantApiserver({
    dir: join(cluster.dir, 'tenant-apiserver'),
    hostIP: cluster.hostIP,
    port: 6450,
    etcdServers: [`http://${forwarder.address}`],
  });
});

afterAll(async () => {
  await tenant?.stop();
  await forwarder?.close();
  await restores?.stop({ deadlineMs: 5_000 });
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

async function createConfigMap(name: string): Promise<number> {
  const res = await tenant.request<{ metadata: { resourceVersion: string } }>('POST', CONFIGMAPS, {
    metadata: { name },
    data: { made: name },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return Number(res.body.metadata.resourceVersion);
}

async function listConfigMaps(): Promise<{ names: string[]; resourceVersion: number }> {
  const res = await tenant.request<{
    metadata: { resourceVersion: string };
    items: { metadata: { name: string } }[];
  }>('GET', CONFIGMAPS);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return {
    names: res.body.items.map((i) => i.metadata.name).sort(),
    resourceVersion: Number(res.body.metadata.resourceVersion),
  };
}

/** 410 Gone as a watch answers it: the HTTP status, or an ERROR event carrying the code. */
function isGone(answer: { status: number; events: WatchEvent[] }): boolean {
  return answer.status === 410 || answer.events.some((e) => e.type === 'ERROR' && e.object.code === 410);
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/restore/apiserver.test.ts',
    'runs the restore controller in this process and a kube-apiserver on the etcd fixture pods',
  ),
)('a kube-apiserver on the etcd cluster restored in place', () => {
  it('keeps running: its old watch ends and cannot resume (410 Gone), a relist shows the objects of the snapshot only, resourceVersions never go backwards', async () => {
    const seen: number[] = [];
    seen.push(await createConfigMap('before-1'), await createConfigMap('before-2'));
    const watchFrom = Math.max(...seen);

    const volume = await createVolume(env, 'tenant-data', 'tenant', NS);
    const { group, error } = await groupSnapshotUntilDone(env, 'tenant-snap', [volume]);
    expect(error).toBeUndefined();
    const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
    expect(record?.status?.phase).toBe('Ready');

    seen.push(await createConfigMap('after-1'), await createConfigMap('after-2'));
    seen.push((await listConfigMaps()).resourceVersion);
    // A client that listed before the restore and watches on from there, as an informer does.
    const watch = tenant.watch(`${CONFIGMAPS}?watch=1&resourceVersion=${watchFrom}`);
    await waitFor('the watch to deliver the objects made after the snapshot', () =>
      watch.events.filter((e) => e.type === 'ADDED').length >= 2 ? true : undefined,
    );

    const started = performance.now();
    await createRestore(env, NS, 'under-apiserver', {
      source: { etcdSnapshot: { name: record!.metadata!.name! } },
      target: { cluster: 'tenant' },
    });
    const { restore, phases } = await followRestore(env, NS, 'under-apiserver', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('restore under a running kube-apiserver', phases));
    expect(restore.status?.phase).toBe('Completed');

    // The watch from before the restore ends: its stream closes, or it carries a 410 ERROR event.
    const ended = await Promise.race([
      watch.ended,
      new Promise<never>((_, reject) =>
        setTimeout(
          () => reject(new Error('the watch from before the restore was still open 120 s after it')),
          120_000,
        ),
      ),
    ]);
    const lastSeen = Math.max(
      watchFrom,
      ...ended.events.map((e) => Number(e.object.metadata?.resourceVersion ?? 0)).filter((rv) => rv > 0),
    );
    // A reflector watches on from the last resourceVersion it saw: that history is gone.
    await tenant.waitReady();
    const resumed = await waitFor('a watch from before the restore to answer 410 Gone', async () => {
      const again = tenant.watch(`${CONFIGMAPS}?watch=1&resourceVersion=${lastSeen}`);
      const timer = setTimeout(() => again.close(), 5_000);
      const answer = await again.ended;
      clearTimeout(timer);
      return isGone(answer) ? answer : undefined;
    });
    expect(isGone(resumed)).toBe(true);

    // The relist it then makes: the snapshot's objects, at a resourceVersion past every one seen.
    const relist = await listConfigMaps();
    console.log(
      `kube-apiserver consistent after the restore: ${((performance.now() - started) / 1000).toFixed(1)} s from the EtcdRestore's creation; the old watch ended with ${isGone(ended) ? '410' : `the stream closed (HTTP ${ended.status})`}`,
    );
    expect(relist.names).toEqual(['before-1', 'before-2']);
    expect(relist.resourceVersion).toBeGreaterThan(Math.max(...seen, lastSeen));
    // New writes go on from there, and a watch from the relist works.
    const fresh = tenant.watch(`${CONFIGMAPS}?watch=1&resourceVersion=${relist.resourceVersion}`);
    const made = await createConfigMap('after-restore');
    expect(made).toBeGreaterThan(relist.resourceVersion);
    await waitFor('the new watch to see the new object', () =>
      fresh.events.some((e) => e.type === 'ADDED' && e.object.metadata?.name === 'after-restore')
        ? true
        : undefined,
    );
    fresh.close();
  }, 480_000);
});
