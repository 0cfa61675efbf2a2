// In-memory stand-ins for the informer caches and the API server, for the CSI unit tests.
//
// FakeStore is a ReadonlyStore with indexes. FakeApi is one custom resource on a fake API
// server: it versions objects, refuses duplicates (409 AlreadyExists) and stale writes (409
// Conflict), keeps finalized objects until their finalizers go, counts writes, and feeds its
// objects into a FakeStore either at once or when the test says (an informer's lag).
import { Writable } from 'node:stream';
import type { BuildInfo } from '../../../src/csi/build-info.ts';
import { type CsiDriverOptions, type CsiStores, createCsiServices } from '../../../src/csi/driver.ts';
import type { CallContext, ServiceHandlers } from '../../../src/csi/handler.ts';
import { etcdClusterIndexer, INDEX_ETCD_CLUSTER } from '../../../src/etcd/discovery.ts';
import type {
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StatefulSet,
} from '../../../src/informers/resources.ts';
import {
  type IndexFunc,
  objectKey,
  type ReadonlyStore,
  type StoredObject,
} from '../../../src/informers/store-types.ts';
import type {
  JsonPatchOp,
  NamespacedCustomObjects,
  NamespacedObject,
} from '../../../src/kube/custom-objects.ts';
import { ETCD_RESTORE, type EtcdRestore } from '../../../src/records/etcd-restore.ts';
import {
  ETCD_SNAPSHOT,
  type EtcdSnapshot,
  etcdSnapshotIndexers,
} from '../../../src/records/etcd-snapshot.ts';
import { ETCD_SNAPSHOT_NAME, type EtcdSnapshotName } from '../../../src/records/etcd-snapshot-name.ts';
import {
  ETCD_SOURCE_VOLUME,
  type EtcdSourceVolume,
  etcdSourceVolumeIndexers,
} from '../../../src/records/etcd-source-volume.ts';
import { createLogger, type Logger } from '../../../src/telemetry/logger.ts';

export class FakeStore<T extends StoredObject> implements ReadonlyStore<T> {
  readonly #items = new Map<string, T>();
  readonly #indexers: Record<string, IndexFunc<T>>;
  reads = 0;

  constructor(indexers: Record<string, IndexFunc<T>> = {}) {
    this.#indexers = indexers;
  }

  get size(): number {
    return this.#items.size;
  }
  get(key: string): T | undefined {
    this.reads++;
    return this.#items.get(key);
  }
  list(): T[] {
    this.reads++;
    return [...this.#items.values()];
  }
  keys(): IterableIterator<string> {
    return this.#items.keys();
  }
  byIndex(indexName: string, value: string): T[] {
    this.reads++;
    const fn = this.#indexers[indexName];
    if (!fn) throw new Error(`no index named "${indexName}" is registered`);
    return [...this.#items.values()].filter((o) => fn(o).includes(value));
  }
  upsert(obj: T): void {
    this.#items.set(objectKey(obj), structuredClone(obj));
  }
  remove(key: string): void {
    this.#items.delete(key);
  }
}

/** An error shaped like the informer layer's ApiError (what src/kube/api-errors.ts reads). */
export class FakeApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  readonly statusReason: string;
  constructor(statusCode: number, statusReason: string, message: string) {
    super(`${statusCode} ${statusReason}: ${message}`);
    this.statusCode = statusCode;
    this.statusReason = statusReason;
  }
}

let resourceVersion = 1000;
let uid = 0;

type Obj = NamespacedObject & {
  metadata?: {
    creationTimestamp?: string;
    deletionTimestamp?: string;
    finalizers?: string[];
    [k: string]: unknown;
  };
};

export class FakeApi<T extends Obj> implements NamespacedCustomObjects<T> {
  readonly type;
  readonly objects = new Map<string, T>();
  readonly store: FakeStore<T>;
  /** Writes that changed something (create, patch, delete). */
  writes = 0;
  /** Calls of any kind, reads included. */
  calls = 0;
  /** false: the cache sees writes only on flush() (an informer lagging behind). */
  propagate: boolean;
  /** Makes the next calls fail with this error. */
  failWith: Error | undefined;
  /** Makes every call take this long (a slow API server). */
  delayMs = 0;
  /** The AbortSignal each call was given (a CSI call's deadline). */
  readonly signals: (AbortSignal | undefined)[] = [];
  #pending: (() => void)[] = [];

  constructor(type: NamespacedCustomObjects<T>['type'], store: FakeStore<T>, propagate = true) {
    this.type = type;
    this.store = store;
    this.propagate = propagate;
  }

  #publish(key: string): void {
    const apply = () => {
      const obj = this.objects.get(key);
      if (obj) this.store.upsert(obj);
      else this.store.remove(key);
    };
    if (this.propagate) apply();
    else this.#pending.push(apply);
  }

  /** Delivers every pending change to the cache. */
  flush(): void {
    for (const apply of this.#pending.splice(0)) apply();
  }

  async #check(signal?: AbortSignal): Promise<void> {
    this.calls++;
    this.signals.push(signal);
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
  }

  /** Puts an object on the API server as someone else (the pipeline, another replica) would. */
  put(obj: T): T {
    const copy = structuredClone(obj);
    copy.metadata = {
      ...copy.metadata,
      resourceVersion: String(++resourceVersion),
      uid: copy.metadata?.uid ?? `uid-${++uid}`,
      creationTimestamp: copy.metadata?.creationTimestamp ?? new Date().toISOString(),
    };
    const key = objectKey(copy);
    this.objects.set(key, copy);
    this.#publish(key);
    return structuredClone(copy);
  }

  async create(namespace: string, body: T, signal?: AbortSignal): Promise<T> {
    await this.#check(signal);
    const key = `${namespace}/${body.metadata?.name}`;
    if (this.objects.has(key)) throw new FakeApiError(409, 'AlreadyExists', `${key} already exists`);
    this.writes++;
    return this.put({ ...body, metadata: { ...body.metadata, namespace } });
  }

  /** Every object (any namespace) with all the labels of a `k=v,k2=v2` selector. */
  async list(labelSelector: string, signal?: AbortSignal): Promise<T[]> {
    await this.#check(signal);
    const wanted = labelSelector
      .split(',')
      .filter(Boolean)
      .map((term) => term.split('=') as [string, string]);
    return [...this.objects.values()]
      .filter((o) => {
        const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
        return wanted.every(([k, v]) => labels[k] === v);
      })
      .map((o) => structuredClone(o));
  }

  async get(namespace: string, name: string, signal?: AbortSignal): Promise<T | undefined> {
    await this.#check(signal);
    const obj = this.objects.get(`${namespace}/${name}`);
    return obj && structuredClone(obj);
  }

  async jsonPatch(
    namespace: string,
    name: string,
    ops: readonly JsonPatchOp[],
    signal?: AbortSignal,
  ): Promise<T> {
    await this.#check(signal);
    const key = `${namespace}/${name}`;
    const current = this.objects.get(key);
    if (!current) throw new FakeApiError(404, 'NotFound', `${key} not found`);
    const next = structuredClone(current) as unknown as Record<string, unknown>;
    for (const op of ops) {
      if (op.path === '/metadata/resourceVersion' && op.op !== 'remove') {
        if (op.value !== current.metadata?.resourceVersion) {
          throw new FakeApiError(409, 'Conflict', `${key} was modified`);
        }
        continue;
      }
      applyOp(next, op);
    }
    this.writes++;
    const stored = next as unknown as T;
    stored.metadata = { ...stored.metadata, resourceVersion: String(++resourceVersion) };
    // As the API server does: an object being deleted goes with its last finalizer.
    if (stored.metadata.deletionTimestamp && !stored.metadata.finalizers?.length) this.objects.delete(key);
    else this.objects.set(key, stored);
    this.#publish(key);
    return structuredClone(stored);
  }

  async delete(
    namespace: string,
    name: string,
    preconditions?: { uid?: string },
    signal?: AbortSignal,
  ): Promise<unknown> {
    await this.#check(signal);
    const key = `${namespace}/${name}`;
    const current = this.objects.get(key);
    if (!current) return undefined;
    if (preconditions?.uid && preconditions.uid !== current.metadata?.uid) {
      throw new FakeApiError(409, 'Conflict', `${key} has another uid`);
    }
    this.writes++;
    if (current.metadata?.finalizers?.length) {
      if (!current.metadata.deletionTimestamp) {
        current.metadata.deletionTimestamp = new Date().toISOString();
        current.metadata.resourceVersion = String(++resourceVersion);
        this.#publish(key);
      }
      return structuredClone(current);
    }
    this.objects.delete(key);
    this.#publish(key);
    return structuredClone(current);
  }

  /** What the pipeline does: removes finalizers so the object goes. */
  finalize(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    if (this.objects.get(key)?.metadata?.deletionTimestamp) {
      this.objects.delete(key);
      this.#publish(key);
    }
  }
}

function applyOp(target: Record<string, unknown>, op: JsonPatchOp): void {
  const parts = op.path.split('/').slice(1);
  let node: Record<string, unknown> = target;
  for (const p of parts.slice(0, -1)) node = node[p] as Record<string, unknown>;
  const last = parts[parts.length - 1]!;
  if (op.op === 'remove') delete node[last];
  else if (op.op === 'add' || op.op === 'replace') node[last] = op.value;
}

/** A logger whose lines are kept for assertions. */
export function memoryLogger(level: 'debug' | 'info' = 'debug'): {
  log: Logger;
  lines: () => Record<string, unknown>[];
} {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    log: createLogger({ level, format: 'json', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface World {
  snapshotsApi: FakeApi<EtcdSnapshot>;
  volumesApi: FakeApi<EtcdSourceVolume>;
  restoresApi: FakeApi<EtcdRestore>;
  /** Cluster-scoped group claims, kept under the namespace CLAIMS_NAMESPACE. */
  nameClaimsApi: FakeApi<EtcdSnapshotName>;
  stores: CsiStores & {
    etcdSnapshots: FakeStore<EtcdSnapshot>;
    etcdSourceVolumes: FakeStore<EtcdSourceVolume>;
    etcdRestores: FakeStore<EtcdRestore>;
    persistentVolumeClaims: FakeStore<PersistentVolumeClaim>;
    persistentVolumes: FakeStore<PersistentVolume>;
    pods: FakeStore<Pod>;
    statefulSets: FakeStore<StatefulSet>;
  };
  synced: { value: boolean };
  reachable: { value: boolean };
  services: Record<'Identity' | 'Controller' | 'GroupController' | 'Node', ServiceHandlers>;
  options: CsiDriverOptions;
  call<R = unknown>(
    service: 'Identity' | 'Controller' | 'GroupController' | 'Node',
    method: string,
    req?: unknown,
  ): Promise<R>;
}

export const BUILD: BuildInfo = { version: '9.9.9', commit: 'abc123' };

export function callContext(): CallContext {
  return {
    method: 'test',
    signal: new AbortController().signal,
    deadline: undefined,
    log: createLogger({
      level: 'error',
      format: 'json',
      destination: new Writable({ write: (_c, _e, d) => d() }),
    }),
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  };
}

/** The namespace the fake keeps cluster-scoped objects under. */
export const CLAIMS_NAMESPACE = '_cluster';

/** A cluster-scoped client over a FakeApi: every call in CLAIMS_NAMESPACE. */
function clusterScoped<T extends Obj>(api: FakeApi<T>): NamespacedCustomObjects<T> {
  return {
    type: api.type,
    create: (_ns, body, signal) => api.create(CLAIMS_NAMESPACE, body, signal),
    get: (_ns, name, signal) => api.get(CLAIMS_NAMESPACE, name, signal),
    list: (selector, signal) => api.list(selector, signal),
    jsonPatch: (_ns, name, ops, signal) => api.jsonPatch(CLAIMS_NAMESPACE, name, ops, signal),
    delete: (_ns, name, pre, signal) => api.delete(CLAIMS_NAMESPACE, name, pre, signal),
  };
}

/** A driver over fakes: stores, APIs, readiness switches, and the four services. */
export function world(options: { propagate?: boolean; driverName?: string } = {}): World {
  const etcdSnapshots = new FakeStore<EtcdSnapshot>(etcdSnapshotIndexers);
  const etcdSourceVolumes = new FakeStore<EtcdSourceVolume>(etcdSourceVolumeIndexers);
  const etcdRestores = new FakeStore<EtcdRestore>();
  const stores = {
    etcdSnapshots,
    etcdSourceVolumes,
    etcdRestores,
    persistentVolumeClaims: new FakeStore<PersistentVolumeClaim>(),
    persistentVolumes: new FakeStore<PersistentVolume>(),
    pods: new FakeStore<Pod>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer }),
    statefulSets: new FakeStore<StatefulSet>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer }),
  };
  const snapshotsApi = new FakeApi<EtcdSnapshot>(ETCD_SNAPSHOT, etcdSnapshots, options.propagate ?? true);
  const volumesApi = new FakeApi<EtcdSourceVolume>(
    ETCD_SOURCE_VOLUME,
    etcdSourceVolumes,
    options.propagate ?? true,
  );
  const restoresApi = new FakeApi<EtcdRestore>(ETCD_RESTORE, etcdRestores, options.propagate ?? true);
  const nameClaimsApi = new FakeApi<EtcdSnapshotName>(
    ETCD_SNAPSHOT_NAME,
    new FakeStore<EtcdSnapshotName>(),
    true,
  );
  const synced = { value: true };
  const reachable = { value: true };
  const driverOptions: CsiDriverOptions = {
    driverName: options.driverName ?? 'etcd-snapshot-driver',
    defaults: { etcdNamespace: 'default', storageClass: 'standard', snapshotTimeoutSeconds: 300 },
    stores,
    api: {
      snapshots: snapshotsApi,
      volumes: volumesApi,
      restores: restoresApi,
      nameClaims: clusterScoped(nameClaimsApi),
    },
    readiness: { cachesSynced: () => synced.value, apiReachable: () => reachable.value },
    log: createLogger({
      level: 'error',
      format: 'json',
      destination: new Writable({ write: (_c, _e, d) => d() }),
    }),
    nodeId: 'node-1',
    createdBy: 'unit-test',
    build: BUILD,
  };
  const services = createCsiServices(driverOptions);
  return {
    snapshotsApi,
    volumesApi,
    restoresApi,
    nameClaimsApi,
    stores,
    synced,
    reachable,
    services,
    options: driverOptions,
    call: async (service, method, req = {}) => {
      const handler = services[service][method];
      if (!handler) throw new Error(`no handler ${service}.${method}`);
      return handler(structuredClone(req), callContext());
    },
  };
}

/** A running etcd member pod of a StatefulSet-style cluster. */
export function etcdPod(
  name: string,
  options: { namespace?: string; cluster?: string; ip?: string; phase?: string; https?: boolean } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: options.namespace ?? 'default',
      labels: options.cluster === undefined ? {} : { 'etcd.io/cluster': options.cluster },
    },
    spec: {
      containers: [
        {
          name: 'etcd',
          image: 'etcd',
          args: [`--listen-client-urls=${options.https ? 'https' : 'http'}://$(POD_IP):2379`],
          ports: [{ name: 'client', containerPort: 2379 }],
        },
      ],
    },
    status: { phase: options.phase ?? 'Running', ...(options.ip ? { podIP: options.ip } : {}) },
  };
}

/** Adds a 3-member cluster `name` (pods labelled etcd.io/cluster) to the world. */
export function addEtcdCluster(w: World, name: string, namespace = 'default', firstIp = 10): string[] {
  const ips: string[] = [];
  for (let i = 0; i < 3; i++) {
    const ip = `10.0.0.${firstIp + i}`;
    ips.push(`http://${ip}:2379`);
    w.stores.pods.upsert(etcdPod(`${name}-${i}`, { namespace, cluster: name, ip }));
  }
  return ips;
}

/** A Bound etcd source volume claim `namespace/name` annotated with its cluster. */
export function addClaim(
  w: World,
  name: string,
  options: {
    namespace?: string;
    cluster?: string;
    phase?: string;
    annotations?: Record<string, string>;
  } = {},
): string {
  const namespace = options.namespace ?? 'default';
  w.stores.persistentVolumeClaims.upsert({
    metadata: {
      name,
      namespace,
      annotations: {
        ...(options.cluster ? { 'etcd.io/cluster': options.cluster } : {}),
        ...options.annotations,
      },
    },
    spec: { volumeName: `pv-${name}` },
    status: { phase: options.phase ?? 'Bound' },
  });
  return `${namespace}/${name}`;
}

export const MOUNT_CAPABILITY = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
