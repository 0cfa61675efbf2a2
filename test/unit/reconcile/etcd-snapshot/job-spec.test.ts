import { describe, expect, it } from 'vitest';
import { CREDENTIALS_MOUNT_PATH, SNAPSHOT_MOUNT_PATH } from '../../../../src/agent/contract.ts';
import { buildDeleteJob, buildSaveJob } from '../../../../src/reconcile/etcd-snapshot/job-spec.ts';
import { resolvePipelineOptions } from '../../../../src/reconcile/etcd-snapshot/options.ts';
import {
  buildSnapshotClaim,
  claimSize,
  minFreeBytes,
} from '../../../../src/reconcile/snapshot-records/claim-spec.ts';
import { jobName } from '../../../../src/reconcile/snapshot-records/names.ts';
import { restrictedViolations } from '../jobs/pod-security.ts';
import { FakeWorld } from './fakes.ts';

const options = resolvePipelineOptions({
  agentImage: 'ghcr.io/etcd-snapshot-driver/etcd-snapshot-driver:dev',
  executorServiceAccount: 'etcd-snapshot-executor',
  defaultStorageClass: 'standard',
  jobActiveDeadlineSeconds: 900,
});

describe('agent Jobs', () => {
  const world = new FakeWorld();
  const record = world.addRecord('main-abc', { secret: 'main-client-tls' });

  it('save Job passes PodSecurity restricted and is read-only, non-root, token-less', () => {
    const job = buildSaveJob(options, { record, endpoints: ['http://10.0.0.2:2379'], minFreeBytes: 100 });
    expect(restrictedViolations(job)).toEqual([]);
    const pod = job.spec!.template.spec!;
    const container = pod.containers[0]!;
    expect(container.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container.securityContext?.runAsUser).toBe(65532);
    expect(pod.securityContext?.fsGroup).toBe(65532);
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe('etcd-snapshot-executor');
    expect(pod.restartPolicy).toBe('Never');
    expect(container.terminationMessagePolicy).toBe('FallbackToLogsOnError');
    expect(container.resources?.limits).toBeDefined();
    expect(container.resources?.requests).toBeDefined();
  });

  it('save Job: deterministic name, labels, owner, args per contract, secret mounted read-only at 0440', () => {
    const job = buildSaveJob(options, {
      record,
      endpoints: ['http://10.0.0.2:2379', 'http://10.0.0.1:2379'],
      minFreeBytes: 1234,
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(job.metadata?.name).toBe('snapshot-save-main-abc');
    expect(job.metadata?.namespace).toBe('etcd');
    expect(job.metadata?.labels).toMatchObject({
      app: 'etcd-snapshot-driver',
      'snapshot.etcd-snapshot-driver.io/snapshot-id': 'main-abc',
      'snapshot.etcd-snapshot-driver.io/operation': 'save',
    });
    expect(job.spec?.template.metadata?.labels).toEqual(job.metadata?.labels);
    expect(job.metadata?.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'EtcdSnapshot',
        name: 'main-abc',
        uid: 'uid-main-abc',
        controller: true,
        blockOwnerDeletion: true,
      }),
    ]);
    const c = job.spec!.template.spec!.containers[0]!;
    expect(c.image).toBe(options.agentImage);
    expect(c.command).toBeUndefined();
    expect(c.args).toEqual([
      'agent',
      'save',
      '--endpoints=http://10.0.0.2:2379,http://10.0.0.1:2379',
      `--file=${SNAPSHOT_MOUNT_PATH}/main-abc/snapshot.db`,
      '--snapshot-id=main-abc',
      `--credentials-dir=${CREDENTIALS_MOUNT_PATH}`,
      '--credentials-secret=etcd/main-client-tls',
      '--min-free-bytes=1234',
      '--dial-timeout=5',
    ]);
    expect(c.env).toEqual([
      { name: 'TRACEPARENT', value: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    ]);
    // Credentials reach the pod only as a mounted Secret: nothing of them in env or args.
    expect(JSON.stringify(c.env)).not.toMatch(/tls|password/i);
    expect(c.volumeMounts).toContainEqual({
      name: 'credentials',
      mountPath: CREDENTIALS_MOUNT_PATH,
      readOnly: true,
    });
    const volumes = job.spec!.template.spec!.volumes!;
    expect(volumes).toContainEqual({
      name: 'credentials',
      secret: { secretName: 'main-client-tls', defaultMode: 0o440 },
    });
    expect(volumes).toContainEqual({
      name: 'snapshots',
      persistentVolumeClaim: { claimName: 'etcd-snapshots-main' },
    });
    expect(job.spec?.backoffLimit).toBe(options.jobBackoffLimit);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(options.jobTtlSecondsAfterFinished);
    // The record's 300 s timeout bounds the option's 900 s.
    expect(job.spec?.activeDeadlineSeconds).toBe(300);
  });

  it('save Job with etcd-druid’s CA Secret: one projected directory, the key pair from the one, ca.crt from the other', () => {
    const druid = structuredClone(record);
    druid.spec.cluster.caSecret = { name: 'main-ca', key: 'bundle.crt' };
    const job = buildSaveJob(options, { record: druid, endpoints: ['https://10.0.0.2:2379'] });
    expect(restrictedViolations(job)).toEqual([]);
    expect(job.spec!.template.spec!.volumes).toContainEqual({
      name: 'credentials',
      projected: {
        defaultMode: 0o440,
        sources: [
          {
            secret: {
              name: 'main-client-tls',
              items: [
                { key: 'tls.crt', path: 'tls.crt' },
                { key: 'tls.key', path: 'tls.key' },
              ],
            },
          },
          { secret: { name: 'main-ca', items: [{ key: 'bundle.crt', path: 'ca.crt' }] } },
        ],
      },
    });
    const args = job.spec!.template.spec!.containers[0]!.args!;
    expect(args).toContain(`--credentials-dir=${CREDENTIALS_MOUNT_PATH}`);
    expect(args).toContain('--credentials-secret=etcd/main-client-tls');
    expect(args).toContain('--ca-secret=etcd/main-ca:bundle.crt');
  });

  it('save Job tells the agent where to export its spans (agentTracing), only when it has a trace', () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const env = (
      agentTracing: Parameters<typeof resolvePipelineOptions>[0]['agentTracing'],
      traceparent?: string,
    ) =>
      buildSaveJob(resolvePipelineOptions({ ...options, ...(agentTracing ? { agentTracing } : {}) }), {
        record,
        endpoints: ['http://10.0.0.2:2379'],
        ...(traceparent ? { traceparent } : {}),
      }).spec!.template.spec!.containers[0]!.env;
    expect(env({ exporter: 'otlp', endpoint: 'http://otel-collector:4318' }, tp)).toEqual([
      { name: 'TRACEPARENT', value: tp },
      { name: 'OTEL_TRACES_EXPORTER', value: 'otlp' },
      { name: 'OTEL_EXPORTER_OTLP_ENDPOINT', value: 'http://otel-collector:4318' },
    ]);
    expect(env({ exporter: 'jaeger', endpoint: 'http://jaeger:14268/api/traces' }, tp)).toEqual([
      { name: 'TRACEPARENT', value: tp },
      { name: 'OTEL_TRACES_EXPORTER', value: 'jaeger' },
      { name: 'OTEL_EXPORTER_JAEGER_ENDPOINT', value: 'http://jaeger:14268/api/traces' },
    ]);
    // The driver does not trace: nothing for the agent either.
    expect(env({ exporter: 'none' }, tp)).toEqual([]);
    expect(env({ exporter: 'otlp', endpoint: 'http://otel-collector:4318' })).toEqual([]);
  });

  it('delete Job removes the record’s directory, mounts no credentials, passes restricted', () => {
    const job = buildDeleteJob(options, record, 'main-abc');
    expect(job.metadata?.name).toBe('snapshot-delete-main-abc');
    expect(job.metadata?.labels?.['snapshot.etcd-snapshot-driver.io/operation']).toBe('delete');
    expect(job.spec!.template.spec!.containers[0]!.args).toEqual([
      'agent',
      'delete',
      `--dir=${SNAPSHOT_MOUNT_PATH}/main-abc`,
    ]);
    expect(job.spec!.template.spec!.volumes!.map((v) => v.name)).toEqual(['snapshots']);
    expect(restrictedViolations(job)).toEqual([]);
  });

  it('Job names stay within 63 characters and distinct for long record names', () => {
    const a = jobName('delete', `x${'a'.repeat(60)}`);
    const b = jobName('delete', `y${'a'.repeat(60)}`);
    expect(a.length).toBeLessThanOrEqual(63);
    expect(b.length).toBeLessThanOrEqual(63);
    expect(a).not.toBe(b);
    expect(jobName('save', 'short')).toBe('snapshot-save-short');
  });
});

describe('snapshot claim', () => {
  it('is sized from the option, else max(1Gi, db × 3 × 1.2) in whole Gi', () => {
    expect(claimSize('5Gi', 10)).toBe('5Gi');
    expect(claimSize(undefined, undefined)).toBe('1Gi');
    expect(claimSize(undefined, 1024)).toBe('1Gi');
    expect(claimSize(undefined, 1024 ** 3)).toBe('4Gi'); // 3.6 Gi rounded up
    expect(minFreeBytes(1000)).toBe(1200);
  });

  it('has the record’s claim name, class, labels and no owner (it outlives records)', () => {
    const world = new FakeWorld();
    const claim = buildSnapshotClaim(world.addRecord('r1'), '2Gi', 'fallback');
    expect(claim.metadata).toEqual({
      name: 'etcd-snapshots-main',
      namespace: 'etcd',
      labels: { app: 'etcd-snapshot-driver', 'snapshot.etcd-snapshot-driver.io/cluster': 'main' },
    });
    expect(claim.spec?.storageClassName).toBe('standard');
    expect(claim.spec?.resources?.requests).toEqual({ storage: '2Gi' });
  });
});
