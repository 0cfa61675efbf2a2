// Which snapshot directories of a claim no record owns, and which of them may be removed now.
// A directory is removed only when two consecutive sweeps found it unowned (the second one
// deletes it): one sweep reports, and a record the cache was late to show has a full interval to
// appear. Pure.
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { snapshotDir } from '../snapshot-records/names.ts';

/** The directory names (relative to the claim) the records of a claim own. */
export function ownedDirs(records: readonly EtcdSnapshot[], claimName: string): string[] {
  const dirs = new Set<string>();
  for (const r of records) {
    if (r.spec?.storage?.claimName !== claimName) continue;
    const dir = snapshotDir(r.spec.storage.path ?? '');
    if (dir !== '') dirs.add(dir);
  }
  return [...dirs].sort();
}

/** What a sweep reported as unowned, minus what records own now (the cache may have caught up). */
export function confirmedOrphans(reported: readonly string[], owned: readonly string[]): string[] {
  const own = new Set(owned);
  return reported.filter((d) => !own.has(d));
}

/** The directories the next sweep may delete: unowned in the last sweep, and still unowned now. */
export function deletable(previous: readonly string[] | undefined, owned: readonly string[]): string[] {
  return previous ? confirmedOrphans(previous, owned) : [];
}
