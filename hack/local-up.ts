// The main job: a local Kubernetes built from the pinned upstream components, with a 3-member
// etcd cluster to back up. Runs until Ctrl-C (or SIGTERM), then tears everything down.
//
//   npm run local-up
import { deployEtcdFixture } from '../test/harness/etcd-fixture.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';
import { ensureTools } from '../test/harness/tools.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);

await ensureTools(['etcd', 'kubernetes']);
say('[local-up] starting the local cluster …');
const cluster = await startLocalCluster({ name: 'local-up', keepDir: true });

let stopping = false;
const stop = async (signal: string, exitCode = 0) => {
  if (stopping) return;
  stopping = true;
  say(`\n[local-up] ${signal}: tearing down …`);
  await cluster.stop();
  say(`[local-up] stopped. Logs stay in ${cluster.dir}/logs`);
  process.exit(exitCode);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));

try {
  say('[local-up] deploying a 3-member etcd StatefulSet (etcd.io/cluster=demo) …');
  const etcd = await deployEtcdFixture(cluster, { name: 'demo', namespace: 'etcd-demo' });
  await etcd.etcdctl(['put', '/demo/hello', 'world']);
  const members = await etcd.etcdctl(['member', 'list', '-w', 'table']);
  say(`[local-up] etcd is healthy:\n${members}`);
  say(`
The cluster is up. In another shell:

  export KUBECONFIG=${cluster.kubeconfigPath}
  export PATH=${cluster.toolsBinDir}:$PATH
  kubectl get nodes,pods -A -o wide
  kubectl -n etcd-demo logs demo-0
  etcdctl --endpoints=${(await etcd.endpoints()).join(',')} get /demo/hello

Component logs: ${cluster.dir}/logs
Press Ctrl-C to tear everything down.`);
} catch (err) {
  say(`[local-up] failed: ${err instanceof Error ? err.message : String(err)}`);
  await stop('failure', 1);
}
