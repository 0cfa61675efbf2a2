// The restore's side of one operation per etcd cluster, pure: a restore takes its cluster's turn
// only when no save or file removal of the cluster may still run, no other restore holds it, and
// no older restore of the cluster waits for it (oldest first). A restore holds the turn from the
// Validate write that names status.clusterKey until it ends; the snapshot pipeline waits for any
// unfinished restore of the cluster (../cluster-turns.ts), so the two never overlap.
import type { Job, Pod } from '../../informers/resources.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { restoreFinished } from '../../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { podActive } from '../jobs/job-outcome.ts';
import { jobFinished } from '../jobs/job-state.ts';

export interface RestoreTurnInput {
  self: EtcdRestore;
  /** Restores of the same cluster (self may be among them). */
  restores: readonly EtcdRestore[];
  /** Snapshot records of the cluster. */
  records: readonly EtcdSnapshot[];
  /** The driver's Jobs and pods of the cluster (any operation but this restore's own). */
  jobs: readonly Job[];
  pods: readonly Pod[];
  /** Saves this process noted moments ago (the caches may lag them). */
  notedSaves: readonly string[];
}

/** A record whose save ended (Ready or Failed). */
const inFinalPhase = (r: EtcdSnapshot) => r.status?.phase === 'Ready' || r.status?.phase === 'Failed';

export type RestoreTurn = { go: true } | { go: false; waitingFor: string };

function olderFirst(a: EtcdRestore, b: EtcdRestore): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
}

/**
 * Another unfinished restore of the cluster that holds its turn: while it runs, the cluster is
 * its to scale down and rewrite, so the target's checks must wait for it to end, not judge the
 * StatefulSet it scaled to 0 (two claims of one Velero restore restore one cluster in turn).
 */
export function turnHolder(self: EtcdRestore, restores: readonly EtcdRestore[]): EtcdRestore | undefined {
  const selfName = self.metadata?.name ?? '';
  return restores.find(
    (r) =>
      r.metadata?.name !== selfName &&
      !restoreFinished(r) &&
      !r.metadata?.deletionTimestamp &&
      r.status?.clusterKey,
  );
}

export function restoreTurn(input: RestoreTurnInput): RestoreTurn {
  const selfName = input.self.metadata?.name ?? '';
  for (const r of input.records) {
    if (r.status?.saveJob && !inFinalPhase(r))
      return { go: false, waitingFor: `the save of ${r.metadata?.name}` };
  }
  for (const name of input.notedSaves) {
    const r = input.records.find((x) => x.metadata?.name === name);
    if (!r || !inFinalPhase(r)) return { go: false, waitingFor: `the save of ${name}` };
  }
  for (const job of input.jobs)
    if (!jobFinished(job) && !job.metadata?.deletionTimestamp)
      return { go: false, waitingFor: `Job ${job.metadata?.name}` };
  for (const pod of input.pods)
    if (podActive(pod)) return { go: false, waitingFor: `pod ${pod.metadata?.name}` };
  const others = input.restores.filter(
    (r) => r.metadata?.name !== selfName && !restoreFinished(r) && !r.metadata?.deletionTimestamp,
  );
  const holder = turnHolder(input.self, others);
  if (holder) return { go: false, waitingFor: `the restore ${holder.metadata?.name}` };
  const older = others.filter((r) => olderFirst(r, input.self) < 0).sort(olderFirst)[0];
  if (older) return { go: false, waitingFor: `the older restore ${older.metadata?.name}` };
  return { go: true };
}
