// The target cluster's endpoints and client credentials, as discovery finds them now (the pods
// that run, else the StatefulSet's stable names), for the looks at the live cluster. A target
// whose pods and StatefulSet name no credentials Secret takes the snapshot record's when the
// record is of the same cluster (its CSI request named the Secret on the source claim).
import { type EtcdCredentials, withCaFromSecret } from '../../etcd/credentials.ts';
import { discoverEtcdCluster } from '../../etcd/discovery.ts';
import type { EtcdRestore } from '../../records/etcd-restore.ts';
import { reasonOf } from '../errors.ts';
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
  /** The snapshot record Validate resolved (later phases read it from status). */
  recordName?: string,
): Promise<LiveAccess | StepFailure> {
  const namespace = restore.metadata?.namespace ?? '';
  const found = discoverEtcdCluster(
    { namespace, name: restore.spec.target.cluster },
    io.stores,
    io.options.discovery ?? {},
  );
  if (!found.found) return { endpoints: [], credentials: { kind: 'none' } };
  const { endpoints } = found.cluster;
  const record = restore.status?.snapshot?.record ?? recordName;
  const same = record ? io.stores.etcdSnapshots.get(`${namespace}/${record}`) : undefined;
  const fromRecord = same?.spec.cluster.key === found.cluster.key ? same.spec.cluster : undefined;
  const credentialsSecret = found.cluster.credentialsSecret ?? fromRecord?.credentialsSecret;
  const caSecret = found.cluster.credentialsSecret
    ? found.cluster.caSecret
    : (fromRecord?.caSecret ?? found.cluster.caSecret);
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
