// The class parameters of off-cluster copies: each key checked alone, then together with the
// driver's default store, and the record holding the Secrets' names only.
import { describe, expect, it } from 'vitest';
import { CsiError } from '../../../src/csi/errors.ts';
import type { CreateSnapshotResponse } from '../../../src/csi/messages.ts';
import { remoteSpec } from '../../../src/csi/remote-parameters.ts';
import { parseParameters } from '../../../src/csi/validation.ts';
import type { EtcdSnapshot } from '../../../src/records/etcd-snapshot.ts';
import { addClaim, addEtcdCluster, world } from './fakes.ts';

function refusal(fn: () => unknown): { reason: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof CsiError) return { reason: err.reason, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

const spec = (parameters: Record<string, string>, defaultStore?: string) => {
  const parsed = parseParameters(parameters);
  return remoteSpec(parsed.values, parsed.own, defaultStore);
};

describe('object store parameters', () => {
  it('names no store without the parameter or a default', () => {
    expect(spec({})).toBeUndefined();
  });

  it('defaults to zstd level 1 and required; the class parameter overrides the driver default', () => {
    expect(spec({}, 'store-default')).toEqual({
      secretName: 'store-default',
      compression: 'zstd',
      compressionLevel: 1,
      mode: 'required',
    });
    expect(
      spec(
        {
          'object-store-secret': 'store-a',
          compression: 'gzip',
          'compression-level': '9',
          'encryption-key-secret': 'key-a',
          remote: 'best-effort',
        },
        'store-default',
      ),
    ).toEqual({
      secretName: 'store-a',
      compression: 'gzip',
      compressionLevel: 9,
      encryptionKeySecret: 'key-a',
      mode: 'best-effort',
    });
    expect(spec({ compression: 'none' }, 's')).toEqual({
      secretName: 's',
      compression: 'none',
      mode: 'required',
    });
  });

  it.each([
    [{ 'object-store-secret': 'Not_A_Name' }, 'object-store-secret', 'Not_A_Name'],
    [{ 'encryption-key-secret': '-x' }, 'encryption-key-secret', '-x'],
    [{ compression: 'lz4' }, 'compression', 'lz4'],
    [{ 'compression-level': 'high' }, 'compression-level', 'high'],
    [{ remote: 'maybe' }, 'remote', 'maybe'],
  ])('refuses %o with INVALID_PARAMETER naming key and value', (parameters, key, value) => {
    const { reason, message } = refusal(() => spec(parameters, 's'));
    expect(reason).toBe('INVALID_PARAMETER');
    expect(message).toContain(`"${key}"="${value}"`);
  });

  it('refuses a level outside the compression’s range, and a level without compression', () => {
    expect(refusal(() => spec({ 'compression-level': '20' }, 's')).message).toMatch(
      /"compression-level"="20".*zstd level 20 is not in \[1, 19\]/,
    );
    expect(refusal(() => spec({ compression: 'gzip', 'compression-level': '10' }, 's')).reason).toBe(
      'INVALID_PARAMETER',
    );
    expect(refusal(() => spec({ compression: 'none', 'compression-level': '3' }, 's')).message).toMatch(
      /needs a compression/,
    );
  });

  it('refuses copy parameters when no store is named anywhere', () => {
    const { reason, message } = refusal(() => spec({ remote: 'best-effort' }));
    expect(reason).toBe('INVALID_PARAMETER');
    expect(message).toMatch(
      /"remote"="best-effort" needs an object store: set parameter object-store-secret/,
    );
  });

  it('bounds a long value it quotes', () => {
    const { message } = refusal(() => spec({ compression: 'z'.repeat(2000) }, 's'));
    expect(message.length).toBeLessThan(400);
  });

  it('CreateSnapshot writes the store by Secret name into the record; a bad value writes nothing', async () => {
    const w = world();
    addEtcdCluster(w, 'main', 'etcd');
    const volume = addClaim(w, 'data', { namespace: 'etcd', cluster: 'main' });
    const create = (name: string, parameters: Record<string, string>) =>
      w.call<CreateSnapshotResponse>('Controller', 'CreateSnapshot', {
        name,
        source_volume_id: volume,
        parameters,
      });
    await expect(create('bad', { remote: 'best-effort' })).rejects.toMatchObject({
      reason: 'INVALID_PARAMETER',
    });
    expect(w.snapshotsApi.objects.size).toBe(0);
    await create('good', { 'object-store-secret': 'store', 'encryption-key-secret': 'key' });
    const [record] = [...w.snapshotsApi.objects.values()] as EtcdSnapshot[];
    expect(record!.spec.objectStore).toEqual({
      secretName: 'store',
      compression: 'zstd',
      compressionLevel: 1,
      encryptionKeySecret: 'key',
      mode: 'required',
    });
  });
});
