// The volumes an agent Job mounts, one builder each: a claim (snapshots, a member's data), a
// Secret as files (an object store's credentials), and the etcd credentials, which with
// etcd-druid's separate CA Secret are one projected directory.
import { CA_KEY, TLS_CERT_KEY, TLS_KEY_KEY } from '../../etcd/credentials.ts';
import type { AgentMount } from './agent-job.ts';

/** Secrets' files are readable by the owner and the pod's fsGroup (the agent) only. */
const SECRET_MODE = 0o440;

export function claimMount(volumeName: string, claimName: string, mountPath: string): AgentMount {
  return { volume: { name: volumeName, persistentVolumeClaim: { claimName } }, mountPath };
}

/**
 * A Secret as files named after its keys, read-only. `optional`: a missing Secret mounts an empty
 * directory instead of holding the pod back (the agent then reports the missing configuration).
 */
export function secretMount(
  volumeName: string,
  secretName: string,
  mountPath: string,
  optional = false,
): AgentMount {
  return {
    volume: {
      name: volumeName,
      secret: { secretName, defaultMode: SECRET_MODE, ...(optional ? { optional: true } : {}) },
    },
    mountPath,
    readOnly: true,
  };
}

/**
 * The etcd credentials Secret as files; with a CA Secret (etcd-druid's tlsCASecretRef) a projected
 * volume: the key pair from the one, the CA as ca.crt from the other, in one directory.
 */
export function credentialsMount(
  volumeName: string,
  secret: string,
  ca: { name: string; key: string } | undefined,
  mountPath: string,
): AgentMount {
  if (!ca) return secretMount(volumeName, secret, mountPath);
  return {
    volume: {
      name: volumeName,
      projected: {
        defaultMode: SECRET_MODE,
        sources: [
          {
            secret: {
              name: secret,
              items: [
                { key: TLS_CERT_KEY, path: TLS_CERT_KEY },
                { key: TLS_KEY_KEY, path: TLS_KEY_KEY },
              ],
            },
          },
          { secret: { name: ca.name, items: [{ key: ca.key, path: CA_KEY }] } },
        ],
      },
    },
    mountPath,
    readOnly: true,
  };
}
