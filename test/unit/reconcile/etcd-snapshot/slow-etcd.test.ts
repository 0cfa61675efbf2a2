// A slow etcd (members took the health check's calls, answered after its deadline) is a wait:
// the record says so on a condition, checks again with a growing pause, leaves the health
// gauges alone, saves once etcd answers, and fails only when snapshotTimeoutSeconds runs out.
import { describe, expect, it } from 'vitest';
import { ClusterSlowError } from '../../../../src/etcd/errors.ts';
import type { ClusterHealthView, HealthChecker } from '../../../../src/reconcile/etcd-snapshot/ports.ts';
import { FakeWorld, healthy, makeReconciler } from './fakes.ts';

const slow = new ClusterSlowError(
  'etcd members answer too slowly: 10.0.0.1:2379: Maintenance.Status at 10.0.0.1:2379: Deadline exceeded after 6.1s,remote_addr=10.0.0.1:2379',
  { connected: 3 },
);
const at = (seconds: number) => new Date(Date.parse('2026-01-01T00:00:00Z') + seconds * 1000);

/** A check that is slow while `answers` is false, and a clock the test moves. */
function world() {
  const w = new FakeWorld();
  w.addRecord('r1', { created: '2026-01-01T00:00:00Z' });
  const state = { answers: false, now: at(10) };
  const check: HealthChecker = async (): Promise<ClusterHealthView> => {
    if (!state.answers) throw slow;
    return healthy;
  };
  return { w, state, ...makeReconciler(w, check, () => state.now) };
}

describe('pipeline reconciler: a slow etcd', () => {
  it('waits with a DEADLINE_EXCEEDED condition at CheckHealth, not ETCD_QUORUM_LOST, and no quorum 0', async () => {
    const { w, run, metrics } = world();
    expect(await run('r1')).toEqual({ requeueAfter: expect.any(Number) });
    const status = w.record('r1').status;
    expect(status).toMatchObject({
      phase: 'Pending',
      step: 'CheckHealth',
      reason: 'DEADLINE_EXCEEDED',
      readyToUse: false,
    });
    expect(status?.message).toMatch(
      /^etcd members answer too slowly: .*waiting \(until the snapshot's timeout of 300s\)$/,
    );
    expect(status?.conditions).toContainEqual(
      expect.objectContaining({ type: 'EtcdResponsive', status: 'False', reason: 'DEADLINE_EXCEEDED' }),
    );
    expect(metrics.calls.filter((c) => c.name === 'clusterHealth')).toEqual([]);
  });

  it('backs off the longer etcd stays slow, and writes the wait once', async () => {
    const { w, state, run } = world();
    const pauses: number[] = [];
    for (const t of [10, 20, 60, 200]) {
      state.now = at(t);
      const result = (await run('r1')) as { requeueAfter: number };
      pauses.push(result.requeueAfter);
    }
    expect(pauses[3]).toBeGreaterThan(pauses[1] as number);
    expect(pauses[3]).toBeLessThanOrEqual(30_000);
    const writes = w.calls.filter((c) => c.startsWith('putStatus'));
    expect(writes.length).toBe(1);
  });

  it('saves once etcd answers again: the Job starts and the condition is cleared', async () => {
    const { w, state, run } = world();
    await run('r1');
    state.answers = true;
    state.now = at(40);
    await run('r1');
    const status = w.record('r1').status;
    expect(status?.phase).toBe('Running');
    expect(status?.conditions ?? []).not.toContainEqual(expect.objectContaining({ type: 'EtcdResponsive' }));
    expect(w.jobs.list().length).toBe(1);
  });

  it('fails with DEADLINE_EXCEEDED when snapshotTimeoutSeconds runs out, saying what happened', async () => {
    const { w, state, run } = world();
    await run('r1');
    state.now = at(301);
    await run('r1');
    const status = w.record('r1').status;
    expect(status).toMatchObject({ phase: 'Failed', reason: 'DEADLINE_EXCEEDED', step: 'CheckHealth' });
    expect(status?.message).toMatch(/too slowly.*still too slow when the snapshot's timeout of 300s ran out/);
  });
});
