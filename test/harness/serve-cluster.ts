// A local cluster for other processes: starts one with the snapshot stack as hack/kind-e2e.sh
// prepares a kind cluster (the snapshot CRDs, snapshot-controller, the driver of
// deploy/overlays/local), prints one JSON line {"kubeconfig", "apiserver", "dir"} on stdout when
// it is ready, and keeps it until SIGTERM or SIGINT (or until its parent dies: every component
// runs under pdeathsig). The e2e suite then uses it through ETCD_SNAPSHOT_DRIVER_E2E_KUBECONFIG.
//
//   node test/harness/serve-cluster.ts [name]
import { E2E_KUBECONFIG_ENV } from './existing-cluster.ts';
import { type LocalCluster, startLocalCluster } from './local-cluster.ts';
import { type SnapshotStack, startSnapshotStack } from './snapshot-stack.ts';
import { ensureTools } from './tools.ts';

// This process starts the cluster; it must not connect to one named in its environment.
delete process.env[E2E_KUBECONFIG_ENV];
const name = process.argv[2] ?? 'served';
const log = (line: string) => process.stderr.write(`[serve-cluster] ${line}\n`);

let cluster: LocalCluster | undefined;
let stack: SnapshotStack | undefined;
let stopping = false;
const stop = async (why: string, exitCode: number) => {
  if (stopping) return;
  stopping = true;
  log(`${why}: stopping`);
  try {
    await stack?.stop();
    await cluster?.stop();
  } finally {
    process.exit(exitCode);
  }
};
process.on('SIGTERM', () => void stop('SIGTERM', 0));
process.on('SIGINT', () => void stop('SIGINT', 0));

try {
  await ensureTools(['etcd', 'kubernetes', 'snapshotter', 'provisioner']);
  cluster = await startLocalCluster({ name });
  log(`cluster up at ${cluster.apiserverUrl}; deploying the snapshot stack`);
  stack = await startSnapshotStack(cluster, { overlay: 'local' });
  process.stdout.write(
    `${JSON.stringify({ kubeconfig: cluster.kubeconfigPath, apiserver: cluster.apiserverUrl, dir: cluster.dir })}\n`,
  );
  log('ready; SIGTERM or SIGINT stops it');
} catch (err) {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  await stop('start failed', 1);
}
