// Property test at the gRPC level: random and mutated requests for every RPC the driver serves,
// sent as raw bytes over the unix socket to the driver wired as main.ts wires it, against a real
// apiserver. Properties, for every call:
// - it ends with a gRPC status from the server (no transport error, no client-side deadline);
// - never INTERNAL or UNKNOWN: every problem here is the client's;
// - the server answers the next Probe on the same connection;
// and at the end: no record, volume or group claim exists that an OK Create did not make, no Job
// exists, and no line of the driver's log (at debug: every request) is longer than 16 KiB. Seeded (printed; FUZZ_SEED=<seed> replays a run), bounded by count and time.
import { Writable } from 'node:stream';
import { status } from '@grpc/grpc-js';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csiMessageRegistry, csiServiceDefinitions } from '../../../src/csi/proto.ts';
import { CSI_METADATA_PREFIX, PARAMETER_KEYS } from '../../../src/csi/validation.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { MAX_LOG_LINE_BYTES } from '../../../src/telemetry/log-bounds.ts';
import { createLogger } from '../../../src/telemetry/logger.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { waitFor } from '../../harness/process.ts';
import {
  createBoundClaim,
  type DriverEnv,
  installCrds,
  startDriver,
  unreachableClusterAnnotations,
} from './driver-env.ts';
import { Generator, seeded } from './fuzz-messages.ts';

const NS = 'fz';
const DRIVER = 'etcd-snapshot-driver';
const RECORDS = '/apis/snapshot.etcd-snapshot-driver.io/v1alpha1';
const CALLS = Number(process.env.FUZZ_CALLS ?? 3000);
const BUDGET_MS = Number(process.env.FUZZ_BUDGET_MS ?? 150_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const SERVED: Record<string, string[]> = {
  Identity: ['GetPluginInfo', 'GetPluginCapabilities', 'Probe'],
  Controller: [
    'ControllerGetCapabilities',
    'CreateVolume',
    'DeleteVolume',
    'ValidateVolumeCapabilities',
    'CreateSnapshot',
    'DeleteSnapshot',
    'ListSnapshots',
  ],
  GroupController: [
    'GroupControllerGetCapabilities',
    'CreateVolumeGroupSnapshot',
    'GetVolumeGroupSnapshot',
    'DeleteVolumeGroupSnapshot',
  ],
  Node: ['NodeGetCapabilities', 'NodeGetInfo', 'NodeUnpublishVolume'],
};
const CREATES: Record<string, 'volume' | 'snapshot' | 'group'> = {
  CreateVolume: 'volume',
  CreateSnapshot: 'snapshot',
  CreateVolumeGroupSnapshot: 'group',
};

let cluster: LocalCluster;
let admin: KubeClient;
let env: DriverEnv;
const logLines = { count: 0, longest: 0 };

/** A claim bound to a static PV of this driver, standing for etcd cluster `etcd` by endpoints. */
const boundClaim = (core: CoreV1Api, name: string, etcd: string) =>
  createBoundClaim(core, {
    namespace: NS,
    name,
    annotations: unreachableClusterAnnotations(etcd),
    driver: DRIVER,
  });

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'csi-fuzz' });
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  admin = new KubeClient(cluster.kubeConfig);
  await installCrds(cluster);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const ids = [
    await boundClaim(core, 'a1', 'c1'),
    await boundClaim(core, 'a2', 'c2'),
    await boundClaim(core, 'b1', 'c1'),
  ];
  // The driver logs at debug (every request) into memory, to measure its lines.
  const log = createLogger({
    level: 'debug',
    format: 'json',
    destination: new Writable({
      write(chunk: Buffer, _e, done) {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line) logLines.longest = Math.max(logLines.longest, Buffer.byteLength(line));
          if (line) logLines.count++;
        }
        done();
      },
    }),
  });
  env = await startDriver(cluster, { etcdNamespace: NS, log });
  await waitFor('the claims Bound in the driver cache', () =>
    ids.every((id) => env.stores.persistentVolumeClaims.get(id)?.status?.phase === 'Bound')
      ? true
      : undefined,
  );
});

afterAll(async () => {
  await env?.stop();
  admin?.destroy();
  await cluster?.stop();
});

interface Failure {
  call: number;
  method: string;
  problem: string;
}

describe('random and mutated requests for every served RPC', () => {
  it(`answer each with a status, never INTERNAL, leave the server serving and nothing behind (seed ${SEED})`, async () => {
    console.log(
      `csi fuzz: seed ${SEED} (FUZZ_SEED=${SEED} replays this run), up to ${CALLS} calls in ${BUDGET_MS} ms`,
    );
    const registry = csiMessageRegistry();
    const definitions = csiServiceDefinitions();
    const methods = Object.entries(SERVED).flatMap(([service, names]) =>
      names.map((method) => {
        const def = definitions[service as keyof typeof definitions][method];
        expect(def, `${service}.${method} is in the proto`).toBeDefined();
        const typeName = `csi.v1.${(def as unknown as { requestType: { type: { name: string } } }).requestType.type.name}`;
        return { service, method, def: def!, typeName };
      }),
    );
    const claims = [`${NS}/a1`, `${NS}/a2`, `${NS}/b1`];
    const pool = [...claims, 'g-1', 's-1', 'v-1', 'fz', 'c1', 'main', '/tmp/target'];
    const keys = [
      ...PARAMETER_KEYS,
      `${CSI_METADATA_PREFIX}pvc/name`,
      `${CSI_METADATA_PREFIX}pvc/namespace`,
      'x',
    ];
    const gen = new Generator(seeded(SEED), registry, pool, keys);
    const okNames = { volume: new Set<string>(), snapshot: new Set<string>(), group: new Set<string>() };
    const codes = new Map<string, number>();
    const failures: Failure[] = [];
    const deadline = Date.now() + BUDGET_MS;
    let calls = 0;

    for (; calls < CALLS && Date.now() < deadline && failures.length < 10; calls++) {
      const m = gen.pick(methods);
      const message = gen.message(m.typeName);
      // Some requests name a real claim in the metadata keys, so that Creates also succeed.
      if (m.method === 'CreateVolume' && gen.chance(0.3)) {
        message.volume_capabilities = [{ mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } }];
        delete message.volume_content_source;
        delete message.mutable_parameters;
        message.parameters = {
          [`${CSI_METADATA_PREFIX}pvc/name`]: gen.pick(['a1', 'a2', 'b1']),
          [`${CSI_METADATA_PREFIX}pvc/namespace`]: NS,
        };
      }
      if (m.method === 'CreateSnapshot' && gen.chance(0.3)) message.source_volume_id = gen.pick(claims);
      if (m.method === 'CreateVolumeGroupSnapshot' && gen.chance(0.3)) {
        message.source_volume_ids = claims.filter(() => gen.chance(0.6));
      }
      let bytes: Uint8Array;
      try {
        bytes = m.def.requestSerialize(message);
      } catch {
        bytes = m.def.requestSerialize({});
      }
      if (gen.chance(0.4)) bytes = gen.mutate(bytes);
      const path = `/csi.v1.${m.service}/${m.method}`;
      let code: number;
      try {
        const answer = (await env.client.raw(path, { timeoutMs: 10_000 }, bytes)) as Buffer;
        code = status.OK;
        harvest(m.def.responseDeserialize(answer), pool);
        const kind = CREATES[m.method];
        if (kind)
          okNames[kind].add(String((m.def.requestDeserialize(Buffer.from(bytes)) as { name?: string }).name));
      } catch (err) {
        const e = err as { code?: number; details?: string };
        code = typeof e.code === 'number' ? e.code : -1;
        const from = `${status[code] ?? code}: ${(e.details ?? String(err)).slice(0, 200)}`;
        if (code === -1) failures.push({ call: calls, method: m.method, problem: `no gRPC status: ${from}` });
        else if (code === status.INTERNAL || code === status.UNKNOWN)
          failures.push({ call: calls, method: m.method, problem: from });
        else if (code === status.DEADLINE_EXCEEDED)
          failures.push({ call: calls, method: m.method, problem: `no answer in 10 s: ${from}` });
      }
      codes.set(status[code] ?? String(code), (codes.get(status[code] ?? String(code)) ?? 0) + 1);
      try {
        await env.client.Identity.Probe!({}, { timeoutMs: 5_000 });
      } catch (err) {
        failures.push({
          call: calls,
          method: m.method,
          problem: `the next Probe failed: ${(err as Error).message.slice(0, 200)}`,
        });
      }
    }
    console.log(
      `csi fuzz: ${calls} calls, answers ${JSON.stringify(Object.fromEntries(codes))}; accepted creates: ` +
        `${okNames.volume.size} volumes, ${okNames.snapshot.size} snapshots, ${okNames.group.size} groups`,
    );
    expect(failures, `seed ${SEED}`).toEqual([]);
    console.log(`csi fuzz: ${logLines.count} driver log lines, the longest ${logLines.longest} bytes`);
    expect(logLines.count).toBeGreaterThan(calls);
    expect(logLines.longest).toBeLessThanOrEqual(MAX_LOG_LINE_BYTES);
    expect(calls).toBeGreaterThanOrEqual(Math.min(CALLS, 1000));
    expect(codes.get('OK') ?? 0, 'some requests were accepted').toBeGreaterThan(0);
    expect(codes.get('INVALID_ARGUMENT') ?? 0, 'some requests were refused').toBeGreaterThan(0);

    // Nothing exists that an accepted Create did not make.
    // A CRD's storage may still be initializing on its first list (429): retry until it answers.
    const list = <T>(path: string) =>
      waitFor(`GET ${path}`, () =>
        admin.request<{ items: T[] }>('GET', path).then(
          (r) => r.items,
          () => undefined,
        ),
      );
    type Named = {
      metadata?: { name?: string };
      spec: { requestName?: string; volumeName?: string; requestKind?: string };
    };
    for (const r of await list<Named>(`${RECORDS}/etcdsnapshots`)) {
      const kind = r.spec.requestKind === 'group' ? 'group' : 'snapshot';
      expect(
        okNames[kind].has(r.spec.requestName!),
        `record ${r.metadata?.name} of a refused ${kind} ${JSON.stringify(r.spec.requestName).slice(0, 80)}`,
      ).toBe(true);
    }
    for (const v of await list<Named>(`${RECORDS}/etcdsourcevolumes`)) {
      expect(
        okNames.volume.has(v.spec.volumeName!),
        `volume ${v.metadata?.name} of a refused CreateVolume`,
      ).toBe(true);
    }
    for (const c of await list<Named>(`${RECORDS}/etcdsnapshotnames`)) {
      const kind = c.spec.requestKind === 'group' ? 'group' : 'snapshot';
      expect(okNames[kind].has(c.spec.requestName!), `claim ${c.metadata?.name} of a refused ${kind}`).toBe(
        true,
      );
    }
    expect(await list('/apis/batch/v1/jobs')).toEqual([]);
  }, 300_000);
});

/** IDs from an answer join the pool, so later requests name things that exist. */
function harvest(answer: unknown, pool: string[]): void {
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string' && /_id$/.test(key) && v && pool.length < 500) pool.push(v);
    else if (Array.isArray(v)) for (const x of v) walk(x, key);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(answer, '');
}
