// Crash failover and graceful handover times of bucket Leases with the default timings
// (LeaseDuration 15 s, RenewDeadline 10 s, RetryPeriod 2 s) on a local cluster.
//
//   node bench/failover.ts [--rounds 3] [--replicas 3] [--buckets 6]
//
// Each round: replicas settle; one is stopped without releasing (a crash) and the time until all
// of its buckets are held by the others is measured; then a fresh replica joins, settles, and
// one is stopped gracefully (drain, release) and measured the same way.
// Goals (issue 3): crash ≤ 20 s, graceful ≤ 5 s.
import { pino } from 'pino';
import { KubeClient } from '../src/informers/kube-client.ts';
import { BucketElector, DEFAULT_BUCKETS } from '../src/leader/bucket-elector.ts';
import { kubeLeaseApi } from '../src/leader/lease-api.ts';
import { DEFAULT_LEASE_TIMING } from '../src/leader/timing.ts';
import { startLocalCluster } from '../test/harness/local-cluster.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const rounds = flag('rounds', 3);
const replicaCount = flag('replicas', 3);
const buckets = flag('buckets', DEFAULT_BUCKETS);
const NS = 'failover-bench';

const cluster = await startLocalCluster({ name: 'failover-bench', kubelet: false });
const client = new KubeClient(cluster.kubeConfig);
const log = pino({ level: 'silent' });
let seq = 0;
const spawn = () => {
  const elector = new BucketElector({
    api: kubeLeaseApi(client, NS),
    name: 'bench',
    identity: `replica-${++seq}`,
    buckets,
    logger: log,
  });
  elector.start();
  return elector;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settle = async (rs: BucketElector[]) => {
  while (true) {
    const held = rs.map((r) => r.heldBuckets().length);
    if (held.reduce((a, b) => a + b, 0) === buckets && Math.max(...held) - Math.min(...held) <= 1) return;
    await sleep(100);
  }
};
const movedAfter = async (from: BucketElector, to: BucketElector[], stop: () => Promise<void>) => {
  const orphaned = from.heldBuckets();
  const started = performance.now();
  await stop();
  while (!orphaned.every((b) => to.some((r) => r.heldBuckets().includes(b)))) await sleep(20);
  return (performance.now() - started) / 1000;
};
const summary = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return `min ${sorted[0]!.toFixed(1)} s, median ${sorted[Math.floor(sorted.length / 2)]!.toFixed(1)} s, max ${sorted.at(-1)!.toFixed(1)} s`;
};

try {
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
  const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp } = DEFAULT_LEASE_TIMING;
  console.log(
    `failover: ${replicaCount} replicas, B = ${buckets}, LD ${ld / 1000} s / RD ${rd / 1000} s / RP ${rp / 1000} s, ${rounds} rounds`,
  );
  let replicas = Array.from({ length: replicaCount }, spawn);
  const crash: number[] = [];
  const graceful: number[] = [];
  for (let round = 0; round < rounds; round++) {
    await settle(replicas);
    let [victim, ...rest] = replicas as [BucketElector, ...BucketElector[]];
    crash.push(await movedAfter(victim, rest, () => victim.stop({ release: false })));
    replicas = [...rest, spawn()];
    await settle(replicas);
    [victim, ...rest] = replicas as [BucketElector, ...BucketElector[]];
    graceful.push(await movedAfter(victim, rest, () => victim.stop()));
    replicas = [...rest, spawn()];
    console.log(
      `  round ${round + 1}: crash ${crash.at(-1)!.toFixed(1)} s, graceful ${graceful.at(-1)!.toFixed(1)} s`,
    );
  }
  console.log(`  crash failover     ${summary(crash)}  (goal ≤ 20 s)`);
  console.log(`  graceful handover  ${summary(graceful)}  (goal ≤ 5 s)`);
  await Promise.all(replicas.map((r) => r.stop()));
} finally {
  client.destroy();
  await cluster.stop();
}
