// Reads of the objects a pod references — Secrets, ConfigMaps, PVCs, PVs, service-account tokens —
// through the Node authorizer, which allows them only once the pod→object edge is in its graph.
// That graph follows the pod informer of the apiserver, so a read right after the pod was bound
// may be refused (403) for a moment: callers retry, like the kubelet's volume manager does.
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1Pod } from '@kubernetes/client-node';
import { isNotFound, type KubeletApi } from './kube-api.ts';

export interface PodObjects {
  /** Secret data decoded from base64; undefined when the Secret does not exist. */
  secret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  /** ConfigMap data and binaryData; undefined when the ConfigMap does not exist. */
  configMap(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  persistentVolumeClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined>;
  persistentVolume(name: string): Promise<V1PersistentVolume | undefined>;
  /** A token for the pod's service account, bound to the pod. */
  serviceAccountToken(
    pod: V1Pod,
    audience: string | undefined,
    expirationSeconds: number,
  ): Promise<{ token: string; expiresAt: number }>;
}

async function orUndefined<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export function podObjects(api: KubeletApi): PodObjects {
  return {
    async secret(namespace, name) {
      const secret = await orUndefined(() => api.core.readNamespacedSecret({ name, namespace }));
      if (!secret) return undefined;
      return Object.fromEntries(
        Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const),
      );
    },
    async configMap(namespace, name) {
      const configMap = await orUndefined(() => api.core.readNamespacedConfigMap({ name, namespace }));
      if (!configMap) return undefined;
      return {
        ...Object.fromEntries(
          Object.entries(configMap.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')] as const),
        ),
        ...Object.fromEntries(
          Object.entries(configMap.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')] as const),
        ),
      };
    },
    persistentVolumeClaim: (namespace, name) =>
      orUndefined(() => api.core.readNamespacedPersistentVolumeClaim({ name, namespace })),
    persistentVolume: (name) => orUndefined(() => api.core.readPersistentVolume({ name })),
    async serviceAccountToken(pod, audience, expirationSeconds) {
      const namespace = pod.metadata?.namespace ?? 'default';
      const response = await api.core.createNamespacedServiceAccountToken({
        name: pod.spec?.serviceAccountName ?? 'default',
        namespace,
        body: {
          spec: {
            audiences: audience ? [audience] : [],
            expirationSeconds,
            boundObjectRef: {
              apiVersion: 'v1',
              kind: 'Pod',
              name: pod.metadata?.name,
              uid: pod.metadata?.uid,
            },
          },
        },
      });
      const token = response.status?.token;
      if (!token) throw new Error('TokenRequest returned no token');
      const expires = response.status?.expirationTimestamp as unknown;
      const expiresAt =
        expires instanceof Date
          ? expires.getTime()
          : typeof expires === 'string'
            ? Date.parse(expires)
            : Date.now() + expirationSeconds * 1000;
      return { token, expiresAt };
    },
  };
}
