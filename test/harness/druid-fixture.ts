// An etcd cluster as etcd-druid deploys one (/work/shared/spec/etcd-druid-cluster-components.md),
// without druid itself: the `Etcd` CRD carrying druid's API facts (druid.gardener.cloud/v1alpha1,
// the fields discovery reads), an `Etcd` with client TLS, and what druid creates for it — the
// StatefulSet `<name>` behind the headless peer Service `<name>-peer`, the client Service
// `<name>-client`, and the Secrets its TLSConfig references: the CA (under `bundle.crt`, a
// dataKey as Gardener uses), the server key pair (DNS names only, a wildcard over the peer
// Service, as Gardener issues it) and the client key pair. The pods carry druid's labels, not
// etcd.io/cluster: only the Etcd resource leads discovery to them.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ETCD_IMAGE } from './etcd-fixture.ts';
import { waitCrdsEstablished } from './kubectl.ts';
import type { LocalCluster } from './local-cluster.ts';
import { createPki } from './pki.ts';
import { waitFor } from './process.ts';
import { tool } from './tools.ts';

const execFileAsync = promisify(execFile);

export const DRUID_CRD_FILE = join(import.meta.dirname, 'druid-etcd-crd.yaml');

export interface DruidFixture {
  name: string;
  namespace: string;
  /** Secret names as the Etcd's clientUrlTls references them. */
  secrets: { ca: string; server: string; client: string };
  /** etcdctl against the members by pod IP with the client key pair. */
  etcdctl(args: readonly string[]): Promise<string>;
}

/** Installs the CRD and waits until the apiserver serves it. */
export async function installDruidCrd(cluster: LocalCluster): Promise<void> {
  await cluster.kubectl(['apply', '-f', DRUID_CRD_FILE]);
  await waitCrdsEstablished((args) => cluster.kubectl(args), ['etcds.druid.gardener.cloud'], 60_000);
}

export async function deployDruidEtcd(
  cluster: LocalCluster,
  o: { name: string; namespace: string; replicas: number },
): Promise<DruidFixture> {
  const { name, namespace, replicas } = o;
  const peer = `${name}-peer`;
  const pki = createPki(join(cluster.dir, 'druid', `${namespace}-${name}`));
  const server = pki.issue('server', {
    commonName: name,
    dnsNames: [`*.${peer}.${namespace}.svc`, `*.${peer}`, `${name}-client.${namespace}.svc`, `${name}-local`],
    usage: 'both',
  });
  const client = pki.issue('client', { commonName: 'etcd-client', usage: 'client' });
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const secrets = { ca: `${name}-ca`, server: `${name}-server-tls`, client: `${name}-client-tls` };
  const labels = {
    'app.kubernetes.io/name': name,
    'app.kubernetes.io/managed-by': 'etcd-druid',
    'app.kubernetes.io/part-of': name,
  };
  const objects = [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secrets.ca, namespace },
      data: { 'bundle.crt': b64(pki.ca.certFile) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secrets.server, namespace },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(server.certFile), 'tls.key': b64(server.keyFile) },
    },
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secrets.client, namespace },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(client.certFile), 'tls.key': b64(client.keyFile) },
    },
    {
      apiVersion: 'druid.gardener.cloud/v1alpha1',
      kind: 'Etcd',
      metadata: { name, namespace },
      spec: {
        replicas,
        labels,
        selector: { matchLabels: labels },
        etcd: {
          clientPort: 2379,
          serverPort: 2380,
          clientUrlTls: {
            tlsCASecretRef: { name: secrets.ca, namespace, dataKey: 'bundle.crt' },
            serverTLSSecretRef: { name: secrets.server, namespace },
            clientTLSSecretRef: { name: secrets.client, namespace },
          },
        },
        backup: {},
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `${name}-client`, namespace, labels },
      spec: { selector: labels, ports: [{ name: 'client', port: 2379, targetPort: 2379 }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: peer, namespace, labels },
      spec: {
        clusterIP: 'None',
        publishNotReadyAddresses: true,
        selector: labels,
        ports: [{ name: 'peer', port: 2380, targetPort: 2380 }],
      },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name, namespace, labels },
      spec: statefulSetSpec(o, labels, secrets),
    },
  ];
  await cluster.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
  });

  const podIps = async () => {
    const out = await cluster.kubectl([
      'get',
      'pods',
      '-n',
      namespace,
      '-l',
      `app.kubernetes.io/name=${name}`,
      '-o',
      'json',
    ]);
    const pods = (JSON.parse(out.stdout) as { items: { status?: { podIP?: string } }[] }).items;
    return pods.map((p) => p.status?.podIP).filter((ip): ip is string => Boolean(ip));
  };
  // etcdctl has no server-name flag: the fixture's own calls skip the name check (the client
  // certificate still authenticates them). The driver checks names; this is only for test data.
  const etcdctl = async (args: readonly string[]) => {
    const eps = (await podIps()).map((ip) => `https://${ip}:2379`).join(',');
    const { stdout } = await execFileAsync(tool('etcdctl'), [
      `--endpoints=${eps}`,
      `--cacert=${pki.ca.certFile}`,
      `--cert=${client.certFile}`,
      `--key=${client.keyFile}`,
      '--insecure-skip-tls-verify',
      '--command-timeout=10s',
      ...args,
    ]);
    return stdout;
  };
  await waitFor(
    `druid-style etcd ${namespace}/${name} to have ${replicas} members with a leader`,
    async () => {
      if ((await podIps()).length < replicas) return undefined;
      const statuses = JSON.parse(await etcdctl(['endpoint', 'status', '-w', 'json'])) as {
        Status: { leader: string };
      }[];
      return statuses.length === replicas && statuses.every((s) => Number(s.Status.leader) !== 0)
        ? true
        : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 500 },
  );
  return { name, namespace, secrets, etcdctl };
}

function statefulSetSpec(
  o: { name: string; namespace: string; replicas: number },
  labels: Record<string, string>,
  secrets: { ca: string; server: string },
) {
  const { name, namespace, replicas } = o;
  const member = (i: number) => `${name}-${i}=http://${name}-${i}.${name}-peer.${namespace}.svc:2380`;
  return {
    replicas,
    serviceName: `${name}-peer`,
    podManagementPolicy: 'Parallel',
    selector: { matchLabels: labels },
    template: {
      metadata: { labels },
      spec: {
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'etcd',
            image: ETCD_IMAGE,
            command: ['etcd'],
            // druid's etcd-wrapper gets these from backup-restore's config; the same values as flags.
            args: [
              '--name=$(POD_NAME)',
              '--data-dir=/var/etcd/data/new.etcd',
              '--listen-client-urls=https://$(POD_IP):2379',
              `--advertise-client-urls=https://$(POD_NAME).${name}-peer.${namespace}.svc:2379`,
              '--listen-peer-urls=http://$(POD_IP):2380',
              `--initial-advertise-peer-urls=http://$(POD_NAME).${name}-peer.${namespace}.svc:2380`,
              `--initial-cluster=${Array.from({ length: replicas }, (_, i) => member(i)).join(',')}`,
              `--initial-cluster-token=${namespace}-${name}`,
              '--initial-cluster-state=new',
              '--client-cert-auth',
              '--trusted-ca-file=/var/etcd/ssl/client/ca/bundle.crt',
              '--cert-file=/var/etcd/ssl/client/server/tls.crt',
              '--key-file=/var/etcd/ssl/client/server/tls.key',
              '--log-level=warn',
            ],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
            ],
            ports: [
              { name: 'server', containerPort: 2380 },
              { name: 'client', containerPort: 2379 },
            ],
            volumeMounts: [
              { name: name, mountPath: '/var/etcd/data' },
              { name: 'client-url-ca-etcd', mountPath: '/var/etcd/ssl/client/ca', readOnly: true },
              {
                name: 'client-url-etcd-server-tls',
                mountPath: '/var/etcd/ssl/client/server',
                readOnly: true,
              },
            ],
          },
        ],
        volumes: [
          { name: 'client-url-ca-etcd', secret: { secretName: secrets.ca } },
          { name: 'client-url-etcd-server-tls', secret: { secretName: secrets.server } },
        ],
      },
    },
    volumeClaimTemplates: [
      {
        metadata: { name },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    ],
  };
}
