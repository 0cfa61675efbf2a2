// Whether a restore must fetch a remote copy first, and from where to where (pure). Two sources
// have no local file: `spec.source.objectStore` (a copy named by its place in the layout) and an
// imported record (made from a manifest after a disaster: `spec.imported`, `status.remote`). The
// copy is fetched into a snapshot claim — the record's own place, or for a copy named by location
// `restore-<restore>/snapshot.db` in the target cluster's snapshot claim — and verified there
// before any later phase reads it.
import { SNAPSHOT_FILE_NAME } from '../../agent/contract.ts';
import { checkLocation, LocationError } from '../../objectstore/layout.ts';
import type { EtcdRestore, EtcdRestoreFetchStatus } from '../../records/etcd-restore.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import { fail, type StepFailure } from '../step.ts';
import { fetchJobName } from './jobs.ts';

/** A Kubernetes object name (DNS-1123 subdomain, as Secrets and claims are named). */
const NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;
const LABEL_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export type FetchPlan = Omit<EtcdRestoreFetchStatus, 'fetched'>;

const invalid = (field: string, problem: string) =>
  fail('RESTORE_INVALID_SPEC', `spec.source.objectStore.${field} ${problem}`);

/** `spec.source.objectStore` → the fetch it asks for, or the field that is wrong. */
export function objectStorePlan(restore: EtcdRestore): FetchPlan | StepFailure {
  const source = restore.spec.source.objectStore!;
  const namespace = restore.metadata?.namespace ?? '';
  const restoreName = restore.metadata?.name ?? '';
  for (const field of ['secretName', 'encryptionKeySecret', 'claimName'] as const) {
    const v = source[field];
    if (v !== undefined && !NAME.test(v))
      return invalid(field, `${JSON.stringify(v.slice(0, 100))} is not a Kubernetes object name`);
  }
  if (!source.secretName) return invalid('secretName', 'is required');
  const location = {
    namespace: source.namespace ?? namespace,
    cluster: source.cluster ?? '',
    snapshot: source.snapshot ?? '',
  };
  try {
    checkLocation(location);
  } catch (err) {
    // The error names the field first (`cluster "X" is not …`).
    if (err instanceof LocationError)
      return fail('RESTORE_INVALID_SPEC', `spec.source.objectStore.${err.message}`);
    throw err;
  }
  const defaultClaim = `etcd-snapshots-${restore.spec.target.cluster}`;
  if (!source.claimName && !LABEL_NAME.test(defaultClaim))
    return invalid(
      'claimName',
      `is required: the default ${JSON.stringify(defaultClaim.slice(0, 100))} is not a claim name`,
    );
  return {
    job: fetchJobName(restoreName),
    secretName: source.secretName,
    ...(source.encryptionKeySecret ? { encryptionKeySecret: source.encryptionKeySecret } : {}),
    ...location,
    claimName: source.claimName ?? defaultClaim,
    path: `restore-${restoreName}/${SNAPSHOT_FILE_NAME}`,
  };
}

/**
 * A record without a local file (imported from the store) → the fetch to its own place; undefined
 * for a record whose file is on its claim. The copy must be the record's: its SHA-256 is expected.
 */
export function importedRecordPlan(
  restore: EtcdRestore,
  record: EtcdSnapshot,
): FetchPlan | StepFailure | undefined {
  const imported = record.spec.imported;
  if (!imported) return undefined;
  const name = `EtcdSnapshot ${record.metadata?.namespace}/${record.metadata?.name}`;
  const remote = record.status?.remote;
  if (!remote) return fail('RESTORE_SNAPSHOT_NOT_READY', `${name} was imported but has no status.remote`);
  // The manifest names a key id, never a Secret: the restore names it for an imported record.
  const given = restore.spec.source.etcdSnapshot?.encryptionKeySecret;
  if (given !== undefined && !NAME.test(given))
    return fail(
      'RESTORE_INVALID_SPEC',
      `spec.source.etcdSnapshot.encryptionKeySecret ${JSON.stringify(given.slice(0, 100))} is not a Kubernetes object name`,
    );
  const keySecret = record.spec.objectStore?.encryptionKeySecret ?? given;
  if (remote.keyId && !keySecret)
    return fail(
      'OBJECT_STORE_KEY_INVALID',
      `${name}: its copy is encrypted with key id ${remote.keyId}; name the key Secret in spec.source.etcdSnapshot.encryptionKeySecret`,
    );
  return {
    job: fetchJobName(restore.metadata?.name ?? ''),
    secretName: imported.secretName,
    ...(keySecret ? { encryptionKeySecret: keySecret } : {}),
    namespace: record.metadata?.namespace ?? '',
    cluster: record.spec.cluster.name,
    snapshot: record.metadata?.name ?? '',
    claimName: record.spec.storage.claimName,
    path: record.spec.storage.path,
    ...(record.status?.checksumSha256 ? { expectedSha256: record.status.checksumSha256 } : {}),
  };
}
