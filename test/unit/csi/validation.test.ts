import { describe, expect, it } from 'vitest';
import { CsiError } from '../../../src/csi/errors.ts';
import {
  capacityFits,
  parseCapacity,
  parseParameters,
  requireCapabilities,
  requireName,
} from '../../../src/csi/validation.ts';

function reasonOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CsiError) return err.reason;
    throw err;
  }
  return undefined;
}

describe('parameters', () => {
  it('accepts every schema key with valid values', () => {
    const parsed = parseParameters({
      'etcd-namespace': 'etcd',
      'etcd-cluster-name': 'main_cluster.1',
      'snapshot-timeout': '60',
      'storage-class': 'fast.ssd',
      'snapshot-label': 'app=etcd,tier!=test,ready',
      'retention-days': '3650',
    });
    expect(parsed.values).toEqual({
      etcdNamespace: 'etcd',
      etcdClusterName: 'main_cluster.1',
      snapshotTimeoutSeconds: 60,
      storageClass: 'fast.ssd',
      snapshotLabel: 'app=etcd,tier!=test,ready',
      retentionDays: 3650,
    });
  });

  it('strips and keeps the csi.storage.k8s.io/* keys of --extra-create-metadata', () => {
    const parsed = parseParameters({
      'csi.storage.k8s.io/pvc/name': 'data',
      'csi.storage.k8s.io/pvc/namespace': 'etcd',
      'csi.storage.k8s.io/volumesnapshot/name': 'snap',
      'retention-days': '7',
    });
    expect(parsed.own).toEqual({ 'retention-days': '7' });
    expect(parsed.metadata).toEqual({
      'pvc/name': 'data',
      'pvc/namespace': 'etcd',
      'volumesnapshot/name': 'snap',
    });
  });

  it('refuses unknown keys, naming all of them', () => {
    try {
      parseParameters({ zeta: '1', alpha: '2', 'etcd-namespace': 'x' });
      expect.unreachable();
    } catch (err) {
      expect((err as CsiError).reason).toBe('UNKNOWN_PARAMETER');
      expect((err as CsiError).message).toContain('"alpha", "zeta"');
    }
  });

  it.each([
    ['snapshot-timeout', '59'],
    ['snapshot-timeout', '3601'],
    ['snapshot-timeout', '300s'],
    ['snapshot-timeout', '-100'],
    ['retention-days', '0'],
    ['retention-days', '3651'],
    ['retention-days', '1.5'],
    ['etcd-namespace', 'Not_A_Namespace'],
    ['etcd-cluster-name', 'has space'],
    ['storage-class', 'UPPER'],
    ['snapshot-label', 'a=b,,c'],
    ['snapshot-label', 'bad key!=x'],
  ])('refuses %s=%j', (key, value) => {
    expect(reasonOf(() => parseParameters({ [key]: value }))).toBe('INVALID_PARAMETER');
  });

  it.each([
    ['snapshot-timeout', '3600'],
    ['retention-days', '1'],
  ])('accepts the bound %s=%s', (key, value) => {
    expect(reasonOf(() => parseParameters({ [key]: value }))).toBeUndefined();
  });

  it('limits the number and size of parameters', () => {
    const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`csi.storage.k8s.io/k${i}`, 'v']));
    expect(reasonOf(() => parseParameters(many))).toBe('PARAMETERS_TOO_LARGE');
    expect(reasonOf(() => parseParameters({ 'csi.storage.k8s.io/x': 'v'.repeat(5000) }))).toBe(
      'PARAMETERS_TOO_LARGE',
    );
  });
});

describe('names, capabilities, capacity', () => {
  it('requires a name of at most 128 bytes', () => {
    expect(reasonOf(() => requireName(''))).toBe('MISSING_NAME');
    expect(reasonOf(() => requireName(undefined))).toBe('MISSING_NAME');
    expect(reasonOf(() => requireName('a'.repeat(128)))).toBeUndefined();
    expect(reasonOf(() => requireName('a'.repeat(129)))).toBe('NAME_TOO_LONG');
    expect(reasonOf(() => requireName('é'.repeat(65)))).toBe('NAME_TOO_LONG');
  });

  it('requires well-formed capabilities', () => {
    expect(reasonOf(() => requireCapabilities([]))).toBe('MISSING_VOLUME_CAPABILITIES');
    expect(reasonOf(() => requireCapabilities(undefined))).toBe('MISSING_VOLUME_CAPABILITIES');
    expect(reasonOf(() => requireCapabilities([{ access_mode: { mode: 'SINGLE_NODE_WRITER' } }]))).toBe(
      'INVALID_VOLUME_CAPABILITY',
    );
    expect(reasonOf(() => requireCapabilities([{ mount: {}, access_mode: { mode: 'UNKNOWN' } }]))).toBe(
      'INVALID_VOLUME_CAPABILITY',
    );
    expect(reasonOf(() => requireCapabilities([{ mount: {}, access_mode: null }]))).toBe(
      'INVALID_VOLUME_CAPABILITY',
    );
    expect(
      reasonOf(() =>
        requireCapabilities([
          { block: {}, access_type: 'block', access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } },
          { mount: {}, access_type: 'mount', access_mode: { mode: 'SINGLE_NODE_READER_ONLY' } },
        ]),
      ),
    ).toBeUndefined();
  });

  it('checks capacity ranges and whether an existing volume fits one', () => {
    expect(parseCapacity(null)).toEqual({ requiredBytes: 0, limitBytes: 0 });
    expect(parseCapacity({ required_bytes: 10, limit_bytes: 20 })).toEqual({
      requiredBytes: 10,
      limitBytes: 20,
    });
    expect(reasonOf(() => parseCapacity({ required_bytes: 20, limit_bytes: 10 }))).toBe(
      'INVALID_CAPACITY_RANGE',
    );
    expect(reasonOf(() => parseCapacity({ required_bytes: -1 }))).toBe('INVALID_CAPACITY_RANGE');
    expect(capacityFits(10, { requiredBytes: 10, limitBytes: 10 })).toBe(true);
    expect(capacityFits(10, { requiredBytes: 20, limitBytes: 20 })).toBe(false);
    expect(capacityFits(10, { requiredBytes: 0, limitBytes: 5 })).toBe(false);
    expect(capacityFits(10, { requiredBytes: 0, limitBytes: 0 })).toBe(true);
  });
});
