// Nothing is judged on an unsynced cache, on a real apiserver. At start-up the record list may be
// in while the (usually larger) VolumeSnapshotContent list is not: a record a content still
// references would then read as "content gone", and retention would delete it with its file.
// Here the VolumeSnapshotContent informer's list is held back (a list-watch wrapper that waits
// for the test) while the records, Jobs and claims sync normally; retention runs with
// --delete-orphan-records and no grace, so on the unsynced view every record would go.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Informer } from '../../../src/informers/informer.ts';
import { InformerFactory } from '../../../src/informers/informer-factory.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { kubeListWatch } from '../../../src/informers/kube-list-watch.ts';
import type { ListWatchSource } from '../../../src/informers/list-watch.ts';
import {
  jobs,
  persistentVolumeClaims,
  type UnstructuredObject,
  volumeSnapshotContents,
} from '../../../src/informers/resources.ts';
import { alwaysOwner } from '../../../src/leader/ownership.ts';
import { RecordingControllerMetrics } from '../../../src/reconcile/metrics.ts';
import {
  createRetentionController,
  type RetentionController,
} from '../../../src/reconcile/retention/controller-factory.ts';
import { type EtcdSnapshot, etcdSnapshotResource } from '../../../src/records/etcd-snapshot.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitUntil } from '../../harness/process.ts';
import { installSnapshotCrds } from '../../harness/snapshot-stack.ts';
import { installCrds } from '../csi/driver-env.ts';

const NS = 'etcd';
const DRIVER = 'etcd-snapshot-driver';
const RECORDS = `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`;
const DAY = 86_400_000;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let cluster: LocalCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'retention-sync', kubelet: false });
  await installCrds(cluster);
  await installSnapshotCrds(cluster);
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
});

/** A finished record of cluster etcd/main, its snapshot taken `snapshotAgeMs` ago. */
async function createRecord(name: string, o: { retentionDays: number; snapshotAgeMs: number }) {
  const created = await client.request<EtcdSnapshot>('POST', RECORDS, {
    body: {
      apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
      kind: 'EtcdSnapshot',
      metadata: { name, namespace: NS },
      spec: {
        driverName: DRIVER,
        requestKind: 'snapshot',
        requestName: `snapcontent-${name}`,
        cluster: { key: `${NS}/main`, namespace: NS, name: 'main', endpoints: [], discoveredBy: 'pods' },
        members: [{ snapshotId: `snap-${name}`, sourceVolumeId: 'vol-main' }],
        sourcesDigest: 'digest',
        parameters: {},
        snapshotTimeoutSeconds: 300,
        retentionDays: o.retentionDays,
        storage: {
          storageClassName: 'local-path',
          claimName: 'etcd-snapshots-main',
          path: `${name}/snapshot.db`,
        },
        createdBy: 'test',
      },
    },
  });
  const taken = new Date(Date.now() - o.snapshotAgeMs).toISOString();
  await client.request('PUT', `${RECORDS}/${name}/status`, {
    body: {
      ...created,
      status: { phase: 'Ready', readyToUse: true, creationTime: taken, finishedAt: taken },
    },
  });
}

/** A VolumeSnapshotContent of the CO naming the record's member (no controller acts on it). */
async function createContent(record: string) {
  await client.request('POST', '/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents', {
    body: {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotContent',
      metadata: { name: `content-${record}` },
      spec: {
        deletionPolicy: 'Delete',
        driver: DRIVER,
        source: { snapshotHandle: `snap-${record}` },
        volumeSnapshotRef: { name: `vs-${record}`, namespace: NS },
      },
    },
  });
}

async function recordState(name: string): Promise<'present' | 'deleting' | 'gone'> {
  try {
    const r = await client.request<EtcdSnapshot>('GET', `${RECORDS}/${name}`);
    return r.metadata?.deletionTimestamp ? 'deleting' : 'present';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return 'gone';
    throw err;
  }
}

/** The apiserver's VolumeSnapshotContents, but every list waits until release(). */
function heldList(inner: ListWatchSource<UnstructuredObject>) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let lists = 0;
  const source: ListWatchSource<UnstructuredObject> = {
    async list(options) {
      lists++;
      await Promise.race([
        released,
        new Promise((_, reject) =>
          options.signal.addEventListener('abort', () => reject(options.signal.reason), { once: true }),
        ),
      ]);
      return inner.list(options);
    },
    watch: (options) => inner.watch(options),
  };
  return { source, release, lists: () => lists };
}

const until = (what: string, condition: () => Promise<boolean> | boolean) =>
  waitUntil(what, condition, { intervalMs: 50 });

describe('retention at start-up', () => {
  it('deletes nothing a content references while the content informer has not synced, then judges on the synced view', async () => {
    // Referenced, retention run out: must be kept (and reported). Referenced, in retention: kept.
    await createRecord('a-expired-referenced', { retentionDays: 1, snapshotAgeMs: 3 * DAY });
    await createRecord('b-referenced', { retentionDays: 30, snapshotAgeMs: 60_000 });
    // No content at all: with --delete-orphan-records this one is rightly deleted, once synced.
    await createRecord('z-orphan', { retentionDays: 30, snapshotAgeMs: 60_000 });
    await createContent('a-expired-referenced');
    await createContent('b-referenced');

    const factory = new InformerFactory(client, { logger: log });
    const held = heldList(kubeListWatch(client, volumeSnapshotContents));
    const contents = new Informer(volumeSnapshotContents, held.source, { name: 'vsc (held)', logger: log });
    const records = factory.informerFor(etcdSnapshotResource);
    const metrics = new RecordingControllerMetrics();
    let retention: RetentionController | undefined;
    try {
      retention = createRetentionController({
        client,
        informers: {
          etcdSnapshots: records,
          jobs: factory.informerFor(jobs),
          persistentVolumeClaims: factory.informerFor(persistentVolumeClaims),
          volumeSnapshotContents: contents,
        },
        ownership: alwaysOwner,
        logger: log,
        controllerMetrics: metrics,
        options: {
          driverName: DRIVER,
          orphanGraceMs: 0,
          deleteUnknownOrphanRecords: true,
          sweepIntervalMs: 0,
          resyncMs: 1_000,
          pollIntervalMs: 200,
          job: {
            agentImage: 'unused',
            executorServiceAccount: 'unused',
            jobActiveDeadlineSeconds: 60,
            jobTtlSecondsAfterFinished: 60,
            resources: { requests: {}, limits: {} },
          },
        },
      });
      retention.start();
      factory.start();
      contents.start();
      const reconciles = () =>
        metrics.value('controller_runtime_reconcile_total', {
          controller: 'etcdsnapshot-retention',
          result: 'requeue_after',
        });
      // The records are in and the cluster's key is queued (or, on a controller that does not
      // wait, already reconciled) while the content list is still held.
      const queue = retention.controller.queue;
      await until(
        'records cached, the cluster queued and the content list held',
        () =>
          records.hasSynced &&
          records.store.size === 3 &&
          queue.length + queue.processing + reconciles() > 0 &&
          held.lists() > 0,
      );
      expect(contents.hasSynced).toBe(false);

      held.release();
      // A pass on the synced view: the orphan goes, which shows the controller did judge.
      await until('the orphan deleted', async () => (await recordState('z-orphan')) === 'gone');
      const after = reconciles();
      await until('one more pass', () => reconciles() > after);
      expect(await recordState('a-expired-referenced')).toBe('present');
      expect(await recordState('b-referenced')).toBe('present');
    } finally {
      await retention?.stop({ deadlineMs: 5_000 });
      await contents.stop();
      await factory.stop();
    }
  });
});
