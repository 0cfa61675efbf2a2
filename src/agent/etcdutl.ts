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

/** How much of etcdutl's stderr a failure carries: the end, where the cause is. */
export const STDERR_TAIL_CHARS = 1500;

export function stderrTail(stderr: string, limit = STDERR_TAIL_CHARS): string {
  const text = stderr.trim();
  return text.length <= limit ? text : `…${text.slice(text.length - limit)}`;
}

export interface SnapshotRestoreFlags {
  name: string;
  initialCluster: string;
  initialClusterToken: string;
  initialAdvertisePeerUrls: string;
  bumpRevision: number;
  dataDir: string;
}

/** `etcdutl snapshot restore`; rejects with etcdutl's stderr tail (bounded). */
export function snapshotRestore(
  etcdutl: string,
  file: string,
  flags: SnapshotRestoreFlags,
  signal?: AbortSignal,
): Promise<void> {
  const argv = [
    'snapshot',
    'restore',
    file,
    `--name=${flags.name}`,
    `--initial-cluster=${flags.initialCluster}`,
    `--initial-cluster-token=${flags.initialClusterToken}`,
    `--initial-advertise-peer-urls=${flags.initialAdvertisePeerUrls}`,
    // etcdutl requires --mark-compacted with any bump and refuses it without one.
    ...(flags.bumpRevision > 0 ? [`--bump-revision=${flags.bumpRevision}`, '--mark-compacted'] : []),
    `--data-dir=${flags.dataDir}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      etcdutl,
      argv,
      { signal, timeout: 30 * 60_000, maxBuffer: 4 * 1024 * 1024 },
      (err, _out, stderr) => {
        if (err) reject(new Error(`etcdutl snapshot restore ${file}: ${stderrTail(stderr || err.message)}`));
        else resolve();
      },
    );
  });
}
