// Atomic groups: when a record of a group fails, every other record of the group fails with the
// same reason and message (so the CSI answers the group's next Create with that final code), and
// each then removes its files. The failure taken over is the group's first own failure.
import type { Reason } from '../../reasons/reasons.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';

export interface GroupFailure {
  /** The record whose own failure this is (never one that took it over). */
  failedWith: string;
  reason: Reason;
  message: string;
}

export function groupFailure(
  self: EtcdSnapshot,
  groupPeers: readonly EtcdSnapshot[],
): GroupFailure | undefined {
  const selfName = self.metadata?.name;
  const failed = groupPeers
    .filter((r) => r.metadata?.name !== selfName && r.status?.phase === 'Failed')
    .sort((a, b) => {
      // Own failures before taken-over ones, then the earliest.
      const oa = a.status?.failedWith ? 1 : 0;
      const ob = b.status?.failedWith ? 1 : 0;
      if (oa !== ob) return oa - ob;
      const fa = a.status?.finishedAt ?? '';
      const fb = b.status?.finishedAt ?? '';
      if (fa !== fb) return fa < fb ? -1 : 1;
      return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
    });
  const first = failed[0];
  if (!first) return undefined;
  return {
    failedWith: first.status?.failedWith ?? first.metadata?.name ?? '',
    reason: first.status?.reason ?? 'SNAPSHOT_FAILED',
    message: first.status?.message ?? 'another snapshot of the group failed',
  };
}
