// The remote layout (<prefix>/<namespace>/<cluster>/<snapshot>/) and manifest.json: names in,
// keys out; a manifest round-trips and a damaged one is refused naming the field.
import { describe, expect, it } from 'vitest';
import {
  clusterPrefix,
  dataObjectName,
  LocationError,
  newAttemptId,
  s3Url,
  snapshotKeys,
  snapshotPrefix,
} from '../../../src/objectstore/layout.ts';
import {
  formatVolumeSnapshots,
  type Manifest,
  ManifestError,
  parseManifest,
  parseMembers,
  parseVolumeSnapshots,
  serializeManifest,
} from '../../../src/objectstore/manifest.ts';

const loc = { namespace: 'prod', cluster: 'main-etcd', snapshot: 'snapshot-1234' };

describe('layout', () => {
  it('puts a snapshot under prefix/namespace/cluster/snapshot/', () => {
    expect(snapshotPrefix('backups/etcd', loc)).toBe('backups/etcd/prod/main-etcd/snapshot-1234/');
    expect(snapshotPrefix('', loc)).toBe('prod/main-etcd/snapshot-1234/');
  });

  it('names the data object by how it is stored', () => {
    expect(dataObjectName('none', false)).toBe('snapshot.db');
    expect(dataObjectName('zstd', false)).toBe('snapshot.db.zst');
    expect(dataObjectName('gzip', true)).toBe('snapshot.db.gz.enc');
    expect(dataObjectName('none', true)).toBe('snapshot.db.enc');
  });

  it("names an upload attempt's own data object, the attempt checked", () => {
    expect(dataObjectName('zstd', true, '20261202t194727z0a1b')).toBe(
      'snapshot-20261202t194727z0a1b.db.zst.enc',
    );
    expect(newAttemptId(new Date('2026-12-02T19:47:27.123Z'), '0a1b2c3d')).toBe('20261202t194727z0a1b2c3d');
    expect(() => dataObjectName('none', false, '../x')).toThrow(LocationError);
    expect(clusterPrefix('backups', 'prod', 'main')).toBe('backups/prod/main/');
  });

  it('gives the data and manifest keys side by side', () => {
    expect(snapshotKeys('p', loc, 'zstd', true)).toEqual({
      prefix: 'p/prod/main-etcd/snapshot-1234/',
      data: 'p/prod/main-etcd/snapshot-1234/snapshot.db.zst.enc',
      manifest: 'p/prod/main-etcd/snapshot-1234/manifest.json',
    });
    expect(s3Url('b', 'p/x')).toBe('s3://b/p/x');
  });

  it.each([
    ['namespace', { ...loc, namespace: 'Prod' }],
    ['cluster', { ...loc, cluster: '../x' }],
    ['snapshot', { ...loc, snapshot: 'a/b' }],
    ['snapshot', { ...loc, snapshot: '' }],
  ])('refuses a %s that is not an object name', (field, bad) => {
    expect(() => snapshotPrefix('', bad)).toThrow(LocationError);
    expect(() => snapshotPrefix('', bad)).toThrow(new RegExp(`^${field} `));
  });
});

const manifest: Manifest = {
  formatVersion: 1,
  location: loc,
  snapshotId: 'prod/snapshot-1234',
  db: { sha256: 'a'.repeat(64), sizeBytes: 1000 },
  object: { key: 'prod/main-etcd/snapshot-1234/snapshot.db.zst', sha256: 'b'.repeat(64), sizeBytes: 400 },
  compression: { algorithm: 'zstd', level: 3 },
  encryption: { algorithm: 'aes-256-gcm-chunked-v1', keyId: '0123456789abcdef', chunkBytes: 1048576 },
  revision: 42,
  etcdVersion: '3.6.5',
  sourceMember: 'https://10.0.0.1:2379',
  members: [{ name: 'etcd-0', peerURLs: ['https://etcd-0:2380'] }],
  request: { kind: 'group', name: 'groupsnapcontent-1' },
  groupSnapshotId: 'grp-abcdefghijklmnopqrst',
  volumeSnapshots: [
    { snapshotId: 'grp-abcdefghijklmnopqrst-aaaaaaaaaaaa', sourceVolumeId: 'prod/data-etcd-0' },
    { snapshotId: 'grp-abcdefghijklmnopqrst-bbbbbbbbbbbb', sourceVolumeId: 'prod/data-etcd-1' },
  ],
  createdAt: '2026-01-01T00:00:00.000Z',
  uploadedAt: '2026-01-01T00:00:05.000Z',
  driverVersion: '0.1.0',
};

describe('manifest', () => {
  it('round-trips', () => {
    expect(parseManifest(serializeManifest(manifest))).toEqual(manifest);
  });

  it.each([
    ['not JSON', '{', 'not JSON'],
    ['a newer format', JSON.stringify({ ...manifest, formatVersion: 2 }), 'formatVersion 2'],
    ['a bad location', JSON.stringify({ ...manifest, location: { ...loc, cluster: 'X' } }), 'location'],
    ['a short sha256', JSON.stringify({ ...manifest, db: { sha256: 'ab', sizeBytes: 1 } }), 'db'],
    [
      'a negative size',
      JSON.stringify({ ...manifest, object: { ...manifest.object, sizeBytes: -1 } }),
      'object',
    ],
    [
      'an unknown compression',
      JSON.stringify({ ...manifest, compression: { algorithm: 'xz' } }),
      'compression',
    ],
    ['an unknown cipher', JSON.stringify({ ...manifest, encryption: { algorithm: 'rot13' } }), 'encryption'],
    [
      'a key id that is not 16 hex digits',
      JSON.stringify({ ...manifest, encryption: { ...manifest.encryption, keyId: 'key' } }),
      'encryption.keyId',
    ],
    ['a bad date', JSON.stringify({ ...manifest, uploadedAt: 'yesterday' }), 'uploadedAt'],
    [
      'an unknown request kind',
      JSON.stringify({ ...manifest, request: { kind: 'volume', name: 'x' } }),
      'request',
    ],
    ['a group ID with a slash', JSON.stringify({ ...manifest, groupSnapshotId: 'grp/x' }), 'groupSnapshotId'],
    [
      'no volume snapshots in the list',
      JSON.stringify({ ...manifest, volumeSnapshots: [] }),
      'volumeSnapshots',
    ],
    [
      'a volume snapshot without a source',
      JSON.stringify({ ...manifest, volumeSnapshots: [{ snapshotId: 'snap-a', sourceVolumeId: '' }] }),
      'volumeSnapshots',
    ],
    [
      'a repeated snapshot ID',
      JSON.stringify({
        ...manifest,
        volumeSnapshots: [
          { snapshotId: 'snap-a', sourceVolumeId: 'prod/a' },
          { snapshotId: 'snap-a', sourceVolumeId: 'prod/b' },
        ],
      }),
      'repeated snapshotId',
    ],
  ])('refuses %s', (_what, text, field) => {
    expect(() => parseManifest(text)).toThrow(ManifestError);
    expect(() => parseManifest(text)).toThrow(field);
  });

  it('reads a manifest written before the CSI fields (format version 1 still)', () => {
    const { request: _r, groupSnapshotId: _g, volumeSnapshots: _v, ...old } = manifest;
    expect(parseManifest(serializeManifest(old))).toEqual(old);
  });

  it('reads and writes volume snapshots in the --volume-snapshots form', () => {
    const text = formatVolumeSnapshots(manifest.volumeSnapshots ?? []);
    expect(text).toBe(
      'grp-abcdefghijklmnopqrst-aaaaaaaaaaaa=prod/data-etcd-0,grp-abcdefghijklmnopqrst-bbbbbbbbbbbb=prod/data-etcd-1',
    );
    expect(parseVolumeSnapshots(text ?? '')).toEqual(manifest.volumeSnapshots);
    expect(formatVolumeSnapshots([{ snapshotId: 'snap-a', sourceVolumeId: 'a=b' }])).toBeUndefined();
    expect(() => parseVolumeSnapshots('snap-a')).toThrow('is not SNAPSHOT_ID=SOURCE_VOLUME_ID');
    expect(() => parseVolumeSnapshots('snap-a=x,snap-a=y')).toThrow('repeated');
  });

  it('reads members in the --initial-cluster form', () => {
    expect(parseMembers('a=https://a:2380,b=https://b:2380,a=https://a2:2380')).toEqual([
      { name: 'a', peerURLs: ['https://a:2380', 'https://a2:2380'] },
      { name: 'b', peerURLs: ['https://b:2380'] },
    ]);
    expect(() => parseMembers('a:2380')).toThrow('is not NAME=PEER_URL');
  });
});
