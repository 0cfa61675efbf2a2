// A replica's identity: the pod's hostname (its name) plus a random suffix, so a restarted
// container never mistakes its predecessor's Leases for its own (client-go: hostname + "_" + UUID).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID().slice(0, 8)}`;
}
