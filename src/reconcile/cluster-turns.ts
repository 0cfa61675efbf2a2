// One operation per etcd cluster across reconcilers (a save of the snapshot pipeline, a restore):
// both judge "is the cluster free?" from their caches, and a cache lags the writes made just
// before. Both reconcilers of a cluster run on the replica that owns the cluster's bucket (they
// shard by the same cluster key), so an in-process ledger closes the gap: the decision and the
// intent write happen under the cluster's lock, and the intent is noted here until the caches
// have certainly seen it. After a handover the new owner's caches hold the old owner's intents.
import { type EtcdRestore, restoreFinished } from '../records/etcd-restore.ts';

/** Which kind of operation holds or asks for a cluster's turn. */
export type TurnKind = 'save' | 'restore';

export interface TurnIntent {
  kind: TurnKind;
  /** The record or restore that wrote its intent. */
  name: string;
}

/** How long a noted intent counts on its own: far longer than an informer needs to see a write. */
export const INTENT_MEMORY_MS = 60_000;

export class ClusterTurns {
  readonly #locked = new Set<string>();
  readonly #intents = new Map<string, { intent: TurnIntent; at: number }[]>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /**
   * Runs fn holding the cluster's lock; undefined (fn not run) when another decision for the
   * cluster is under way, so the caller looks again shortly instead of waiting.
   */
  async exclusive<T>(clusterKey: string, fn: () => Promise<T>): Promise<T | undefined> {
    if (this.#locked.has(clusterKey)) return undefined;
    this.#locked.add(clusterKey);
    try {
      return await fn();
    } finally {
      this.#locked.delete(clusterKey);
    }
  }

  /** Call right after an intent write succeeded, still under the lock. */
  noteIntent(clusterKey: string, intent: TurnIntent): void {
    const list = this.#fresh(clusterKey).filter(
      (e) => e.intent.kind !== intent.kind || e.intent.name !== intent.name,
    );
    list.push({ intent, at: this.#now() });
    this.#intents.set(clusterKey, list);
  }

  /** Intents of this kind noted recently for the cluster (the caches may not show them yet). */
  recentIntents(clusterKey: string, kind: TurnKind): string[] {
    return this.#fresh(clusterKey)
      .filter((e) => e.intent.kind === kind)
      .map((e) => e.intent.name);
  }

  #fresh(clusterKey: string): { intent: TurnIntent; at: number }[] {
    const cutoff = this.#now() - INTENT_MEMORY_MS;
    const list = (this.#intents.get(clusterKey) ?? []).filter((e) => e.at > cutoff);
    if (list.length === 0) this.#intents.delete(clusterKey);
    else this.#intents.set(clusterKey, list);
    return list;
  }
}

/**
 * The restore that keeps a save from starting: any restore of the cluster that has not ended
 * (one waiting for its turn included, so a stream of scheduled saves cannot starve it), or one
 * whose intent this process noted moments ago. Undefined when none does.
 */
export function restoreInFlight(
  restores: readonly EtcdRestore[],
  noted: readonly string[],
): string | undefined {
  const active = restores.find((r) => !restoreFinished(r) && !r.metadata?.deletionTimestamp);
  if (active) return active.metadata?.name ?? '';
  return noted.find((name) => {
    const r = restores.find((x) => x.metadata?.name === name);
    return !r || !restoreFinished(r);
  });
}
