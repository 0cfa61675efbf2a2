// No silent stalls: a record that waits for its cluster's turn, or whose save Job the API
// refuses, says so in its status; a refusal is retried for a bounded time, then final.
import { describe, expect, it } from 'vitest';
import {
  JOB_CREATE_RETRY_MS,
  JOB_CREATE_RETRY_WINDOW_MS,
  judgeJobCreateError,
} from '../../../../src/reconcile/etcd-snapshot/job-create-failure.ts';
import { resolvePipelineOptions } from '../../../../src/reconcile/etcd-snapshot/options.ts';
import { FakeApiError, FakeWorld, healthy, makeReconciler, okSave } from './fakes.ts';

const QUOTA =
  'jobs.batch "snapshot-save-r1" is forbidden: exceeded quota: no-jobs, requested: count/jobs.batch=1, used: count/jobs.batch=0, limited: count/jobs.batch=0';

function clock(start = '2026-01-01T00:00:10Z') {
  let t = Date.parse(start);
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

describe('a snapshot waiting for another save of its cluster', () => {
  it('is Pending with SNAPSHOT_CREATION_IN_PROGRESS naming what it waits for, written once; the condition goes when its save starts', async () => {
    const w = new FakeWorld();
    w.addRecord('r1', { created: '2026-01-01T00:00:00Z' });
    w.addRecord('r2', { created: '2026-01-01T00:00:01Z' });
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    expect(w.record('r1').status?.saveJob).toBe('snapshot-save-r1');

    w.calls.length = 0;
    expect(await run('r2')).toEqual({ requeueAfter: expect.any(Number) });
    expect(w.calls).toEqual(['putStatus r2 Pending/undefined']);
    const waiting = w.record('r2').status!;
    expect(waiting).toMatchObject({
      phase: 'Pending',
      readyToUse: false,
      reason: 'SNAPSHOT_CREATION_IN_PROGRESS',
      message: expect.stringContaining('the save of r1'),
    });
    expect(waiting.conditions).toEqual([
      {
        type: 'SaveTurn',
        status: 'False',
        reason: 'SNAPSHOT_CREATION_IN_PROGRESS',
        message: expect.stringContaining('etcd/main'),
        lastTransitionTime: expect.any(String),
      },
    ]);

    // Polling again while nothing changed writes nothing.
    w.calls.length = 0;
    await run('r2');
    expect(w.calls).toEqual([]);
    w.addRecord('r3', { created: '2026-01-01T00:00:02Z' });
    await run('r3');
    expect(w.record('r3').status?.message).toContain('the save of r1');

    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await run('r1');
    expect(w.record('r1').status?.phase).toBe('Ready');
    // r3 now waits for the older r2, not for r1: still one write per wait, not per change.
    w.calls.length = 0;
    await run('r3');
    expect(w.calls).toEqual([]);
    expect(w.record('r3').status?.phase).toBe('Pending');
    await run('r2');
    const started = w.record('r2').status!;
    expect(started).toMatchObject({ phase: 'Running', saveJob: 'snapshot-save-r2' });
    expect(started.reason).toBeUndefined();
    expect(started.message).toBeUndefined();
    expect(started.conditions).toBeUndefined();
  });
});

describe('a save Job the API refuses', () => {
  it('shows JOB_CREATION_FAILED with the API message at once, is retried, and fails after the documented window', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const c = clock();
    w.refuseJobs = new FakeApiError(403, 'Forbidden', QUOTA);
    const { run, metrics } = makeReconciler(w, async () => healthy, c.now);

    expect(await run('r1')).toEqual({ requeueAfter: JOB_CREATE_RETRY_MS });
    const refused = w.record('r1').status!;
    expect(refused).toMatchObject({
      phase: 'Running',
      readyToUse: false,
      saveJob: 'snapshot-save-r1',
      reason: 'JOB_CREATION_FAILED',
      message: expect.stringContaining('exceeded quota: no-jobs'),
    });
    expect(refused.conditions).toEqual([
      expect.objectContaining({
        type: 'JobCreated',
        status: 'False',
        reason: 'JOB_CREATION_FAILED',
        lastTransitionTime: '2026-01-01T00:00:10.000Z',
      }),
    ]);

    // Within the window: tried again, nothing written while the answer stays the same.
    c.advance(JOB_CREATE_RETRY_MS);
    w.calls.length = 0;
    expect(await run('r1')).toEqual({ requeueAfter: JOB_CREATE_RETRY_MS });
    expect(w.calls).toEqual(['createJob snapshot-save-r1']);
    expect(w.record('r1').status?.phase).toBe('Running');

    c.advance(JOB_CREATE_RETRY_WINDOW_MS);
    expect(await run('r1')).toEqual({});
    const failed = w.record('r1').status!;
    expect(failed).toMatchObject({ phase: 'Failed', step: 'RunJob', reason: 'JOB_CREATION_FAILED' });
    expect(failed.message).toContain('exceeded quota: no-jobs');
    expect(failed.message).toContain('403 Forbidden');
    expect(w.events.map((e) => e.event)).toEqual([
      expect.objectContaining({
        type: 'Warning',
        reason: 'SnapshotFailed',
        message: expect.stringMatching(/^JOB_CREATION_FAILED: /),
      }),
    ]);
    expect(metrics.calls.find((m) => m.name === 'operationFinished')?.args[0]).toMatchObject({
      status: 'JOB_CREATION_FAILED',
    });
  });

  it('bounds the API message it keeps', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    w.refuseJobs = new FakeApiError(422, 'Invalid', `admission webhook denied: ${'x'.repeat(10_000)}`);
    const { run } = makeReconciler(w, async () => healthy);
    await run('r1');
    const status = w.record('r1').status!;
    expect(status.reason).toBe('JOB_CREATION_FAILED');
    expect(status.message!.length).toBeLessThanOrEqual(1025);
    expect(status.message).toContain('422 Invalid: admission webhook denied');
  });

  it('a Job created after refusals clears the condition; the save goes on', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const c = clock();
    w.refuseJobs = new FakeApiError(403, 'Forbidden', QUOTA);
    const { run } = makeReconciler(w, async () => healthy, c.now);
    await run('r1');
    expect(w.record('r1').status?.reason).toBe('JOB_CREATION_FAILED');

    w.refuseJobs = undefined;
    c.advance(JOB_CREATE_RETRY_MS);
    await run('r1');
    expect(w.jobs.get('etcd/snapshot-save-r1')).toBeDefined();
    const status = w.record('r1').status!;
    expect(status).toMatchObject({ phase: 'Running', step: 'AwaitJob' });
    expect(status.reason).toBeUndefined();
    expect(status.conditions).toBeUndefined();
    w.finishJob('snapshot-save-r1', { complete: true, message: okSave('r1') });
    await run('r1');
    expect(w.record('r1').status?.phase).toBe('Ready');
  });

  it('an API that does not answer (503) is no refusal: the error goes to the controller’s backoff', async () => {
    const w = new FakeWorld();
    w.addRecord('r1');
    const unavailable = new FakeApiError(503, 'ServiceUnavailable', 'etcdserver: leader changed');
    w.refuseJobs = unavailable;
    const { run } = makeReconciler(w, async () => healthy);
    await expect(run('r1')).rejects.toBe(unavailable);
    expect(w.record('r1').status?.reason).toBeUndefined();
  });
});

describe('the retry window of refused Jobs', () => {
  // Not a flag: the ranges of what users set are checked once, in src/config.
  it('is the pipeline option jobCreateRetryWindowMs (60 s by default; 0 fails at the first refusal)', () => {
    const required = { agentImage: 'img', executorServiceAccount: 'sa', defaultStorageClass: 'standard' };
    expect(resolvePipelineOptions(required).jobCreateRetryWindowMs).toBe(60_000);
    const refusal = new FakeApiError(403, 'Forbidden', QUOTA);
    const now = new Date('2026-01-01T00:00:10Z');
    expect(judgeJobCreateError(refusal, 'snapshot-save-r1', undefined, now, 0)).toMatchObject({
      kind: 'fail',
    });
    expect(judgeJobCreateError(refusal, 'snapshot-save-r1', undefined, now)).toMatchObject({ kind: 'retry' });
  });
});
