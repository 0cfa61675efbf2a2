import { describe, expect, it } from 'vitest';
import {
  handoverKind,
  handoverViolations,
  type LeaseVersion,
  microsOf,
} from '../../e2e/ha/lease-handover.ts';

function version(
  resourceVersion: string,
  holderIdentity: string,
  renewTime: string,
  extra: { acquireTime?: string; leaseDurationSeconds?: number } = {},
): LeaseVersion {
  return {
    metadata: { name: 'b-0', resourceVersion },
    spec: { holderIdentity, leaseDurationSeconds: 6, renewTime, ...extra },
  };
}

describe('microsOf', () => {
  it('reads a MicroTime to the microsecond, and a time without a fraction', () => {
    expect(microsOf('2026-01-02T03:04:05.123456Z') - microsOf('2026-01-02T03:04:05Z')).toBe(123_456);
    expect(microsOf('2026-01-02T03:04:05.5Z') - microsOf('2026-01-02T03:04:05Z')).toBe(500_000);
  });

  it('rejects what is not a MicroTime, naming it', () => {
    expect(() => microsOf('yesterday')).toThrow('not a MicroTime: "yesterday"');
    expect(() => microsOf(undefined)).toThrow('not a MicroTime');
  });
});

describe('handoverViolations', () => {
  const renewed = '2026-01-02T03:04:05.000000Z';

  it('accepts a take after a release, however soon', () => {
    const history = [
      version('1', 'a', renewed),
      version('2', '', '2026-01-02T03:04:05.100000Z', { leaseDurationSeconds: 1 }),
      version('3', 'b', '2026-01-02T03:04:05.150000Z', { acquireTime: '2026-01-02T03:04:05.150000Z' }),
    ];
    expect(handoverViolations(history)).toEqual([]);
    expect(handoverKind(history, 2)).toBe('release');
  });

  it('accepts a take from a holder a LeaseDuration after its last renewal', () => {
    const history = [
      version('1', 'a', renewed),
      version('2', 'b', '2026-01-02T03:04:11.000000Z', { acquireTime: '2026-01-02T03:04:11.000000Z' }),
    ];
    expect(handoverViolations(history)).toEqual([]);
    expect(handoverKind(history, 1)).toBe('expiry');
  });

  it('reports a take from a holder before its LeaseDuration ran out (two holders)', () => {
    const history = [
      version('1', 'a', renewed),
      version('2', 'a', '2026-01-02T03:04:07.000000Z'),
      version('3', 'b', '2026-01-02T03:04:12.999999Z', { acquireTime: '2026-01-02T03:04:12.999999Z' }),
    ];
    expect(handoverViolations(history)).toEqual([
      'b-0: b took it from a 5999.999 ms after its last renewal (resourceVersion 2), before its LeaseDuration of 6000 ms',
    ]);
  });

  it('ignores renewals and releases', () => {
    expect(
      handoverViolations([
        version('1', 'a', renewed),
        version('2', 'a', '2026-01-02T03:04:06.000000Z'),
        version('3', '', '2026-01-02T03:04:06.100000Z', { leaseDurationSeconds: 1 }),
      ]),
    ).toEqual([]);
  });
});
