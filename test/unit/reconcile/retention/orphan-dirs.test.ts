import { describe, expect, it } from 'vitest';
import { SWEEP_DIR_NAME } from '../../../../src/agent/contract.ts';
import { resolveRetentionOptions } from '../../../../src/reconcile/retention/options.ts';
import { confirmedOrphans, deletable, ownedDirs } from '../../../../src/reconcile/retention/orphan-dirs.ts';
import { buildSweepJob, sweepJobName } from '../../../../src/reconcile/retention/sweep-job.ts';
import { claim, DRIVER, record } from './fakes.ts';

describe('orphan directories', () => {
  it('owned dirs are the record directories of that claim only', () => {
    const other = record('x');
    other.spec.storage.claimName = 'etcd-snapshots-other';
    expect(ownedDirs([record('b'), record('a'), other], 'etcd-snapshots-main')).toEqual(['a', 'b']);
  });

  it('a directory is deletable only when the previous sweep found it unowned and it is still unowned', () => {
    expect(deletable(undefined, [])).toEqual([]);
    expect(deletable(['x', 'a'], ['a'])).toEqual(['x']);
    expect(confirmedOrphans(['x', 'a'], ['a'])).toEqual(['x']);
  });

  it('the sweep Job: deterministic name ≤ 63, restricted pod, owned by the claim, keep and delete lists', () => {
    expect(sweepJobName('etcd-snapshots-main')).toBe('snapshot-sweep-etcd-snapshots-main');
    const long = sweepJobName(`etcd-snapshots-${'x'.repeat(80)}`);
    expect(long.length).toBeLessThanOrEqual(63);
    const options = resolveRetentionOptions({
      driverName: DRIVER,
      orphanFileMinAgeSeconds: 30,
      job: {
        agentImage: 'img',
        executorServiceAccount: 'sa',
        jobActiveDeadlineSeconds: 60,
        jobTtlSecondsAfterFinished: 60,
        resources: { requests: {}, limits: {} },
      },
    });
    const job = buildSweepJob(options, {
      claim: claim(),
      clusterName: 'main',
      keep: ['a', 'b'],
      delete: ['x'],
    });
    const pod = job.spec!.template.spec!;
    expect(pod.containers[0]!.args).toEqual([
      'agent',
      'sweep',
      '--root=/snapshots',
      '--keep=a,b',
      '--delete=x',
      '--min-age-seconds=30',
    ]);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.containers[0]!.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.volumes).toEqual([
      { name: 'snapshots', persistentVolumeClaim: { claimName: 'etcd-snapshots-main' } },
    ]);
    expect(job.metadata!.ownerReferences![0]).toMatchObject({
      kind: 'PersistentVolumeClaim',
      uid: 'uid-etcd-snapshots-main',
    });
    expect(job.metadata!.labels).toMatchObject({
      'snapshot.etcd-snapshot-driver.io/operation': 'sweep',
      'snapshot.etcd-snapshot-driver.io/cluster': 'main',
    });
    expect(SWEEP_DIR_NAME.test('snap-1.x_y')).toBe(true);
  });
});
