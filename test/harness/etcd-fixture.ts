// A real multi-member etcd cluster deployed the way users run one in Kubernetes: a StatefulSet
// with a headless Service, pods labelled etcd.io/cluster=<name>, one PVC per member. Its pods run
// the built etcd through the process kubelet. Variants: no auth, client TLS (a kubernetes.io/tls
// Secret with ca.crt) and user/password (a kubernetes.io/basic-auth Secret). TLS members' serving
// certificates name their pod IP and DNS name, or with serverNames 'dns' DNS names only
// (`<pod>.<service>.<namespace>.svc`, `<pod>.<service>`), as etcd-druid's, the common charts' and
// cert-manager's do; those members advertise their DNS client URL.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { runEtcdctl } from './etcd-processes.ts';
import type { LocalCluster } from './local-cluster.ts';
import { createPki } from './pki.ts';
import { waitFor } from './process.ts';

export const ETCD_IMAGE = 'quay.io/coreos/etcd:v3.6.16';
export const CLUSTER_LABEL = 'etcd.io/cluster';

export type EtcdAuth = 'none' | 'tls' | 'basic';

export interface EtcdFixtureOptions {
  name: string;
  namespace?: string;
  replicas?: number;
  auth?: EtcdAuth;
  /** Size of each member's data PVC. */
  storage?: string;
  /** etcd's backend quota; raise it to load more than 2 GiB. */
  quotaBackendBytes?: number;
  /** TLS: what the members' serving certificates name; default 'ip' (the pod IP and the DNS name). */
  serverNames?: 'ip' | 'dns';
}

export interface EtcdFixture {
  name: string;
  namespace: string;
  replicas: number;
  auth: EtcdAuth;
  /** The Secret holding client credentials (tls: tls.crt/tls.key/ca.crt; basic: username/password), if any. */
  credentialsSecret: string | undefined;
  /**
   * Client URLs of the members, by pod IP (reachable from the host and from pods alike); with
   * DNS-only certificates each carries the member's name (?tls-server-name=).
   */
  endpoints(): Promise<string[]>;
  /** Runs the host's etcdctl against the members with the fixture's credentials. */
  etcdctl(args: readonly string[], options?: { input?: string; endpoints?: string[] }): Promise<string>;
  /** Waits until every member answers and the cluster has a leader. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Writes about `mib` MiB of incompressible values under `/load/` (1 MiB a key). */
  loadData(mib: number): Promise<void>;
  pods(): Promise<V1Pod[]>;
  delete(): Promise<void>;
}

export async function deployEtcdFixture(
  cluster: LocalCluster,
  options: EtcdFixtureOptions,
): Promise<EtcdFixture> {
  const { name } = options;
  const namespace = options.namespace ?? 'default';
  const replicas = options.replicas ?? 3;
  const auth = options.auth ?? 'none';
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  const scheme = auth === 'tls' ? 'https' : 'http';
  const dnsOnly = auth === 'tls' && options.serverNames === 'dns';

  await ensureNamespace(core, namespace);

  // Client credentials, as a user would keep them.
  const clientDir = join(cluster.dir, 'etcd-fixtures', `${namespace}-${name}`);
  mkdirSync(clientDir, { recursive: true });
  let credentialsSecret: string | undefined;
  let clientFlags: string[] = [];
  let tlsFiles: { ca: string; cert: string; key: string } | undefined;
  let basic: { username: string; password: string } | undefined;
  if (auth === 'tls') {
    const pki = createPki(join(clientDir, 'pki'));
    const client = pki.issue('client', { commonName: 'root', usage: 'client' });
    tlsFiles = { ca: pki.ca.certFile, cert: client.certFile, key: client.keyFile };
    credentialsSecret = `${name}-client-tls`;
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: credentialsSecret, labels: { [CLUSTER_LABEL]: name } },
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': readFileSync(client.certFile).toString('base64'),
          'tls.key': readFileSync(client.keyFile).toString('base64'),
          'ca.crt': readFileSync(pki.ca.certFile).toString('base64'),
        },
      },
    });
    // The members' serving certificates must name their pod IPs, which exist only once the pods
    // do: an init container issues them from this CA, as cert-manager would.
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: `${name}-ca`, labels: { [CLUSTER_LABEL]: name } },
        data: {
          'ca.crt': readFileSync(pki.ca.certFile).toString('base64'),
          'ca.key': readFileSync(pki.ca.keyFile).toString('base64'),
        },
      },
    });
    clientFlags = [`--cacert=${tlsFiles.ca}`, `--cert=${tlsFiles.cert}`, `--key=${tlsFiles.key}`];
    // etcdctl has no server-name flag: the fixture's own calls skip the name check against
    // DNS-only certificates (the client certificate still authenticates them).
    if (dnsOnly) clientFlags.push('--insecure-skip-tls-verify');
  } else if (auth === 'basic') {
    basic = { username: 'root', password: randomBytes(12).toString('base64url') };
    credentialsSecret = `${name}-client-auth`;
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: credentialsSecret, labels: { [CLUSTER_LABEL]: name } },
        type: 'kubernetes.io/basic-auth',
        stringData: basic,
      },
    });
  }

  await core.createNamespacedService({
    namespace,
    body: {
      metadata: { name, labels: { [CLUSTER_LABEL]: name } },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: { [CLUSTER_LABEL]: name },
        ports: [
          { name: 'client', port: 2379 },
          { name: 'peer', port: 2380 },
        ],
      },
    },
  });
  await apps.createNamespacedStatefulSet({
    namespace,
    body: statefulSet({
      name,
      namespace,
      replicas,
      auth,
      storage: options.storage ?? '1Gi',
      quota: options.quotaBackendBytes,
      dnsOnly,
    }),
  });

  const pods = async () =>
    (await core.listNamespacedPod({ namespace, labelSelector: `${CLUSTER_LABEL}=${name}` })).items;
  const endpoints = async () =>
    (await pods())
      .filter((p) => p.status?.podIP)
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map((p) => {
        const url = `${scheme}://${p.status!.podIP}:2379`;
        return dnsOnly ? `${url}?tls-server-name=${p.metadata!.name}.${name}.${namespace}.svc` : url;
      });
  // Set once the fixture has turned etcd authentication on; before that, no user is sent.
  let authEnabled = false;
  const etcdctl = async (args: readonly string[], opts: { input?: string; endpoints?: string[] } = {}) => {
    const eps = (opts.endpoints ?? (await endpoints())).map((e) => e.replace(/\?.*$/, ''));
    const userFlags = basic && authEnabled ? [`--user=${basic.username}:${basic.password}`] : [];
    return runEtcdctl(
      [`--endpoints=${eps.join(',')}`, ...clientFlags, ...userFlags, '--command-timeout=10s', ...args],
      opts.input,
    );
  };

  const fixture: EtcdFixture = {
    name,
    namespace,
    replicas,
    auth,
    credentialsSecret,
    endpoints,
    etcdctl,
    pods,
    async waitHealthy(timeoutMs = 120_000) {
      await waitFor(
        `etcd fixture ${namespace}/${name} to have ${replicas} healthy members and a leader`,
        async () => {
          const eps = await endpoints();
          if (eps.length < replicas) return undefined;
          const out = await etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: eps });
          const statuses = JSON.parse(out) as { Status: { leader: string } }[];
          return statuses.length === replicas &&
            statuses.every((s) => s.Status.leader !== '0' && Number(s.Status.leader) !== 0)
            ? true
            : undefined;
        },
        { timeoutMs, intervalMs: 500 },
      );
    },
    async loadData(mib) {
      const value = randomBytes(512 * 1024).toString('hex'); // 1 MiB of text that does not compress
      const writers = 4;
      let next = 0;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          for (let i = next++; i < mib; i = next++) {
            await etcdctl(['put', `/load/${String(i).padStart(6, '0')}`], { input: value });
          }
        }),
      );
    },
    async delete() {
      await apps.deleteNamespacedStatefulSet({ name, namespace }).catch(() => undefined);
      await core.deleteNamespacedService({ name, namespace }).catch(() => undefined);
      await core
        .deleteCollectionNamespacedPersistentVolumeClaim({
          namespace,
          labelSelector: `${CLUSTER_LABEL}=${name}`,
        })
        .catch(() => undefined);
      await core
        .deleteCollectionNamespacedSecret({ namespace, labelSelector: `${CLUSTER_LABEL}=${name}` })
        .catch(() => undefined);
    },
  };

  await fixture.waitHealthy();
  if (basic) {
    await etcdctl(['user', 'add', `${basic.username}:${basic.password}`]);
    await etcdctl(['user', 'grant-role', basic.username, 'root']);
    await etcdctl(['auth', 'enable']);
    authEnabled = true;
  }
  return fixture;
}

async function ensureNamespace(core: CoreV1Api, name: string): Promise<void> {
  try {
    await core.readNamespace({ name });
  } catch {
    try {
      await core.createNamespace({ body: { metadata: { name } } });
    } catch (err) {
      // Two fixtures deployed into a new namespace at once: the other one created it.
      if ((err as { code?: number }).code !== 409) throw err;
    }
  }
}

function statefulSet(o: {
  name: string;
  namespace: string;
  replicas: number;
  auth: EtcdAuth;
  storage: string;
  quota: number | undefined;
  dnsOnly: boolean;
}): V1StatefulSet {
  const { name, namespace, replicas, auth } = o;
  const peer = (i: number) => `http://${name}-${i}.${name}.${namespace}.svc:2380`;
  const initialCluster = Array.from({ length: replicas }, (_, i) => `${name}-${i}=${peer(i)}`).join(',');
  const scheme = auth === 'tls' ? 'https' : 'http';
  const args = [
    '--name=$(POD_NAME)',
    '--data-dir=/var/run/etcd/data',
    `--listen-client-urls=${scheme}://$(POD_IP):2379`,
    `--advertise-client-urls=${scheme}://${o.dnsOnly ? `$(POD_NAME).${name}.${namespace}.svc` : '$(POD_IP)'}:2379`,
    '--listen-peer-urls=http://$(POD_IP):2380',
    `--initial-advertise-peer-urls=http://$(POD_NAME).${name}.${namespace}.svc:2380`,
    `--initial-cluster=${initialCluster}`,
    `--initial-cluster-token=${namespace}-${name}`,
    '--initial-cluster-state=new',
    '--log-level=warn',
    ...(o.quota ? [`--quota-backend-bytes=${o.quota}`] : []),
    ...(auth === 'tls'
      ? [
          '--cert-file=/etc/etcd/tls/server.crt',
          '--key-file=/etc/etcd/tls/server.key',
          '--trusted-ca-file=/etc/etcd/ca/ca.crt',
          '--client-cert-auth',
        ]
      : []),
  ];
  const env = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
  const tls = auth === 'tls';
  return {
    metadata: { name, labels: { [CLUSTER_LABEL]: name } },
    spec: {
      serviceName: name,
      replicas,
      // Members must start together to bootstrap; etcd itself orders them.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: { [CLUSTER_LABEL]: name } },
      template: {
        metadata: { labels: { [CLUSTER_LABEL]: name, app: 'etcd' } },
        spec: {
          terminationGracePeriodSeconds: 10,
          initContainers: tls
            ? [
                {
                  name: 'issue-serving-cert',
                  image: 'busybox:1.37',
                  command: ['sh', '-c', ISSUE_SERVING_CERT],
                  env: [
                    ...env,
                    {
                      name: 'SUBJECT_ALT_NAME',
                      value: o.dnsOnly
                        ? `DNS:$(POD_NAME).${name}.${namespace}.svc,DNS:$(POD_NAME).${name}`
                        : `IP:$(POD_IP),DNS:$(POD_NAME).${name}.${namespace}.svc`,
                    },
                  ],
                  volumeMounts: [
                    { name: 'ca', mountPath: '/etc/etcd/ca', readOnly: true },
                    { name: 'tls', mountPath: '/etc/etcd/tls' },
                  ],
                },
              ]
            : [],
          containers: [
            {
              name: 'etcd',
              image: ETCD_IMAGE,
              command: ['etcd'],
              args,
              env,
              ports: [
                { name: 'client', containerPort: 2379 },
                { name: 'peer', containerPort: 2380 },
              ],
              volumeMounts: [
                { name: 'data', mountPath: '/var/run/etcd' },
                ...(tls
                  ? [
                      { name: 'ca', mountPath: '/etc/etcd/ca', readOnly: true },
                      { name: 'tls', mountPath: '/etc/etcd/tls', readOnly: true },
                    ]
                  : []),
              ],
            },
          ],
          volumes: tls
            ? [
                { name: 'ca', secret: { secretName: `${name}-ca` } },
                { name: 'tls', emptyDir: {} },
              ]
            : [],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: { [CLUSTER_LABEL]: name } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.storage } } },
        },
      ],
    },
  };
}

// Runs in the init container: a serving certificate for this member's names (SUBJECT_ALT_NAME).
const ISSUE_SERVING_CERT = `set -eu
cd /etc/etcd/tls
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out server.key 2>/dev/null
printf 'basicConstraints=CA:FALSE\\nkeyUsage=digitalSignature,keyEncipherment\\nextendedKeyUsage=serverAuth,clientAuth\\nsubjectAltName=%s\\n' "$SUBJECT_ALT_NAME" > server.ext
openssl req -new -key server.key -subj "/CN=$POD_NAME" -out server.csr
openssl x509 -req -in server.csr -CA /etc/etcd/ca/ca.crt -CAkey /etc/etcd/ca/ca.key -set_serial "$(date +%s%N)" -days 365 -extfile server.ext -out server.crt 2>/dev/null
rm server.csr server.ext`;
