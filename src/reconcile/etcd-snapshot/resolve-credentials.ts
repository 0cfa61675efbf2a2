// ResolveCredentials: the record's etcd client credentials from the Secrets it names (read by
// name when needed, never copied). Used before the save (CheckHealth needs them) and after it
// (the member list is read again, membership-drift.ts).
import { type EtcdCredentials, withCaFromSecret } from '../../etcd/credentials.ts';
import { EtcdError } from '../../etcd/errors.ts';
import type { EtcdSnapshot } from '../../records/etcd-snapshot.ts';
import type { ReconcileContext } from '../result.ts';
import { fail, type StepFailure, type StepResult } from '../step.ts';
import type { StepIo } from './step-io.ts';
import { checkStoreSecrets } from './store-secrets.ts';

/** The phase: fills in the run's credentials, or fails. */
export async function resolveCredentialsStep(
  io: StepIo,
  run: { record: EtcdSnapshot; ctx: ReconcileContext; credentials: EtcdCredentials },
): Promise<StepResult> {
  const resolved = await resolveCredentials(io, run.record, run.ctx);
  if (!('credentials' in resolved)) return resolved;
  run.credentials = resolved.credentials;
  // The store's Secrets too: a copy that cannot be made fails before the save, not after it.
  return checkStoreSecrets(io, run.record, run.ctx);
}

/** The record's etcd credentials, or why they cannot be had. API errors are thrown. */
export async function resolveCredentials(
  io: StepIo,
  record: EtcdSnapshot,
  ctx: ReconcileContext,
): Promise<{ credentials: EtcdCredentials } | StepFailure> {
  const { namespace, credentialsSecret, caSecret } = record.spec.cluster;
  if (!credentialsSecret) return { credentials: { kind: 'none' } };
  const secret = await io.api.getSecret(namespace, credentialsSecret, ctx.signal);
  if (!secret)
    return fail('AUTH_CERT_NOT_FOUND', `credentials Secret ${namespace}/${credentialsSecret} does not exist`);
  const ca = caSecret ? await io.api.getSecret(namespace, caSecret.name, ctx.signal) : undefined;
  if (caSecret && !ca) {
    return fail(
      'AUTH_CERT_NOT_FOUND',
      `CA Secret ${namespace}/${caSecret.name} (etcd-druid's tlsCASecretRef) does not exist`,
    );
  }
  try {
    const credentials = io.parseCredentials(secret);
    return { credentials: ca && caSecret ? withCaFromSecret(credentials, ca, caSecret.key) : credentials };
  } catch (err) {
    // credentialsFromSecret says what is wrong with an EtcdError and its reason; anything else
    // it throws is still a Secret it cannot read.
    return fail(err instanceof EtcdError ? err.reason : 'AUTH_CERT_NOT_FOUND', (err as Error).message);
  }
}
