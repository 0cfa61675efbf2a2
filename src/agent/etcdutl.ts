// `etcdutl snapshot status <file> -w json`: etcd's own reading of a snapshot file (bbolt opens it,
// the KV hash is computed). Used when etcdutl is on PATH — it is in the image and in the
// process kubelet's Job containers; elsewhere the agent falls back to its own checks.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface EtcdutlStatus {
  hash: number;
  revision: number;
  totalKey: number;
  totalSize: number;
  version: string;
}

export function findOnPath(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function snapshotStatus(etcdutl: string, file: string, signal?: AbortSignal): Promise<EtcdutlStatus> {
  return new Promise((resolve, reject) => {
    execFile(
      etcdutl,
      ['snapshot', 'status', file, '-w', 'json'],
      { signal, timeout: 10 * 60_000, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const text = (stderr || err.message).trim().split('\n').slice(-3).join(' ');
          reject(new Error(`etcdutl snapshot status ${file}: ${text}`));
          return;
        }
        try {
          const v = JSON.parse(stdout) as Partial<EtcdutlStatus>;
          if (typeof v.hash !== 'number' || typeof v.revision !== 'number')
            throw new Error('no hash or revision');
          resolve({
            hash: v.hash,
            revision: v.revision,
            totalKey: v.totalKey ?? 0,
            totalSize: v.totalSize ?? 0,
            version: v.version ?? '',
          });
        } catch (parseError) {
          reject(
            new Error(
              `etcdutl snapshot status ${file}: unreadable output (${(parseError as Error).message})`,
            ),
          );
        }
      },
    );
  });
}
