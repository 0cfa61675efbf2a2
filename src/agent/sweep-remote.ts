// `agent sweep` over an object store: the snapshot directories under `<prefix>/<namespace>/<cluster>/`
// that no record owns (orphans: a record deleted by hand with its finalizer removed, a copy of a
// cluster whose records are gone), and the removal of the ones the controller confirmed. The
// listing is the store's (src/objectstore/listing.ts): a directory counts complete or not; keys
// that are no snapshot's are never touched. A directory younger than the minimum age (by its
// manifest's time, else its newest object's) is left alone: an upload may be writing it for a
// record the controller has not seen. A store that cannot be listed is reported in the result,
// and the local sweep still counts. Runs in the sweep Job, where the store Secret is mounted (and
// ambient credentials, such as a Job's IRSA role, apply): the controller never talks to the store.
import { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from 'pino';
import { clusterPrefix, s3Url, snapshotPrefix } from '../objectstore/layout.ts';
import { listRemoteSnapshots } from '../objectstore/listing.ts';
import { s3ClientConfig } from '../objectstore/s3-options.ts';
import type { RemoteSweepArguments, RemoteSweepReport } from './contract.ts';
import { deleteRemoteCopy } from './delete-remote.ts';
import { classifyFailure } from './failure.ts';
import { storeFailure } from './store-failure.ts';
import { readStoreConfig } from './store-files.ts';

export interface RemoteSweepDeps {
  log: Logger;
  now: () => number;
  minAgeSeconds: number;
  signal?: AbortSignal;
  /** Test seam: the client to use (one from the store config when absent). */
  client?: S3Client;
}

/** Full lists (the caller bounds them to the termination message). */
export async function sweepRemote(
  args: RemoteSweepArguments,
  deps: RemoteSweepDeps,
): Promise<RemoteSweepReport> {
  let location = `(store of ${args.storeConfigDir})`;
  let client: S3Client | undefined;
  try {
    const config = await readStoreConfig(args.storeConfigDir);
    const base = clusterPrefix(config.prefix, args.namespace, args.cluster);
    location = s3Url(config.bucket, base);
    client = deps.client ?? new S3Client(s3ClientConfig(config));
    const options = deps.signal ? { abortSignal: deps.signal } : {};
    const listing = await listRemoteSnapshots(
      client,
      config.bucket,
      config.prefix,
      args.namespace,
      args.cluster,
      options,
    ).catch((err: unknown) => {
      throw storeFailure(err, `listing of ${location}`);
    });
    const keep = new Set(args.keep);
    const wanted = new Set(args.delete);
    const oldEnough = (t: Date | undefined) =>
      t !== undefined && deps.now() - t.getTime() >= deps.minAgeSeconds * 1000;
    const unowned = listing.snapshots
      .filter((s) => !keep.has(s.snapshot) && oldEnough(s.lastModified))
      .sort((a, b) => (a.lastModified?.getTime() ?? 0) - (b.lastModified?.getTime() ?? 0));
    const deleted: string[] = [];
    for (const s of unowned) {
      if (!wanted.has(s.snapshot)) continue;
      const prefix = snapshotPrefix(config.prefix, { ...args, snapshot: s.snapshot });
      await deleteRemoteCopy(client, config.bucket, prefix, {
        log: deps.log,
        ...(deps.signal ? { signal: deps.signal } : {}),
      });
      deleted.push(s.snapshot);
    }
    const left = unowned.filter((s) => !deleted.includes(s.snapshot)).map((s) => s.snapshot);
    deps.log.info(
      { location, scanned: listing.snapshots.length, unowned: left.length, deleted: deleted.length },
      'remote snapshots swept',
    );
    return { location, scanned: listing.snapshots.length, unownedCount: left.length, unowned: left, deleted };
  } catch (err) {
    const failure = classifyFailure(err);
    deps.log.warn({ location, reason: failure.reason, error: failure.message }, 'remote sweep failed');
    return {
      location,
      scanned: 0,
      unownedCount: 0,
      unowned: [],
      deleted: [],
      error: { reason: failure.reason, message: failure.message.slice(0, 300) },
    };
  } finally {
    if (client && !deps.client) client.destroy();
  }
}
