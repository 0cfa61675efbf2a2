// What an upload makes of a manifest it finds in place: the same saved bytes are a copy to keep
// (and its result reports that copy), anything else OBJECT_STORE_COPY_CONFLICT naming the object.
import { describe, expect, it } from 'vitest';
import { AgentFailure } from '../../../src/agent/failure.ts';
import { matchingCopy, uploadResult } from '../../../src/agent/remote-manifest.ts';
import { type Manifest, serializeManifest } from '../../../src/objectstore/manifest.ts';

const sha = (c: string) => c.repeat(64);
const manifest: Manifest = {
  formatVersion: 1,
  location: { namespace: 'prod', cluster: 'main', snapshot: 'snap' },
  snapshotId: 'prod/snap',
  db: { sha256: sha('a'), sizeBytes: 100 },
  object: {
    key: 'p/prod/main/snap/snapshot-20261202t194727z01020304.db.zst',
    sha256: sha('b'),
    sizeBytes: 40,
  },
  compression: { algorithm: 'zstd', level: 3 },
  encryption: { algorithm: 'none' },
  revision: 7,
  createdAt: '2026-12-02T19:47:27Z',
  uploadedAt: '2026-12-02T19:47:28Z',
  driverVersion: '0.1.0',
};
const place = { bucket: 'b', key: 'p/prod/main/snap/manifest.json', ssec: {} };
const args = {
  file: '/snapshots/snap/snapshot.db',
  storeConfigDir: '/s',
  namespace: 'prod',
  cluster: 'main',
  snapshot: 'snap',
  compression: 'none' as const,
};
const saved = { operation: 'save' as const, ok: true, sha256: sha('a'), sizeBytes: 100 };

function conflictOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AgentFailure);
    expect((err as AgentFailure).reason).toBe('OBJECT_STORE_COPY_CONFLICT');
    return (err as Error).message;
  }
  throw new Error('accepted');
}

describe('matchingCopy', () => {
  it('keeps a copy of the saved bytes, whatever compression this run asked for', () => {
    expect(matchingCopy(serializeManifest(manifest), place, args, saved)).toEqual(manifest);
  });

  it.each([
    [
      'other bytes',
      { ...manifest, db: { sha256: sha('c'), sizeBytes: 100 } },
      `records a copy of 100 bytes with SHA-256 ${sha('c')}`,
    ],
    ['another size', { ...manifest, db: { sha256: sha('a'), sizeBytes: 99 } }, 'records a copy of 99 bytes'],
    [
      'another place',
      { ...manifest, location: { ...manifest.location, snapshot: 'other' } },
      'describes prod/main/other',
    ],
  ])('refuses a manifest of %s', (_what, found, message) => {
    const text = conflictOf(() => matchingCopy(serializeManifest(found as Manifest), place, args, saved));
    expect(text).toContain('s3://b/p/prod/main/snap/manifest.json');
    expect(text).toContain(message);
    expect(text).toContain('not overwritten');
  });

  it('refuses a manifest it cannot read rather than overwriting it', () => {
    expect(conflictOf(() => matchingCopy('{"formatVersion": 2}', place, args, saved))).toContain(
      'formatVersion 2',
    );
    expect(conflictOf(() => matchingCopy('not json', place, args, saved))).toContain('is not JSON');
  });
});

describe('uploadResult', () => {
  it('reports the copy the manifest describes', () => {
    expect(uploadResult(manifest, 'b', 'p/prod/main/snap/', args.file)).toEqual({
      operation: 'upload',
      ok: true,
      file: args.file,
      snapshotId: 'prod/snap',
      sha256: sha('a'),
      sizeBytes: 100,
      revision: 7,
      remote: {
        location: 's3://b/p/prod/main/snap/',
        object: `s3://b/${manifest.object.key}`,
        manifest: 's3://b/p/prod/main/snap/manifest.json',
        sha256: sha('b'),
        sizeBytes: 40,
        compression: 'zstd',
      },
    });
  });
});
