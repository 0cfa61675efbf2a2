// vitest globalSetup of the cluster tiers: builds (or finds cached) the upstream components once,
// before any test file starts a cluster. A cold build prints its progress and takes minutes.
import { ensureTools } from './tools.ts';

export default async function setup(): Promise<void> {
  await ensureTools([
    'etcd',
    'kubernetes',
    'snapshotter',
    'provisioner',
    'csi-test',
    'jaeger',
    'prometheus',
    'versitygw',
    'velero',
  ]);
}
