// Retention's deletions for one lane: delete the chosen runs (the VolumeSnapshot or
// VolumeGroupSnapshot objects; the upstream path removes contents, records and files). A delete
// that fails never stalls the schedule — the lane's run of this slot is already made — and is
// tried again soon, not after the controller's growing backoff (Kubermatic #5668's failure).
import type { ReconcileContext } from '../result.ts';
import type { Lane } from './run-lane.ts';
import { runState } from './run-objects.ts';
import { type ScheduleIo, scheduleId } from './step-io.ts';

/** How soon a lane whose deletion failed tries again (unless its next slot comes sooner). */
export const RETRY_DELETE_MS = 30_000;

/** Deletes `names` in order; returns false when one failed (the rest wait for the next pass). */
export async function pruneRuns(
  io: ScheduleIo,
  lane: Lane,
  names: readonly string[],
  deferred: number,
  ctx: ReconcileContext,
): Promise<boolean> {
  const { schedule } = lane;
  const id = scheduleId(schedule);
  const byName = new Map(lane.runs.map((r) => [r.metadata?.name ?? '', r]));
  const deleted: string[] = [];
  let ok = true;
  for (const name of names) {
    ctx.assertOwner();
    try {
      await io.api.deleteRun(lane.kind, schedule.metadata?.namespace ?? '', name, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.log.warn({ err, run: name }, 'retention could not delete a run; trying again soon');
      ok = false;
      break;
    }
    deleted.push(name);
    const state = runState(byName.get(name) ?? {}) === 'failed' ? 'failed' : 'ready';
    for (const c of lane.clusters) io.metrics.retentionDeleted(id, c, state);
  }
  if (deleted.length > 0) {
    ctx.log.info({ deleted, deferred }, 'retention deleted runs');
    const more = deferred ? ` (${deferred} more next)` : '';
    const message = `${lane.label}: deleted ${deleted.join(', ')}${more}`;
    await io.event(schedule, { type: 'Normal', reason: 'RetentionDeleted', message }, ctx);
  }
  return ok;
}
