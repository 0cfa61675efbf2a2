import { describe, expect, it } from 'vitest';
import type { MemberInfo, MemberStatus } from '../../../src/etcd/client/members.ts';
import { ClusterSlowError, ClusterUnhealthyError, EtcdError } from '../../../src/etcd/errors.ts';
import { assessQuorum, type EndpointProbe } from '../../../src/etcd/quorum.ts';

const member = (id: string, extra: Partial<MemberInfo> = {}): MemberInfo => ({
  id,
  name: `m-${id}`,
  peerUrls: [],
  clientUrls: [`https://etcd-${id}.svc:2379`],
  isLearner: false,
  ...extra,
});

const status = (
  endpoint: string,
  memberId: string,
  leaderId: string,
  extra: Partial<MemberStatus> = {},
): MemberStatus => ({
  endpoint,
  memberId,
  clusterId: 'c1',
  leaderId,
  version: '3.6.16',
  dbSizeBytes: 1000 + Number.parseInt(memberId, 16),
  dbSizeInUseBytes: 900,
  raftIndex: 100,
  raftTerm: 2,
  raftAppliedIndex: 100,
  revision: 50,
  isLearner: false,
  errors: [],
  ...extra,
});

const down = (endpoint: string, message = 'connect ECONNREFUSED'): EndpointProbe => ({
  endpoint,
  error: new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', message),
});

const three = [member('a'), member('b'), member('c')];

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof EtcdError) return err.reason;
    throw err;
  }
  throw new Error('expected an EtcdError');
}

describe('assessQuorum', () => {
  it('maps members to the pod-IP endpoints by the member ID of their Status answer', () => {
    const h = assessQuorum({
      members: three,
      probes: [
        { endpoint: 'http://10.0.0.3:2379', status: status('http://10.0.0.3:2379', 'c', 'a') },
        { endpoint: 'http://10.0.0.1:2379', status: status('http://10.0.0.1:2379', 'a', 'a') },
        { endpoint: 'http://10.0.0.2:2379', status: status('http://10.0.0.2:2379', 'b', 'a') },
      ],
    });
    expect(h.members.map((m) => [m.id, m.endpoint, m.isLeader])).toEqual([
      ['a', 'http://10.0.0.1:2379', true],
      ['b', 'http://10.0.0.2:2379', false],
      ['c', 'http://10.0.0.3:2379', false],
    ]);
    expect(h).toMatchObject({ memberCount: 3, reachableCount: 3, hasQuorum: true, leaderId: 'a' });
    // A follower, the first in the caller's order; the size is the source's.
    expect(h.source).toBe('http://10.0.0.3:2379');
    expect(h.dbSizeBytes).toBe(1000 + 0xc);
    expect(h.etcdVersion).toBe('3.6.16');
  });

  it('reports the newest store revision among the answering members (a restore bumps past it)', () => {
    const h = assessQuorum({
      members: three,
      probes: [
        { endpoint: 'e1', status: status('e1', 'a', 'a', { revision: 700 }) },
        { endpoint: 'e2', status: status('e2', 'b', 'a', { revision: 702 }) },
        down('e3'),
      ],
    });
    expect(h.revision).toBe(702);
  });

  it('takes the leader when it is the only healthy voting member left in a quorum', () => {
    const h = assessQuorum({
      members: three,
      probes: [
        { endpoint: 'e1', status: status('e1', 'a', 'a') },
        { endpoint: 'e2', status: status('e2', 'b', 'a', { errors: ['NOSPACE'] }) },
        down('e3'),
      ],
    });
    expect(h.source).toBe('e1');
    expect(h.reachableCount).toBe(2);
  });

  it('passes over a follower far behind the others', () => {
    const h = assessQuorum({
      members: three,
      probes: [
        { endpoint: 'e2', status: status('e2', 'b', 'a', { raftIndex: 10 }) },
        { endpoint: 'e3', status: status('e3', 'c', 'a', { raftIndex: 50_000 }) },
        { endpoint: 'e1', status: status('e1', 'a', 'a', { raftIndex: 50_000 }) },
      ],
    });
    expect(h.source).toBe('e3');
  });

  it('ETCD_QUORUM_LOST when fewer than a majority answer', () => {
    expect(
      reason(() =>
        assessQuorum({
          members: three,
          probes: [{ endpoint: 'e1', status: status('e1', 'a', 'a') }, down('e2'), down('e3')],
        }),
      ),
    ).toBe('ETCD_QUORUM_LOST');
    // 2 of 4 is not a majority either.
    expect(
      reason(() =>
        assessQuorum({
          members: [...three, member('d')],
          probes: [
            { endpoint: 'e1', status: status('e1', 'a', 'a') },
            { endpoint: 'e2', status: status('e2', 'b', 'a') },
          ],
        }),
      ),
    ).toBe('ETCD_QUORUM_LOST');
  });

  it('does not count learners as voters and never snapshots from one', () => {
    const h = assessQuorum({
      members: [member('a'), member('b'), member('l', { isLearner: true })],
      probes: [
        { endpoint: 'el', status: status('el', 'l', 'a', { isLearner: true }) },
        { endpoint: 'ea', status: status('ea', 'a', 'a') },
        { endpoint: 'eb', status: status('eb', 'b', 'a') },
      ],
    });
    expect(h.memberCount).toBe(2);
    expect(h.source).toBe('eb');
  });

  it('ETCD_NO_LEADER when a majority answers but knows no leader (or a stale one)', () => {
    expect(
      reason(() =>
        assessQuorum({
          members: three,
          probes: [
            { endpoint: 'e1', status: status('e1', 'a', '0') },
            { endpoint: 'e2', status: status('e2', 'b', 'ff') },
            down('e3'),
          ],
        }),
      ),
    ).toBe('ETCD_NO_LEADER');
  });

  it('ETCD_ENDPOINTS_UNREACHABLE when nothing answers; an auth failure wins over it', () => {
    expect(reason(() => assessQuorum({ members: undefined, probes: [down('e1'), down('e2')] }))).toBe(
      'ETCD_ENDPOINTS_UNREACHABLE',
    );
    expect(
      reason(() =>
        assessQuorum({
          members: undefined,
          probes: [down('e1'), { endpoint: 'e2', error: new EtcdError('AUTH_BASIC_INVALID', 'rejected') }],
        }),
      ),
    ).toBe('AUTH_BASIC_INVALID');
  });

  it('ETCD_QUORUM_LOST when members answer but only with consensus errors', () => {
    expect(
      reason(() =>
        assessQuorum({
          members: undefined,
          probes: [down('e1', 'Auth.Authenticate at e1: etcdserver: request timed out')],
        }),
      ),
    ).toBe('ETCD_QUORUM_LOST');
  });

  it('ETCD_QUORUM_LOST when a member took the call but never answered it (Authenticate needs a leader)', () => {
    const hung = new EtcdError(
      'ETCD_ENDPOINTS_UNREACHABLE',
      'Auth.Authenticate at e1: Deadline exceeded after 5.000s,LB pick: 0.009s,remote_addr=127.0.0.1:2379',
      { grpcCode: 4 },
    );
    const never = new EtcdError(
      'ETCD_ENDPOINTS_UNREACHABLE',
      'Auth.Authenticate at e2: Deadline exceeded after 5.000s',
      {
        grpcCode: 4,
      },
    );
    expect(
      reason(() =>
        assessQuorum({ members: undefined, probes: [{ endpoint: 'e1', error: hung }, down('e2')] }),
      ),
    ).toBe('ETCD_QUORUM_LOST');
    expect(
      reason(() => assessQuorum({ members: undefined, probes: [{ endpoint: 'e2', error: never }] })),
    ).toBe('ETCD_ENDPOINTS_UNREACHABLE');
  });

  it('without a member list, judges by the answering endpoints', () => {
    const h = assessQuorum({
      members: undefined,
      probes: [{ endpoint: 'e1', status: status('e1', 'a', 'a') }],
    });
    expect(h).toMatchObject({ memberCount: 1, reachableCount: 1, source: 'e1', leaderId: 'a' });
  });

  it('without a member list, an endpoint that did not answer counts as a member: 1 of 3 is no quorum', () => {
    expect(
      reason(() =>
        assessQuorum({
          members: undefined,
          probes: [{ endpoint: 'e1', status: status('e1', 'a', 'a') }, down('e2'), down('e3')],
        }),
      ),
    ).toBe('ETCD_QUORUM_LOST');
    const h = assessQuorum({
      members: undefined,
      probes: [
        { endpoint: 'e1', status: status('e1', 'a', 'a') },
        { endpoint: 'e2', status: status('e2', 'b', 'a') },
        down('e3'),
      ],
    });
    expect(h).toMatchObject({ memberCount: 3, reachableCount: 2, leaderId: 'a' });
  });

  it('counts a member reached through two endpoints once', () => {
    const h = assessQuorum({
      members: three,
      probes: [
        { endpoint: 'e1', status: status('e1', 'a', 'a') },
        { endpoint: 'e1-alias', status: status('e1-alias', 'a', 'a') },
        { endpoint: 'e2', status: status('e2', 'b', 'a') },
      ],
    });
    expect(h.reachableCount).toBe(2);
  });

  describe('members connected but too slow (deadlines, not refusals)', () => {
    const slow = (endpoint: string, call = 'Maintenance.Status'): EndpointProbe => ({
      endpoint,
      error: new EtcdError(
        'ETCD_ENDPOINTS_UNREACHABLE',
        `${call} at ${endpoint}: Deadline exceeded after 5.000s,LB pick: 0.001s,remote_addr=127.0.0.1:2379`,
        { grpcCode: 4 },
      ),
    });
    const at = ['a', 'b', 'c'].map((id, i) => member(id, { clientUrls: [`e${i + 1}`] }));
    const thrown = (fn: () => unknown): unknown => {
      try {
        fn();
      } catch (err) {
        return err;
      }
      throw new Error('expected a throw');
    };

    it('every member took Status and none answered in time: slow, not quorum lost', () => {
      const err = thrown(() =>
        assessQuorum({ members: undefined, probes: [slow('e1'), slow('e2'), slow('e3')] }),
      );
      expect(err).toBeInstanceOf(ClusterSlowError);
      expect(err).not.toBeInstanceOf(ClusterUnhealthyError);
      expect((err as ClusterSlowError).reason).toBe('DEADLINE_EXCEEDED');
      expect((err as Error).message).toMatch(/^etcd members answer too slowly: e1: Maintenance.Status/);
    });

    it('one answered in time, the others slow: slow, not quorum lost', () => {
      const err = thrown(() =>
        assessQuorum({
          members: at,
          probes: [{ endpoint: 'e1', status: status('e1', 'a', 'a') }, slow('e2'), slow('e3')],
        }),
      );
      expect(err).toBeInstanceOf(ClusterSlowError);
      expect((err as ClusterSlowError).connected).toBe(3);
    });

    it('one answered, one slow, one refused: still a quorum connected, so slow', () => {
      expect(
        reason(() =>
          assessQuorum({
            members: at,
            probes: [{ endpoint: 'e1', status: status('e1', 'a', 'a') }, slow('e2'), down('e3')],
          }),
        ),
      ).toBe('DEADLINE_EXCEEDED');
    });

    it('fewer than a quorum even counting the slow ones: ETCD_QUORUM_LOST as before', () => {
      expect(
        reason(() => assessQuorum({ members: undefined, probes: [slow('e1'), down('e2'), down('e3')] })),
      ).toBe('ETCD_QUORUM_LOST');
      expect(
        reason(() =>
          assessQuorum({
            members: [...at, member('d'), member('f')],
            probes: [
              { endpoint: 'e1', status: status('e1', 'a', 'a') },
              slow('e2'),
              down('e3'),
              down('https://etcd-d.svc:2379'),
              down('https://etcd-f.svc:2379'),
            ],
          }),
        ),
      ).toBe('ETCD_QUORUM_LOST');
    });

    it('a deadline without a connection stays unreachable', () => {
      const never: EndpointProbe = {
        endpoint: 'e1',
        error: new EtcdError('ETCD_ENDPOINTS_UNREACHABLE', 'Maintenance.Status at e1: Deadline exceeded', {
          grpcCode: 4,
        }),
      };
      expect(reason(() => assessQuorum({ members: undefined, probes: [never, down('e2')] }))).toBe(
        'ETCD_ENDPOINTS_UNREACHABLE',
      );
    });
  });
});
