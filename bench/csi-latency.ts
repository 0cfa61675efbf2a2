// CSI latency over the unix socket with a warm cache, on a real local cluster with the 3-member
// etcd fixture: what csi-snapshotter does while a group is not ready — re-call
// CreateVolumeGroupSnapshot with the same arguments, GetVolumeGroupSnapshot, ListSnapshots by
// snapshot_id — plus a full ListSnapshots page, each as p50/p99 and as a ratio to Probe measured
// in the same run (goal: p99 ≤ 2× Probe's p99), and API calls per re-call (goal: 0 writes).
//
//   node bench/csi-latency.ts [--calls=2000] [--records=100] [--members=3] [--json]
import { CoreV1Api } from '@kubernetes/client-node';
import type { CsiClient } from '../src/csi/csi-client.ts';
import type { CreateVolumeGroupSnapshotResponse } from '../src/csi/messages.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { waitFor } from '../test/harness/process.ts';
import { ensureTools } from '../test/harness/tools.ts';
import { deployEtcd, ETCD_FIXTURE, installCrds, startDriver } from '../test/integration/csi/driver-env.ts';

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const CALLS = Number(args.get('calls') ?? 2000);
const RECORDS = Number(args.get('records') ?? 100);
const MEMBERS = Number(args.get('members') ?? 3);
const WARMUP = Math.min(200, CALLS);
const NS = ETCD_FIXTURE.namespace!;
const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Series {
  name: string;
  samples: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function time(call: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await call();
  return Number(process.hrtime.bigint() - start) / 1e3; // µs
}

await ensureTools(['etcd', 'kubernetes']);
say('starting the local cluster, the etcd fixture and the driver …');
const cluster = await startLocalCluster({ name: 'csi-bench' });
try {
  await installCrds(cluster);
  await deployEtcd(cluster);
  const env = await startDriver(cluster, { etcdNamespace: NS });
  const client: CsiClient = env.client;
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);

  // Source volumes: claims bound to static PVs of the driver, annotated with the cluster.
  const claims: string[] = [];
  for (let i = 0; i < Math.max(MEMBERS, 1); i++) {
    const name = `bench-data-${i}`;
    await core.createPersistentVolume({
      body: {
        metadata: { name: `pv-${name}` },
        spec: {
          capacity: { storage: '1Mi' },
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'etcd-source',
          claimRef: { namespace: NS, name },
          csi: { driver: 'etcd-snapshot-driver', volumeHandle: `${NS}/${name}` },
        },
      },
    });
    await core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: { name, annotations: { 'etcd.io/cluster': ETCD_FIXTURE.name } },
        spec: {
          storageClassName: 'etcd-source',
          volumeName: `pv-${name}`,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Mi' } },
        },
      },
    });
    claims.push(`${NS}/${name}`);
  }
  await waitFor('bound claims in the cache', () =>
    claims.every((id) => env.stores.persistentVolumeClaims.get(id)?.status?.phase === 'Bound')
      ? true
      : undefined,
  );

  // Other snapshots, so listing and the indexes have something to skip.
  say(`creating ${RECORDS} other snapshot records …`);
  for (let i = 0; i < RECORDS; i++) {
    await client.Controller.CreateSnapshot!({
      name: `bench-other-${i}`,
      source_volume_id: claims[i % claims.length],
    });
  }
  const { group_snapshot: group } = (await client.GroupController.CreateVolumeGroupSnapshot!({
    name: 'bench-group',
    source_volume_ids: claims,
  })) as CreateVolumeGroupSnapshotResponse;
  await waitFor('every record in the informer cache', () =>
    env.stores.etcdSnapshots.size >= RECORDS + 1 ? true : undefined,
  );

  const memberId = group.snapshots[0]!.snapshot_id;
  const reversed = [...claims].reverse();
  const calls: [string, () => Promise<unknown>][] = [
    ['Probe', () => client.Identity.Probe!({})],
    [
      'CreateVolumeGroupSnapshot (re-call)',
      () =>
        client.GroupController.CreateVolumeGroupSnapshot!({
          name: 'bench-group',
          source_volume_ids: reversed,
        }),
    ],
    [
      'GetVolumeGroupSnapshot',
      () => client.GroupController.GetVolumeGroupSnapshot!({ group_snapshot_id: group.group_snapshot_id }),
    ],
    ['ListSnapshots {snapshot_id}', () => client.Controller.ListSnapshots!({ snapshot_id: memberId })],
    [`ListSnapshots (all, ${RECORDS + claims.length} entries)`, () => client.Controller.ListSnapshots!({})],
  ];

  say(`warming up (${WARMUP} calls each) …`);
  for (const [, call] of calls) for (let i = 0; i < WARMUP; i++) await call();

  // Interleaved rounds: every method sees the same machine load.
  const series: Series[] = calls.map(([name]) => ({ name, samples: [] }));
  const before = { ...env.apiCalls };
  let recalls = 0;
  say(`measuring (${CALLS} calls each, interleaved) …`);
  for (let i = 0; i < CALLS; i++) {
    for (const [j, [name, call]] of calls.entries()) {
      series[j]!.samples.push(await time(call));
      if (name.startsWith('CreateVolumeGroupSnapshot')) recalls++;
    }
  }
  const after = { ...env.apiCalls };

  const rows = series.map((s) => {
    const sorted = [...s.samples].sort((a, b) => a - b);
    return { name: s.name, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
  const probe = rows[0]!;
  const result = {
    calls: CALLS,
    records: RECORDS + 1,
    members: claims.length,
    rows: rows.map((r) => ({
      ...r,
      p50_vs_probe: r.p50 / probe.p50,
      p99_vs_probe: r.p99 / probe.p99,
    })),
    apiWritesPerRecall: (after.writes - before.writes) / recalls,
    apiReadsPerRecall: (after.reads - before.reads) / recalls,
  };
  if (args.has('json')) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const us = (v: number) => `${Math.round(v)} µs`;
    const x = (v: number) => `${v.toFixed(2)}×`;
    process.stdout.write(
      `CSI latency over the unix socket, warm cache, ${CALLS} calls each (${result.records} records, group of ${result.members})\n\n`,
    );
    process.stdout.write('| call | p50 | p99 | p50 / Probe | p99 / Probe |\n|---|---|---|---|---|\n');
    for (const r of result.rows) {
      process.stdout.write(
        `| ${r.name} | ${us(r.p50)} | ${us(r.p99)} | ${x(r.p50_vs_probe)} | ${x(r.p99_vs_probe)} |\n`,
      );
    }
    process.stdout.write(
      `\nAPI writes per CreateVolumeGroupSnapshot re-call: ${result.apiWritesPerRecall} (reads: ${result.apiReadsPerRecall})\n`,
    );
  }
  await env.stop();
} finally {
  await cluster.stop();
}
