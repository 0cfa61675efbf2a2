// A restore whose record the cache does not hold yet (made a moment ago: imported from the store
// as the DR runbook does, then restored at once) must not fail for good on "not found": the
// server's list answers first. CI saw the cache lag behind an imported record while the
// apiserver's watch cache re-initialized (429 on the watches).
import { describe, expect, it } from 'vitest';
import { reconcilerFor } from './fakes.ts';
import { until, world } from './steps.ts';

describe('the source record, when the cache lags', () => {
  it('finds a record only the API server has yet and goes on past Validating', async () => {
    const w = world();
    const record = w.records.get('etcd/snap')!;
    w.records.remove('etcd/snap');
    w.uncachedRecords.push(record);
    await until(w, reconcilerFor(w).run, 'VerifyingFile');
    expect(w.restore().status?.snapshot?.record).toBe('snap');
  });

  it('fails RESTORE_SNAPSHOT_NOT_FOUND, naming the record, when the server has none either', async () => {
    const w = world();
    w.records.remove('etcd/snap');
    await until(w, reconcilerFor(w).run, 'Failed');
    expect(w.restore().status).toMatchObject({
      reason: 'RESTORE_SNAPSHOT_NOT_FOUND',
      message: expect.stringContaining('EtcdSnapshot etcd/snap does not exist'),
    });
  });
});
