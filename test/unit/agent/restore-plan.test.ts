import { describe, expect, it } from 'vitest';
import {
  defaultClusterToken,
  initialCluster,
  MIN_REVISION_BUMP,
  parseInitialCluster,
  RestorePlanError,
  restoreJobName,
  restorePaths,
  revisionBump,
} from '../../../src/agent/restore-plan.ts';

describe('revisionBump', () => {
  it('is at least 1e9', () => {
    expect(revisionBump(500, 400)).toBe(MIN_REVISION_BUMP);
    expect(revisionBump(400, 400)).toBe(1_000_000_000);
    // A record whose last revision seen is older than the snapshot (clock of another member).
    expect(revisionBump(100, 400)).toBe(1_000_000_000);
  });

  it('is 1.2 × the revisions written since the snapshot when that is more, rounded up', () => {
    expect(revisionBump(2_000_000_001, 1)).toBe(2_400_000_000);
    expect(revisionBump(1_000_000_001, 0)).toBe(1_200_000_002);
  });

  it.each([
    [-1, 0, /lastRevisionSeen=-1/],
    [1.5, 0, /lastRevisionSeen=1.5/],
    [10, Number.NaN, /snapshotRevision=NaN/],
  ])('refuses (%s, %s)', (last, snap, message) => {
    expect(() => revisionBump(last, snap)).toThrow(message);
  });
});

describe('initialCluster', () => {
  const members = [
    { name: 'etcd-0', peerUrl: 'https://etcd-0.etcd.ns.svc:2380' },
    { name: 'etcd-1', peerUrl: 'https://etcd-1.etcd.ns.svc:2380' },
    { name: 'etcd-2', peerUrl: 'http://10.0.0.3:2380' },
  ];

  it('joins name=peerURL in order and parses back', () => {
    const text = initialCluster(members);
    expect(text).toBe(
      'etcd-0=https://etcd-0.etcd.ns.svc:2380,etcd-1=https://etcd-1.etcd.ns.svc:2380,etcd-2=http://10.0.0.3:2380',
    );
    expect(parseInitialCluster(text)).toEqual(members);
  });

  it.each([
    [[], /names no member/],
    [
      [
        { name: 'a', peerUrl: 'http://h:2380' },
        { name: 'a', peerUrl: 'http://g:2380' },
      ],
      /"a" is listed twice/,
    ],
    [
      [
        { name: 'a', peerUrl: 'http://h:2380' },
        { name: 'b', peerUrl: 'http://h:2380' },
      ],
      /"http:\/\/h:2380" is listed twice/,
    ],
    [[{ name: 'a=b', peerUrl: 'http://h:2380' }], /member name "a=b" is not a valid name/],
    [[{ name: 'a,b', peerUrl: 'http://h:2380' }], /member name "a,b"/],
    [[{ name: 'a', peerUrl: 'unix://h:2380' }], /member a: "unix:\/\/h:2380" is not a peer URL/],
    [[{ name: 'a', peerUrl: 'http://h' }], /"http:\/\/h" is not a peer URL/],
    [[{ name: 'a', peerUrl: 'http://h:2380/path' }], /is not a peer URL/],
    [[{ name: 'a', peerUrl: 'http://h:99999' }], /is not a peer URL/],
  ])('refuses %j', (list, message) => {
    expect(() => initialCluster(list)).toThrow(RestorePlanError);
    expect(() => initialCluster(list)).toThrow(message);
  });

  it('bounds a long value in the message', () => {
    const err = (() => {
      try {
        initialCluster([{ name: 'a', peerUrl: `http://${'h'.repeat(5000)}` }]);
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message.length).toBeLessThan(300);
  });

  it('refuses an entry without =', () => {
    expect(() => parseInitialCluster('a=http://h:2380,b')).toThrow(/entry "b" is not name=peerURL/);
  });
});

describe('names and paths', () => {
  it('defaults the token to restore-<uid>', () => {
    expect(defaultClusterToken('0d3c')).toBe('restore-0d3c');
  });

  it('names Jobs snapshot-restore-<restore>-<member>, hash-shortened past 63 characters', () => {
    expect(restoreJobName('r1', 'etcd-0')).toBe('snapshot-restore-r1-etcd-0');
    const long = restoreJobName('a-very-long-restore-name-for-the-main-cluster', 'etcd-main-member-2');
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^snapshot-restore-a-very-long-restore-name-for-[a-z-]*[a-z]-[0-9a-f]{10}$/);
    expect(restoreJobName('a-very-long-restore-name-for-the-main-cluster', 'etcd-main-member-2')).toBe(long);
    expect(restoreJobName('a-very-long-restore-name-for-the-main-cluster', 'etcd-main-member-1')).not.toBe(
      long,
    );
    // The pair is hashed, not the joined text.
    const x = 'x'.repeat(40);
    expect(restoreJobName(`${x}-a`, 'b-member-name')).not.toBe(restoreJobName(x, 'a-b-member-name'));
  });

  it('keeps every restore path beside the data dir', () => {
    expect(restorePaths('/var/lib/etcd-member/data/', 'u1')).toEqual({
      dataDir: '/var/lib/etcd-member/data',
      stagingPart: '/var/lib/etcd-member/data.restore-u1.part',
      staging: '/var/lib/etcd-member/data.restore-u1',
      previous: '/var/lib/etcd-member/data.pre-restore-u1',
      discarded: '/var/lib/etcd-member/data.rolled-back-u1',
      journal: '/var/lib/etcd-member/data.restore-u1.json',
    });
  });
});
