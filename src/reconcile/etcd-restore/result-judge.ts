// What VerifyResult concludes from one look at the started cluster, pure: not yet (members still
// starting, no leader), the restore is good, or it failed (what differed). Every member must hold
// the snapshot's own key count (the record's keyCount, counted at save time at the snapshot's
// revision). Fail closed: 0 keys from a snapshot that held some — or, for a record without a
// keyCount (saved before it was recorded), from one beyond the first revision — is a failure.
import type { EtcdRestoreMemberStatus } from '../../records/etcd-restore.ts';
import { fail, type StepFailure } from '../step.ts';
import type { LiveClusterView } from './ports.ts';

export type Judgement =
  | { verdict: 'wait'; why: string }
  | { verdict: 'good'; revision: number; keys: number; leader: string }
  | StepFailure;

const failed = (message: string) => fail('RESTORE_VERIFICATION_FAILED', message);

export function judgeResult(
  view: LiveClusterView,
  intended: readonly EtcdRestoreMemberStatus[],
  snapshotRevision: number,
  bump: number,
  snapshotKeys?: number,
): Judgement {
  const want = intended
    .map((m) => `${m.name}=${m.peerUrl}`)
    .sort()
    .join(',');
  const got = view.members
    .map((m) => `${m.name}=${m.peerUrls[0] ?? ''}`)
    .sort()
    .join(',');
  // A member that has not started yet is listed without a name: that is waiting, not a mismatch.
  if (view.members.some((m) => m.name === ''))
    return { verdict: 'wait', why: 'a member has not started yet' };
  if (got !== want) return failed(`the member list is ${got || '(empty)'}, the restore wrote ${want}`);
  if (view.answering < intended.length)
    return { verdict: 'wait', why: `${view.answering} of ${intended.length} members answer` };
  const leaders = view.leaders.filter((l) => l !== '0');
  if (leaders.length !== 1 || view.leaders.length !== 1)
    return {
      verdict: 'wait',
      why: leaders.length === 0 ? 'no leader yet' : `members name ${leaders.length} leaders`,
    };
  const minRevision = snapshotRevision + bump;
  if (view.revision < minRevision)
    return failed(
      `the revision is ${view.revision}, below the snapshot's ${snapshotRevision} + bump ${bump} = ${minRevision}`,
    );
  const counts = view.keyCounts ?? [];
  if (counts.length < intended.length)
    return { verdict: 'wait', why: 'not every member answered the key count' };
  const distinct = [...new Set(counts.map((c) => c.count))];
  if (distinct.length !== 1)
    return failed(
      `members hold different key counts at revision ${minRevision}: ${counts.map((c) => `${c.member}=${c.count}`).join(', ')}`,
    );
  const keys = distinct[0] ?? 0;
  if (snapshotKeys !== undefined && keys !== snapshotKeys)
    return failed(
      keys === 0
        ? `the restored cluster holds no keys at revision ${minRevision}, but the snapshot held ${snapshotKeys}`
        : `the restored members hold ${keys} keys at revision ${minRevision}; the snapshot held ${snapshotKeys} at revision ${snapshotRevision}`,
    );
  if (keys === 0 && snapshotRevision > 1 && snapshotKeys === undefined)
    return failed(
      `the restored cluster holds no keys at revision ${minRevision}, but the snapshot is at revision ${snapshotRevision} (not an empty cluster's)`,
    );
  return { verdict: 'good', revision: view.revision, keys, leader: leaders[0] ?? '' };
}
