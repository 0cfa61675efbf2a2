// No silent stalls, on a real cluster: a ResourceQuota of zero Jobs in the etcd namespace makes
// the apiserver refuse the save Job (JOB_CREATION_FAILED on the record at once, final after the
// retry window, answered by the CSI with the API's message); a second snapshot of the cluster
// waits visibly (SNAPSHOT_CREATION_IN_PROGRESS); a learner added to etcd between the health check
// and the end of the save discards that save (CLUSTER_MODIFICATION_IN_PROGRESS), which is taken
// again and becomes Ready. Cases run in order on one cluster.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateVolumeGroupSnapshotResponse } from '../../../src/csi/messages.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  createVolume,
  groupSnapshotUntilDone,
  pipelineLogger,
  recordsOfGroup,
  restrictNamespace,
  startPipeline,
} from './env.ts';

const NS = 'etcd';
const QUOTA = 'no-jobs';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let volume = '';
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'stalls' });
  await installCrds(cluster);
  main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  // A window far longer than the first case needs: its refusal must not become final.
  pipeline = startPipeline(env, log, { options: { jobCreateRetryWindowMs: 600_000 } });
  volume = await createVolume(env, 'main-data', 'main', NS);
});

afterAll(async () => {
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

/** Enforces (or lifts) a quota of zero Jobs in the etcd namespace; returns once the API does so. */
async function jobQuota(on: boolean): Promise<void> {
  if (on) await cluster.kubectl(['create', 'quota', QUOTA, '-n', NS, '--hard=count/jobs.batch=0']);
  else await cluster.kubectl(['delete', 'resourcequota', QUOTA, '-n', NS, '--ignore-not-found']);
  const probe = ['create', 'job', 'quota-probe', '-n', NS, '--image=x', '--dry-run=server'];
  await waitFor(
    `the Job quota to be ${on ? 'enforced' : 'lifted'}`,
    async () => {
      const refused = await cluster.kubectl(probe).then(
        () => false,
        (err: Error) => /exceeded quota|forbidden/i.test(err.message),
      );
      return refused === on ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

async function startGroup(name: string): Promise<string> {
  const res = (await env.client.GroupController.CreateVolumeGroupSnapshot!({
    name,
    source_volume_ids: [volume],
    parameters: { 'storage-class': 'local-path' },
  })) as CreateVolumeGroupSnapshotResponse;
  expect(res.group_snapshot.ready_to_use).toBe(false);
  return res.group_snapshot.group_snapshot_id;
}

async function recordUntil(
  groupId: string,
  what: string,
  done: (r: EtcdSnapshot) => boolean,
  timeoutMs = 60_000,
): Promise<EtcdSnapshot> {
  return waitFor(
    `the record of ${groupId} ${what}`,
    async () => {
      const [r] = await recordsOfGroup(env, groupId);
      return r && done(r) ? r : undefined;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

async function eventsOf(record: string): Promise<{ type: string; reason: string; message: string }[]> {
  const list = await env.kubeClient.request<{ items: { type: string; reason: string; message: string }[] }>(
    'GET',
    `/api/v1/namespaces/${NS}/events?fieldSelector=${encodeURIComponent(`involvedObject.name=${record}`)}`,
  );
  return list.items;
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/pipeline/stalls.test.ts',
    'runs the pipeline in-process and drives etcd members from the host',
  ),
)('no silent stalls', () => {
  it('a refused Job, a second snapshot waiting its turn, a member added mid-save: each says so, and both snapshots end Ready', async () => {
    await jobQuota(true);
    const first = await startGroup('first');
    const refused = await recordUntil(
      first,
      'to show the refusal',
      (r) => r.status?.reason === 'JOB_CREATION_FAILED',
    );
    expect(refused.status).toMatchObject({ phase: 'Running', readyToUse: false });
    expect(refused.status?.message).toMatch(/exceeded quota: no-jobs/);
    expect(refused.status?.conditions).toEqual([
      expect.objectContaining({ type: 'JobCreated', status: 'False', reason: 'JOB_CREATION_FAILED' }),
    ]);
    const firstName = refused.metadata!.name!;

    const second = await startGroup('second');
    const waiting = await recordUntil(second, 'to wait for its turn', (r) => r.status?.phase === 'Pending');
    expect(waiting.status).toMatchObject({ reason: 'SNAPSHOT_CREATION_IN_PROGRESS', readyToUse: false });
    expect(waiting.status?.message).toContain(`the save of ${firstName}`);
    expect(waiting.status?.conditions).toEqual([
      expect.objectContaining({ type: 'SaveTurn', status: 'False', reason: 'SNAPSHOT_CREATION_IN_PROGRESS' }),
    ]);

    // CheckHealth of the first snapshot is behind it (its members are recorded); a learner joins.
    expect(refused.status?.memberIds).toHaveLength(3);
    // etcd refuses a member change ("unhealthy cluster") until its leader has been connected to
    // every member for 5 s; asked again until it takes it.
    await waitFor(
      'etcd to add a learner',
      () =>
        main
          .etcdctl(['member', 'add', 'learner-1', '--learner', '--peer-urls=http://127.0.0.1:1'])
          .then(() => true),
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
    await jobQuota(false);

    const ready = await recordUntil(first, 'to be Ready', (r) => r.status?.phase === 'Ready', 170_000);
    expect(ready.status?.memberIds).toHaveLength(4);
    expect(ready.status?.reason).toBeUndefined();
    expect(ready.status?.conditions).toBeUndefined();
    const changed = (await eventsOf(firstName)).filter((e) => e.reason === 'MembershipChanged');
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      type: 'Warning',
      message: expect.stringMatching(/^CLUSTER_MODIFICATION_IN_PROGRESS: .*added /),
    });

    const secondReady = await recordUntil(second, 'to be Ready', (r) => r.status?.phase === 'Ready', 170_000);
    expect(secondReady.status?.conditions).toBeUndefined();
    expect((await eventsOf(secondReady.metadata!.name!)).map((e) => e.reason)).not.toContain(
      'MembershipChanged',
    );
  });

  it('a Job refused past the retry window: Failed JOB_CREATION_FAILED, and the CSI answers with the API’s message', async () => {
    await jobQuota(false);
    await pipeline.stop({ deadlineMs: 5_000 });
    pipeline = startPipeline(env, log, { options: { jobCreateRetryWindowMs: 10_000 } });
    await jobQuota(true);
    const { error } = await groupSnapshotUntilDone(env, 'refused', [volume], 120_000);
    expect(error?.code).toBe(13); // INTERNAL
    expect(error?.details).toMatch(/^JOB_CREATION_FAILED: .*exceeded quota: no-jobs/);
    const list = await env.kubeClient.request<{ items: EtcdSnapshot[] }>(
      'GET',
      `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
    );
    const failed = list.items.find((r) => r.spec.requestName === 'refused');
    expect(failed?.status).toMatchObject({ phase: 'Failed', step: 'RunJob', reason: 'JOB_CREATION_FAILED' });
    await jobQuota(false);
  });
});
