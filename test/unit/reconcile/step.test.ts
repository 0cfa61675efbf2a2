// The step-result contract every reconciler's flow runs on: phases run in order, the first
// result that is not `continue` stops the flow and names the phase it came from.
import { describe, expect, it } from 'vitest';
import {
  fail,
  type Phase,
  proceed,
  requeueAfter,
  runPhases,
  type StepResult,
} from '../../../src/reconcile/step.ts';

function recorder(results: Record<string, StepResult>) {
  const ran: string[] = [];
  const phases: Phase<string>[] = Object.entries(results).map(([name, result]) => ({
    name,
    run: async () => {
      ran.push(name);
      return result;
    },
  }));
  return { ran, phases };
}

describe('runPhases', () => {
  it('runs every phase when each continues, and says so', async () => {
    const { ran, phases } = recorder({ a: proceed, b: proceed, c: proceed });
    expect(await runPhases(phases)).toEqual({ result: { kind: 'continue' } });
    expect(ran).toEqual(['a', 'b', 'c']);
  });

  it('stops at the first requeue, naming its phase; later phases do not run', async () => {
    const { ran, phases } = recorder({ a: proceed, b: requeueAfter(1500), c: proceed });
    expect(await runPhases(phases)).toEqual({ result: { kind: 'requeue', afterMs: 1500 }, phase: 'b' });
    expect(ran).toEqual(['a', 'b']);
  });

  it('stops at the first failure with its reason and message', async () => {
    const { ran, phases } = recorder({
      a: fail('ETCD_QUORUM_LOST', 'no quorum'),
      b: fail('SNAPSHOT_FAILED', 'never reached'),
    });
    expect(await runPhases(phases)).toEqual({
      result: { kind: 'fail', reason: 'ETCD_QUORUM_LOST', message: 'no quorum' },
      phase: 'a',
    });
    expect(ran).toEqual(['a']);
  });

  it('lets a thrown error through: backoff is the controller’s, not a step result', async () => {
    const boom = new Error('API unavailable');
    const phases: Phase<string>[] = [
      {
        name: 'a',
        run: async () => {
          throw boom;
        },
      },
    ];
    await expect(runPhases(phases)).rejects.toBe(boom);
  });
});
