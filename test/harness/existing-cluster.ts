// The e2e suite against a cluster someone else started (hack/kind-e2e.sh, or a local cluster of
// another process): ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG names its kubeconfig, and
// startLocalCluster() then connects to it instead of starting a control plane and a kubelet.
// Nothing of that cluster runs on this machine as far as the harness knows, so what needs the
// process kubelet's host access — reading a volume's files on the host path, killing a pod's
// processes, restarting the apiserver — is not done; each omission prints one line saying what.
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { runKubectl } from './kubectl.ts';
import type { LocalCluster } from './local-cluster.ts';
import type { Pki } from './pki.ts';
import { toolsBinDir } from './tools.ts';

export const E2E_KUBECONFIG_ENV = 'ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG';

/** The kubeconfig path of the cluster to use instead of a local one, if one is given. */
export function existingClusterKubeconfig(): string | undefined {
  const path = process.env[E2E_KUBECONFIG_ENV]?.trim();
  return path ? path : undefined;
}

/** Whether this run may touch the cluster's host: its volumes' files, its processes. */
export function hasHostAccess(): boolean {
  return existingClusterKubeconfig() === undefined;
}

/**
 * Runs `check` when the harness has host access; otherwise prints that `what` was not checked,
 * and why. Returns whether it ran.
 */
export async function withHostAccess(what: string, check: () => Promise<void> | void): Promise<boolean> {
  if (hasHostAccess()) {
    await check();
    return true;
  }
  console.log(
    `[harness] not checked on an existing cluster (${E2E_KUBECONFIG_ENV}): ${what} — needs the process kubelet's host access`,
  );
  return false;
}

/**
 * For `describe.skipIf`: true, after printing which file is left out and why, when this run uses
 * an existing cluster and the file needs the harness's own (its own driver in-process or from its
 * own overlay, the process kubelet's image table, files on host paths, killing processes).
 */
export function localClusterOnly(file: string, why: string): boolean {
  if (hasHostAccess()) return false;
  console.log(`[harness] not run on an existing cluster (${E2E_KUBECONFIG_ENV}): ${file} — ${why}`);
  return true;
}

function unavailable(what: string): Error {
  return new Error(
    `${what} needs the local cluster of test/harness; this run uses an existing cluster (${E2E_KUBECONFIG_ENV})`,
  );
}

/** A LocalCluster over an existing cluster: the API and kubectl work, host-side parts throw. */
export function connectExistingCluster(kubeconfigPath: string, name: string): LocalCluster {
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(kubeconfigPath);
  } catch (err) {
    throw new Error(`${E2E_KUBECONFIG_ENV}=${kubeconfigPath}: cannot load it: ${(err as Error).message}`);
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server)
    throw new Error(`${E2E_KUBECONFIG_ENV}=${kubeconfigPath}: its current context names no cluster server`);
  // Local scratch space only (fixture client credentials, restored snapshots): not the cluster's.
  const dir = join(tmpdir(), 'etcd-snapshot-driver-clusters', `${name}-existing-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  console.log(
    `[harness] ${name}: using the existing cluster at ${server} (${E2E_KUBECONFIG_ENV}=${kubeconfigPath}); ` +
      'no control plane or kubelet started',
  );
  return {
    name,
    dir,
    get subnet(): string {
      throw unavailable('the cluster’s loopback subnet');
    },
    hostIP: new URL(server).hostname,
    apiserverUrl: server,
    kubeconfigPath,
    kubeConfig,
    get pki(): Pki {
      throw unavailable('the cluster’s PKI');
    },
    toolsBinDir: toolsBinDir(),
    get nodeName(): string {
      throw unavailable('the process kubelet’s node');
    },
    get localPathDir(): string {
      throw unavailable('the local-path provisioner’s host directory');
    },
    kubelet: undefined,
    kubectl: (args, options) => runKubectl(kubeconfigPath, args, options),
    processes: () => [],
    restartApiserver: () => Promise.reject(unavailable('restarting the apiserver')),
    compactEtcd: () => Promise.reject(unavailable('compacting the control plane’s etcd')),
    stop: async () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
