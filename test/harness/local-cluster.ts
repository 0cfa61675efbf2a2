// A local Kubernetes cluster made of real upstream components (see control-plane.ts) plus the
// process kubelet and the local-path provisioner that stand in for a container runtime and a
// storage driver. Used by the integration and e2e tiers, the benchmarks and `npm run local-up`.
//
//   const cluster = await startLocalCluster({ name: 'my-test' });
//   … cluster.kubeConfig (admin), cluster.kubectl(['get', 'pods', '-A']) …
//   await cluster.stop();
//
// Every cluster owns a loopback /16 (cluster-slot.ts), so several run side by side.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { claimSlot } from './cluster-slot.ts';
import { type ControlPlane, startControlPlane } from './control-plane.ts';
import { connectExistingCluster, existingClusterKubeconfig } from './existing-cluster.ts';
import { type KubectlResult, runKubectl } from './kubectl.ts';
import type { KubeletConfig } from './kubelet/config.ts';
import { DEFAULT_NODE_NAME, type ProcessKubelet, startProcessKubelet } from './kubelet/launch.ts';
import { type LocalPathProvisioner, startLocalPathProvisioner } from './local-path-provisioner.ts';
import { createPki, type Pki } from './pki.ts';
import type { ManagedProcess } from './process.ts';
import { ensureTools, toolsBinDir } from './tools.ts';

export type { KubectlResult } from './kubectl.ts';

export interface LocalClusterOptions {
  /** Names the cluster's directory; defaults to "local". */
  name?: string;
  /** Keep the directory (logs, etcd data) after stop; also set by KEEP_LOCAL_CLUSTER=1. */
  keepDir?: boolean;
  /**
   * Start the process kubelet (Node `local-node`) and the local-path provisioner with its default
   * StorageClass; default true. Tests of the control plane alone turn it off to start faster.
   */
  kubelet?: boolean;
  /** Settings passed to the process kubelet (restart back-off, lease timings …). */
  kubeletOverrides?: Partial<KubeletConfig>;
}

export interface LocalCluster {
  name: string;
  /** Holds logs/, the PKI, kubeconfigs and the etcd data. */
  dir: string;
  /** The loopback /16 of this cluster, e.g. "127.21"; pods get addresses in it. */
  subnet: string;
  /** Where the control plane listens, and the node's InternalIP. */
  hostIP: string;
  apiserverUrl: string;
  /** Admin (system:masters) kubeconfig file and the same loaded for @kubernetes/client-node. */
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  pki: Pki;
  toolsBinDir: string;
  /** The node's name when the kubelet runs ("local-node"). */
  nodeName: string;
  /** Where the local-path provisioner makes PV directories (under dir). */
  localPathDir: string;
  /** The process kubelet, when started. */
  kubelet: ProcessKubelet | undefined;
  /** Runs the real kubectl against this cluster as admin; rejects with stderr on a non-zero exit. */
  kubectl(args: readonly string[], options?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** The cluster's live component processes (for tests that check nothing outlives a stop). */
  processes(): ManagedProcess[];
  restartApiserver(): Promise<void>;
  compactEtcd(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<LocalCluster> {
  const name = options.name ?? 'local';
  // The snapshot CRDs too: files install them on a bare cluster (installSnapshotCrds).
  await ensureTools(['etcd', 'kubernetes', 'snapshotter']);
  // ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG (hack/kind-e2e.sh): a cluster that runs already; start nothing.
  const existing = existingClusterKubeconfig();
  if (existing) return connectExistingCluster(existing, name);
  const slot = claimSlot();
  const dir = join(tmpdir(), 'etcd-snapshot-driver-clusters', `${name}-${slot.index}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const keepDir = options.keepDir ?? process.env.KEEP_LOCAL_CLUSTER === '1';

  let controlPlane: ControlPlane | undefined;
  let kubelet: ProcessKubelet | undefined;
  let provisioner: LocalPathProvisioner | undefined;
  const stop = async () => {
    try {
      await provisioner?.stop();
      // The kubelet first: it ends its pods while the apiserver can still record it.
      await kubelet?.stop();
      await controlPlane?.stop();
    } finally {
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
      slot.release();
    }
  };

  try {
    const pki = createPki(join(dir, 'pki'));
    const localPathDir = join(dir, 'local-path');
    const kubeConfig = new KubeConfig();
    const startNode = async (api: { apiserverUrl: string; adminKubeconfig: string }) => {
      kubeConfig.loadFromFile(api.adminKubeconfig);
      if (!(options.kubelet ?? true)) return;
      kubelet = await startProcessKubelet({
        dir,
        pki,
        apiserverUrl: api.apiserverUrl,
        nodeIP: slot.hostIP,
        podSubnet: slot.subnet,
        adminKubeConfig: kubeConfig,
        toolsBinDir: toolsBinDir(),
        localPathDir,
        ...(options.kubeletOverrides ? { overrides: options.kubeletOverrides } : {}),
      });
      provisioner = await startLocalPathProvisioner(kubeConfig, {
        baseDir: localPathDir,
        nodeName: DEFAULT_NODE_NAME,
      });
    };
    controlPlane = await startControlPlane({
      dir,
      hostIP: slot.hostIP,
      pki,
      alongsideControllers: startNode,
    });
    const cp = controlPlane;
    const startedKubelet = kubelet;
    return {
      name,
      dir,
      subnet: slot.subnet,
      hostIP: slot.hostIP,
      apiserverUrl: cp.apiserverUrl,
      kubeconfigPath: cp.adminKubeconfig,
      kubeConfig,
      pki,
      toolsBinDir: toolsBinDir(),
      nodeName: DEFAULT_NODE_NAME,
      localPathDir,
      kubelet: startedKubelet,
      kubectl: (args, kubectlOptions) => runKubectl(cp.adminKubeconfig, args, kubectlOptions),
      processes: () => [
        ...cp.processes(),
        ...(startedKubelet && !startedKubelet.process.hasExited ? [startedKubelet.process] : []),
      ],
      restartApiserver: () => cp.restartApiserver(),
      compactEtcd: () => cp.compactEtcd(),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
