// etcd-druid for real, minus druid: the driver starts on a cluster without the Etcd CRD; then the
// CRD (druid's API facts) is installed and an Etcd with client TLS appears with what druid creates
// for it (StatefulSet, peer and client Services, CA / server / client Secrets; serving
// certificates with DNS names only). Without a restart, discovery finds the cluster through the
// Etcd, takes the CA from its tlsCASecretRef (dataKey bundle.crt), and a snapshot becomes ready
// and restores.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../../src/reconcile/controller.ts';
import { type DruidFixture, deployDruidEtcd, installDruidCrd } from '../../harness/druid-fixture.ts';
import { localClusterOnly } from '../../harness/existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import { type DriverEnv, installCrds, startDriver } from '../../integration/csi/driver-env.ts';
import {
  claimDir,
  createVolume,
  groupSnapshotUntilDone,
  pipelineLogger,
  recordsOfGroup,
  restoredKeys,
  restrictNamespace,
  startPipeline,
} from '../pipeline/env.ts';

const NS = 'shoot--demo';
let cluster: LocalCluster;
let env: DriverEnv;
let pipeline: Controller;
let druid: DruidFixture;
const log = pipelineLogger();

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'druid' });
  await installCrds(cluster);
  await cluster.kubectl(['create', 'namespace', NS]);
  env = await startDriver(cluster, { etcdNamespace: NS, log, druidCrdPollMs: 1_000 });
  pipeline = startPipeline(env, log);
});

afterAll(async () => {
  await pipeline?.stop({ deadlineMs: 5_000 });
  await env?.stop();
  await cluster?.stop();
});

describe.skipIf(
  localClusterOnly(
    'test/e2e/druid/druid.test.ts',
    'runs the pipeline in-process on the host and writes keys with etcdctl at pod IPs',
  ),
)('etcd-druid', () => {
  it('an Etcd CRD installed after the driver started is picked up without a restart', async () => {
    const store = env.stores.druidEtcds as { attached?: boolean } | undefined;
    expect(store?.attached).toBe(false);
    await installDruidCrd(cluster);
    druid = await deployDruidEtcd(cluster, { name: 'etcd-main', namespace: NS, replicas: 3 });
    // Only the driver's Jobs start from here on: they must pass PodSecurity restricted.
    await restrictNamespace(cluster, NS);
    await waitFor(
      'discovery to see the Etcd etcd-main',
      () => (env.stores.druidEtcds?.get(`${NS}/etcd-main`) ? true : undefined),
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(store?.attached).toBe(true);
  });

  it('a snapshot over client TLS (CA from tlsCASecretRef, DNS-only certificates) becomes ready and restores', async () => {
    expect(druid).toBeDefined();
    for (const [k, v] of Object.entries({ '/registry/a': '1', '/registry/b': '2' })) {
      await druid.etcdctl(['put', k, v]);
    }
    const volume = await createVolume(env, 'etcd-main-data', 'etcd-main', NS);
    const { group, error } = await groupSnapshotUntilDone(env, 'druid-group', [volume]);
    expect(error).toBeUndefined();
    const [record] = await recordsOfGroup(env, group!.group_snapshot_id);
    expect(record!.status).toMatchObject({ phase: 'Ready', readyToUse: true });
    expect(record!.spec.cluster).toMatchObject({
      discoveredBy: 'etcd-druid',
      credentialsSecret: druid.secrets.client,
      caSecret: { name: druid.secrets.ca, key: 'bundle.crt' },
    });
    // Dialled by pod IP, each checked for its name behind the peer Service (the wildcard's).
    const names = (record!.status?.endpoints ?? []).map(
      (e) => /^https:\/\/[\d.]+:2379\?tls-server-name=(.+)$/.exec(e)?.[1],
    );
    expect(names.sort()).toEqual([0, 1, 2].map((i) => `etcd-main-${i}.etcd-main-peer.${NS}.svc`));
    const file = join(await claimDir(env, NS, record!.spec.storage.claimName), record!.status!.backupPath!);
    expect(await restoredKeys(file, cluster.dir)).toEqual(['/registry/a', '/registry/b']);
  });
});
