// The key count of a save: how many keys the cluster held at the snapshot's revision, a count-only
// range at that revision on the member the file was streamed from. A restore compares its members
// with it (docs/restore.md, VerifyingResult): etcdutl's `totalKeys` counts the key revisions the
// file holds — every overwrite and deletion since the last compaction too — so it cannot be
// compared with the live keys a restored cluster answers. Best effort: a member that no longer answers, or the
// revision compacted meanwhile, leaves the count out (the restore then compares members alone).

import type { Logger } from 'pino';
import { EtcdClient } from '../etcd/client/etcd-client.ts';
import type { EtcdCredentials } from '../etcd/credentials.ts';

export async function keyCountAt(
  source: string,
  revision: number,
  connection: { credentials: EtcdCredentials; dialTimeoutMs: number; signal?: AbortSignal | undefined },
  log: Logger,
): Promise<number | undefined> {
  const { credentials, dialTimeoutMs, signal } = connection;
  const client = new EtcdClient(source, { credentials, dialTimeoutMs });
  try {
    const { count } = await client.countKeys('', {
      atRevision: revision,
      deadline: Date.now() + Math.max(5000, dialTimeoutMs * 2),
      ...(signal ? { signal } : {}),
    });
    return count;
  } catch (err) {
    signal?.throwIfAborted();
    log.warn({ source, revision, err: (err as Error).message }, 'no key count at the snapshot revision');
    return undefined;
  } finally {
    client.close();
  }
}
