// ETCD_DISCOVERY_METHOD restricts discovery: a step that is off is not looked at (even when it
// would find the cluster), and the not-found answer says it was off.
import { describe, expect, it } from 'vitest';
import {
  type DiscoverySource,
  type DiscoveryStores,
  discoverEtcdCluster,
  etcdClusterIndexer,
  INDEX_ETCD_CLUSTER,
} from '../../../src/etcd/discovery.ts';
import type { Pod, StatefulSet } from '../../../src/informers/resources.ts';
import { etcdPod, FakeStore } from './fakes.ts';

/** A cluster `main` every step finds: explicit endpoints, Running labelled pods and a StatefulSet. */
function everything(): DiscoveryStores {
  const pods = new FakeStore<Pod>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer });
  pods.upsert(etcdPod('loose-0', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.1' }));
  const statefulSets = new FakeStore<StatefulSet>({ [INDEX_ETCD_CLUSTER]: etcdClusterIndexer });
  statefulSets.upsert({
    metadata: { name: 'etcd', namespace: 'etcd', labels: { 'etcd.io/cluster': 'main' } },
    spec: { replicas: 1, serviceName: 'etcd', selector: {}, template: {} },
  });
  return { pods, statefulSets };
}

const reference = { namespace: 'etcd', name: 'main', endpoints: ['http://10.9.9.9:2379'] };
const by = (
  methods?: DiscoverySource[],
  ref: typeof reference | { namespace: string; name: string } = reference,
) => discoverEtcdCluster(ref, everything(), methods ? { methods } : {});

describe('discovery methods', () => {
  it('uses every step in its order when unrestricted', () => {
    expect(by()).toMatchObject({ found: true, cluster: { discoveredBy: 'pvc-annotation' } });
    expect(by(undefined, { namespace: 'etcd', name: 'main' })).toMatchObject({
      found: true,
      cluster: { discoveredBy: 'pods' },
    });
  });

  it('skips the steps that are off', () => {
    expect(by(['label', 'statefulset'])).toMatchObject({
      found: true,
      cluster: { discoveredBy: 'pods', endpoints: ['http://10.0.0.1:2379'] },
    });
    expect(by(['statefulset'])).toMatchObject({
      found: true,
      cluster: { discoveredBy: 'statefulset', endpoints: ['http://etcd-0.etcd.etcd.svc:2379'] },
    });
  });

  it('says which steps were off when nothing allowed finds the cluster', () => {
    expect(by(['annotation'], { namespace: 'etcd', name: 'main' })).toEqual({
      found: false,
      tried: [
        'labelled pods not looked at: discovery method label is not enabled',
        'labelled StatefulSets not looked at: discovery method statefulset is not enabled',
      ],
    });
    expect(by(['label'], { namespace: 'etcd', name: 'other' })).toEqual({
      found: false,
      tried: [
        'no pods labelled etcd.io/cluster=other in etcd',
        'labelled StatefulSets not looked at: discovery method statefulset is not enabled',
      ],
    });
  });
});
