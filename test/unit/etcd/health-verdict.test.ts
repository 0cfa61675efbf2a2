// What the health check tells the health gauges: an unhealthy verdict carries the voting members
// up and down (so etcd_cluster_has_quorum can read 0); a credential failure carries nothing.
import { describe, expect, it } from 'vitest';
import type { MemberInfo, MemberStatus } from '../../../src/etcd/client/members.ts';
import { ClusterUnhealthyError, EtcdError } from '../../../src/etcd/errors.ts';
import { assessQuorum, type EndpointProbe } from '../../../src/etcd/quorum.ts';

const member = (id: string, extra: Partial<MemberInfo> = {}): MemberInfo => ({
  id,
  name: `m-${id}`,
  peerUrls: [],
  clientUrls: [`http://${id}:2379`],
  isLearner: false,
  ...extra,
});
const up = (id: string, leaderId: string, isLearner = false): EndpointProbe => ({
  endpoint: `http://${id}:2379`,
  status: {
    endpoint: `http://${id}:2379`,
    memberId: id,
    clusterId: 'c1',
    leaderId,
    version: '3.6.16',
    dbSizeBytes: 1000,
    dbSizeInUseBytes: 900,
    raftIndex: 100,
    raftTerm: 2,
    raftAppliedIndex: 100,
    revision: 50,
    isLearner,
    errors: [],
  } satisfies MemberStatus,
});
const down = (id: string, error: Error = new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', 'ECONNREFUSED')) => ({
  endpoint: `http://${id}:2379`,
  error,
});

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the assessment to throw');
}

describe('the health verdict for the gauges', () => {
  const three = [member('a'), member('b'), member('c')];

  it('2 of 3 members down: ETCD_QUORUM_LOST with 1 up, 2 down', () => {
    const err = thrown(() => assessQuorum({ members: three, probes: [up('a', '0'), down('b'), down('c')] }));
    expect(err).toBeInstanceOf(ClusterUnhealthyError);
    expect(err).toMatchObject({ reason: 'ETCD_QUORUM_LOST', members: { up: 1, down: 2 } });
  });

  it('a majority without a leader: ETCD_NO_LEADER with the counts', () => {
    const err = thrown(() =>
      assessQuorum({ members: three, probes: [up('a', '0'), up('b', '0'), down('c')] }),
    );
    expect(err).toMatchObject({ reason: 'ETCD_NO_LEADER', members: { up: 2, down: 1 } });
  });

  it('nothing answers: every endpoint asked is a member down', () => {
    const err = thrown(() => assessQuorum({ members: undefined, probes: [down('a'), down('b'), down('c')] }));
    expect(err).toMatchObject({ reason: 'ETCD_ENDPOINTS_UNREACHABLE', members: { up: 0, down: 3 } });
  });

  it('learners are not counted', () => {
    const err = thrown(() =>
      assessQuorum({
        members: [...three, member('l', { isLearner: true })],
        probes: [up('a', '0'), down('b'), down('c'), up('l', '0', true)],
      }),
    );
    expect(err).toMatchObject({ members: { up: 1, down: 2 } });
  });

  it('refused credentials say nothing of the cluster: a plain AUTH_* error, no counts', () => {
    const refused = new EtcdError('AUTH_CERT_INVALID', 'certificate signed by unknown authority');
    const err = thrown(() => assessQuorum({ members: undefined, probes: [down('a', refused)] }));
    expect(err).toBe(refused);
    expect(err).not.toBeInstanceOf(ClusterUnhealthyError);
  });
});
