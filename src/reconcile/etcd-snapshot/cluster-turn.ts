// One save in flight per etcd cluster, decided from the caches alone so it survives any crash:
// a record may start its save Job only when no other record of the cluster has a save that may
// still run (a record that wrote its intent, an unfinished save Job, a save pod still running)
// and no older record of the cluster is still waiting for its turn (oldest first, by
// creationTimestamp then name).
import type { Job, Pod } from '../../informers/resources.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { jobFinished } from '../jobs/job-state.ts';
import { LABEL_SNAPSHOT_ID } from '../snapshot-records/names.ts';
import { podActive } from './job-outcome.ts';

export interface TurnInput {
  self: EtcdSnapshot;
  /** Records of the same etcd cluster (self may be among them). */
  peers: readonly EtcdSnapshot[];
  /** Save Jobs of the cluster (label operation=save, cluster=<name>) in its namespace. */
  saveJobs: readonly Job[];
  /** Pods of those Jobs. */
  savePods: readonly Pod[];
}

export type Turn = { go: true } | { go: false; waitingFor: string };

export function inFinalPhase(record: EtcdSnapshot): boolean {
  return record.status?.phase === 'Ready' || record.status?.phase === 'Failed';
}

export function olderFirst(a: EtcdSnapshot, b: EtcdSnapshot): number {
  const ta = a.metadata?.creationTimestamp ?? '';
  const tb = b.metadata?.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}

export function saveTurn(input: TurnInput): Turn {
  const selfName = input.self.metadata?.name ?? '';
  const others = input.peers.filter((r) => r.metadata?.name !== selfName);
  const jobOf = new Map(input.saveJobs.map((j) => [j.metadata?.labels?.[LABEL_SNAPSHOT_ID] ?? '', j]));
  for (const r of others) {
    const name = r.metadata?.name ?? '';
    if (!r.status?.saveJob || inFinalPhase(r) || r.metadata?.deletionTimestamp) continue;
    // Intent written: its Job exists, is about to, or is not cached yet. Only its end frees the turn.
    const job = jobOf.get(name);
    if (!job || !jobFinished(job)) return { go: false, waitingFor: `the save of ${name}` };
  }
  for (const job of input.saveJobs) {
    const owner = job.metadata?.labels?.[LABEL_SNAPSHOT_ID];
    if (owner !== selfName && !jobFinished(job) && !job.metadata?.deletionTimestamp)
      return { go: false, waitingFor: `save Job ${job.metadata?.name}` };
  }
  for (const pod of input.savePods) {
    const owner = pod.metadata?.labels?.[LABEL_SNAPSHOT_ID];
    if (owner !== selfName && podActive(pod))
      return { go: false, waitingFor: `save pod ${pod.metadata?.name}` };
  }
  const older = others
    .filter((r) => !inFinalPhase(r) && !r.metadata?.deletionTimestamp && !r.status?.saveJob)
    .filter((r) => olderFirst(r, input.self) < 0)
    .sort(olderFirst)[0];
  if (older) return { go: false, waitingFor: `the older snapshot ${older.metadata?.name}` };
  return { go: true };
}
