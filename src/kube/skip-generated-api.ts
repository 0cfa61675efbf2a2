// @kubernetes/client-node's KubeConfig (dist/config.js) imports the library's whole generated API
// client (dist/gen/index.js) for one method, makeApiClient, which the driver never calls: it talks
// to the apiserver through its own client (src/informers/kube-client.ts) and uses KubeConfig only
// to load the kubeconfig and to apply its TLS and credentials (exec, OIDC and token files still
// work). The generated API is 26–28 MB of the driver's RSS (bench/README.md, "Memory bounded by what
// the driver manages"). This resolve hook gives that one import a stand-in whose two exports
// throw, so the driver's process loads the kubeconfig loader without it.
//
// Registered by main.ts for the driver only, before the driver's modules load. A test or tool that
// shares a process with client-node's generated API (the harness calls makeApiClient) must not
// register it. Should a client-node release import more from the generated API, the stand-in
// lacks that export and the driver fails at start, naming it, rather than at some later call.
import { registerHooks } from 'node:module';

const REFUSE =
  "throw new Error('KubeConfig.makeApiClient is not available: etcd-snapshot-driver loads @kubernetes/client-node without its generated API (src/kube/skip-generated-api.ts)')";
const STAND_IN = `data:text/javascript,${encodeURIComponent(
  `export function createConfiguration() { ${REFUSE}; }\nexport class ServerConfiguration { constructor() { ${REFUSE}; } }\n`,
)}`;

/** Whether `specifier`, imported by `parentURL`, is client-node's config.js importing the generated API. */
export function isGeneratedApiImport(specifier: string, parentURL: string | undefined): boolean {
  return (
    specifier === './gen/index.js' &&
    (parentURL?.endsWith('/@kubernetes/client-node/dist/config.js') ?? false)
  );
}

let registered = false;

/** From now on, client-node's KubeConfig loads without the generated API client. Idempotent. */
export function skipClientNodeGeneratedApi(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      if (isGeneratedApiImport(specifier, context.parentURL)) return { url: STAND_IN, shortCircuit: true };
      return nextResolve(specifier, context);
    },
  });
}
