import { describe, expect, it } from 'vitest';
import type { Job, Pod } from '../../../../src/informers/resources.ts';
import { saveTurn } from '../../../../src/reconcile/etcd-snapshot/cluster-turn.ts';
import { groupFailure } from '../../../../src/reconcile/etcd-snapshot/group-failure.ts';
import { jobOutcome } from '../../../../src/reconcile/etcd-snapshot/job-outcome.ts';
import { checkSaveResult } from '../../../../src/reconcile/etcd-snapshot/result-check.ts';
import type { EtcdSnapshot } from '../../../../src/records/etcd-snapshot.ts';
import { FakeWorld, okSave } from './fakes.ts';

const job = (conditions: { type: string; status: string; reason?: string }[] = []): Job => ({
  metadata: { name: 'snapshot-save-r' },
  spec: { activeDeadlineSeconds: 300, template: {} },
  status: { conditions },
});
const pod = (terminated?: { exitCode: number; message?: string }, waiting?: string): Pod => ({
  metadata: { name: 'snapshot-save-r-x', creationTimestamp: '2026-01-01T00:00:00Z' },
  status: {
    phase: terminated ? (terminated.exitCode === 0 ? 'Succeeded' : 'Failed') : 'Pending',
    containerStatuses: [
      {
        name: 'agent',
        image: '',
        imageID: '',
        ready: false,
        restartCount: 0,
        state: terminated ? { terminated } : waiting ? { waiting: { reason: waiting } } : {},
      },
    ],
  },
});

describe('job outcome', () => {
  it('a complete Job yields the AgentResult of its pod', () => {
    const o = jobOutcome(job([{ type: 'Complete', status: 'True' }]), [
      pod({ exitCode: 0, message: okSave('r') }),
    ]);
    expect(o.state).toBe('succeeded');
    expect(o.state === 'succeeded' && o.result?.sha256).toBe('a'.repeat(64));
  });

  it('a failure takes the reason of the result, else of the exit code', () => {
    const failed = job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]);
    const withResult = jobOutcome(failed, [
      pod({
        exitCode: 10,
        message: JSON.stringify({
          operation: 'save',
          ok: false,
          error: { reason: 'AUTH_CERT_INVALID', message: 'bad cert' },
        }),
      }),
    ]);
    expect(withResult).toMatchObject({ state: 'failed', reason: 'AUTH_CERT_INVALID', message: 'bad cert' });
    const disk = jobOutcome(failed, [pod({ exitCode: 13, message: 'no space left on device' })]);
    expect(disk).toMatchObject({
      state: 'failed',
      reason: 'STORAGE_QUOTA_EXCEEDED',
      message: 'no space left on device',
    });
    const unknown = jobOutcome(failed, [pod({ exitCode: 99 })]);
    expect(unknown).toMatchObject({
      state: 'failed',
      reason: 'SNAPSHOT_FAILED',
      message: 'agent exited with code 99',
    });
  });

  it('a reason the driver does not know is SNAPSHOT_FAILED with the agent word kept in the message', () => {
    const failed = job([{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }]);
    const result = (error: unknown) =>
      pod({ exitCode: 13, message: JSON.stringify({ operation: 'save', ok: false, error }) });
    expect(
      jobOutcome(failed, [result({ reason: 'FROM_A_NEWER_AGENT', message: 'what went wrong' })]),
    ).toMatchObject({
      state: 'failed',
      reason: 'SNAPSHOT_FAILED',
      message: 'FROM_A_NEWER_AGENT: what went wrong',
    });
    // Without a reason, the exit code tells it (13: disk full).
    expect(jobOutcome(failed, [result({ message: 'no reason given' })])).toMatchObject({
      state: 'failed',
      reason: 'STORAGE_QUOTA_EXCEEDED',
    });
  });

  it('a deadline is JOB_TIMEOUT; an image that cannot be pulled fails before the deadline', () => {
    expect(
      jobOutcome(job([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }]), []),
    ).toMatchObject({
      state: 'failed',
      reason: 'JOB_TIMEOUT',
      timedOut: true,
    });
    expect(jobOutcome(job(), [pod(undefined, 'ImagePullBackOff')])).toMatchObject({
      state: 'failed',
      reason: 'JOB_IMAGE_PULL_FAILED',
    });
    expect(jobOutcome(job(), [pod(undefined, 'ContainerCreating')])).toEqual({ state: 'running' });
  });
});

describe('verify', () => {
  const expected = { snapshotId: 'r', file: '/snapshots/r/snapshot.db' };
  it('accepts a complete, consistent result, an empty etcd’s (revision 0) too', () => {
    expect(checkSaveResult(JSON.parse(okSave('r')), expected).ok).toBe(true);
    expect(checkSaveResult({ ...JSON.parse(okSave('r')), revision: 0 }, expected).ok).toBe(true);
  });
  it.each([
    ['no result', undefined, 'no result'],
    ['no sha256', { ...JSON.parse(okSave('r')), sha256: undefined }, 'sha256'],
    ['empty file', { ...JSON.parse(okSave('r')), sizeBytes: 0 }, 'sizeBytes'],
    ['no revision', { ...JSON.parse(okSave('r')), revision: undefined }, 'revision'],
    ['a negative revision', { ...JSON.parse(okSave('r')), revision: -1 }, 'revision'],
    ['another snapshot', JSON.parse(okSave('other')), 'snapshot "other"'],
  ])('refuses %s', (_name, result, text) => {
    const check = checkSaveResult(result, expected);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toBe('SNAPSHOT_STATUS_FAILED');
    expect(!check.ok && check.message).toContain(text);
  });
});

describe('one save per cluster', () => {
  const at = (s: number) => `2026-01-01T00:00:${String(s).padStart(2, '0')}Z`;
  const withStatus = (r: EtcdSnapshot, status: EtcdSnapshot['status']): EtcdSnapshot => ({ ...r, status });

  it('the oldest waiting record goes first; ties by name', () => {
    const w = new FakeWorld();
    const a = w.addRecord('a', { created: at(2) });
    const b = w.addRecord('b', { created: at(1) });
    const c = w.addRecord('c', { created: at(1) });
    const peers = [a, b, c];
    expect(saveTurn({ self: b, peers, saveJobs: [], savePods: [] })).toEqual({ go: true });
    expect(saveTurn({ self: c, peers, saveJobs: [], savePods: [] })).toMatchObject({
      go: false,
      waitingFor: 'the older snapshot b',
    });
    expect(saveTurn({ self: a, peers, saveJobs: [], savePods: [] })).toMatchObject({ go: false });
  });

  it('a started save (intent written, Job unfinished or not yet cached) holds the cluster, whatever the age', () => {
    const w = new FakeWorld();
    const old = w.addRecord('old', { created: at(1) });
    const running = withStatus(w.addRecord('running', { created: at(5) }), {
      phase: 'Running',
      saveJob: 'snapshot-save-running',
    });
    expect(saveTurn({ self: old, peers: [old, running], saveJobs: [], savePods: [] })).toMatchObject({
      go: false,
      waitingFor: 'the save of running',
    });
    const finished: Job = {
      metadata: {
        name: 'snapshot-save-running',
        labels: { 'snapshot.etcd-snapshot-driver.io/snapshot-id': 'running' },
      },
      status: { conditions: [{ type: 'Complete', status: 'True' }] },
    };
    expect(saveTurn({ self: old, peers: [old, running], saveJobs: [finished], savePods: [] })).toEqual({
      go: true,
    });
  });

  it('terminal records do not hold it, but a save pod still running does', () => {
    const w = new FakeWorld();
    const me = w.addRecord('me', { created: at(9) });
    const done = withStatus(w.addRecord('done', { created: at(1) }), {
      phase: 'Ready',
      saveJob: 'snapshot-save-done',
    });
    const failed = withStatus(w.addRecord('failed', { created: at(2) }), {
      phase: 'Failed',
      saveJob: 'snapshot-save-failed',
    });
    expect(saveTurn({ self: me, peers: [me, done, failed], saveJobs: [], savePods: [] })).toEqual({
      go: true,
    });
    const stillRunning: Pod = {
      metadata: {
        name: 'snapshot-save-failed-x',
        labels: { 'snapshot.etcd-snapshot-driver.io/snapshot-id': 'failed' },
      },
      status: { phase: 'Running' },
    };
    expect(
      saveTurn({ self: me, peers: [me, done, failed], saveJobs: [], savePods: [stillRunning] }),
    ).toMatchObject({ go: false });
  });
});

describe('atomic group failure', () => {
  it('takes over the earliest own failure, never a taken-over one first', () => {
    const w = new FakeWorld();
    const me = w.addRecord('me', { group: 'g' });
    const ownLate = {
      ...w.addRecord('x', { group: 'g' }),
      status: {
        phase: 'Failed' as const,
        reason: 'ETCD_QUORUM_LOST' as const,
        message: 'q',
        finishedAt: at(5),
      },
    };
    const takenEarly = {
      ...w.addRecord('y', { group: 'g' }),
      status: {
        phase: 'Failed' as const,
        reason: 'ETCD_QUORUM_LOST' as const,
        message: 'q',
        finishedAt: at(1),
        failedWith: 'x',
      },
    };
    expect(groupFailure(me, [me, takenEarly, ownLate])).toEqual({
      failedWith: 'x',
      reason: 'ETCD_QUORUM_LOST',
      message: 'q',
    });
    expect(groupFailure(me, [me])).toBeUndefined();
  });
  const at = (s: number) => `2026-01-01T00:00:0${s}Z`;
});
