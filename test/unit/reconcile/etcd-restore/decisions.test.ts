import { describe, expect, it } from 'vitest';
import { ClusterTurns, restoreInFlight } from '../../../../src/reconcile/cluster-turns.ts';
import { checkVersion, quantityBytes } from '../../../../src/reconcile/etcd-restore/checks.ts';
import { resolveMembership } from '../../../../src/reconcile/etcd-restore/membership.ts';
import { flowOf } from '../../../../src/reconcile/etcd-restore/phase-choice.ts';
import { judgeResult } from '../../../../src/reconcile/etcd-restore/result-judge.ts';
import { describeTarget } from '../../../../src/reconcile/etcd-restore/target.ts';
import { restoreTurn } from '../../../../src/reconcile/etcd-restore/turn.ts';
import { newestSeen } from '../../../../src/reconcile/etcd-restore/validate.ts';
import type { EtcdRestore, EtcdRestorePhase } from '../../../../src/records/etcd-restore.ts';
import { RestoreWorld } from './fakes.ts';

const setMembers = ['a-0', 'a-1', 'a-2'].map((name) => ({
  name,
  peerUrl: `http://${name}.a.ns.svc:2380`,
  dataClaim: `data-${name}`,
}));
const live = (names: string[], url = (n: string) => `http://${n}.a.ns.svc:2380`) =>
  names.map((name, i) => ({ id: String(i + 1), name, peerUrls: [url(name)] }));

describe('membership resolution', () => {
  it('takes names and peer URLs from the live member list when it matches the pods', () => {
    const r = resolveMembership(
      setMembers,
      live(['a-2', 'a-0', 'a-1'], (n) => `http://${n}.a.ns.svc.cluster.local:2380`),
    );
    expect(r).toMatchObject({ source: 'member-list' });
    if ('members' in r)
      expect(r.members.map((m) => m.peerUrl)).toEqual(
        setMembers.map((m) => m.peerUrl.replace('svc:', 'svc.cluster.local:')),
      );
  });
  it('refuses a live member list that names other members than the pods', () => {
    expect(resolveMembership(setMembers, live(['a-0', 'a-1', 'old-3']))).toMatchObject({
      kind: 'fail',
      reason: 'RESTORE_MEMBERSHIP_UNRESOLVABLE',
      message: expect.stringContaining('old-3'),
    });
  });
  it('refuses a member whose advertised peer port differs from the StatefulSet', () => {
    expect(
      resolveMembership(
        setMembers,
        live(['a-0', 'a-1', 'a-2'], (n) => `http://${n}.a.ns.svc:12380`),
      ),
    ).toMatchObject({
      kind: 'fail',
      message: expect.stringContaining('scheme or port differ'),
    });
  });
  it('uses the StatefulSet alone when the cluster does not answer', () => {
    expect(resolveMembership(setMembers, undefined)).toMatchObject({
      source: 'statefulset',
      members: setMembers,
    });
  });
});

describe('target description', () => {
  const restore = (dataDir?: string): EtcdRestore => ({
    spec: { source: {}, target: { cluster: 'main', ...(dataDir ? { dataDir } : {}) } },
  });
  it('finds the data dir below the claim template mount and the members’ claims', () => {
    const w = new RestoreWorld();
    w.addCluster();
    const t = describeTarget(w.statefulSets.get('etcd/main')!, restore());
    expect(t).toMatchObject({ jobDataDir: '/var/lib/etcd-member/data', imageVersion: '3.6.16', replicas: 3 });
    if ('members' in t)
      expect(t.members.map((m) => m.dataClaim)).toEqual(['data-main-0', 'data-main-1', 'data-main-2']);
  });
  it('refuses a data dir that is the claim mount itself (the swap renames beside it)', () => {
    const w = new RestoreWorld();
    w.addCluster();
    expect(describeTarget(w.statefulSets.get('etcd/main')!, restore('/var/run/etcd'))).toMatchObject({
      reason: 'RESTORE_DATA_DIR_IS_MOUNT',
    });
  });
  it('refuses a data dir on no claim template', () => {
    const w = new RestoreWorld();
    w.addCluster();
    expect(describeTarget(w.statefulSets.get('etcd/main')!, restore('/tmp/etcd'))).toMatchObject({
      reason: 'RESTORE_DATA_CLAIM_MISSING',
    });
  });
});

describe('result judgement', () => {
  const intended = ['m-0', 'm-1', 'm-2'].map((name) => ({
    name,
    peerUrl: `http://${name}:2380`,
    dataClaim: '',
  }));
  const view = (over: Partial<Parameters<typeof judgeResult>[0]> = {}) => ({
    members: intended.map((m, i) => ({ id: String(i), name: m.name, peerUrls: [m.peerUrl] })),
    answering: 3,
    leaders: ['7'],
    revision: 1_000_000_100,
    keyCounts: intended.map((m) => ({ member: m.name, count: 4 })),
    ...over,
  });
  it('is good with quorum, one leader, the intended members, the bumped revision and equal key counts', () => {
    expect(judgeResult(view(), intended, 100, 1_000_000_000)).toEqual({
      verdict: 'good',
      revision: 1_000_000_100,
      keys: 4,
      leader: '7',
    });
  });
  it('waits while members start or no leader is elected', () => {
    expect(judgeResult(view({ answering: 2 }), intended, 100, 1e9)).toMatchObject({ verdict: 'wait' });
    expect(judgeResult(view({ leaders: ['0'] }), intended, 100, 1e9)).toMatchObject({ verdict: 'wait' });
  });
  it('fails a revision below the snapshot’s plus the bump', () => {
    expect(judgeResult(view({ revision: 150 }), intended, 100, 1e9)).toMatchObject({
      reason: 'RESTORE_VERIFICATION_FAILED',
    });
  });
  it('fails closed on an empty result of a snapshot that was not empty', () => {
    const empty = view({ keyCounts: intended.map((m) => ({ member: m.name, count: 0 })) });
    expect(judgeResult(empty, intended, 100, 1e9)).toMatchObject({
      reason: 'RESTORE_VERIFICATION_FAILED',
      message: expect.stringContaining('no keys'),
    });
  });
  it('compares the members with the snapshot’s key count, not only with each other', () => {
    // Every member agrees on 4 keys, but the snapshot held 5: a restore that lost one is a failure.
    expect(judgeResult(view(), intended, 100, 1e9, 5)).toMatchObject({
      reason: 'RESTORE_VERIFICATION_FAILED',
      message: expect.stringContaining('hold 4 keys at revision 1000000100; the snapshot held 5'),
    });
    expect(judgeResult(view(), intended, 100, 1e9, 4)).toMatchObject({ verdict: 'good', keys: 4 });
    const empty = view({ keyCounts: intended.map((m) => ({ member: m.name, count: 0 })) });
    expect(judgeResult(empty, intended, 100, 1e9, 4)).toMatchObject({
      message: expect.stringContaining('holds no keys at revision 1000000100, but the snapshot held 4'),
    });
    // A snapshot that held no keys (all deleted before it): an empty result is the right one.
    expect(judgeResult(empty, intended, 100, 1e9, 0)).toMatchObject({ verdict: 'good', keys: 0 });
  });
  it('fails members that hold different key counts, naming them', () => {
    const uneven = view({
      keyCounts: [
        { member: 'm-0', count: 4 },
        { member: 'm-1', count: 4 },
        { member: 'm-2', count: 0 },
      ],
    });
    expect(judgeResult(uneven, intended, 100, 1e9)).toMatchObject({
      message: expect.stringContaining('m-2=0'),
    });
  });
  it('fails a member list other than the intended one', () => {
    expect(
      judgeResult(
        view({ members: [{ id: '1', name: 'x', peerUrls: ['http://x:2380'] }] }),
        intended,
        100,
        1e9,
      ),
    ).toMatchObject({ kind: 'fail' });
  });
});

describe('phase choice from status', () => {
  it('maps every phase to the flow that resumes it', () => {
    const of = (phase?: EtcdRestorePhase) =>
      flowOf({ spec: { source: {}, target: { cluster: 'c' } }, ...(phase ? { status: { phase } } : {}) });
    expect([undefined, 'Pending', 'Validating'].map((p) => of(p as EtcdRestorePhase))).toEqual([
      'validate',
      'validate',
      'validate',
    ]);
    expect(of('Restoring')).toBe('restore-members');
    expect(of('RollingBack')).toBe('roll-back');
    expect(['Completed', 'Failed', 'RolledBack'].map((p) => of(p as EtcdRestorePhase))).toEqual([
      'finished',
      'finished',
      'finished',
    ]);
  });
});

describe('one operation per cluster', () => {
  const r = (name: string, created: string, status?: EtcdRestore['status']): EtcdRestore => ({
    metadata: { name, namespace: 'ns', creationTimestamp: created },
    spec: { source: {}, target: { cluster: 'c' } },
    ...(status ? { status } : {}),
  });
  const base = { records: [], jobs: [], pods: [], notedSaves: [] };
  it('a restore waits for a save in flight, also one only this process has noted so far', () => {
    const self = r('r1', '1');
    expect(restoreTurn({ ...base, self, restores: [self], notedSaves: ['s1'] })).toEqual({
      go: false,
      waitingFor: 'the save of s1',
    });
    expect(restoreTurn({ ...base, self, restores: [self] })).toEqual({ go: true });
  });
  it('a restore waits for the restore holding the cluster and for older ones', () => {
    const self = r('r2', '2');
    expect(
      restoreTurn({
        ...base,
        self,
        restores: [self, r('r3', '3', { phase: 'Quiescing', clusterKey: 'ns/c' })],
      }),
    ).toMatchObject({ go: false, waitingFor: 'the restore r3' });
    expect(restoreTurn({ ...base, self, restores: [self, r('r1', '1')] })).toMatchObject({
      go: false,
      waitingFor: 'the older restore r1',
    });
    expect(restoreTurn({ ...base, self, restores: [self, r('r1', '1', { phase: 'Completed' })] })).toEqual({
      go: true,
    });
  });
  it('a save waits for any unfinished restore of its cluster, and for one just noted', () => {
    expect(restoreInFlight([r('r1', '1', { phase: 'Restoring' })], [])).toBe('r1');
    expect(restoreInFlight([r('r1', '1', { phase: 'RolledBack' })], [])).toBeUndefined();
    expect(restoreInFlight([], ['r9'])).toBe('r9');
  });
  it('the turn lock lets one decision per cluster run at a time', async () => {
    const turns = new ClusterTurns();
    let inner: unknown = 'not run';
    const outer = await turns.exclusive('ns/c', async () => {
      inner = await turns.exclusive('ns/c', async () => 'ran');
      return 'outer';
    });
    expect([outer, inner]).toEqual(['outer', undefined]);
  });
});

describe('small checks', () => {
  it('reads quantities', () => {
    expect([
      quantityBytes('1Gi'),
      quantityBytes('500M'),
      quantityBytes('1073741824'),
      quantityBytes('x'),
    ]).toEqual([1024 ** 3, 5e8, 1024 ** 3, undefined]);
  });
  it('refuses only a snapshot of a newer minor version', () => {
    expect(checkVersion('3.6.0', '3.5.17')).toMatchObject({ reason: 'RESTORE_ETCD_VERSION_TOO_OLD' });
    expect(checkVersion('3.5.0', '3.6.16')).toBeUndefined();
    expect(checkVersion(undefined, '3.6.16')).toBeUndefined();
  });
});

describe('the revision bump', () => {
  it('bumps past the live revision when the cluster answers (a cluster restored before is past lastRevisionSeen)', () => {
    const live = { members: [], answering: 3, leaders: ['1'], revision: 2_000_000_000 };
    expect(newestSeen(900, 500, live)).toBe(2_000_000_000);
    expect(newestSeen(900, 500, undefined)).toBe(900);
    expect(newestSeen(undefined, 500, undefined)).toBe(500);
  });
});
