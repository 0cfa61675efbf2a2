// The remote listing retention and the orphan sweep will use: objects under
// <prefix>/<namespace>/<cluster>/ grouped by snapshot, complete exactly when manifest.json is
// there, anything else under the prefix reported as foreign; every page of ListObjectsV2 read.
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { clusterPrefix } from '../../../src/objectstore/layout.ts';
import { groupListing, listRemoteSnapshots } from '../../../src/objectstore/listing.ts';

const base = 'p/prod/main/';
const t = (s: number) => new Date(1_800_000_000_000 + s * 1000);

describe('groupListing', () => {
  it('groups by snapshot, complete only with a manifest, foreign keys apart', () => {
    const listing = groupListing(base, [
      { key: `${base}b/snapshot-x.db.zst`, lastModified: t(1) },
      { key: `${base}b/manifest.json`, lastModified: t(2) },
      { key: `${base}a/snapshot-y.db`, lastModified: t(5) },
      { key: `${base}a/snapshot-z.db`, lastModified: t(7) },
      { key: `${base}stray.txt` },
      { key: `${base}Upper/manifest.json` },
      { key: `${base}c/nested/manifest.json` },
      { key: 'p/prod/other/d/manifest.json' },
    ]);
    expect(listing.snapshots).toEqual([
      {
        snapshot: 'a',
        complete: false,
        lastModified: t(7),
        keys: [`${base}a/snapshot-y.db`, `${base}a/snapshot-z.db`],
      },
      {
        snapshot: 'b',
        complete: true,
        manifestKey: `${base}b/manifest.json`,
        lastModified: t(2),
        keys: [`${base}b/manifest.json`, `${base}b/snapshot-x.db.zst`],
      },
    ]);
    expect(listing.foreign).toEqual([
      `${base}Upper/manifest.json`,
      `${base}c/nested/manifest.json`,
      `${base}stray.txt`,
    ]);
  });

  it('lists nothing for an empty prefix', () => {
    expect(groupListing(base, [])).toEqual({ snapshots: [], foreign: [] });
  });
});

describe('listRemoteSnapshots', () => {
  it('reads every page under the cluster prefix', async () => {
    const asked: unknown[] = [];
    const pages: Partial<ListObjectsV2CommandOutput>[] = [
      {
        Contents: [{ Key: `${base}s1/manifest.json`, LastModified: t(1) }],
        IsTruncated: true,
        NextContinuationToken: 'n1',
      },
      { Contents: [{ Key: `${base}s2/snapshot.db`, Size: 3 }], IsTruncated: false },
    ];
    const client = {
      send: async (command: { input: unknown }) => {
        asked.push(command.input);
        return pages.shift();
      },
    };
    const listing = await listRemoteSnapshots(client as never, 'bkt', 'p', 'prod', 'main');
    expect(asked).toEqual([
      { Bucket: 'bkt', Prefix: base },
      { Bucket: 'bkt', Prefix: base, ContinuationToken: 'n1' },
    ]);
    expect(listing.snapshots.map((s) => [s.snapshot, s.complete])).toEqual([
      ['s1', true],
      ['s2', false],
    ]);
    expect(clusterPrefix('', 'prod', 'main')).toBe('prod/main/');
  });
});
