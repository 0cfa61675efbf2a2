// Which driver replica owns an etcd cluster, and how to kill it for real. A bucket Lease's
// holderIdentity is the replica's identity: its pod's name and a suffix random per process
// (src/leader/identity.ts), so a restarted container is a new holder.
import { readFileSync } from 'node:fs';
import { bucketLeaseName, bucketOf } from '../../../src/leader/buckets.ts';
import type { LocalCluster } from '../../harness/local-cluster.ts';
import { DRIVER_NAME, DRIVER_NAMESPACE } from '../../harness/snapshot-stack.ts';
import { BUCKETS } from './ha-stack.ts';

export interface LeaseInfo {
  metadata: { name: string; resourceVersion?: string; uid: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    renewTime?: string;
    acquireTime?: string;
    leaseTransitions?: number;
  };
}

/** The bucket Lease deciding who reconciles an etcd cluster's records (key `<namespace>/<name>`). */
export function bucketLeaseOf(clusterKey: string): string {
  return bucketLeaseName(DRIVER_NAME, bucketOf(clusterKey, BUCKETS), BUCKETS);
}

export async function leaseHolder(cluster: LocalCluster, lease: string): Promise<string> {
  const { stdout } = await cluster.kubectl([
    'get',
    'lease',
    lease,
    '-n',
    DRIVER_NAMESPACE,
    '-o',
    'jsonpath={.spec.holderIdentity}',
  ]);
  return stdout.trim();
}

export { podOfIdentity } from '../../../src/leader/identity.ts';

/** Bucket Leases by holder (holders without a bucket are absent). */
export async function bucketsByHolder(cluster: LocalCluster): Promise<Map<string, string[]>> {
  const { stdout } = await cluster.kubectl(['get', 'leases', '-n', DRIVER_NAMESPACE, '-o', 'json']);
  const byHolder = new Map<string, string[]>();
  for (const l of (JSON.parse(stdout) as { items: LeaseInfo[] }).items) {
    if (!new RegExp(`^${DRIVER_NAME}-bucket-\\d+-of-${BUCKETS}$`).test(l.metadata.name)) continue;
    const holder = l.spec?.holderIdentity ?? '';
    if (holder === '') continue;
    byHolder.set(holder, [...(byHolder.get(holder) ?? []), l.metadata.name]);
  }
  return byHolder;
}

/**
 * The host PID of a pod's driver process. The process kubelet reports containerID
 * `process://<pid of the container's unshare>`; unshare's one child is the container's PID 1,
 * which is the driver itself (entry script → setpriv → bin/etcd-snapshot-driver → node, all by
 * exec). The command line is checked so a test never kills the wrong process.
 */
export async function driverPid(cluster: LocalCluster, pod: string): Promise<number> {
  const { stdout } = await cluster.kubectl([
    'get',
    'pod',
    pod,
    '-n',
    DRIVER_NAMESPACE,
    '-o',
    'jsonpath={.status.containerStatuses[?(@.name=="driver")].containerID}',
  ]);
  const unshare = /^process:\/\/(\d+)$/.exec(stdout.trim())?.[1];
  if (!unshare) throw new Error(`pod ${pod}: driver containerID is "${stdout.trim()}", not process://<pid>`);
  const children = readFileSync(`/proc/${unshare}/task/${unshare}/children`, 'utf8').trim().split(/\s+/);
  if (children.length !== 1 || !children[0])
    throw new Error(`pod ${pod}: unshare ${unshare} has children [${children.join(' ')}], expected one`);
  const pid = Number(children[0]);
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!cmdline.some((a) => a.endsWith('/src/main.ts')))
    throw new Error(`pod ${pod}: PID ${pid} runs "${cmdline.join(' ')}", not the driver`);
  return pid;
}
