// Which claims and volumes the driver caches: the ones it manages, none of the cluster's others.
import { describe, expect, it } from 'vitest';
import {
  isManagedClaim,
  isManagedVolume,
  managedStorageResources,
} from '../../../src/app/managed-objects.ts';
import type { PersistentVolumeClaim } from '../../../src/informers/resources.ts';

const DRIVER = 'etcd-snapshot.example.io';

function claim(
  labels: Record<string, string> = {},
  annotations: Record<string, string> = {},
): PersistentVolumeClaim {
  return { metadata: { name: 'c', namespace: 'ns', labels, annotations } };
}

describe('isManagedClaim', () => {
  it.each([
    ['a snapshot claim of the driver', claim({ app: 'etcd-snapshot-driver' })],
    ['an etcd member data claim (discovery label)', claim({ 'etcd.io/cluster': 'main' })],
    ['an etcd-druid data claim', claim({ 'app.kubernetes.io/managed-by': 'etcd-druid' })],
    ['a claim naming its cluster by annotation', claim({}, { 'etcd.io/cluster': 'main' })],
    ['a claim naming endpoints', claim({}, { 'etcd.io/endpoints': 'http://10.0.0.1:2379' })],
    ['a claim provisioned by the driver', claim({}, { 'volume.kubernetes.io/storage-provisioner': DRIVER })],
    [
      'a claim of the older provisioner key',
      claim({}, { 'volume.beta.kubernetes.io/storage-provisioner': DRIVER }),
    ],
  ])('keeps %s', (_, c) => {
    expect(isManagedClaim(c, DRIVER)).toBe(true);
  });

  it.each([
    ['an unlabelled claim', claim()],
    [
      'a claim of another provisioner',
      claim({}, { 'volume.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' }),
    ],
    ['a claim of another app', claim({ app: 'postgres' }, { 'example.io/x': 'y' })],
  ])('drops %s', (_, c) => {
    expect(isManagedClaim(c, DRIVER)).toBe(false);
  });
});

describe('isManagedVolume', () => {
  it('keeps the driver’s volumes only', () => {
    expect(isManagedVolume({ spec: { csi: { driver: DRIVER, volumeHandle: 'h' } } }, DRIVER)).toBe(true);
    expect(isManagedVolume({ spec: { csi: { driver: 'other', volumeHandle: 'h' } } }, DRIVER)).toBe(false);
    expect(isManagedVolume({ spec: { hostPath: { path: '/x' } } }, DRIVER)).toBe(false);
  });
});

describe('managedStorageResources', () => {
  it('puts the rules on the claim and volume definitions', () => {
    const { claims, volumes } = managedStorageResources(DRIVER);
    expect(claims.plural).toBe('persistentvolumeclaims');
    expect(claims.keep?.(claim({ 'etcd.io/cluster': 'main' }))).toBe(true);
    expect(claims.keep?.(claim())).toBe(false);
    expect(volumes.keep?.({ spec: { csi: { driver: DRIVER, volumeHandle: 'h' } } })).toBe(true);
  });
});
