// The pure half of the health check: given the member list and what each endpoint answered,
// decide whether the cluster can serve a consistent snapshot and which member to take it from.
// Quorum = a majority of the voting members answer Status, and they agree on a leader that is a
// member. Learners do not vote and are never a source.
import { status } from '@grpc/grpc-js';
import type { MemberInfo, MemberStatus } from './client/members.ts';
import { ClusterSlowError, ClusterUnhealthyError, EtcdError, isAuthError } from './errors.ts';

export interface MemberHealth {
  id: string;
  name: string;
  clientUrls: string[];
  /** The given endpoint that reached this member. */
  endpoint?: string;
  reachable: boolean;
  isLeader: boolean;
  isLearner: boolean;
  version?: string;
  dbSizeBytes?: number;
  raftIndex?: number;
  /** Why the member did not answer, or the alarms it reports. */
  error?: string;
}

export interface ClusterHealth {
  members: MemberHealth[];
  memberCount: number;
  reachableCount: number;
  hasQuorum: boolean;
  leaderId?: string;
  /** The endpoint to snapshot from: a healthy follower preferred, else the leader. */
  source: string;
  /** Database size reported by the source. */
  dbSizeBytes: number;
  etcdVersion?: string;
  /** The newest store revision among the answering members (their Status headers). */
  revision: number;
}

/** What one endpoint answered: its Status, or the error. */
export interface EndpointProbe {
  endpoint: string;
  status?: MemberStatus;
  error?: Error;
}

// etcd's own answers that mean "up, but the cluster cannot agree": the member is alive and
// reached, so the cluster lost its quorum rather than its network.
// Raft entries a follower may trail the newest answering member by and still count as current
// (a busy cluster's members differ by a few hundred between two Status calls).
const LAGGING_ENTRIES = 10_000;

const CONSENSUS_FAILURE = /etcdserver: (?:request timed out|no leader|leader changed|unhealthy cluster)/i;

// A deadline on a call that had a connection (grpc-js names the remote address): the member is
// up and took the call but did not answer in time. That is a slow member (a loaded machine, a
// stopped process) or, with etcd users, one without a quorum: Authenticate goes through raft and
// such a member never answers it. Which one it is shows in the count: when the connected members
// would make a quorum, the cluster is slow, not lost.
function isUnansweredCall(e: Error | undefined): boolean {
  return e instanceof EtcdError && e.grpcCode === status.DEADLINE_EXCEEDED && /remote_addr=/.test(e.message);
}

function isConsensusFailure(e: Error): boolean {
  return CONSENSUS_FAILURE.test(e.message) || isUnansweredCall(e);
}

const quorumOf = (voters: number) => Math.floor(voters / 2) + 1;

export function assessQuorum(input: {
  members: MemberInfo[] | undefined;
  probes: EndpointProbe[];
}): ClusterHealth {
  const { probes } = input;
  const statuses = new Map<string, MemberStatus>();
  for (const p of probes)
    if (p.status && !statuses.has(p.status.memberId)) statuses.set(p.status.memberId, p.status);

  if (statuses.size === 0) {
    const errors = probes.flatMap((p) => (p.error ? [p.error] : []));
    const auth = errors.find(isAuthError);
    if (auth) throw auth;
    const summary = probes.map((p) => `${p.endpoint}: ${p.error?.message ?? 'no answer'}`).join('; ');
    // No member list either: every endpoint asked stands for one member, none of them up.
    const nobody = { up: 0, down: probes.length };
    const slow = probes.filter((p) => isUnansweredCall(p.error)).length;
    if (slow >= quorumOf(probes.length)) {
      throw new ClusterSlowError(`etcd members answer too slowly: ${summary}`, { connected: slow });
    }
    if (errors.some(isConsensusFailure)) {
      throw new ClusterUnhealthyError(
        'ETCD_QUORUM_LOST',
        `etcd members answer but cannot reach consensus (${summary})`,
        nobody,
      );
    }
    throw new ClusterUnhealthyError(
      'ETCD_ENDPOINTS_UNREACHABLE',
      `no etcd endpoint answered (${summary || 'no endpoints'})`,
      nobody,
    );
  }

  // Without a member list (every MemberList failed: it needs a quorum) the endpoints asked are
  // all we know: each answering member, and each endpoint that did not answer as one member more.
  // Counting only the answering ones would read 1 of 3 as a quorum of 1.
  const answered = new Set([...statuses.values()].map((s) => s.endpoint));
  const list: MemberInfo[] = input.members ?? [
    ...[...statuses.values()].map((s) => ({
      id: s.memberId,
      name: '',
      peerUrls: [],
      clientUrls: [s.endpoint],
      isLearner: s.isLearner,
    })),
    ...[...new Set(probes.filter((p) => p.error && !answered.has(p.endpoint)).map((p) => p.endpoint))].map(
      (endpoint) => ({
        id: `endpoint ${endpoint}`,
        name: endpoint,
        peerUrls: [],
        clientUrls: [endpoint],
        isLearner: false,
      }),
    ),
  ];
  const known = new Set(list.map((m) => m.id));

  const members: MemberHealth[] = list.map((m) => {
    const s = statuses.get(m.id);
    const failed = s ? undefined : probes.find((p) => p.error && m.clientUrls.includes(p.endpoint));
    const h: MemberHealth = {
      id: m.id,
      name: m.name,
      clientUrls: m.clientUrls,
      reachable: s !== undefined,
      isLeader: s !== undefined && s.leaderId === m.id,
      isLearner: s?.isLearner ?? m.isLearner,
    };
    if (s) {
      h.endpoint = s.endpoint;
      h.version = s.version;
      h.dbSizeBytes = s.dbSizeBytes;
      h.raftIndex = s.raftIndex;
      if (s.errors.length > 0) h.error = s.errors.join('; ');
    } else if (failed) {
      h.endpoint = failed.endpoint;
      h.error = failed.error?.message;
    } else {
      h.error = 'no given endpoint reaches this member';
    }
    return h;
  });

  const voters = members.filter((m) => !m.isLearner);
  const memberCount = voters.length;
  const reachableCount = voters.filter((m) => m.reachable).length;
  const quorum = quorumOf(memberCount);
  const counts = { up: reachableCount, down: memberCount - reachableCount };
  if (reachableCount < quorum) {
    const silent = voters.filter((m) => !m.reachable);
    const down = silent.map((m) => `${m.name || m.id} (${m.error ?? 'no answer'})`);
    const slow = silent.filter((m) => isUnansweredCall(probeErrorOf(m, probes))).length;
    if (reachableCount + slow >= quorum) {
      throw new ClusterSlowError(
        `etcd members answer too slowly: ${reachableCount} of ${memberCount} answered in time, ${slow} took the call without answering: ${down.join(', ')}`,
        { connected: reachableCount + slow },
      );
    }
    throw new ClusterUnhealthyError(
      'ETCD_QUORUM_LOST',
      `${reachableCount} of ${memberCount} etcd members answer, a quorum needs ${quorum}; not answering: ${down.join(', ')}`,
      counts,
    );
  }

  // The leader the answering members name most often; a leader outside the member list is stale.
  const votes = new Map<string, number>();
  for (const m of voters) {
    const s = statuses.get(m.id);
    if (s && s.leaderId !== '0' && known.has(s.leaderId))
      votes.set(s.leaderId, (votes.get(s.leaderId) ?? 0) + 1);
  }
  const leaderId = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (leaderId === undefined) {
    throw new ClusterUnhealthyError(
      'ETCD_NO_LEADER',
      `${reachableCount} of ${memberCount} etcd members answer but none knows a leader`,
      counts,
    );
  }
  for (const m of members) m.isLeader = m.id === leaderId;

  const source = pickSource(members, probes);
  if (!source?.endpoint) {
    throw new EtcdError(
      'ETCD_NO_LEADER',
      `no answering voting member can serve a snapshot (leader ${leaderId})`,
    );
  }
  const s = statuses.get(source.id);
  return {
    members,
    memberCount,
    reachableCount,
    hasQuorum: true,
    leaderId,
    source: source.endpoint,
    dbSizeBytes: s?.dbSizeBytes ?? 0,
    revision: Math.max(0, ...[...statuses.values()].map((x) => x.revision || 0)),
    ...(s?.version ? { etcdVersion: s.version } : {}),
  };
}

function probeErrorOf(m: MemberHealth, probes: EndpointProbe[]): Error | undefined {
  return probes.find((p) => p.error && p.endpoint === m.endpoint)?.error;
}

// A follower first (a snapshot reads the whole database; the leader has the cluster's writes to
// serve), in the caller's endpoint order; a follower far behind the others after those that are
// not; members reporting alarms only when nothing else answers (a NOSPACE cluster still needs its
// backup).
function pickSource(members: MemberHealth[], probes: EndpointProbe[]): MemberHealth | undefined {
  const order = (m: MemberHealth) => {
    const i = probes.findIndex((p) => p.endpoint === m.endpoint);
    return i < 0 ? probes.length : i;
  };
  const candidates = members.filter((m) => m.reachable && !m.isLearner);
  const newest = Math.max(...candidates.map((m) => m.raftIndex ?? 0));
  const lagging = (m: MemberHealth) => newest - (m.raftIndex ?? 0) > LAGGING_ENTRIES;
  const rank = (m: MemberHealth) => (m.error ? 4 : 0) + (lagging(m) ? 2 : 0) + (m.isLeader ? 1 : 0);
  return candidates.sort((a, b) => rank(a) - rank(b) || order(a) - order(b))[0];
}
