// The CSI server against a real apiserver and a real 3-member etcd: real informers, records in
// the real CRDs, a real gRPC client over the unix socket.
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CsiRecordApis } from '../../../src/csi/driver.ts';
import { ERROR_CATALOG, type ErrorReason } from '../../../src/csi/errors.ts';
import type {
  CreateVolumeGroupSnapshotResponse,
  CreateVolumeResponse,
  ListSnapshotsResponse,
  VolumeGroupSnapshot,
} from '../../../src/csi/messages.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import type { JsonRequester } from '../../../src/kube/custom-objects.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import type { EtcdFixture } from '../../harness/etcd-fixture.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { writeKubeconfig } from '../../harness/pki.ts';
import { waitFor } from '../../harness/process.ts';
import { createBoundClaim, type DriverEnv, deployEtcd, installCrds, startDriver } from './driver-env.ts';
import { fromSnapshot, restoresOf, setRestoreStatus, snapshotOf } from './restore-door-steps.ts';

const NS = 'etcd';
const DRIVER = 'etcd-snapshot-driver';
const RECORDS = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1';
const MOUNT = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };

let cluster: LocalCluster;
let etcd: EtcdFixture;
let env: DriverEnv;
let admin: KubeClient;
let core: CoreV1Api;

const boundClaim = (name: string, annotations: Record<string, string> = { 'etcd.io/cluster': 'main' }) =>
  createBoundClaim(core, { namespace: NS, name, annotations, driver: DRIVER });

async function pendingClaim(
  name: string,
  annotations: Record<string, string> = { 'etcd.io/cluster': 'main' },
) {
  await core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: {
      metadata: { name, annotations },
      spec: {
        storageClassName: 'etcd-source-unprovisioned',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Mi' } },
      },
    },
  });
  return `${NS}/${name}`;
}

/** Waits until the driver's caches see every claim Bound (or present, for pending ones). */
async function cached(e: DriverEnv, ids: string[], phase?: string): Promise<void> {
  await waitFor(`claims ${ids.join(', ')} in the driver's cache`, () =>
    ids.every((id) => {
      const c = e.stores.persistentVolumeClaims.get(id);
      return c && (!phase || c.status?.phase === phase);
    })
      ? true
      : undefined,
  );
}

const records = async (): Promise<EtcdSnapshot[]> =>
  (await admin.request<{ items: EtcdSnapshot[] }>('GET', `${RECORDS}/namespaces/${NS}/etcdsnapshots`)).items;

async function recordsOfGroup(id: string): Promise<EtcdSnapshot[]> {
  return (await records()).filter((r) => r.spec.groupSnapshotId === id);
}

async function patchStatus(record: EtcdSnapshot, status: Record<string, unknown>): Promise<void> {
  await admin.request(
    'PATCH',
    `${RECORDS}/namespaces/${record.metadata?.namespace}/etcdsnapshots/${record.metadata?.name}/status`,
    {
      body: { status },
      contentType: 'application/merge-patch+json',
    },
  );
}

async function grpcError(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (err) {
    return err as { code: number; details: string };
  }
  throw new Error('expected the call to fail');
}

const createGroup = (e: DriverEnv, name: string, ids: string[], parameters: Record<string, string> = {}) =>
  e.client.GroupController.CreateVolumeGroupSnapshot!({
    name,
    source_volume_ids: ids,
    parameters,
  }) as Promise<CreateVolumeGroupSnapshotResponse>;

let claims: { a: string; b: string; c: string };

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'csi' });
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  admin = new KubeClient(cluster.kubeConfig);
  await installCrds(cluster);
  etcd = await deployEtcd(cluster);
  env = await startDriver(cluster, { etcdNamespace: NS });
  claims = { a: await boundClaim('data-a'), b: await boundClaim('data-b'), c: await boundClaim('data-c') };
  await cached(env, Object.values(claims), 'Bound');
});

afterAll(async () => {
  await env?.stop();
  admin?.destroy();
  await cluster?.stop();
});

describe('Identity over the socket', () => {
  it('is ready once the caches synced and the API answers, and names itself', async () => {
    expect((await env.client.Identity.Probe!()).ready.value).toBe(true);
    const info = await env.client.Identity.GetPluginInfo!();
    expect(info.name).toBe(DRIVER);
    expect(info.vendor_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info.manifest.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await env.client.Node.NodeGetInfo!()).toMatchObject({ node_id: cluster.nodeName });
  });
});

describe('etcd source volumes', () => {
  it('remembers a volume made without a claim in an EtcdSourceVolume, idempotently', async () => {
    const req = {
      name: 'sanity-like Volume 1',
      capacity_range: { required_bytes: 1 << 20, limit_bytes: 1 << 20 },
      volume_capabilities: [MOUNT],
      parameters: { 'etcd-cluster-name': 'main', 'etcd-namespace': NS },
    };
    const first = (await env.client.Controller.CreateVolume!(req)) as CreateVolumeResponse;
    expect(first.volume.volume_id).toMatch(/^etcd\/vol-/);
    const name = first.volume.volume_id.split('/')[1]!;
    const stored = await admin.request<{ spec: { volumeName: string } }>(
      'GET',
      `${RECORDS}/namespaces/${NS}/etcdsourcevolumes/${name}`,
    );
    expect(stored.spec.volumeName).toBe(req.name);
    const writes = env.apiCalls.writes;
    expect(await env.client.Controller.CreateVolume!(req)).toEqual(first);
    expect(env.apiCalls.writes).toBe(writes);
    const bigger = { ...req, capacity_range: { required_bytes: 2 << 20, limit_bytes: 2 << 20 } };
    expect((await grpcError(env.client.Controller.CreateVolume!(bigger))).code).toBe(status.ALREADY_EXISTS);
    // The volume stands for the cluster: snapshots of it work without any PVC.
    const { snapshot } = await env.client.Controller.CreateSnapshot!({
      name: 'snap-of-volume',
      source_volume_id: first.volume.volume_id,
    });
    expect(snapshot.source_volume_id).toBe(first.volume.volume_id);
    await env.client.Controller.DeleteSnapshot!({ snapshot_id: snapshot.snapshot_id });
    await env.client.Controller.DeleteVolume!({ volume_id: first.volume.volume_id });
    expect(
      await admin.request('GET', `${RECORDS}/namespaces/${NS}/etcdsourcevolumes/${name}`).then(
        () => 'exists',
        () => 'gone',
      ),
    ).toBe('gone');
  });

  it('uses <namespace>/<pvc> and the claim’s annotations when csi-provisioner passes the claim', async () => {
    const id = await pendingClaim('provisioned');
    await cached(env, [id]);
    const res = (await env.client.Controller.CreateVolume!({
      name: 'pvc-0000-1111',
      volume_capabilities: [MOUNT],
      parameters: {
        'csi.storage.k8s.io/pvc/name': 'provisioned',
        'csi.storage.k8s.io/pvc/namespace': NS,
        'csi.storage.k8s.io/pv/name': 'pvc-0000-1111',
      },
    })) as CreateVolumeResponse;
    expect(res.volume).toMatchObject({
      volume_id: id,
      volume_context: { 'etcd-namespace': NS, 'etcd-cluster-name': 'main' },
    });
    await env.client.Controller.DeleteVolume!({ volume_id: id });
  });

  it('validates capabilities of volumes and static claims; NOT_FOUND for anything else', async () => {
    const ok = await env.client.Controller.ValidateVolumeCapabilities!({
      volume_id: claims.a,
      volume_capabilities: [MOUNT],
    });
    expect(ok.confirmed.volume_capabilities).toHaveLength(1);
    const err = await grpcError(
      env.client.Controller.ValidateVolumeCapabilities!({
        volume_id: 'fake-vol-id-123',
        volume_capabilities: [MOUNT],
      }),
    );
    expect(err.code).toBe(status.NOT_FOUND);
  });
});

describe('group snapshots of the etcd fixture', () => {
  let group: VolumeGroupSnapshot;

  it('writes one record for volumes of one cluster, with the members’ pod IPs as endpoints', async () => {
    const res = await createGroup(env, 'groupsnapshot-1', [claims.b, claims.a]);
    group = res.group_snapshot;
    expect(group.snapshots.map((s) => s.source_volume_id)).toEqual([claims.a, claims.b]);
    expect(group.ready_to_use).toBe(false);
    expect(group.creation_time.seconds).toBeGreaterThan(0);
    const [record, ...more] = await recordsOfGroup(group.group_snapshot_id);
    expect(more).toEqual([]);
    expect(record!.spec.cluster).toMatchObject({
      key: `${NS}/main`,
      discoveredBy: 'pods',
      endpoints: await etcd.endpoints(),
    });
    expect(record!.metadata?.finalizers).toEqual(['snapshot.etcd-snapshot-driver.io/backup-file']);
    expect(record!.spec.members.map((m) => m.sourcePvcName)).toEqual(['data-a', 'data-b']);
    const table = await cluster.kubectl(['get', 'etcdsnapshots', '-n', NS, record!.metadata!.name!]);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+CLUSTER\s+SIZE\s+REVISION\s+REMOTE\s+AGE$/);
  });

  it('answers re-calls from the cache, in any order, without API calls', async () => {
    await waitFor('the record in the informer cache', () =>
      env.stores.etcdSnapshots.byIndex('group-snapshot-id', group.group_snapshot_id).length === 1
        ? true
        : undefined,
    );
    const before = { ...env.apiCalls };
    for (let i = 0; i < 20; i++) {
      const ids = i % 2 ? [claims.a, claims.b] : [claims.b, claims.a];
      expect((await createGroup(env, 'groupsnapshot-1', ids)).group_snapshot).toEqual(group);
    }
    expect(env.apiCalls).toEqual(before);
    expect(
      (
        await env.client.GroupController.GetVolumeGroupSnapshot!({
          group_snapshot_id: group.group_snapshot_id,
        })
      ).group_snapshot,
    ).toEqual(group);
    expect(env.apiCalls).toEqual(before);
    expect((await grpcError(createGroup(env, 'groupsnapshot-1', [claims.a, claims.b, claims.c]))).code).toBe(
      status.ALREADY_EXISTS,
    );
  });

  it('lists its members at once and pages them', async () => {
    const all = (await env.client.Controller.ListSnapshots!({})) as ListSnapshotsResponse;
    const ids = all.entries.map((e) => e.snapshot.snapshot_id);
    expect(ids).toEqual(expect.arrayContaining(group.snapshots.map((s) => s.snapshot_id)));
    const page = (await env.client.Controller.ListSnapshots!({ max_entries: 1 })) as ListSnapshotsResponse;
    expect(page.entries).toHaveLength(1);
    const rest = (await env.client.Controller.ListSnapshots!({
      starting_token: page.next_token,
    })) as ListSnapshotsResponse;
    expect([...page.entries, ...rest.entries].map((e) => e.snapshot.snapshot_id)).toEqual(ids);
    const bySource = (await env.client.Controller.ListSnapshots!({
      source_volume_id: claims.b,
    })) as ListSnapshotsResponse;
    expect(bySource.entries.map((e) => e.snapshot.source_volume_id)).toEqual([claims.b]);
  });

  it('reports what the pipeline writes into status: ready, size, time', async () => {
    const [record] = await recordsOfGroup(group.group_snapshot_id);
    await patchStatus(record!, {
      phase: 'Ready',
      readyToUse: true,
      sizeBytes: 123456,
      revision: 42,
      creationTime: '2030-01-01T00:00:00Z',
    });
    const ready = await waitFor('the ready group', async () => {
      const g = (await createGroup(env, 'groupsnapshot-1', [claims.a, claims.b])).group_snapshot;
      return g.ready_to_use ? g : undefined;
    });
    expect(ready.snapshots.map((s) => [s.snapshot_id, s.size_bytes, s.ready_to_use])).toEqual(
      group.snapshots.map((s) => [s.snapshot_id, 123456, true]),
    );
    expect(ready.creation_time.seconds).toBe(Date.parse('2030-01-01T00:00:00Z') / 1000);
    const table = await cluster.kubectl([
      'get',
      'etcdsnapshots',
      '-n',
      NS,
      record!.metadata!.name!,
      '--no-headers',
    ]);
    expect(table.stdout).toMatch(/\btrue\s+etcd\/main\s+123456\s+42\b/);
  });

  it('keeps the member list fixed (CEL) while letting members be marked', async () => {
    const [record] = await recordsOfGroup(group.group_snapshot_id);
    const path = `${RECORDS}/namespaces/${NS}/etcdsnapshots/${record!.metadata!.name}`;
    const err = await admin
      .request('PATCH', path, {
        body: [{ op: 'replace', path: '/spec/members/0/sourceVolumeId', value: 'etcd/other' }],
        contentType: 'application/json-patch+json',
      })
      .then(
        () => undefined,
        (e: unknown) => e as { statusCode: number; message: string },
      );
    expect(err?.statusCode).toBe(422);
    expect(err?.message).toContain('member list is fixed');
  });

  it('deletes members one by one; the record goes with its last, held by the finalizer until the file is gone', async () => {
    await env.client.Controller.DeleteSnapshot!({ snapshot_id: group.snapshots[0]!.snapshot_id });
    let [record] = await recordsOfGroup(group.group_snapshot_id);
    expect(record!.spec.members.map((m) => Boolean(m.deletionRequested))).toEqual([true, false]);
    expect(record!.metadata?.deletionTimestamp).toBeUndefined();
    const listed = (await env.client.Controller.ListSnapshots!({})) as ListSnapshotsResponse;
    expect(listed.entries.map((e) => e.snapshot.snapshot_id)).not.toContain(group.snapshots[0]!.snapshot_id);
    await env.client.Controller.DeleteSnapshot!({ snapshot_id: group.snapshots[1]!.snapshot_id });
    [record] = await recordsOfGroup(group.group_snapshot_id);
    expect(record!.metadata?.deletionTimestamp).toBeTruthy();
    await env.client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: group.group_snapshot_id,
      snapshot_ids: group.snapshots.map((s) => s.snapshot_id),
    });
    // The pipeline's part: remove the finalizer once the file is gone.
    await admin.request('PATCH', `${RECORDS}/namespaces/${NS}/etcdsnapshots/${record!.metadata!.name}`, {
      body: { metadata: { finalizers: null } },
      contentType: 'application/merge-patch+json',
    });
    expect(await recordsOfGroup(group.group_snapshot_id)).toEqual([]);
    await env.client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: group.group_snapshot_id,
    });
    expect(
      (
        await grpcError(
          env.client.GroupController.GetVolumeGroupSnapshot!({ group_snapshot_id: group.group_snapshot_id }),
        )
      ).code,
    ).toBe(status.NOT_FOUND);
  });

  it('makes one record per cluster for a group spanning two etcd clusters', async () => {
    const other = await deployEtcd(cluster, { name: 'aux', replicas: 1 });
    const d = await boundClaim('data-d', { 'etcd.io/cluster': other.name });
    await cached(env, [d], 'Bound');
    await waitFor('aux pods in the cache', () =>
      env.stores.pods.byIndex('etcd-cluster', `${NS}/aux`).some((p) => p.status?.podIP) ? true : undefined,
    );
    const { group_snapshot: g } = await createGroup(env, 'groupsnapshot-2', [claims.c, d, claims.a]);
    const byCluster = Object.fromEntries(
      (await recordsOfGroup(g.group_snapshot_id)).map((r) => [
        r.spec.cluster.name,
        r.spec.members.map((m) => m.sourceVolumeId),
      ]),
    );
    expect(byCluster).toEqual({ main: [claims.a, claims.c], aux: [d] });
    expect(g.snapshots).toHaveLength(3);
  });
});

// ---- every row of the error table, against the real apiserver ----

type Mode = 'normal' | 'forbidden' | 'unreachable' | 'reject' | 'slow' | 'internal' | 'conflict' | 'unsynced';

describe('error table against the real apiserver', () => {
  let special: DriverEnv;
  let mode: Mode = 'normal';
  let n = 0;
  const unique = (prefix: string) => `${prefix}-${++n}`;

  beforeAll(async () => {
    // A second driver whose record writes can be made to fail the ways a real cluster fails.
    const dir = cluster.dir;
    const user = cluster.pki.issue('csi-unprivileged', { commonName: 'csi-unprivileged', usage: 'client' });
    writeKubeconfig(
      join(dir, 'unprivileged.kubeconfig'),
      cluster.apiserverUrl,
      cluster.pki.ca.certFile,
      'u',
      user,
    );
    const unprivileged = new KubeClient(loadKubeconfig(join(dir, 'unprivileged.kubeconfig')));
    writeKubeconfig(
      join(dir, 'unreachable.kubeconfig'),
      'https://127.0.0.1:1',
      cluster.pki.ca.certFile,
      'u',
      user,
    );
    const unreachable = new KubeClient(loadKubeconfig(join(dir, 'unreachable.kubeconfig')));
    const writeClient: JsonRequester = {
      request: (method, path, options) =>
        (mode === 'forbidden' ? unprivileged : mode === 'unreachable' ? unreachable : admin).request(
          method,
          path,
          options,
        ),
    };
    special = await startDriver(cluster, {
      etcdNamespace: NS,
      writeClient,
      cachesSynced: () => mode !== 'unsynced',
      wrapApis: (apis: CsiRecordApis): CsiRecordApis => ({
        volumes: apis.volumes,
        restores: apis.restores,
        nameClaims: apis.nameClaims,
        snapshots: {
          ...apis.snapshots,
          type: apis.snapshots.type,
          get: (ns, name) => apis.snapshots.get(ns, name),
          delete: (ns, name, pre) => apis.snapshots.delete(ns, name, pre),
          async create(ns, body) {
            if (mode === 'slow') await new Promise((r) => setTimeout(r, 3_000));
            if (mode === 'internal') throw new RangeError('an unexpected bug');
            if (mode === 'reject') body = { ...body, spec: { ...body.spec, retentionDays: 99_999 } };
            return apis.snapshots.create(ns, body);
          },
          async jsonPatch(ns, name, ops) {
            if (mode === 'conflict') {
              // Another writer changes the record first: the guarded patch meets a real 409.
              await admin.request('PATCH', `${RECORDS}/namespaces/${ns}/etcdsnapshots/${name}`, {
                body: { metadata: { labels: { touched: String(++n) } } },
                contentType: 'application/merge-patch+json',
              });
            }
            return apis.snapshots.jsonPatch(ns, name, ops);
          },
        },
      }),
    });
  });
  afterAll(async () => {
    await special?.stop();
  });

  const c = () => env.client;
  const snapshot = (req: Record<string, unknown> = {}) =>
    c().Controller.CreateSnapshot!({ name: unique('s'), source_volume_id: claims.a, ...req });
  const group = (req: Record<string, unknown> = {}) =>
    c().GroupController.CreateVolumeGroupSnapshot!({
      name: unique('g'),
      source_volume_ids: [claims.a],
      ...req,
    });
  const volume = (req: Record<string, unknown> = {}) =>
    c().Controller.CreateVolume!({
      name: unique('v'),
      volume_capabilities: [MOUNT],
      parameters: { 'etcd-cluster-name': 'main' },
      ...req,
    });
  const withMode = async (m: Mode, fn: () => Promise<unknown>) => {
    mode = m;
    try {
      return await fn();
    } finally {
      mode = 'normal';
    }
  };
  const failedWith = async (reason: string) => {
    const name = unique('failing');
    const { group_snapshot: g } = await createGroup(env, name, [claims.a]);
    const [record] = await recordsOfGroup(g.group_snapshot_id);
    await patchStatus(record!, { phase: 'Failed', reason, message: 'from the pipeline' });
    await waitFor('the failure in the cache', () =>
      env.stores.etcdSnapshots.byIndex('group-snapshot-id', g.group_snapshot_id)[0]?.status?.phase ===
      'Failed'
        ? true
        : undefined,
    );
    return createGroup(env, name, [claims.a]);
  };

  /** CreateVolume of a Pending claim of cluster main from a snapshot of data-a (the restore door). */
  const restoreDoor = async (o: { ready?: boolean; claim?: boolean; failed?: boolean } = {}) => {
    const snapshotId = await snapshotOf(env, admin, unique('snapcontent'), claims.a, o.ready !== false);
    const volumeName = unique('pvc');
    const target = unique('restored');
    if (o.claim !== false) {
      await pendingClaim(target);
      await cached(env, [`${NS}/${target}`]);
    }
    const request = fromSnapshot(
      volumeName,
      snapshotId,
      o.claim === false ? undefined : { namespace: NS, name: target },
    );
    if (!o.failed) return c().Controller.CreateVolume!(request);
    await c().Controller.CreateVolume!(request).catch(() => undefined);
    const [restore] = await restoresOf(admin, NS, volumeName);
    await setRestoreStatus(env, admin, restore!, { phase: 'Failed', reason: 'NOT_IN_THE_CATALOG' });
    return c().Controller.CreateVolume!(request);
  };

  const SCENARIOS: Record<ErrorReason, () => Promise<unknown>> = {
    MALFORMED_REQUEST: () => c().raw('/csi.v1.Controller/ListSnapshots', {}, Uint8Array.of(0x0a, 0x05, 0x01)),
    INVALID_UTF8: () =>
      c().raw(
        '/csi.v1.Controller/CreateSnapshot',
        {},
        // source_volume_id (1) = claims.a, name (2) = the bytes ff fe (not UTF-8)
        Uint8Array.of(0x0a, claims.a.length, ...Buffer.from(claims.a), 0x12, 0x02, 0xff, 0xfe),
      ),
    FIELD_TOO_LARGE: () => c().Controller.DeleteVolume!({ volume_id: 'v'.repeat(100 * 1024) }),
    MISSING_NAME: () => snapshot({ name: '' }),
    NAME_TOO_LONG: () => group({ name: 'n'.repeat(129) }),
    MISSING_VOLUME_ID: () => c().Controller.DeleteVolume!({}),
    MISSING_SNAPSHOT_ID: () => c().Controller.DeleteSnapshot!({}),
    MISSING_GROUP_SNAPSHOT_ID: () => c().GroupController.GetVolumeGroupSnapshot!({}),
    MISSING_SOURCE_VOLUMES: () => group({ source_volume_ids: [] }),
    MISSING_TARGET_PATH: () => c().Node.NodeUnpublishVolume!({ volume_id: claims.a }),
    TOO_MANY_VOLUMES: () => group({ source_volume_ids: Array.from({ length: 65 }, (_, i) => `${NS}/v${i}`) }),
    DUPLICATE_SOURCE_VOLUME: () => group({ source_volume_ids: [claims.a, claims.a] }),
    MISSING_VOLUME_CAPABILITIES: () => volume({ volume_capabilities: [] }),
    INVALID_VOLUME_CAPABILITY: () =>
      volume({ volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }] }),
    INVALID_CAPACITY_RANGE: () => volume({ capacity_range: { required_bytes: 10, limit_bytes: 5 } }),
    UNKNOWN_PARAMETER: () => group({ parameters: { 'no-such-key': 'x' } }),
    INVALID_PARAMETER: () => group({ parameters: { 'retention-days': '0' } }),
    PARAMETERS_TOO_LARGE: () => group({ parameters: { 'csi.storage.k8s.io/big': 'x'.repeat(5000) } }),
    VOLUME_CONTENT_SOURCE_UNSUPPORTED: () =>
      volume({ volume_content_source: { volume: { volume_id: claims.a } } }),
    CONTENT_SOURCE_NOT_FOUND: () =>
      volume({ volume_content_source: { snapshot: { snapshot_id: 'non-existing-snapshot-id' } } }),
    MALFORMED_VOLUME_ID: () => group({ source_volume_ids: ['fake-vol-id'] }),
    INVALID_MAX_ENTRIES: () => c().Controller.ListSnapshots!({ max_entries: -1 }),
    INVALID_STARTING_TOKEN: () => c().Controller.ListSnapshots!({ starting_token: 'invalid-token' }),
    SNAPSHOT_IDS_MISMATCH: async () => {
      const { group_snapshot: g } = await group();
      return c().GroupController.GetVolumeGroupSnapshot!({
        group_snapshot_id: g.group_snapshot_id,
        snapshot_ids: ['snap-aaaaaaaaaaaaaaaaaaaa'],
      });
    },
    VOLUME_NOT_FOUND: () => snapshot({ source_volume_id: `${NS}/no-such-claim` }),
    CLAIM_NOT_FOUND: () =>
      volume({
        parameters: { 'csi.storage.k8s.io/pvc/name': 'absent', 'csi.storage.k8s.io/pvc/namespace': NS },
      }),
    GROUP_SNAPSHOT_NOT_FOUND: () =>
      c().GroupController.GetVolumeGroupSnapshot!({ group_snapshot_id: 'fake-vol-id' }),
    ETCD_CLUSTER_NOT_FOUND: async () => {
      const id = await boundClaim(unique('no-cluster'), { 'etcd.io/cluster': 'nonexistent' });
      await cached(env, [id], 'Bound');
      return group({ source_volume_ids: [id] });
    },
    PVC_NOT_BOUND: async () => {
      const id = await pendingClaim(unique('pending'));
      await cached(env, [id]);
      return snapshot({ source_volume_id: id });
    },
    VOLUME_ALREADY_EXISTS: async () => {
      const name = unique('v');
      await volume({ name, capacity_range: { required_bytes: 100 } });
      return volume({ name, capacity_range: { required_bytes: 200 } });
    },
    SNAPSHOT_ALREADY_EXISTS: async () => {
      const name = unique('s');
      await snapshot({ name });
      return snapshot({ name, source_volume_id: claims.b });
    },
    GROUP_SNAPSHOT_ALREADY_EXISTS: async () => {
      const name = unique('g');
      await group({ name });
      return group({ name, source_volume_ids: [claims.a, claims.b] });
    },
    SNAPSHOT_DELETION_IN_PROGRESS: async () => {
      const name = unique('g');
      const { group_snapshot: g } = await group({ name });
      await c().GroupController.DeleteVolumeGroupSnapshot!({ group_snapshot_id: g.group_snapshot_id });
      return group({ name });
    },
    CONCURRENT_UPDATE: async () => {
      const { group_snapshot: g } = await createGroup(special, unique('g'), [claims.a, claims.b]);
      return withMode('conflict', () =>
        special.client.Controller.DeleteSnapshot!({ snapshot_id: g.snapshots[0]!.snapshot_id }),
      );
    },
    ETCD_ENDPOINTS_UNREACHABLE: () => failedWith('ETCD_ENDPOINTS_UNREACHABLE'),
    ETCD_QUORUM_LOST: () => failedWith('ETCD_QUORUM_LOST'),
    ETCD_NO_LEADER: () => failedWith('ETCD_NO_LEADER'),
    AUTH_CERT_INVALID: () => failedWith('AUTH_CERT_INVALID'),
    AUTH_CERT_NOT_FOUND: () => failedWith('AUTH_CERT_NOT_FOUND'),
    AUTH_PERMISSION_DENIED: () => failedWith('AUTH_PERMISSION_DENIED'),
    AUTH_BASIC_INVALID: () => failedWith('AUTH_BASIC_INVALID'),
    STORAGE_PVC_NOT_FOUND: () => failedWith('STORAGE_PVC_NOT_FOUND'),
    STORAGE_QUOTA_EXCEEDED: () => failedWith('STORAGE_QUOTA_EXCEEDED'),
    STORAGE_WRITE_FAILED: () => failedWith('STORAGE_WRITE_FAILED'),
    JOB_CREATION_FAILED: () => failedWith('JOB_CREATION_FAILED'),
    JOB_TIMEOUT: () => failedWith('JOB_TIMEOUT'),
    JOB_IMAGE_PULL_FAILED: () => failedWith('JOB_IMAGE_PULL_FAILED'),
    JOB_POD_EVICTED: () => failedWith('JOB_POD_EVICTED'),
    CHECKSUM_MISMATCH: () => failedWith('CHECKSUM_MISMATCH'),
    SNAPSHOT_STATUS_FAILED: () => failedWith('SNAPSHOT_STATUS_FAILED'),
    SNAPSHOT_INCOMPLETE: () => failedWith('SNAPSHOT_INCOMPLETE'),
    SNAPSHOT_CREATION_IN_PROGRESS: () => failedWith('SNAPSHOT_CREATION_IN_PROGRESS'),
    CLUSTER_MODIFICATION_IN_PROGRESS: () => failedWith('CLUSTER_MODIFICATION_IN_PROGRESS'),
    RESTORE_FAILED: () => failedWith('RESTORE_FAILED'),
    RESTORE_DATA_DIR_MISSING: () => failedWith('RESTORE_DATA_DIR_MISSING'),
    RESTORE_DATA_DIR_IS_MOUNT: () => failedWith('RESTORE_DATA_DIR_IS_MOUNT'),
    RESTORE_NOT_FINISHED: () => failedWith('RESTORE_NOT_FINISHED'),
    RESTORE_PREVIOUS_DATA_DROPPED: () => failedWith('RESTORE_PREVIOUS_DATA_DROPPED'),
    RESTORE_STATE_INCONSISTENT: () => failedWith('RESTORE_STATE_INCONSISTENT'),
    RESTORE_TARGET_UNKNOWN: () => restoreDoor({ claim: false }),
    VOLUME_SOURCE_NOT_READY: () => restoreDoor({ ready: false }),
    VOLUME_RESTORE_IN_PROGRESS: () => restoreDoor(),
    VOLUME_RESTORE_FAILED: () => restoreDoor({ failed: true }),
    // The engine's restore reasons (an EtcdRestore's status.reason) reach CSI answers as a failed record's do.
    RESTORE_INVALID_SPEC: () => failedWith('RESTORE_INVALID_SPEC'),
    RESTORE_SNAPSHOT_NOT_FOUND: () => failedWith('RESTORE_SNAPSHOT_NOT_FOUND'),
    RESTORE_SNAPSHOT_NOT_READY: () => failedWith('RESTORE_SNAPSHOT_NOT_READY'),
    RESTORE_TARGET_NOT_FOUND: () => failedWith('RESTORE_TARGET_NOT_FOUND'),
    RESTORE_TARGET_MANAGED: () => failedWith('RESTORE_TARGET_MANAGED'),
    RESTORE_MEMBERSHIP_UNRESOLVABLE: () => failedWith('RESTORE_MEMBERSHIP_UNRESOLVABLE'),
    RESTORE_DATA_CLAIM_MISSING: () => failedWith('RESTORE_DATA_CLAIM_MISSING'),
    RESTORE_DATA_CLAIM_TOO_SMALL: () => failedWith('RESTORE_DATA_CLAIM_TOO_SMALL'),
    RESTORE_ETCD_VERSION_TOO_OLD: () => failedWith('RESTORE_ETCD_VERSION_TOO_OLD'),
    RESTORE_QUIESCE_TIMEOUT: () => failedWith('RESTORE_QUIESCE_TIMEOUT'),
    RESTORE_VERIFICATION_FAILED: () => failedWith('RESTORE_VERIFICATION_FAILED'),
    // A schedule's status reasons; a record failed with one answers with its code like any other.
    SCHEDULE_INVALID: () => failedWith('SCHEDULE_INVALID'),
    SCHEDULE_CLASS_NOT_FOUND: () => failedWith('SCHEDULE_CLASS_NOT_FOUND'),
    SCHEDULE_NO_TARGETS: () => failedWith('SCHEDULE_NO_TARGETS'),
    SCHEDULE_RUN_FAILED: () => failedWith('SCHEDULE_RUN_FAILED'),
    SNAPSHOT_FAILED: () => failedWith('NOT_A_CATALOGUED_REASON'),
    OBJECT_STORE_CONFIG_INVALID: () => failedWith('OBJECT_STORE_CONFIG_INVALID'),
    OBJECT_STORE_KEY_INVALID: () => failedWith('OBJECT_STORE_KEY_INVALID'),
    OBJECT_STORE_UNREACHABLE: () => failedWith('OBJECT_STORE_UNREACHABLE'),
    OBJECT_STORE_AUTH_FAILED: () => failedWith('OBJECT_STORE_AUTH_FAILED'),
    OBJECT_STORE_BUCKET_NOT_FOUND: () => failedWith('OBJECT_STORE_BUCKET_NOT_FOUND'),
    OBJECT_STORE_NOT_FOUND: () => failedWith('OBJECT_STORE_NOT_FOUND'),
    OBJECT_STORE_REQUEST_FAILED: () => failedWith('OBJECT_STORE_REQUEST_FAILED'),
    OBJECT_STORE_COPY_CONFLICT: () => failedWith('OBJECT_STORE_COPY_CONFLICT'),
    KUBE_FORBIDDEN: () => withMode('forbidden', () => createGroup(special, unique('g'), [claims.a])),
    KUBE_UNAVAILABLE: () => withMode('unreachable', () => createGroup(special, unique('g'), [claims.a])),
    KUBE_REJECTED: () => withMode('reject', () => createGroup(special, unique('g'), [claims.a])),
    NOT_READY: () => withMode('unsynced', () => special.client.Controller.ListSnapshots!({})),
    CANCELLED: () =>
      withMode('slow', () => {
        const cancel = new AbortController();
        setTimeout(() => cancel.abort(), 300);
        return special.client.GroupController.CreateVolumeGroupSnapshot!(
          { name: unique('g'), source_volume_ids: [claims.a] },
          { signal: cancel.signal },
        );
      }),
    DEADLINE_EXCEEDED: () =>
      withMode('slow', () =>
        special.client.GroupController.CreateVolumeGroupSnapshot!(
          { name: unique('g'), source_volume_ids: [claims.a] },
          { timeoutMs: 500 },
        ),
      ),
    UNIMPLEMENTED: () => c().raw('/csi.v1.Controller/ControllerPublishVolume'),
    INTERNAL: () => withMode('internal', () => createGroup(special, unique('g'), [claims.a])),
  };

  it('has a scenario for every catalogued reason', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });

  for (const [reason, entry] of Object.entries(ERROR_CATALOG) as [
    ErrorReason,
    { code: keyof typeof status },
  ][]) {
    it(`${reason} → ${entry.code}`, async () => {
      const err = await grpcError(SCENARIOS[reason]());
      expect(err.code, `${reason}: ${err.details}`).toBe(status[entry.code]);
      if (!['UNIMPLEMENTED', 'CANCELLED', 'DEADLINE_EXCEEDED'].includes(reason)) {
        expect(err.details).toMatch(new RegExp(`^${reason}: `));
      }
    });
  }
});

function loadKubeconfig(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}
