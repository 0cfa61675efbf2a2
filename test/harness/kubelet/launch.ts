// Starts the process kubelet for a local cluster: issues its credentials from the cluster's PKI
// (client certificate CN=system:node:<node>, O=system:nodes; serving certificate for the node IP),
// writes its kubeconfig and config file into the cluster directory, runs
// `node test/harness/kubelet/main.ts --config <dir>/kubelet.json` as a harness process (pdeathsig,
// own process group, output to <rootDir>/kubelet.log) and waits until its Node is Ready.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { type Pki, writeKubeconfig } from '../pki.ts';
import { type ManagedProcess, startProcess, waitFor } from '../process.ts';
import type { KubeletConfig } from './config.ts';

export const DEFAULT_NODE_NAME = 'local-node';
export const KUBELET_PORT = 10250;

export interface ProcessKubeletOptions {
  /** The cluster's directory: kubelet.json, kubelet.kubeconfig and the kubelet's rootDir (kubelet/) go there. */
  dir: string;
  pki: Pki;
  apiserverUrl: string;
  /** The node's InternalIP; the apiserver's host when there is one address per cluster. */
  nodeIP: string;
  /** First two octets of the pods' addresses, e.g. "127.21". */
  podSubnet: string;
  /** An admin client, used to wait for the Node to become Ready. */
  adminKubeConfig: KubeConfig;
  toolsBinDir: string;
  /** Where the local-path provisioner makes PV directories. */
  localPathDir: string;
  nodeName?: string;
  projectRoot?: string;
  /** Any other KubeletConfig field (restartBackoff, leaseRenewSeconds …). */
  overrides?: Partial<KubeletConfig>;
  readyTimeoutMs?: number;
}

export interface ProcessKubelet {
  config: KubeletConfig;
  configFile: string;
  /** The kubelet's own log (JSON lines). */
  logFile: string;
  /** The current kubelet process (a new one after restart()). */
  readonly process: ManagedProcess;
  /** SIGTERM: the kubelet kills its pods' processes and exits; SIGKILL after 15 s. */
  stop(): Promise<void>;
  /**
   * Stops the kubelet and starts it again with the same config; resolves once it is Ready and
   * synced. `crash: true` kills it with SIGKILL instead of SIGTERM: its pods' processes die by
   * pdeathsig, as when a node's kubelet and runtime crash together.
   */
  restart(options?: { crash?: boolean }): Promise<void>;
}

export async function startProcessKubelet(options: ProcessKubeletOptions): Promise<ProcessKubelet> {
  const nodeName = options.nodeName ?? DEFAULT_NODE_NAME;
  const rootDir = join(options.dir, 'kubelet');
  mkdirSync(rootDir, { recursive: true });
  const apiserver = new URL(options.apiserverUrl);

  const client = options.pki.issue('kubelet-client', {
    commonName: `system:node:${nodeName}`,
    organizations: ['system:nodes'],
    usage: 'client',
  });
  const serving = options.pki.issue('kubelet-serving', {
    commonName: nodeName,
    usage: 'server',
    ipAddresses: [options.nodeIP],
    dnsNames: [nodeName],
  });
  const kubeconfig = join(options.dir, 'kubelet.kubeconfig');
  writeKubeconfig(
    kubeconfig,
    options.apiserverUrl,
    options.pki.ca.certFile,
    `system:node:${nodeName}`,
    client,
  );

  const config: KubeletConfig = {
    nodeName,
    kubeconfig,
    nodeIP: options.nodeIP,
    podSubnet: options.podSubnet,
    apiserverHost: apiserver.hostname,
    apiserverPort: Number(apiserver.port || 443),
    rootDir,
    port: KUBELET_PORT,
    tlsCertFile: serving.certFile,
    tlsKeyFile: serving.keyFile,
    clientCAFile: options.pki.ca.certFile,
    projectRoot: options.projectRoot ?? resolve(import.meta.dirname, '../../..'),
    toolsBinDir: options.toolsBinDir,
    localPathDir: options.localPathDir,
    ...options.overrides,
  };
  const configFile = join(options.dir, 'kubelet.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);

  const logFile = join(rootDir, 'kubelet.log');
  const core = options.adminKubeConfig.makeApiClient(CoreV1Api);
  const readyTimeoutMs = options.readyTimeoutMs ?? 60_000;

  /** Starts the process; resolves once its Node is Ready and it has synced its pods. */
  const launch = async (): Promise<ManagedProcess> => {
    const readyBefore = readyLines(logFile);
    const proc = startProcess(
      'kubelet',
      // The project's own Node (24, with type stripping), whatever node runs the harness.
      join(config.projectRoot, 'node_modules/.bin/node'),
      [join(config.projectRoot, 'test/harness/kubelet/main.ts'), '--config', configFile],
      { logFile, cwd: config.projectRoot },
    );
    try {
      await waitFor(
        `node ${nodeName} to be Ready`,
        async () => {
          if (readyLines(logFile) <= readyBefore) return undefined;
          const node = await core.readNode({ name: nodeName });
          return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
            ? true
            : undefined;
        },
        {
          timeoutMs: readyTimeoutMs,
          abortIf: () => (proc.hasExited ? `the kubelet exited early:\n${tail(logFile)}` : undefined),
        },
      );
    } catch (err) {
      await proc.stop(5_000);
      throw err;
    }
    return proc;
  };

  let proc = await launch();
  return {
    config,
    configFile,
    logFile,
    get process() {
      return proc;
    },
    async stop() {
      await proc.stop(15_000);
    },
    async restart({ crash = false } = {}) {
      if (crash) {
        process.kill(proc.pid, 'SIGKILL');
        await proc.exited;
      } else await proc.stop(15_000);
      proc = await launch();
    },
  };
}

/** How many times the kubelet logged that it is ready (once per start). */
function readyLines(file: string): number {
  try {
    return readFileSync(file, 'utf8').split('"message":"ready"').length - 1;
  } catch {
    return 0;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
