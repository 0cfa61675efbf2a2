// The members a restore writes into every member's --initial-cluster, pure. While the cluster
// answers, its MemberList is the truth for names and peer URLs (they are what the members
// advertised and what their peers can reach); it must match the StatefulSet's pods one to one,
// or the restored cluster would not be the one the StatefulSet runs. When the cluster is down,
// the StatefulSet alone gives them (target.ts).
import { fail, type StepFailure } from '../step.ts';
import type { LiveMember } from './ports.ts';
import type { SetMember } from './target.ts';

export interface ResolvedMember {
  name: string;
  peerUrl: string;
  dataClaim: string;
}

const list = (names: readonly string[]) => [...names].sort().join(', ') || '(none)';

export function resolveMembership(
  fromSet: readonly SetMember[],
  live: readonly LiveMember[] | undefined,
): { members: ResolvedMember[]; source: 'member-list' | 'statefulset' } | StepFailure {
  if (!live) return { members: fromSet.map((m) => ({ ...m })), source: 'statefulset' };
  const unnamed = live.filter((m) => m.name === '');
  if (unnamed.length > 0)
    return fail(
      'RESTORE_MEMBERSHIP_UNRESOLVABLE',
      `member(s) ${unnamed.map((m) => m.id).join(', ')} of the live member list have not started (no name); wait for the cluster to settle`,
    );
  const liveNames = live.map((m) => m.name);
  const setNames = fromSet.map((m) => m.name);
  if (list(liveNames) !== list(setNames))
    return fail(
      'RESTORE_MEMBERSHIP_UNRESOLVABLE',
      `the live member list names ${list(liveNames)} but the StatefulSet's pods are ${list(setNames)}`,
    );
  const members: ResolvedMember[] = [];
  for (const m of fromSet) {
    const peer = live.find((l) => l.name === m.name)?.peerUrls[0];
    if (!peer) return fail('RESTORE_MEMBERSHIP_UNRESOLVABLE', `member ${m.name} advertises no peer URL`);
    // Scheme and port must agree with the StatefulSet: a mismatch means the pods are not run the
    // way the restore reads them (its data would name peers the pods do not serve).
    if (schemePort(peer) !== schemePort(m.peerUrl))
      return fail(
        'RESTORE_MEMBERSHIP_UNRESOLVABLE',
        `member ${m.name} advertises peer URL ${peer} but the StatefulSet gives ${m.peerUrl} (scheme or port differ)`,
      );
    members.push({ name: m.name, peerUrl: peer, dataClaim: m.dataClaim });
  }
  return { members, source: 'member-list' };
}

function schemePort(url: string): string {
  const m = /^([a-z]+):\/\/(?:\[[^\]]*\]|[^:/]+)(?::(\d+))?/i.exec(url);
  return m ? `${m[1]?.toLowerCase()}:${m[2] ?? ''}` : url;
}
