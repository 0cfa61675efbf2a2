// The snapshot pipeline end to end on the local cluster: records made through the CSI server,
// the reconciler in-process, agent Jobs running the driver image under PodSecurity `restricted`,
// files on the local-path PV, restores with etcdutl. Cases run in order on one cluster.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  claimDir,
  createVolume,
  groupSnapshotUntilDone,
  pipelineJobs,
  pipelineLogger,
  putKeys,
  recordsOfGroup,
  restoredKeys,
  restrictNamespace,
  sha256File,
  startPipeline,
} from './env.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'pipeline' });
  await installCrds(cluster);
  main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
  await main.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(cluster, env, log);
});

afterAll(async () => {
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

describe('snapshot pipeline', () => {
  let groupId = '';
  let memberIds: string[] = [];
  let file = '';

  it('(a) a group snapshot of one etcd cluster becomes ready; its file restores to exactly the keys at snapshot time', async () => {
    const volume = await createVolume(env, 'main-data', 'main', NS);
    await putKeys(main, { '/app/a': '1', '/app/b': '2', '/app/c': '3' });
    const started = performance.now();
    const { group, error } = await groupSnapshotUntilDone(env, 'group-a', [volume]);
    expect(error).toBeUndefined();
    console.log(`(a) Create → ready: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    groupId = group!.group_snapshot_id;
    memberIds = group!.snapshots.map((s) => s.snapshot_id);
    expect(group!.snapshots[0]!.size_bytes).toBeGreaterThan(0);
    // Written after the snapshot: must not be in the restore.
    await putKeys(main, { '/app/after': 'x' });

    const [record] = await recordsOfGroup(env, groupId);
    expect(record!.status).toMatchObject({ phase: 'Ready', readyToUse: true, step: 'Ready' });
    expect(record!.spec.storage.claimName).toBe('etcd-snapshots-main');
    const dir = await claimDir(env, NS, record!.spec.storage.claimName);
    file = join(dir, record!.status!.backupPath!);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dir, record!.metadata!.name!, 'snapshot.meta.json'))).toBe(true);
    expect(sha256File(file)).toBe(record!.status!.checksumSha256);

    const keys = await restoredKeys(file, cluster.dir);
    expect(keys).toEqual(['/app/a', '/app/b', '/app/c']);
  });

  it('(c) deleting the group removes files, records and Jobs', async () => {
    expect(groupId).not.toBe('');
    const records = await recordsOfGroup(env, groupId);
    const dirOfRecord = join(file, '..');
    await env.client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: groupId,
      snapshot_ids: memberIds,
    });
    await waitFor(
      'the group’s records to be gone',
      async () => ((await recordsOfGroup(env, groupId)).length === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    expect(existsSync(dirOfRecord)).toBe(false);
    // Other snapshots' directories are untouched (none here) and the claim itself stays.
    expect(readdirSync(join(dirOfRecord, '..'))).toEqual([]);
    await waitFor(
      'the garbage collector to remove the Jobs of the deleted records',
      async () => {
        const left = await pipelineJobs(env, NS);
        return left.filter((j) => records.some((r) => j.endsWith(r.metadata!.name!))).length === 0
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  });
});
