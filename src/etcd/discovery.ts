// etcd cluster discovery from informer caches: pure functions, no API calls.
//
// A volume names its etcd cluster (claim annotations/labels, or CSI parameters); discovery turns
// that reference into a cluster: key, namespace, client endpoints, credentials Secret. Order:
//   1. explicit endpoints (claim annotation etcd.io/endpoints): used as given, except that a
//      name of the form <pod>.<service>… whose pod is cached becomes that pod's IP;
//   2. an etcd-druid `Etcd` resource of that name in the namespace (when the CRD is installed):
//      the members of its StatefulSet;
//   3. pods labelled etcd.io/cluster=<name> in the namespace that are Running with an IP;
//   4. StatefulSets labelled etcd.io/cluster=<name>: their members' pod IPs, else the members'
//      stable DNS names <sts>-<i>.<serviceName>.<namespace>.svc.
// Each step can be turned off (ETCD_DISCOVERY_METHOD: `annotation` is 1, `etcd-druid` 2, `label`
// 3, `statefulset` 4); one that is off is named in the not-found answer.
// Endpoints use pod IPs because the driver and its Jobs may not have cluster DNS. Over TLS each
// carries the member's DNS name (?tls-server-name=, see client/endpoint.ts), which the serving
// certificate is checked for: the client URL etcd advertises, else the pod's name behind its
// headless Service, else the name the user wrote (etcd-container.ts).
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { Pod, StatefulSet } from '../informers/resources.ts';
import { namespacedKey, type ReadonlyStore } from '../informers/store-types.ts';
import type { Wire } from '../informers/wire.ts';
import type { DiscoveryMethod, EtcdClusterRef } from '../records/etcd-snapshot.ts';
import type { EtcdClusterReference } from '../records/etcd-source-volume.ts';
import { TLS_SERVER_NAME_PARAM, withServerName } from './client/endpoint.ts';
import {
  clientPort,
  clientScheme,
  DEFAULT_CLIENT_PORT,
  etcdContainer,
  memberServerName,
} from './etcd-container.ts';
import { matchesSelector, parseLabelSelector } from './label-selector.ts';

export const LABEL_ETCD_CLUSTER = 'etcd.io/cluster';
export const ANNOTATION_ETCD_CLUSTER = 'etcd.io/cluster';
export const ANNOTATION_ETCD_ENDPOINTS = 'etcd.io/endpoints';
export const ANNOTATION_CREDENTIALS_SECRET = 'etcd.io/credentials-secret';
export const ANNOTATION_SNAPSHOT_PREFIX = 'etcd.io/snapshot-prefix';

export { DEFAULT_CLIENT_PORT } from './etcd-container.ts';

/** Index over pods and StatefulSets: `<namespace>/<etcd.io/cluster label>`. */
export const INDEX_ETCD_CLUSTER = 'etcd-cluster';
export function etcdClusterIndexer(obj: {
  metadata?: { namespace?: string; labels?: Record<string, string> };
}): string[] {
  const cluster = obj.metadata?.labels?.[LABEL_ETCD_CLUSTER];
  return cluster ? [`${obj.metadata?.namespace ?? ''}/${cluster}`] : [];
}

interface Named {
  metadata?: { name?: string };
}

/** The parts of etcd-druid's `Etcd` (druid.gardener.cloud/v1alpha1) that discovery reads. */
export interface DruidEtcd {
  apiVersion?: string;
  kind?: string;
  metadata?: Wire<V1ObjectMeta>;
  spec?: {
    replicas?: number;
    etcd?: {
      clientPort?: number;
      /** druid's TLSConfig: the CA (dataKey defaults to ca.crt), the server and the client key pairs. */
      clientUrlTls?: {
        tlsCASecretRef?: { name?: string; namespace?: string; dataKey?: string };
        serverTLSSecretRef?: { name?: string; namespace?: string };
        clientTLSSecretRef?: { name?: string; namespace?: string };
      };
    };
    /** Older API (the druid proposal). */
    tlsClientSecret?: string;
  };
  status?: { etcd?: { name?: string } };
}

export const DRUID_ETCD = {
  group: 'druid.gardener.cloud',
  version: 'v1alpha1',
  plural: 'etcds',
  kind: 'Etcd',
} as const;

export interface DiscoveryStores {
  /** Indexed by INDEX_ETCD_CLUSTER. */
  pods: ReadonlyStore<Pod>;
  /** Indexed by INDEX_ETCD_CLUSTER. */
  statefulSets: ReadonlyStore<StatefulSet>;
  /**
   * etcd-druid's Etcds; absent, or `attached: false` (informers/late-store.ts), while the CRD is
   * not installed.
   */
  druidEtcds?: ReadonlyStore<DruidEtcd> & { readonly attached?: boolean };
}

/** The discovery steps, by the names of the seed's ETCD_DISCOVERY_METHOD (and `etcd-druid`). */
export type DiscoverySource = 'annotation' | 'etcd-druid' | 'label' | 'statefulset';

export interface DiscoveryOptions {
  /** The steps allowed; all when unset. */
  methods?: readonly DiscoverySource[];
}

export type DiscoveryResult = { found: true; cluster: EtcdClusterRef } | { found: false; tried: string[] };

/** What a claim's annotations and labels say about its etcd cluster, if anything. */
export function referenceFromAnnotations(
  annotations: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): Partial<EtcdClusterReference> {
  const a = annotations ?? {};
  const name = a[ANNOTATION_ETCD_CLUSTER]?.trim() || labels?.[LABEL_ETCD_CLUSTER]?.trim() || undefined;
  const endpoints = (a[ANNOTATION_ETCD_ENDPOINTS] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const ref: Partial<EtcdClusterReference> = {};
  if (name) ref.name = name;
  if (endpoints.length > 0) ref.endpoints = endpoints;
  const secret = a[ANNOTATION_CREDENTIALS_SECRET]?.trim();
  if (secret) ref.credentialsSecret = secret;
  const prefix = a[ANNOTATION_SNAPSHOT_PREFIX]?.trim();
  if (prefix) ref.snapshotPrefix = prefix;
  return ref;
}

export function discoverEtcdCluster(
  ref: EtcdClusterReference,
  stores: DiscoveryStores,
  options: DiscoveryOptions = {},
): DiscoveryResult {
  const { namespace } = ref;
  const tried: string[] = [];
  const allowed = (method: DiscoverySource, what: string) => {
    const on = options.methods === undefined || options.methods.includes(method);
    if (!on) tried.push(`${what} not looked at: discovery method ${method} is not enabled`);
    return on;
  };
  const selector = ref.labelSelector ? parseLabelSelector(ref.labelSelector) : [];
  const found = (
    name: string,
    endpoints: string[],
    discoveredBy: DiscoveryMethod,
    credentialsSecret: string | undefined,
    caSecret?: EtcdClusterRef['caSecret'],
  ): DiscoveryResult => {
    const cluster: EtcdClusterRef = { key: `${namespace}/${name}`, namespace, name, endpoints, discoveredBy };
    const secret = ref.credentialsSecret ?? credentialsSecret;
    if (secret) cluster.credentialsSecret = secret;
    // The CA belongs to druid's client Secret; a Secret the user named brings its own ca.crt.
    if (caSecret && !ref.credentialsSecret) cluster.caSecret = caSecret;
    return { found: true, cluster };
  };

  // 1. Explicit endpoints.
  if (ref.endpoints && ref.endpoints.length > 0 && allowed('annotation', 'explicit endpoints')) {
    const endpoints = ref.endpoints.map((e) =>
      explicitEndpoint(e, namespace, stores.pods, ref.credentialsSecret),
    );
    const name = ref.name ?? `endpoints-${shortHash([...ref.endpoints].sort().join(','))}`;
    return found(name, endpoints, 'pvc-annotation', undefined);
  }
  const name = ref.name;
  if (!name) {
    tried.push('no cluster name (etcd.io/cluster, etcd-cluster-name) and no endpoints');
    return { found: false, tried };
  }

  // 2. etcd-druid.
  if (
    stores.druidEtcds &&
    stores.druidEtcds.attached !== false &&
    allowed('etcd-druid', 'etcd-druid Etcd resources')
  ) {
    const etcd = stores.druidEtcds.get(namespacedKey(namespace, name));
    if (etcd && !etcd.metadata?.deletionTimestamp) {
      const sts = etcd.status?.etcd?.name ?? name;
      const port = etcd.spec?.etcd?.clientPort ?? DEFAULT_CLIENT_PORT;
      const tls = etcd.spec?.etcd?.clientUrlTls !== undefined;
      const replicas = etcd.spec?.replicas ?? 1;
      const members = memberPods(stores.pods, namespace, sts, replicas);
      const scheme = tls ? 'https' : 'http';
      const peer = (pod: string) => `${pod}.${name}-peer.${namespace}.svc`;
      const endpoints =
        members.length > 0
          ? members.map((p) => podUrl(p, scheme, port, peer(p.metadata?.name ?? '')))
          : range(replicas).map((i) => url(scheme, peer(`${sts}-${i}`), port));
      const tlsConfig = etcd.spec?.etcd?.clientUrlTls;
      const secret = tlsConfig?.clientTLSSecretRef?.name || etcd.spec?.tlsClientSecret;
      const ca = tlsConfig?.tlsCASecretRef;
      return found(
        name,
        endpoints,
        'etcd-druid',
        secret,
        ca?.name ? { name: ca.name, key: ca.dataKey || 'ca.crt' } : undefined,
      );
    }
    tried.push(`no etcd-druid Etcd ${namespace}/${name}`);
  }

  // 3. Pods labelled with the cluster (none when the method is off).
  const lookAtPods = allowed('label', 'labelled pods');
  const pods = stores.pods
    .byIndex(INDEX_ETCD_CLUSTER, `${namespace}/${name}`)
    .filter((p) => lookAtPods && matchesSelector(p.metadata?.labels, selector))
    .sort(byName);
  const running = pods.filter(isServing);
  if (running.length > 0) {
    const endpoints = running.map((p) => podEndpoint(p));
    const secret = running.map((p) => p.metadata?.annotations?.[ANNOTATION_CREDENTIALS_SECRET]).find(Boolean);
    return found(name, endpoints, 'pods', secret);
  }
  if (lookAtPods)
    tried.push(
      pods.length > 0
        ? `${pods.length} pod(s) labelled ${LABEL_ETCD_CLUSTER}=${name} in ${namespace}, none Running with an IP`
        : `no pods labelled ${LABEL_ETCD_CLUSTER}=${name} in ${namespace}`,
    );

  // 4. StatefulSets labelled with the cluster (none when the method is off).
  const lookAtSets = allowed('statefulset', 'labelled StatefulSets');
  const sets = stores.statefulSets
    .byIndex(INDEX_ETCD_CLUSTER, `${namespace}/${name}`)
    .filter(
      (s) => lookAtSets && matchesSelector(s.metadata?.labels, selector) && !s.metadata?.deletionTimestamp,
    )
    .sort(byName);
  if (sets.length > 0) {
    const endpoints: string[] = [];
    for (const sts of sets) {
      const stsName = sts.metadata?.name ?? '';
      const replicas = sts.spec?.replicas ?? 1;
      const container = etcdContainer(sts.spec?.template?.spec?.containers ?? []);
      const port = clientPort(container);
      const scheme = clientScheme(container);
      const members = memberPods(stores.pods, namespace, stsName, replicas);
      const stable = (pod: string) => `${pod}.${sts.spec?.serviceName ?? stsName}.${namespace}.svc`;
      endpoints.push(
        ...(members.length > 0
          ? members.map((p) => podUrl(p, scheme, port, stable(p.metadata?.name ?? '')))
          : range(replicas).map((i) => url(scheme, stable(`${stsName}-${i}`), port))),
      );
    }
    const secret = sets.map((s) => s.metadata?.annotations?.[ANNOTATION_CREDENTIALS_SECRET]).find(Boolean);
    return found(name, endpoints, 'statefulset', secret);
  }
  if (lookAtSets) tried.push(`no StatefulSets labelled ${LABEL_ETCD_CLUSTER}=${name} in ${namespace}`);
  return { found: false, tried };
}

function explicitEndpoint(
  raw: string,
  namespace: string,
  pods: ReadonlyStore<Pod>,
  credentialsSecret: string | undefined,
): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)
    ? raw
    : `${credentialsSecret ? 'https' : 'http'}://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return withScheme;
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return withScheme;
  // <pod>.<service>[.<namespace>[.svc…]] names one member of a headless service.
  const labels = host.split('.');
  if (labels.length < 2 || (labels.length >= 3 && labels[2] !== namespace)) return withScheme;
  const pod = pods.get(namespacedKey(namespace, labels[0] ?? ''));
  const ip = pod && isServing(pod) ? pod.status?.podIP : undefined;
  if (!ip) return withScheme;
  // Dialled by IP, checked for the name as the user wrote it (or the one they gave for it).
  const scheme = parsed.protocol.replace(/:$/, '');
  const address = url(scheme, ip, Number(parsed.port || DEFAULT_CLIENT_PORT));
  const serverName = parsed.searchParams.get(TLS_SERVER_NAME_PARAM) || host;
  return scheme === 'https' ? withServerName(address, serverName) : address;
}

/** The serving members of a StatefulSet (<sts>-0 … <sts>-<replicas-1>) as cached. */
function memberPods(pods: ReadonlyStore<Pod>, namespace: string, sts: string, replicas: number): Pod[] {
  return range(replicas)
    .map((i) => pods.get(namespacedKey(namespace, `${sts}-${i}`)))
    .filter((p): p is Pod => p !== undefined && isServing(p));
}

function isServing(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && Boolean(pod.status.podIP) && !pod.metadata?.deletionTimestamp;
}

/** The pod's IP to dial; over TLS with the DNS name its certificate is checked for. */
function podUrl(pod: Pod, scheme: string, port: number, fallbackName?: string): string {
  const address = url(scheme, pod.status!.podIP!, port);
  return scheme === 'https' ? withServerName(address, memberServerName(pod, fallbackName)) : address;
}

function podEndpoint(pod: Pod): string {
  const container = etcdContainer(pod.spec?.containers ?? []);
  return podUrl(pod, clientScheme(container), clientPort(container));
}

function url(scheme: string, host: string, port: number): string {
  return `${scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

function range(n: number): number[] {
  return Array.from({ length: Math.max(0, n) }, (_, i) => i);
}

function byName(a: Named, b: Named): number {
  return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true });
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
