// The class parameters of off-cluster copies (docs/object-store.md): which store Secret, how the
// copy is compressed and encrypted, and whether Ready waits for it. Each key is checked alone by
// validation.ts's rules; remoteSpec checks them together against the driver's default store, so
// a request is refused before any record or claim is written.

import { compressionLevel, isCompression } from '../objectstore/codec.ts';
import type { ObjectStoreRef } from '../records/etcd-snapshot.ts';
import { CsiError } from './errors.ts';
import { isDnsSubdomain } from './ids.ts';
import { echo } from './limits.ts';

export const PARAM_OBJECT_STORE = 'object-store-secret';
export const PARAM_COMPRESSION = 'compression';
export const PARAM_COMPRESSION_LEVEL = 'compression-level';
export const PARAM_ENCRYPTION_KEY = 'encryption-key-secret';
export const PARAM_REMOTE = 'remote';

export interface RemoteParameters {
  objectStoreSecret?: string;
  compression?: ObjectStoreRef['compression'];
  compressionLevel?: number;
  encryptionKeySecret?: string;
  remote?: ObjectStoreRef['mode'];
}

const invalid = (key: string, value: string, what: string) =>
  new CsiError('INVALID_PARAMETER', `parameter ${echo(key)}=${echo(value)} ${what}`);

const secretName = (field: 'objectStoreSecret' | 'encryptionKeySecret') => (value: string, key: string) => {
  if (!isDnsSubdomain(value)) throw invalid(key, value, 'is not a Secret name');
  return { [field]: value };
};

/** One rule per key, merged into validation.ts's schema. */
export const REMOTE_RULES: Record<string, (value: string, key: string) => RemoteParameters> = {
  [PARAM_OBJECT_STORE]: secretName('objectStoreSecret'),
  [PARAM_ENCRYPTION_KEY]: secretName('encryptionKeySecret'),
  [PARAM_COMPRESSION]: (value, key) => {
    if (!isCompression(value)) throw invalid(key, value, 'is not one of none, zstd, gzip');
    return { compression: value };
  },
  [PARAM_COMPRESSION_LEVEL]: (value, key) => {
    if (!/^\d{1,2}$/.test(value)) throw invalid(key, value, 'is not a whole number from 1 to 19');
    return { compressionLevel: Number(value) };
  },
  [PARAM_REMOTE]: (value, key) => {
    if (value !== 'required' && value !== 'best-effort')
      throw invalid(key, value, 'is not required or best-effort');
    return { remote: value };
  },
};

/** The compression of a copy whose class names none: zstd, about 5× smaller on Kubernetes-like data (docs/object-store.md, "Figures"). */
const DEFAULT_COMPRESSION = 'zstd';

/**
 * The record's objectStore from the parameters and the driver's default store Secret; undefined
 * when neither names a store. A copy parameter without any store is refused: it would be ignored.
 */
export function remoteSpec(
  values: RemoteParameters,
  own: Readonly<Record<string, string>>,
  defaultStoreSecret: string | undefined,
): ObjectStoreRef | undefined {
  const secretName = values.objectStoreSecret ?? defaultStoreSecret;
  if (secretName === undefined) {
    const orphan = [PARAM_COMPRESSION, PARAM_COMPRESSION_LEVEL, PARAM_ENCRYPTION_KEY, PARAM_REMOTE].find(
      (k) => Object.hasOwn(own, k),
    );
    if (orphan !== undefined) {
      throw invalid(
        orphan,
        own[orphan] ?? '',
        `needs an object store: set parameter ${PARAM_OBJECT_STORE} or the driver's --object-store-secret`,
      );
    }
    return undefined;
  }
  const compression = values.compression ?? DEFAULT_COMPRESSION;
  let level: number | undefined;
  try {
    level = compressionLevel(compression, values.compressionLevel);
  } catch (err) {
    throw invalid(
      PARAM_COMPRESSION_LEVEL,
      own[PARAM_COMPRESSION_LEVEL] ?? '',
      `is refused: ${(err as Error).message}`,
    );
  }
  const ref: ObjectStoreRef = { secretName, compression, mode: values.remote ?? 'required' };
  if (level !== undefined) ref.compressionLevel = level;
  if (values.encryptionKeySecret !== undefined) ref.encryptionKeySecret = values.encryptionKeySecret;
  return ref;
}
