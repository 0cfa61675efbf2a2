// The real Kubernetes control plane of a local cluster, built from Go modules by hack/tools:
// etcd, kube-apiserver (secure port, RBAC + Node authorization, service-account issuer and keys,
// NodeRestriction and the default PodSecurity admission), kube-controller-manager (the default
// controllers, each with its own service-account credentials) and kube-scheduler.
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type KeyPair, type Pki, writeKubeconfig } from './pki.ts';
import { type ManagedProcess, startProcess, waitFor } from './process.ts';
import { ensureTools, tool } from './tools.ts';

const execFileAsync = promisify(execFile);

export const APISERVER_PORT = 6443;
export const SERVICE_CIDR = '10.96.0.0/16';

export interface ControlPlaneOptions {
  dir: string;
  /** The address every component listens on, e.g. 127.21.0.1. */
  hostIP: string;
  pki: Pki;
  /**
   * Runs once kube-apiserver is ready, while the controller manager and the scheduler come up
   * (they take seconds): the kubelet needs only the API, so its start need not wait for them.
   */
  alongsideControllers?: (api: { apiserverUrl: string; adminKubeconfig: string }) => Promise<void>;
}

export interface ControlPlane {
  apiserverUrl: string;
  etcdEndpoint: string;
  adminKubeconfig: string;
  /** Client certificate the apiserver presents to kubelets (pods/log, exec). */
  apiserverKubeletClient: KeyPair;
  processes(): ManagedProcess[];
  /** Stops and starts kube-apiserver with the same flags (watches break, state survives in etcd). */
  restartApiserver(): Promise<void>;
  /** Compacts the control-plane etcd up to its current revision: older resourceVersions then give 410 Gone. */
  compactEtcd(): Promise<void>;
  stop(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  await ensureTools(['etcd', 'kubernetes']);
  const { dir, hostIP, pki } = options;
  const logs = join(dir, 'logs');
  mkdirSync(logs, { recursive: true });
  const started: ManagedProcess[] = [];
  const apiserverUrl = `https://${hostIP}:${APISERVER_PORT}`;
  const etcdEndpoint = `http://${hostIP}:2379`;

  const issueClient = (name: string, commonName: string, organizations: string[] = []) =>
    pki.issue(name, { commonName, organizations, usage: 'client' });
  const kubeconfigFor = (name: string, user: string, pair: KeyPair) => {
    const file = join(dir, `${name}.kubeconfig`);
    writeKubeconfig(file, apiserverUrl, pki.ca.certFile, user, pair);
    return file;
  };

  const serving = pki.issue('apiserver', {
    commonName: 'kube-apiserver',
    usage: 'server',
    ipAddresses: [hostIP, '127.0.0.1', '10.96.0.1'],
    dnsNames: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
  });
  const admin = issueClient('admin', 'kubernetes-admin', ['system:masters']);
  const apiserverKubeletClient = issueClient('apiserver-kubelet-client', 'kube-apiserver-kubelet-client', [
    'system:masters',
  ]);
  const adminKubeconfig = kubeconfigFor('admin', 'admin', admin);
  const kcmKubeconfig = kubeconfigFor(
    'controller-manager',
    'system:kube-controller-manager',
    issueClient('controller-manager', 'system:kube-controller-manager'),
  );
  const schedulerKubeconfig = kubeconfigFor(
    'scheduler',
    'system:kube-scheduler',
    issueClient('scheduler', 'system:kube-scheduler'),
  );

  const etcdArgs = [
    '--name=control-plane',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${etcdEndpoint}`,
    `--advertise-client-urls=${etcdEndpoint}`,
    `--listen-peer-urls=http://${hostIP}:2380`,
    `--initial-advertise-peer-urls=http://${hostIP}:2380`,
    `--initial-cluster=control-plane=http://${hostIP}:2380`,
    // A test cluster's state is thrown away: skipping fsync makes it several times faster on CI disks.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
  const apiserverArgs = [
    `--etcd-servers=${etcdEndpoint}`,
    `--bind-address=${hostIP}`,
    `--advertise-address=${hostIP}`,
    `--secure-port=${APISERVER_PORT}`,
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${serving.certFile}`,
    `--tls-private-key-file=${serving.keyFile}`,
    `--client-ca-file=${pki.ca.certFile}`,
    `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
    `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
    `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--authorization-mode=Node,RBAC',
    // PodSecurity, ServiceAccount and the other defaults stay on; NodeRestriction is off by default.
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    `--kubelet-client-certificate=${apiserverKubeletClient.certFile}`,
    `--kubelet-client-key=${apiserverKubeletClient.keyFile}`,
    '--kubelet-preferred-address-types=InternalIP',
    '--profiling=false',
    '--v=1',
  ];
  const kcmArgs = [
    `--kubeconfig=${kcmKubeconfig}`,
    `--authentication-kubeconfig=${kcmKubeconfig}`,
    `--authorization-kubeconfig=${kcmKubeconfig}`,
    `--bind-address=${hostIP}`,
    '--secure-port=10257',
    `--cert-dir=${join(dir, 'kcm-certs')}`,
    `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
    `--root-ca-file=${pki.ca.certFile}`,
    `--cluster-signing-cert-file=${pki.ca.certFile}`,
    `--cluster-signing-key-file=${pki.ca.keyFile}`,
    '--use-service-account-credentials=true',
    '--controllers=*',
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    '--leader-elect=false',
    '--profiling=false',
    '--v=1',
  ];
  const schedulerArgs = [
    `--kubeconfig=${schedulerKubeconfig}`,
    `--authentication-kubeconfig=${schedulerKubeconfig}`,
    `--authorization-kubeconfig=${schedulerKubeconfig}`,
    `--bind-address=${hostIP}`,
    '--secure-port=10259',
    '--leader-elect=false',
    '--profiling=false',
    '--v=1',
  ];

  const start = (name: string, binary: string, args: string[]) => {
    const proc = startProcess(name, tool(binary), args, { logFile: join(logs, `${name}.log`) });
    started.push(proc);
    return proc;
  };
  const diedEarly = (proc: ManagedProcess) => () =>
    proc.hasExited ? `${proc.name} exited early; see ${join(logs, `${proc.name}.log`)}` : undefined;

  const caPem = readFileSync(pki.ca.certFile);
  const adminCert = readFileSync(admin.certFile);
  const adminKey = readFileSync(admin.keyFile);
  const apiGet = (path: string) =>
    httpsGet(`${apiserverUrl}${path}`, { ca: caPem, cert: adminCert, key: adminKey });

  let apiserver: ManagedProcess | undefined;
  const startApiserver = async () => {
    apiserver = start('kube-apiserver', 'kube-apiserver', apiserverArgs);
    await waitFor(
      'kube-apiserver /readyz',
      async () => ((await apiGet('/readyz')).status === 200 ? true : undefined),
      {
        timeoutMs: 120_000,
        abortIf: diedEarly(apiserver),
      },
    );
  };

  const stop = async () => {
    // Reverse order: clients first, etcd last.
    for (const proc of [...started].reverse()) await proc.stop(5_000);
  };

  try {
    const etcd = start('etcd', 'etcd', etcdArgs);
    await waitFor(
      'control-plane etcd /health',
      async () => ((await httpGet(`${etcdEndpoint}/health`)).includes('"health":"true"') ? true : undefined),
      { timeoutMs: 60_000, abortIf: diedEarly(etcd) },
    );
    await startApiserver();
    const kcm = start('kube-controller-manager', 'kube-controller-manager', kcmArgs);
    const scheduler = start('kube-scheduler', 'kube-scheduler', schedulerArgs);
    const alongside = options.alongsideControllers?.({ apiserverUrl, adminKubeconfig });
    // Pods can be created once the default ServiceAccount and the root CA ConfigMap exist: that
    // is the controller manager at work, not merely listening.
    const controllers = waitControllers(kcm, scheduler);
    // Both settled before either failure propagates: the caller's clean-up must see all it started.
    const [first, second] = await Promise.allSettled([controllers, alongside]);
    if (first.status === 'rejected') throw first.reason;
    if (second.status === 'rejected') throw second.reason;
  } catch (err) {
    await stop();
    throw err;
  }

  async function waitControllers(kcm: ManagedProcess, scheduler: ManagedProcess): Promise<void> {
    await waitFor(
      'kube-controller-manager to create default/default ServiceAccount and kube-root-ca.crt',
      async () => {
        const sa = await apiGet('/api/v1/namespaces/default/serviceaccounts/default');
        const ca = await apiGet('/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
        return sa.status === 200 && ca.status === 200 ? true : undefined;
      },
      { timeoutMs: 120_000, abortIf: diedEarly(kcm) },
    );
    await waitFor(
      'kube-scheduler /healthz',
      async () =>
        (await httpsGet(`https://${hostIP}:10259/healthz`, { ca: undefined, rejectUnauthorized: false }))
          .status === 200
          ? true
          : undefined,
      { timeoutMs: 60_000, abortIf: diedEarly(scheduler) },
    );
  }

  return {
    apiserverUrl,
    etcdEndpoint,
    adminKubeconfig,
    apiserverKubeletClient,
    processes: () => started.filter((p) => !p.hasExited),
    async restartApiserver() {
      if (apiserver) await apiserver.stop(10_000);
      await startApiserver();
    },
    async compactEtcd() {
      const etcdctl = tool('etcdctl');
      const { stdout } = await execFileAsync(etcdctl, [
        `--endpoints=${etcdEndpoint}`,
        'endpoint',
        'status',
        '-w',
        'json',
      ]);
      const [status] = JSON.parse(stdout) as [{ Status: { header: { revision: number } } }];
      await execFileAsync(etcdctl, [
        `--endpoints=${etcdEndpoint}`,
        'compact',
        String(status.Status.header.revision),
      ]);
    },
    stop,
  };
}

interface HttpsResult {
  status: number;
  body: string;
}

function httpsGet(
  url: string,
  tls: { ca: Buffer | undefined; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ...tls, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

async function httpGet(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}
