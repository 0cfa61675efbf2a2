// What the cases of velero.test.ts share: the namespace, the environment, the Velero server and
// what the first backup kept, and small readers of etcd and of the bucket.
import type { EtcdFixture } from '../../harness/etcd-fixture.ts';
import type { LocalCluster } from '../../harness/local-cluster.ts';
import type { S3Server } from '../../harness/s3-server.ts';
import type { ContentInfo, SnapshotStack } from '../../harness/snapshot-stack.ts';
import type { Velero } from '../../harness/velero.ts';
import { readBackupFromBucket } from '../../harness/velero-bucket.ts';

export const NS = 'etcd';

export interface UpstreamEnv {
  cluster: LocalCluster;
  etcd: EtcdFixture;
  stack: SnapshotStack;
}

/** What the cases share: the environment, the server, and what the first backup kept. */
export interface VeleroCase {
  env: UpstreamEnv;
  s3: S3Server;
  velero: Velero;
  /** The single-snapshot backup: its name, etcd's keys at backup time, its files (for later cases). */
  single: { name: string; keys: string[]; files: { file: string; checksum: string }[] };
}

export const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

export async function allKeys(etcd: EtcdFixture): Promise<string[]> {
  const out = await etcd.etcdctl(['get', '', '--prefix', '--keys-only']);
  return out.split('\n').filter((l) => l !== '');
}

/** The VolumeSnapshotContents a backup kept, read back from its tarball in the bucket. */
export async function storedHandles(c: VeleroCase, backup: string): Promise<ContentInfo[]> {
  const stored = await readBackupFromBucket(c.s3, c.velero, backup);
  return stored.itemsOf<ContentInfo>('volumesnapshotcontents.snapshot.storage.k8s.io');
}
