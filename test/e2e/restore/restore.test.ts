// The restore engine end to end on the local cluster: a real 3-member etcd StatefulSet through
// the process kubelet, a snapshot made the real way (CSI group snapshot → pipeline → agent Job),
// then EtcdRestores run by the in-process restore controller with agent Jobs under PodSecurity
// `restricted`. Cases run in order on one cluster; each prints the wall time of every phase.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterTurns } from '../../../src/reconcile/cluster-turns.ts';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { probeLiveCluster } from '../../../src/reconcile/etcd-restore/live-cluster.ts';
import type { LiveClusterProbe } from '../../../src/reconcile/etcd-restore/ports.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { deployEtcdFixture, type EtcdFixture } from '../../harness/etcd-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
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
  startPipeline,
} from '../pipeline/env.ts';
import { createRestore, phaseLine, prepareNamespace, startRestoreController } from './env.ts';
import { followRestore } from './follow-restore.ts';

const NS = 'etcd';
let cluster: LocalCluster;
let main: EtcdFixture;
let env: DriverEnv;
let pipeline: Controller;
let restores: Controller;
const turns = new ClusterTurns();
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'restore' });
  await installCrds(cluster);
  main = await deployEtcdFixture(cluster, { name: 'main', namespace: NS, replicas: 3 });
  await main.waitHealthy(120_000);
  await prepareNamespace(cluster, NS);
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  pipeline = startPipeline(env, log, { turns });
  restores = startRestoreController(env, log, turns);
  // The CSI server answers NOT_READY until every informer (the restore controller's too) synced.
  await waitFor('the informers to sync', async () =>
    env.factory.informers().every((i) => i.hasSynced) ? true : undefined,
  );
});

afterAll(async () => {
  await restores?.stop({ deadlineMs: 5_000 });
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

async function snapshotOf(name: string, volume: string): Promise<EtcdSnapshot> {
  const { group, error } = await groupSnapshotUntilDone(env, name, [volume]);
  expect(error).toBeUndefined();
  const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
  expect(record?.status?.phase).toBe('Ready');
  return record!;
}

async function keysWithValues(prefix: string): Promise<Record<string, string>> {
  const out = await main.etcdctl(['get', prefix, '--prefix']);
  const lines = out.split('\n').filter((l) => l !== '');
  const result: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) result[lines[i]!] = lines[i + 1]!;
  return result;
}

async function revisionNow(): Promise<number> {
  const out = await main.etcdctl(['get', '/', '-w', 'json']);
  return Number((JSON.parse(out) as { header: { revision: number | string } }).header.revision);
}

async function statefulSet(): Promise<{ generation: number; replicas: number }> {
  const s = await env.kubeClient.request<{ metadata: { generation: number }; spec: { replicas: number } }>(
    'GET',
    `/apis/apps/v1/namespaces/${NS}/statefulsets/main`,
  );
  return { generation: s.metadata.generation, replicas: s.spec.replicas };
}

async function memberPods(): Promise<string[]> {
  return (await main.pods()).map((p) => `${p.metadata?.name}`).sort();
}

describe.skipIf(
  localClusterOnly(
    'test/e2e/restore/restore.test.ts',
    'runs the restore controller in this process, with the image table of the process kubelet, and edits snapshot files on host paths',
  ),
)('EtcdRestore on a 3-member StatefulSet', () => {
  let first: EtcdSnapshot;
  let volume = '';

  it('restores in place: keys after the snapshot gone, keys before it back with their values, revision bumped, 3 healthy members, same pods', async () => {
    volume = await createVolume(env, 'main-data', 'main', NS);
    await putKeys(main, { '/app/a': 'alpha', '/app/b': 'beta', '/app/c': 'gamma' });
    first = await snapshotOf('before-restore', volume);
    await putKeys(main, { '/app/after': 'must-go', '/app/a': 'changed' });
    const revisionBefore = await revisionNow();
    const podsBefore = await memberPods();

    await createRestore(env, NS, 'in-place', {
      source: { etcdSnapshot: { name: first.metadata!.name! } },
      target: { cluster: 'main' },
    });
    const { restore, phases } = await followRestore(env, NS, 'in-place', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('in-place restore', phases));
    expect(restore.status).toMatchObject({
      phase: 'Completed',
      membersFrom: 'member-list',
      recordedReplicas: 3,
    });
    await main.waitHealthy(120_000);

    expect(await keysWithValues('/app/')).toEqual({ '/app/a': 'alpha', '/app/b': 'beta', '/app/c': 'gamma' });
    const bump = restore.status!.revisionBump!;
    expect(bump).toBeGreaterThanOrEqual(1_000_000_000);
    expect(await revisionNow()).toBeGreaterThanOrEqual(first.status!.revision! + bump);
    expect(await revisionNow()).toBeGreaterThan(revisionBefore);
    const members = JSON.parse(await main.etcdctl(['member', 'list', '-w', 'json'])) as {
      members: { name: string }[];
    };
    expect(members.members.map((m) => m.name).sort()).toEqual(['main-0', 'main-1', 'main-2']);
    const health = await main.etcdctl(['endpoint', 'health', '-w', 'json']);
    expect((JSON.parse(health) as { health: boolean }[]).filter((h) => h.health)).toHaveLength(3);
    expect(await memberPods()).toEqual(podsBefore);
    expect((await statefulSet()).replicas).toBe(3);
  });

  it('a restore controller killed at every phase boundary and started again converges: one Job per member, the data restored', async () => {
    await putKeys(main, { '/app/after': 'must-go-again' });
    const killed: string[] = [];
    const { restore, phases } = await (async () => {
      await createRestore(env, NS, 'crashing', {
        source: { etcdSnapshot: { name: first.metadata!.name! } },
        target: { cluster: 'main' },
      });
      return followRestore(
        env,
        NS,
        'crashing',
        ['Completed', 'Failed', 'RolledBack'],
        300_000,
        async (phase) => {
          // In-flight reconciles aborted at once, the in-memory turns lost: what a SIGKILL leaves.
          await restores.stop({ deadlineMs: 0, abortGraceMs: 2_000 });
          restores = startRestoreController(env, log, new ClusterTurns());
          killed.push(phase);
        },
      );
    })();
    console.log(phaseLine(`restore with the controller replaced at ${killed.join(', ')}`, phases));
    expect(restore.status?.phase).toBe('Completed');
    expect(killed.length).toBeGreaterThanOrEqual(4);
    const jobs = (await pipelineJobs(env, NS)).filter((j) => j.includes('crashing')).sort();
    expect(jobs).toEqual([
      'snapshot-restore-crashing-main-0',
      'snapshot-restore-crashing-main-1',
      'snapshot-restore-crashing-main-2',
      'snapshot-restore-verify-crashing',
    ]);
    for (const job of jobs) {
      const pods = await env.kubeClient.request<{ items: unknown[] }>(
        'GET',
        `/api/v1/namespaces/${NS}/pods?labelSelector=${encodeURIComponent(`job-name=${job}`)}`,
      );
      expect(pods.items, `pods of ${job}`).toHaveLength(1);
    }
    await main.waitHealthy(120_000);
    expect(await keysWithValues('/app/')).toEqual({ '/app/a': 'alpha', '/app/b': 'beta', '/app/c': 'gamma' });
  });

  it('restores into a new cluster (another StatefulSet with its own claims) while the original keeps running', async () => {
    const copy = await deployEtcdFixture(cluster, { name: 'copy', namespace: NS, replicas: 3 });
    await copy.waitHealthy(120_000);
    await copy.etcdctl(['put', '/copy/own', 'goes']);
    const mainPods = (await main.pods()).map((p) => p.metadata?.uid).sort();

    await createRestore(env, NS, 'into-copy', {
      source: { etcdSnapshot: { name: first.metadata!.name! } },
      target: { cluster: 'copy' },
    });
    const { restore, phases } = await followRestore(env, NS, 'into-copy', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('restore into a new cluster', phases));
    expect(restore.status).toMatchObject({ phase: 'Completed', clusterKey: `${NS}/copy` });
    await copy.waitHealthy(120_000);
    const out = await copy.etcdctl(['get', '/', '--prefix', '--keys-only']);
    expect(
      out
        .split('\n')
        .filter((l) => l !== '')
        .sort(),
    ).toEqual(['/app/a', '/app/b', '/app/c']);
    // The original was never stopped, and still serves its own data.
    expect((await main.pods()).map((p) => p.metadata?.uid).sort()).toEqual(mainPods);
    expect(await keysWithValues('/app/')).toEqual({ '/app/a': 'alpha', '/app/b': 'beta', '/app/c': 'gamma' });
    await copy.delete();
  });

  it('restores TLS (DNS-only server certificates) and user/password clusters with their credentials Secrets', async () => {
    const fixtures = await Promise.all([
      deployEtcdFixture(cluster, {
        name: 'secure',
        namespace: NS,
        replicas: 1,
        auth: 'tls',
        serverNames: 'dns',
      }),
      deployEtcdFixture(cluster, { name: 'basic', namespace: NS, replicas: 1, auth: 'basic' }),
    ]);
    for (const fixture of fixtures) {
      await fixture.waitHealthy(120_000);
      // The source claim's way of naming the Secret: the pods' annotation (the restore's
      // restarted pods lose it; the engine then takes the record's Secret of the same cluster).
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
    await waitFor('the pod cache to see the annotations', () =>
      env.stores.pods.list().filter((p) => p.metadata?.annotations?.['etcd.io/credentials-secret']).length >=
      2
        ? true
        : undefined,
    );
    for (const fixture of fixtures) {
      await fixture.etcdctl(['put', `/${fixture.name}/kept`, 'yes']);
      const record = await snapshotOf(
        `${fixture.name}-snap`,
        await createVolume(env, `${fixture.name}-data`, fixture.name, NS),
      );
      expect(record.spec.cluster.credentialsSecret).toBe(fixture.credentialsSecret);
      await fixture.etcdctl(['put', `/${fixture.name}/gone`, 'yes']);
      await createRestore(env, NS, `${fixture.name}-restore`, {
        source: { etcdSnapshot: { name: record.metadata!.name! } },
        target: { cluster: fixture.name },
      });
      const { restore, phases } = await followRestore(env, NS, `${fixture.name}-restore`, [
        'Completed',
        'Failed',
        'RolledBack',
      ]);
      console.log(phaseLine(`${fixture.auth} cluster restore`, phases));
      expect(restore.status).toMatchObject({ phase: 'Completed', membersFrom: 'member-list' });
      await fixture.waitHealthy(120_000);
      const keys = await fixture.etcdctl(['get', `/${fixture.name}/`, '--prefix', '--keys-only']);
      expect(keys.split('\n').filter((l) => l !== '')).toEqual([`/${fixture.name}/kept`]);
    }
    await Promise.all(fixtures.map((f) => f.delete()));
  });

  it('refuses a corrupted snapshot file before quiescing: the StatefulSet is never scaled', async () => {
    const corrupt = await snapshotOf('to-corrupt', volume);
    const file = join(await claimDir(env, NS, corrupt.spec.storage.claimName), corrupt.status!.backupPath!);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)]! + 1) % 256;
    writeFileSync(file, bytes);
    const before = await statefulSet();
    const podsBefore = (await main.pods()).map((p) => p.metadata?.uid).sort();

    await createRestore(env, NS, 'corrupt', {
      source: { etcdSnapshot: { name: corrupt.metadata!.name! } },
      target: { cluster: 'main' },
    });
    const { restore, phases } = await followRestore(env, NS, 'corrupt', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('corrupted file refused', phases));
    expect(restore.status).toMatchObject({ phase: 'Failed', failedPhase: 'VerifyingFile' });
    expect(restore.status?.recordedReplicas).toBeUndefined();
    expect(await statefulSet()).toEqual(before);
    expect((await main.pods()).map((p) => p.metadata?.uid).sort()).toEqual(podsBefore);
  });

  it('a verification failure rolls back: the old data is back and the cluster runs as it was', async () => {
    // The result check sees one member without keys (what a member that restored nothing would
    // show): a verification failure after the swap. Everything else — Jobs, renames, scaling — is real.
    await restores.stop({ deadlineMs: 5_000 });
    const memberWithoutKeys: LiveClusterProbe = async (endpoints, credentials, options) => {
      const view = await probeLiveCluster(endpoints, credentials, options);
      const counts = view.keyCounts?.map((c, i) => (i === 0 ? { ...c, count: 0 } : c));
      return counts ? { ...view, keyCounts: counts } : view;
    };
    restores = startRestoreController(env, log, turns, {}, memberWithoutKeys);
    await putKeys(main, { '/app/kept': 'by-the-rollback' });
    const before = await keysWithValues('/app/');

    await createRestore(env, NS, 'rolled-back', {
      source: { etcdSnapshot: { name: first.metadata!.name! } },
      target: { cluster: 'main' },
    });
    const { restore, phases } = await followRestore(env, NS, 'rolled-back', [
      'Completed',
      'Failed',
      'RolledBack',
    ]);
    console.log(phaseLine('verification failure rolled back', phases));
    expect(restore.status).toMatchObject({
      phase: 'RolledBack',
      reason: 'RESTORE_VERIFICATION_FAILED',
      swapStarted: true,
    });
    await main.waitHealthy(120_000);
    expect(await keysWithValues('/app/')).toEqual(before);
    expect((await statefulSet()).replicas).toBe(3);
  });
});
