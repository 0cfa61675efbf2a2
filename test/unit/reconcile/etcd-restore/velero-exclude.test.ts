// A user's EtcdRestore gets Velero's exclude label the first time the reconciler takes it, before
// its first status write, and only once: Velero restores spec without status, so a restore it
// brought back from a backup would run again.
import { describe, expect, it } from 'vitest';
import { reconcilerFor } from './fakes.ts';
import { until, world } from './steps.ts';

const LABEL = 'velero.io/exclude-from-backup';

describe('EtcdRestore and Velero', () => {
  it('labels a user-made restore once, before its first status write, and keeps its own labels', async () => {
    const w = world();
    const r = w.restore();
    w.restores.upsert({ ...r, metadata: { ...r.metadata, labels: { team: 'db' } } });
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    expect(w.restore().metadata?.labels).toEqual({ team: 'db', [LABEL]: 'true' });
    const patches = w.calls.filter((c) => c.startsWith('exclude-from-velero'));
    expect(patches).toEqual(['exclude-from-velero r1']);
    expect(w.calls.indexOf('exclude-from-velero r1')).toBeLessThan(
      w.calls.findIndex((c) => c.startsWith('status')),
    );
  });

  it('writes nothing for a restore that carries the label already (the restore door makes them so)', async () => {
    const w = world();
    const r = w.restore();
    w.restores.upsert({ ...r, metadata: { ...r.metadata, labels: { [LABEL]: 'true' } } });
    const { run } = reconcilerFor(w);
    await until(w, run, 'VerifyingFile');
    expect(w.calls.filter((c) => c.startsWith('exclude-from-velero'))).toEqual([]);
  });
});
