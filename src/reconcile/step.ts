// The result of one phase of a reconciler (etcd-druid's ReconcileStepResult): go on to the next
// phase, look again later, or fail the object with a reason of the vocabulary (src/reasons). A
// reconciler's flow is a list of phases run in order by runPhases, which stops at the first
// result that is not `continue`; the flow then turns that result into a status write (fail) or a
// requeue.
//
// Throw only for what the controller should retry with backoff (an API that does not answer, a
// 409, a lost shard): those are not outcomes of the phase. Waiting is a requeue, never an error.
// The snapshot pipeline uses it (reconcile/etcd-snapshot); restore, copy and schedule
// reconcilers import it from here too.
import type { Reason } from '../reasons/reasons.ts';

/** The phase is done: run the next one. */
export type StepContinue = { readonly kind: 'continue' };
/** Not yet (a Job running, a claim being deleted, a turn taken): look again after `afterMs`. */
export type StepRequeue = { readonly kind: 'requeue'; readonly afterMs: number };
/** Final: the object fails with this reason of the vocabulary and message (the flow writes them). */
export type StepFailure = { readonly kind: 'fail'; readonly reason: Reason; readonly message: string };

export type StepResult = StepContinue | StepRequeue | StepFailure;

export const proceed: StepContinue = Object.freeze({ kind: 'continue' });

export function requeueAfter(afterMs: number): StepRequeue {
  return { kind: 'requeue', afterMs };
}

export function fail(reason: Reason, message: string): StepFailure {
  return { kind: 'fail', reason, message };
}

/** A named phase; the name is what a failure is recorded against (status.step). */
export interface Phase<Name extends string> {
  readonly name: Name;
  run(): Promise<StepResult>;
}

/** Where a flow stopped: `continue` when every phase ran, else the phase that stopped it. */
export type FlowOutcome<Name extends string> =
  | { readonly result: StepContinue }
  | { readonly result: StepRequeue | StepFailure; readonly phase: Name };

/** Runs the phases in order and short-circuits on the first result that is not `continue`. */
export async function runPhases<Name extends string>(
  phases: readonly Phase<Name>[],
): Promise<FlowOutcome<Name>> {
  for (const phase of phases) {
    const result = await phase.run();
    if (result.kind !== 'continue') return { result, phase: phase.name };
  }
  return { result: { kind: 'continue' } };
}
