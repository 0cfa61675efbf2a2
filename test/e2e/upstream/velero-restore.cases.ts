// Restores through the real Velero server (velero.test.ts): `velero restore create --from-backup`
// of the single-snapshot backup, first into the etcd namespace whose etcd cluster was deleted
// (StatefulSet, Service, data and source claims), then in place (the cluster running with changed
// data, only its source claims deleted: Velero skips every object that exists, PVCs included, so
// the source claims are what it re-creates). Velero re-creates each source claim with its
// VolumeSnapshot as dataSource; csi-provisioner's CreateVolume goes through the driver's restore
// door, which restores the cluster the claim's etcd.io/cluster names; Velero's restore ends
// Completed once the claims are bound (its Finalizing phase waits for them).
import { expect, it } from 'vitest';
import type { EtcdRestore } from '../../../src/records/etcd-restore.ts';
import type { EtcdSourceVolume } from '../../../src/records/etcd-source-volume.ts';
import { waitFor } from '../../harness/process.ts';
import { allKeys, NS, seconds, type VeleroCase } from './velero-context.ts';

const SOURCES = ['main-dynamic', 'main-static'];

interface Claim {
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  spec: { volumeName?: string; dataSource?: { kind?: string; name?: string } };
}
interface Volume {
  spec: { persistentVolumeReclaimPolicy?: string; csi?: { volumeHandle?: string } };
}

async function claim(c: VeleroCase, name: string): Promise<Claim> {
  return c.env.stack.getJson<Claim>(['pvc', name, '-n', NS]);
}

async function sourceVolumes(c: VeleroCase): Promise<EtcdSourceVolume[]> {
  return (await c.env.stack.getJson<{ items: EtcdSourceVolume[] }>(['etcdsourcevolumes', '-n', NS])).items;
}

async function veleroMadeRestores(c: VeleroCase, veleroRestore: string): Promise<EtcdRestore[]> {
  const all = (await c.env.stack.getJson<{ items: EtcdRestore[] }>(['etcdrestores', '-n', NS])).items;
  const claims = await Promise.all(SOURCES.map((s) => claim(c, s)));
  const volumes = new Set(claims.map((cl) => cl.spec.volumeName));
  const ours = (await sourceVolumes(c)).filter((v) => volumes.has(v.spec.volumeName));
  const names = new Set(ours.map((v) => v.spec.contentSource?.restore));
  expect(claims.every((cl) => cl.metadata.labels?.['velero.io/restore-name'] === veleroRestore)).toBe(true);
  return all.filter((r) => names.has(r.metadata?.name));
}

/** `velero restore create` of the backup, waited for; Completed, else the restore's own account. */
async function veleroRestore(c: VeleroCase, name: string): Promise<void> {
  const t = performance.now();
  await c.velero.cli(
    ['restore', 'create', name, '--from-backup', c.single.name, '--include-namespaces', NS, '--wait'],
    { timeoutMs: 900_000 },
  );
  const restore = await c.velero.waitRestoreFinished(name, 900_000);
  console.log(`velero restore create ${name} → ${restore.status?.phase}: ${seconds(t)}`);
  if (restore.status?.phase !== 'Completed') {
    const { stdout } = await c.velero.cli(['restore', 'describe', name, '--details']);
    expect.fail(`restore ${name} ${restore.status?.phase}:\n${stdout}\n${c.velero.logTail()}`);
  }
}

async function waitSourcesBound(c: VeleroCase): Promise<void> {
  for (const source of SOURCES) await c.env.stack.waitBound(NS, source, 300_000);
}

export function restoreCases(c: VeleroCase): void {
  it('velero restore create --from-backup into the namespace whose etcd cluster was deleted: the door restores it, exactly the keys of backup time', async () => {
    const { etcd, stack } = c.env;
    await etcd.etcdctl(['put', '/app/after-backup', 'lost']);
    // main-dynamic's volume is kept (Retain): its record holds the volume ID etcd/main-dynamic,
    // which the claim Velero re-creates under the same name must not need.
    const oldVolume = (await claim(c, 'main-dynamic')).spec.volumeName ?? '';
    await stack.kubectl([
      'patch',
      'pv',
      oldVolume,
      '-p',
      JSON.stringify({ spec: { persistentVolumeReclaimPolicy: 'Retain' } }),
    ]);
    const oldClaims = await Promise.all(SOURCES.map((s) => claim(c, s)));

    const t = performance.now();
    await stack.kubectl(['-n', NS, 'delete', 'statefulset', etcd.name, '--wait=true']);
    await stack.kubectl(['-n', NS, 'delete', 'service', etcd.name, '--wait=true']);
    await stack.kubectl(['-n', NS, 'delete', 'pvc', ...SOURCES, '--wait=true']);
    await stack.kubectl(['-n', NS, 'delete', 'pvc', '-l', `etcd.io/cluster=${etcd.name}`, '--wait=true']);
    await waitFor(
      'the etcd pods to be gone',
      async () => ((await etcd.pods()).length === 0 ? true : undefined),
      {
        timeoutMs: 180_000,
        intervalMs: 1_000,
      },
    );
    console.log(`etcd cluster deleted (StatefulSet, Service, data and source claims): ${seconds(t)}`);

    const name = 'etcd-restore-1';
    const t1 = performance.now();
    await veleroRestore(c, name);
    await waitSourcesBound(c);
    await etcd.waitHealthy(300_000);
    console.log(`velero restore → claims bound, etcd healthy: ${seconds(t1)}`);
    expect(await allKeys(etcd)).toEqual(c.single.keys);

    // New claims (Velero's), from their VolumeSnapshots, each through a Completed door restore.
    const claims = await Promise.all(SOURCES.map((s) => claim(c, s)));
    for (const [i, cl] of claims.entries()) {
      expect(cl.metadata.uid).not.toBe(oldClaims[i]?.metadata.uid);
      expect(cl.spec.dataSource?.kind).toBe('VolumeSnapshot');
    }
    const restores = await veleroMadeRestores(c, name);
    expect(restores.length).toBeGreaterThanOrEqual(1);
    for (const r of restores) expect(r.status?.phase).toBe('Completed');

    // The kept volume keeps its ID and record; the new main-dynamic has an ID of its own.
    const handle = async (pv: string) =>
      (await stack.getJson<Volume>(['pv', pv])).spec.csi?.volumeHandle ?? '';
    expect(await handle(oldVolume)).toBe(`${NS}/main-dynamic`);
    const newHandle = await handle(claims[0]?.spec.volumeName ?? '');
    expect(newHandle).toMatch(/^etcd\/main-dynamic-[a-z2-7]{16}$/);
    const records = await sourceVolumes(c);
    const recordOf = (volumeName: string) => records.find((v) => v.spec.volumeName === volumeName);
    expect(recordOf(oldVolume)?.metadata?.name).toBe('main-dynamic');
    expect(recordOf(claims[0]?.spec.volumeName ?? '')?.metadata?.name).toBe(newHandle.slice(NS.length + 1));

    // The kept volume let go (Delete): csi-provisioner's DeleteVolume takes its record alone.
    await stack.kubectl([
      'patch',
      'pv',
      oldVolume,
      '-p',
      JSON.stringify({ spec: { persistentVolumeReclaimPolicy: 'Delete' } }),
    ]);
    await stack.waitGone(['pv', oldVolume], 180_000);
    const left = (await sourceVolumes(c)).map((v) => v.spec.volumeName).sort();
    expect(left).toEqual(claims.map((cl) => cl.spec.volumeName).sort());
  }, 1_500_000);

  it('velero restore in place: data changed after the backup, the source claims deleted, velero restore brings the keys of backup time back', async () => {
    const { etcd, stack } = c.env;
    await etcd.etcdctl(['put', '/app/velero', 'changed']);
    await etcd.etcdctl(['put', '/app/after-backup', 'lost again']);
    expect(await allKeys(etcd)).not.toEqual(c.single.keys);
    const pods = (await etcd.pods()).map((p) => p.metadata?.name).sort();
    await stack.kubectl(['-n', NS, 'delete', 'pvc', ...SOURCES, '--wait=true']);

    const name = 'etcd-restore-2';
    const t = performance.now();
    await veleroRestore(c, name);
    await waitSourcesBound(c);
    await etcd.waitHealthy(300_000);
    console.log(`velero restore in place → claims bound, etcd healthy: ${seconds(t)}`);
    expect(await allKeys(etcd)).toEqual(c.single.keys);
    expect(await etcd.etcdctl(['get', '/app/velero', '--print-value-only'])).toContain('backed-up');
    expect((await etcd.pods()).map((p) => p.metadata?.name).sort()).toEqual(pods);
    const restores = await veleroMadeRestores(c, name);
    expect(restores.length).toBeGreaterThanOrEqual(1);
    for (const r of restores) expect(r.status?.phase).toBe('Completed');
  }, 1_500_000);
}
