import { describe, expect, it } from 'vitest';
import {
  groupOfSnapshotId,
  groupSnapshotId,
  hashId,
  isGroupSnapshotId,
  memberSnapshotId,
  parseVolumeId,
  singleSnapshotId,
  snapshotRecordName,
  volumeRecordName,
} from '../../../src/csi/ids.ts';

describe('volume IDs', () => {
  it('parse <namespace>/<name> with Kubernetes name syntax', () => {
    expect(parseVolumeId('etcd/data-etcd-0')).toEqual({ namespace: 'etcd', name: 'data-etcd-0' });
    expect(parseVolumeId('default/vol-abc.def')).toEqual({ namespace: 'default', name: 'vol-abc.def' });
  });

  it.each([
    'fake-vol-id',
    'a/b/c',
    '/name',
    'ns/',
    'Upper/name',
    'ns/Name',
    'ns/-name',
    `${'a'.repeat(64)}/name`,
    `ns/${'a'.repeat(254)}`,
    '',
  ])('refuse %j', (id) => {
    expect(parseVolumeId(id)).toBeUndefined();
  });

  it('name volume records without a claim by a hash of the request name (names need not be Kubernetes names)', () => {
    const name = volumeRecordName('listSnapshots-volume-unrelated-S-1 with spaces');
    expect(name).toMatch(/^vol-[a-z2-7]{20}$/);
    expect(volumeRecordName('listSnapshots-volume-unrelated-S-1 with spaces')).toBe(name);
    expect(volumeRecordName('other')).not.toBe(name);
  });
});

describe('snapshot IDs', () => {
  it('are deterministic, distinct per name, and within CSI’s 128 bytes', () => {
    const g = groupSnapshotId('groupsnapshot-1234');
    expect(g).toMatch(/^grp-[a-z2-7]{20}$/);
    expect(groupSnapshotId('groupsnapshot-1234')).toBe(g);
    expect(groupSnapshotId('groupsnapshot-1235')).not.toBe(g);
    const m = memberSnapshotId(g, `${'n'.repeat(63)}/${'p'.repeat(253)}`);
    expect(m.length).toBeLessThanOrEqual(128);
    expect(singleSnapshotId('snapshot-1')).toMatch(/^snap-[a-z2-7]{20}$/);
  });

  it('let a member ID tell its group', () => {
    const g = groupSnapshotId('g');
    const m = memberSnapshotId(g, 'ns/pvc');
    expect(groupOfSnapshotId(m)).toBe(g);
    expect(groupOfSnapshotId(singleSnapshotId('s'))).toBeUndefined();
    expect(isGroupSnapshotId(g)).toBe(true);
    expect(isGroupSnapshotId(m)).toBe(false);
  });

  it('member IDs differ per source volume', () => {
    const g = groupSnapshotId('g');
    expect(memberSnapshotId(g, 'ns/a')).not.toBe(memberSnapshotId(g, 'ns/b'));
  });
});

describe('record names', () => {
  it('are readable, unique per (kind, request, cluster) and at most 47 characters', () => {
    const a = snapshotRecordName('group', 'g1', 'etcd/main');
    expect(a).toMatch(/^main-[a-z2-7]{16}$/);
    expect(snapshotRecordName('group', 'g1', 'etcd/main')).toBe(a);
    expect(snapshotRecordName('snapshot', 'g1', 'etcd/main')).not.toBe(a);
    expect(snapshotRecordName('group', 'g1', 'other/main')).not.toBe(a);
    const long = snapshotRecordName('group', 'g1', `etcd/${'Very_Long.Cluster'.repeat(10)}`);
    expect(long.length).toBeLessThanOrEqual(47);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(snapshotRecordName('group', 'g1', 'etcd/___')).toMatch(/^etcd-[a-z2-7]{16}$/);
  });

  it('hashId is base32 of SHA-256', () => {
    expect(hashId(['a'], 8)).toMatch(/^[a-z2-7]{8}$/);
    expect(hashId(['a', 'b'], 8)).not.toBe(hashId(['ab'], 8));
  });
});
