// The target cluster's endpoints and client credentials, as discovery finds them now (the pods
// that run, else the StatefulSet's stable names), for the looks at the live cluster.
import { type EtcdCredentials, withCaFromSecret } from '../../etcd/credentials.ts';
import { discoverEtcdCluster } from '../../etcd/discovery.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { reasonOf } from '../etcd-snapshot/resolve-credentials.ts';
import type { ReconcileContext } from '../result.ts';
import { fail, type StepFailure } from '../step.ts';
import type { RestoreIo } from './restore-io.ts';

export interface LiveAccess {
  endpoints: string[];
  credentials: EtcdCredentials;
}

export async function liveAccess(
  io: RestoreIo,
  restore: EtcdRestore,
  ctx: ReconcileContext,
): Promise<LiveAccess | StepFailure> {
  const namespace = restore.metadata?.namespace ?? '';
  const found = discoverEtcdCluster(
    { namespace, name: restore.spec.target.cluster },
    io.stores,
    io.options.discovery ?? {},
  );
  if (!found.found) return { endpoints: [], credentials: { kind: 'none' } };
  const { credentialsSecret, caSecret, endpoints } = found.cluster;
  if (!credentialsSecret) return { endpoints, credentials: { kind: 'none' } };
  const secret = await io.api.getSecret(namespace, credentialsSecret, ctx.signal);
  if (!secret)
    return fail('AUTH_CERT_NOT_FOUND', `credentials Secret ${namespace}/${credentialsSecret} does not exist`);
  const ca = caSecret ? await io.api.getSecret(namespace, caSecret.name, ctx.signal) : undefined;
  if (caSecret && !ca)
    return fail('AUTH_CERT_NOT_FOUND', `CA Secret ${namespace}/${caSecret.name} does not exist`);
  try {
    const credentials = io.parseCredentials(secret);
    return {
      endpoints,
      credentials: ca && caSecret ? withCaFromSecret(credentials, ca, caSecret.key) : credentials,
    };
  } catch (err) {
    return fail(reasonOf(err) ?? 'AUTH_CERT_NOT_FOUND', (err as Error).message);
  }
}
