// ETCD_DISCOVERY_METHOD reaches the pipeline: a record whose cluster was found by its pods is
// looked up again (pod IPs change) only by the methods allowed; otherwise its recorded endpoints
// are used.
import { describe, expect, it } from 'vitest';
import { credentialsFromSecret } from '../../../../src/etcd/credentials.ts';
import type { DiscoverySource } from '../../../../src/etcd/discovery.ts';
import { RecordingPipelineMetrics } from '../../../../src/reconcile/etcd-snapshot/metrics.ts';
import { resolvePipelineOptions } from '../../../../src/reconcile/etcd-snapshot/options.ts';
import { EtcdSnapshotReconciler } from '../../../../src/reconcile/etcd-snapshot/reconciler.ts';
import { createLogger } from '../../../../src/telemetry/logger.ts';
import { etcdPod } from '../../csi/fakes.ts';
import { FakeWorld, healthy } from './fakes.ts';

/** The endpoints CheckHealth is given for a record found by `pods` at a since-changed address. */
async function checkedEndpoints(methods: DiscoverySource[] | undefined): Promise<string[]> {
  const w = new FakeWorld();
  const record = w.addRecord('r1');
  w.records.upsert({
    ...record,
    spec: {
      ...record.spec,
      cluster: { ...record.spec.cluster, endpoints: ['http://10.0.0.9:2379'], discoveredBy: 'pods' },
    },
  });
  w.pods.upsert(etcdPod('etcd-0', { namespace: 'etcd', cluster: 'main', ip: '10.0.0.7' }));
  const seen: string[][] = [];
  const logger = createLogger({ level: 'error', format: 'json' });
  const reconciler = new EtcdSnapshotReconciler({
    stores: {
      etcdSnapshots: w.records,
      jobs: w.jobs,
      pods: w.pods,
      persistentVolumeClaims: w.claims,
      statefulSets: w.statefulSets,
    },
    api: w,
    options: resolvePipelineOptions({
      agentImage: 'etcd-snapshot-driver:dev',
      executorServiceAccount: 'etcd-snapshot-executor',
      defaultStorageClass: 'standard',
      ...(methods ? { discovery: { methods } } : {}),
    }),
    metrics: new RecordingPipelineMetrics(),
    logger,
    parseCredentials: credentialsFromSecret,
    health: async (endpoints) => {
      seen.push(endpoints);
      return healthy;
    },
  });
  await reconciler.reconcile('etcd/r1', {
    signal: new AbortController().signal,
    assertOwner: () => {},
    log: logger,
  });
  return seen[0]!;
}

describe('pipeline rediscovery and the discovery methods', () => {
  it('looks the pods up again when `label` is allowed', async () => {
    expect(await checkedEndpoints(undefined)).toEqual(['http://10.0.0.7:2379']);
    expect(await checkedEndpoints(['label'])).toEqual(['http://10.0.0.7:2379']);
  });

  it('keeps the recorded endpoints when only other methods are', async () => {
    expect(await checkedEndpoints(['statefulset', 'annotation'])).toEqual(['http://10.0.0.9:2379']);
  });
});
