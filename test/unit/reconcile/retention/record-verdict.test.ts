import { describe, expect, it } from 'vitest';
import type { ContentState } from '../../../../src/reconcile/retention/content-references.ts';
import { judgeRecord } from '../../../../src/reconcile/retention/record-verdict.ts';
import { DAY, DRIVER, NOW, record } from './fakes.ts';

const opts = { driverName: DRIVER, orphanGraceMs: 120_000, deleteUnknownOrphanRecords: false };
const gone = { kind: 'gone' } as const;

describe('judgeRecord', () => {
  it('never judges a save in flight, a young record, one being deleted or another driver’s', () => {
    expect(judgeRecord(record('a', { phase: 'Running' }), gone, NOW, opts).action).toBe('keep');
    expect(judgeRecord(record('a', { ageMs: 60_000 }), gone, NOW, opts).action).toBe('keep');
    const deleting = record('a');
    deleting.metadata!.deletionTimestamp = new Date(NOW).toISOString();
    expect(judgeRecord(deleting, gone, NOW, opts).action).toBe('keep');
    expect(
      judgeRecord(record('a', { driver: 'other' }), gone, NOW, { ...opts, deleteUnknownOrphanRecords: true })
        .action,
    ).toBe('keep');
    // Created long ago but finished a moment ago: the grace counts from the finish too.
    const late = record('a', { ageMs: DAY });
    late.status!.finishedAt = new Date(NOW - 10_000).toISOString();
    expect(judgeRecord(late, { kind: 'gone', policy: 'Delete' }, NOW, opts).action).toBe('keep');
  });

  it('keeps an imported record whatever its age or content: the store holds its copy', () => {
    const r = record('a', { ageMs: 400 * DAY });
    r.spec.retentionDays = 1;
    r.spec.imported = { secretName: 'store', importedAt: new Date(NOW - DAY).toISOString() };
    const flags = { ...opts, deleteUnknownOrphanRecords: true };
    expect(judgeRecord(r, gone, NOW, flags).action).toBe('keep');
    expect(judgeRecord(r, { kind: 'gone', policy: 'Delete' }, NOW, flags).action).toBe('keep');
    delete r.spec.imported;
    expect(judgeRecord(r, gone, NOW, flags).action).toBe('delete');
  });

  it('orphans: Delete → delete, Retain → report, unknown → report unless the flag says delete', () => {
    const r = record('a');
    expect(judgeRecord(r, { kind: 'gone', policy: 'Delete' }, NOW, opts)).toMatchObject({
      action: 'delete',
      reason: 'OrphanDeletePolicy',
    });
    expect(judgeRecord(r, { kind: 'gone', policy: 'Retain' }, NOW, opts)).toMatchObject({
      action: 'report',
      reason: 'OrphanRetained',
    });
    expect(judgeRecord(r, gone, NOW, opts)).toMatchObject({
      action: 'report',
      reason: 'OrphanPolicyUnknown',
    });
    expect(judgeRecord(r, gone, NOW, { ...opts, deleteUnknownOrphanRecords: true })).toMatchObject({
      action: 'delete',
      reason: 'OrphanUnknownPolicy',
    });
    // Failed records are judged as well (their content is gone too).
    expect(
      judgeRecord(record('f', { phase: 'Failed' }), { kind: 'gone', policy: 'Delete' }, NOW, opts).action,
    ).toBe('delete');
  });

  it('a referenced record is never deleted; expired it is reported', () => {
    const present: ContentState = { kind: 'present', names: ['snapcontent-1'] };
    expect(judgeRecord(record('a'), present, NOW, opts).action).toBe('keep');
    const old = record('a', { ageMs: 40 * DAY, retentionDays: 30 });
    expect(judgeRecord(old, present, NOW, opts)).toMatchObject({
      action: 'report',
      reason: 'RetentionExpiredReferenced',
    });
  });

  it('retention: expired and unreferenced → delete, whatever the policy; not yet expired → by policy', () => {
    const old = record('a', { ageMs: 31 * DAY, retentionDays: 30 });
    expect(judgeRecord(old, { kind: 'gone', policy: 'Retain' }, NOW, opts)).toMatchObject({
      action: 'delete',
      reason: 'RetentionExpired',
    });
    expect(judgeRecord(old, { kind: 'no-crds' }, NOW, opts)).toMatchObject({
      action: 'delete',
      reason: 'RetentionExpired',
    });
    expect(
      judgeRecord(record('b', { ageMs: 29 * DAY, retentionDays: 30 }), { kind: 'no-crds' }, NOW, opts).action,
    ).toBe('keep');
    // The snapshot's own time counts, not the record's.
    const young = record('c', { ageMs: 31 * DAY, snapshotAgeMs: 29 * DAY, retentionDays: 30 });
    expect(judgeRecord(young, { kind: 'no-crds' }, NOW, opts).action).toBe('keep');
  });
});
