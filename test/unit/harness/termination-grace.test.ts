import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { MIN_POD_GRACE_SECONDS, terminationGraceSeconds } from '../../harness/kubelet/termination-grace.ts';

function pod(terminationGracePeriodSeconds?: number, deletionGracePeriodSeconds?: number): V1Pod {
  return {
    metadata: {
      name: 'p',
      ...(deletionGracePeriodSeconds === undefined ? {} : { deletionGracePeriodSeconds }),
    },
    spec: {
      containers: [{ name: 'a' }],
      ...(terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds }),
    },
  };
}

describe('terminationGraceSeconds', () => {
  it('gives a force-deleted pod (deletion grace 0) the minimum grace, not 0 and not its spec’s', () => {
    expect(MIN_POD_GRACE_SECONDS).toBe(1);
    expect(terminationGraceSeconds(pod(45, 0), undefined)).toBe(1);
  });

  it('uses the deletion grace the apiserver set', () => {
    expect(terminationGraceSeconds(pod(45, 10), undefined)).toBe(10);
  });

  it('uses terminationGracePeriodSeconds, else 30 s, for a pod removed without a deletion grace', () => {
    expect(terminationGraceSeconds(pod(45), undefined)).toBe(45);
    expect(terminationGraceSeconds(pod(), undefined)).toBe(30);
    expect(terminationGraceSeconds(pod(0), undefined)).toBe(1);
  });

  it('only shortens a grace already in effect', () => {
    expect(terminationGraceSeconds(pod(45, 20), 10)).toBe(10);
    expect(terminationGraceSeconds(pod(45, 5), 10)).toBe(5);
    expect(terminationGraceSeconds(pod(45, 0), 10)).toBe(1);
    // The pod gone from the API without a new request keeps the grace in effect.
    expect(terminationGraceSeconds(pod(45), 10)).toBe(10);
  });
});
