// A replica's identity: its pod's name (POD_NAME, else the hostname, which is the pod name in a
// pod) plus a random suffix, so a restarted container never mistakes its predecessor's Leases for
// its own (client-go: hostname + "_" + UUID). The pod name stays readable in `kubectl get leases`.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export function defaultIdentity(podName: string | undefined = process.env.POD_NAME): string {
  return `${podName || hostname()}_${randomUUID().slice(0, 8)}`;
}

/** The pod name part of an identity made by defaultIdentity. */
export function podOfIdentity(identity: string): string {
  return identity.replace(/_[0-9a-f]{8}$/, '');
}
