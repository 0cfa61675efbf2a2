// Each cluster's freshest remote copy from the record cache: Ready records with status.remote
// count by their finishedAt; a cluster whose records name a store but hold no copy reports its
// oldest such record's creation; records being deleted and records without a store are left out.
import { describe, expect, it } from 'vitest';
import { remoteCopyTimes } from '../../../src/app/remote-copy-times.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';

const REMOTE = {
  location: 's3://b/p/',
  object: 's3://b/p/o',
  sha256: 'a'.repeat(64),
  sizeBytes: 1,
  compression: 'none' as const,
};

function record(
  cluster: string,
  o: {
    created: string;
    finished?: string;
    remote?: boolean;
    store?: boolean;
    deleting?: boolean;
    phase?: 'Ready' | 'Failed';
  },
): EtcdSnapshot {
  return {
    metadata: {
      name: `r-${o.created}`,
      creationTimestamp: o.created,
      ...(o.deleting ? { deletionTimestamp: o.created } : {}),
    },
    spec: {
      cluster: { key: cluster },
      ...(o.store === false ? {} : { objectStore: { secretName: 'store' } }),
    } as EtcdSnapshot['spec'],
    status: {
      ...(o.phase ? { phase: o.phase } : {}),
      ...(o.finished ? { finishedAt: o.finished } : {}),
      ...(o.remote ? { remote: REMOTE } : {}),
    },
  };
}

const t = (iso: string) => Date.parse(iso) / 1000;

describe('remoteCopyTimes', () => {
  it('takes the newest Ready copy of each cluster', () => {
    const times = remoteCopyTimes([
      record('db/a', {
        created: '2026-01-01T00:00:00Z',
        finished: '2026-01-01T00:01:00Z',
        phase: 'Ready',
        remote: true,
      }),
      record('db/a', {
        created: '2026-01-02T00:00:00Z',
        finished: '2026-01-02T00:01:00Z',
        phase: 'Ready',
        remote: true,
      }),
      // Ready without a copy (best-effort) and a failed one do not move it.
      record('db/a', { created: '2026-01-03T00:00:00Z', finished: '2026-01-03T00:01:00Z', phase: 'Ready' }),
      record('db/a', { created: '2026-01-04T00:00:00Z', finished: '2026-01-04T00:01:00Z', phase: 'Failed' }),
      // Being deleted: its copy is going.
      record('db/a', {
        created: '2026-01-05T00:00:00Z',
        finished: '2026-01-05T00:01:00Z',
        phase: 'Ready',
        remote: true,
        deleting: true,
      }),
    ]);
    expect(times).toEqual([{ cluster: 'db/a', timestampSeconds: t('2026-01-02T00:01:00Z') }]);
  });

  it('reports the oldest store-naming record of a cluster that has no copy yet', () => {
    const times = remoteCopyTimes([
      record('db/b', { created: '2026-01-03T00:00:00Z', finished: '2026-01-03T00:01:00Z', phase: 'Ready' }),
      record('db/b', { created: '2026-01-02T00:00:00Z', phase: 'Failed' }),
      record('db/b', { created: '2026-01-04T00:00:00Z' }),
      // A record of another cluster without a store says nothing of remote copies.
      record('db/c', {
        created: '2026-01-01T00:00:00Z',
        finished: '2026-01-01T00:01:00Z',
        phase: 'Ready',
        store: false,
      }),
    ]);
    expect(times).toEqual([{ cluster: 'db/b', timestampSeconds: t('2026-01-02T00:00:00Z') }]);
  });
});
