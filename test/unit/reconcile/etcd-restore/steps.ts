// What the reconciler's tests share: a world with a running 3-member cluster, a Ready snapshot
// record and a restore of it, and a loop that reconciles until a phase.
import { expect } from 'vitest';
import { okResult, RestoreWorld } from './fakes.ts';

export const restoreOk = okResult('restore', {
  restore: { state: 'restored', dataDir: '/var/lib/etcd-member/data' },
});
export const members = ['main-0', 'main-1', 'main-2'];

/** A world with a running 3-member cluster, a Ready snapshot record and a restore of it. */
export function world(): RestoreWorld {
  const w = new RestoreWorld();
  w.addCluster();
  w.addRecord();
  w.addRestore();
  return w;
}

/** Reconciles until the restore is in `phase` (at most 30 passes). */
export async function until(w: RestoreWorld, run: () => Promise<unknown>, phase: string): Promise<void> {
  for (let i = 0; i < 30 && w.restore().status?.phase !== phase; i++) await run();
  expect(w.restore().status?.phase).toBe(phase);
}
