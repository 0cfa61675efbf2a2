// The environment hack/csi-sanity.sh runs csi-sanity against when no CSI_ENDPOINT is given: a
// local cluster, the driver's CRDs, the 3-member etcd fixture (etcd.io/cluster=main in namespace
// etcd) and the CSI server on the socket named by argv[2]. Prints READY with the endpoint and
// the fixture's name, then serves until SIGTERM or SIGINT and tears everything down.
//
//   node test/integration/csi/sanity-env.ts /tmp/x/csi.sock
import { startLocalCluster } from '../../harness/local-cluster.ts';
import { ensureTools } from '../../harness/tools.ts';
import { deployEtcd, ETCD_FIXTURE, installCrds, startDriver } from './driver-env.ts';

const socket = process.argv[2];
if (!socket) {
  process.stderr.write('usage: sanity-env.ts <socket path>\n');
  process.exit(2);
}
const say = (line: string) => process.stdout.write(`${line}\n`);

await ensureTools(['etcd', 'kubernetes']);
const cluster = await startLocalCluster({ name: 'csi-sanity' });
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  await env?.stop().catch(() => undefined);
  await cluster.stop();
  process.exit(code);
};
process.once('SIGTERM', () => void stop(0));
process.once('SIGINT', () => void stop(0));
let env: Awaited<ReturnType<typeof startDriver>> | undefined;
try {
  await installCrds(cluster);
  await deployEtcd(cluster);
  env = await startDriver(cluster, { socket, etcdNamespace: ETCD_FIXTURE.namespace! });
  say(
    `READY CSI_ENDPOINT=${env.endpoint} ETCD_CLUSTER=${ETCD_FIXTURE.name} ETCD_NAMESPACE=${ETCD_FIXTURE.namespace}`,
  );
  say(`KUBECONFIG=${cluster.kubeconfigPath}`);
} catch (err) {
  process.stderr.write(`sanity-env: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stop(1);
}
