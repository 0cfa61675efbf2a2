import { describe, expect, it } from 'vitest';
import { DATA_MOUNT_PATH, SNAPSHOT_MOUNT_PATH } from '../../../../src/agent/contract.ts';
import { AGENT_UID, type AgentJobOptions, buildAgentJob } from '../../../../src/reconcile/jobs/agent-job.ts';
import { claimMount, credentialsMount, secretMount } from '../../../../src/reconcile/jobs/mounts.ts';
import { restrictedViolations } from './pod-security.ts';

const options: AgentJobOptions = {
  agentImage: 'img:dev',
  executorServiceAccount: 'executor',
  jobBackoffLimit: 2,
  jobActiveDeadlineSeconds: 600,
  jobTtlSecondsAfterFinished: 3600,
  resources: { requests: { cpu: '100m' }, limits: { cpu: '1' } },
  agentTracing: { exporter: 'otlp', endpoint: 'http://collector:4318' },
};

const restoreOwner = {
  apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
  kind: 'EtcdRestore',
  name: 'main-restore',
  uid: 'uid-restore',
  controller: true,
};

describe('the agent Job template', () => {
  it('a restore Job is a few lines: two claims, an EtcdRestore owner, restricted, non-root', () => {
    const job = buildAgentJob(options, {
      name: 'restore-main-0',
      namespace: 'etcd',
      labels: { app: 'etcd-snapshot-driver' },
      owner: restoreOwner,
      args: ['agent', 'restore'],
      mounts: [
        claimMount('data', 'data-main-0', DATA_MOUNT_PATH),
        claimMount('snapshots', 'etcd-snapshots-main', SNAPSHOT_MOUNT_PATH),
      ],
    });
    expect(restrictedViolations(job)).toEqual([]);
    const pod = job.spec!.template.spec!;
    expect(pod.volumes).toEqual([
      { name: 'data', persistentVolumeClaim: { claimName: 'data-main-0' } },
      { name: 'snapshots', persistentVolumeClaim: { claimName: 'etcd-snapshots-main' } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'data', mountPath: DATA_MOUNT_PATH },
      { name: 'snapshots', mountPath: SNAPSHOT_MOUNT_PATH },
    ]);
    expect(job.metadata!.ownerReferences).toEqual([
      { ...restoreOwner, controller: true, blockOwnerDeletion: true },
    ]);
    expect(pod.securityContext).toMatchObject({ runAsUser: AGENT_UID, fsGroup: AGENT_UID });
    expect(job.spec).toMatchObject({
      backoffLimit: 2,
      activeDeadlineSeconds: 600,
      ttlSecondsAfterFinished: 3600,
    });
    expect(job.spec!.template.metadata!.labels).toEqual(job.metadata!.labels);
  });

  it('an upload Job mounts the store Secret read-only at 0440; env and tracing env in that order', () => {
    const job = buildAgentJob(options, {
      name: 'upload-x',
      namespace: 'etcd',
      labels: {},
      owner: { ...restoreOwner, kind: 'EtcdSnapshotCopy', controller: false },
      args: ['agent', 'upload'],
      mounts: [secretMount('store', 'bucket-creds', '/etc/store')],
      env: [{ name: 'STORE_BUCKET', value: 'b' }],
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      activeDeadlineSeconds: 60,
      backoffLimit: 0,
    });
    expect(restrictedViolations(job)).toEqual([]);
    const pod = job.spec!.template.spec!;
    expect(pod.volumes).toEqual([
      { name: 'store', secret: { secretName: 'bucket-creds', defaultMode: 0o440 } },
    ]);
    expect(pod.containers[0]!.volumeMounts).toEqual([
      { name: 'store', mountPath: '/etc/store', readOnly: true },
    ]);
    expect(pod.containers[0]!.env?.map((e) => e.name)).toEqual([
      'STORE_BUCKET',
      'TRACEPARENT',
      'OTEL_TRACES_EXPORTER',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
    ]);
    // Not the controller: no blockOwnerDeletion either.
    expect(job.metadata!.ownerReferences![0]).not.toHaveProperty('controller');
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 60 });
  });

  it('the etcd credentials with a separate CA Secret are one projected read-only directory', () => {
    const mount = credentialsMount('credentials', 'tls', { name: 'ca', key: 'bundle.crt' }, '/c');
    expect(mount.readOnly).toBe(true);
    expect(mount.volume.projected?.sources?.map((s) => s.secret?.name)).toEqual(['tls', 'ca']);
    expect(credentialsMount('credentials', 'tls', undefined, '/c')).toEqual(
      secretMount('credentials', 'tls', '/c'),
    );
  });
});
