// The process kubelet's configuration: one JSON file written by the harness (launch.ts) and read
// by main.ts. Everything a kubelet would learn from its flags, its kubeconfig and its PKI.
import { readFileSync } from 'node:fs';

export interface KubeletConfig {
  /** The Node's name, e.g. "local-node". */
  nodeName: string;
  /**
   * Path of the kubelet's kubeconfig. Its credentials are a client certificate CN=system:node:<nodeName>,
   * O=system:nodes: the apiserver's Node authorizer and NodeRestriction admission then limit the
   * kubelet to its Node, its Lease, the pods bound to it and the objects those pods reference.
   */
  kubeconfig: string;
  /** The Node's InternalIP, e.g. "127.21.0.1"; also the address of hostNetwork pods. */
  nodeIP: string;
  /** First two octets of the pods' loopback addresses, e.g. "127.21": pods get 127.21.<1..254>.<1..254>. */
  podSubnet: string;
  /** Injected into pods as KUBERNETES_SERVICE_HOST: there is no kube-proxy, pods reach the apiserver directly. */
  apiserverHost: string;
  /** Injected into pods as KUBERNETES_SERVICE_PORT. */
  apiserverPort: number;
  /** The kubelet's own state: pods/<uid>/volumes, container logs, termination-message files, the hosts file. */
  rootDir: string;
  /** Port of the HTTPS server on nodeIP that the apiserver proxies pods/log to (10250). */
  port: number;
  /** Serving certificate and key of that server (IP SAN = nodeIP). */
  tlsCertFile: string;
  tlsKeyFile: string;
  /** The cluster CA: a client certificate the apiserver presents must be signed by it. */
  clientCAFile: string;
  /** The checkout: the driver image runs `<projectRoot>/bin/etcd-snapshot-driver`. */
  projectRoot: string;
  /** Where the built etcd, etcdctl and etcdutl binaries are. */
  toolsBinDir: string;
  /** Where the local-path provisioner creates PV directories (informational for the kubelet). */
  localPathDir: string;
  /**
   * Container restart back-off: the first delay and the cap, in seconds. Defaults to 1 s and 60 s,
   * the values of the kubelet's ReduceDefaultCrashLoopBackOffDecay feature (the classic kubelet
   * uses 10 s and 300 s); tests that crash-loop containers stay fast.
   */
  restartBackoff?: { initialSeconds: number; maxSeconds: number };
  /** Seconds between Lease renewals (10) and node status heartbeats (30); tests may shorten them. */
  leaseRenewSeconds?: number;
  nodeStatusUpdateSeconds?: number;
  /**
   * Containers' memory limits: 'auto' (the default) enforces them with a memory cgroup each where
   * the machine allows it (memory-cgroup.ts) and logs why not elsewhere; 'off' never does.
   */
  memoryLimits?: 'auto' | 'off';
}

const REQUIRED_STRINGS = [
  'nodeName',
  'kubeconfig',
  'nodeIP',
  'podSubnet',
  'apiserverHost',
  'rootDir',
  'tlsCertFile',
  'tlsKeyFile',
  'clientCAFile',
  'projectRoot',
  'toolsBinDir',
  'localPathDir',
] as const;

/** Reads and checks the config file; throws naming the first missing or malformed field. */
export function readKubeletConfig(path: string): KubeletConfig {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  for (const key of REQUIRED_STRINGS) {
    if (typeof raw[key] !== 'string' || raw[key] === '') {
      throw new Error(`kubelet config ${path}: "${key}" must be a non-empty string`);
    }
  }
  for (const key of ['apiserverPort', 'port'] as const) {
    if (typeof raw[key] !== 'number' || !Number.isInteger(raw[key])) {
      throw new Error(`kubelet config ${path}: "${key}" must be an integer`);
    }
  }
  if (!/^127\.\d{1,3}$/.test(raw.podSubnet as string)) {
    throw new Error(
      `kubelet config ${path}: "podSubnet" must look like "127.21", got "${String(raw.podSubnet)}"`,
    );
  }
  return raw as unknown as KubeletConfig;
}
