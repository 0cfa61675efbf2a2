// The Event recorder against a real kube-apiserver: a repeated Event is one object whose count
// and lastTimestamp grow (the merge patch is accepted as written), and a dropped Event is
// written anew.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../../src/informers/kube-client.ts';
import { EventRecorder, type InvolvedObject } from '../../../src/kube/event-recorder.ts';
import { type LocalCluster, startLocalCluster } from '../../harness/local-cluster.ts';

const NS = 'events-test';
let cluster: LocalCluster;
let client: KubeClient;

interface EventObject {
  metadata: { name: string };
  count?: number;
  message?: string;
  firstTimestamp?: string;
  lastTimestamp?: string;
  involvedObject: { name?: string; uid?: string };
}

beforeAll(async () => {
  cluster = await startLocalCluster({ name: 'events', kubelet: false });
  client = new KubeClient(cluster.kubeConfig);
  await client.request('POST', '/api/v1/namespaces', { body: { metadata: { name: NS } } });
});

afterAll(async () => {
  client?.destroy();
  await cluster?.stop();
});

async function eventsAbout(name: string): Promise<EventObject[]> {
  const list = await client.request<{ items: EventObject[] }>('GET', `/api/v1/namespaces/${NS}/events`, {
    query: { fieldSelector: `involvedObject.name=${name}` },
  });
  return list.items;
}

describe('EventRecorder on a real apiserver', () => {
  const claim = (name: string): InvolvedObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    name,
    namespace: NS,
    uid: `uid-${name}`,
  });
  const event = { type: 'Warning' as const, reason: 'OrphanedSnapshotFiles', message: '2 directories' };

  it('the same Event five times is one Event with count 5 and a later lastTimestamp', async () => {
    let ms = Date.parse('2026-01-01T00:00:00Z');
    const errors: unknown[] = [];
    const recorder = new EventRecorder(client, {
      component: 'etcd-snapshot-driver',
      now: () => ms,
      onError: (e) => errors.push(e),
    });
    const signal = AbortSignal.timeout(30_000);
    for (let i = 0; i < 5; i++) {
      await recorder.record(claim('repeat'), event, signal);
      ms += 1_000;
    }
    expect(errors).toEqual([]);
    const events = await eventsAbout('repeat');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      count: 5,
      message: '2 directories',
      firstTimestamp: '2026-01-01T00:00:00Z',
      lastTimestamp: '2026-01-01T00:00:04Z',
      involvedObject: { name: 'repeat', uid: 'uid-repeat' },
    });
  });

  it('an Event deleted since is written anew, count 1', async () => {
    const recorder = new EventRecorder(client, { component: 'etcd-snapshot-driver', onError: () => {} });
    const signal = AbortSignal.timeout(30_000);
    await recorder.record(claim('dropped'), event, signal);
    const [first] = await eventsAbout('dropped');
    await client.request('DELETE', `/api/v1/namespaces/${NS}/events/${first!.metadata.name}`);
    await recorder.record(claim('dropped'), event, signal);
    const events = await eventsAbout('dropped');
    expect(events).toHaveLength(1);
    expect(events[0]!.metadata.name).not.toBe(first!.metadata.name);
    expect(events[0]!.count).toBe(1);
  });
});
