// Every row of the error table (src/csi/errors.ts, docs/csi.md) produced through the real
// server and a real gRPC client: the scenario, the gRPC code and "REASON: message".
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CsiClient, createCsiClient } from '../../../src/csi/csi-client.ts';
import { createCsiServices } from '../../../src/csi/driver.ts';
import { ERROR_CATALOG, type ErrorReason } from '../../../src/csi/errors.ts';
import { type CsiServer, startCsiServer } from '../../../src/csi/server.ts';
import type { Reason } from '../../../src/reasons/reasons.ts';
import {
  addClaim,
  addEtcdCluster,
  FakeApiError,
  MOUNT_CAPABILITY,
  memoryLogger,
  type World,
  world,
} from './fakes.ts';

interface Served {
  w: World;
  client: CsiClient;
  server: CsiServer;
}

let dir: string;
let n = 0;
const servers: Served[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'csi-errors-'));
});
afterAll(async () => {
  for (const s of servers) {
    s.client.close();
    await s.server.stop(100);
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A world with cluster "main" (claims default/a, default/b) behind a real server. */
async function served(): Promise<Served> {
  const w = world();
  addEtcdCluster(w, 'main');
  addClaim(w, 'a', { cluster: 'main' });
  addClaim(w, 'b', { cluster: 'main' });
  const server = await startCsiServer({
    endpoints: [`unix://${join(dir, `csi-${n++}.sock`)}`],
    services: createCsiServices(w.options),
    log: memoryLogger('info').log,
  });
  const s = { w, client: createCsiClient(server.addresses[0]!), server };
  servers.push(s);
  return s;
}

const snapshot = (c: CsiClient, req: Record<string, unknown> = {}) =>
  c.Controller.CreateSnapshot!({ name: 's', source_volume_id: 'default/a', ...req });
const group = (c: CsiClient, req: Record<string, unknown> = {}) =>
  c.GroupController.CreateVolumeGroupSnapshot!({ name: 'g', source_volume_ids: ['default/a'], ...req });
const volume = (c: CsiClient, req: Record<string, unknown> = {}) =>
  c.Controller.CreateVolume!({
    name: 'v',
    volume_capabilities: [MOUNT_CAPABILITY],
    parameters: { 'etcd-cluster-name': 'main' },
    ...req,
  });

/** A snapshot whose record the pipeline marked Failed with `reason`; Create answers with it. */
async function failedWith(reason: string): Promise<unknown> {
  const { w, client } = await served();
  await snapshot(client);
  const [record] = [...w.snapshotsApi.objects.values()];
  // `reason` may lie outside the vocabulary (SNAPSHOT_FAILED's scenario), as a record of another version can.
  w.snapshotsApi.put({
    ...record!,
    status: { phase: 'Failed', reason: reason as Reason, message: 'from the pipeline' },
  });
  return snapshot(client);
}

/** CreateVolume of claim default/b from a snapshot of default/a (Ready unless told). */
async function restoreDoor(options: { ready?: boolean; claim?: boolean; restoreStatus?: object } = {}) {
  const s = await served();
  const { snapshot: made } = await snapshot(s.client);
  const [record] = [...s.w.snapshotsApi.objects.values()];
  if (options.ready !== false) {
    s.w.snapshotsApi.put({
      ...record!,
      status: { phase: 'Ready', readyToUse: true, checksumSha256: 'a'.repeat(64) },
    });
  }
  const request = () =>
    volume(s.client, {
      parameters:
        options.claim === false
          ? {}
          : { 'csi.storage.k8s.io/pvc/name': 'b', 'csi.storage.k8s.io/pvc/namespace': 'default' },
      volume_content_source: { snapshot: { snapshot_id: made.snapshot_id } },
    });
  if (!options.restoreStatus) return request();
  await request().catch(() => undefined);
  const [restore] = [...s.w.restoresApi.objects.values()];
  s.w.restoresApi.put({ ...restore!, status: options.restoreStatus });
  return request();
}

const SCENARIOS: Record<ErrorReason, () => Promise<unknown>> = {
  MALFORMED_REQUEST: async () =>
    (await served()).client.raw('/csi.v1.Controller/ListSnapshots', {}, Uint8Array.of(0x0a, 0x05, 0x01)),
  INVALID_UTF8: async () =>
    (await served()).client.raw(
      '/csi.v1.Controller/CreateSnapshot',
      {},
      // source_volume_id (1) = "default/a", name (2) = the bytes ff fe (not UTF-8)
      Uint8Array.of(0x0a, 0x09, ...Buffer.from('default/a'), 0x12, 0x02, 0xff, 0xfe),
    ),
  FIELD_TOO_LARGE: async () =>
    (await served()).client.Controller.DeleteVolume!({ volume_id: 'v'.repeat(100 * 1024) }),
  MISSING_NAME: async () => snapshot((await served()).client, { name: '' }),
  NAME_TOO_LONG: async () => group((await served()).client, { name: 'n'.repeat(129) }),
  MISSING_VOLUME_ID: async () => (await served()).client.Controller.DeleteVolume!({}),
  MISSING_SNAPSHOT_ID: async () => (await served()).client.Controller.DeleteSnapshot!({}),
  MISSING_GROUP_SNAPSHOT_ID: async () => (await served()).client.GroupController.GetVolumeGroupSnapshot!({}),
  MISSING_SOURCE_VOLUMES: async () => group((await served()).client, { source_volume_ids: [] }),
  MISSING_TARGET_PATH: async () =>
    (await served()).client.Node.NodeUnpublishVolume!({ volume_id: 'default/a' }),
  TOO_MANY_VOLUMES: async () =>
    group((await served()).client, {
      source_volume_ids: Array.from({ length: 65 }, (_, i) => `default/v${i}`),
    }),
  DUPLICATE_SOURCE_VOLUME: async () =>
    group((await served()).client, { source_volume_ids: ['default/a', 'default/a'] }),
  MISSING_VOLUME_CAPABILITIES: async () => volume((await served()).client, { volume_capabilities: [] }),
  INVALID_VOLUME_CAPABILITY: async () =>
    volume((await served()).client, {
      volume_capabilities: [{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }],
    }),
  INVALID_CAPACITY_RANGE: async () =>
    volume((await served()).client, { capacity_range: { required_bytes: 10, limit_bytes: 5 } }),
  UNKNOWN_PARAMETER: async () => group((await served()).client, { parameters: { 'no-such-key': 'x' } }),
  INVALID_PARAMETER: async () => group((await served()).client, { parameters: { 'snapshot-timeout': '59' } }),
  PARAMETERS_TOO_LARGE: async () =>
    group((await served()).client, { parameters: { 'csi.storage.k8s.io/big': 'x'.repeat(5000) } }),
  VOLUME_CONTENT_SOURCE_UNSUPPORTED: async () =>
    volume((await served()).client, { volume_content_source: { volume: { volume_id: 'default/a' } } }),
  CONTENT_SOURCE_NOT_FOUND: async () =>
    volume((await served()).client, { volume_content_source: { snapshot: { snapshot_id: 'snap-x' } } }),
  MALFORMED_VOLUME_ID: async () => snapshot((await served()).client, { source_volume_id: 'fake-vol-id' }),
  INVALID_MAX_ENTRIES: async () => (await served()).client.Controller.ListSnapshots!({ max_entries: -1 }),
  INVALID_STARTING_TOKEN: async () =>
    (await served()).client.Controller.ListSnapshots!({ starting_token: 'invalid-token' }),
  SNAPSHOT_IDS_MISMATCH: async () => {
    const { client } = await served();
    const { group_snapshot } = await group(client);
    return client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: group_snapshot.group_snapshot_id,
      snapshot_ids: ['snap-of-another-group'],
    });
  },
  RESTORE_TARGET_UNKNOWN: async () => restoreDoor({ claim: false }),
  VOLUME_SOURCE_NOT_READY: async () => restoreDoor({ ready: false }),
  VOLUME_RESTORE_IN_PROGRESS: async () => restoreDoor(),
  VOLUME_RESTORE_FAILED: async () =>
    restoreDoor({ restoreStatus: { phase: 'Failed', reason: 'NOT_IN_THIS_CATALOG', message: 'x' } }),
  VOLUME_NOT_FOUND: async () => snapshot((await served()).client, { source_volume_id: 'default/nothing' }),
  CLAIM_NOT_FOUND: async () =>
    volume((await served()).client, {
      parameters: { 'csi.storage.k8s.io/pvc/name': 'x', 'csi.storage.k8s.io/pvc/namespace': 'default' },
    }),
  GROUP_SNAPSHOT_NOT_FOUND: async () =>
    (await served()).client.GroupController.GetVolumeGroupSnapshot!({ group_snapshot_id: 'fake-vol-id' }),
  ETCD_CLUSTER_NOT_FOUND: async () =>
    volume((await served()).client, { parameters: { 'etcd-cluster-name': 'none' } }),
  PVC_NOT_BOUND: async () => {
    const { w, client } = await served();
    addClaim(w, 'pending', { cluster: 'main', phase: 'Pending' });
    return group(client, { source_volume_ids: ['default/a', 'default/pending'] });
  },
  VOLUME_ALREADY_EXISTS: async () => {
    const { client } = await served();
    await volume(client, { capacity_range: { required_bytes: 100, limit_bytes: 100 } });
    return volume(client, { capacity_range: { required_bytes: 200, limit_bytes: 200 } });
  },
  SNAPSHOT_ALREADY_EXISTS: async () => {
    const { client } = await served();
    await snapshot(client);
    return snapshot(client, { source_volume_id: 'default/b' });
  },
  GROUP_SNAPSHOT_ALREADY_EXISTS: async () => {
    const { client } = await served();
    await group(client);
    return group(client, { source_volume_ids: ['default/a', 'default/b'] });
  },
  SNAPSHOT_DELETION_IN_PROGRESS: async () => {
    const { client } = await served();
    const { group_snapshot } = await group(client);
    await client.GroupController.DeleteVolumeGroupSnapshot!({
      group_snapshot_id: group_snapshot.group_snapshot_id,
    });
    return group(client);
  },
  CONCURRENT_UPDATE: async () => {
    const { w, client } = await served();
    const { group_snapshot } = await group(client, { source_volume_ids: ['default/a', 'default/b'] });
    w.snapshotsApi.failWith = new FakeApiError(409, 'Conflict', 'the object has been modified');
    return client.Controller.DeleteSnapshot!({ snapshot_id: group_snapshot.snapshots[0].snapshot_id });
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
  SNAPSHOT_FAILED: () => failedWith('A_REASON_NOT_IN_THE_CATALOG'),
  OBJECT_STORE_CONFIG_INVALID: () => failedWith('OBJECT_STORE_CONFIG_INVALID'),
  OBJECT_STORE_KEY_INVALID: () => failedWith('OBJECT_STORE_KEY_INVALID'),
  OBJECT_STORE_UNREACHABLE: () => failedWith('OBJECT_STORE_UNREACHABLE'),
  OBJECT_STORE_AUTH_FAILED: () => failedWith('OBJECT_STORE_AUTH_FAILED'),
  OBJECT_STORE_BUCKET_NOT_FOUND: () => failedWith('OBJECT_STORE_BUCKET_NOT_FOUND'),
  OBJECT_STORE_NOT_FOUND: () => failedWith('OBJECT_STORE_NOT_FOUND'),
  OBJECT_STORE_REQUEST_FAILED: () => failedWith('OBJECT_STORE_REQUEST_FAILED'),
  OBJECT_STORE_COPY_CONFLICT: () => failedWith('OBJECT_STORE_COPY_CONFLICT'),
  KUBE_FORBIDDEN: async () => {
    const { w, client } = await served();
    w.snapshotsApi.failWith = new FakeApiError(403, 'Forbidden', 'cannot create etcdsnapshots');
    return snapshot(client);
  },
  KUBE_UNAVAILABLE: async () => {
    const { w, client } = await served();
    w.snapshotsApi.failWith = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    return snapshot(client);
  },
  KUBE_REJECTED: async () => {
    const { w, client } = await served();
    w.snapshotsApi.failWith = new FakeApiError(422, 'Invalid', 'spec.members: Invalid value');
    return snapshot(client);
  },
  NOT_READY: async () => {
    const { w, client } = await served();
    w.synced.value = false;
    return client.Controller.ListSnapshots!({});
  },
  CANCELLED: async () => {
    const { w, client } = await served();
    w.snapshotsApi.delayMs = 2_000;
    const cancel = new AbortController();
    const call = client.Controller.CreateSnapshot!(
      { name: 's', source_volume_id: 'default/a' },
      { signal: cancel.signal },
    );
    // Cancelled while the handler waits on the API, not at a guessed moment.
    void vi.waitFor(() => expect(w.snapshotsApi.calls).toBeGreaterThan(0)).then(() => cancel.abort());
    return call;
  },
  DEADLINE_EXCEEDED: async () => {
    const { w, client } = await served();
    w.snapshotsApi.delayMs = 2_000;
    return client.Controller.CreateSnapshot!(
      { name: 's', source_volume_id: 'default/a' },
      { timeoutMs: 300 },
    );
  },
  UNIMPLEMENTED: async () => (await served()).client.raw('/csi.v1.Controller/ControllerPublishVolume'),
  INTERNAL: async () => {
    const { w, client } = await served();
    w.snapshotsApi.failWith = new RangeError('something nobody expected');
    return snapshot(client);
  },
};

/** Rows of the error table in docs/csi.md: | `REASON` | CODE | when |. */
function docsTable(): Map<string, string> {
  const text = readFileSync(resolve(import.meta.dirname, '../../../docs/csi.md'), 'utf8');
  const rows = new Map<string, string>();
  for (const m of text.matchAll(/^\| `([A-Z0-9_]+)` \| ([A-Z_]+) \|/gm)) rows.set(m[1]!, m[2]!);
  return rows;
}

describe('error table', () => {
  it('has a scenario for every catalogued reason', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(Object.keys(ERROR_CATALOG).sort());
  });

  it('is documented row for row in docs/csi.md', () => {
    const documented = docsTable();
    expect(Object.fromEntries(documented)).toEqual(
      Object.fromEntries(Object.entries(ERROR_CATALOG).map(([reason, e]) => [reason, e.code])),
    );
  });

  for (const [reason, entry] of Object.entries(ERROR_CATALOG) as [
    ErrorReason,
    { code: keyof typeof status },
  ][]) {
    it(`${reason} → ${entry.code}`, async () => {
      let err: { code?: number; details?: string } | undefined;
      try {
        await SCENARIOS[reason]();
      } catch (e) {
        err = e as { code?: number; details?: string };
      }
      expect(err?.code, `${reason}: ${err?.details ?? 'no error'}`).toBe(status[entry.code]);
      // grpc-js answers these itself (the client stops waiting; no handler exists), so the text is its own.
      if (!['UNIMPLEMENTED', 'CANCELLED', 'DEADLINE_EXCEEDED'].includes(reason)) {
        expect(err?.details).toMatch(new RegExp(`^${reason}: `));
      }
    });
  }
});
