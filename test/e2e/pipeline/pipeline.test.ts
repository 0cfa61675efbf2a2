// The snapshot pipeline end to end on the local cluster: records made through the CSI server,
// the reconciler in-process, agent Jobs running the driver image under PodSecurity `restricted`,
// files on the local-path PV, restores with etcdutl. Cases share one cluster; each sets up what
// it needs, so any case runs alone or in any order.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../src/reconcile/controller.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { createPki } from '../../harness/pki.ts';
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

const execFileAsync = promisify(execFile);
const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let second: EtcdFixture;
let secure: EtcdFixture;
let basic: EtcdFixture;
/** Only (e) touches it: it loses quorum there, so no other case finds `main` without it. */
let lossy: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'pipeline' });
  await installCrds(cluster);
  // Every fixture first: the etcd fixture's pods do not pass `restricted`, and once the namespace
  // enforces it only the pipeline's Jobs need to be admitted there.
  // (main first: the fixture's ensureNamespace is not safe to run concurrently.)
  main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
  [second, secure, basic, lossy] = await Promise.all([
    deployEtcdFixture(cluster, { name: 'second', namespace: NS, replicas: 1 }),
    // Serving certificates with DNS names only, as etcd-druid and the common charts issue them.
    deployEtcdFixture(cluster, {
      name: 'secure',
      namespace: NS,
      replicas: 1,
      auth: 'tls',
      serverNames: 'dns',
    }),
    deployEtcdFixture(cluster, { name: 'basic', namespace: NS, replicas: 1, auth: 'basic' }),
    deployEtcdFixture(cluster, { name: 'lossy', namespace: NS, replicas: 3 }),
  ]);
  for (const f of [main, second, secure, basic, lossy]) await f.waitHealthy(120_000);
  await restrictNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(env, log);
});

afterAll(async () => {
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

describe.skipIf(
  localClusterOnly(
    'test/e2e/pipeline/pipeline.test.ts',
    'runs the pipeline in this process, with the image table of the process kubelet, and reads snapshot files on host paths',
  ),
)('snapshot pipeline', () => {
  // Each case makes the volumes and groups it needs (CreateVolume is idempotent by name) and
  // deletes what it made, so any case runs alone or in any order.
  const mainVolume = () => createVolume(env, 'main-data', 'main', NS);
  const secondVolume = () => createVolume(env, 'second-data', 'second', NS);

  it('(a) a group snapshot of one etcd cluster becomes ready; its file restores to exactly the keys at snapshot time', async () => {
    const volume = await mainVolume();
    await putKeys(main, { '/app/a': '1', '/app/b': '2', '/app/c': '3' });
    const started = performance.now();
    const { group, error } = await groupSnapshotUntilDone(env, 'group-a', [volume]);
    expect(error).toBeUndefined();
    console.log(`(a) Create → ready: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const groupId = group!.group_snapshot_id;
    expect(group!.snapshots[0]!.size_bytes).toBeGreaterThan(0);
    // Written after the snapshot: must not be in the restore.
    await putKeys(main, { '/app/after': 'x' });

    const [record] = await recordsOfGroup(env, groupId);
    expect(record!.status).toMatchObject({ phase: 'Ready', readyToUse: true, step: 'Ready' });
    // The live revision read when the save ended: what a restore bumps past.
    expect(record!.status!.lastRevisionSeen).toBeGreaterThanOrEqual(record!.status!.revision!);
    expect(record!.spec.storage.claimName).toBe('etcd-snapshots-main');
    const dir = await claimDir(env, NS, record!.spec.storage.claimName);
    const file = join(dir, record!.status!.backupPath!);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(join(dir, record!.metadata!.name!, 'snapshot.meta.json'))).toBe(true);
    expect(sha256File(file)).toBe(record!.status!.checksumSha256);

    const keys = await restoredKeys(file, cluster.dir);
    expect(keys).toEqual(['/app/a', '/app/b', '/app/c']);
    await deleteGroupAndCheck(
      groupId,
      group!.snapshots.map((s) => s.snapshot_id),
    );
  });

  it('(c) deleting the group removes files, records and Jobs', async () => {
    const made = await groupSnapshotUntilDone(env, 'group-c', [await mainVolume()]);
    expect(made.error).toBeUndefined();
    const groupId = made.group!.group_snapshot_id;
    const memberIds = made.group!.snapshots.map((s) => s.snapshot_id);
    const records = await recordsOfGroup(env, groupId);
    const [made1] = records;
    const dirOfRecord = join(
      await claimDir(env, NS, made1!.spec.storage.claimName),
      made1!.status!.backupPath!,
      '..',
    );
    expect(existsSync(dirOfRecord)).toBe(true);
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

  /** Deletes a group through the CSI and waits until its records, directories and Jobs are gone. */
  async function deleteGroupAndCheck(id: string, members: string[]): Promise<void> {
    const records = await recordsOfGroup(env, id);
    await env.client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: id,
      snapshot_ids: members,
    });
    await waitFor(
      'the group’s records to be gone',
      async () => ((await recordsOfGroup(env, id)).length === 0 ? true : undefined),
      {
        timeoutMs: 120_000,
        intervalMs: 500,
      },
    );
    for (const r of records) {
      const dir = await claimDir(env, NS, r.spec.storage.claimName).catch(() => undefined);
      if (dir) expect(existsSync(join(dir, r.metadata!.name!))).toBe(false);
    }
    await waitFor(
      'the Jobs of the deleted records to be gone',
      async () => {
        const left = await pipelineJobs(env, NS);
        return left.some((j) => records.some((r) => j.endsWith(r.metadata!.name!))) ? undefined : true;
      },
      { timeoutMs: 120_000, intervalMs: 1_000 },
    );
  }

  it('(g) an empty etcd snapshots fine and restores to no keys', async () => {
    const { group, error } = await groupSnapshotUntilDone(env, 'group-empty', [await secondVolume()]);
    expect(error).toBeUndefined();
    const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
    const dir = await claimDir(env, NS, 'etcd-snapshots-second');
    expect(await restoredKeys(join(dir, record!.status!.backupPath!), cluster.dir)).toEqual([]);
    await deleteGroupAndCheck(
      group!.group_snapshot_id,
      group!.snapshots.map((s) => s.snapshot_id),
    );
  });

  it('(b) a group over two etcd clusters becomes ready, one file per cluster', async () => {
    await putKeys(second, { '/second/k': 'v' });
    const started = performance.now();
    const { group, error } = await groupSnapshotUntilDone(env, 'group-two', [
      await mainVolume(),
      await secondVolume(),
    ]);
    expect(error).toBeUndefined();
    console.log(`(b) two clusters Create → ready: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const records = await recordsOfGroup(env, group!.group_snapshot_id);
    expect(records.map((r) => r.spec.cluster.key).sort()).toEqual(['etcd/main', 'etcd/second']);
    for (const r of records) {
      expect(r.status?.phase).toBe('Ready');
      const file = join(await claimDir(env, NS, r.spec.storage.claimName), r.status!.backupPath!);
      expect(sha256File(file)).toBe(r.status!.checksumSha256);
    }
    const secondRecord = records.find((r) => r.spec.cluster.name === 'second')!;
    const secondFile = join(
      await claimDir(env, NS, 'etcd-snapshots-second'),
      secondRecord.status!.backupPath!,
    );
    expect(await restoredKeys(secondFile, cluster.dir)).toEqual(['/second/k']);
    await deleteGroupAndCheck(
      group!.group_snapshot_id,
      group!.snapshots.map((s) => s.snapshot_id),
    );
  });

  it('(f) deleting a group while its save runs leaves nothing behind', async () => {
    await main.loadData(64);
    const first = (await env.client.GroupController.CreateVolumeGroupSnapshot!({
      name: 'group-doomed',
      source_volume_ids: [await mainVolume()],
      parameters: { 'storage-class': 'local-path' },
    })) as { group_snapshot: { group_snapshot_id: string; snapshots: { snapshot_id: string }[] } };
    const id = first.group_snapshot.group_snapshot_id;
    await waitFor(
      'the save to start',
      async () => ((await recordsOfGroup(env, id))[0]?.status?.saveJob ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    await deleteGroupAndCheck(
      id,
      first.group_snapshot.snapshots.map((s) => s.snapshot_id),
    );
    const dir = await claimDir(env, NS, 'etcd-snapshots-main');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('(h) the controller stopped at every step and started again ends with exactly one ready snapshot', async () => {
    let restarts = 0;
    let seen = '';
    let lastRestart = performance.now();
    const volume = await mainVolume();
    const create = () =>
      env.client.GroupController.CreateVolumeGroupSnapshot!({
        name: 'group-restarts',
        source_volume_ids: [volume],
        parameters: { 'storage-class': 'local-path' },
      }) as Promise<{
        group_snapshot: {
          group_snapshot_id: string;
          ready_to_use: boolean;
          snapshots: { snapshot_id: string }[];
        };
      }>;
    // Stopped before it ever saw the record.
    await pipeline.stop({ deadlineMs: 0, abortGraceMs: 2_000 });
    const first = await create();
    const id = first.group_snapshot.group_snapshot_id;
    pipeline = startPipeline(env, log);
    const final = await waitFor(
      'the snapshot to be ready across restarts',
      async () => {
        const [record] = await recordsOfGroup(env, id);
        const jobsNow = (await pipelineJobs(env, NS)).filter(
          (j) => record && j.endsWith(record.metadata!.name!),
        );
        const state = `${record?.status?.step ?? 'none'}|${jobsNow.join(',')}|${record?.status?.phase ?? ''}`;
        if (record?.status?.phase === 'Ready' || record?.status?.phase === 'Failed') return record;
        if (state !== seen || performance.now() - lastRestart > 700) {
          lastRestart = performance.now();
          // Something moved: crash the controller right here (in-flight work aborted) and start anew.
          seen = state;
          await pipeline.stop({ deadlineMs: 0, abortGraceMs: 2_000 });
          pipeline = startPipeline(env, log);
          restarts++;
        }
        return undefined;
      },
      { timeoutMs: 150_000, intervalMs: 50 },
    );
    console.log(`(h) restarts: ${restarts}`);
    expect(final.status?.phase).toBe('Ready');
    expect(restarts).toBeGreaterThanOrEqual(2);
    expect((await create()).group_snapshot.ready_to_use).toBe(true);
    const dir = await claimDir(env, NS, 'etcd-snapshots-main');
    expect(readdirSync(dir)).toEqual([final.metadata!.name!]);
    expect(readdirSync(join(dir, final.metadata!.name!)).sort()).toEqual([
      'snapshot.db',
      'snapshot.meta.json',
    ]);
    expect(sha256File(join(dir, final.status!.backupPath!))).toBe(final.status!.checksumSha256);
    expect((await pipelineJobs(env, NS)).filter((j) => j.endsWith(final.metadata!.name!))).toEqual([
      `snapshot-save-${final.metadata!.name!}`,
    ]);
    await deleteGroupAndCheck(
      id,
      first.group_snapshot.snapshots.map((s) => s.snapshot_id),
    );
  });

  const basicUser = async () => {
    const secret = await env.kubeClient.request<{ data: Record<string, string> }>(
      'GET',
      `/api/v1/namespaces/${NS}/secrets/${basic.credentialsSecret}`,
    );
    const text = (k: string) => Buffer.from(secret.data[k] ?? '', 'base64').toString('utf8');
    return `${text('username')}:${text('password')}`;
  };

  it('TLS (server certificates with DNS names only) and user/password clusters snapshot with their credentials Secrets (mounted, never copied)', async () => {
    for (const fixture of [secure, basic]) {
      for (const pod of await fixture.pods())
        await cluster.kubectl([
          'annotate',
          'pod',
          '--overwrite',
          '-n',
          NS,
          pod.metadata!.name!,
          `etcd.io/credentials-secret=${fixture.credentialsSecret}`,
        ]);
    }
    await waitFor(
      'the pod cache to see the annotations',
      () =>
        env.stores.pods.list().filter((p) => p.metadata?.annotations?.['etcd.io/credentials-secret'])
          .length === 2
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    await putKeys(secure, { '/tls/k': '1' });
    await putKeys(basic, { '/basic/k': '1' });
    const volumes = [
      await createVolume(env, 'secure-data', 'secure', NS),
      await createVolume(env, 'basic-data', 'basic', NS),
    ];
    const { group, error } = await groupSnapshotUntilDone(env, 'group-auth', volumes);
    expect(error).toBeUndefined();
    const records = await recordsOfGroup(env, group!.group_snapshot_id);
    expect(records.map((r) => r.spec.cluster.credentialsSecret).sort()).toEqual(
      [basic.credentialsSecret, secure.credentialsSecret].sort(),
    );
    // Dialled by pod IP (the driver has no cluster DNS), checked for the name the member advertises.
    const tlsRecord = records.find((r) => r.spec.cluster.name === 'secure')!;
    expect(tlsRecord.status?.endpoints).toEqual([
      expect.stringMatching(/^https:\/\/[\d.]+:2379\?tls-server-name=secure-0\.secure\.etcd\.svc$/),
    ]);
    for (const r of records) {
      const file = join(await claimDir(env, NS, r.spec.storage.claimName), r.status!.backupPath!);
      // The user/password cluster's restore keeps etcd's auth on: read it as its user.
      const user = r.spec.cluster.name === 'basic' ? await basicUser() : undefined;
      expect(await restoredKeys(file, cluster.dir, user)).toEqual(
        r.spec.cluster.name === 'secure' ? ['/tls/k'] : ['/basic/k'],
      );
      expect(JSON.stringify(r)).not.toMatch(/BEGIN|password/i);
    }
    await deleteGroupAndCheck(
      group!.group_snapshot_id,
      group!.snapshots.map((s) => s.snapshot_id),
    );
  });

  it('(d) wrong credentials (TLS cluster, a client certificate of another CA) fail with AUTH_*, leaving nothing', async () => {
    const otherPki = createPki(join(cluster.dir, 'other-pki'));
    const client = otherPki.issue('intruder', { commonName: 'root', usage: 'client' });
    await env.kubeClient.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
      body: {
        metadata: { name: 'wrong-tls' },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': readFileSync(client.certFile).toString('base64'),
          'tls.key': readFileSync(client.keyFile).toString('base64'),
          'ca.crt': readFileSync(otherPki.ca.certFile).toString('base64'),
        },
      },
    });
    for (const pod of await secure.pods())
      await cluster.kubectl([
        'annotate',
        'pod',
        '--overwrite',
        '-n',
        NS,
        pod.metadata!.name!,
        'etcd.io/credentials-secret=wrong-tls',
      ]);
    await waitFor(
      'the pod cache to see the annotation',
      () =>
        env.stores.pods
          .list()
          .some((p) => p.metadata?.annotations?.['etcd.io/credentials-secret'] === 'wrong-tls')
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    );
    const volume = await createVolume(env, 'secure-data', 'secure', NS);
    await putKeys(second, { '/second/more': 'v' });
    // A group over a healthy cluster and the one with wrong credentials: all or nothing.
    const { error } = await groupSnapshotUntilDone(
      env,
      'group-wrong-creds',
      [await secondVolume(), volume],
      90_000,
    );
    expect(error?.details).toMatch(/^AUTH_[A-Z_]+:/);
    const groupRecords = async () =>
      (
        await env.kubeClient.request<{ items: EtcdSnapshot[] }>(
          'GET',
          `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
        )
      ).items.filter((r) => r.spec.requestName === 'group-wrong-creds');
    const all = await waitFor(
      'every record of the group to fail and clean up',
      async () => {
        const rs = await groupRecords();
        return rs.length === 2 &&
          rs.every((r) => r.status?.phase === 'Failed' && !r.metadata?.finalizers?.length)
          ? rs
          : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const own = all.find((r) => r.spec.cluster.name === 'secure')!;
    const taken = all.find((r) => r.spec.cluster.name === 'second')!;
    expect(own.status?.reason).toMatch(/^AUTH_/);
    expect(own.status?.step).toBe('CheckHealth');
    // What did not verify, of which member, against which Secret; never Node's hint about its flags.
    expect(own.status?.message).toContain('server certificate of etcd member secure-0.secure.etcd.svc');
    expect(own.status?.message).toContain('is not signed by ca.crt of Secret etcd/wrong-tls');
    expect(`${own.status?.message} ${error?.details}`).not.toContain('use-system-ca');
    expect(taken.status).toMatchObject({ reason: own.status?.reason, failedWith: own.metadata?.name });
    // Nothing of the group's data is left: no directory of either record in either claim.
    for (const r of all) {
      const dir = await claimDir(env, NS, r.spec.storage.claimName);
      expect(existsSync(join(dir, r.metadata!.name!))).toBe(false);
    }
    // The wrong cluster never got a Job; the CSI's next Create answers the same final error.
    expect((await pipelineJobs(env, NS)).filter((j) => j.includes(own.metadata!.name!))).toEqual([]);
    const again = await groupSnapshotUntilDone(
      env,
      'group-wrong-creds',
      [await secondVolume(), volume],
      30_000,
    );
    expect(again.error?.details.split(':')[0]).toBe(error?.details.split(':')[0]);
    // Deleting the failed group needs no file removal: the records go at once.
    const id = own.spec.groupSnapshotId!;
    await env.client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: id,
      snapshot_ids: all.flatMap((r) => r.spec.members.map((m) => m.snapshotId)),
    });
    await waitFor(
      'the failed group’s records to be gone',
      async () => ((await groupRecords()).length === 0 ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 250,
      },
    );
  });

  it('(i) saves of one etcd cluster never overlap', async () => {
    const names = ['serial-1', 'serial-2', 'serial-3'];
    const volume = await secondVolume();
    const results = await Promise.all(names.map((n) => groupSnapshotUntilDone(env, n, [volume])));
    for (const r of results) expect(r.error).toBeUndefined();
    const jobs = await env.kubeClient.request<{
      items: { metadata: { name: string }; status?: { startTime?: string; completionTime?: string } }[];
    }>(
      'GET',
      `/apis/batch/v1/namespaces/${NS}/jobs?labelSelector=${encodeURIComponent('snapshot.etcd-snapshot-driver.io/operation=save,snapshot.etcd-snapshot-driver.io/cluster=second')}`,
    );
    const ids = new Set(results.map((r) => r.group!.group_snapshot_id));
    const records = (await Promise.all([...ids].map((id) => recordsOfGroup(env, id)))).flat();
    const mine = jobs.items
      .filter((j) => records.some((r) => j.metadata.name === `snapshot-save-${r.metadata!.name!}`))
      .map((j) => ({ start: Date.parse(j.status!.startTime!), end: Date.parse(j.status!.completionTime!) }))
      .sort((a, b) => a.start - b.start);
    expect(mine).toHaveLength(3);
    // Times have 1 s resolution: the next save starts no earlier than the previous one ended.
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end);
    for (const r of results)
      await deleteGroupAndCheck(
        r.group!.group_snapshot_id,
        r.group!.snapshots.map((s) => s.snapshot_id),
      );
  });

  it('(j) a full snapshot claim → RESOURCE_EXHAUSTED naming the space needed; the group leaves nothing', async () => {
    // The claim's directory becomes an 8 MiB filesystem; main's database is made larger than that
    // here (the same keys (f) writes), whichever case ran before.
    await main.loadData(16);
    const dir = await claimDir(env, NS, 'etcd-snapshots-main');
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    try {
      const { error } = await groupSnapshotUntilDone(env, 'group-full', [await mainVolume()], 120_000);
      expect(error?.code).toBe(8); // RESOURCE_EXHAUSTED
      expect(error?.details).toMatch(/^STORAGE_QUOTA_EXCEEDED:.*\d+/);
      const records = (
        await env.kubeClient.request<{ items: EtcdSnapshot[] }>(
          'GET',
          `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots`,
        )
      ).items.filter((r) => r.spec.requestName === 'group-full');
      expect(records.map((r) => r.status?.reason)).toEqual(['STORAGE_QUOTA_EXCEEDED']);
      await waitFor(
        'the failed record to clean up',
        async () => {
          const r = await env.kubeClient.request<EtcdSnapshot>(
            'GET',
            `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshots/${records[0]!.metadata!.name}`,
          );
          return r.metadata?.finalizers?.length ? undefined : true;
        },
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await execFileAsync('umount', [dir]);
    }
  });

  it('(e) 2 of 3 members down → ETCD_QUORUM_LOST', async () => {
    await cluster.kubectl(['scale', 'statefulset', '-n', NS, 'lossy', '--replicas=1']);
    await waitFor(
      'two members to be gone',
      async () => ((await lossy.pods()).length === 1 ? true : undefined),
      {
        timeoutMs: 90_000,
        intervalMs: 500,
      },
    );
    const volume = await createVolume(env, 'lossy-data', 'lossy', NS);
    const { error } = await groupSnapshotUntilDone(env, 'group-no-quorum', [volume], 120_000);
    expect(error?.details).toMatch(/^ETCD_QUORUM_LOST:/);
  });
});
