import { describe, expect, it } from 'vitest';
import { buildMemberJob, buildVerifyJob } from '../../../../src/reconcile/etcd-restore/jobs.ts';
import { resolveRestoreOptions } from '../../../../src/reconcile/etcd-restore/options.ts';
import { restoreTraceparent } from '../../../../src/reconcile/etcd-restore/tracing.ts';
import { ANNOTATION_TRACEPARENT, type EtcdRestore } from '../../../../src/records/etcd-restore.ts';
import { restrictedViolations } from '../jobs/pod-security.ts';

const options = resolveRestoreOptions({
  job: {
    agentImage: 'img',
    executorServiceAccount: 'sa',
    jobActiveDeadlineSeconds: 60,
    jobTtlSecondsAfterFinished: 60,
    resources: { requests: {}, limits: {} },
  },
});

const restore = (annotations?: Record<string, string>): EtcdRestore => ({
  metadata: {
    name: 'r1',
    namespace: 'etcd',
    uid: '0123abcd-4567-89ef-0123-456789abcdef',
    ...(annotations ? { annotations } : {}),
  },
  spec: { source: { etcdSnapshot: { name: 's' } }, target: { cluster: 'main' } },
  status: { snapshot: { record: 's', claimName: 'etcd-snapshots-main', path: 's/snapshot.db' } },
});

describe('restore Jobs', () => {
  it('every kind passes PodSecurity restricted and mounts only claims', () => {
    const r: EtcdRestore = {
      ...restore(),
      status: {
        ...restore().status,
        jobDataDir: '/var/lib/etcd-member/data',
        clusterToken: 't',
        revisionBump: 1e9,
        members: [{ name: 'main-0', peerUrl: 'http://main-0.main.etcd.svc:2380', dataClaim: 'data-main-0' }],
      },
    };
    const member = r.status!.members![0]!;
    const jobs = [
      buildVerifyJob(options, r),
      ...(['restore', 'rollback', 'drop'] as const).map((k) => buildMemberJob(options, r, k, member)),
    ];
    for (const job of jobs) expect(restrictedViolations(job), job.metadata?.name).toEqual([]);
    expect(jobs.map((j) => j.metadata?.name)).toEqual([
      'snapshot-restore-verify-r1',
      'snapshot-restore-r1-main-0',
      'snapshot-restore-r1-main-0-rollback',
      'snapshot-restore-r1-main-0-drop',
    ]);
    expect(jobs[3]!.spec?.template?.spec?.containers?.[0]?.args).toEqual([
      'agent',
      'restore',
      '--drop-previous',
      '--data-dir=/var/lib/etcd-member/data',
      `--uid=${r.metadata?.uid}`,
    ]);
  });
});

describe('one trace per restore', () => {
  it('is the CSI call’s when the restore carries its traceparent', () => {
    const tp = '00-11111111111111111111111111111111-2222222222222222-01';
    expect(restoreTraceparent(restore({ [ANNOTATION_TRACEPARENT]: tp }))).toBe(tp);
  });

  it('is otherwise derived from the uid, the same for every replica and every reconcile', () => {
    const a = restoreTraceparent(restore());
    expect(a).toMatch(/^00-0123abcd456789ef0123456789abcdef-[0-9a-f]{16}-01$/);
    expect(restoreTraceparent(restore())).toBe(a);
  });

  it('reaches the agent Jobs as TRACEPARENT', () => {
    const job = buildVerifyJob(options, restore());
    const env = job.spec?.template?.spec?.containers?.[0]?.env ?? [];
    expect(env).toContainEqual({ name: 'TRACEPARENT', value: restoreTraceparent(restore()) });
    expect(job.metadata?.labels?.['snapshot.etcd-snapshot-driver.io/restore']).toBe('r1');
  });
});
