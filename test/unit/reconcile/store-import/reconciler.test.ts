// The store import with a fake API and an in-memory S3 client (the e2e runs the real ones): a
// manifest becomes the record a lost cluster's CSI answers need, exactly once, never over a
// record that exists; bad manifests and a failing store are reported and skipped, never thrown.
import { Writable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { IndexedStore } from '../../../../src/informers/indexed-store.ts';
import type { KubeEvent } from '../../../../src/kube/event-recorder.ts';
import type { Manifest } from '../../../../src/objectstore/manifest.ts';
import type { ReconcileContext } from '../../../../src/reconcile/result.ts';
import type { StoreClient, StoreImportApi } from '../../../../src/reconcile/store-import/ports.ts';
import { StoreImportReconciler } from '../../../../src/reconcile/store-import/reconciler.ts';
import { type EtcdSnapshot, etcdSnapshotIndexers } from '../../../../src/records/etcd-snapshot.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';

const b64 = (t: string) => Buffer.from(t).toString('base64');
const SECRET = { data: { bucket: b64('backups'), prefix: b64('dr'), endpoint: b64('http://127.0.0.1:9') } };
const GROUP = 'grp-abcdefghijklmnopqrst';
const NOW = new Date('2026-12-03T06:00:00Z');

function manifest(snapshot: string, over: Partial<Manifest> = {}): Manifest {
  return {
    formatVersion: 1,
    location: { namespace: 'prod', cluster: 'main', snapshot },
    snapshotId: snapshot,
    db: { sha256: 'a'.repeat(64), sizeBytes: 20480 },
    object: {
      key: `dr/prod/main/${snapshot}/snapshot-x1.db.zst.enc`,
      sha256: 'b'.repeat(64),
      sizeBytes: 4096,
    },
    compression: { algorithm: 'zstd', level: 3 },
    encryption: { algorithm: 'aes-256-gcm-chunked-v1', keyId: '0123456789abcdef', chunkBytes: 1048576 },
    revision: 42,
    etcdVersion: '3.6.5',
    sourceMember: 'http://10.0.0.1:2379',
    request: { kind: 'group', name: `groupsnapcontent-${snapshot}` },
    groupSnapshotId: GROUP,
    volumeSnapshots: [
      { snapshotId: `${GROUP}-bbbbbbbbbbbb`, sourceVolumeId: 'prod/data-main-1' },
      { snapshotId: `${GROUP}-aaaaaaaaaaaa`, sourceVolumeId: 'prod/data-main-0' },
    ],
    createdAt: '2026-12-01T10:00:00.000Z',
    uploadedAt: '2026-12-01T10:00:05.000Z',
    driverVersion: '0.1.0',
    ...over,
  };
}

/** Objects by key; answers List (one page) and Get as the SDK would. */
function fakeS3(objects: Map<string, string>, fail?: Error): StoreClient {
  return {
    destroy: () => {},
    send: (async (command: unknown) => {
      if (fail) throw fail;
      if (command instanceof ListObjectsV2Command) {
        const prefix = command.input.Prefix ?? '';
        return {
          Contents: [...objects.keys()].filter((k) => k.startsWith(prefix)).map((Key) => ({ Key, Size: 10 })),
          IsTruncated: false,
        };
      }
      if (command instanceof GetObjectCommand) {
        const text = objects.get(command.input.Key ?? '');
        if (text === undefined) throw Object.assign(new Error('no such key'), { name: 'NoSuchKey' });
        return { Body: { transformToString: async () => text } };
      }
      throw new Error('unexpected command');
    }) as StoreClient['send'],
  };
}

class FakeApi implements StoreImportApi {
  readonly calls: string[] = [];
  readonly events: KubeEvent[] = [];
  readonly created = new Map<string, EtcdSnapshot>();
  secret: { data: Record<string, string> } | undefined = SECRET;
  /** Status writes to fail once (a lost write). */
  failStatusOnce = false;
  async getSecret() {
    return this.secret;
  }
  async createRecord(body: EtcdSnapshot) {
    const key = `${body.metadata?.namespace}/${body.metadata?.name}`;
    const existing = this.created.get(key);
    this.calls.push(`create ${key}${existing ? ' (exists)' : ''}`);
    if (existing) return { record: existing, created: false };
    // The status subresource: a create drops any status.
    const { status: _dropped, ...stored } = structuredClone(body);
    this.created.set(key, stored);
    return { record: stored, created: true };
  }
  async putStatus(record: EtcdSnapshot) {
    const key = `${record.metadata?.namespace}/${record.metadata?.name}`;
    this.calls.push(`status ${key}`);
    if (this.failStatusOnce) {
      this.failStatusOnce = false;
      throw new Error('connection reset');
    }
    this.created.set(key, structuredClone(record));
    return record;
  }
  async secretEvent(_ns: string, _name: string, event: KubeEvent) {
    this.events.push(event);
  }
}

function setup(objects: Map<string, string>, fail?: Error) {
  const api = new FakeApi();
  const records = new IndexedStore<EtcdSnapshot>();
  for (const [n, f] of Object.entries(etcdSnapshotIndexers)) records.addIndexer(n, f);
  const logs: string[] = [];
  const log = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk, _e, cb) {
        logs.push(String(chunk));
        cb();
      },
    }),
  });
  const reconciler = new StoreImportReconciler({
    api,
    records,
    clients: () => fakeS3(objects, fail),
    options: {
      driverName: 'etcd.csi.example.com',
      intervalMs: 60_000,
      storageClass: 'standard',
      createdBy: 'pod-0',
    },
    now: () => NOW,
  });
  const ctx: ReconcileContext = { signal: new AbortController().signal, assertOwner: () => {}, log };
  /** One sync, then the informer catches up with what the API holds. */
  const sync = async () => {
    const result = await reconciler.reconcile('prod/store', ctx);
    for (const r of api.created.values()) records.upsert(structuredClone(r));
    return result;
  };
  return { api, records, reconciler, sync, logs };
}

const put = (m: Manifest, key = `dr/prod/${m.location.cluster}/${m.location.snapshot}/manifest.json`) =>
  [key, JSON.stringify(m)] as const;

describe('store import', () => {
  it('makes a Ready, imported record from a manifest, with the CSI IDs, the copy and where a restore fetches it', async () => {
    const { api, sync } = setup(new Map([put(manifest('snap-1'))]));
    expect(await sync()).toEqual({ requeueAfter: 60_000 });
    expect(api.calls).toEqual(['create prod/snap-1', 'status prod/snap-1']);
    const r = api.created.get('prod/snap-1')!;
    expect(r.metadata).toMatchObject({
      name: 'snap-1',
      namespace: 'prod',
      finalizers: ['snapshot.etcd-snapshot-driver.io/backup-file'],
      labels: {
        'velero.io/exclude-from-backup': 'true',
        'snapshot.etcd-snapshot-driver.io/group-snapshot-id': GROUP,
        'snapshot.etcd-snapshot-driver.io/cluster': 'main',
      },
    });
    expect(r.spec).toMatchObject({
      driverName: 'etcd.csi.example.com',
      requestKind: 'group',
      requestName: 'groupsnapcontent-snap-1',
      groupSnapshotId: GROUP,
      cluster: {
        key: 'prod/main',
        namespace: 'prod',
        name: 'main',
        endpoints: [],
        discoveredBy: 'store-import',
      },
      members: [
        { snapshotId: `${GROUP}-aaaaaaaaaaaa`, sourceVolumeId: 'prod/data-main-0' },
        { snapshotId: `${GROUP}-bbbbbbbbbbbb`, sourceVolumeId: 'prod/data-main-1' },
      ],
      storage: { storageClassName: 'standard', claimName: 'etcd-snapshots-main', path: 'snap-1/snapshot.db' },
      objectStore: { secretName: 'store', compression: 'zstd', compressionLevel: 3, mode: 'required' },
      imported: { secretName: 'store', importedAt: NOW.toISOString() },
    });
    expect(r.status).toEqual({
      phase: 'Ready',
      readyToUse: true,
      step: 'Ready',
      creationTime: '2026-12-01T10:00:00.000Z',
      sizeBytes: 20480,
      checksumSha256: 'a'.repeat(64),
      revision: 42,
      etcdVersion: '3.6.5',
      sourceMember: 'http://10.0.0.1:2379',
      finishedAt: NOW.toISOString(),
      remote: {
        location: 's3://backups/dr/prod/main/snap-1/',
        object: 's3://backups/dr/prod/main/snap-1/snapshot-x1.db.zst.enc',
        sha256: 'b'.repeat(64),
        sizeBytes: 4096,
        compression: 'zstd',
        keyId: '0123456789abcdef',
      },
    });
    expect(api.events).toEqual([]);
  });

  it('a single snapshot is labelled with its snapshot ID', async () => {
    const single = manifest('snap-2', {
      request: { kind: 'snapshot', name: 'snapcontent-2' },
      volumeSnapshots: [{ snapshotId: 'snap-abcdefghijklmnopqrst', sourceVolumeId: 'prod/data-main-0' }],
    });
    delete single.groupSnapshotId;
    const { api, sync } = setup(new Map([put(single)]));
    await sync();
    const r = api.created.get('prod/snap-2')!;
    expect(r.metadata?.labels?.['snapshot.etcd-snapshot-driver.io/snapshot-id']).toBe(
      'snap-abcdefghijklmnopqrst',
    );
    expect(r.spec.groupSnapshotId).toBeUndefined();
  });

  it('is idempotent: a second sync writes nothing, and a lost status write is made at the next', async () => {
    const { api, sync } = setup(new Map([put(manifest('snap-1'))]));
    api.failStatusOnce = true;
    await expect(sync()).rejects.toThrow('connection reset');
    expect(api.created.get('prod/snap-1')?.status).toBeUndefined();
    await sync();
    expect(api.created.get('prod/snap-1')?.status?.phase).toBe('Ready');
    api.calls.length = 0;
    await sync();
    await sync();
    expect(api.calls).toEqual([]);
    expect(api.created.size).toBe(1);
  });

  it('never overwrites a record of that name the cluster made itself', async () => {
    const { api, records, sync } = setup(new Map([put(manifest('snap-1'))]));
    const local = {
      metadata: { namespace: 'prod', name: 'snap-1' },
      spec: { members: [] },
    } as unknown as EtcdSnapshot;
    records.upsert(local);
    await sync();
    expect(api.calls).toEqual([]);
    // Not yet in the cache, but in the API: the create answers with it, and it is left alone.
    const fresh = setup(new Map([put(manifest('snap-1'))]));
    fresh.api.created.set('prod/snap-1', local);
    await fresh.reconciler.reconcile('prod/store', {
      signal: new AbortController().signal,
      assertOwner: () => {},
      log: createLogger({ level: 'error', format: 'json' }),
    });
    expect(fresh.api.calls).toEqual(['create prod/snap-1 (exists)']);
  });

  it('refuses a copy whose snapshot ID another record holds', async () => {
    const { api, records, sync } = setup(new Map([put(manifest('snap-1'))]));
    records.upsert({
      metadata: { namespace: 'prod', name: 'other' },
      spec: { members: [{ snapshotId: `${GROUP}-aaaaaaaaaaaa`, sourceVolumeId: 'x/y' }] },
    } as unknown as EtcdSnapshot);
    await sync();
    expect(api.calls).toEqual([]);
    expect(api.events).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'StoreCopyRefused',
        message: expect.stringContaining('prod/other'),
      }),
    ]);
  });

  it('reports and skips bad manifests, importing the good ones', async () => {
    const old = manifest('old');
    delete old.volumeSnapshots;
    delete old.request;
    delete old.groupSnapshotId;
    const objects = new Map([
      ['dr/prod/main/junk/manifest.json', '{ not json'],
      put(
        manifest('elsewhere', { location: { namespace: 'prod', cluster: 'main', snapshot: 'other' } }),
        'dr/prod/main/elsewhere/manifest.json',
      ),
      put(
        manifest('far', {
          object: { key: 'dr/prod/main/snap-1/snapshot.db', sha256: 'b'.repeat(64), sizeBytes: 1 },
        }),
      ),
      put(old),
      put(manifest('snap-1')),
      ['dr/prod/main/snap-9/snapshot-x.db', 'data without a manifest: incomplete, not listed'],
      ['dr/prod/stray.txt', 'not a copy'],
    ]);
    const { api, reconciler, sync } = setup(objects);
    await sync();
    expect([...api.created.keys()]).toEqual(['prod/snap-1']);
    const messages = api.events.map((e) => `${e.reason} ${e.message}`);
    expect(messages).toHaveLength(4);
    expect(messages.join('\n')).toContain('junk/manifest.json: manifest.json is not JSON');
    expect(messages.join('\n')).toContain('describes prod/main/other, not the place it is at');
    expect(messages.join('\n')).toContain('not one beside it');
    expect(messages.join('\n')).toContain("does not record the copy's CSI snapshot IDs");
    expect(reconciler.lastSync.get('prod/store')).toEqual({ imported: 1, present: 0, kept: 0, refused: 4 });
  });

  it('a store that fails, a missing or invalid Secret: reported, tried again at the interval, nothing written', async () => {
    const failing = setup(
      new Map([put(manifest('snap-1'))]),
      Object.assign(new Error('denied'), { name: 'AccessDenied' }),
    );
    expect(await failing.sync()).toEqual({ requeueAfter: 60_000 });
    expect(failing.api.events).toEqual([
      {
        type: 'Warning',
        reason: 'StoreImportFailed',
        message: 'listing s3://backups/dr failed: AccessDenied: denied',
      },
    ]);
    const invalid = setup(new Map());
    invalid.api.secret = { data: { bucket: b64('backups'), partSizeMiB: b64('1') } };
    expect(await invalid.sync()).toEqual({ requeueAfter: 60_000 });
    expect(invalid.api.events[0]?.message).toMatch(
      /^OBJECT_STORE_CONFIG_INVALID: Secret prod\/store: .*partSizeMiB/,
    );
    const missing = setup(new Map());
    missing.api.secret = undefined;
    expect(await missing.sync()).toEqual({ requeueAfter: 60_000 });
    expect(missing.api.calls).toEqual([]);
  });
});
