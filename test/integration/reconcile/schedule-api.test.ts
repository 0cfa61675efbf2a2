// EtcdSnapshotSchedule against a real apiserver: the CRD's schema and CEL rules refuse what they
// can tell (and default what they should), and two replicas writing different clusters' entries
// of one schedule's status (merge patches of status.clusters) never overwrite each other.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverServedVersion, servesResource } from '../../../src/informers/discovery.ts';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { kubeScheduleApi } from '../../../src/reconcile/etcd-snapshot-schedule/kube-api.ts';
import type { EtcdSnapshotSchedule } from '../../../src/records/etcd-snapshot-schedule.ts';
import { waitCrdsEstablished } from '../../harness/kubectl.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';
import { PROJECT_ROOT } from '../../harness/tools.ts';

const NS = 'etcd';
const SCHEDULES = `/apis/snapshot.etcd-snapshot-driver.io/v1alpha1/namespaces/${NS}/etcdsnapshotschedules`;
const log = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

let cluster: LocalCluster;
let client: KubeClient;

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'schedule-api', kubelet: false });
  await cluster.kubectl(['apply', '-f', `${PROJECT_ROOT}/deploy/crds/etcdsnapshotschedules.yaml`]);
  await waitCrdsEstablished(
    (args) => cluster.kubectl(args),
    ['etcdsnapshotschedules.snapshot.etcd-snapshot-driver.io'],
    60_000,
  );
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
});

function schedule(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
    kind: 'EtcdSnapshotSchedule',
    metadata: { name, namespace: NS },
    spec: {
      schedule: '0 * * * *',
      target: { cluster: 'main' },
      snapshot: { className: 'etcd-snapshot' },
      ...spec,
    },
  };
}

async function refusal(body: object): Promise<string> {
  try {
    await client.request('POST', SCHEDULES, { body });
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('the EtcdSnapshotSchedule CRD', () => {
  it('refuses what the schema can tell, each with its message', async () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['h', { schedule: 'H * * * *' }, /H \(a random value\) is not supported/],
      [
        'two-targets',
        { target: { cluster: 'main', selector: { matchLabels: { a: 'b' } } } },
        /exactly one of target.cluster and target.selector/,
      ],
      ['no-target', { target: {} }, /exactly one of target.cluster and target.selector/],
      ['empty-selector', { target: { selector: {} } }, /an empty selector would select every claim/],
      [
        'group-no-selector',
        { snapshot: { kind: 'VolumeGroupSnapshot', className: 'g' } },
        /needs target.selector/,
      ],
      ['keep-none', { retention: { keepLast: 0 } }, /keepLast/],
      ['bad-age', { retention: { maxAge: '1.5h' } }, /maxAge/],
      ['no-buckets', { retention: { exponential: { buckets: [] } } }, /buckets/],
      ['other-policy', { concurrencyPolicy: 'Allow' }, /concurrencyPolicy/],
    ];
    for (const [name, spec, message] of cases)
      expect(await refusal(schedule(`bad-${name}`, spec)), name).toMatch(message);
  });

  it('accepts a valid schedule and defaults concurrencyPolicy, the run kind and failedLimit', async () => {
    const created = await client.request<EtcdSnapshotSchedule>('POST', SCHEDULES, {
      body: schedule('ok', {
        timeZone: 'Europe/Berlin',
        retention: { keepLast: 3 },
        schedule: '0 3 * * THU',
      }),
    });
    expect(created.spec).toMatchObject({
      concurrencyPolicy: 'Forbid',
      snapshot: { kind: 'VolumeSnapshot' },
      retention: { keepLast: 3, failedLimit: 1 },
    });
  });

  it('is found by resource, not by group: the group serves v1alpha1 whichever of its CRDs exist', async () => {
    // Only the schedule CRD is installed here: the group version is served, the records are not.
    const group = 'snapshot.etcd-snapshot-driver.io';
    expect(await discoverServedVersion(client, group, ['v1alpha1'])).toBe('v1alpha1');
    expect(await servesResource(client, group, 'v1alpha1', 'etcdsnapshotschedules')).toBe(true);
    expect(await servesResource(client, group, 'v1alpha1', 'etcdsnapshots')).toBe(false);
    expect(await servesResource(client, 'no.such.group', 'v1', 'things')).toBe(false);
  });

  it('two writers of different clusters’ entries keep both; null removes a field', async () => {
    const fleet = await client.request<EtcdSnapshotSchedule>('POST', SCHEDULES, {
      body: schedule('fleet', { target: { selector: { matchLabels: { fleet: 'yes' } } } }),
    });
    const a = kubeScheduleApi(client, { logger: log });
    const b = kubeScheduleApi(client, { logger: log });
    const signal = AbortSignal.timeout(10_000);
    // Both from the same (stale) read: no resourceVersion, no 409, no lost entry.
    await Promise.all([
      a.patchStatus(
        fleet,
        { clusters: { c1: { lastSuccessfulTime: '2026-03-02T10:00:05Z', active: 'x' } } },
        signal,
      ),
      b.patchStatus(
        fleet,
        // firstSeenTime too: the schema keeps it (a field it did not list would be pruned).
        {
          clusters: {
            c2: { lastSuccessfulTime: '2026-03-02T10:00:06Z', firstSeenTime: '2026-03-02T09:30:00Z' },
          },
        },
        signal,
      ),
    ]);
    const after = await a.patchStatus(fleet, { clusters: { c1: { active: null } } }, signal);
    expect(after.status?.clusters).toEqual({
      c1: { lastSuccessfulTime: '2026-03-02T10:00:05Z' },
      c2: { lastSuccessfulTime: '2026-03-02T10:00:06Z', firstSeenTime: '2026-03-02T09:30:00Z' },
    });
    // The spec is not touched by a status patch.
    expect(after.spec.target.selector).toEqual({ matchLabels: { fleet: 'yes' } });
  });
});
