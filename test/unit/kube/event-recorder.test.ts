import { describe, expect, it } from 'vitest';
import {
  COMBINED_PREFIX,
  EVENT_WINDOW_MS,
  EventCorrelator,
  MAX_SIMILAR,
} from '../../../src/kube/event-correlator.ts';
import { EventRecorder, type InvolvedObject, type KubeEvent } from '../../../src/kube/event-recorder.ts';

const record: InvolvedObject = {
  apiVersion: 'snapshot.etcd-snapshot-driver.io/v1alpha1',
  kind: 'EtcdSnapshot',
  name: 'r1',
  namespace: 'etcd',
  uid: 'u1',
};
const failed: KubeEvent = { type: 'Warning', reason: 'SnapshotFailed', message: 'etcd said no' };

class FakeClock {
  ms = 1_000_000;
  now = () => this.ms;
}

describe('EventCorrelator (client-go habits)', () => {
  it('a repeat within the window updates the Event written, with its count', () => {
    const clock = new FakeClock();
    const c = new EventCorrelator({ now: clock.now });
    const first = c.correlate('driver', record, failed);
    expect(first).toMatchObject({ action: 'create', count: 1 });
    c.recordWritten(first, 'r1.a');
    clock.ms += 60_000;
    const second = c.correlate('driver', record, failed);
    expect(second).toMatchObject({ action: 'update', name: 'r1.a', count: 2, firstMs: 1_000_000 });
    c.recordWritten(second, 'r1.a');
    expect(c.correlate('driver', record, failed)).toMatchObject({ action: 'update', count: 3 });
  });

  it('past the window since the last repeat, or for another object, reason or message: a new Event', () => {
    const clock = new FakeClock();
    const c = new EventCorrelator({ now: clock.now });
    c.recordWritten(c.correlate('driver', record, failed), 'r1.a');
    expect(c.correlate('driver', { ...record, uid: 'u2' }, failed).action).toBe('create');
    expect(c.correlate('driver', record, { ...failed, reason: 'Other' }).action).toBe('create');
    expect(c.correlate('driver', record, { ...failed, message: 'other' }).action).toBe('create');
    // A new resourceVersion of the same object is the same object.
    expect(c.correlate('driver', { ...record, resourceVersion: '9' }, failed).action).toBe('update');
    clock.ms += EVENT_WINDOW_MS + 1;
    expect(c.correlate('driver', record, failed).action).toBe('create');
  });

  it('from the tenth distinct message of one object, type and reason on, one combined Event', () => {
    const clock = new FakeClock();
    const c = new EventCorrelator({ now: clock.now });
    for (let i = 1; i < MAX_SIMILAR; i++) {
      const w = c.correlate('driver', record, { ...failed, message: `attempt ${i}` });
      expect(w).toMatchObject({ action: 'create', message: `attempt ${i}` });
      c.recordWritten(w, `r1.${i}`);
    }
    const combined = c.correlate('driver', record, { ...failed, message: 'attempt 10' });
    expect(combined).toMatchObject({ action: 'create', message: `${COMBINED_PREFIX}attempt 10` });
    c.recordWritten(combined, 'r1.combined');
    const next = c.correlate('driver', record, { ...failed, message: 'attempt 11' });
    expect(next).toMatchObject({ action: 'update', name: 'r1.combined', count: 2 });
    expect(next.message).toBe(`${COMBINED_PREFIX}attempt 11`);
  });
});

interface Call {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

function fakeApi(fail?: (call: Call) => unknown) {
  const calls: Call[] = [];
  return {
    calls,
    async request<T>(method: string, path: string, options?: { body?: unknown }): Promise<T> {
      const call = { method, path, body: options?.body as Record<string, unknown> };
      calls.push(call);
      const err = fail?.(call);
      if (err) throw err;
      return {} as T;
    },
  };
}

describe('EventRecorder', () => {
  const signal = new AbortController().signal;

  it('a requeue loop of the same failure writes one Event and patches its count', async () => {
    const clock = new FakeClock();
    const api = fakeApi();
    const recorder = new EventRecorder(api, { component: 'driver', now: clock.now, onError: () => {} });
    for (let i = 0; i < 50; i++) {
      await recorder.record(record, failed, signal);
      clock.ms += 1_000;
    }
    expect(api.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    const patches = api.calls.filter((c) => c.method === 'PATCH');
    expect(patches).toHaveLength(49);
    const name = (api.calls[0]!.body.metadata as { name: string }).name;
    expect(patches.every((p) => p.path === `/api/v1/namespaces/etcd/events/${name}`)).toBe(true);
    expect(patches.at(-1)!.body).toMatchObject({
      count: 50,
      lastTimestamp: new Date(clock.ms - 1_000).toISOString(),
    });
  });

  it('an Event the API no longer has is written anew; other errors go to onError, never thrown', async () => {
    const clock = new FakeClock();
    let gone = false;
    const api = fakeApi((c) =>
      c.method === 'PATCH' && gone
        ? Object.assign(new Error('gone'), { statusCode: 404, reason: 'NotFound' })
        : undefined,
    );
    const errors: unknown[] = [];
    const recorder = new EventRecorder(api, {
      component: 'driver',
      now: clock.now,
      onError: (e) => errors.push(e),
    });
    await recorder.record(record, failed, signal);
    gone = true;
    await recorder.record(record, failed, signal);
    expect(api.calls.map((c) => c.method)).toEqual(['POST', 'PATCH', 'POST']);
    expect(api.calls[2]!.body).toMatchObject({ count: 1, message: 'etcd said no' });
    const broken = new EventRecorder(
      fakeApi(() => new Error('apiserver down')),
      {
        component: 'driver',
        onError: (e) => errors.push(e),
      },
    );
    await broken.record(record, failed, signal);
    expect(errors).toHaveLength(1);
  });
});
