import { describe, expect, it } from 'vitest';
import { informerKey } from '../../../src/informers/informer-factory.ts';
import {
  collectionPath,
  jobs,
  objectPath,
  persistentVolumes,
  pickServedVersion,
  pods,
  VOLUME_GROUP_SNAPSHOT_VERSIONS,
  volumeGroupSnapshotContents,
} from '../../../src/informers/resources.ts';
import { composeTransform, dropManagedFields } from '../../../src/informers/transform.ts';

describe('resource definitions', () => {
  it('builds core-group and named-group paths, all namespaces or one', () => {
    expect(collectionPath(pods)).toBe('/api/v1/pods');
    expect(collectionPath(pods, 'kube-system')).toBe('/api/v1/namespaces/kube-system/pods');
    expect(collectionPath(jobs, 'x')).toBe('/apis/batch/v1/namespaces/x/jobs');
    expect(objectPath(persistentVolumes, 'pv-1')).toBe('/api/v1/persistentvolumes/pv-1');
    expect(objectPath(jobs, 'j', 'ns')).toBe('/apis/batch/v1/namespaces/ns/jobs/j');
    expect(() => collectionPath(persistentVolumes, 'ns')).toThrow(/cluster-scoped/);
    expect(() => objectPath(jobs, 'j')).toThrow(/namespace is required/);
  });

  it('picks the newest served VolumeGroupSnapshot version', () => {
    const served = (...versions: string[]) => ({ versions: versions.map((version) => ({ version })) });
    expect(pickServedVersion(served('v1beta1'), VOLUME_GROUP_SNAPSHOT_VERSIONS)).toBe('v1beta1');
    expect(pickServedVersion(served('v1beta1', 'v1beta2'), VOLUME_GROUP_SNAPSHOT_VERSIONS)).toBe('v1beta2');
    expect(pickServedVersion(served('v1beta2', 'v1'), VOLUME_GROUP_SNAPSHOT_VERSIONS)).toBe('v1');
    expect(pickServedVersion(served('v1alpha1'), VOLUME_GROUP_SNAPSHOT_VERSIONS)).toBeUndefined();
    expect(pickServedVersion(undefined, VOLUME_GROUP_SNAPSHOT_VERSIONS)).toBeUndefined();
    expect(collectionPath(volumeGroupSnapshotContents('v1beta2'))).toBe(
      '/apis/groupsnapshot.storage.k8s.io/v1beta2/volumegroupsnapshotcontents',
    );
  });

  it('keys shared informers by resource and selectors', () => {
    expect(informerKey(jobs, {})).toBe('jobs.v1.batch');
    expect(
      informerKey(pods, { namespace: 'a', labelSelector: 'x=y', fieldSelector: 'spec.nodeName=n' }),
    ).toBe('pods.v1 ns=a labels=x=y fields=spec.nodeName=n');
  });

  it('drops managedFields and the last-applied annotation', () => {
    const obj = {
      metadata: {
        name: 'a',
        managedFields: [{ manager: 'kubectl' }],
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' },
      },
    };
    expect(dropManagedFields(obj)).toEqual({ metadata: { name: 'a', annotations: { keep: 'me' } } });
    const onlyLastApplied = {
      metadata: { name: 'b', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    };
    expect(dropManagedFields(onlyLastApplied)).toEqual({ metadata: { name: 'b' } });
  });

  it('caches of a Job what the reconcilers read: metadata, the deadline, conditions and counts', () => {
    const metadata = {
      name: 'save-1',
      namespace: 'etcd',
      uid: 'u',
      labels: { a: 'b' },
      ownerReferences: [{ apiVersion: 'v1alpha1', kind: 'EtcdSnapshot', name: 'snap', uid: 'o' }],
    };
    const failed = {
      type: 'Failed',
      status: 'True',
      reason: 'DeadlineExceeded',
      message: 'Job was active longer than specified deadline',
    };
    const at = '2026-01-01T00:00:00Z';
    const job = {
      metadata: { ...metadata, managedFields: [{}] },
      spec: {
        activeDeadlineSeconds: 600,
        backoffLimit: 0,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } },
        template: { spec: { containers: [{ name: 'agent', args: ['save'] }] } },
      },
      status: {
        conditions: [{ ...failed, lastProbeTime: at, lastTransitionTime: at }],
        startTime: at,
        failed: 1,
        terminating: 0,
        uncountedTerminatedPods: {},
      },
    };
    expect(composeTransform(jobs.transform)(job as never)).toEqual({
      metadata,
      spec: { activeDeadlineSeconds: 600 },
      status: { conditions: [failed], failed: 1 },
    });
  });

  it('caches a Job with neither a deadline nor a status as an empty spec and no status', () => {
    const job = { metadata: { name: 'save-2' }, spec: { template: {} } };
    expect(composeTransform(jobs.transform)(job as never)).toEqual({
      metadata: { name: 'save-2' },
      spec: {},
    });
  });
});
