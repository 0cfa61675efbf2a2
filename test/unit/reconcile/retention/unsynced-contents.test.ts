// Nothing is judged on an unsynced content store: at start-up the records may be listed before
// the (larger) content list, and a record whose content is merely not listed yet must not read
// as orphaned.
import { describe, expect, it } from 'vitest';
import { ContentReferences } from '../../../../src/reconcile/retention/content-references.ts';
import { judgeRecord } from '../../../../src/reconcile/retention/record-verdict.ts';
import { ContentSource, content, DAY, DRIVER, NOW, record, world } from './fakes.ts';

class UnsyncedContentSource extends ContentSource {
  hasSynced = false;
}

describe('retention on unsynced content stores', () => {
  it('reads the contents as unknown until every content store has synced', () => {
    const vsc = new UnsyncedContentSource();
    const vgsc = new ContentSource();
    const refs = new ContentReferences([vsc, vgsc]);
    const r = record('a');
    expect(refs.synced).toBe(false);
    expect(refs.stateOf(r)).toEqual({ kind: 'unknown' });
    vsc.hasSynced = true;
    expect(refs.synced).toBe(true);
    expect(refs.stateOf(r)).toEqual({ kind: 'gone' });
    vsc.add(content('c1', 'snap-a', 'Retain'));
    expect(refs.stateOf(r)).toEqual({ kind: 'present', names: ['c1'] });
  });

  it('keeps an expired record, and an orphan under --delete-orphan-records, while contents are unknown', () => {
    const opts = { driverName: DRIVER, orphanGraceMs: 0, deleteUnknownOrphanRecords: true };
    const expired = record('old', { retentionDays: 1, snapshotAgeMs: 3 * DAY });
    expect(judgeRecord(expired, { kind: 'unknown' }, NOW, opts)).toEqual({ action: 'keep' });
    expect(judgeRecord(record('orphan'), { kind: 'unknown' }, NOW, opts)).toEqual({ action: 'keep' });
    // The same records on a synced, empty store: deleted (what an unsynced one must not cause).
    expect(judgeRecord(expired, { kind: 'gone' }, NOW, opts).action).toBe('delete');
    expect(judgeRecord(record('orphan'), { kind: 'gone' }, NOW, opts).action).toBe('delete');
  });

  it('the reconciler deletes nothing while the content store is unsynced and looks again at the poll interval', async () => {
    const w = world({ orphanGraceMs: 0, deleteUnknownOrphanRecords: true, pollIntervalMs: 1_500 });
    const unsynced = w.vsc as ContentSource & { hasSynced?: boolean };
    unsynced.hasSynced = false;
    w.add(record('old', { retentionDays: 1, snapshotAgeMs: 3 * DAY }));
    w.add(record('orphan'));
    const result = await w.run();
    expect(w.api.calls).toEqual([]);
    expect(w.api.events).toEqual([]);
    expect(result.requeueAfter).toBe(1_500);
  });
});
