// Before a save of a record naming an object store: its Secrets exist and hold a valid
// configuration and key, checked with the agent's own parsers (src/objectstore), so a typo fails
// the snapshot at ResolveCredentials, naming the key, instead of after a whole save. Read by
// name, parsed in memory, never copied: messages name keys (and only non-secret values).
import { ENCRYPTION_KEY_FILE_NAME } from '../../agent/contract.ts';
import { secretText } from '../../etcd/credentials.ts';
import { parseStoreConfig, StoreConfigError } from '../../objectstore/config.ts';
import { parseKey } from '../../objectstore/encryption.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { fail, proceed, type StepResult } from '../step.ts';
import type { StepIo } from './step-io.ts';

/**
 * The record's store Secret alone (what a delete Job mounts: deleting reads nothing encrypted).
 * Proceeds for a record naming no store.
 */
export async function checkStoreSecret(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<StepResult> {
  const store = record.spec.objectStore;
  if (!store) return proceed;
  const namespace = record.metadata?.namespace ?? '';
  const secret = await io.api.getSecret(namespace, store.secretName, ctx.signal);
  if (!secret) {
    return fail(
      'OBJECT_STORE_CONFIG_INVALID',
      `object store Secret ${namespace}/${store.secretName} does not exist`,
    );
  }
  try {
    parseStoreConfig(secretText(secret));
  } catch (err) {
    if (!(err instanceof StoreConfigError)) throw err;
    return fail('OBJECT_STORE_CONFIG_INVALID', `Secret ${namespace}/${store.secretName}: ${err.message}`);
  }
  return proceed;
}

export async function checkStoreSecrets(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<StepResult> {
  const store = record.spec.objectStore;
  if (!store) return proceed;
  const namespace = record.metadata?.namespace ?? '';
  const checked = await checkStoreSecret(io, record, ctx);
  if (checked.kind !== 'continue') return checked;
  if (!store.encryptionKeySecret) return proceed;
  const keySecret = await io.api.getSecret(namespace, store.encryptionKeySecret, ctx.signal);
  const keyText = keySecret ? secretText(keySecret)[ENCRYPTION_KEY_FILE_NAME] : undefined;
  if (keyText === undefined) {
    return fail(
      'OBJECT_STORE_KEY_INVALID',
      `encryption key Secret ${namespace}/${store.encryptionKeySecret} ${keySecret ? `has no key "${ENCRYPTION_KEY_FILE_NAME}"` : 'does not exist'}`,
    );
  }
  try {
    parseKey(keyText);
  } catch (err) {
    return fail(
      'OBJECT_STORE_KEY_INVALID',
      `Secret ${namespace}/${store.encryptionKeySecret}: ${(err as Error).message}`,
    );
  }
  return proceed;
}
