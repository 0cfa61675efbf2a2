// Loads the driver's Kubernetes client configuration once. @kubernetes/client-node caches one
// HTTP agent per (cluster, user) inside a KubeConfig, so every API client made from the same
// KubeConfig shares connections: build one at start and pass it everywhere.
//
// KubeConfig is imported from its own module, not the package's index: the index also loads the
// generated API client, which the driver does not use (skip-generated-api.ts).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';

/** From a kubeconfig file when a path is given (--kubeconfig / KUBECONFIG), else in-cluster. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromCluster();
  return kc;
}
