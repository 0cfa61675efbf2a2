// The pipeline reads the health check's members through member-view.ts (ClusterHealthView keeps
// them `unknown`): fed the real assessQuorum's answer, the version and membership readers see
// what etcd reported, so a renamed field of MemberHealth cannot silently switch them off.
import { describe, expect, it } from 'vitest';
import type { MemberInfo, MemberStatus } from '../../../../src/etcd/client/members.ts';
import { assessQuorum } from '../../../../src/etcd/quorum.ts';
import { memberIdsOf } from '../../../../src/reconcile/etcd-snapshot/membership-drift.ts';
import { versionReport } from '../../../../src/reconcile/etcd-snapshot/version-skew.ts';

const member = (id: string, isLearner = false): MemberInfo => ({
  id,
  name: `etcd-${id}`,
  peerUrls: [`http://10.0.0.${id}:2380`],
  clientUrls: [`http://10.0.0.${id}:2379`],
  isLearner,
});

const status = (id: string, version: string): MemberStatus => ({
  endpoint: `http://10.0.0.${id}:2379`,
  memberId: id,
  clusterId: 'c',
  leaderId: '1',
  version,
  dbSizeBytes: 1024,
  dbSizeInUseBytes: 1024,
  raftIndex: 10,
  raftTerm: 2,
  raftAppliedIndex: 10,
  revision: 5,
  isLearner: false,
  errors: [],
});

describe('reading the real health check’s members', () => {
  it('sees every member ID (learners and unreachable ones too) and the versions of those that answered', () => {
    const health = assessQuorum({
      members: [member('1'), member('2'), member('3'), member('4', true)],
      probes: [
        { endpoint: 'http://10.0.0.1:2379', status: status('1', '3.6.16') },
        { endpoint: 'http://10.0.0.2:2379', status: status('2', '3.5.17') },
        { endpoint: 'http://10.0.0.3:2379', error: new Error('connection refused') },
      ],
    });
    expect(memberIdsOf(health.members)).toEqual(['1', '2', '3', '4']);
    const report = versionReport('etcd/main', health.members);
    expect(report.distinct).toBe(2);
    expect(report.warning).toContain('3.5.17 (etcd-2); 3.6.16 (etcd-1)');
  });
});
