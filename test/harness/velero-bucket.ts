// What a Velero backup left in its location on the harness S3 server, read back as Velero wrote
// it: the object keys under `<prefix>/backups/<backup>/`, and the items of `<backup>.tar.gz`
// (`resources/<resource>/namespaces/<ns>/<name>.json`, `…/cluster/<name>.json` for cluster-scoped
// ones; Velero writes each item a second time under `resources/<resource>/<version>-preferredversion/`)
// listed and parsed with the system's tar.
import { execFile } from 'node:child_process';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { S3Server } from './s3-server.ts';
import type { Velero } from './velero.ts';

export interface BackupInBucket {
  /** Keys below `<prefix>/backups/<backup>/`, relative to it. */
  readonly keys: readonly string[];
  /** Every entry of the backup's tarball. */
  readonly items: readonly string[];
  /** One item of the tarball, parsed. */
  item<T>(path: string): Promise<T>;
  /** Every item of one resource (e.g. `volumesnapshots.snapshot.storage.k8s.io`), once each, parsed. */
  itemsOf<T>(resource: string): Promise<T[]>;
}

/** `tar` with these arguments reading a gzipped tarball from stdin; its stdout. */
function tar(args: readonly string[], input: Uint8Array): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('tar', [...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(`tar ${args.join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

export async function readBackupFromBucket(
  s3: S3Server,
  velero: Velero,
  backup: string,
): Promise<BackupInBucket> {
  const client = new S3Client(s3.clientConfig());
  try {
    const dir = `${velero.prefix}/backups/${backup}/`;
    const listed = await client.send(new ListObjectsV2Command({ Bucket: velero.bucket, Prefix: dir }));
    const keys = (listed.Contents ?? []).map((o) => (o.Key ?? '').slice(dir.length));
    const got = await client.send(
      new GetObjectCommand({ Bucket: velero.bucket, Key: `${dir}${backup}.tar.gz` }),
    );
    if (!got.Body) throw new Error(`${dir}${backup}.tar.gz has no body`);
    const tarball = await got.Body.transformToByteArray();
    const items = (await tar(['-tzf', '-'], tarball)).split('\n').filter(Boolean);
    const item = async <T>(path: string) => JSON.parse(await tar(['-xzOf', '-', path], tarball)) as T;
    const itemsOf = <T>(resource: string) =>
      Promise.all(
        items
          .filter((i) => i.startsWith(`resources/${resource}/`) && !i.includes('-preferredversion/'))
          .map((i) => item<T>(i)),
      );
    return { keys, items, item, itemsOf };
  } finally {
    client.destroy();
  }
}

/** The object keys under `<prefix>/backups/<backup>/`: none once Velero deleted the backup. */
export async function backupKeys(s3: S3Server, velero: Velero, backup: string): Promise<string[]> {
  return (await s3.keysUnder(`${velero.prefix}/backups/${backup}/`, velero.bucket)).objects;
}

/** The snapshot handles of the VolumeSnapshotContents a backup stored in its tarball. */
export async function storedSnapshotHandles(s3: S3Server, velero: Velero, backup: string): Promise<string[]> {
  const stored = await readBackupFromBucket(s3, velero, backup);
  const contents = await stored.itemsOf<{ status?: { snapshotHandle?: string } }>(
    'volumesnapshotcontents.snapshot.storage.k8s.io',
  );
  return contents.map((c) => c.status?.snapshotHandle ?? '');
}
